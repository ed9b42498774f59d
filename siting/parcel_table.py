"""Parcel tables: capacity and energy, place, land cover and criteria of every parcel.

Capacity and energy come from the technology (:mod:`sxplan.siting.technology`), computed once
per parcel by :func:`parcel_energy`; the parcel table and the per-county sums both use them.

Inputs: a :class:`~sxplan.siting.parcels.ParcelSet`, the parcels' outlines in an
:class:`~sxplan.siting._outline_store.OutlineStore`, the technology's compute spec, and the
run's :class:`~sxplan.siting._run_inputs.SitingInputs`.
Outputs: the ranked parcel table (the attributes of ``parcels_<tech>.gpkg``; columns named in
:mod:`sxplan.schema`, ``siting.parcels``; the outlines stay in the store, which the table's
``parcel_id`` keys) and per-county sums for ``bases.csv``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sxplan.layers.datum import wgs84_to_gcj02
from sxplan.layers.landcover import COMMON_CLASSES

from .parcels import ParcelSet

__all__ = [
    "ParcelEnergy",
    "parcel_energy",
    "parcel_table",
    "per_county",
    "rank_order",
    "resource_column",
]


@dataclass(frozen=True)
class ParcelEnergy:
    """Area, capacity and energy of each parcel (parcel-id order, before ranking).

    Attributes
    ----------
    area_km2 : numpy.ndarray
        Parcel areas, km2.
    capacity_mw : numpy.ndarray
        Capacities, MW (:meth:`Technology.capacity_mw`).
    columns : dict of str to numpy.ndarray
        The technology's columns (:meth:`Technology.columns`), with ``energy_gwh_per_yr``.
    """

    area_km2: np.ndarray
    capacity_mw: np.ndarray
    columns: dict

    @property
    def energy_gwh_per_yr(self) -> np.ndarray:
        """Annual energy of each parcel, GWh/yr."""
        return self.columns["energy_gwh_per_yr"]


def parcel_energy(spec, parcels: ParcelSet, cell_km2: float) -> ParcelEnergy:
    """Capacity and energy of every parcel, through the technology's own functions.

    Parameters
    ----------
    spec : sxplan.siting._tile_pass.TechCompute
        The technology and its settings.
    parcels : ParcelSet
        Resolved parcels; the ``energy`` field holds each cell's specific energy.
    cell_km2 : float
        Area of one cell.

    Returns
    -------
    ParcelEnergy
    """
    tech, settings = spec.technology, spec.settings
    area = parcels.stats["cells"] * cell_km2 if parcels.n else np.zeros(0)
    cap = tech.capacity_mw(area, settings)
    specific = parcels.mean("energy") if parcels.n else np.zeros(0)
    columns = tech.columns(np.asarray(cap, dtype="float64"), specific, settings)
    return ParcelEnergy(area, cap, columns)


def parcel_table(spec, parcels: ParcelSet, energy: ParcelEnergy, outlines, inputs) -> pd.DataFrame:
    """The ranked table of one technology's parcels (its outlines stay in ``outlines``).

    Parameters
    ----------
    spec : sxplan.siting._tile_pass.TechCompute
        The technology, its criteria, resource and slope layers.
    parcels : ParcelSet
        Resolved parcels.
    energy : ParcelEnergy
        Their capacity and energy (:func:`parcel_energy`).
    outlines : sxplan.siting._outline_store.OutlineStore
        The parcels' finished outlines (distance to highways, a WGS84 point inside each);
        keyed here by the table's ``parcel_id`` (:meth:`~OutlineStore.name_rows`).
    inputs : SitingInputs
        Grid, layers, counties, bases and the ``siting:`` settings.

    Returns
    -------
    pandas.DataFrame
        Ranked by mean score (then area, then first cell), ids ``<TECH>-00001``; no geometry
        (``outlines.frame(table)`` adds it, in EPSG:4326).
    """
    tech, crit, resource, slope_name = spec.tech, spec.crit, spec.resource, spec.slope_name
    counties, bases, layers = inputs.counties, inputs.bases, inputs.layers
    cfg = inputs.config
    n = parcels.n
    st = parcels.stats
    # the 0-based parcel of each ranked row: columns are put in rank order as they are set,
    # so a large table is never copied whole to sort it (a national run: 10^5 parcels)
    ranked = (
        rank_order(parcels.mean("score"), energy.area_km2, st["first_index"])
        if n
        else np.zeros(0, dtype="int64")
    )
    frame = pd.DataFrame(index=pd.RangeIndex(n))
    df = _RankedColumns(frame, ranked)
    df["technology"] = tech
    df["area_km2"] = energy.area_km2
    df["capacity_mw"] = energy.capacity_mw
    for name, values in energy.columns.items():
        df[name] = values
    if not n:
        hw = cfg.highways_layer
        _empty_columns(frame, spec, layers, hw and hw in layers.vectors and len(layers.vectors[hw]))
    else:
        df["score_mean"] = parcels.mean("score")
        df["score_max"] = st["score_max"]
        if slope_name:
            df[f"mean_{resource_column(slope_name, layers.rasters[slope_name].units)}"] = (
                parcels.mean("slope")
            )
        df[f"mean_{resource_column(resource.name, resource.units)}"] = parcels.mean("resource")
        for name, code in COMMON_CLASSES.items():
            df[f"lc_{name}_share"] = parcels.lc_cells[:, code] / st["cells"]
        # Counties: main county, its share, all counties.
        cc = parcels.county_cells
        cdf = pd.DataFrame(cc, columns=["parcel", "county", "cells"])
        cdf["adcode"] = counties["adcode"].to_numpy()[cdf["county"].to_numpy() - 1]
        main = cdf.sort_values(["parcel", "cells", "adcode"], ascending=[True, False, True])
        main = main.drop_duplicates("parcel").set_index("parcel")
        ci = counties.set_index("adcode")
        adc = main.reindex(np.arange(1, n + 1))["adcode"].to_numpy()
        df["adcode"] = adc.astype("int64")
        df["county"] = ci.loc[adc, "name"].to_numpy()
        df["prefecture"] = ci.loc[adc, "prefecture"].to_numpy()
        df["prefecture_adcode"] = ci.loc[adc, "prefecture_adcode"].to_numpy().astype("int64")
        df["county_share"] = main.reindex(np.arange(1, n + 1))["cells"].to_numpy() / st["cells"]
        df["counties"] = _joined_counties(cdf, n)
        # Bases by share of cells in their counties.
        df["bases"], df["bases_zh"], df["bases_share"] = _base_columns(cdf, bases, st["cells"])
        for name in crit.names:
            df[f"crit_{name}"] = parcels.mean(f"crit_{name}")
            df[f"score_{name}"] = parcels.mean(f"score_{name}")
    if n:
        if outlines.dist_highway_m is not None:
            df["dist_highway_km"] = outlines.dist_highway_m / 1000.0
        df["lon"] = outlines.lon
        df["lat"] = outlines.lat
        glon, glat = wgs84_to_gcj02(outlines.lon, outlines.lat)
        df["lon_gcj02"] = np.asarray(glon)
        df["lat_gcj02"] = np.asarray(glat)
    df = frame
    df.insert(0, "rank", np.arange(1, len(df) + 1))
    df.insert(0, "parcel_id", [f"{tech.upper()}-{i:05d}" for i in range(1, len(df) + 1)])
    outlines.name_rows(df["parcel_id"], ranked)
    return df


def _joined_counties(cdf: pd.DataFrame, n: int) -> np.ndarray:
    """Per parcel 1..n, its counties' adcodes ';'-joined, most cells first (ties: as in ``cdf``).

    ``cdf`` has one row per (parcel, county) with ``cells`` and ``adcode``. Equal lists share
    one string (a national run: 10^5 parcels, mostly in one county).
    """
    srt = cdf.sort_values(["parcel", "cells"], ascending=[True, False])
    parcel = srt["parcel"].to_numpy()
    adcode = srt["adcode"].to_numpy()
    out = np.full(n, np.nan, dtype=object)  # a parcel in no county: missing, as pandas gives
    if not parcel.size:
        return out
    starts = np.flatnonzero(np.r_[True, parcel[1:] != parcel[:-1]])
    ends = np.r_[starts[1:], parcel.size]
    one = ends - starts == 1
    text = {int(a): str(int(a)) for a in np.unique(adcode)}
    out[parcel[starts[one]] - 1] = [text[int(a)] for a in adcode[starts[one]]]
    joined: dict[tuple, str] = {}
    for i0, i1 in zip(starts[~one].tolist(), ends[~one].tolist(), strict=True):
        key = tuple(adcode[i0:i1].tolist())
        if key not in joined:
            joined[key] = ";".join(text[a] for a in key)
        out[parcel[i0] - 1] = joined[key]
    return out


def _base_columns(cdf: pd.DataFrame, bases, cells: np.ndarray):
    """``bases``, ``bases_zh`` and ``bases_share`` of every parcel.

    A parcel's share of a base is the share of its cells in the base's counties (bases may
    share counties); its bases are those with a share, largest first (ties in file order),
    and ``bases_share`` is the largest share (0 without bases). Equal lists share one string.
    """
    n = cells.size
    ids = [b.id for b in bases.bases]
    names_zh = [b.name_zh for b in bases.bases]
    sums = np.zeros((n, len(ids)), dtype="int64")  # cells are integers: exact sums
    parcel = cdf["parcel"].to_numpy() - 1
    adcode = cdf["adcode"].to_numpy()
    pair_cells = cdf["cells"].to_numpy()
    for j, b in enumerate(bases.bases):
        inb = np.isin(adcode, np.asarray(b.counties, dtype=adcode.dtype))
        np.add.at(sums[:, j], parcel[inb], pair_cells[inb])
    shares = sums / np.asarray(cells, dtype="float64")[:, None]
    ranked = np.argsort(-shares, axis=1, kind="stable")
    en = np.full(n, "", dtype=object)
    zh = np.full(n, "", dtype=object)
    n_pos = (shares > 0).sum(axis=1)
    one = np.flatnonzero(n_pos == 1)  # most parcels: one base, the first of its ranking
    if one.size:
        en[one] = np.asarray(ids, dtype=object)[ranked[one, 0]]
        zh[one] = np.asarray(names_zh, dtype=object)[ranked[one, 0]]
    joined: dict[tuple, tuple[str, str]] = {}
    for i in np.flatnonzero(n_pos > 1).tolist():
        row = shares[i]
        key = tuple(j for j in ranked[i].tolist() if row[j] > 0)
        if key not in joined:
            joined[key] = (";".join(ids[j] for j in key), ";".join(names_zh[j] for j in key))
        en[i], zh[i] = joined[key]
    best = shares.max(axis=1) if len(ids) else np.zeros(n)
    return en, zh, best


class _RankedColumns:
    """Set columns given in parcel-id order; they are stored in rank order (``order``)."""

    def __init__(self, frame: pd.DataFrame, order: np.ndarray):
        self.frame, self.order = frame, order

    def __setitem__(self, name: str, values) -> None:
        if isinstance(values, str) or np.ndim(values) == 0:
            self.frame[name] = values
            return
        arr = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
        if arr.dtype.kind == "U":
            arr = arr.astype(object)  # text columns are Python strings, as pandas makes them
        self.frame[name] = arr[self.order]


def rank_order(score_mean, area_km2, first_index) -> np.ndarray:
    """Positions of parcels in rank order.

    Score, then area (both descending, missing scores last), then the first cell in
    row-major order.

    Examples
    --------
    >>> rank_order([0.5, 0.9, 0.5], [2.0, 1.0, 3.0], [0, 1, 2]).tolist()
    [1, 2, 0]
    """
    keys = (np.asarray(first_index), -np.asarray(area_km2, dtype="float64"),
            -np.asarray(score_mean, dtype="float64"))  # fmt: skip
    return np.lexsort(keys)


def _empty_columns(df: pd.DataFrame, spec, layers, highways: bool) -> None:
    """Give a table of no parcels every column a table of parcels has, with its dtype.

    An empty result is a result: ``parcels_<tech>.gpkg`` is written with zero rows and the
    same columns, so readers (maps, shortlist, QGIS) find what the schema promises.
    """
    text, floats = "object", "float64"
    cols: dict[str, str] = {"score_mean": floats, "score_max": floats}
    if spec.slope_name:
        units = layers.rasters[spec.slope_name].units
        cols[f"mean_{resource_column(spec.slope_name, units)}"] = floats
    cols[f"mean_{resource_column(spec.resource.name, spec.resource.units)}"] = floats
    cols.update({f"lc_{name}_share": floats for name in COMMON_CLASSES})
    cols.update(
        adcode="int64", county=text, prefecture=text, prefecture_adcode="int64",
        county_share=floats, counties=text, bases=text, bases_zh=text, bases_share=floats,
    )  # fmt: skip
    for name in spec.crit.names:
        cols[f"crit_{name}"] = floats
        cols[f"score_{name}"] = floats
    if highways:
        cols["dist_highway_km"] = floats
    cols.update(lon=floats, lat=floats, lon_gcj02=floats, lat_gcj02=floats)
    for name, dtype in cols.items():
        df[name] = pd.Series([], dtype=dtype)


def per_county(parcels: ParcelSet, energy: ParcelEnergy, counties, totals, cell_km2):
    """Areas, potential and energy of one technology per county (parcels split by cell share).

    Parameters
    ----------
    parcels : ParcelSet
        Resolved parcels (their cells per county).
    energy : ParcelEnergy
        Their capacity and energy.
    counties : geopandas.GeoDataFrame
        The run's counties (index order = county index - 1).
    totals : dict
        Counts of the shared pass (``eligible_county``, ``candidate_county``).
    cell_km2 : float
        Area of one cell.

    Returns
    -------
    pandas.DataFrame
        By adcode: eligible_km2, candidate_km2, parcel_area_km2, potential_gw,
        energy_twh_per_yr, parcels.
    """
    adcodes = counties["adcode"].to_numpy()
    df = pd.DataFrame(index=pd.Index(adcodes, name="adcode"))
    df["eligible_km2"] = totals["eligible_county"][1:] * cell_km2
    df["candidate_km2"] = totals["candidate_county"][1:] * cell_km2
    df["parcel_area_km2"] = 0.0
    df["potential_gw"] = 0.0
    df["energy_twh_per_yr"] = 0.0
    df["parcels"] = 0
    if parcels.n:
        # parcel number (1..n before ranking) -> capacity, energy
        st = parcels.stats
        capmw = energy.capacity_mw
        egwh = energy.energy_gwh_per_yr
        cc = parcels.county_cells
        p = cc[:, 0] - 1
        share = cc[:, 2] / st["cells"][p]
        cidx = cc[:, 1] - 1
        k = len(adcodes)
        df["parcel_area_km2"] = np.bincount(cidx, weights=cc[:, 2] * cell_km2, minlength=k)
        df["potential_gw"] = np.bincount(cidx, weights=capmw[p] * share, minlength=k) / 1000.0
        df["energy_twh_per_yr"] = np.bincount(cidx, weights=egwh[p] * share, minlength=k) / 1000
        df["parcels"] = np.bincount(cidx, minlength=k)
    return df


def _units_suffix(units: str) -> str:
    special = {
        "m/s": "ms",
        "%": "pct",
        "percent": "pct",
        "degree": "deg",
        "degrees": "deg",
        "kWh/m2/yr": "kwh_m2_yr",
        "kWh/kWp/yr": "kwh_kwp_yr",
        "m": "m",
    }
    if units in special:
        return special[units]
    return "".join(ch if ch.isalnum() else "_" for ch in units.lower()).strip("_")


def resource_column(name: str, units: str) -> str:
    """Column name of a layer with its unit suffix (``ghi`` in kWh/m2/yr -> ``ghi_kwh_m2_yr``).

    Examples
    --------
    >>> resource_column("ghi", "kWh/m2/yr"), resource_column("slope_pct", "percent")
    ('ghi_kwh_m2_yr', 'slope_pct')
    """
    suffix = _units_suffix(units)
    return name if not suffix or name.endswith(suffix) else f"{name}_{suffix}"
