"""Reservoirs behind dam walls on a DEM: dam sites on streams, water volume, wall volume.

The terrain part of the pumped-storage search (:mod:`sxplan.siting.pumped_storage`), after the
ANU RE100 atlas method (Lu et al. 2018, Applied Energy 222: 300-312; Stocks et al. 2021, Joule
5: 270-284), written here in numpy:

1. depressions are filled (priority flood with a tiny rise per cell so flats drain; Barnes,
   Lehman, Mulla 2014, Computers & Geosciences 62: 117-127) and every cell drains to its
   steepest-descent neighbour (D8);
2. *dam sites* are stream cells (catchment >= ``min_watershed_km2``) whose elevation band of
   ``contour_interval_m`` differs from the cell they drain to;
3. behind a wall of height ``H`` at a site of (filled) elevation ``z0`` the water fills every
   cell upstream of the site whose filled elevation is below the full supply level
   ``L = z0 + H``; the volume is ``sum(L - z) x cell area`` over those cells (original
   elevations ``z``);
4. the wall stands on every cell next to the water (8 neighbours), not in it, lower than the
   crest ``L + freeboard``; each such cell carries one cell side of wall of height
   ``h = crest - z`` and cross-section ``h (crest_width + batter h)`` (a trapezoid whose two
   faces run ``batter`` metres per metre of rise), so wall volume = ``sum res h (c + b h)``;
5. a site keeps its curves of water and wall volume over the wall heights up to the first
   one whose water or wall touches an excluded cell; a pair later reads off the wall height
   that holds the water its energy class needs (:mod:`sxplan.siting.pumped_storage`).

At the demo's ~1 km cells a "wall" is a 1 km long dam and only valleys several km wide are
seen; sites of real stations (narrow gorges, 300-500 m wide) need a 30 m DEM.

Inputs: elevation array (m), valid mask, excluded mask, cell size (m), settings.
Outputs: :class:`Reservoirs` (one row per kept site, cell indices of water and wall).
"""

from __future__ import annotations

import functools
import heapq
from dataclasses import dataclass

import numpy as np

__all__ = ["Reservoirs", "dam_sites", "drainage", "fill_depressions", "find_reservoirs"]

_OFFSETS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


def fill_depressions(z: np.ndarray, valid: np.ndarray, eps: float = 1e-3) -> np.ndarray:
    """Priority-flood fill: every valid cell gets a path to the edge that never rises.

    Parameters
    ----------
    z : numpy.ndarray
        Elevations, m.
    valid : numpy.ndarray of bool
        Cells with data; the grid edge and cells next to no-data are outlets.
    eps : float
        Rise added per cell across filled flats, m (so they drain).

    Returns
    -------
    numpy.ndarray
        float64 filled elevations (NaN where not valid).
    """
    ny, nx = z.shape
    out = np.where(valid, z.astype("float64"), np.nan)
    done = ~valid.copy()
    heap: list = []
    edge = np.zeros_like(valid)
    edge[0, :] = edge[-1, :] = edge[:, 0] = edge[:, -1] = True
    pad = np.pad(~valid, 1, constant_values=True)
    for dr, dc in _OFFSETS:
        edge |= pad[1 + dr : 1 + dr + ny, 1 + dc : 1 + dc + nx]
    for r, c in zip(*np.nonzero(edge & valid), strict=True):
        heapq.heappush(heap, (out[r, c], int(r), int(c)))
        done[r, c] = True
    while heap:
        h, r, c = heapq.heappop(heap)
        for dr, dc in _OFFSETS:
            rr, cc = r + dr, c + dc
            if 0 <= rr < ny and 0 <= cc < nx and not done[rr, cc]:
                done[rr, cc] = True
                if out[rr, cc] <= h:
                    out[rr, cc] = h + eps
                heapq.heappush(heap, (out[rr, cc], rr, cc))
    return out


