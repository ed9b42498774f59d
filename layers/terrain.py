"""Slope and aspect from a DEM on the analysis grid (Horn's method, in metres).

Slope is computed in metres on the projected grid, never over degrees. Horn (1981) weights the
eight neighbours::

    a b c        dz/dx = ((c + 2f + i) - (a + 2d + g)) / (8 * res)
    d e f        dz/dy = ((g + 2h + i) - (a + 2b + c)) / (8 * res)   (y grows southward)
    g h i

Edges of the grid and cells next to nodata use the centre value in place of the missing
neighbour, so the result has no artificial nodata border; nodata cells stay nodata.

Aspect is the compass direction the slope faces (downhill), in degrees clockwise from grid north;
flat cells get -1 (as ``gdaldem``). In the Albers grid, grid north differs from true north by the
meridian convergence (a few degrees in Shanxi), see :func:`grid_north_offset_deg`.

Inputs: a DEM :class:`~sxplan.layers.io.AlignedLayer` (metres) or array. Outputs: float32 rasters
``slope_deg``, ``slope_pct``, ``aspect_deg`` (nodata NaN).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rasterio.windows import Window

from .budget import DEFAULT_MEM_LIMIT_MB, Budget
from .io import AlignedLayer, RasterTileWriter
from .windows import plan_tiles, run_tiles

__all__ = [
    "SLOPE_ASPECT_UNITS",
    "DerivedSlopeLayer",
    "grid_north_offset_deg",
    "horn_gradient",
    "horn_slope_aspect",
    "slope_aspect",
    "slope_deg_layer",
    "slope_pct_layer",
    "steeper_than",
]


#: Rows of a DEM array computed at once: the gradient's temporaries of a strip stay in the CPU
#: cache instead of going through memory once per operation. On a 2,818 x 2,818 tile of the
#: benchmark DEM, slope in degrees took 104-176 ms as whole-array operations and 60-64 ms in
#: strips of 8 to 128 rows (``/work/bench-data/m27/strip.py``, s27); 32 is in the flat part.
_STRIP_ROWS = 32


def horn_gradient(
    dem: np.ndarray, res_m: float, valid: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Horn's east and south gradients (metres per metre) of a DEM array, in float32.

    Missing neighbours (grid edge or nodata) take the centre value. Most cells have all eight
    neighbours, so the formula runs on array views without copies, :data:`_STRIP_ROWS` rows
    at a time; only the few cells with a missing neighbour are recomputed with the
    substitution, using the same float32 arithmetic, so the result does not depend on how the
    grid was cut into tiles (or strips).

    Parameters
    ----------
    dem : numpy.ndarray
        Elevations in metres (2-D). A masked array's mask marks nodata.
    res_m : float
        Cell size in metres.
    valid : numpy.ndarray of bool, optional
        True where the DEM holds data (default: finite and unmasked cells).

    Returns
    -------
    tuple of numpy.ndarray
        ``(dz_dx_east, dz_dy_south, valid)``; gradients are NaN where the DEM has no data.
    """
    data = np.ma.getdata(dem)
    nrow, ncol = data.shape
    # the float32 DEM is written straight into its NaN-padded copy (one array, not two)
    zp = np.empty((nrow + 2, ncol + 2), dtype="float32")
    z = zp[1:-1, 1:-1]
    z[...] = data
    if valid is None:
        valid = np.isfinite(z) & ~np.ma.getmaskarray(dem)
    invalid = None if valid.all() else ~valid
    if invalid is not None:
        np.copyto(z, np.float32(np.nan), where=invalid)
    zp[0, :] = zp[-1, :] = np.nan
    zp[1:-1, 0] = zp[1:-1, -1] = np.nan
    scale = np.float32(8.0 * res_m)
    gx = np.empty((nrow, ncol), dtype="float32")
    gy = np.empty((nrow, ncol), dtype="float32")
    t = np.empty((min(nrow, _STRIP_ROWS), ncol), dtype="float32")
    nan = np.empty(t.shape, dtype=bool)
    redo = []  # flat indices of valid cells with a missing neighbour (NaN gradient)
    for r0 in range(0, nrow, _STRIP_ROWS):
        n = min(_STRIP_ROWS, nrow - r0)

        def view(dr: int, dc: int, r0=r0, n=n) -> np.ndarray:
            return zp[1 + r0 + dr : 1 + r0 + dr + n, 1 + dc : 1 + dc + ncol]

        a, b, c = view(-1, -1), view(-1, 0), view(-1, 1)
        d, f = view(0, -1), view(0, 1)
        g, h, i = view(1, -1), view(1, 0), view(1, 1)
        x, y, tt = gx[r0 : r0 + n], gy[r0 : r0 + n], t[:n]
        _horn_difference((f, c, i), (d, a, g), scale, x, tt)
        _horn_difference((h, g, i), (b, a, c), scale, y, tt)
        if invalid is not None:  # Horn's formula skips the centre: a hole's neighbours fill it
            np.copyto(x, np.float32(np.nan), where=invalid[r0 : r0 + n])
            np.copyto(y, np.float32(np.nan), where=invalid[r0 : r0 + n])
        m = nan[:n]
        np.isnan(x, out=m)
        m |= np.isnan(y)  # a missing north or south neighbour leaves x finite
        m &= valid[r0 : r0 + n]
        if m.any():  # mostly the window's border: cheaper than 2-D nonzero
            redo.append(np.flatnonzero(m) + r0 * ncol)
    del t, nan
    if redo:
        flat = np.concatenate(redo)
        rr, cc = np.divmod(flat, ncol)
        centre = z[rr, cc]

        def nb(dr: int, dc: int) -> np.ndarray:
            v = zp[rr + 1 + dr, cc + 1 + dc]
            return np.where(np.isnan(v), centre, v)

        a, b, c = nb(-1, -1), nb(-1, 0), nb(-1, 1)
        d, f = nb(0, -1), nb(0, 1)
        g, h, i = nb(1, -1), nb(1, 0), nb(1, 1)
        out, tmp = np.empty_like(centre), np.empty_like(centre)
        gx[rr, cc] = _horn_difference((f, c, i), (d, a, g), scale, out, tmp)
        gy[rr, cc] = _horn_difference((h, g, i), (b, a, c), scale, out, tmp)
    return gx, gy, valid


