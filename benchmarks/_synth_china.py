"""A synthetic China-sized area for the national-scale benchmark (issue 17): outline and terrain.

SYNTHETIC. The outline below is our own coarse hand sketch of the general shape of mainland
China (about 120 vertices typed in lon/lat, no islands), drawn for this benchmark only. It is not
a survey or administrative boundary, it is not taken from any boundary dataset or map asset, and
it must not be used as one: its only purpose is a benchmark grid of the right size and a
plausible ratio of land to bounding box. The terrain is likewise a caricature (a high plateau in
the south-west, ranges drawn as smooth ridges along a few polylines, dry north-west, wet
south-east), so that slope, land cover and resource fields vary on national scales.

Every field is a pure function of cell-centre coordinates (Albers metres) and the seed, as in
:mod:`_synth`: a window computed on its own equals the same cells of any larger window.

Inputs: a seed; 1-D arrays of cell-centre x (columns) and y (rows) in metres.
Outputs: the outline (EPSG:4326 polygon) and :class:`ChinaTerrain` fields.
"""

from __future__ import annotations

import numpy as np
from _synth import IGBP, City, Terrain, arc_wiggle, largest_scaled_lonlat

__all__ = ["CHINA_AREA_KM2", "ChinaTerrain", "china_like_outline_lonlat"]

#: Area the outline is scaled to (km2; mainland China is about 9.6 M km2).
CHINA_AREA_KM2 = 9_600_000.0

# Coarse hand sketch (lon, lat), clockwise from the northern tip. Synthetic, see module docstring.
_CHINA_SKETCH = [
    (122.3, 53.4), (125.5, 53.0), (127.5, 50.0), (130.5, 48.9), (133.5, 48.2),
    (134.7, 48.3), (133.1, 45.1), (131.0, 44.9), (131.3, 43.0), (130.4, 42.3),
    (128.0, 41.4), (125.0, 40.1), (122.3, 40.5), (121.2, 39.0), (121.5, 40.6),
    (120.0, 40.2), (118.2, 39.1), (117.7, 38.4), (118.9, 37.4), (120.7, 37.8),
    (122.5, 37.3), (120.5, 36.1), (119.3, 35.0), (120.5, 33.5), (121.0, 32.3),
    (121.9, 31.6), (121.9, 30.8), (121.6, 29.8), (121.1, 28.4), (120.3, 27.2),
    (119.5, 25.9), (118.2, 24.6), (116.6, 23.2), (114.6, 22.6), (113.3, 22.1),
    (111.5, 21.5), (110.3, 20.4), (109.7, 21.5), (108.2, 21.5), (106.8, 22.0),
    (105.5, 23.2), (103.9, 22.6), (102.3, 22.5), (101.7, 21.3), (100.2, 21.5),
    (99.3, 22.1), (99.5, 23.1), (98.6, 24.1), (97.6, 23.9), (98.0, 25.4),
    (98.6, 27.5), (97.4, 28.3), (96.2, 29.3), (94.6, 29.0), (92.5, 27.8),
    (90.5, 28.0), (88.8, 27.4), (87.9, 27.9), (86.0, 28.1), (84.0, 28.6),
    (82.0, 29.8), (81.0, 30.3), (79.2, 31.3), (78.8, 32.6), (79.4, 34.0),
    (78.0, 35.5), (76.2, 35.8), (75.0, 37.2), (73.6, 39.5), (74.2, 40.4),
    (76.5, 40.4), (78.4, 41.3), (80.2, 42.2), (80.3, 43.1), (80.6, 44.8),
    (82.5, 45.4), (83.0, 47.2), (85.5, 47.1), (87.3, 49.1), (89.7, 47.9),
    (90.8, 46.4), (91.0, 45.3), (93.5, 44.9), (95.4, 44.3), (97.0, 42.8),
    (100.8, 42.6), (105.0, 41.6), (107.5, 42.4), (110.5, 42.6), (111.9, 43.7),
    (111.4, 44.4), (113.6, 44.8), (116.7, 46.4), (117.4, 46.6), (119.7, 47.0),
    (118.5, 47.9), (116.0, 47.7), (115.6, 47.9), (117.4, 49.6), (119.2, 50.3),
    (120.8, 52.6),
]  # fmt: skip

