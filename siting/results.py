"""Results of the siting stage: one :class:`TechResult` per technology, one :class:`SitingResult`.

Inputs: what :func:`sxplan.siting.run.run_siting` computed (tables, areas, weights, timings).
Outputs: the result objects, with JSON-ready summaries for ``run.json`` and a plain-text report
for the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from .supply_curve import supply_headline
from .technology import TOTAL_TECHNOLOGY

__all__ = ["SitingResult", "TechResult"]


@dataclass
class TechResult:
    """Results of one technology.

    Attributes
    ----------
    tech : str
        Technology name (``pv``, ``wind``; see :mod:`sxplan.siting.technology`).
    parcels : pandas.DataFrame
        Every parcel, ranked: the attributes of ``parcels_<tech>.gpkg``, without the outlines
        (a national run has 10^5 parcels and more; :meth:`parcels_with_outlines` reads them).
    exclusions : pandas.DataFrame
        Per-rule accounting (rows of ``exclusions.csv`` for this technology).
    per_county : pandas.DataFrame
        By adcode: eligible_km2, candidate_km2, parcel_area_km2, potential_gw,
        energy_twh_per_yr, parcels.
    study_km2, eligible_km2, candidate_km2 : float
        Study area, eligible land, eligible land scoring at or above the threshold.
    weights : dict
        Normalised criterion weights.
    ahp : siting.ahp.AHPResult or None
        The AHP result when weights came from a matrix.
    timings : dict
        Seconds per step.
    stability : dict or None
        Rank stability under weight draws (:func:`sxplan.siting.stability.add_rank_stability`).
    outlines : sxplan.siting._outline_store.OutlineStore or None
        The outlines while the run writes its files (None afterwards).
    parcels_gpkg : pathlib.Path or None
        ``parcels_<tech>.gpkg`` once written.
    """

    tech: str
    parcels: pd.DataFrame
    exclusions: pd.DataFrame
    per_county: pd.DataFrame
    study_km2: float
    eligible_km2: float
    candidate_km2: float
    weights: dict
    ahp: object = None
    timings: dict = field(default_factory=dict)
    stability: dict | None = None
    outlines: object = None
    parcels_gpkg: object = None

    def parcels_with_outlines(self) -> gpd.GeoDataFrame:
        """The parcel table with its outlines (EPSG:4326), read from ``parcels_<tech>.gpkg``."""
        if self.outlines is not None:
            return self.outlines.frame(self.parcels)
        if self.parcels_gpkg is None:
            raise RuntimeError(f"parcels of '{self.tech}' have not been written yet")
        return gpd.read_file(self.parcels_gpkg, engine="pyogrio")

    def empty_reason(self, settings) -> str | None:
        """Why this technology has no parcel (None when it has some).

        Parameters
        ----------
        settings : siting.config.TechSettings
            The technology's settings (``score_threshold``, ``min_parcel_area_km2``).

        Returns
        -------
        str or None
            Names the rule that removed the last eligible land and the one that removed the
            most, or the threshold or minimum area that left no parcel, with the fix.
        """
        if len(self.parcels):
            return None
        where = f"technology '{self.tech}': no parcel"
        if self.eligible_km2 <= 0:
            rules = self.exclusions[self.exclusions["mode"] == "hard"]
            rules = rules[rules["km2_in_sequence"] > 0]
            if not len(rules):
                return f"{where}: the study area has no land ({self.study_km2:,.0f} km2)"
            last = rules.iloc[-1]
            most = rules.loc[rules["km2_in_sequence"].idxmax()]
            text = (
                f"{where}: no eligible land is left; rule '{last['rule']}' removed the last "
                f"of it ({last['km2_in_sequence']:,.0f} km2)"
            )
            if most["rule"] != last["rule"]:
                text += f", rule '{most['rule']}' the most ({most['km2_in_sequence']:,.0f} km2)"
            if last["rule"] == "no_data":
                text += " (an input layer has no data there: see the layer warnings)"
            return text + "; relax those rules (siting.exclusions) or check their layers"
        if self.candidate_km2 <= 0:
            return (
                f"{where}: none of the {self.eligible_km2:,.0f} km2 of eligible land scores at "
                f"or above score_threshold = {settings.score_threshold} (siting.{self.tech}."
                "score_threshold); lower it or review the criteria"
            )
        return (
            f"{where}: the {self.candidate_km2:,.0f} km2 of land above the score threshold "
            f"form no group of at least min_parcel_area_km2 = {settings.min_parcel_area_km2} "
            f"km2 (siting.{self.tech}.min_parcel_area_km2); lower it or use a finer grid"
        )


@dataclass
class SitingResult:
    """Everything the CLI needs to report a siting run.

    Attributes
    ----------
    techs : dict of str to TechResult
        Per technology.
    shortlist : pandas.DataFrame
        Ranked top parcels of every technology (``shortlist.csv``).
    bases : pandas.DataFrame
        Potential per base, bases union, prefecture and province (``bases.csv``).
    exclusions : pandas.DataFrame
        Rule x technology accounting (``exclusions.csv``).
    outputs : dict of str to pathlib.Path
        Files written, by short name.
    timings : dict of str to float
        Seconds per step.
    settings : dict
        The validated siting config (JSON-ready), for run.json.
    shortlist_geometry : geopandas.GeoSeries or None
        Outlines of the shortlist's rows (EPSG:4326, same order), so a caller can use them
        without reading ``shortlist.gpkg`` back.
    """

    techs: dict
    shortlist: pd.DataFrame
    bases: pd.DataFrame
    exclusions: pd.DataFrame
    outputs: dict
    timings: dict
    settings: dict
    shortlist_geometry: gpd.GeoSeries | None = None

    def shortlist_frame(self) -> gpd.GeoDataFrame:
        """The shortlist with its outlines, in EPSG:4326 (what ``shortlist.gpkg`` holds)."""
        geometry = self.shortlist_geometry
        if geometry is None:
            raise ValueError("this SitingResult carries no shortlist outlines")
        return gpd.GeoDataFrame(
            self.shortlist, geometry=np.asarray(geometry.values), crs="EPSG:4326"
        )

    def summary(self) -> dict:
        """JSON-ready summary for run.json: areas, parcels, potential, weights, AHP, timings."""
        techs = {}
        for tech, tr in self.techs.items():
            techs[tech] = {
                "study_km2": tr.study_km2,
                "eligible_km2": tr.eligible_km2,
                "candidate_km2": tr.candidate_km2,
                "parcels": int(len(tr.parcels)),
                "parcel_area_km2": float(tr.parcels["area_km2"].sum()),
                "potential_gw": float(tr.parcels["capacity_mw"].sum() / 1000.0),
                "energy_twh_per_yr": float(tr.parcels["energy_gwh_per_yr"].sum() / 1000.0),
                "weights": tr.weights,
                "ahp": None
                if tr.ahp is None
                else {
                    "lambda_max": tr.ahp.lambda_max,
                    "consistency_index": tr.ahp.consistency_index,
                    "consistency_ratio": tr.ahp.consistency_ratio,
                },
                "stability": tr.stability,
                "timings_s": tr.timings,
            }
        return {
            "technologies": techs,
            "outputs": {k: str(v) for k, v in self.outputs.items()},
            "timings_s": self.timings,
        }

    def base_table(self) -> pd.DataFrame:
        """Compact table per base: potential GW by technology and the 2030 target."""
        df = self.bases[self.bases["level"].isin(["base", "all_bases", "province"])]
        wide = df.pivot_table(
            index=["level", "id", "name_zh"],
            columns="technology",
            values="potential_gw",
            sort=False,
        ).reset_index()
        both = df[df["technology"] == TOTAL_TECHNOLOGY].set_index("id")
        for col in ("target_gw_2025", "target_gw_2030"):
            wide[col] = wide["id"].map(both[col]) if len(both) else np.nan
        wide.columns.name = None
        return wide.drop(columns="level")

    def top_parcels(self, n: int = 10) -> pd.DataFrame:
        """The best ``n`` parcels of each technology (a few key columns)."""
        cols = [
            "parcel_id",
            "technology",
            "county",
            "prefecture",
            "area_km2",
            "capacity_mw",
            "energy_gwh_per_yr",
            "score_mean",
            "bases",
            "lon",
            "lat",
        ]
        sl = self.shortlist
        return sl[sl["rank"] <= n][[c for c in cols if c in sl.columns]]

    def format_summary(self, n_top: int = 5) -> str:
        """Plain-text summary: exclusions, a table per base, and the top parcels."""
        lines = []
        for tech, tr in self.techs.items():
            lines.append(
                f"{tech}: study area {tr.study_km2:,.0f} km2, eligible {tr.eligible_km2:,.0f} "
                f"km2, {len(tr.parcels)} parcels, "
                f"{tr.parcels['capacity_mw'].sum() / 1000:,.1f} GW"
            )
            if tr.weights:
                w = ", ".join(f"{k} {v:.2f}" for k, v in tr.weights.items())
                cr = f" (AHP CR {tr.ahp.consistency_ratio:.3f})" if tr.ahp is not None else ""
                lines.append(f"  weights: {w}{cr}")
            st = tr.stability
            if st:
                lines.append(
                    f"  rank stability ({st['draws']} weight draws, {st['method']}): "
                    f"{st['top_n_always']} parcels always in the top {st['top_n']}, "
                    f"{st['top_n_sometimes']} sometimes; Spearman of rankings median "
                    f"{st['spearman_median']:.3f} (5% {st['spearman_p05']:.3f})"
                )
        lines += supply_headline({t: tr.parcels for t, tr in self.techs.items()}, self.settings)
        with pd.option_context("display.width", 140, "display.max_columns", 20):
            lines.append("")
            lines.append(self.base_table().round(1).to_string(index=False))
            lines.append("")
            lines.append(self.top_parcels(n_top).round(2).to_string(index=False))
        return "\n".join(lines)