def drainage(zf: np.ndarray, res_m: float) -> tuple[np.ndarray, np.ndarray]:
    """D8 receivers and catchment sizes on a filled DEM.

    Returns
    -------
    receiver : numpy.ndarray of int64
        Flat index of the neighbour each cell drains to (steepest drop per metre), -1 at
        outlets and no-data.
    catchment : numpy.ndarray of int64
        Cells draining through each cell, itself included (0 on no-data).
    """
    ny, nx = zf.shape
    best = np.zeros(zf.shape)
    receiver = np.full(zf.shape, -1, dtype="int64")
    pad = np.pad(zf, 1, constant_values=np.nan)
    for dr, dc in _OFFSETS:
        nb = pad[1 + dr : 1 + dr + ny, 1 + dc : 1 + dc + nx]
        drop = (zf - nb) / (res_m * np.hypot(dr, dc))
        better = np.nan_to_num(drop, nan=-1.0) > best
        best[better] = drop[better]
        del nb
        idx = np.flatnonzero(better)  # flat index of each such cell; its neighbour's is offset
        receiver.ravel()[idx] = idx + (dr * nx + dc)
        del drop, better, idx
    del best, pad
    valid = ~np.isnan(zf)
    catchment = valid.astype("int64").ravel()
    rec = receiver.ravel()
    order = np.argsort(np.where(valid, zf, -np.inf).ravel(), kind="stable")[::-1]
    for i in order[: int(valid.sum())]:  # highest first: donors before receivers
        j = rec[i]
        if j >= 0:
            catchment[j] += catchment[i]
    return receiver, catchment.reshape(zf.shape)


def dam_sites(zf, receiver, catchment, cell_km2, cfg) -> np.ndarray:
    """Flat indices of dam sites: stream cells whose contour band differs downstream."""
    rec = receiver.ravel()
    zflat = zf.ravel()
    stream = (catchment.ravel() * cell_km2 >= cfg.min_watershed_km2) & (rec >= 0)
    idx = np.nonzero(stream)[0]
    band = np.floor(zflat[idx] / cfg.contour_interval_m)
    band_down = np.floor(zflat[rec[idx]] / cfg.contour_interval_m)
    return idx[band != band_down]


@dataclass
class Reservoirs:
    """Reservoirs kept, one per dam site: volume and wall curves over the wall heights.

    Attributes
    ----------
    heights_m : numpy.ndarray
        Wall heights tried (ascending), m.
    site : numpy.ndarray
        Flat cell index of each dam site.
    site_elev_m : numpy.ndarray
        Filled elevation of each site, m.
    volume_m3, wall_m3 : numpy.ndarray
        ``(n, len(heights_m))`` water and wall volume behind each wall height; NaN from the
        first height whose water or wall touches an excluded cell on.
    region, region_z : list of numpy.ndarray
        Flat indices and filled elevations of the cells the highest feasible wall floods.
    """

    heights_m: np.ndarray
    site: np.ndarray
    site_elev_m: np.ndarray
    volume_m3: np.ndarray
    wall_m3: np.ndarray
    region: list
    region_z: list

    def __len__(self) -> int:
        return len(self.site)

    def water_cells(self, i: int, wall_height_m: float) -> np.ndarray:
        """Flat indices of the water of reservoir ``i`` behind a wall of that height."""
        return self.region[i][self.region_z[i] < self.site_elev_m[i] + wall_height_m]


def _donors(receiver: np.ndarray):
    rec = receiver.ravel()
    has = np.nonzero(rec >= 0)[0]
    order = has[np.argsort(rec[has], kind="stable")]
    starts = np.searchsorted(rec[order], np.arange(rec.size + 1))
    return order, starts


def _upstream_below(site, level, zflat, donors):
    order, starts = donors
    out, stack = [site], [site]
    while stack:
        i = stack.pop()
        for j in order[starts[i] : starts[i + 1]]:
            if zflat[j] < level:
                out.append(int(j))
                stack.append(int(j))
    return np.asarray(out, dtype="int64")


def _ring(cells, shape, member, edge):
    """Cells next to ``cells`` (8 neighbours, within the grid) that are not ``member``.

    Computed for these cells only (a table of every cell's neighbours would be 64 B a cell);
    ``edge`` marks the grid's outer cells, whose neighbours need bounds checks.
    """
    ny, nx = shape
    nb = (cells[:, None] + _flat_offsets(nx)).ravel()
    if edge[cells].any():
        col = np.repeat(cells % nx, len(_OFFSETS)) + np.tile(_COL_STEP, len(cells))
        nb = nb[(nb >= 0) & (nb < ny * nx) & (col >= 0) & (col < nx)]  # no wrapping round
    nb = nb[~member[nb]]
    return np.unique(nb)