def _horn_difference(side, other, scale, out, tmp) -> np.ndarray:
    """Horn's ``((p1 + 2 p + p2) - (q1 + 2 q + q2)) / scale`` into ``out``, float32, in place.

    ``side`` is ``(p, p1, p2)`` and ``other`` ``(q, q1, q2)``: east ``(f, c, i)`` less west
    ``(d, a, g)`` for dz/dx, south ``(h, g, i)`` less north ``(b, a, c)`` for dz/dy. The one
    form of the formula here, so the strips and the cells recomputed at missing neighbours
    use the same operations in the same order (``tmp``: work space of ``out``'s shape).
    """
    (p, p1, p2), (q, q1, q2) = side, other
    np.multiply(p, np.float32(2.0), out=out)
    out += p1
    out += p2
    np.multiply(q, np.float32(2.0), out=tmp)
    tmp += q1
    tmp += q2
    out -= tmp
    out /= scale
    return out


def horn_slope_aspect(
    dem: np.ndarray,
    res_m: float,
    valid: np.ndarray | None = None,
    outputs: tuple[str, ...] = ("slope_deg", "slope_pct", "aspect_deg"),
) -> tuple[np.ndarray, ...]:
    """Slope (degrees and percent) and aspect (degrees) of a DEM array by Horn's method.

    Parameters
    ----------
    dem : numpy.ndarray
        Elevations in metres (2-D). A masked array's mask marks nodata.
    res_m : float
        Cell size in metres (square cells).
    valid : numpy.ndarray of bool, optional
        True where the DEM holds data (default: finite and unmasked cells).
    outputs : tuple of str
        Which of ``slope_deg``, ``slope_pct``, ``aspect_deg`` to return, in that order.

    Returns
    -------
    tuple of numpy.ndarray
        The requested arrays as float32, NaN where the DEM has no data.

    Examples
    --------
    A plane rising 1 m per 10 m cell eastward has a 10% slope facing west (270 degrees):

    >>> import numpy as np
    >>> dem = np.tile(np.arange(5.0), (5, 1))
    >>> s_deg, s_pct, asp = horn_slope_aspect(dem, 10.0)
    >>> float(s_pct[2, 2]), float(asp[2, 2])
    (10.0, 270.0)
    """
    unknown = set(outputs) - {"slope_deg", "slope_pct", "aspect_deg"}
    if unknown:
        raise ValueError(f"unknown outputs {sorted(unknown)}")
    gx, gy, _valid = horn_gradient(dem, res_m, valid)
    out = [np.empty(gx.shape, dtype="float32") for _ in outputs]
    nrow = gx.shape[0]
    strip = (min(nrow, _STRIP_ROWS), gx.shape[1])
    grad = np.empty(strip, dtype="float32")
    work = (np.empty(strip), np.empty(strip))
    # strip by strip, each the float32 result of the whole-array form: hypot(gx, gy), then
    # degrees(arctan(.)), x 100, or degrees(arctan2(-gx, gy)) % 360 with -1 where flat
    for r0 in range(0, nrow, _STRIP_ROWS):
        rows = slice(r0, min(nrow, r0 + _STRIP_ROWS))
        x, y = gx[rows], gy[rows]
        n = x.shape[0]
        g = grad[:n]
        _hypot(x, y, g, work[0][:n], work[1][:n])
        for name, o in zip(outputs, out, strict=True):
            o = o[rows]
            if name == "slope_deg":
                np.arctan(g, out=o)
                np.multiply(o, _DEGREES, out=o)
            elif name == "slope_pct":
                np.multiply(g, np.float32(100.0), out=o)  # float32 x float32
            else:
                # downhill direction: east component -dz/dx, north component +dz/dy_south
                np.negative(x, out=o)
                np.arctan2(o, y, out=o)
                np.multiply(o, _DEGREES, out=o)
                np.remainder(o, np.float32(360.0), out=o)
                o[g == 0] = -1.0
    return tuple(out)


