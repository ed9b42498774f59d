"""Roadside PV summaries: per road, per county and province totals, and shortlist rows.

Inputs: strips from :func:`sxplan.siting.roadside.run_roadside_pv`, a
:class:`~sxplan.siting.roadside_config.RoadsidePVConfig`.
Outputs: summary tables (``roadside_pv.csv``, columns as in :mod:`sxplan.schema`,
``roadside.summary``) and the rows the roadside step adds to the shortlist.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from .roadside_config import COUNTY_COLUMNS, RoadsidePVConfig
from .tech_roadside_pv import ROADSIDE_PV

__all__ = ["shortlist_rows", "summarize_roadside", "summary_table"]


_SUM_COLS = [
    "usable_strip_km",
    "usable_area_km2",
    "panel_area_km2",
    "capacity_mw",
    "energy_gwh_per_yr",
]


def summarize_roadside(segments: pd.DataFrame, config: RoadsidePVConfig):
    """Per-road, per-county and province totals of roadside PV strips.

    Parameters
    ----------
    segments : pandas.DataFrame
        Strips as produced by :func:`run_roadside_pv` (one row per segment and side).
    config : RoadsidePVConfig
        For the target comparison.

    Returns
    -------
    tuple
        ``(by_road, by_county, province)``: two DataFrames and a dict. ``road_km`` counts each
        segment's centreline once; ``usable_strip_km`` sums both sides.
    """
    df = pd.DataFrame(segments).copy()
    once = df.drop_duplicates("seg_index")
    road_key = df["road_ref"].where(df["road_ref"] != "", "road" + df["road_id"].astype(str))
    df["road_key"] = road_key
    once = once.assign(road_key=road_key.loc[once.index])

    def agg(keys):
        sums = df.groupby(keys, dropna=False)[_SUM_COLS].sum(min_count=1)
        km = once.groupby(keys, dropna=False)["segment_length_m"].sum() / 1000.0
        nseg = once.groupby(keys, dropna=False).size()
        out = sums.join(km.rename("road_km")).join(nseg.rename("n_segments")).reset_index()
        return out

    by_road = agg(["road_key"])
    names = df.drop_duplicates("road_key").set_index("road_key")["road_name"]
    by_road.insert(1, "road_name", by_road["road_key"].map(names))
    by_road = by_road.rename(columns={"road_key": "road_ref"})
    by_county = agg(COUNTY_COLUMNS)
    by_county["adcode"] = by_county["adcode"].astype("int64")
    by_county["prefecture_adcode"] = by_county["prefecture_adcode"].astype("int64")
    by_county = by_county.sort_values("adcode").reset_index(drop=True)
    province = {
        "road_km": float(once["segment_length_m"].sum() / 1000.0),
        "n_segments": int(len(once)),
        **{c: float(df[c].sum()) for c in _SUM_COLS},
        # Strips with capacity but no energy (GHI or pv_yield nodata there): their energy is
        # missing from the totals, so say how many.
        "n_strips_missing_energy": int(
            ((df["capacity_mw"] > 0) & ~np.isfinite(df["energy_gwh_per_yr"])).sum()
        ),
        "target_mw": config.target_mw,
        "target_year": config.target_year,
    }
    province["target_share_pct"] = (
        100.0 * province["capacity_mw"] / config.target_mw if config.target_mw else None
    )
    return by_road, by_county, province


def summary_table(by_road, by_county, province) -> pd.DataFrame:
    """Rows of ``roadside_pv.csv``: roads, then counties, then the province.

    Parameters
    ----------
    by_road, by_county : pandas.DataFrame
        From :func:`summarize_roadside`.
    province : dict
        Province totals from :func:`summarize_roadside`.

    Returns
    -------
    pandas.DataFrame
        Columns as in :mod:`sxplan.schema` (``roadside.summary``).
    """
    cols = (
        ["level", "road_ref", "road_name"]
        + COUNTY_COLUMNS
        + ["n_segments", "road_km"]
        + _SUM_COLS
        + ["target_mw", "target_year", "target_share_pct"]
    )
    prov = pd.DataFrame([{**province, "level": "province"}])
    table = pd.concat(
        [by_road.assign(level="road"), by_county.assign(level="county"), prov], ignore_index=True
    )
    for c in cols:
        if c not in table.columns:
            table[c] = pd.NA
    table = table[cols]
    for c in ["adcode", "prefecture_adcode", "n_segments", "target_year"]:
        table[c] = pd.array(table[c], dtype="Int64")
    return table


def shortlist_rows(gdf: gpd.GeoDataFrame, cfg) -> gpd.GeoDataFrame:
    """The best strips by score, as rows for the siting shortlist.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Every strip (grid CRS).
    cfg : RoadsidePVConfig
        ``shortlist_min_capacity_mw``, ``shortlist_min_score``, ``shortlist_max_rows``.

    Returns
    -------
    geopandas.GeoDataFrame
        In the shortlist's own column names (:mod:`sxplan.schema` ``siting.shortlist``):
        ``parcel_id`` (the strip id), ``technology``, ``adcode``, ``county``, ``prefecture``,
        ``prefecture_adcode``, road and facing, area, capacity, energy, GHI, the strip's
        ``score``, ``lon``/``lat`` (WGS84); grid CRS.
    """
    ok = (
        (gdf["capacity_mw"] > 0)
        & (gdf["capacity_mw"] >= cfg.shortlist_min_capacity_mw)
        & (gdf["score"] >= cfg.shortlist_min_score)
    )
    top = gdf[ok].sort_values("score", ascending=False, kind="stable").head(cfg.shortlist_max_rows)
    cen = shapely.centroid(np.asarray(top.geometry.values))
    if len(top):
        lon, lat = Transformer.from_crs(gdf.crs, "EPSG:4326", always_xy=True).transform(
            shapely.get_x(cen), shapely.get_y(cen)
        )
    else:
        lon = lat = np.array([])
    out = gpd.GeoDataFrame(
        {
            "parcel_id": top["strip_id"].to_numpy(),
            "technology": ROADSIDE_PV.name,
            **{("county" if c == "name" else c): top[c].to_numpy() for c in COUNTY_COLUMNS},
            "road_ref": top["road_ref"].to_numpy(),
            "side_compass": top["side_compass"].to_numpy(),
            "facing_compass": top["facing_compass"].to_numpy(),
            "area_km2": top["usable_area_km2"].to_numpy(),
            "capacity_mw": top["capacity_mw"].to_numpy(),
            "energy_gwh_per_yr": top["energy_gwh_per_yr"].to_numpy(),
            "ghi_kwh_m2_yr": top["ghi_kwh_m2_yr"].to_numpy(),
            "score": top["score"].to_numpy(),
            "lon": np.asarray(lon),
            "lat": np.asarray(lat),
        },
        geometry=np.asarray(top.geometry.values),
        crs=gdf.crs,
    )
    return out.reset_index(drop=True)
