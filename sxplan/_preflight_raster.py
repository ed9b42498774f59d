"""Pre-flight checks of one raster input, from its header and a decimated sample.

Opens the file, checks the band, the CRS and the overlap with the grid, then reads one
decimated window (at most :data:`SAMPLE_SIDE` cells a side; GDAL uses overviews when the file
has them) at a lattice of points over the study area, and checks: undeclared nodata sentinels
(-9999 ...), the share of the study area covered with data (``min_coverage``), values that do
not fit the declared kind (fractional or too many codes in a categorical layer), and codes the
declared class scheme does not know. A full-province 30 m raster costs one decimated read.

Inputs: a :class:`~sxplan.layers.specs.RasterLayerSpec`, the grid, the study area (grid CRS).
Outputs: a dict of facts about the layer and a list of warnings; errors raise.
"""

from __future__ import annotations

import numpy as np

from sxplan.errors import ConfigError, LayerIOError, LayerValueError

__all__ = ["SAMPLE_SIDE", "check_raster"]

#: Longest side, in cells, of the decimated window read for value checks.
SAMPLE_SIDE = 1024
#: Lattice of sample points over the grid (per side).
LATTICE_SIDE = 400
#: More distinct values than this in a categorical layer's sample means it is not class codes.
MAX_CATEGORIES = 256


def check_raster(name: str, spec, grid, study) -> tuple[dict, list[str]]:
    """Check one raster layer; return facts (dtype, coverage ...) and warnings.

    Parameters
    ----------
    name : str
        Layer name under ``layers:``.
    spec : RasterLayerSpec
        Its spec.
    grid : GridSpec
        The analysis grid.
    study : shapely.Geometry
        The study area in the grid CRS.

    Returns
    -------
    tuple of (dict, list of str)

    Raises
    ------
    LayerIOError, CRSError, NoOverlapError, ConfigError, LayerValueError, UnknownCodeError
    """
    import rasterio

    from sxplan.layers.align import _require_overlap, _resolve_crs
    from sxplan.layers.io import open_raster

    where = f"layer '{name}' ({spec.path})"
    with open_raster(spec.path, name) as src:
        if spec.band > src.count:
            raise ConfigError(
                f"{where}: `band: {spec.band}` but the file has {src.count} band"
                f"{'s' if src.count != 1 else ''}; set `band:` to 1..{src.count} in "
                f"`layers.{name}`"
            )
        dtype = np.dtype(src.dtypes[spec.band - 1])
        if dtype.kind not in "iuf":
            raise LayerValueError(
                f"{where}: band {spec.band} holds {dtype.name} values; sxplan reads integer or "
                "real numbers. Convert the band (e.g. gdal_translate -ot Float32)"
            )
        src_crs = _resolve_crs(src, spec, name)
        _require_overlap(src, src_crs, grid, name, spec.path)
        nodata = src.nodata if src.nodata is not None else spec.nodata
        try:
            values, inside, in_raster = _sample(src, spec.band, src_crs, grid, study)
        except rasterio.errors.RasterioError as exc:
            raise LayerIOError(
                f"{where}: the file opens but its data cannot be read ({str(exc)[:200]}); the "
                "file is damaged or incomplete: copy or export it again"
            ) from None
    valid = in_raster.copy()
    if nodata is not None:
        valid &= ~(np.isnan(values) if np.isnan(nodata) else values == nodata)
    valid &= np.isfinite(values)
    _require_no_sentinel(where, name, spec, values[valid], nodata)
    n_inside = int(inside.sum())
    coverage = float((valid & inside).sum() / n_inside) if n_inside else 1.0
    if coverage < spec.min_coverage:
        raise LayerValueError(
            f"{where} has data on {coverage:.0%} of the study area (sampled at {n_inside:,} "
            f"points), below `min_coverage: {spec.min_coverage}`; cells without data are "
            "treated as missing in every result. Use a file that covers the whole study area, "
            f"or lower `layers.{name}.min_coverage` to accept the gap"
        )
    warnings = _check_kind(where, name, spec, dtype, values[valid])
    return {"dtype": dtype.name, "coverage": coverage, "nodata": nodata}, warnings


