"""Supply curves: cumulative capacity against LCOE, per technology, per base and for the province.

Each curve sorts its parcels by LCOE (cheapest first; ties by parcel id) and accumulates their
capacity. Curves are built for every parcel technology, and for wind and PV together
(``wind_pv``, the technology of the plan's targets); for the province in every cost case
(base, low/high discount rate, low/high capex) and per base in the base case. A parcel counts
for its main base (the first of its ``bases``).

Inputs: one frame of parcels with ``technology``, ``parcel_id``, ``capacity_mw``, ``bases`` and
one ``lcoe_<case>`` column per case. Outputs: the rows of ``siting/supply_curves.csv``
(:mod:`sxplan.schema` key ``siting.supply_curves``).

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"parcel_id": ["a", "b", "c"], "capacity_mw": [500.0, 250.0, 1000.0],
...                    "lcoe": [0.30, 0.20, float("nan")]})
>>> curve(df, "lcoe")[["parcel_id", "cumulative_gw"]].values.tolist()
[['b', 0.25], ['a', 0.75]]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "CASES",
    "cheapest_for_target",
    "curve",
    "headline_lines",
    "supply_curves",
    "supply_headline",
]

#: Cost cases of the curves, in the order of the CSV.
CASES = ("base", "discount_low", "discount_high", "capex_low", "capex_high")
COMBINED = "wind_pv"


def curve(frame: pd.DataFrame, lcoe_col: str) -> pd.DataFrame:
    """Parcels with an LCOE, cheapest first, with ``step`` and ``cumulative_gw``."""
    df = frame[np.isfinite(frame[lcoe_col].to_numpy(dtype="float64"))]
    df = df.sort_values([lcoe_col, "parcel_id"], kind="mergesort").reset_index(drop=True)
    out = pd.DataFrame(
        {
            "step": np.arange(1, len(df) + 1, dtype="int64"),
            "parcel_id": df["parcel_id"].to_numpy(),
            "capacity_mw": df["capacity_mw"].to_numpy(dtype="float64"),
            "lcoe_cny_per_kwh": df[lcoe_col].to_numpy(dtype="float64"),
        }
    )
    out["cumulative_gw"] = out["capacity_mw"].cumsum() / 1000.0
    return out


def _main_base(bases: pd.Series) -> pd.Series:
    return bases.fillna("").astype(str).str.split(";").str[0]


def supply_curves(parcels: pd.DataFrame, base_names: dict[str, str] | None = None):
    """Every curve as one long table (rows of ``supply_curves.csv``).

    Parameters
    ----------
    parcels : pandas.DataFrame
        Columns ``technology``, ``parcel_id``, ``capacity_mw``, ``bases`` and ``lcoe_<case>``
        for each case of :data:`CASES`.
    base_names : dict, optional
        Chinese name by base id.

    Returns
    -------
    pandas.DataFrame
        Columns case, technology, level (province|base), id, name_zh, step, parcel_id,
        capacity_mw, lcoe_cny_per_kwh, cumulative_gw.
    """
    base_names = base_names or {}
    techs = list(dict.fromkeys(parcels["technology"]))
    groups = [(t, parcels[parcels["technology"] == t]) for t in techs]
    both = parcels[parcels["technology"].isin(["pv", "wind"])]
    if both["technology"].nunique() == 2:
        groups.append((COMBINED, both))
    frames = []

    def add(case, tech, level, ident, name, sub):
        c = curve(sub, f"lcoe_{case}")
        c.insert(0, "name_zh", name)
        c.insert(0, "id", ident)
        c.insert(0, "level", level)
        c.insert(0, "technology", tech)
        c.insert(0, "case", case)
        frames.append(c)

    for tech, sub in groups:
        for case in CASES:
            add(case, tech, "province", "province", "全省", sub)
        main = _main_base(sub["bases"]) if "bases" in sub else pd.Series("", index=sub.index)
        for base in sorted(b for b in main.unique() if b):
            add("base", tech, "base", base, base_names.get(base, ""), sub[main == base])
    cols = ["case", "technology", "level", "id", "name_zh", "step", "parcel_id", "capacity_mw"]
    if not frames:
        return pd.DataFrame(columns=[*cols, "lcoe_cny_per_kwh", "cumulative_gw"])
    return pd.concat(frames, ignore_index=True)


def cheapest_for_target(curves: pd.DataFrame, parcels: pd.DataFrame, target_gw: float):
    """GW per main base among the cheapest wind+PV parcels that reach ``target_gw``.

    Returns
    -------
    pandas.DataFrame
        Columns base (empty = outside every base), gw, and the LCOE of the last parcel taken
        (``marginal_lcoe_cny_per_kwh``, the same on every row).
    """
    c = curves[
        (curves["case"] == "base")
        & (curves["technology"] == COMBINED)
        & (curves["level"] == "province")
    ]
    n = int(np.searchsorted(c["cumulative_gw"].to_numpy(), target_gw, side="left")) + 1
    taken = c.iloc[: min(n, len(c))]
    base = _main_base(parcels.set_index("parcel_id")["bases"])
    gw = taken.groupby(taken["parcel_id"].map(base))["capacity_mw"].sum() / 1000.0
    out = gw.rename_axis("base").reset_index(name="gw")
    out["marginal_lcoe_cny_per_kwh"] = (
        float(taken["lcoe_cny_per_kwh"].iloc[-1]) if len(taken) else np.nan
    )
    return out


def headline_lines(parcels_by_tech: dict, targets_gw: dict) -> list[str]:
    """Summary lines: LCOE range per technology and the cheapest wind+PV for each target.

    Parameters
    ----------
    parcels_by_tech : dict of str to pandas.DataFrame
        Parcel tables (with ``lcoe_cny_per_kwh`` when economics ran; else no lines).
    targets_gw : dict
        ``{label: GW}`` of the wind+PV targets.

    Returns
    -------
    list of str
    """
    frames = [p for p in parcels_by_tech.values() if "lcoe_cny_per_kwh" in p.columns]
    if not frames:
        return []
    lines = ["LCOE incl. grid connection (base case, CNY/kWh; supply_curves.csv):"]
    for tech, p in parcels_by_tech.items():
        v = p["lcoe_cny_per_kwh"].dropna() if "lcoe_cny_per_kwh" in p.columns else []
        if len(v):
            lines.append(
                f"  {tech}: {v.min():.3f}-{v.max():.3f}, median {v.median():.3f} "
                f"({len(v)} of {len(p)} parcels connected)"
            )
    both = pd.concat(
        [p[p["technology"].isin(["pv", "wind"])] for p in frames], ignore_index=True
    )  # fmt: skip
    c = curve(both.assign(lcoe=both["lcoe_cny_per_kwh"]), "lcoe")
    base = _main_base(both.set_index("parcel_id")["bases"]).replace("", "(no base)")
    for label, gw in targets_gw.items():
        n = int(np.searchsorted(c["cumulative_gw"].to_numpy(), gw, side="left")) + 1
        taken = c.iloc[: min(n, len(c))]
        if taken.empty:
            continue
        by_base = (taken.groupby(taken["parcel_id"].map(base))["capacity_mw"].sum() / 1000).round(1)
        mean = np.average(taken["lcoe_cny_per_kwh"], weights=taken["capacity_mw"])
        lines.append(
            f"  cheapest wind+PV for {label} ({gw:g} GW): {taken['cumulative_gw'].iloc[-1]:.1f} "
            f"GW, marginal {taken['lcoe_cny_per_kwh'].iloc[-1]:.3f}, mean {mean:.3f}; GW by "
            "main base: " + ", ".join(f"{k} {v:g}" for k, v in by_base.items())
        )
    return lines


def supply_headline(parcels_by_tech: dict, settings: dict) -> list[str]:
    """:func:`headline_lines` with the targets of a ``siting:`` settings dict (model dump)."""
    t = (settings or {}).get("targets") or {}
    targets = {f"{y}": t.get(f"wind_pv_gw_{y}") for y in (2025, 2030)}
    return headline_lines(parcels_by_tech, {k: v for k, v in targets.items() if v})