# Ranges: (polyline lon/lat, crest height m, half width km). Hand-placed caricatures.
_RANGES = [
    ([(79, 31), (84, 28.8), (88, 28.1), (92, 28.1), (95, 29)], 2_200.0, 90.0),  # Himalaya
    ([(76, 36.5), (84, 36.0), (92, 35.8), (98, 35.2)], 1_000.0, 100.0),  # Kunlun
    ([(75.5, 40.5), (80, 42), (85, 43.3), (90, 43.4), (94, 43)], 2_600.0, 110.0),  # Tianshan
    ([(86.5, 48.5), (89, 47.5), (91, 46)], 1_600.0, 80.0),  # Altai
    ([(94, 39.3), (98, 38.5), (102, 37.3)], 2_300.0, 90.0),  # Qilian
    ([(98, 33), (99, 29), (100, 25.5)], 1_800.0, 150.0),  # Hengduan
    ([(104, 34), (108, 33.8), (112, 33.6)], 1_700.0, 70.0),  # Qinling
    ([(111.5, 35), (113.5, 37), (114, 40)], 1_100.0, 80.0),  # Taihang
    ([(118.5, 43), (120, 47), (122, 51)], 900.0, 120.0),  # Greater Khingan
    ([(125, 41), (128, 42.2)], 1_100.0, 90.0),  # Changbai
    ([(116, 24), (118, 26.5), (120, 29)], 800.0, 180.0),  # south-east hills
    ([(110, 25.2), (114.5, 25)], 900.0, 120.0),  # Nanling
]
# Broad bumps (+) and basins (-): (lon, lat, height m, radius km).
_BUMPS = [
    (104.5, 25.8, 1_300.0, 420.0),  # Yunnan-Guizhou plateau
    (108.0, 37.0, 900.0, 380.0),  # loess plateau
    (113.0, 28.0, 250.0, 450.0),  # southern hills
    (83.0, 39.3, -700.0, 520.0),  # Tarim basin
    (87.0, 45.2, -650.0, 320.0),  # Junggar basin
    (105.6, 30.3, -450.0, 230.0),  # Sichuan basin
]
_PLATEAU = (87.5, 33.3, 1_250.0, 560.0, 4_300.0)  # lon, lat, semi-axes E-W / N-S km, height m


def _to_albers(lonlat):
    from pyproj import Transformer

    from sxplan.layers.grid import ALBERS_CHINA

    fwd = Transformer.from_crs("EPSG:4326", ALBERS_CHINA, always_xy=True)
    lon, lat = np.asarray(lonlat, dtype=np.float64).T
    x, y = fwd.transform(lon, lat)
    return np.column_stack([x, y])


def china_like_outline_lonlat(seed: int, target_area_km2: float = CHINA_AREA_KM2):
    """A seeded synthetic polygon of China's general shape and size, in EPSG:4326.

    The hand sketch above is densified to 10 km, its vertices displaced by a smooth seeded
    wiggle (tens of km), and the result scaled about its centroid (in Albers) to
    ``target_area_km2``.

    Parameters
    ----------
    seed : int
        Seed for the boundary wiggle.
    target_area_km2 : float
        Area of the returned polygon in the Albers equal-area CRS.

    Returns
    -------
    shapely.Polygon
        Longitude/latitude polygon (synthetic; not a boundary).
    """
    import shapely
    import shapely.affinity  # not loaded by `import shapely`
    from pyproj import Transformer

    from sxplan.layers.grid import ALBERS_CHINA

    inv = Transformer.from_crs(ALBERS_CHINA, "EPSG:4326", always_xy=True)
    poly = shapely.segmentize(shapely.Polygon(_to_albers(_CHINA_SKETCH)), 10_000)
    ring = np.asarray(poly.exterior.coords)[:-1]
    wiggle = arc_wiggle(ring, seed, ((31, 18_000.0), (97, 8_000.0), (263, 3_500.0)))
    # displace along the local normal (the ring is not star-shaped about its centroid)
    tangent = np.roll(ring, -1, axis=0) - np.roll(ring, 1, axis=0)
    normal = np.column_stack([tangent[:, 1], -tangent[:, 0]])
    normal /= np.hypot(*normal.T)[:, None]
    ring = ring + normal * wiggle[:, None]
    # no holes from self-touching wiggles; scaled about the wiggled outline's centroid
    return largest_scaled_lonlat(ring, None, target_area_km2, inv, fill_holes=True)


def _segment_distance(x, y, a, b):
    """Distance (m) from cell centres (x columns, y rows) to the segment a-b."""
    d = b - a
    L2 = float(d @ d)
    px = x[None, :] - a[0]
    py = y[:, None] - a[1]
    t = np.clip((px * d[0] + py * d[1]) / L2, 0.0, 1.0)
    return np.hypot(px - t * d[0], py - t * d[1])


def _box_gap(box, pts, gap: float) -> bool:
    """Is the box (xmin, ymin, xmax, ymax) more than ``gap`` from the bounding box of ``pts``?"""
    xmin, ymin = pts.min(axis=0)
    xmax, ymax = pts.max(axis=0)
    return bool(
        box[0] > xmax + gap or box[2] < xmin - gap or box[1] > ymax + gap or box[3] < ymin - gap
    )