#: ``np.degrees`` of a float32 is ``x * (180f / pi_f)`` in float32 (NumPy's ``npy_degreesf``),
#: one rounding; the multiply by this constant gives the same bits, checked for every float32
#: in [0, 4) and their negatives (arctan and arctan2 give values in [-pi, pi]), and runs
#: vectorized (``np.degrees`` on float32 does not: 13 ms against 0.4 ms for 7.9 M cells, s27).
_DEGREES = np.float32(180.0) / np.float32(np.pi)


def _hypot(x: np.ndarray, y: np.ndarray, out: np.ndarray, wx: np.ndarray, wy: np.ndarray):
    """``np.hypot(x, y)`` of float32 arrays into ``out``, via float64 ``sqrt(x*x + y*y)``.

    float32 squares and their sum are exact or rounded once in float64, then the square root
    once and the float32 cast once: what glibc's ``hypotf``, which NumPy's float32 hypot calls
    cell by cell, computes. The same bits on 2 x 10**8 random pairs over six decades and on
    the benchmark DEM's gradients (s27); vectorized, so 1.5x faster. The one difference, an
    infinite component beside a NaN (hypot gives inf, this NaN), needs a gradient of 1e37 m/m.
    ``wx`` and ``wy`` are float64 work arrays of ``x``'s shape.
    """
    np.copyto(wx, x)
    np.copyto(wy, y)
    np.multiply(wx, wx, out=wx)
    np.multiply(wy, wy, out=wy)
    np.add(wx, wy, out=wx)
    np.sqrt(wx, out=wx)
    np.copyto(out, wx, casting="same_kind")


def steeper_than(
    dem: np.ndarray, res_m: float, limit_pct: float, valid: np.ndarray | None = None
) -> np.ndarray:
    """True where Horn's slope exceeds ``limit_pct`` percent (no trigonometry, no slope raster).

    Compares the squared gradient with ``(limit_pct / 100) ** 2``; agrees with
    ``slope_pct > limit_pct`` except possibly in the last float32 bit at the limit itself.
    Cells without data are False.

    Parameters
    ----------
    dem : numpy.ndarray
        Elevations in metres.
    res_m : float
        Cell size in metres.
    limit_pct : float
        Slope limit in percent (rise over run x 100).
    valid : numpy.ndarray of bool, optional
        True where the DEM holds data.

    Returns
    -------
    numpy.ndarray of bool
    """
    gx, gy, _ = horn_gradient(dem, res_m, valid)
    with np.errstate(invalid="ignore"):
        return (gx * gx + gy * gy) > np.float32((limit_pct / 100.0) ** 2)


