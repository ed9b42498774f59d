"""Pumped-storage reservoir pairs from the DEM: pair, size, rank, write.

:func:`run_pumped_storage` is the stage's one orchestrator:

1. exclusions: every ``siting.exclusions`` rule listing ``pumped_storage`` is evaluated tile by
   tile (the engine of the other technologies, :mod:`sxplan.siting.exclusions`); cells outside
   the counties count as excluded;
2. reservoirs behind dam walls at stream dam sites (:mod:`sxplan.siting._pumped_reservoirs`);
3. pairs (:func:`pair_reservoirs`): every two reservoirs within ``max_distance_km`` whose
   dam-site elevations differ by ``min_head_m``-``max_head_m`` (head = upper minus lower site
   elevation, as the atlas pairs pour points), distance / head <= ``max_distance_to_head``,
   sized to the largest energy class both can hold (``E = rho g head V eta``, usable water
   ``V``; walls read off each reservoir's curves) with pair water-to-rock
   ``V / usable_share / (wall_upper + wall_lower) >= min_pair_water_rock`` (the atlas's
   ``wr_u wr_l / (wr_u + wr_l)``); power = E / cycle hours;
4. ranking by the cost proxy ``rock_m3_per_mwh`` (dam wall volume per MWh stored, lower is
   cheaper), then the best pairs whose waters share no cell are kept (``max_pairs``);
5. ``siting/pumped_storage.csv`` and ``siting/pumped_storage.gpkg`` (layers ``ps_upper``,
   ``ps_lower``, ``ps_tunnel``), EPSG:4326.

Method: Stocks, Stocks, Lu, Cheng, Blakers (2021), "Global Atlas of Closed-Loop Pumped Hydro
Energy Storage", Joule 5(1): 270-284; Lu et al. (2018), Applied Energy 222: 300-312. The code
is this project's own. The search holds its whole grid (about 110 bytes a cell: 28 MB at the
demo's 1 km); a fine project grid is searched on a coarser one (``resolution_m``,
:mod:`sxplan.siting._pumped_grid`), and one over the budget is refused before it starts.

Inputs: grid, aligned rasters, vectors, counties, ``siting:`` and ``pumped_storage:`` settings.
Outputs: the files above and a :class:`PumpedStorageResult`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sxplan.errors import ConfigError

from ._pumped_grid import check_search_fits, search_inputs
from ._pumped_reservoirs import Reservoirs, find_reservoirs

__all__ = ["PumpedStorageResult", "pair_reservoirs", "run_pumped_storage", "storage_gwh"]

_J_PER_GWH = 3.6e12


def storage_gwh(head_m, volume_m3, cfg):
    """Stored energy, GWh: ``rho g h V eta / 3.6e12``.

    Examples
    --------
    >>> from sxplan.siting.pumped_config import PumpedStorageConfig
    >>> round(float(storage_gwh(500.0, 1e6, PumpedStorageConfig())), 4)  # 1 GL over 500 m
    1.225
    """
    rho, g, eta = cfg.water_density_kg_m3, cfg.gravity_m_s2, cfg.generation_efficiency
    return rho * g * np.asarray(head_m) * np.asarray(volume_m3) * eta / _J_PER_GWH


@dataclass
class PumpedStorageResult:
    """What :func:`run_pumped_storage` found.

    Attributes
    ----------
    pairs : pandas.DataFrame
        The kept pairs (the CSV's rows).
    n_reservoirs, n_candidate_pairs : int
        Reservoirs found and pairs meeting every criterion before overlap removal.
    outputs : dict
        Written files by key.
    timings : dict
        Seconds per step.
    """

    pairs: pd.DataFrame
    n_reservoirs: int
    n_candidate_pairs: int
    outputs: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)

    def summary_lines(self, top: int = 5) -> list[str]:
        """Console summary: counts, totals and the best pairs."""
        p = self.pairs
        lines = [
            f"Pumped storage 抽水蓄能: {self.n_reservoirs:,} reservoirs, "
            f"{self.n_candidate_pairs:,} pairs meet the criteria, {len(p)} kept (no shared "
            f"cells): {p['energy_gwh'].sum():,.0f} GWh, {p['power_mw'].sum():,.0f} MW",
        ]
        if len(p):
            lines.append(
                "  (where the relief allows storage on this DEM, not station designs: a coarse "
                "DEM finds only wide valleys and oversizes pairs; see siting/README.md)"
            )
            lines.append("  pair    county    head m  km    GWh    dam Mm3  m3/MWh")
            for r in p.head(top).itertuples():
                lines.append(
                    f"  {r.pair_id}  {r.county:<8}  {r.head_m:5.0f}  {r.distance_km:4.1f}  "
                    f"{r.energy_gwh:5.1f}  {r.dam_volume_mm3:7.2f}  {r.rock_m3_per_mwh:6.0f}"
                )
        return lines


def _wall_for(res: Reservoirs, r: int, volume_m3: float):
    """Wall height and wall volume holding ``volume_m3`` at reservoir ``r`` (or None)."""
    ok = ~np.isnan(res.wall_m3[r])
    vols, walls, heights = res.volume_m3[r][ok], res.wall_m3[r][ok], res.heights_m[ok]
    if volume_m3 > vols[-1]:
        return None
    if volume_m3 <= vols[0]:  # the lowest wall already holds it (the atlas's first height)
        return float(heights[0]), float(walls[0])
    h = float(np.interp(volume_m3, vols, heights))
    return h, float(np.interp(h, heights, walls))


_PAIR_COLUMNS = [
    "upper", "lower", "energy_gwh", "head_m", "distance_km", "distance_to_head",
    "usable_volume_gl", "volume_gl", "upper_wall_height_m", "lower_wall_height_m",
    "dam_volume_mm3", "water_rock", "rock_m3_per_mwh",
]  # fmt: skip


def pair_reservoirs(res: Reservoirs, xy: np.ndarray, cfg) -> pd.DataFrame:
    """Every pair meeting head, distance, slope and water-to-rock criteria, cheapest first.

    Each pair is sized as the atlas sizes its sites: for an energy class ``E`` the usable
    water is ``V = E / (rho g head eta)``, each reservoir holds ``V / usable_share`` behind the
    wall height read off its volume curve (linear between the heights tried), and the wall
    volume is read off its wall curve at that height. A pair takes the largest class of
    ``energy_classes_gwh`` both reservoirs can hold with pair water-to-rock
    ``V / (wall_upper + wall_lower) >= min_pair_water_rock``.

    Parameters
    ----------
    res : Reservoirs
        Reservoirs, one per dam site.
    xy : numpy.ndarray
        ``(n, 2)`` dam-site coordinates, m (equal-area CRS).
    cfg : PumpedStorageConfig
        Settings.

    Returns
    -------
    pandas.DataFrame
        Columns of ``_PAIR_COLUMNS``, sorted by ``rock_m3_per_mwh`` then head (descending).
    """
    from scipy.spatial import cKDTree

    if len(res) < 2:
        return pd.DataFrame(columns=_PAIR_COLUMNS)
    ij = cKDTree(xy).query_pairs(cfg.max_distance_km * 1000.0, output_type="ndarray")
    if len(ij) == 0:
        return pd.DataFrame(columns=_PAIR_COLUMNS)
    i, j = ij[:, 0], ij[:, 1]
    up = np.where(res.site_elev_m[i] >= res.site_elev_m[j], i, j)
    lo = np.where(up == i, j, i)
    head = res.site_elev_m[up] - res.site_elev_m[lo]
    dist = np.hypot(*(xy[up] - xy[lo]).T)
    with np.errstate(divide="ignore", invalid="ignore"):
        d_to_h = dist / head
    keep = (head >= cfg.min_head_m) & (head <= cfg.max_head_m)
    keep &= d_to_h <= cfg.max_distance_to_head
    rows = []
    classes = sorted(cfg.energy_classes_gwh, reverse=True)
    for u, lw, h, d, r in zip(up[keep], lo[keep], head[keep], dist[keep], d_to_h[keep],
                              strict=True):  # fmt: skip
        for e in classes:
            usable = e / float(storage_gwh(h, 1.0, cfg))  # m3 of usable water
            volume = usable / cfg.usable_share
            wu, wl = _wall_for(res, u, volume), _wall_for(res, lw, volume)
            if wu is None or wl is None:
                continue
            rock = wu[1] + wl[1]
            ratio = volume / rock if rock > 0 else np.inf
            if ratio < cfg.min_pair_water_rock:
                continue
            rows.append((int(u), int(lw), e, h, d / 1000.0, r, usable / 1e6, volume / 1e6,
                         wu[0], wl[0], rock / 1e6, ratio, rock / (e * 1000.0)))  # fmt: skip
            break
    df = pd.DataFrame(rows, columns=_PAIR_COLUMNS)
    return df.sort_values(["rock_m3_per_mwh", "head_m"], ascending=[True, False], kind="stable")


def _non_overlapping(pairs: pd.DataFrame, res: Reservoirs, n_max: int) -> pd.DataFrame:
    """Best pairs, in order, whose waters share no cell with each other or a kept pair."""
    used: set[int] = set()
    kept = []
    for pos, p in enumerate(pairs.itertuples()):
        a = set(res.water_cells(p.upper, p.upper_wall_height_m).tolist())
        b = set(res.water_cells(p.lower, p.lower_wall_height_m).tolist())
        if a & b or (a | b) & used:
            continue
        used |= a | b
        kept.append(pos)
        if len(kept) >= n_max:
            break
    return pairs.iloc[kept].reset_index(drop=True)


def run_pumped_storage(grid, rasters, vectors, counties, siting_cfg, cfg, out_dir, *, budget):
    """Find, pair, rank and write pumped-storage reservoir pairs.

    Parameters
    ----------
    grid : GridSpec
        The run's equal-area grid.
    rasters, vectors : mapping
        Aligned rasters and vector layers by name (``cfg.dem_layer`` among the rasters).
    counties : geopandas.GeoDataFrame
        Validated counties (the study area; pairs get the upper site's county).
    siting_cfg : SitingConfig or None
        Holds the exclusion rules (those listing ``pumped_storage`` apply).
    cfg : PumpedStorageConfig
        Settings.
    out_dir : pathlib.Path
        The run's ``siting/`` folder.
    budget : sxplan.layers.budget.Budget
        Memory budget: windowed exclusions, and the search grid must fit its tile share.

    Returns
    -------
    PumpedStorageResult

    Raises
    ------
    MemoryBudgetError
        The search grid does not fit the budget (the message gives the ``resolution_m`` that
        does), before anything is read.
    """
    from ._pumped_output import pair_table, write_outputs

    if cfg.dem_layer not in rasters:
        raise ConfigError(
            f"pumped_storage.dem_layer: no raster layer named '{cfg.dem_layer}' (the run has "
            f"{sorted(rasters)}); declare the DEM under `layers:` or set `dem_layer:`"
        )
    check_search_fits(grid, cfg, budget)
    timings: dict = {}
    t0 = time.perf_counter()
    grid, z, valid, excluded = search_inputs(
        grid, rasters, vectors, counties, siting_cfg, cfg, budget
    )  # from here on, the search grid (the project grid unless `resolution_m` is set)
    timings["exclusions"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    res = find_reservoirs(z, valid, excluded, grid.res, cfg)
    del z, valid, excluded
    timings["reservoirs"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    rows, cols = np.divmod(res.site, grid.width)
    t = grid.transform
    xy = np.column_stack([t.c + (cols + 0.5) * t.a, t.f + (rows + 0.5) * t.e])
    candidates = pair_reservoirs(res, xy, cfg)
    best = _non_overlapping(candidates, res, cfg.max_pairs)
    table, layers = pair_table(best, res, xy, grid, counties, vectors, cfg)
    timings["pairs"] = round(time.perf_counter() - t0, 3)
    outputs = write_outputs(table, layers, Path(out_dir))
    return PumpedStorageResult(table, len(res), len(candidates), outputs, timings)