_COL_STEP = np.asarray([dc for _, dc in _OFFSETS], dtype="int64")


def _edge_cells(shape) -> np.ndarray:
    """Flat mask of the grid's first and last rows and columns."""
    edge = np.zeros(shape, dtype=bool)
    edge[0, :] = edge[-1, :] = edge[:, 0] = edge[:, -1] = True
    return edge.ravel()


@functools.lru_cache(maxsize=8)
def _flat_offsets(nx: int) -> np.ndarray:
    return np.asarray([dr * nx + dc for dr, dc in _OFFSETS], dtype="int64")


def find_reservoirs(z, valid, excluded, res_m, cfg) -> Reservoirs:
    """Every dam site's reservoir curve (see the module docstring for the method).

    A site is kept when the water behind its highest feasible wall reaches
    ``min_reservoir_volume_gl`` and its best water-to-rock ratio over the feasible heights
    reaches ``min_reservoir_water_rock`` (the atlas's reservoir screening).

    Parameters
    ----------
    z : numpy.ndarray
        Elevations, m.
    valid : numpy.ndarray of bool
        Cells with an elevation.
    excluded : numpy.ndarray of bool
        Cells no water or wall may touch (exclusion rules, outside the study area).
    res_m : float
        Cell side, m (equal-area grid).
    cfg : PumpedStorageConfig
        Settings.

    Returns
    -------
    Reservoirs
    """
    zf = fill_depressions(z, valid)
    receiver, catchment = drainage(zf, res_m)
    cell_m2 = res_m * res_m
    sites = dam_sites(zf, receiver, catchment, cell_m2 / 1e6, cfg)
    del catchment  # the whole grid is held at once: each array a cell less is 8 B a cell
    donors = _donors(receiver)
    del receiver
    zflat = zf.ravel()
    zorig = np.where(valid, z, np.nan).astype("float64", copy=False).ravel()
    blocked = (excluded | ~valid).ravel()
    heights = np.asarray(sorted(cfg.dam_wall_heights_m), dtype="float64")
    member = np.zeros(zflat.size, dtype=bool)
    edge = _edge_cells(z.shape)
    min_volume = cfg.min_reservoir_volume_gl * 1e6
    keep: list = []
    for s in sites:
        if blocked[s]:
            continue
        z0 = zflat[s]
        region = _upstream_below(int(s), z0 + heights[-1], zflat, donors)
        levels = z0 + heights
        inside = zflat[region][None, :] < levels[:, None]
        volumes = np.sum((levels[:, None] - zorig[region][None, :]) * inside, axis=1) * cell_m2
        walls = np.full(len(heights), np.nan)
        for k, (level, w) in enumerate(zip(levels, inside, strict=True)):
            water = region[w]
            if blocked[water].any():
                break
            member[water] = True
            ring = _ring(water, z.shape, member, edge)
            member[water] = False
            crest = level + cfg.freeboard_m
            wall = ring[zorig[ring] < crest]  # no-data (NaN) is never below the crest
            if blocked[wall].any():
                break
            hw = crest - zorig[wall]
            walls[k] = float(np.sum(res_m * hw * (cfg.crest_width_m + cfg.dam_batter * hw)))
        ok = ~np.isnan(walls)
        if not ok.any():
            continue
        vols = np.where(ok, volumes, np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(walls > 0, vols / walls, np.inf)
        if np.nanmax(vols) < min_volume or np.nanmax(ratio) < cfg.min_reservoir_water_rock:
            continue
        top = levels[np.nonzero(ok)[0][-1]]
        keep_region = region[zflat[region] < top]
        keep.append((int(s), z0, vols, walls, keep_region, zflat[keep_region]))
    n = len(keep)
    return Reservoirs(
        heights_m=heights,
        site=np.asarray([k[0] for k in keep], dtype="int64"),
        site_elev_m=np.asarray([k[1] for k in keep], dtype="float64"),
        volume_m3=np.asarray([k[2] for k in keep]).reshape(n, len(heights)),
        wall_m3=np.asarray([k[3] for k in keep]).reshape(n, len(heights)),
        region=[k[4] for k in keep],
        region_z=[k[5] for k in keep],
    )
