"""The synthetic dataset's rasters, written tile by tile (``generate.py``).

Each cell is a pure function of its coordinates and the seed (:meth:`_synth.Terrain.fields`), so
neither the tiling, the threads nor the choice of rasters written changes a value.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from _synth import Terrain

RASTERS = {
    # name: (dtype, nodata, units, field)
    "dem": ("int16", -32768, "m", "dem_m"),
    "landcover": ("uint8", 255, "IGBP class", "landcover"),
    "ghi": ("float32", None, "kWh/m2/yr", "ghi_kwh_m2_yr"),
    "wind": ("float32", None, "m/s", "wind_ms"),
}


def write_rasters(
    out: Path,
    grid,
    terrain: Terrain,
    *,
    workers: int,
    compress: str,
    block: int,
    names: tuple[str, ...] = tuple(RASTERS),
):
    """Write the rasters ``names`` (default all four) tile by tile; return land-cover counts.

    Every field is computed whatever ``names`` holds, so a raster written alone has the same
    values as when written with the others.
    """
    wanted = {name: RASTERS[name] for name in names}
    import rasterio

    from sxplan.layers.io import atomic_path
    from sxplan.layers.windows import plan_tiles, run_tiles

    tile = block * 2
    tiles = plan_tiles(grid, tile_size=tile)
    t = grid.transform
    lc_counts = np.zeros(256, dtype=np.int64)

    def compute(tl):
        w = tl.window
        x = t.c + (w.col_off + np.arange(w.width) + 0.5) * t.a
        y = t.f + (w.row_off + np.arange(w.height) + 0.5) * t.e
        f = terrain.fields(x, y)
        f["dem_m"] = np.rint(f["dem_m"]).astype("int16")
        return f

    ctxs = {name: atomic_path(out / f"{name}.tif") for name in wanted}
    paths = {name: ctx.__enter__() for name, ctx in ctxs.items()}
    dsts = {}
    try:
        for name, (dtype, nodata, units, _) in wanted.items():
            profile = grid.profile(
                dtype,
                nodata,
                tiled=True,
                blockxsize=block,
                blockysize=block,
                compress=compress,
                predictor=3 if dtype == "float32" else 2,
                BIGTIFF="IF_SAFER",
            )
            if compress.lower() == "zstd":
                profile["zstd_level"] = 9
            dsts[name] = rasterio.open(paths[name], "w", **profile)
            dsts[name].update_tags(UNITS=units, SYNTHETIC="sxplan benchmarks/generate.py")

        def write(tl, f):
            for name, (dtype, _, _, field) in wanted.items():
                dsts[name].write(np.asarray(f[field], dtype=dtype), 1, window=tl.window)
            lc_counts[:] += np.bincount(f["landcover"].ravel(), minlength=256)

        run_tiles(
            tiles,
            compute,
            write,
            scheduler="threads" if workers > 1 else "sync",
            n_workers=workers,
            progress="rasters",
        )
        for d in dsts.values():
            d.close()
    except BaseException as exc:
        for d in dsts.values():
            d.close()
        for ctx in ctxs.values():
            ctx.__exit__(type(exc), exc, exc.__traceback__)
        raise
    for ctx in ctxs.values():
        ctx.__exit__(None, None, None)
    return lc_counts
