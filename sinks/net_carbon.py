"""Net carbon on land contested by renewables and planting, per shortlisted parcel and county.

For every shortlisted PV or wind parcel (the siting step's shortlist, whose cells the sinks
step holds back from planting):

    avoided_tco2_per_yr        = energy_gwh_per_yr x 1000 x grid_emission_factor_tco2_per_mwh
    contested_plantable_ha     = plantable land inside the parcel that the reservation removed
                                 (``removed_reserved`` raster, exact coverage fractions)
    forgone_sink_tco2_per_yr   = contested_plantable_ha x removal factor of the parcel's county
                                 (central IPCC Tier-1 rate of the first 20 years after planting,
                                 that county's zone and tree/shrub mix, survival included)
    net_tco2_per_yr            = avoided_tco2_per_yr - forgone_sink_tco2_per_yr

A positive net means the renewables avoid more CO2 per year than planting the same plantable
land would take up. The grid factor is an average-grid factor from the config (its source and
status: sinks/README.md); a marginal (build or operating margin) factor would be higher on a
coal-heavy grid such as Shanxi's.

Inputs: the shortlist (GeoDataFrame with ``parcel_id``, ``technology``, ``adcode``,
``energy_gwh_per_yr``), the ``removed_reserved`` raster, per-county removal factors.
Outputs: the ``net_carbon.csv`` table and per-county sums.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sxplan.layers.grid import GridSpec
from sxplan.layers.io import AlignedLayer

from .baseline import _max_cells

__all__ = ["NET_TECHNOLOGIES", "county_net_carbon", "parcel_net_carbon", "young_removal_factor"]

#: Technologies whose parcels are reserved (roadside strips are not on plantable land).
NET_TECHNOLOGIES = ("pv", "wind")


def young_removal_factor(removal_factors, zone_index, mix) -> np.ndarray:
    """Central tCO2 per planted hectare per year of the first 20 years, per county.

    Parameters
    ----------
    removal_factors : numpy.ndarray
        ``(len(ZONES), len(CATEGORIES))`` from
        :func:`~sxplan.sinks.sequestration.removal_factors`.
    zone_index : array_like of int
        Per county.
    mix : dict
        Type shares (numbers or per-county arrays) summing to 1.

    Returns
    -------
    numpy.ndarray
    """
    from .sequestration import CATEGORIES

    zone_index = np.asarray(zone_index, dtype="int64")
    out = np.zeros(zone_index.size)
    for k, (t, a) in enumerate(CATEGORIES):
        if a == "young":
            out += np.asarray(mix.get(t, 0.0), dtype="float64") * removal_factors[zone_index, k]
    return out


def parcel_net_carbon(
    shortlist,
    removed_reserved: AlignedLayer | None,
    grid: GridSpec,
    county_adcodes,
    factor_tco2_per_ha_yr,
    grid_ef_tco2_per_mwh: float,
    *,
    mem_limit_mb: float,
) -> pd.DataFrame:
    """Avoided emissions against forgone sequestration, one row per PV/wind parcel.

    Parameters
    ----------
    shortlist : geopandas.GeoDataFrame
        Shortlisted parcels (any CRS) with ``parcel_id``, ``rank``, ``technology``, ``adcode``,
        ``county``, ``area_km2`` and ``energy_gwh_per_yr``.
    removed_reserved : AlignedLayer or None
        Plantable fraction the reservation removed per cell (None: no plantable land lost).
    grid : GridSpec
        The run's grid.
    county_adcodes : array_like of int
        Adcodes matching ``factor_tco2_per_ha_yr``.
    factor_tco2_per_ha_yr : array_like
        Removal factor per county (:func:`young_removal_factor`).
    grid_ef_tco2_per_mwh : float
        Grid emission factor.
    mem_limit_mb : float
        Memory budget.

    Returns
    -------
    pandas.DataFrame
    """
    sl = shortlist[shortlist["technology"].isin(NET_TECHNOLOGIES)].reset_index(drop=True)
    cols = ["rank", "parcel_id", "technology", "county", "adcode", "area_km2"]
    out = pd.DataFrame({c: sl[c].to_numpy() for c in cols})
    out["energy_gwh_per_yr"] = sl["energy_gwh_per_yr"].to_numpy(dtype="float64")
    out["grid_emission_factor_tco2_per_mwh"] = grid_ef_tco2_per_mwh
    out["avoided_tco2_per_yr"] = out["energy_gwh_per_yr"] * 1000.0 * grid_ef_tco2_per_mwh
    plantable = np.zeros(len(sl))
    if removed_reserved is not None and len(sl):
        from exactextract import exact_extract

        grid.require_same(
            removed_reserved.grid, f"layer 'removed_reserved' ({removed_reserved.path})"
        )
        vec = sl[["parcel_id", "geometry"]].to_crs(grid.pyproj_crs)
        res = exact_extract(
            str(removed_reserved.path),
            vec,
            ["sum"],
            include_cols=["parcel_id"],
            output="pandas",
            max_cells_in_memory=_max_cells(mem_limit_mb),
        )
        plantable = res["sum"].fillna(0.0).to_numpy(dtype="float64") * grid.res * grid.res / 1e4
    factor = pd.Series(np.asarray(factor_tco2_per_ha_yr, dtype="float64"), index=county_adcodes)
    per_ha = factor.reindex(out["adcode"].astype("int64")).fillna(0.0).to_numpy()
    out["contested_plantable_ha"] = plantable
    out["forgone_sink_tco2_per_ha_yr"] = per_ha
    out["forgone_sink_tco2_per_yr"] = plantable * per_ha
    out["net_tco2_per_yr"] = out["avoided_tco2_per_yr"] - out["forgone_sink_tco2_per_yr"]
    return out


def county_net_carbon(net: pd.DataFrame, county_adcodes) -> pd.DataFrame:
    """Per-county sums of :func:`parcel_net_carbon` (zero where a county has no parcel).

    Parameters
    ----------
    net : pandas.DataFrame
        From :func:`parcel_net_carbon`.
    county_adcodes : array_like of int
        Counties in output order.

    Returns
    -------
    pandas.DataFrame
        ``contested_plantable_ha, avoided_tco2_per_yr, forgone_sink_tco2_per_yr,
        net_tco2_per_yr`` indexed like ``county_adcodes``.
    """
    cols = [
        "contested_plantable_ha",
        "avoided_tco2_per_yr",
        "forgone_sink_tco2_per_yr",
        "net_tco2_per_yr",
    ]
    sums = net.groupby(net["adcode"].astype("int64"))[cols].sum()
    return (
        sums.reindex(np.asarray(county_adcodes, dtype="int64")).fillna(0.0).reset_index(drop=True)
    )
