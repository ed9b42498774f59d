"""Align raster inputs to the analysis grid, window by window.

The resampling method follows the layer's kind and whether the source is finer or coarser than
the grid:

============  ======================  =======================
kind          source finer than grid  source as coarse or coarser
============  ======================  =======================
categorical   mode                    nearest
continuous    average                 bilinear
============  ======================  =======================

The source is read through a GDAL warped VRT, so only the windows being written are warped.
With nearest and bilinear, a window is first warped without a destination nodata, which GDAL
does 1.2-2.5x faster (a kernel without a destination mask); a window where that leaves a cell
unwritten, or writes a value equal to the nodata, is warped again the exact way
(:func:`_unwritten_or_nodata`).
The windows are fixed (:data:`WINDOW` cells a side) and so is GDAL's warp buffer
(:attr:`~sxplan.layers.budget.Budget.warp_mem_limit_mb`): GDAL fits its approximate transformer
(error up to 0.125 source pixel) to each window it warps, so windows planned from the memory
budget made the values depend on it (a 30 m DEM from 1 km data: up to 56 m apart between two
budgets, ``benchmarks/README.md``, issue 17, s24). An alignment therefore holds about
:data:`MAX_MB` whatever the source size and the budget.

Inputs: a :class:`~sxplan.layers.specs.RasterLayerSpec`, the run's
:class:`~sxplan.layers.grid.GridSpec`.
Outputs: an :class:`~sxplan.layers.io.AlignedLayer` GeoTIFF on the grid.
"""

from __future__ import annotations

import math
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import rasterio.errors
from pyproj import CRS, Transformer
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT

from sxplan.errors import ConfigError, CRSError, CRSMismatchError, LayerIOError, NoOverlapError

from .budget import Budget
from .grid import GridSpec
from .io import AlignedLayer, RasterTileWriter, open_raster
from .landcover import CodeTally, require_scheme_codes
from .specs import RasterLayerSpec
from .windows import plan_tiles

__all__ = ["align_raster", "choose_resampling", "source_resolution_m"]

# A source within 1% of the grid resolution counts as "the same" (not finer).
_SAME_RES_TOL = 0.01
#: Side in cells of the windows every alignment reads (fixed: see the module docstring). A
#: 30 m DEM took 25.5 s in 1,024-cell windows, 24.5 s in 3,840-cell ones (staging only).
WINDOW = 1024
#: Methods warped first without a destination nodata (:func:`_unwritten_or_nodata`): 1.2-2.5x
#: faster in GDAL; ``average`` and ``mode`` (sources finer than the grid) gained nothing
#: (1 arc-second sources onto 30 m windows, ``benchmarks/README.md``, s36).
_QUICK_METHODS = frozenset({"nearest", "bilinear"})
#: MB one alignment holds at most: a window at the bound the alignment planned its tiles with
#: before (4 x itemsize + 8 bytes a cell: the value, its copies, the validity mask; float64 is
#: the widest) plus GDAL's warp buffer.
MAX_MB = WINDOW * WINDOW * 40 / 2**20 + Budget().warp_mem_limit_mb


def choose_resampling(kind: str, source_res_m: float, grid_res_m: float) -> str:
    """Pick the resampling method for a layer kind and the source/grid resolutions.

    Parameters
    ----------
    kind : {"categorical", "continuous"}
        The layer kind.
    source_res_m : float
        Source cell size in metres (approximate, at the study area).
    grid_res_m : float
        Grid cell size in metres.

    Returns
    -------
    str
        ``mode``, ``nearest``, ``average`` or ``bilinear``.

    Examples
    --------
    >>> choose_resampling("categorical", 30, 1000), choose_resampling("continuous", 5000, 1000)
    ('mode', 'bilinear')
    """
    finer = source_res_m < grid_res_m * (1 - _SAME_RES_TOL)
    if kind == "categorical":
        return "mode" if finer else "nearest"
    return "average" if finer else "bilinear"


