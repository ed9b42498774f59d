"""Grid connection and LCOE of every parcel, the supply curves, and the connections for maps.

:func:`add_economics` is the one place the order is written:

1. substations from the ``substations_layer`` (points; voltage and optional spare capacity);
2. distances from every parcel (its inside point) to every substation: least-cost over the
   friction of slope and land cover (:mod:`sxplan.siting.grid_connection`) or straight;
3. a first connection without spare-capacity limits gives each parcel's provisional LCOE:
   the supply-curve order in which parcels of all technologies then claim spare capacity;
4. final connection, connection capex and LCOE (base case and the sensitivity cases);
5. the supply curves (:mod:`sxplan.siting.supply_curve`).

Inputs: per-technology parcel tables (EPSG:4326, ``lon``/``lat``, ``capacity_mw``,
``energy_gwh_per_yr``), the siting inputs (grid, layers, config ``siting.economics``).
Outputs: economics columns added to the parcel tables (schema ``ECONOMICS_COLUMNS``), the
supply-curve table and the connections/substations layers
(``siting/supply_curves.csv``, ``siting/grid_connections.gpkg``).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from sxplan.errors import ConfigError

from .grid_connection import (
    NO_SUBSTATION,
    assign_substations,
    cost_distance_matrix,
    friction_surface,
    straight_distance_matrix,
)
from .lcoe import capacity_factor, lcoe_cny_per_kwh
from .supply_curve import CASES, supply_curves

__all__ = ["EconomicsResult", "add_economics", "case_settings", "load_substations"]

#: Full-resolution cells read at once for the friction surface (memory: about 40 bytes each).
FRICTION_STRIP_CELLS = 4_000_000
#: Largest least-cost grid (cells); beyond it the search needs too much memory for one array.
MAX_LEAST_COST_CELLS = 20_000_000


@dataclass
class EconomicsResult:
    """What :func:`add_economics` produced.

    Attributes
    ----------
    curves : pandas.DataFrame
        Rows of ``supply_curves.csv``.
    connections : geopandas.GeoDataFrame
        One line per connected parcel, parcel point to substation, EPSG:4326.
    substations : geopandas.GeoDataFrame
        The substations with spare capacity left, EPSG:4326.
    timings : dict
        Seconds per step.
    """

    curves: pd.DataFrame
    connections: gpd.GeoDataFrame
    substations: gpd.GeoDataFrame
    timings: dict


def load_substations(vectors, econ, where: str = "siting.economics") -> gpd.GeoDataFrame:
    """The substations as points with ``voltage_kv``, ``spare_mw`` (NaN = unlimited), ``name``."""
    name = econ.substations_layer
    if name not in vectors:
        raise ConfigError(
            f"{where}.substations_layer: layer {name!r} is not among the vector layers "
            f"{sorted(vectors)}; add it under `layers:` (type: vector) or remove `economics:`"
        )
    gdf = vectors[name]
    if econ.voltage_field not in gdf.columns:
        raise ConfigError(
            f"{where}: substations layer {name!r} has no field {econ.voltage_field!r} "
            f"(voltage in kV); fields are {sorted(c for c in gdf.columns if c != 'geometry')}; "
            "set voltage_field"
        )
    kv = pd.to_numeric(gdf[econ.voltage_field], errors="coerce").to_numpy(dtype="float64")
    if np.isnan(kv).any() or (kv <= 0).any():
        raise ConfigError(
            f"{where}: substations layer {name!r} field {econ.voltage_field!r} must hold a "
            "positive voltage in kV on every row"
        )
    if len(gdf) and not gdf.geometry.geom_type.isin(["Point"]).all():
        raise ConfigError(f"{where}: substations layer {name!r} must hold points only")
    spare = np.full(len(gdf), np.nan)
    field = econ.spare_capacity_field
    if field and field in gdf.columns:
        spare = pd.to_numeric(gdf[field], errors="coerce").to_numpy(dtype="float64")
        if (spare[~np.isnan(spare)] < 0).any():
            raise ConfigError(f"{where}: substations field {field!r} has negative values")
    names = (
        gdf[econ.name_field].astype(str).to_numpy()
        if econ.name_field and econ.name_field in gdf.columns
        else np.array([f"S{i + 1}" for i in range(len(gdf))])
    )
    out = gpd.GeoDataFrame(
        {"name": names, "voltage_kv": kv, "spare_mw": spare},
        geometry=gdf.geometry.to_numpy(),
        crs=gdf.crs,
    )
    return out.reset_index(drop=True)


def case_settings(econ) -> dict[str, tuple[float, float]]:
    """(discount rate, capex factor) of every cost case of :data:`CASES`."""
    s = econ.sensitivity
    r = econ.discount_rate
    return {
        "base": (r, 1.0),
        "discount_low": (s.discount_rate_low, 1.0),
        "discount_high": (s.discount_rate_high, 1.0),
        "capex_low": (r, s.capex_factor_low),
        "capex_high": (r, s.capex_factor_high),
    }


# The siting step and the roadside step of one run both connect to the same substations over
# the same friction: the surface is read once per process and kept while its inputs are the
# same files (path, size, modification time) on the same grid with the same settings.
_FRICTION_CACHE: dict = {}


def _file_key(layer):
    if layer is None:
        return None
    path = getattr(getattr(layer, "dem", None), "path", None) or layer.path  # derived slope
    try:
        st = os.stat(path)
    except OSError:
        return None  # not a plain file: not cached
    return (type(layer).__name__, os.fspath(path), st.st_size, st.st_mtime_ns, layer.scheme)


def _friction(inputs, econ):
    """Friction on the least-cost grid, its cell size in km and the aggregation factor.

    Computed once per process for the same grid, files and settings (see ``_FRICTION_CACHE``).
    """
    cfg, rasters = inputs.config, inputs.layers.rasters
    files = [_file_key(rasters.get(cfg.slope_layer)), _file_key(rasters.get(cfg.landcover_layer))]
    key = None
    if all(
        f is not None or n not in rasters
        for f, n in zip(files, (cfg.slope_layer, cfg.landcover_layer), strict=True)
    ):
        g = inputs.grid
        key = (tuple(g.transform), g.shape, str(g.crs), *files, econ.friction.model_dump_json())
        if key in _FRICTION_CACHE:
            return _FRICTION_CACHE[key]
    result = _read_friction(inputs, econ)
    result[0].setflags(write=False)  # shared: nobody may change it in place
    if key is not None:
        _FRICTION_CACHE.clear()  # one surface at a time: a few MB at the least-cost cell size
        _FRICTION_CACHE[key] = result
    return result


def _read_friction(inputs, econ):
    from rasterio.windows import Window

    from sxplan.layers.landcover import common_lookup

    grid, cfg = inputs.grid, inputs.config
    res = float(grid.res)
    k = max(1, int(round(econ.friction.least_cost_cell_m / res)))
    h, w = grid.shape
    hk, wk = math.ceil(h / k), math.ceil(w / k)
    if hk * wk > MAX_LEAST_COST_CELLS:
        raise ConfigError(
            f"siting.economics: the least-cost search would need {hk * wk:,} cells; set "
            "friction.least_cost_cell_m larger or `distance: straight`"
        )
    rasters = inputs.layers.rasters
    slope_layer = rasters.get(cfg.slope_layer)
    lc_layer = rasters.get(cfg.landcover_layer)
    lut = common_lookup(lc_layer.scheme) if lc_layer is not None and lc_layer.scheme else None
    if slope_layer is None and lut is None:
        return np.ones((hk, wk)), res * k / 1000.0, k
    # read in strips of whole blocks, never the full-resolution grids at once; the strips go
    # through run_tiles, so as many at a time as the scheduler computes tiles (Budget.workers:
    # one under "sync"), each that much shorter (the same memory): the step's other work has
    # ended by now, and one thread took 10.3 s at 30 m (the demo, s36)
    from sxplan.layers.budget import Budget
    from sxplan.layers.open_datasets import keep_datasets_open
    from sxplan.layers.windows import Tile, run_tiles

    strip = k * max(1, FRICTION_STRIP_CELLS // Budget.workers() // (k * w))
    windows = [Window(0, r0, w, min(strip, h - r0)) for r0 in range(0, h, strip)]
    strips = [Tile(win, win, 0) for win in windows]
    f = np.empty((hk, wk))

    def block_means(tile: Tile) -> np.ndarray:
        win = tile.window
        slope = lc = None
        if slope_layer is not None:
            data, valid = slope_layer.read_valid(win)
            slope = np.where(valid, data.astype("float64"), np.nan)
        if lut is not None:
            data, valid = lc_layer.read_valid(win)
            safe = np.clip(data.astype("int64"), 0, lut.size - 1)
            lc = np.where(valid, lut[safe], 0).astype("uint8")
        fs = friction_surface(slope, lc, econ.friction)
        rows = math.ceil(fs.shape[0] / k)
        pad = np.full((rows * k, wk * k), np.nan)  # block mean over k x k cells
        pad[: fs.shape[0], :w] = fs
        with np.errstate(invalid="ignore"):
            return np.nanmean(pad.reshape(rows, k, wk, k), axis=(1, 3))

    def write(tile: Tile, means: np.ndarray) -> None:
        i = tile.window.row_off // k
        f[i : i + means.shape[0]] = means

    # the strips (k rows each) do not follow the files' 256-row blocks, so a block row is read
    # by two or three strips: kept open, the files' decoded blocks serve them all (30 m demo's
    # layers: 7.0-9.0 -> 4.1-5.1 s, CPU 12.7-13.1 -> 7.9-9.3 s, the same array; s37)
    with keep_datasets_open():
        run_tiles(strips, block_means, write)
    return f, res * k / 1000.0, k


def _cells(xy: np.ndarray, grid, k: int) -> np.ndarray:
    inv = ~grid.transform
    col, row = inv * (xy[:, 0], xy[:, 1])
    return np.column_stack([np.floor(row).astype("int64") // k, np.floor(col).astype("int64") // k])


def add_economics(tables: dict[str, gpd.GeoDataFrame], inputs, bases=None, log=None):
    """Add connection and LCOE columns to the parcel tables; build the supply curves.

    Parameters
    ----------
    tables : dict of str to geopandas.GeoDataFrame
        Parcel tables by technology (modified in place: economics columns added). Technologies
        without costs in ``siting.economics`` are left as they are.
    inputs : sxplan.siting._run_inputs.SitingInputs
        Grid, layers and config (``config.economics`` must be set).
    bases : BasesTable, optional
        For the bases' Chinese names in the curves.

    Returns
    -------
    EconomicsResult
    """
    import time

    econ = inputs.config.economics
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    subs = load_substations(inputs.layers.vectors, econ)
    techs = [t for t in tables if econ.costs(t) is not None]
    parts = [tables[t].assign(_tech=t, _row=np.arange(len(tables[t]))) for t in techs]
    allp = pd.concat(
        [p.drop(columns="geometry", errors="ignore") for p in parts], ignore_index=True
    )
    pts = gpd.GeoSeries(gpd.points_from_xy(allp["lon"], allp["lat"]), crs="EPSG:4326")
    pxy = shapely.get_coordinates(pts.to_crs(inputs.grid.pyproj_crs).to_numpy())
    sxy = shapely.get_coordinates(subs.geometry.to_crs(inputs.grid.pyproj_crs).to_numpy())
    straight = straight_distance_matrix(sxy, pxy)
    if econ.distance == "least_cost" and len(pxy) and len(sxy):
        friction, cell_km, k = _friction(inputs, econ)
        try:
            dist = cost_distance_matrix(
                friction,
                cell_km,
                _cells(sxy, inputs.grid, k),
                _cells(pxy, inputs.grid, k),
                limit_km=econ.max_connection_km,
            )
        except ConfigError as e:  # name the layer and the settings that fix it
            raise ConfigError(
                f"siting.economics: substations layer {econ.substations_layer!r}: {e}, "
                "or set `distance: straight`"
            ) from e
    else:
        dist = straight
    timings["distances"] = round(time.perf_counter() - t0, 3)

    t0 = time.perf_counter()
    cap = allp["capacity_mw"].to_numpy(dtype="float64")
    energy = allp["energy_gwh_per_yr"].to_numpy(dtype="float64")
    kv = subs["voltage_kv"].to_numpy()
    order = np.arange(len(allp))
    free = assign_substations(
        dist, cap, order, kv, np.full(len(subs), np.nan), econ, max_km=econ.max_connection_km
    )
    provisional = _lcoe(allp, cap, energy, free.capex_cny, econ, "base")
    order = np.lexsort((allp["parcel_id"].to_numpy(), np.nan_to_num(provisional, nan=np.inf)))
    conn = assign_substations(
        dist, cap, order, kv, subs["spare_mw"].to_numpy(), econ, max_km=econ.max_connection_km
    )
    ok = conn.substation != NO_SUBSTATION
    sub_idx = np.where(ok, conn.substation, 0)
    allp["grid_substation"] = np.where(ok, subs["name"].to_numpy()[sub_idx], "")
    allp["grid_voltage_kv"] = conn.voltage_kv
    allp["grid_distance_km"] = conn.distance_km
    allp["grid_straight_km"] = np.where(ok, straight[np.arange(len(allp)), sub_idx], np.nan)
    allp["connection_cost_mcny"] = conn.capex_cny / 1e6
    allp["capacity_factor"] = capacity_factor(cap, energy)
    lcoe = {c: _lcoe(allp, cap, energy, conn.capex_cny, econ, c) for c in CASES}
    allp["lcoe_cny_per_kwh"] = lcoe["base"]
    for c in CASES:
        allp[f"lcoe_{c}"] = lcoe[c]
    cols = [
        "grid_substation", "grid_voltage_kv", "grid_distance_km", "grid_straight_km",
        "connection_cost_mcny", "capacity_factor", "lcoe_cny_per_kwh",
    ]  # fmt: skip
    for t in techs:
        rows = allp[allp["_tech"] == t].sort_values("_row")
        for c in cols:  # wind parcels already carry their power-curve capacity factor
            if c != "capacity_factor" or c not in tables[t].columns:
                tables[t][c] = rows[c].to_numpy()
        rank = rows["lcoe_cny_per_kwh"].rank(method="first", na_option="bottom")
        tables[t]["rank_lcoe"] = rank.to_numpy().astype("int64")
    timings["lcoe"] = round(time.perf_counter() - t0, 3)

    names = {b.id: b.name_zh for b in bases.bases} if bases is not None else {}
    curves = supply_curves(allp, names)
    subs_out = subs.assign(spare_left_mw=conn.spare_left_mw).to_crs("EPSG:4326")
    lines = [shapely.LineString([pxy[i], sxy[conn.substation[i]]]) for i in np.flatnonzero(ok)]
    connections = gpd.GeoDataFrame(
        allp.loc[ok, ["parcel_id", "technology", *cols]].reset_index(drop=True),
        geometry=lines,
        crs=inputs.grid.pyproj_crs,
    ).to_crs("EPSG:4326")
    if log is not None and (~ok).any():
        log(
            f"economics: {int((~ok).sum())} parcels have no suitable substation within "
            f"{econ.max_connection_km:g} km (or with spare capacity); their LCOE is empty"
        )
    return EconomicsResult(curves, connections, subs_out, timings)


def _lcoe(allp, cap, energy, capex, econ, case):
    rate, factor = case_settings(econ)[case]
    out = np.full(len(allp), np.nan)
    for tech, idx in allp.groupby("_tech").indices.items():
        c = econ.costs(tech)
        out[idx] = lcoe_cny_per_kwh(
            cap[idx], energy[idx], capex[idx],
            capex_cny_per_kw=c.capex_cny_per_kw,
            fixed_opex_cny_per_kw_yr=c.fixed_opex_cny_per_kw_yr,
            variable_opex_cny_per_mwh=c.variable_opex_cny_per_mwh,
            lifetime_yr=c.lifetime_yr, discount_rate=rate, capex_factor=factor,
        )  # fmt: skip
    return out
