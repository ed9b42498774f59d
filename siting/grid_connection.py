"""Grid connection per parcel: nearest suitable substation, least-cost distance, spare capacity.

A parcel needs the voltage class its capacity calls for
(:meth:`~sxplan.siting.economics_config.EconomicsConfig.voltage_for`); a substation at that
voltage or above is suitable. Distances are either straight lines or least-cost paths over a
friction surface (km of line x friction, friction 1 = flat open land), searched with
:func:`scipy.sparse.csgraph.dijkstra` on the 8-neighbour graph of the cells (edge cost: step
length x mean friction of its two cells). Each substation's search stops at
``max_connection_km``.

Spare capacity, when given, is used greedily: parcels are taken in supply-curve order and each
takes the nearest suitable substation that still has room for its whole capacity, so a parcel
moves to the next substation when the nearest is full.

Inputs: parcel points and substation points in the grid CRS (metres), capacities, a friction
array on a grid. Outputs: per parcel the substation index, distance and connection capex.

Memory: the least-cost search holds the friction grid and its graph (about 150 bytes per
cell) at ``least_cost_cell_m``; :func:`friction_surface` aggregates finer grids to that size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sxplan.errors import ConfigError

__all__ = [
    "Connection",
    "assign_substations",
    "cost_distance_matrix",
    "friction_surface",
    "straight_distance_matrix",
]

#: Parcel without a suitable substation within reach.
NO_SUBSTATION = -1


def friction_surface(slope_pct, landcover_common, config, valid=None) -> np.ndarray:
    """Friction per cell: ``landcover multiplier x (1 + slope_factor x slope %)``.

    Parameters
    ----------
    slope_pct : numpy.ndarray or None
        Slope in %, NaN where unknown (counted as flat).
    landcover_common : numpy.ndarray or None
        Common land-cover class codes (:data:`sxplan.layers.landcover.COMMON_CLASSES`, 0 = no
        data, counted 1).
    config : FrictionConfig
    valid : numpy.ndarray of bool, optional
        Cells the path may cross; others get NaN (impassable).

    Returns
    -------
    numpy.ndarray
        float64 friction >= the smallest multiplier.

    Examples
    --------
    >>> from sxplan.siting.economics_config import FrictionConfig
    >>> f = friction_surface(np.array([[0.0, 50.0]]), np.array([[1, 3]]), FrictionConfig())
    >>> f.tolist()  # forest x 1; grass x (1 + 0.02 x 50)
    [[1.5, 2.0]]
    """
    from sxplan.layers.landcover import COMMON_CLASSES

    shape = (slope_pct if slope_pct is not None else landcover_common).shape
    out = np.ones(shape, dtype="float64")
    if landcover_common is not None:
        lut = np.ones(256, dtype="float64")
        for name, mult in config.landcover.items():
            lut[COMMON_CLASSES[name]] = mult
        out *= lut[np.asarray(landcover_common, dtype="uint8")]
    if slope_pct is not None:
        s = np.nan_to_num(np.asarray(slope_pct, dtype="float64"), nan=0.0)
        out *= 1.0 + config.slope_factor_per_pct * np.clip(s, 0, None)
    if valid is not None:
        out = np.where(valid, out, np.nan)
    return out


def _graph(friction: np.ndarray, cell_km: float):
    """Undirected 8-neighbour graph of the passable cells, edge = step km x mean friction."""
    from scipy.sparse import coo_matrix

    rows, cols = friction.shape
    idx = np.arange(rows * cols).reshape(rows, cols)
    ii, jj, ww = [], [], []
    for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
        step = cell_km * (np.sqrt(2.0) if dr and dc else 1.0)
        r0, r1 = 0, rows - dr
        c0, c1 = max(0, -dc), cols - max(0, dc)
        a = friction[r0:r1, c0:c1]
        b = friction[r0 + dr : r1 + dr, c0 + dc : c1 + dc]
        w = 0.5 * (a + b) * step
        ok = np.isfinite(w)
        ii.append(idx[r0:r1, c0:c1][ok])
        jj.append(idx[r0 + dr : r1 + dr, c0 + dc : c1 + dc][ok])
        ww.append(w[ok])
    i, j, w = np.concatenate(ii), np.concatenate(jj), np.concatenate(ww)
    n = rows * cols
    return coo_matrix((w, (i, j)), shape=(n, n)).tocsr()


def cost_distance_matrix(
    friction: np.ndarray,
    cell_km: float,
    source_cells: np.ndarray,
    target_cells: np.ndarray,
    *,
    limit_km: float = np.inf,
    batch: int = 8,
) -> np.ndarray:
    """Least-cost distance (friction-weighted km) from each source cell to each target cell.

    Parameters
    ----------
    friction : numpy.ndarray
        2-D friction, NaN = impassable.
    cell_km : float
        Cell side, km.
    source_cells, target_cells : numpy.ndarray
        ``(n, 2)`` integer (row, col) pairs: substations and parcels.
    limit_km : float
        Searches stop at this cost; farther targets get ``inf``.
    batch : int
        Sources searched at once (memory: batch x cells x 8 bytes).

    Returns
    -------
    numpy.ndarray
        ``(n_targets, n_sources)`` float64, ``inf`` where unreachable.

    Examples
    --------
    >>> f = np.ones((1, 4))
    >>> cost_distance_matrix(f, 1.0, np.array([[0, 0]]), np.array([[0, 3]])).tolist()
    [[3.0]]
    """
    from scipy.sparse.csgraph import dijkstra

    rows, cols = friction.shape
    src = np.asarray(source_cells, dtype="int64").reshape(-1, 2)
    tgt = np.asarray(target_cells, dtype="int64").reshape(-1, 2)
    for what, cells in (("substation", src), ("parcel", tgt)):
        out = (cells[:, 0] < 0) | (cells[:, 0] >= rows) | (cells[:, 1] < 0) | (cells[:, 1] >= cols)
        if out.any():
            raise ConfigError(
                f"{int(out.sum())} {what} point(s) lie outside the least-cost grid "
                f"({rows} x {cols} cells); clip the {what} layer to the study area"
            )
    result = np.full((len(tgt), len(src)), np.inf)
    if not len(src) or not len(tgt):
        return result
    # a point on an impassable cell can still start or end a path: give its cell friction 1
    f = friction.copy()
    for cells in (src, tgt):
        cell_f = f[cells[:, 0], cells[:, 1]]
        f[cells[:, 0], cells[:, 1]] = np.where(np.isfinite(cell_f), cell_f, 1.0)
    graph = _graph(f, cell_km)
    src_idx = src[:, 0] * cols + src[:, 1]
    tgt_idx = tgt[:, 0] * cols + tgt[:, 1]
    for k in range(0, len(src_idx), batch):
        d = dijkstra(graph, directed=False, indices=src_idx[k : k + batch], limit=limit_km)
        result[:, k : k + batch] = d[:, tgt_idx].T
    return result


def straight_distance_matrix(source_xy: np.ndarray, target_xy: np.ndarray) -> np.ndarray:
    """Straight-line distance in km, ``(n_targets, n_sources)``, from metre coordinates."""
    s = np.asarray(source_xy, dtype="float64").reshape(-1, 2)
    t = np.asarray(target_xy, dtype="float64").reshape(-1, 2)
    return np.hypot(t[:, None, 0] - s[None, :, 0], t[:, None, 1] - s[None, :, 1]) / 1000.0


@dataclass(frozen=True)
class Connection:
    """Per-parcel result of :func:`assign_substations` (arrays in the parcels' order)."""

    substation: np.ndarray  # index into the substations, NO_SUBSTATION when none
    distance_km: np.ndarray  # distance used for the cost (NaN when none)
    voltage_kv: np.ndarray  # voltage class of the connection
    capex_cny: np.ndarray  # line + substation capex (NaN when none)
    spare_left_mw: np.ndarray  # spare capacity left at each substation after assignment


def assign_substations(
    distance_km: np.ndarray,
    capacity_mw: np.ndarray,
    order: np.ndarray,
    substation_kv: np.ndarray,
    spare_mw: np.ndarray,
    economics,
    *,
    max_km: float = np.inf,
) -> Connection:
    """Connect each parcel to the nearest suitable substation with room, in ``order``.

    Parameters
    ----------
    distance_km : numpy.ndarray
        ``(n_parcels, n_substations)`` distances (``inf`` = unreachable).
    capacity_mw : numpy.ndarray
        Parcel capacities, MW.
    order : numpy.ndarray
        Parcel indices in supply-curve order (cheapest first); earlier parcels take spare
        capacity first.
    substation_kv : numpy.ndarray
        Substation voltages, kV.
    spare_mw : numpy.ndarray
        Spare capacity per substation, MW; NaN = unlimited.
    economics : EconomicsConfig
        Voltage classes and their costs.
    max_km : float
        Farther substations are out of reach.

    Returns
    -------
    Connection
    """
    n_p = len(capacity_mw)
    dist = np.asarray(distance_km, dtype="float64").reshape(n_p, len(substation_kv))
    cap = np.asarray(capacity_mw, dtype="float64")
    kv = np.asarray(substation_kv, dtype="float64")
    spare = np.asarray(spare_mw, dtype="float64").copy()
    sub = np.full(n_p, NO_SUBSTATION, dtype="int64")
    used = np.full(n_p, np.nan)
    volt = np.full(n_p, np.nan)
    capex = np.full(n_p, np.nan)
    for p in np.asarray(order, dtype="int64"):
        cls = economics.voltage_for(cap[p])
        volt[p] = cls.voltage_kv
        room = np.isnan(spare) | (spare >= cap[p])
        d = np.where((kv >= cls.voltage_kv) & room & (dist[p] <= max_km), dist[p], np.inf)
        if not len(d) or not np.isfinite(d.min()):
            continue
        s = int(np.argmin(d))  # ties: the first substation in the layer's order
        sub[p], used[p] = s, d[s]
        if not np.isnan(spare[s]):
            spare[s] -= cap[p]
        capex[p] = (
            d[s] * cls.line_cost_cny_per_km + cap[p] * 1000.0 * cls.substation_cost_cny_per_kw
        )
    return Connection(sub, used, volt, capex, spare)