def source_resolution_m(src_crs, src_transform, grid: GridSpec) -> float:
    """Approximate source cell size in metres on the grid, measured at the grid's centre.

    A source cell at the grid centre is projected to the grid CRS and its side lengths
    (geometric mean of the two) are returned.
    """
    xmin, ymin, xmax, ymax = grid.bounds
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    to_src = Transformer.from_crs(grid.pyproj_crs, CRS.from_user_input(src_crs), always_xy=True)
    to_grid = Transformer.from_crs(CRS.from_user_input(src_crs), grid.pyproj_crs, always_xy=True)
    sx, sy = to_src.transform(cx, cy)
    dx, dy = abs(src_transform.a), abs(src_transform.e)
    x0, y0 = to_grid.transform(sx, sy)
    x1, y1 = to_grid.transform(sx + dx, sy)
    x2, y2 = to_grid.transform(sx, sy + dy)
    return math.sqrt(math.hypot(x1 - x0, y1 - y0) * math.hypot(x2 - x0, y2 - y0))


def _default_nodata(dtype: str):
    dt = np.dtype(dtype)
    if dt.kind == "f":
        return float("nan")
    if dt.kind == "u":
        return int(np.iinfo(dt).max)
    return int(np.iinfo(dt).min)


def _warp_not_split(src_res_m: float, grid_res_m: float, window: int, itemsize: int) -> bool:
    """True when GDAL warps a window of the grid in one chunk, with or without masks.

    GDAL cuts a warp into chunks when its source and destination cells, at their type's size
    plus a few bits for each validity or density mask, exceed the warp buffer, and it fits its
    approximate transformer per chunk, so a warp cut differently gives other values. Both
    warps of :func:`align_raster` (with and without a destination nodata) are kept to one
    chunk by bounding each cell generously (its type + 9 bytes, more than every mask GDAL adds)
    and the source cells behind a window (its side at the source's resolution, x1.5 for the
    source's distortion over the grid, +16 cells of margin).

    Examples
    --------
    >>> _warp_not_split(1000, 30, 1024, 4), _warp_not_split(30, 30, 1024, 4)
    (True, True)
    >>> _warp_not_split(10, 30, 1024, 4)  # a 10 m source behind a 30 m window: 3,088 cells a side
    False
    """
    side = window * grid_res_m / src_res_m * 1.5 + 16
    cost = (side * side + window * window) * (itemsize + 9)
    return cost <= Budget().warp_mem_limit_mb * 2**20


def _init_dest(dtype: str, nodata) -> str | None:
    """GDAL's INIT_DEST for the warp without a destination nodata: cells it does not write.

    The nodata value; +inf for a float band whose nodata is NaN or infinite (GDAL reads
    INIT_DEST as a number and takes "nan" for 0, a value a cell could hold; 1e400 overflows to
    +inf). None, so no such warp, for an integer band whose nodata it cannot hold.

    Examples
    --------
    >>> _init_dest("float32", float("nan")), _init_dest("float32", -9999.0)
    ('1e400', '-9999.0')
    >>> _init_dest("int16", -32768), _init_dest("uint8", -9999), _init_dest("uint8", 0.5)
    ('-32768', None, None)
    """
    kind = np.dtype(dtype).kind
    if kind == "f":
        if nodata is None or not math.isfinite(nodata):
            return "1e400"
        return repr(float(nodata))
    if nodata is None or not math.isfinite(nodata) or nodata != int(nodata):
        return None
    info = np.iinfo(np.dtype(dtype))
    return str(int(nodata)) if info.min <= nodata <= info.max else None