#: The rasters :func:`slope_aspect` writes (``<name>.tif``) and their units.
SLOPE_ASPECT_UNITS = {"slope_deg": "degree", "slope_pct": "percent", "aspect_deg": "degree"}


def slope_aspect(
    dem: AlignedLayer,
    out_dir: str | Path,
    *,
    mem_limit_mb: float = DEFAULT_MEM_LIMIT_MB,
    scheduler=None,
    cog: bool = False,
    tile_size: int | None = None,
) -> dict[str, AlignedLayer]:
    """Compute slope and aspect from a DEM on the grid, tile by tile with a 1-cell halo.

    Parameters
    ----------
    dem : AlignedLayer
        Elevation in metres on the run's grid.
    out_dir : str or pathlib.Path
        Folder for ``slope_deg.tif``, ``slope_pct.tif`` and ``aspect_deg.tif``.
    mem_limit_mb : float
        Memory budget.
    scheduler : str or dask.distributed.Client, optional
        Where tiles are computed (see :func:`sxplan.layers.windows.run_tiles`); default the
        enclosing :func:`sxplan.layers.windows.use_scheduler` block's.
    cog : bool
        Write Cloud-Optimized GeoTIFFs.
    tile_size : int, optional
        Force a tile side (tests).

    Returns
    -------
    dict of str to AlignedLayer
        Keys ``slope_deg``, ``slope_pct``, ``aspect_deg``.
    """
    out_dir = Path(out_dir)
    grid = dem.grid
    # dem read (4 B) + float32 copy and pad (8 B) + gx, gy, grad (12 B) + 3 float32 outputs;
    # measured 28 B/cell traced computing and 12 B/cell held by a result waiting to be written
    # (tracemalloc, a 2,000 x 2,000 tile). Tiles computed at once share the budget: planned
    # for one, two threads took a 30 m run to 1,470 MB at 1,024 (benchmarks/README.md, s24).
    tiles = plan_tiles(
        grid,
        mem_limit_mb=mem_limit_mb,
        bytes_per_cell=64,
        halo=1,
        tile_size=tile_size,
        n_workers=Budget.workers(scheduler),
    )
    names = SLOPE_ASPECT_UNITS

    def compute(tile):
        values, valid = dem.read_valid(tile.outer)
        res = horn_slope_aspect(values, grid.res, valid)
        # outer is clipped at grid edges; horn_slope_aspect treats missing neighbours as the
        # centre value, which equals the whole-array edge rule, so the inner part is exact.
        return [r[tile.inner] for r in res]

    with contextlib.ExitStack() as stack:
        writers = [
            stack.enter_context(
                RasterTileWriter(out_dir / f"{n}.tif", grid, "float32", float("nan"), cog=cog)
            )
            for n in names
        ]
        run_tiles(
            tiles,
            compute,
            lambda t, res: [w.write(r, t.window) for w, r in zip(writers, res, strict=True)],
            scheduler=scheduler,
            progress="slope",
        )
    return {n: w.layer(n, u) for (n, u), w in zip(names.items(), writers, strict=True)}


