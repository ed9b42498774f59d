"""The analysis grid: one CRS, one transform, one shape for every layer of a run.

Every input is aligned to a :class:`GridSpec` once; later stages refuse arrays and layers that
are not on it. The default CRS is an Albers equal-area projection for China, so a cell's area is
its resolution squared and areas need no per-cell correction.

Inputs: a study-area geometry (any CRS), a resolution in metres, a projected CRS in metres.
Outputs: an immutable :class:`GridSpec`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from affine import Affine
from pyproj import CRS, Transformer
from rasterio.windows import Window

from sxplan.errors import CRSError, GridMismatchError

__all__ = ["ALBERS_CHINA", "ALBERS_CHINA_NAME", "GridSpec", "named_crs", "require_metric_crs"]

#: Albers equal-area conic for China (standard parallels 25 N and 47 N, central meridian 105 E).
ALBERS_CHINA = "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +ellps=WGS84 +units=m +no_defs"
#: The name the grid CRS carries in every file (QGIS shows it instead of "unknown"). No EPSG code
#: has these parameters (ESRI:102025 uses 15/65 N, 95 E), so the CRS is named, not coded.
ALBERS_CHINA_NAME = "China Albers Equal Area (25N/47N, 105E, WGS 84 ellipsoid)"


def named_crs(crs) -> CRS:
    """The same CRS with a name, when it has none (a PROJ string parses as "unknown").

    The name is :data:`ALBERS_CHINA_NAME` for the default grid CRS, else the projection
    method and its parameters. Names do not change what the CRS means: pyproj compares CRSs
    as equivalent whatever their names.

    Examples
    --------
    >>> named_crs(ALBERS_CHINA).name == ALBERS_CHINA_NAME
    True
    >>> named_crs("EPSG:3857").name
    'WGS 84 / Pseudo-Mercator'
    """
    parsed = CRS.from_user_input(crs)
    if parsed.name and parsed.name.lower() != "unknown":
        return parsed
    d = parsed.to_json_dict()
    if parsed.equals(CRS.from_user_input(ALBERS_CHINA)):
        d["name"] = ALBERS_CHINA_NAME
    else:
        op = parsed.coordinate_operation
        params = ", ".join(f"{p.name} {p.value:g}" for p in (op.params if op else []))
        d["name"] = f"{op.method_name if op else 'projected'} ({params})"
    base = d.get("base_crs")
    if isinstance(base, dict) and str(base.get("name", "unknown")).lower() == "unknown":
        base["name"] = f"geographic CRS on the {parsed.ellipsoid.name} ellipsoid"
    return CRS.from_json_dict(d)


def require_metric_crs(crs, what: str) -> CRS:
    """Return ``crs`` as a pyproj CRS, raising unless it is projected in metres.

    Parameters
    ----------
    crs : str, int, pyproj.CRS or rasterio.crs.CRS
        The CRS to check.
    what : str
        What the CRS is for, named in the error message.

    Returns
    -------
    pyproj.CRS
        The parsed CRS.

    Raises
    ------
    CRSError
        If the CRS is geographic (degrees) or its axis unit is not the metre.
    """
    try:
        parsed = CRS.from_user_input(crs)
    except Exception as exc:  # pyproj raises CRSError of its own; re-raise ours
        raise CRSError(f"{what}: cannot parse CRS {crs!r} ({exc})") from exc
    if not parsed.is_projected:
        raise CRSError(
            f"{what}: CRS {parsed.name!r} is geographic (degrees); distances and areas need a "
            f"projected CRS in metres, e.g. the default Albers for China: {ALBERS_CHINA!r}"
        )
    units = {ax.unit_name for ax in parsed.axis_info}
    if not units <= {"metre", "meter"}:
        raise CRSError(
            f"{what}: CRS {parsed.name!r} has axis units {sorted(units)}; use a projected CRS "
            "in metres"
        )
    return parsed


@dataclass(frozen=True)
class GridSpec:
    """A north-up raster grid with square cells in a projected CRS in metres.

    Parameters
    ----------
    crs : str
        The CRS as WKT (use :meth:`from_bounds` or :meth:`from_geometry` rather than building
        WKT by hand).
    transform : affine.Affine
        Pixel-to-CRS transform of the upper-left corner; ``a`` is the resolution in metres and
        ``e`` its negative.
    shape : tuple of int
        ``(height, width)`` in cells.

    Examples
    --------
    >>> g = GridSpec.from_bounds((0, 0, 10_000, 5_000), 1_000)
    >>> g.shape, g.res, g.cell_area_km2
    ((5, 10), 1000.0, 1.0)
    """

    crs: str
    transform: Affine
    shape: tuple[int, int]

    def __post_init__(self) -> None:
        t = self.transform
        if t.b != 0 or t.d != 0:
            raise GridMismatchError(f"grid transform must be north-up without rotation, got {t}")
        if not math.isclose(t.a, -t.e, rel_tol=1e-9) or t.a <= 0:
            raise GridMismatchError(
                f"grid cells must be square with positive size, got a={t.a}, e={t.e}"
            )
        h, w = self.shape
        if int(h) != h or int(w) != w or h < 1 or w < 1:
            raise GridMismatchError(f"grid shape must be two positive integers, got {self.shape}")
        object.__setattr__(self, "shape", (int(h), int(w)))
        require_metric_crs(self.crs, "analysis grid")

    # --- construction -----------------------------------------------------------------------
    @classmethod
    def from_bounds(cls, bounds, res_m: float, crs=ALBERS_CHINA) -> GridSpec:
        """Build a grid covering ``bounds`` (in ``crs``) with cells of ``res_m`` metres.

        Bounds are snapped outward to whole multiples of the resolution, so two grids of the
        same resolution and CRS always share cell edges.

        Parameters
        ----------
        bounds : tuple of float
            ``(xmin, ymin, xmax, ymax)`` in ``crs`` units (metres).
        res_m : float
            Cell size in metres.
        crs : str, int or pyproj.CRS
            A projected CRS in metres; default :data:`ALBERS_CHINA`.

        Returns
        -------
        GridSpec
        """
        if not res_m > 0:
            raise GridMismatchError(f"resolution must be positive metres, got {res_m!r}")
        parsed = require_metric_crs(crs, "analysis grid")
        xmin, ymin, xmax, ymax = (float(v) for v in bounds)
        if not (xmax > xmin and ymax > ymin):
            raise GridMismatchError(f"bounds must have xmax > xmin and ymax > ymin, got {bounds}")
        x0 = math.floor(xmin / res_m) * res_m
        y1 = math.ceil(ymax / res_m) * res_m
        width = max(1, math.ceil((xmax - x0) / res_m - 1e-9))
        height = max(1, math.ceil((y1 - ymin) / res_m - 1e-9))
        grid_crs = named_crs(parsed).to_wkt()
        return cls(grid_crs, Affine(res_m, 0.0, x0, 0.0, -res_m, y1), (height, width))

    @classmethod
    def from_geometry(
        cls, geometry, geometry_crs, res_m: float, crs=ALBERS_CHINA, margin_m: float = 0.0
    ) -> GridSpec:
        """Build a grid covering a study-area geometry plus an optional margin.

        Parameters
        ----------
        geometry : shapely.Geometry
            The study area.
        geometry_crs : str, int or pyproj.CRS
            CRS of ``geometry`` (geographic is fine here; it is projected to ``crs``).
        res_m : float
            Cell size in metres.
        crs : str, int or pyproj.CRS
            Grid CRS, projected in metres; default :data:`ALBERS_CHINA`.
        margin_m : float
            Extra metres on every side (useful so focal operations see beyond the border).

        Returns
        -------
        GridSpec
        """
        import shapely

        if geometry_crs is None:
            raise CRSError("study area geometry has no CRS; pass geometry_crs, e.g. 'EPSG:4326'")
        parsed = require_metric_crs(crs, "analysis grid")
        tr = Transformer.from_crs(CRS.from_user_input(geometry_crs), parsed, always_xy=True)
        # Densify before projecting so curved edges of the projected bounds are not cut off.
        projected = shapely.transform(
            shapely.segmentize(geometry, max_segment_length=_densify_step(geometry_crs)),
            lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])),
        )
        xmin, ymin, xmax, ymax = projected.bounds
        m = float(margin_m)
        return cls.from_bounds((xmin - m, ymin - m, xmax + m, ymax + m), res_m, parsed)

    # --- properties -------------------------------------------------------------------------
    @property
    def res(self) -> float:
        """Cell size in metres."""
        return float(self.transform.a)

    @property
    def height(self) -> int:
        """Number of rows."""
        return self.shape[0]

    @property
    def width(self) -> int:
        """Number of columns."""
        return self.shape[1]

    @property
    def n_cells(self) -> int:
        """Number of cells."""
        return self.shape[0] * self.shape[1]

    @property
    def cell_area_m2(self) -> float:
        """Area of one cell in square metres (true area when the CRS is equal-area)."""
        return self.res * self.res

    @property
    def cell_area_km2(self) -> float:
        """Area of one cell in square kilometres."""
        return self.cell_area_m2 / 1e6

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)`` in the grid CRS."""
        t = self.transform
        return (t.c, t.f - self.height * self.res, t.c + self.width * self.res, t.f)

    @cached_property
    def pyproj_crs(self) -> CRS:
        """The CRS as a :class:`pyproj.CRS`."""
        return CRS.from_wkt(self.crs)

    @cached_property
    def rasterio_crs(self):
        """The CRS as a :class:`rasterio.crs.CRS`."""
        from rasterio.crs import CRS as RioCRS

        return RioCRS.from_wkt(self.crs)

    @property
    def is_equal_area(self) -> bool:
        """True when the grid CRS preserves area (Albers, Lambert azimuthal, ...)."""
        op = self.pyproj_crs.coordinate_operation
        name = (op.method_name if op is not None else "").lower()
        return any(k in name for k in ("albers", "equal area", "equal-area"))

    # --- windows ----------------------------------------------------------------------------
    def full_window(self) -> Window:
        """The window covering the whole grid."""
        return Window(0, 0, self.width, self.height)

    def window_transform(self, window: Window) -> Affine:
        """Affine transform of a window's upper-left cell."""
        return self.transform @ Affine.translation(window.col_off, window.row_off)

    def subgrid(self, window: Window) -> GridSpec:
        """The grid of a window of this grid."""
        return GridSpec(self.crs, self.window_transform(window), (window.height, window.width))

    def cell_centers(self, window: Window | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Return 2-D arrays ``(x, y)`` of cell-centre coordinates in the grid CRS.

        Parameters
        ----------
        window : rasterio.windows.Window, optional
            Restrict to a window; default the whole grid.

        Returns
        -------
        tuple of numpy.ndarray
            Two float64 arrays of the window's shape.
        """
        window = window or self.full_window()
        t = self.window_transform(window)
        cols = np.arange(window.width) + 0.5
        rows = np.arange(window.height) + 0.5
        return np.meshgrid(t.c + cols * t.a, t.f + rows * t.e)

    def rowcol(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Row and column of the cells containing points ``(x, y)`` in the grid CRS."""
        t = self.transform
        col = (np.asarray(x, dtype="float64") - t.c) / t.a
        row = (np.asarray(y, dtype="float64") - t.f) / t.e
        return np.floor(row).astype("int64"), np.floor(col).astype("int64")

    # --- checks -----------------------------------------------------------------------------
    def same_as(self, other: GridSpec) -> bool:
        """True when ``other`` has the same shape, transform (to 1e-6 m) and CRS."""
        if self.shape != other.shape:
            return False
        if not self.transform.almost_equals(other.transform, precision=1e-6):
            return False
        return self.crs == other.crs or self.pyproj_crs == other.pyproj_crs

    def require_same(self, other: GridSpec, what: str) -> None:
        """Raise :class:`GridMismatchError` unless ``other`` is this grid.

        Parameters
        ----------
        other : GridSpec
            The grid of the layer or array being checked.
        what : str
            The layer's name, for the message.
        """
        if not self.same_as(other):
            raise GridMismatchError(
                f"{what} is on grid shape={other.shape} res={other.res} "
                f"origin=({other.transform.c}, {other.transform.f}), but the run's grid is "
                f"shape={self.shape} res={self.res} origin=({self.transform.c}, "
                f"{self.transform.f}); align it with layers.align_layer first"
            )

    def require_array(self, array: np.ndarray, what: str, window: Window | None = None) -> None:
        """Raise :class:`GridMismatchError` unless ``array`` has this grid's (or window's) shape."""
        expected = (window.height, window.width) if window is not None else self.shape
        if tuple(array.shape[-2:]) != tuple(expected):
            raise GridMismatchError(
                f"{what} has shape {tuple(array.shape)}, expected {tuple(expected)} for the "
                "run's grid; align it to the grid first"
            )

    def profile(self, dtype: str, nodata=None, **extra) -> dict:
        """A rasterio profile for writing a single-band raster on this grid."""
        prof = {
            "driver": "GTiff",
            "height": self.height,
            "width": self.width,
            "count": 1,
            "dtype": dtype,
            "crs": self.rasterio_crs,
            "transform": self.transform,
            "nodata": nodata,
        }
        prof.update(extra)
        return prof


def _densify_step(crs) -> float:
    """A segment length for densifying geometry before projection (0.01 deg or 1 km)."""
    parsed = CRS.from_user_input(crs)
    return 0.01 if parsed.is_geographic else 1000.0