def _unwritten_or_nodata(data: np.ndarray, nodata) -> bool:
    """True when a window warped without a destination nodata may differ from the exact warp.

    Such a warp gives the exact one's values (the six demo layers at 30 m, 1.68 G cells: all
    the same but one bilinear cell, one unit in the last place apart, where the approximate
    transformer both share is some 300 units from the true value; ``benchmarks/README.md``,
    s36), except where a cell is not written (it keeps :func:`_init_dest`'s value, where the
    exact warp leaves nodata) or a written value equals the nodata value (GDAL may move such a
    value off the nodata when it knows one). So a float cell that is not finite, or a cell
    equal to ``nodata`` in the band's type, sends the window to the exact warp.

    Examples
    --------
    >>> _unwritten_or_nodata(np.array([1.0, np.inf], "float32"), float("nan"))
    True
    >>> _unwritten_or_nodata(np.array([1.0, 0.1], "float32"), 0.1)  # 0.1 as float32
    True
    >>> _unwritten_or_nodata(np.array([1, 7], "int16"), -32768)
    False
    """
    if data.dtype.kind == "f":
        if not np.isfinite(data).all():
            return True
        if nodata is None or not math.isfinite(nodata):
            return False
    return bool((data == data.dtype.type(nodata)).any())


def _writer(spec, out_path, grid, dtype, nodata, *, cog, tags) -> RasterTileWriter:
    """The tile writer; a land-cover layer's codes get names and colours for QGIS."""
    if spec.kind == "categorical" and spec.scheme is not None:
        from .raster_style import CategoricalTileWriter, landcover_categories

        return CategoricalTileWriter(
            out_path, grid, dtype, nodata, cog=cog, kind=spec.kind, tags=tags,
            categories=landcover_categories(spec.scheme),
        )  # fmt: skip
    return RasterTileWriter(out_path, grid, dtype, nodata, cog=cog, kind=spec.kind, tags=tags)


def align_raster(
    spec: RasterLayerSpec,
    grid: GridSpec,
    out_path: str | Path,
    *,
    name: str,
    cog: bool = True,
    tile_size: int | None = None,
) -> AlignedLayer:
    """Resample a raster input onto the analysis grid and write it as a GeoTIFF.

    Parameters
    ----------
    spec : RasterLayerSpec
        What the file is.
    grid : GridSpec
        The run's grid.
    out_path : str or pathlib.Path
        Destination GeoTIFF (written atomically).
    name : str
        Layer name for messages and the returned handle.
    cog : bool
        Write a Cloud-Optimized GeoTIFF.
    tile_size : int, optional
        Force a window side in cells (tests; the values then follow it).

    Returns
    -------
    AlignedLayer
        On ``grid``; cells the source does not cover are nodata. It carries ``spec.scheme``.

    Raises
    ------
    LayerIOError
        Missing or unreadable file.
    CRSError
        No CRS in the file and none declared, or a declared CRS that contradicts the file's.
    NoOverlapError
        The raster does not overlap the grid.
    UnknownCodeError
        ``spec.scheme`` is set and the aligned layer holds codes that scheme does not define.
    """
    with open_raster(spec.path, name) as src:
        src_crs = _resolve_crs(src, spec, name)
        src_nodata = src.nodata if src.nodata is not None else spec.nodata
        if spec.nodata is not None and src.nodata is not None and src.nodata != spec.nodata:
            if not (np.isnan(src.nodata) and np.isnan(spec.nodata)):
                raise CRSMismatchError(  # a contradiction between file and spec, like a CRS
                    f"layer '{name}': {spec.path} declares nodata {src.nodata} but the spec says "
                    f"{spec.nodata}; remove `nodata:` from the spec or fix the file"
                )
        _require_overlap(src, src_crs, grid, name, spec.path)
        if spec.band > src.count:
            raise ConfigError(
                f"layer '{name}' ({spec.path}): `band: {spec.band}` but the file has {src.count} "
                f"band(s); set `band:` to 1..{src.count} in `layers.{name}`"
            )
        dtype = src.dtypes[spec.band - 1]
        out_nodata = src_nodata if src_nodata is not None else _default_nodata(dtype)
        src_res = source_resolution_m(src_crs, src.transform, grid)
        method = spec.resampling or choose_resampling(spec.kind, src_res, grid.res)
        tiles = plan_tiles(grid, tile_size=tile_size or WINDOW)  # fixed: see the docstring
        vrt_opts = {
            "crs": grid.rasterio_crs,
            "transform": grid.transform,
            "width": grid.width,
            "height": grid.height,
            "resampling": Resampling[method],
            "nodata": out_nodata,
            "warp_mem_limit": Budget().warp_mem_limit_mb,
        }
        if src.crs is None:
            vrt_opts["src_crs"] = src_crs
        if src_nodata is not None:
            vrt_opts["src_nodata"] = src_nodata
        # the same warp without a destination nodata, which GDAL runs 1.2-2.5x faster for the
        # methods of a source as coarse as the grid (kernels without a destination mask; for
        # average and mode it gains nothing), where both warp a window in one chunk; a window
        # it may give otherwise than the exact warp is read again that way
        fast, init = None, _init_dest(dtype, out_nodata)
        itemsize = np.dtype(dtype).itemsize
        if (
            method in _QUICK_METHODS
            and init is not None
            and _warp_not_split(src_res, grid.res, tile_size or WINDOW, itemsize)
        ):
            fast = {**vrt_opts, "nodata": None, "init_dest_nodata": False, "INIT_DEST": init}
        tags = {
            "units": spec.units,
            "source": str(spec.path),
            "resampling": method,
            "source_res_m": f"{src_res:.1f}",
        }
        out = AlignedLayer(
            name, Path(out_path), grid, spec.kind, spec.units, out_nodata, dtype, spec.scheme
        )
        # codes the declared scheme does not know are refused here, from the tiles being
        # written (no second read); raising inside the writer leaves no file behind
        tally = CodeTally() if spec.scheme is not None else None
        with (
            WarpedVRT(src, **vrt_opts) as vrt,
            WarpedVRT(src, **fast) if fast else nullcontext() as quick,
            _writer(spec, out_path, grid, dtype, out_nodata, cog=cog, tags=tags) as writer,
        ):
            for tile in tiles:
                try:
                    data = None
                    if fast is not None:
                        data = quick.read(spec.band, window=tile.window)
                        if _unwritten_or_nodata(data, out_nodata):
                            data = None
                    if data is None:
                        data = vrt.read(spec.band, window=tile.window)
                except rasterio.errors.RasterioIOError as exc:  # a damaged block mid-file
                    raise LayerIOError(
                        f"layer '{name}' ({spec.path}): data cannot be read ({str(exc)[:200]}); "
                        "the file is damaged or incomplete: copy or export it again"
                    ) from None
                if tally is not None:
                    tally.add(data, out.valid_mask(data))
                writer.write(data, tile.window)
            if tally is not None:
                require_scheme_codes(tally.codes(), spec.scheme, layer=name, path=spec.path)
    return out