class ChinaTerrain(Terrain):
    """National-scale synthetic fields over Albers coordinates (see module docstring).

    Parameters
    ----------
    seed : int
        Master seed.
    cities : list of City
        Urban centres (county and prefecture seats).
    """

    dem_min_m = -150.0
    dem_max_m = 8_000.0

    def __init__(self, seed: int, cities: list[City] | None = None) -> None:
        super().__init__(seed, (0.0, 0.0), 1.0, 1.0, cities=cities)
        self._ranges = [(_to_albers(line), np.float32(h), w * 1e3) for line, h, w in _RANGES]
        self._bumps = [
            (*_to_albers([(lon, lat)])[0], np.float32(h), r * 1e3) for lon, lat, h, r in _BUMPS
        ]
        lon, lat, ax, ay, h = _PLATEAU
        self._plateau = (*_to_albers([(lon, lat)])[0], ax * 1e3, ay * 1e3, np.float32(h))
        self._x_west, self._x_east = _to_albers([(80.0, 35.0), (120.0, 35.0)])[:, 0]
        self._y_mid = float(_to_albers([(105.0, 35.0)])[0, 1])

    def _plateau_share(self, x, y, n):
        px, py, ax, ay, _ = self._plateau
        r = np.sqrt(((x[None, :] - px) / ax) ** 2 + ((y[:, None] - py) / ay) ** 2)
        p = np.clip((1.12 - r + 0.08 * n) / 0.3, 0.0, 1.0).astype(np.float32)
        return p * p * (3 - 2 * p)

    def wetness(self, x, y) -> np.ndarray:
        """0 (desert) .. 1 (humid south-east), smooth over hundreds of km."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        east = (x[None, :] - self._x_west) / (self._x_east - self._x_west)
        south = (self._y_mid - y[:, None]) / 1.5e6
        w = 1.15 * east - 0.25 + 0.35 * south + 0.12 * self.noise(x, y, 300_000, 30)
        return np.clip(w, 0.0, 1.0).astype(np.float32)

    def _macro(self, x, y):
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        n_big = self.noise(x, y, 400_000, 31)
        n64 = self.noise(x, y, 64_000, 1)
        n24 = self.noise(x, y, 24_000, 2)
        plateau = self._plateau_share(x, y, n_big)
        # ridges and bumps are cut to exactly 0 beyond 3 widths (exp(-9) ~ 1e-4), per cell, so
        # a window far from one skips it and stays equal to the same cells of any window
        box = (x.min(), y.min(), x.max(), y.max())
        ranges = np.zeros((y.size, x.size), dtype=np.float32)
        for line, h, w in self._ranges:
            if _box_gap(box, line, 3 * w):
                continue
            d = np.full((y.size, x.size), np.inf)
            for a, b in zip(line[:-1], line[1:], strict=True):
                d = np.minimum(d, _segment_distance(x, y, a, b))
            ridge = np.where(d < 3 * w, np.exp(-((d / w) ** 2)), 0.0)
            ranges += h * ridge.astype(np.float32)
        bumps = np.zeros_like(ranges)
        for bx, by, h, r in self._bumps:
            if _box_gap(box, np.array([[bx, by]]), 3 * r):
                continue
            d2 = ((x[None, :] - bx) / r) ** 2 + ((y[:, None] - by) / r) ** 2
            bumps += h * np.where(d2 < 9.0, np.exp(-d2), 0.0).astype(np.float32)
        west = np.clip((self._x_east - x) / (self._x_east - self._x_west), 0.0, 1.2)
        west = west.astype(np.float32)[None, :]
        base = (
            np.float32(60)
            + np.float32(900) * west
            + plateau * self._plateau[4]
            + ranges * (1 + 0.1 * n24)
            + bumps
            + np.float32(180) * n_big
            + np.float32(90) * n64
        )
        edge = np.float32(4) * plateau * (1 - plateau)
        relief = np.clip(
            ranges / np.float32(900)
            + 0.5 * edge
            + 0.25 * plateau
            + np.maximum(bumps, 0) / np.float32(1500)
            + 0.25 * n24
            + 0.08,
            0.0,
            1.0,
        ).astype(np.float32)
        return base.astype(np.float32), relief

    def _north(self, x, y):
        # drier is sunnier and windier: stands in for Shanxi's south-north gradient
        return np.float32(1) - self.wetness(x, y)

    def _landcover(self, x, y, dem, relief):
        c = IGBP
        lc = super()._landcover(x, y, dem, relief)
        wet = self.wetness(x, y) + np.float32(0.08) * self.noise(x, y, 8_000, 32)
        nfine = self.noise(x, y, 600, 11)
        open_land = lc != c["urban"]
        south_hills = open_land & (wet > 0.62) & (relief > 0.45) & (dem < 2_500)
        lc[south_hills & (nfine > -0.3)] = c["mixed_forest"]
        lc[south_hills & (nfine <= -0.3)] = c["deciduous_broadleaf"]
        steppe = open_land & (wet < 0.42)
        lc[steppe & (lc != c["water"])] = c["grassland"]
        lc[steppe & (wet < 0.3) & (nfine > 0.6)] = c["open_shrubland"]
        desert = open_land & (wet < 0.2) & (relief < 0.75)
        lc[desert] = c["barren"]
        alpine = open_land & (dem > 3_600) & (lc != c["water"])
        lc[alpine] = c["grassland"]
        lc[alpine & ((dem > 5_200) | (nfine > 1.2))] = c["barren"]
        return lc
