"""Check a run's rasters level by level: overviews against block means, and against a reference.

For every float COG of ``RUN`` (not categorical), each of the first ``--levels`` overview levels
(factor ``2**k``) must hold the mean of the valid cells of each block of its full-resolution
band (NaN where a block has none), within ``1e-5`` or two float32 steps of the mean, whichever is
larger (a level holds float32 means: GHI near 1,500 is stored in steps of 1.2e-4). The means are
computed here from the full band, in bands of rows, independently of
``sxplan.layers.overviews``. With ``--ref REF``, every file of ``RUN`` must also equal ``REF``'s:
rasters by the values of the full-resolution band (NaN equal to NaN) and every overview level
bit for bit, GeoPackages by their features
(columns, values and geometry WKB, when their bytes differ), other files by sha256.

Prints one line per file and exits 1 if anything differs. A benchmark figure is only quoted for
a run this passes on: a full-resolution check alone once missed overview blocks of nodata
(``README.md``, "overviews checked level by level").

Usage::

    .venv/bin/python benchmarks/check_outputs.py OUT/run30 --ref OUT/reference30
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def overview_errors(path: Path, levels: int = 3, rows: int = 2048) -> list[str]:
    """Overview levels of ``path`` that are not the block means of its full band."""
    import rasterio
    from rasterio.windows import Window

    problems = []
    with rasterio.open(path) as src:
        if src.dtypes[0] not in ("float32", "float64"):
            return problems
        if src.tags().get("SXPLAN_KIND") == "categorical":
            return problems
        nodata = src.nodata
        n_levels = min(levels, len(src.overviews(1)))
        for k in range(n_levels):
            f = 2 ** (k + 1)
            band = rows // f * f
            with rasterio.open(path, overview_level=k) as ov:
                oh, ow = ov.height, ov.width
                for r0 in range(0, src.height, band):
                    h = min(band, src.height - r0)
                    a = src.read(1, window=Window(0, r0, src.width, h)).astype("float64")
                    if nodata is not None and not np.isnan(nodata):
                        a[a == nodata] = np.nan
                    bh = -(-h // f)
                    pad = np.full((bh * f, ow * f), np.nan)
                    w = min(src.width, ow * f)
                    pad[:h, :w] = a[:, :w]
                    blocks = pad.reshape(bh, f, ow, f)
                    cnt = np.isfinite(blocks).sum(axis=(1, 3))
                    with np.errstate(invalid="ignore", divide="ignore"):
                        want = np.nansum(blocks, axis=(1, 3)) / cnt
                    o0 = r0 // f
                    bh = min(bh, oh - o0)
                    got = ov.read(1, window=Window(0, o0, ow, bh)).astype("float64")
                    if nodata is not None and not np.isnan(nodata):
                        got[got == nodata] = np.nan
                    want = want[:bh]
                    nan_diff = int((np.isnan(got) != np.isnan(want)).sum())
                    ok = np.isfinite(got) & np.isfinite(want)
                    off = np.abs(got[ok] - want[ok])
                    err = float(off.max()) if ok.any() else 0.0
                    tol = np.maximum(1e-5, 2 * np.spacing(np.abs(want[ok]).astype("float32")))
                    if nan_diff or (off > tol).any():
                        problems.append(
                            f"level {k} rows {o0}-{o0 + bh}: {nan_diff} cells nodata on one "
                            f"side only, largest difference {err:.3g}"
                        )
                        break
    return problems


def reference_errors(path: Path, ref: Path, rows: int = 2048) -> list[str]:
    """Differences between ``path`` and ``ref`` (see the module docstring)."""
    import rasterio
    from rasterio.windows import Window

    from sxplan.layers.atomic import file_sha256

    if not ref.is_file():
        return [f"no {ref.name} in the reference"]
    if path.suffix == ".gpkg":
        return [] if file_sha256(path) == file_sha256(ref) else gpkg_errors(path, ref)
    if path.suffix != ".tif":
        return [] if file_sha256(path) == file_sha256(ref) else ["bytes differ"]
    problems = []
    with rasterio.open(path) as a, rasterio.open(ref) as b:
        n = len(a.overviews(1))
        if n != len(b.overviews(1)) or a.dtypes != b.dtypes or a.shape != b.shape:
            return ["shape, type or number of overviews differ"]
    for k in [None, *range(n)]:
        kw = {} if k is None else {"overview_level": k}
        with rasterio.open(path, **kw) as a, rasterio.open(ref, **kw) as b:
            for r0 in range(0, a.height, rows):  # bands of rows: memory bounded
                w = Window(0, r0, a.width, min(rows, a.height - r0))
                x, y = a.read(1, window=w), b.read(1, window=w)
                if k is None:
                    same = np.array_equal(x, y, equal_nan=x.dtype.kind == "f")
                else:
                    same = np.array_equal(x.view(f"u{x.itemsize}"), y.view(f"u{y.itemsize}"))
                if not same:
                    problems.append(
                        "full resolution differs" if k is None else f"level {k} differs"
                    )
                    break
    return problems


def gpkg_errors(path: Path, ref: Path, rows: int = 20_000) -> list[str]:
    """Differences in content between two GeoPackages: layers, CRS, columns, values, WKB.

    Two files of the same features can differ in bytes (a layer appended in blocks writes
    its pages and spatial index in another order), so GeoPackages whose bytes differ are
    compared feature by feature, in blocks of ``rows``.
    """
    import pyogrio
    import shapely

    layers, want = pyogrio.list_layers(path).tolist(), pyogrio.list_layers(ref).tolist()
    if layers != want:
        return [f"layers differ: {layers} vs {want}"]
    problems = []
    for name, _ in layers:
        info, info_ref = pyogrio.read_info(path, layer=name), pyogrio.read_info(ref, layer=name)
        if info["features"] != info_ref["features"] or info["crs"] != info_ref["crs"]:
            problems.append(f"layer {name}: feature count or CRS differ")
            continue
        for i0 in range(0, info["features"], rows):
            kw = {"layer": name, "skip_features": i0, "max_features": rows}
            a, b = pyogrio.read_dataframe(path, **kw), pyogrio.read_dataframe(ref, **kw)
            same = a.drop(columns="geometry").equals(b.drop(columns="geometry"))
            wkb_a = shapely.to_wkb(np.asarray(a.geometry.values)).tolist()
            if not same or wkb_a != shapely.to_wkb(np.asarray(b.geometry.values)).tolist():
                problems.append(f"layer {name}: features {i0}-{i0 + len(a)} differ")
                break
    return problems


def check_folder(run: Path, ref: Path | None = None, levels: int = 3) -> dict[str, list[str]]:
    """Every file of ``run`` with its problems (empty list: right), in name order."""
    files = sorted(p for p in run.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise FileNotFoundError(f"no files in {run}")
    found = {}
    for p in files:
        problems = overview_errors(p, levels) if p.suffix == ".tif" else []
        if ref is not None:
            problems += reference_errors(p, ref / p.name)
        found[p.name] = problems
    return found


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path, help="a run's output folder")
    ap.add_argument("--ref", type=Path, help="a reference folder to compare with")
    ap.add_argument("--levels", type=int, default=3, help="overview levels checked (default 3)")
    args = ap.parse_args(argv)
    try:
        found = check_folder(args.run, args.ref, args.levels)
    except FileNotFoundError as exc:
        ap.error(str(exc))
    for name, problems in found.items():
        print(("DIFF " if problems else "ok   ") + name + ("; ".join([""] + problems)))
    bad = sum(bool(v) for v in found.values())
    print(f"{len(found)} files, {bad} with differences")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