def _sample(src, band: int, src_crs, grid, study):
    """Values at a lattice of points over the grid, read from one decimated window."""
    import shapely
    from pyproj import CRS, Transformer
    from rasterio.enums import Resampling
    from rasterio.windows import Window

    nx, ny = min(grid.width, LATTICE_SIDE), min(grid.height, LATTICE_SIDE)
    xmin, ymin, xmax, ymax = grid.bounds
    xs = xmin + (np.arange(nx) + 0.5) * (xmax - xmin) / nx
    ys = ymax - (np.arange(ny) + 0.5) * (ymax - ymin) / ny
    gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
    inside = shapely.contains_xy(study, gx, gy)
    tr = Transformer.from_crs(grid.pyproj_crs, CRS.from_user_input(src_crs), always_xy=True)
    sx, sy = tr.transform(gx, gy)
    cols, rows = ~src.transform * (np.asarray(sx), np.asarray(sy))
    finite = np.isfinite(cols) & np.isfinite(rows)
    cols = np.where(finite, cols, -1)
    rows = np.where(finite, rows, -1)
    in_raster = (cols >= 0) & (cols < src.width) & (rows >= 0) & (rows < src.height)
    values = np.full(gx.shape, np.nan)
    if not in_raster.any():
        return values, inside, in_raster
    c0, c1 = int(cols[in_raster].min()), int(cols[in_raster].max()) + 1
    r0, r1 = int(rows[in_raster].min()), int(rows[in_raster].max()) + 1
    w, h = c1 - c0, r1 - r0
    ow, oh = min(w, SAMPLE_SIDE), min(h, SAMPLE_SIDE)
    data = src.read(
        band, window=Window(c0, r0, w, h), out_shape=(oh, ow), resampling=Resampling.nearest
    )
    ci = np.clip(((cols[in_raster] - c0) * ow / w).astype(int), 0, ow - 1)
    ri = np.clip(((rows[in_raster] - r0) * oh / h).astype(int), 0, oh - 1)
    values[in_raster] = data[ri, ci]
    return values, inside, in_raster


def _require_no_sentinel(where: str, name: str, spec, values: np.ndarray, nodata) -> None:
    for sentinel in spec.sentinels:
        if nodata is not None and np.isclose(sentinel, nodata, rtol=1e-6):
            continue
        hits = np.isclose(values, sentinel, rtol=1e-6, atol=0)
        if hits.any():
            share = hits.mean()
            raise LayerValueError(
                f"{where} holds {sentinel:g} in {share:.1%} of the sampled cells, a value that "
                f"usually marks missing data, but the file declares "
                f"{'no nodata' if nodata is None else f'nodata {nodata:g}'}; set "
                f"`nodata: {sentinel:g}` in `layers.{name}` if it marks missing data, or "
                f"`sentinels: []` there if {sentinel:g} is a real value"
            )


def _check_kind(where: str, name: str, spec, dtype, values: np.ndarray) -> list[str]:
    if values.size == 0:
        return []
    distinct = np.unique(values)
    integral = bool(np.all(np.mod(distinct, 1) == 0))
    if spec.kind == "categorical":
        if not integral:
            frac = distinct[np.mod(distinct, 1) != 0][0]
            raise LayerValueError(
                f"{where} is declared `kind: categorical` but holds fractional values (e.g. "
                f"{frac:g}); class codes are whole numbers. If it is a quantity, set "
                f"`kind: continuous` in `layers.{name}`"
            )
        if distinct.size > MAX_CATEGORIES:
            raise LayerValueError(
                f"{where} is declared `kind: categorical` but holds {distinct.size:,} distinct "
                f"values in a sample (more than {MAX_CATEGORIES}); it looks like a quantity. "
                f"Set `kind: continuous` in `layers.{name}`"
            )
        if spec.scheme is not None:
            from sxplan.layers.landcover import require_scheme_codes

            require_scheme_codes(
                sorted(int(v) for v in distinct), spec.scheme, layer=name, path=spec.path
            )
        return []
    if integral and dtype.kind in "iu" and distinct.size <= 12 and distinct.size > 1:
        codes = ", ".join(f"{v:g}" for v in distinct[:8])
        return [
            f"{where} is declared `kind: continuous` but holds only {distinct.size} distinct "
            f"whole values ({codes}); if they are class codes, set `kind: categorical` and "
            f"`scheme:` in `layers.{name}`"
        ]
    return []