def _resolve_crs(src, spec: RasterLayerSpec, name: str):
    if src.crs is None:
        if spec.crs is None:
            raise CRSError(
                f"layer '{name}' ({spec.path}) has no CRS; set `crs:` in its spec, "
                "e.g. `crs: EPSG:4326` for longitude/latitude"
            )
        return CRS.from_user_input(spec.crs).to_wkt()
    if spec.crs is not None and CRS.from_user_input(spec.crs) != CRS.from_wkt(src.crs.to_wkt()):
        raise CRSMismatchError(
            f"layer '{name}' ({spec.path}) is in {src.crs.to_string()} but its spec says "
            f"crs: {spec.crs}; remove `crs:` (it is only for files without one) or fix the file"
        )
    return src.crs.to_wkt()


def _require_overlap(src, src_crs, grid: GridSpec, name: str, path) -> None:
    from rasterio.warp import transform_bounds

    gb = transform_bounds(grid.rasterio_crs, src_crs, *grid.bounds, densify_pts=21)
    sb = src.bounds
    if gb[0] >= sb[2] or gb[2] <= sb[0] or gb[1] >= sb[3] or gb[3] <= sb[1]:
        raise NoOverlapError(
            f"layer '{name}' ({path}) covers {tuple(round(v, 4) for v in sb)} in its CRS, "
            f"which does not overlap the study area {tuple(round(v, 4) for v in gb)}; check the "
            "file and its CRS (a GCJ-02 or projected file labelled as EPSG:4326 lands elsewhere)"
        )
