"""Deterministic synthetic terrain, land cover and resource fields over Shanxi's extent.

Every field is a pure function of cell-centre coordinates (Albers metres) and the seed, so a
window computed on its own equals the same cells of any larger window, bit for bit: tiles agree
at their edges whatever the tiling. Noise is a sum of cubic B-spline octaves over integer
lattices whose node values come from a counter-based hash (no stored random arrays), and
summation orders are fixed per cell.

Inputs: a seed, 1-D arrays of cell-centre x (columns) and y (rows) in metres.
Outputs: float32 / uint8 arrays of shape ``(len(y), len(x))``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "IGBP",
    "City",
    "Terrain",
    "lattice_noise",
    "shanxi_like_outline_lonlat",
]

#: IGBP (MODIS MCD12Q1 LC_Type1) codes used by the generator.
IGBP = {
    "evergreen_needleleaf": 1,
    "deciduous_broadleaf": 4,
    "mixed_forest": 5,
    "open_shrubland": 7,
    "woody_savanna": 8,
    "grassland": 10,
    "cropland": 12,
    "urban": 13,
    "crop_natural_mosaic": 14,
    "barren": 16,
    "water": 17,
}

_GOLD = np.uint64(0x9E3779B97F4A7C15)
_MIX_J = np.uint64(0xC2B2AE3D27D4EB4F)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _hash_uniform(i: np.ndarray, j: np.ndarray, key: int) -> np.ndarray:
    """Uniform values in [-1, 1) from integer lattice coordinates (splitmix64 finaliser)."""
    with np.errstate(over="ignore"):
        h = (i.astype(np.int64).view(np.uint64) * _GOLD) ^ (
            j.astype(np.int64).view(np.uint64) * _MIX_J
        )
        h ^= np.uint64(key & 0xFFFFFFFFFFFFFFFF)
        h ^= h >> np.uint64(30)
        h *= _M1
        h ^= h >> np.uint64(27)
        h *= _M2
        h ^= h >> np.uint64(31)
    return ((h >> np.uint64(40)).astype(np.float32) * np.float32(2.0**-23)) - np.float32(1.0)


def _bspline_weights(t: np.ndarray) -> tuple[np.ndarray, ...]:
    """Uniform cubic B-spline weights for nodes -1, 0, +1, +2 at fractional offsets ``t``."""
    t2 = t * t
    t3 = t2 * t
    w0 = (1.0 - t) ** 3 / 6.0
    w1 = (3.0 * t3 - 6.0 * t2 + 4.0) / 6.0
    w2 = (-3.0 * t3 + 3.0 * t2 + 3.0 * t + 1.0) / 6.0
    w3 = t3 / 6.0
    return tuple(w.astype(np.float32) for w in (w0, w1, w2, w3))


# Scale so one octave has a standard deviation of about 1 (B-spline smoothing of uniform
# [-1, 1] nodes leaves a std of about 0.28).
_NOISE_GAIN = np.float32(3.5)


def lattice_noise(x: np.ndarray, y: np.ndarray, spacing_m: float, key: int) -> np.ndarray:
    """Smooth noise (std about 1) on the grid of ``x`` columns by ``y`` rows.

    Parameters
    ----------
    x, y : numpy.ndarray
        1-D cell-centre coordinates in metres (any order).
    spacing_m : float
        Lattice spacing: the feature size of the noise.
    key : int
        Seed-derived key; different keys give independent fields.

    Returns
    -------
    numpy.ndarray
        float32 array of shape ``(len(y), len(x))``.
    """
    gx = np.asarray(x, dtype=np.float64) / spacing_m
    gy = np.asarray(y, dtype=np.float64) / spacing_m
    j0 = np.floor(gx).astype(np.int64)
    i0 = np.floor(gy).astype(np.int64)
    wx = _bspline_weights(gx - j0)
    wy = _bspline_weights(gy - i0)
    # only the lattice nodes some cell uses (all of them when cells are finer than the lattice;
    # a few per cell when they are coarser, e.g. a national grid at 5 km and a 120 m octave)
    steps = np.arange(-1, 3)
    jj = np.unique((j0[:, None] + steps).ravel())
    ii = np.unique((i0[:, None] + steps).ravel())
    nodes = _hash_uniform(ii[:, None], jj[None, :], key)  # (ni, nj)
    # column pass: every lattice row evaluated at every x, fixed order b = 0..3; the four nodes
    # of a cell are consecutive integers, so they sit at consecutive positions of jj
    cols = np.searchsorted(jj, j0 - 1)  # node index of weight 0
    t = nodes[:, cols] * wx[0]
    for b in (1, 2, 3):
        t += nodes[:, cols + b] * wx[b]
    # row pass
    rows = np.searchsorted(ii, i0 - 1)
    out = t[rows, :] * wy[0][:, None]
    for a in (1, 2, 3):
        out += t[rows + a, :] * wy[a][:, None]
    out *= _NOISE_GAIN
    return out


def _ridged(n: np.ndarray) -> np.ndarray:
    """Ridged transform of unit noise: sharp crests, in [0, 1]."""
    r = 1.0 - np.minimum(np.abs(n) * np.float32(0.6), 1.0)
    return r * r


@dataclass(frozen=True)
class City:
    """An urban centre: position (Albers m) and core radius (m)."""

    x: float
    y: float
    radius_m: float


class Terrain:
    """Shanxi-like fields as functions of Albers coordinates.

    Two NNE-trending mountain belts (Luliang in the west, Taihang in the east, with a high
    massif like Wutai Shan in the north-east) frame a chain of basins along the axis (Datong,
    Taiyuan, Linfen, Yuncheng); the loess plateau in the west is deeply dissected.

    Parameters
    ----------
    seed : int
        Master seed.
    centre_xy : tuple of float
        Province centre in Albers metres.
    half_width_m, half_length_m : float
        Half extents across and along the province's NNE axis.
    cities : list of City
        Urban centres (urban land cover grows around them).
    axis_deg : float
        Bearing of the long axis, degrees clockwise from grid north.
    """

    def __init__(
        self,
        seed: int,
        centre_xy: tuple[float, float],
        half_width_m: float,
        half_length_m: float,
        cities: list[City] | None = None,
        axis_deg: float = 20.0,
    ) -> None:
        self.seed = int(seed)
        self.cx, self.cy = (float(v) for v in centre_xy)
        self.hw = float(half_width_m)
        self.hl = float(half_length_m)
        self.cities = list(cities or [])
        a = math.radians(axis_deg)
        self._sa, self._ca = math.sin(a), math.cos(a)
        if self.cities:
            self._cxy = np.array([(c.x, c.y, c.radius_m) for c in self.cities], dtype=np.float64)
        else:
            self._cxy = np.zeros((0, 3))

    #: elevation clip (m)
    dem_min_m = 180.0
    dem_max_m = 3050.0

    def _key(self, k: int) -> int:
        return (self.seed * 1_000_003 + k * 7_919) & 0xFFFFFFFFFFFFFFFF

    def noise(self, x, y, spacing_m: float, k: int) -> np.ndarray:
        """Unit noise octave ``k`` (see :func:`lattice_noise`)."""
        return lattice_noise(x, y, spacing_m, self._key(k))

    def axes(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Across-axis ``u`` (east positive) and along-axis ``v`` (north positive), about -1..1."""
        dx = (np.asarray(x, dtype=np.float64) - self.cx)[None, :]
        dy = (np.asarray(y, dtype=np.float64) - self.cy)[:, None]
        u = (dx * self._ca - dy * self._sa) / self.hw
        v = (dx * self._sa + dy * self._ca) / self.hl
        return u.astype(np.float32), v.astype(np.float32)

    def fields(self, x, y) -> dict[str, np.ndarray]:
        """Elevation (m), land cover (IGBP), GHI (kWh/m2/yr) and wind (m/s) for a window.

        Parameters
        ----------
        x, y : numpy.ndarray
            1-D cell-centre coordinates of the window's columns and rows (metres).

        Returns
        -------
        dict
            ``dem_m`` float32, ``landcover`` uint8, ``ghi_kwh_m2_yr`` float32,
            ``wind_ms`` float32, ``relief`` float32 (0 plains .. 1 mountains).
        """
        base, relief = self._macro(x, y)
        n6 = self.noise(x, y, 6_000, 3)
        n15 = self.noise(x, y, 1_500, 4)
        n4 = self.noise(x, y, 400, 5)
        n1 = self.noise(x, y, 120, 6)
        rough = (
            np.float32(450) * _ridged(n6)
            + np.float32(200) * _ridged(n15)
            + np.float32(60) * n4
            + np.float32(9) * n1
        )
        dem = base + relief * rough + np.float32(22) * n15 * (1 - relief) + np.float32(3) * n1
        dem = np.clip(dem, self.dem_min_m, self.dem_max_m).astype(np.float32)

        lc = self._landcover(x, y, dem, relief)
        north = self._north(x, y)
        n40 = self.noise(x, y, 40_000, 20)
        ghi = (
            np.float32(1360)
            + np.float32(190) * north
            + np.float32(0.06) * (dem - 1000)
            + np.float32(25) * n40
        ).astype(np.float32)
        wind = np.clip(
            np.float32(4.6)
            + np.float32(1.6) * north
            + np.float32(0.0016) * (dem - 1000)
            + np.float32(0.9) * _ridged(n6) * relief
            + np.float32(0.35) * self.noise(x, y, 20_000, 21),
            2.5,
            11.0,
        ).astype(np.float32)
        return {
            "dem_m": dem,
            "landcover": lc,
            "ghi_kwh_m2_yr": np.round(ghi, 1),
            "wind_ms": np.round(wind, 2),
            "relief": relief,
        }

    def _macro(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Large-scale elevation (m) and relief factor (0 plains .. 1 mountains)."""
        u, v = self.axes(x, y)

        def g(d, s):
            return np.exp(-((d / np.float32(s)) ** 2))

        n64 = self.noise(x, y, 64_000, 1)
        n24 = self.noise(x, y, 24_000, 2)
        # mountain belts and the high massif; basins along the axis
        belts = (
            np.float32(1000) * g(u - 0.62 + 0.05 * n24, 0.20)
            + np.float32(850) * g(u + 0.52 + 0.05 * n24, 0.20)
            + np.float32(1100) * g(u - 0.30, 0.16) * g(v - 0.55, 0.14)
            + np.float32(500) * g(u - 0.05, 0.25) * g(v + 0.93, 0.05)  # southern range
        )
        basin = -np.float32(450) * g(u - 0.05 + 0.04 * n24, 0.17) * (0.7 + 0.15 * n64)
        south = -np.float32(350) * np.clip(-v - 0.3, 0, 1)
        base = np.float32(1000) + np.float32(180) * n64 + belts + basin + south
        # relief factor: mountains and the dissected loess plateau in the west
        relief = np.clip(
            belts / np.float32(800) + 0.55 * g(u + 0.9, 0.2) + 0.25 * n24 + 0.15, 0.0, 1.0
        ).astype(np.float32)
        return base, relief

    def _north(self, x, y) -> np.ndarray:
        """Position along the axis, 0 (south end) .. 1 (north end): drives GHI and wind."""
        _, v = self.axes(x, y)
        return (v + 1.0) * 0.5

    def _landcover(self, x, y, dem, relief) -> np.ndarray:
        c = IGBP
        nlc = self.noise(x, y, 2_500, 10)
        nfine = self.noise(x, y, 600, 11)
        lc = np.full(dem.shape, c["cropland"], dtype=np.uint8)
        mosaic = relief + 0.15 * nlc > 0.35
        lc[mosaic] = c["crop_natural_mosaic"]
        natural = relief + 0.15 * nlc > 0.5
        lc[natural & (nlc > 0.3)] = c["grassland"]
        lc[natural & (nlc <= 0.3)] = c["open_shrubland"]
        lc[natural & (nlc < -0.8)] = c["woody_savanna"]
        forest = natural & (dem + 150 * nfine > 1350)
        lc[forest & (nfine > 0.4)] = c["evergreen_needleleaf"]
        lc[forest & (nfine <= 0.4) & (nfine > -0.6)] = c["mixed_forest"]
        lc[forest & (nfine <= -0.6)] = c["deciduous_broadleaf"]
        lc[(dem > 2500) & (nfine > 0.8)] = c["barren"]
        water = (self.noise(x, y, 3_000, 12) > 2.1) & (relief < 0.45)
        lc[water] = c["water"]
        # villages: small patches on farmland
        village = (self.noise(x, y, 350, 13) > 2.25) & (relief < 0.5) & ~water
        lc[village] = c["urban"]
        lc[self._urban(x, y)] = c["urban"]
        return lc

    def _urban(self, x, y) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        out = np.zeros((y.size, x.size), dtype=bool)
        if not len(self._cxy):
            return out
        reach = self._cxy[:, 2] * 1.6
        near = (
            (self._cxy[:, 0] + reach >= x.min())
            & (self._cxy[:, 0] - reach <= x.max())
            & (self._cxy[:, 1] + reach >= y.min())
            & (self._cxy[:, 1] - reach <= y.max())
        )
        if not near.any():
            return out
        edge = self.noise(x, y, 900, 14)
        for cx, cy, r in self._cxy[near]:
            d2 = ((x[None, :] - cx) / r) ** 2 + ((y[:, None] - cy) / r) ** 2
            out |= d2 < (1.0 + 0.22 * edge) ** 2
        return out


# Rough outline of Shanxi (lon, lat), clockwise from the south-west corner at Fenglingdu.
# Hand-drawn from the province's general shape; it is not a survey boundary.
_SHANXI_SKETCH = [
    (110.25, 34.62),
    (110.9, 34.68),
    (111.6, 34.85),
    (112.2, 35.02),
    (112.9, 35.2),
    (113.6, 35.5),
    (114.05, 36.05),
    (113.75, 36.75),
    (113.7, 37.35),
    (113.95, 37.95),
    (114.15, 38.55),
    (114.45, 39.1),
    (114.55, 39.6),
    (114.25, 40.05),
    (114.5, 40.4),
    (114.1, 40.72),
    (113.55, 40.45),
    (112.95, 40.3),
    (112.35, 40.25),
    (111.9, 39.85),
    (111.4, 39.6),
    (111.15, 39.35),
    (111.0, 38.8),
    (110.75, 38.3),
    (110.55, 37.7),
    (110.6, 37.1),
    (110.4, 36.55),
    (110.5, 36.0),
    (110.4, 35.4),
    (110.3, 35.0),
]


def shanxi_like_outline_lonlat(seed: int, target_area_km2: float = 156_700.0):
    """A seeded irregular polygon shaped roughly like Shanxi, in EPSG:4326.

    The sketch above is densified to about 2 km, its vertices displaced by smooth seeded noise
    (a few km), and the result scaled about its centroid (in Albers) to ``target_area_km2``.

    Parameters
    ----------
    seed : int
        Seed for the boundary wiggle.
    target_area_km2 : float
        Area of the returned polygon in the Albers equal-area CRS.

    Returns
    -------
    shapely.Polygon
        Longitude/latitude polygon.
    """
    import shapely
    import shapely.affinity  # not loaded by `import shapely`
    from pyproj import Transformer

    from sxplan.layers.grid import ALBERS_CHINA

    fwd = Transformer.from_crs("EPSG:4326", ALBERS_CHINA, always_xy=True)
    inv = Transformer.from_crs(ALBERS_CHINA, "EPSG:4326", always_xy=True)
    lon, lat = np.array(_SHANXI_SKETCH).T
    x, y = fwd.transform(lon, lat)
    poly = shapely.segmentize(shapely.Polygon(np.column_stack([x, y])), 2_000)
    ring = np.asarray(poly.exterior.coords)[:-1]
    # smooth outward/inward wiggle along the boundary, as a function of arc length
    wiggle = arc_wiggle(ring, seed, ((7, 6_000.0), (19, 3_000.0), (53, 1_200.0), (131, 500.0)))
    centre = np.asarray(poly.centroid.coords[0])
    vec = ring - centre
    dist = np.hypot(*vec.T)
    ring = centre + vec * ((dist + wiggle) / dist)[:, None]
    return largest_scaled_lonlat(ring, tuple(centre), target_area_km2, inv)


def arc_wiggle(ring: np.ndarray, seed: int, terms) -> np.ndarray:
    """Seeded smooth displacement (m) of each vertex of a closed ``ring``: a sum of sines of
    arc length, ``terms`` = ((waves around the ring, amplitude m), ...)."""
    seg = np.hypot(*np.diff(np.vstack([ring, ring[:1]]), axis=0).T)
    s = np.concatenate([[0.0], np.cumsum(seg)[:-1]])
    total = float(seg.sum())
    rng = np.random.default_rng(seed)
    wiggle = np.zeros_like(s)
    for k, amp in terms:
        wiggle += amp * np.sin(2 * np.pi * k * s / total + rng.uniform(0, 2 * np.pi))
    return wiggle


def largest_scaled_lonlat(ring, origin, target_area_km2: float, inv, fill_holes=False):
    """The largest valid polygon of an Albers ``ring``, scaled about ``origin`` (``None``: its
    centroid) to ``target_area_km2`` and returned in lon/lat through ``inv``."""
    import shapely
    import shapely.affinity  # not loaded by `import shapely`

    poly = shapely.make_valid(shapely.Polygon(ring))
    if poly.geom_type != "Polygon":
        poly = max(poly.geoms, key=lambda p: p.area)
    if fill_holes:
        poly = shapely.Polygon(poly.exterior)
    if origin is None:
        origin = poly.centroid.coords[0]
    scale = math.sqrt(target_area_km2 * 1e6 / poly.area)
    poly = shapely.affinity.scale(poly, scale, scale, origin=origin)
    return shapely.transform(poly, lambda xy: np.column_stack(inv.transform(xy[:, 0], xy[:, 1])))
