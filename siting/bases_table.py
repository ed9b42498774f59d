"""Potential per base, all bases together, prefecture and province, against the plan's targets.

Each unit (a base, the union of the bases' counties, a prefecture, the province) sums the
per-county results of every technology; a total row over the technologies carries the
targets, which the plan sets for wind and PV together.

Inputs: per-technology results (``per_county`` and the parcel table), the bases, the counties,
the ``siting:`` settings (province targets), optional installed capacity.
Outputs: the rows of ``bases.csv`` (columns as in :mod:`sxplan.schema`, ``siting.bases``).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from sxplan.schema import dataset

from .bases import BasesTable
from .technology import TOTAL_TECHNOLOGY, label_zh

__all__ = ["bases_table"]


def bases_table(results: dict, inputs) -> pd.DataFrame:
    """Rows of ``bases.csv``: per unit and technology, plus a total row when several ran.

    Parameters
    ----------
    results : dict of str to TechResult
        Per technology.
    inputs : SitingInputs
        Bases, counties, settings (targets) and installed capacity.

    Returns
    -------
    pandas.DataFrame
    """
    bases: BasesTable = inputs.bases
    counties, cfg, installed = inputs.counties, inputs.config, inputs.installed
    rows = []
    cols = ["eligible_km2", "candidate_km2", "parcel_area_km2", "potential_gw", "energy_twh_per_yr"]
    inst = None
    if installed is not None:
        inst = installed.pivot_table(
            index="adcode", columns="technology", values="capacity_mw", aggfunc="sum"
        ).fillna(0.0)
    pref = counties[["adcode", "prefecture", "prefecture_adcode"]].set_index("adcode")
    units = []  # (level, id, name_zh, name_en, adcodes, t25, t30)
    for b in bases.bases:
        units.append(
            (
                "base",
                b.id,
                b.name_zh,
                b.name_en,
                list(b.counties),
                b.target_gw_2025,
                b.target_gw_2030,
            )
        )
    units.append(
        (
            "all_bases",
            "all_bases",
            "五大基地合计(去重)",
            "all bases (union, no double count)",
            sorted(bases.union_counties()),
            None,
            None,
        )
    )
    for (pname, padc), grp in pref.reset_index().groupby(
        ["prefecture", "prefecture_adcode"], sort=True
    ):
        units.append(("prefecture", str(int(padc)), pname, "", grp["adcode"].tolist(), None, None))
    units.append(
        (
            "province",
            "province",
            "全省",
            "province",
            counties["adcode"].tolist(),
            cfg.targets.wind_pv_gw_2025,
            cfg.targets.wind_pv_gw_2030,
        )
    )
    by_county = {tech: _parcels_by_county(tr.parcels) for tech, tr in results.items()}
    for level, uid, zh, en, adcodes, t25, t30 in units:
        tot = {c: 0.0 for c in cols}
        tot_parcels = 0
        tot_inst = 0.0
        for tech, tr in results.items():
            sub = tr.per_county.reindex(adcodes).fillna(0)
            vals = {c: float(sub[c].sum()) for c in cols}
            parcels = _parcels_in(by_county[tech], adcodes)
            inst_gw = None
            if inst is not None and tech in inst.columns:
                inst_gw = float(inst[tech].reindex(adcodes).fillna(0).sum()) / 1000.0
                tot_inst += inst_gw
            rows.append(
                {
                    "level": level,
                    "id": uid,
                    "name_zh": zh,
                    "name_en": en,
                    "technology": tech,
                    "technology_zh": label_zh(tech),
                    **vals,
                    "parcels": parcels,
                    "target_gw_2025": None,
                    "target_gw_2030": None,
                    "installed_gw": inst_gw,
                    "note": "",
                }
            )
            for c in cols:
                tot[c] += vals[c]
            tot_parcels += parcels
        if len(results) > 1:
            rows.append({
                "level": level, "id": uid, "name_zh": zh, "name_en": en,
                "technology": TOTAL_TECHNOLOGY, "technology_zh": label_zh(TOTAL_TECHNOLOGY),
                **tot, "parcels": tot_parcels,
                "target_gw_2025": t25, "target_gw_2030": t30,
                "installed_gw": tot_inst if inst is not None else None,
                "note": "PV and wind parcels may share land; the sum is an upper bound",
            })  # fmt: skip
    ratio = "potential_to_target_2030"
    df = pd.DataFrame(rows, columns=[c for c in _COLUMNS if c != ratio])
    with np.errstate(divide="ignore", invalid="ignore"):
        df[ratio] = df["potential_gw"] / df["target_gw_2030"].astype(float)
    return df


_COLUMNS = [c.name for c in dataset("siting.bases").columns]


def _parcels_by_county(parcels: gpd.GeoDataFrame) -> dict[str, np.ndarray]:
    """Positions of the parcels touching each county, by county code (``counties`` column)."""
    if parcels.empty:
        return {}
    # one row per (parcel, county code), built once: a national run has 10^5 parcels and
    # hundreds of prefectures, and scanning every parcel for every unit took minutes
    codes = pd.Series(parcels["counties"].to_numpy()).str.split(";").explode().dropna()
    pos = codes.index.to_numpy()
    groups = pd.Series(pos).groupby(codes.to_numpy()).indices
    return {str(code): pos[rows] for code, rows in groups.items()}


def _parcels_in(by_county: dict[str, np.ndarray], adcodes) -> int:
    """Number of parcels touching any of ``adcodes`` (each parcel once)."""
    hits = [by_county[k] for k in {str(a) for a in adcodes} if k in by_county]
    return int(np.unique(np.concatenate(hits)).size) if hits else 0