@dataclass(frozen=True)
class DerivedSlopeLayer(AlignedLayer):
    """Horn slope (percent or degrees) of a DEM layer, computed window by window when read.

    Reads the DEM over the requested window plus a 1-cell halo and returns exactly the values
    :func:`slope_aspect` would write to ``slope_pct.tif`` (or ``slope_deg.tif``; the gradient
    does not depend on how the grid is cut), without writing a raster. ``path`` is a pseudo
    path (``<dem>#slope_pct``) so that code opening the file directly fails loudly instead of
    reading elevations.

    Attributes
    ----------
    dem : AlignedLayer
        The elevation layer (metres) it is derived from.
    output : str
        ``slope_pct`` (default) or ``slope_deg``.
    """

    dem: AlignedLayer | None = None
    output: str = "slope_pct"

    def read_valid(self, window: Window | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Slope (float32, NaN without data) and validity over ``window``."""
        return self.read_valid_and_dem(window)[0]

    def read_valid_and_dem(self, window: Window | None = None) -> tuple[tuple, tuple]:
        """``(slope, valid)`` over ``window`` and ``(elevation, valid)`` of the DEM there.

        The DEM is read once, over the window and its 1-cell halo; its core is what
        ``self.dem.read_valid(window)`` would give, for a caller that needs both.
        """
        h, w = self.grid.shape
        if window is None:
            window = Window(0, 0, w, h)
        r0, c0 = int(window.row_off), int(window.col_off)
        r1, c1 = r0 + int(window.height), c0 + int(window.width)
        orow, ocol = max(0, r0 - 1), max(0, c0 - 1)
        outer = Window(ocol, orow, min(w, c1 + 1) - ocol, min(h, r1 + 1) - orow)
        values, valid = self.dem.read_valid(outer)
        inner = (slice(r0 - orow, r1 - orow), slice(c0 - ocol, c1 - ocol))
        (slope,) = horn_slope_aspect(values, self.grid.res, valid, outputs=(self.output,))
        return (slope[inner], valid[inner].copy()), (values[inner], valid[inner])

    def read(self, window: Window | None = None, *, masked: bool = True):
        """Slope over ``window`` (masked where the DEM has no data)."""
        slope, valid = self.read_valid(window)
        return np.ma.MaskedArray(slope, mask=~valid) if masked else slope


def slope_pct_layer(dem: AlignedLayer, name: str = "slope_pct") -> DerivedSlopeLayer:
    """A slope layer (percent) derived from ``dem`` on read, for windowed consumers.

    Use it where a slope raster would otherwise be written only to be read once (e.g. a siting
    run at 30 m): each window costs a DEM read with a 1-cell halo and a float32 Horn gradient.

    Parameters
    ----------
    dem : AlignedLayer
        Elevation in metres on the run's grid.
    name : str
        Layer name.

    Returns
    -------
    DerivedSlopeLayer
        Continuous, units ``percent``, NaN nodata, float32.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from sxplan.layers.grid import GridSpec
    >>> from sxplan.layers.io import write_raster
    >>> g = GridSpec.from_bounds((0, 0, 50, 50), 10)
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> dem = write_raster(d / "dem.tif", np.tile(np.arange(5.0), (5, 1)), g, cog=False)
    >>> float(slope_pct_layer(dem).read()[2, 2])
    10.0
    """
    return _derived_slope(dem, name, "slope_pct", "percent")


def slope_deg_layer(dem: AlignedLayer, name: str = "slope_deg") -> DerivedSlopeLayer:
    """A slope layer in degrees derived from ``dem`` on read (see :func:`slope_pct_layer`).

    Its values equal those :func:`slope_aspect` writes to ``slope_deg.tif``.

    Parameters
    ----------
    dem : AlignedLayer
        Elevation in metres on the run's grid.
    name : str
        Layer name.

    Returns
    -------
    DerivedSlopeLayer
        Continuous, units ``degree``, NaN nodata, float32.
    """
    return _derived_slope(dem, name, "slope_deg", "degree")


def _derived_slope(dem: AlignedLayer, name: str, output: str, units: str) -> DerivedSlopeLayer:
    # a pseudo path (<dem>#<name>): code opening the file directly fails instead of reading
    # elevations
    path = Path(f"{dem.path}#{name}")
    return DerivedSlopeLayer(
        name, path, dem.grid, "continuous", units, float("nan"), "float32", dem=dem, output=output
    )


def grid_north_offset_deg(grid, x, y) -> np.ndarray:
    """Angle from true north to grid north at points of the grid, in degrees (clockwise).

    Add it to a grid-north azimuth to get a true-north azimuth.

    Parameters
    ----------
    grid : GridSpec
        The grid (its CRS).
    x, y : array_like
        Points in the grid CRS.

    Returns
    -------
    numpy.ndarray
        Degrees; positive where grid north lies east of true north.
    """
    from pyproj import Proj

    proj = Proj(grid.pyproj_crs)
    lon, lat = proj(np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64"), inverse=True)
    factors = proj.get_factors(lon, lat)
    # pyproj's meridian_convergence is the angle from true north to grid north, clockwise
    # (checked in tests against the grid azimuth of a short step due north)
    return np.asarray(factors.meridian_convergence)
