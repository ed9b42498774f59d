"""Exclusion tables: the area each rule removes, and the legend of the rule-code raster.

Every excluded cell knows why: the shared pass counts, per technology, the cells each rule
would remove alone and the cells it removes in sequence (the first hard rule wins); this
module turns those counts into tables.

Inputs: the compiled rules of a technology and the counts of the shared pass.
Outputs: rows of ``exclusions.csv`` and ``excluded_by_rule_<tech>.csv`` (columns as in
:mod:`sxplan.schema`, ``siting.exclusions`` and ``siting.rule_legend``).
"""

from __future__ import annotations

import pandas as pd

from sxplan.schema import dataset

from .exclusions import NO_DATA_CODE, OUTSIDE_CODE

__all__ = ["exclusion_table", "rule_legend"]


def exclusion_table(tech: str, rules, totals: dict, cell_km2: float) -> pd.DataFrame:
    """Per-rule accounting of one technology (its rows of ``exclusions.csv``).

    Parameters
    ----------
    tech : str
        Technology name.
    rules : sxplan.siting.exclusions.CompiledRules
        The technology's rules.
    totals : dict
        Counts of the shared pass (``seq``, ``alone``, ``soft_seq``, ``returned``,
        ``nodata_alone``).
    cell_km2 : float
        Area of one cell.

    Returns
    -------
    pandas.DataFrame
        One row per rule, then ``no_data``, ``total_excluded``, ``eligible``, ``study_area``.
        Preference rules remove nothing (``km2_in_sequence`` 0); their ``km2_returned`` is the
        eligible land a rule they waive would have excluded, ``km2_scored_up`` the eligible
        area whose score they raised (when they set ``score_multiplier``).
    """
    rows = []
    study = int(totals["seq"][:OUTSIDE_CODE].sum())
    for i, r in enumerate(rules.rules):
        rule = r.rule
        seq = {"hard": int(totals["seq"][r.code]), "soft": int(totals["soft_seq"][i])}.get(
            rule.mode, 0
        )  # a preference removes nothing; it returns land and scores it up
        pref = rule.mode == "preference"
        returned = int(totals.get("returned", [0] * (i + 1))[i]) if pref else None
        rows.append({
            "technology": tech, "order": i + 1, "code": r.code, "rule": rule.name,
            "label_zh": rule.label_zh or "", "mode": rule.mode, "type": rule.type,
            "layer": rule.layer, "km2_alone": totals["alone"][i] * cell_km2,
            "km2_in_sequence": seq * cell_km2,
            "share_of_study_area": seq / study if study else 0.0, "note": rule.note or "",
            "km2_returned": returned * cell_km2 if pref else None,
            "km2_scored_up": int(totals["soft_seq"][i]) * cell_km2 if pref else None,
        })  # fmt: skip
    nd = int(totals["seq"][NO_DATA_CODE])
    rows.append({
        "technology": tech, "order": len(rules.rules) + 1, "code": NO_DATA_CODE, "rule": "no_data",
        "label_zh": "缺少数据", "mode": "hard", "type": "implicit", "layer": "",
        "km2_alone": totals["nodata_alone"] * cell_km2, "km2_in_sequence": nd * cell_km2,
        "share_of_study_area": nd / study if study else 0.0,
        "note": "eligible by every rule but an input layer has no data here",
    })  # fmt: skip
    excluded = study - int(totals["seq"][0])
    for name, zh, cells in [
        ("total_excluded", "排除合计", excluded),
        ("eligible", "可用土地", int(totals["seq"][0])),
        ("study_area", "研究区", study),
    ]:
        rows.append({
            "technology": tech, "order": None, "code": None, "rule": name, "label_zh": zh,
            "mode": "", "type": "total", "layer": "", "km2_alone": None,
            "km2_in_sequence": cells * cell_km2,
            "share_of_study_area": cells / study if study else 0.0, "note": "",
        })  # fmt: skip
    df = pd.DataFrame(rows, columns=_column_names("siting.exclusions"))
    for col in ("order", "code"):
        df[col] = df[col].astype("Int64")
    return df


def rule_legend(rules) -> pd.DataFrame:
    """Legend of ``excluded_by_rule_<tech>.tif``: code, rule, Chinese label, mode.

    Parameters
    ----------
    rules : sxplan.siting.exclusions.CompiledRules
        The technology's rules (hard rules get a code).

    Returns
    -------
    pandas.DataFrame
    """
    rows = [{"code": 0, "rule": "eligible", "label_zh": "可用", "mode": ""}]
    for r in rules.rules:
        if r.rule.mode == "hard":
            rows.append(
                {
                    "code": r.code,
                    "rule": r.rule.name,
                    "label_zh": r.rule.label_zh or "",
                    "mode": "hard",
                }
            )
    rows.append({"code": NO_DATA_CODE, "rule": "no_data", "label_zh": "缺少数据", "mode": "hard"})
    rows.append(
        {
            "code": OUTSIDE_CODE,
            "rule": "outside_study_area (nodata)",
            "label_zh": "研究区外",
            "mode": "",
        }
    )
    return pd.DataFrame(rows, columns=_column_names("siting.rule_legend"))


def _column_names(key: str) -> list[str]:
    return [c.name for c in dataset(key).columns]


#: Colours of rule codes 1, 2, ... in excluded_by_rule_<tech>.tif (qualitative, colour-blind safe
#: first eight: Okabe-Ito), RGBA.
_RULE_COLOURS = [
    (230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66), (0, 114, 178),
    (213, 94, 0), (204, 121, 167), (120, 120, 120), (166, 86, 40), (153, 153, 255),
    (255, 127, 127), (102, 153, 0),
]  # fmt: skip


def rule_categories(rules) -> dict[int, tuple[str, tuple[int, int, int, int]]]:
    """Names and colours of the codes of ``excluded_by_rule_<tech>.tif`` (for QGIS).

    Eligible land is pale green, each hard rule has its own colour, missing data is grey and
    the outside of the study area is transparent. Names are ``<Chinese label> / <rule>``.
    """
    out = {}
    for i, row in enumerate(rule_legend(rules).itertuples(index=False)):
        name = f"{row.label_zh} / {row.rule}" if row.label_zh else str(row.rule)
        if row.code == 0:
            rgba = (204, 235, 197, 255)
        elif row.code == NO_DATA_CODE:
            rgba = (190, 190, 190, 255)
        elif row.code == OUTSIDE_CODE:
            rgba = (0, 0, 0, 0)
        else:
            rgba = (*_RULE_COLOURS[(i - 1) % len(_RULE_COLOURS)], 255)
        out[int(row.code)] = (name, rgba)
    return out
