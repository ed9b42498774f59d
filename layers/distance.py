"""Euclidean distance in metres to features, up to a stated maximum, tile by tile.

Distance is measured from each cell centre to the centre of the nearest feature cell (features
are rasterized onto the grid first), with an exact Euclidean distance transform (the ``edt``
package's, which gives the same values as SciPy's ``ndimage.distance_transform_edt`` about 9x
faster; see :func:`distance_array`). Every result is capped at ``max_distance_m``: a value equal
to the cap means "at least this far".

Windowing is exact, not approximate: a tile reads a halo of ``ceil(max_distance_m / res)`` cells,
and any feature within ``max_distance_m`` of a core cell lies inside that halo, so each capped
distance equals the whole-grid answer. Buffers ("within 500 m of urban cells") are the same
computation thresholded, which gives exact circular buffers rather than square or diamond kernels.

Inputs: features as a GeoDataFrame (rasterized per tile) or as codes of a categorical
:class:`~sxplan.layers.io.AlignedLayer`. Outputs: float32 distance rasters in metres, or boolean
tiles.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from rasterio.windows import Window

from sxplan.errors import ConfigError

from .budget import DEFAULT_MEM_LIMIT_MB, Budget
from .grid import GridSpec
from .io import AlignedLayer, RasterTileWriter
from .vector import burn_tile
from .windows import Tile, plan_tiles, run_tiles

__all__ = [
    "FeatureReader",
    "code_mask",
    "default_all_touched",
    "distance_array",
    "distance_tile",
    "distance_to",
    "features_from_codes",
    "features_from_vector",
    "halo_cells",
    "within_distance",
]

#: Working-set bytes per cell of a distance tile (its halo included), for the tile planner:
#: the features (bool) and their inverse, edt's float32 squared distances and the burn's
#: uint8 (7 bytes, measured with tracemalloc), plus at most 4 for the core's float32 metres.
BYTES_PER_CELL = 11

#: ``reader(window) -> bool array`` of the window's shape, True on feature cells.
FeatureReader = Callable[[Window], np.ndarray]


def halo_cells(max_distance_m: float, res_m: float) -> int:
    """Cells of halo needed to measure distances up to ``max_distance_m`` exactly."""
    if max_distance_m < 0:
        raise ConfigError(f"max distance must be >= 0 m, got {max_distance_m}")
    return int(math.ceil(max_distance_m / res_m - 1e-9))


def distance_array(features: np.ndarray, res_m: float, max_distance_m: float) -> np.ndarray:
    """Distance in metres from every cell to the nearest feature cell, capped.

    Parameters
    ----------
    features : numpy.ndarray of bool
        True on feature cells.
    res_m : float
        Cell size in metres.
    max_distance_m : float
        Cap; farther cells get exactly this value.

    Returns
    -------
    numpy.ndarray
        float32 distances, 0 on feature cells.

    Examples
    --------
    >>> import numpy as np
    >>> f = np.zeros((1, 5), bool); f[0, 0] = True
    >>> distance_array(f, 30.0, 100.0).tolist()
    [[0.0, 30.0, 60.0, 90.0, 100.0]]
    """
    features = np.asarray(features, dtype=bool)
    return _free_metres(~features, res_m, max_distance_m, (slice(None), slice(None)))


def _free_metres(
    free: np.ndarray,
    res_m: float,
    max_distance_m: float,
    keep: tuple[slice, slice],
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Capped metres from each ``keep`` cell to the nearest cell where ``free`` is False.

    ``free`` is True off the features: the array the distance transform measures from, so a
    tile makes it once from what it read and holds no second copy. The transform needs the
    whole array; the metres (a float64 square root per cell) are formed only where they are
    kept, so a block read with a wide halo pays for its core. They are written into ``out``
    (float32, the ``keep`` cells' shape; a new array if None), so a caller's result holds no
    second copy of a tile's core.
    """
    shape = tuple(len(range(*k.indices(n))) for k, n in zip(keep, free.shape, strict=True))
    if out is None:
        out = np.empty(shape, dtype="float32")
    if free.all():
        out.fill(max_distance_m)
        return out
    if not free.any():
        out.fill(0.0)
        return out
    import edt

    # Squared distances in cells from the edt package (Felzenszwalb-Huttenlocher, float32):
    # whole numbers, exact below 2**24 (4,096 cells), which covers every uncapped value when
    # ``max_distance_m / res_m`` is at most 4,096. Metres are then formed a few rows at a time
    # as sqrt(d2 * res**2) in float64, the same number SciPy's distance_transform_edt gives
    # (sqrt((dr * res)**2 + (dc * res)**2) is exact in float64 for whole dr, dc and res), so
    # the float32 results are identical to SciPy's; tested against it. The edt call holds the
    # GIL (so it uses two threads of its own), but takes about a ninth of SciPy's time.
    d2 = edt.edtsq(free, black_border=False, parallel=2)[keep]
    h, w = d2.shape
    step = max(1, (1 << 18) // max(1, w))
    scale = float(res_m) * float(res_m)
    for r0 in range(0, h, step):
        r1 = min(h, r0 + step)
        d = d2[r0:r1].astype(np.float64)
        d *= scale
        np.sqrt(d, out=d)
        np.minimum(d, max_distance_m, out=d)
        out[r0:r1] = d
    return out


def default_all_touched(geoms: np.ndarray) -> bool:
    """True unless every geometry is a (multi)polygon: lines and points burn every touched cell."""
    kinds = set(shapely.get_type_id(np.asarray(geoms)).tolist())
    return not kinds <= {3, 6}


def features_from_vector(
    gdf: gpd.GeoDataFrame,
    grid: GridSpec,
    *,
    all_touched: bool | None = None,
    buffer_m: float = 0.0,
    quad_segs: int = 32,
) -> FeatureReader:
    """A :data:`FeatureReader` that rasterizes vector features (optionally buffered) per window.

    With ``buffer_m > 0`` the geometries are buffered once (true circular buffers; 32 segments
    per quarter circle keep the polygon within 0.05% of the radius) and cells whose centre lies
    inside are features, so a buffer is measured from the true line or polygon rather than from
    rasterized cells, and no halo is needed.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Features (reprojected to the grid CRS if needed; empty geometries are dropped).
    grid : GridSpec
        The grid.
    all_touched : bool, optional
        Burn every touched cell, or only cells with centres inside. Default: by centre for
        buffered features and for polygons, every touched cell for lines and points
        (:func:`default_all_touched`).
    buffer_m : float
        Buffer in metres (>= 0).
    quad_segs : int
        Segments per quarter circle of the buffer.

    Returns
    -------
    callable
    """
    if buffer_m < 0:
        raise ConfigError(f"buffer must be >= 0 m, got {buffer_m}")
    if gdf.crs is None:
        raise ConfigError("vector features on the grid need a CRS")
    if CRS.from_user_input(gdf.crs) != grid.pyproj_crs:
        gdf = gdf.to_crs(grid.pyproj_crs)
    geoms = np.asarray(gdf.geometry.values)
    geoms = geoms[~(shapely.is_empty(geoms) | shapely.is_missing(geoms))]
    if buffer_m > 0:
        geoms = shapely.buffer(geoms, buffer_m, quad_segs=quad_segs)
        all_touched = False if all_touched is None else all_touched
    elif all_touched is None:
        all_touched = default_all_touched(geoms)
    tree = shapely.STRtree(geoms)
    touched = bool(all_touched)

    def read(window: Window) -> np.ndarray:
        # burned as 0/1 bytes into a new array: read as bool without a copy
        return burn_tile(geoms, None, grid, window, all_touched=touched, tree=tree).view(bool)

    return read


def features_from_codes(layer: AlignedLayer, codes: Iterable[int]) -> FeatureReader:
    """A :data:`FeatureReader` marking cells of a categorical layer whose code is in ``codes``.

    Parameters
    ----------
    layer : AlignedLayer
        A categorical layer on the grid.
    codes : iterable of int
        Codes that are features (e.g. urban land-cover codes).

    Returns
    -------
    callable
    """
    codes = np.asarray(sorted(set(int(c) for c in codes)))

    def read(window: Window) -> np.ndarray:
        return code_mask(*layer.read_valid(window), codes)

    return read


def code_mask(values: np.ndarray, valid: np.ndarray, codes) -> np.ndarray:
    """True where ``values`` hold data and one of ``codes``.

    The features of :func:`features_from_codes`, for values a caller has read already.

    Examples
    --------
    >>> code_mask(np.array([1, 2, 3]), np.array([True, True, False]), [2, 3]).tolist()
    [False, True, False]
    """
    return np.isin(values, codes) & valid


_BLOCK = 256


def _blockwise(
    free: np.ndarray,
    inner: tuple[slice, slice],
    reach: int,
    empty,
    block: Callable[[np.ndarray, tuple[slice, slice], np.ndarray], object],
) -> np.ndarray:
    """``block(free, keep, dst)`` for the ``inner`` cells of ``free``, by blocks or at once.

    ``free`` is True off the features. A block reads the cells within ``reach`` cells of it;
    blocks with no feature in reach are filled with ``empty`` (a NumPy scalar, which also sets
    the dtype) without a distance transform, so sparse features cost little. Blocks are 256
    cells, or about 8 x ``reach`` for long reaches. Where features are spread over most
    blocks, the blocks and their overlapping margins would hold more cells than ``free``
    itself; then ``free`` is transformed at once (the same values: a cell's answer depends
    only on the features within ``reach`` of it, which both hold). ``block`` writes the
    ``keep`` cells' answers into ``dst``, a view of the result, so no block's answer is held
    twice.
    """
    r0, c0 = inner[0].start, inner[1].start
    h, w = inner[0].stop - r0, inner[1].stop - c0
    if free.all():
        return np.full((h, w), empty)
    # Each block's transform covers the block plus ``reach`` cells around it; blocks of at
    # least 8 x reach keep that overhead under about 1.6x for long reaches (a 30 km cap at
    # 30 m reaches 1,000 cells), while 256-cell blocks let short reaches skip empty land.
    bs = max(_BLOCK, -(-8 * reach // _BLOCK) * _BLOCK)
    todo = []
    for br in range(0, h, bs):
        for bc in range(0, w, bs):
            bh, bw = min(bs, h - br), min(bs, w - bc)
            rr0, cc0 = max(0, r0 + br - reach), max(0, c0 + bc - reach)
            rr1 = min(free.shape[0], r0 + br + bh + reach)
            cc1 = min(free.shape[1], c0 + bc + bw + reach)
            sub = free[rr0:rr1, cc0:cc1]
            if not sub.all():
                ir, ic = r0 + br - rr0, c0 + bc - cc0
                todo.append((br, bc, sub, (slice(ir, ir + bh), slice(ic, ic + bw))))
    if sum(sub.size for *_, sub, _ in todo) >= free.size:
        # built-up land at 30 m: features in 34 of 36 blocks, 1.28x the cells as blocks;
        # a 2,884-cell tile took 173 ms by blocks and 112 ms at once (s27)
        # every cell is written: the result is not filled first (a 30 m distance tile's
        # core is 26 MB, the edt's squared distances over its halo 83 MB beside it)
        out = np.empty((h, w), dtype=np.asarray(empty).dtype)
        block(free, inner, out)
        return out
    out = np.full((h, w), empty)
    for br, bc, sub, keep in todo:
        h_, w_ = (k.stop - k.start for k in keep)
        block(sub, keep, out[br : br + h_, bc : bc + w_])
    return out


def _blockwise_edt(
    free: np.ndarray, inner: tuple[slice, slice], res_m: float, reach: int, cap_m: float
) -> np.ndarray:
    """Capped distances (float32 metres) for the ``inner`` cells of ``free``, by blocks."""

    def block(sub, keep, dst):
        _free_metres(sub, res_m, cap_m, keep, out=dst)

    return _blockwise(free, inner, reach, np.float32(cap_m), block)


def _within_cells2(res_m: float, cap_m: float, limit: np.float32) -> int:
    """The largest squared distance in cells whose capped metres are at most ``limit``.

    Metres are formed as :func:`_free_metres` forms them (``sqrt(k * res**2)`` in float64,
    capped, cast to float32), which never decreases with ``k``; so a cell whose squared
    distance ``k`` is at most the number returned has metres ``<= limit``, and no other.
    -1 if not even a feature cell (``k = 0``) passes.

    Examples
    --------
    >>> _within_cells2(30.0, 1030.0, np.float32(1000.0) * np.float32(1 + 1e-6))  # 33.33 cells
    1111
    """

    def metres(k: int) -> np.float32:
        return np.float32(min(math.sqrt(float(k) * (float(res_m) * float(res_m))), cap_m))

    if metres(0) > limit:
        return -1
    k = int((float(limit) / float(res_m)) ** 2)
    while k > 0 and metres(k) > limit:
        k -= 1
    while metres(k + 1) <= limit:
        k += 1
    return k


def _blockwise_within(
    free: np.ndarray, inner: tuple[slice, slice], res_m: float, reach: int, buffer_m: float
) -> np.ndarray:
    """:func:`within_distance`'s test for the ``inner`` cells of ``free``, block by block.

    The same cells as comparing :func:`_blockwise_edt`'s metres (capped one cell beyond the
    buffer) with the buffer: each squared distance in cells is compared with
    :func:`_within_cells2` instead, so no metres are formed (on 30 m built-up tiles, done at
    once: 78-79 ms a tile against 94-112 with the metres, s27).
    """
    import edt

    cap = buffer_m + res_m
    limit = np.float32(buffer_m) * np.float32(1 + 1e-6)
    k = _within_cells2(res_m, cap, limit)

    # the largest float32 not above k: for float32 d2, d2 <= k32 exactly when d2 <= k
    k32 = np.float32(k)
    if float(k32) > k:
        k32 = np.nextafter(k32, np.float32(-np.inf))

    def block(sub, keep, dst):
        if not sub.any():
            dst.fill(k >= 0)
            return
        # squared distances in cells, whole numbers in float32 (see _free_metres)
        d2 = edt.edtsq(sub, black_border=False, parallel=2)[keep]
        np.less_equal(d2, k32, out=dst)

    return _blockwise(free, inner, reach, np.bool_(np.float32(cap) <= limit), block)


def distance_tile(
    features: FeatureReader, grid: GridSpec, tile: Tile, max_distance_m: float
) -> np.ndarray:
    """Capped distances (metres) for a tile's core cells, from features read over its halo.

    Parameters
    ----------
    features : callable
        A :data:`FeatureReader`.
    grid : GridSpec
        The grid.
    tile : Tile
        A tile whose halo is at least :func:`halo_cells` of ``max_distance_m``.
    max_distance_m : float
        Cap in metres.

    Returns
    -------
    numpy.ndarray
        float32 array of the core window's shape.
    """
    need = halo_cells(max_distance_m, grid.res)
    _require_halo(tile, need, f"distances up to {max_distance_m} m", grid.res)
    free = np.logical_not(features(tile.outer))  # the features read are freed at once
    return _blockwise_edt(free, tile.inner, grid.res, need, max_distance_m)


def within_distance(
    features: FeatureReader, grid: GridSpec, tile: Tile, buffer_m: float
) -> np.ndarray:
    """True for a tile's core cells whose centre is within ``buffer_m`` of a feature cell centre.

    An exact circular buffer (``<=``), not a square or diamond kernel. Uses a halo of
    :func:`halo_cells` of ``buffer_m``; a windowed distance at most ``buffer_m`` equals the
    whole-grid distance, so the result does not depend on tiling.

    Parameters
    ----------
    features : callable
        A :data:`FeatureReader`.
    grid : GridSpec
        The grid.
    tile : Tile
        A tile with a large enough halo.
    buffer_m : float
        Buffer distance in metres.

    Returns
    -------
    numpy.ndarray of bool
    """
    need = halo_cells(buffer_m, grid.res)
    _require_halo(tile, need, f"a {buffer_m} m buffer", grid.res)
    free = np.logical_not(features(tile.outer))
    return _blockwise_within(free, tile.inner, grid.res, need, buffer_m)


def _require_halo(tile: Tile, need: int, what: str, res: float) -> None:
    if tile.halo < need:
        raise ConfigError(
            f"tile halo of {tile.halo} cells is too small for {what} at {res} m cells; "
            f"plan tiles with halo >= {need}"
        )


def distance_to(
    features: FeatureReader,
    grid: GridSpec,
    out_path: str | Path,
    *,
    max_distance_m: float,
    name: str | None = None,
    mem_limit_mb: float | Budget = DEFAULT_MEM_LIMIT_MB,
    scheduler=None,
    cog: bool = False,
    tile_size: int | None = None,
    compress: str | None = None,
) -> AlignedLayer:
    """Write a raster of capped Euclidean distance (metres) to features, tile by tile.

    Parameters
    ----------
    features : callable
        A :data:`FeatureReader` from :func:`features_from_vector` or
        :func:`features_from_codes`.
    grid : GridSpec
        The run's grid.
    out_path : str or pathlib.Path
        Destination GeoTIFF (atomic).
    max_distance_m : float
        Cap in metres; sets the halo.
    name : str, optional
        Layer name.
    mem_limit_mb : float or Budget
        Memory budget (MB, or a :class:`~sxplan.layers.budget.Budget`), shared by the tiles
        computed at once (:meth:`~sxplan.layers.budget.Budget.workers`).
    scheduler : str or dask.distributed.Client, optional
        Where tiles are computed (see :func:`sxplan.layers.windows.run_tiles`); default the
        enclosing :func:`sxplan.layers.windows.use_scheduler` block's. On ``"threads"`` the
        tiles are computed one at a time on the calling thread: edt uses two threads of its
        own.
    cog : bool
        Write a Cloud-Optimized GeoTIFF.
    tile_size : int, optional
        Force a tile side (tests).
    compress : {"DEFLATE", "ZSTD", "NONE"}, optional
        Compression (see :class:`sxplan.layers.io.RasterTileWriter`); ``"NONE"`` for scratch
        rasters.

    Returns
    -------
    AlignedLayer
        float32 metres, units ``m``.
    """
    from .windows import _ACTIVE

    halo = halo_cells(max_distance_m, grid.res)
    # edt transforms a tile on two threads of its own while holding the GIL, so on threads
    # tiles are computed one at a time, on the calling thread ("sync"): as fast as two at
    # once, with half the transforms in memory. Not the next tile while the last is written
    # either: writing an uncompressed tile is short, and otherwise the written tile (25 MB
    # at 30 m) waited beside the next one's transform, and the worker thread's own heap kept
    # the tiles it freed (the 30 m highway distances alone, s39: resident peak 386-396 ->
    # 320-321 MB, 12.7-14.6 -> 13.5-14.0 s). The tiles are planned as for two at once, as
    # before, so they are the same.
    active = _ACTIVE.get()[0] if scheduler is None else scheduler
    on_threads = active == "threads"  # then computed here, one tile at a time
    tiles = plan_tiles(
        grid,
        budget=Budget.of(mem_limit_mb),
        bytes_per_cell=BYTES_PER_CELL,
        halo=halo,
        n_workers=2 if on_threads else Budget.workers(scheduler),
        tile_size=tile_size,
    )
    with RasterTileWriter(
        out_path, grid, "float32", None, cog=cog, kind="continuous", compress=compress
    ) as w:
        run_tiles(
            tiles,
            lambda t: distance_tile(features, grid, t, max_distance_m),
            lambda t, arr: w.write(arr, t.window),
            scheduler="sync" if on_threads else scheduler,
            progress=name or "distance",
        )
    return w.layer(name or Path(out_path).stem, "m")
