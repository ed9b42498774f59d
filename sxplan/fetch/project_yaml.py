"""The generated ``project.yaml``: the demo's rules on the fetched layers.

It starts from ``sxplan/data/shanxi.yaml`` and changes only what the fetched data change:

- layers point at the files in the destination folder; a layer that was not fetched falls back
  to the embedded demo layer clipped to the area (said in the header and the layer's
  ``description``), so the file runs as it is;
- ``wind_proxy`` becomes ``wind_speed`` (Global Wind Atlas) where it was fetched;
- land cover fetched from WorldCover or CLCD declares its scheme, and the sinks credits switch
  to common classes (forest 1.0; shrub, grass and barren plantable), as scheme-neutral;
- the GHI score range is the 5th-95th percentile of the fetched GHI in the area (the demo's
  range fits the demo's biased-high MERRA-2 GHI, not the Global Solar Atlas);
- the resolution grows with the area (at most about 250,000 cells in the area), since 30 m
  inputs at a province's scale would be slow: 100, 250, 500 or 1000 m;
- the provincial targets and the 2020 forest-cover calibration apply to the whole province
  only, so an area other than ``shanxi`` drops them; the bases are cut to the area's counties;
- a vector exclusion layer that is neither fetched nor available from the demo (an area
  outside Shanxi) is left out with its rules, and the header says so.

Inputs: the layers present, the study area. Outputs: ``project.yaml`` text.
"""

from __future__ import annotations

import math
from pathlib import Path

import yaml

__all__ = ["CORE_ROLES", "choose_resolution_m", "project_yaml"]

#: roles the siting rules cannot run without: (role, yaml layer name)
CORE_ROLES = ("dem", "landcover", "ghi", "pv_yield", "wind", "highways")
_OPTIONAL_VECTORS = ("water", "redline_proxy", "protected")


def choose_resolution_m(area_km2: float, max_cells: float = 250_000) -> int:
    """Smallest of 100, 250, 500, 1000 m that keeps the area within ``max_cells`` cells.

    Examples
    --------
    >>> choose_resolution_m(156_805), choose_resolution_m(290), choose_resolution_m(20_000)
    (1000, 100, 500)
    """
    need = math.sqrt(area_km2 * 1e6 / max_cells)
    return next((r for r in (100, 250, 500) if r >= need), 1000)


def _demo() -> dict:
    from sxplan.config import demo_config_path

    return yaml.safe_load(demo_config_path().read_text(encoding="utf-8"))


def project_yaml(layers: dict[str, dict], area, notes: list[str], ghi_range=None) -> str:
    """Return the text of the generated project file.

    Parameters
    ----------
    layers : dict
        Role -> layer spec (``path`` relative to the destination, ``origin`` text); roles are
        :data:`CORE_ROLES` plus any of ``water``, ``redline_proxy``, ``protected``,
        ``landcover_clcd``.
    area : sxplan.fetch.area.StudyArea
        The study area.
    notes : list of str
        Lines for the header (what is missing, what falls back).
    ghi_range : tuple of float, optional
        (low, high) GHI for the PV score and roadside range, kWh/m2/yr.

    Returns
    -------
    str
    """
    cfg = _demo()
    whole = area.kind == "province"
    proj = cfg["project"]
    proj["name"] = f"{area.name}: sxplan data fetch"
    proj["study_area"] = "study_area"
    proj["resolution_m"] = choose_resolution_m(area.area_km2)
    proj["margin_m"] = float(area.margin_m)
    if area.prefectures is None:
        proj.pop("prefectures", None)
    out = {
        "study_area": {"type": "vector", "path": "boundaries.gpkg", "layer": "study_area"},
        "counties": {"type": "vector", "path": "boundaries.gpkg", "layer": "counties"},
    }
    if area.prefectures is not None:
        out["prefectures"] = {"type": "vector", "path": "boundaries.gpkg", "layer": "prefectures"}
    demo_layers = cfg["layers"]
    wind_name = "wind_speed" if layers["wind"].get("fetched") else "wind_proxy"
    names = {"wind": wind_name}
    for role, spec in layers.items():
        name = names.get(role, role)
        base = dict(demo_layers.get(role if role != "wind" else "wind_proxy", {}))
        base.update({k: v for k, v in spec.items() if k not in ("fetched", "origin")})
        base["description"] = spec["origin"]
        if spec.get("scheme") is None:
            base.pop("scheme", None)
        out[name] = base
    cfg["layers"] = out
    _adapt_siting(cfg, layers, wind_name, whole, ghi_range)
    if cfg["siting"].pop("economics", None) is not None:  # no grid layer is fetched
        cfg["siting"]["shortlist_rank_by"] = "score"
        notes = [
            *notes,
            "siting.economics (grid connection, LCOE, supply curves) left out: no substations "
            "layer is fetched; add one (grid company plan, OSM power=substation) and the section",
        ]
    _adapt_sinks(cfg["sinks"], layers["landcover"], whole, "precip_mm_per_yr" in layers)
    if layers["pv_yield"].get("fetched"):
        notes = [
            *notes,
            "roadside_pv.pv_yield_reference_tilt_deg: 35 kept from the demo; Global Solar Atlas "
            "PVOUT is for the optimum tilt (its OPTA layer, unverified), set it from OPTA.tif",
        ]
    header = [
        f"# Generated by `sxplan data fetch` for {area.name} ({area.kind}); sources and licences",
        "# in sources.md beside this file. Rules are the demo's (sxplan/data/shanxi.yaml).",
        *(f"# {n}" for n in notes),
    ]
    body = yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False, width=100)
    return "\n".join(header) + "\n" + body


def _adapt_siting(cfg, layers, wind_name, whole, ghi_range) -> None:
    siting, road = cfg["siting"], cfg["roadside_pv"]
    gone = [n for n in _OPTIONAL_VECTORS if n not in layers]
    siting["exclusions"] = [r for r in siting["exclusions"] if r.get("layer") not in gone]
    road["exclusion_layers"] = [n for n in road["exclusion_layers"] if n not in gone]
    if "protected" in layers:
        siting["exclusions"].insert(
            1,
            {
                "name": "protected_areas",
                "label_zh": "自然保护地(WDPA)",
                "type": "vector",
                "layer": "protected",
                "note": "WDPA protected areas (user-supplied file); never built on",
            },
        )
        road["exclusion_layers"].append("protected")
    if wind_name == "wind_speed":
        for rule in siting["exclusions"]:
            if rule.get("layer") == "wind_proxy":
                rule.update(layer="wind_speed", label_zh="风速<4.5米/秒", note="Global Wind Atlas")
        wind = siting["wind"]
        wind["resource_layer"] = wind["energy"]["speed_layer"] = "wind_speed"
        for crit in wind["criteria"]:
            if crit.get("layer") == "wind_proxy":
                crit.update(name="wind_speed_ms", layer="wind_speed")
        wind["weights"] = {
            ("wind_speed_ms" if k == "wind_proxy_ms" else k): v for k, v in wind["weights"].items()
        }
    if ghi_range is not None:
        for crit in siting["pv"]["criteria"]:
            if crit.get("layer") == "ghi":
                crit["transform"] = {"type": "linear", "x0": ghi_range[0], "x1": ghi_range[1]}
        road["ghi_score_range_kwh_m2_yr"] = list(ghi_range)
    siting["bases_path"] = "bases.yaml"  # the area's cut of the demo bases (sources.md)
    if not whole:
        siting["targets"] = {"wind_pv_gw_2025": None, "wind_pv_gw_2030": None}


def _adapt_sinks(sinks, landcover: dict, whole: bool, precip: bool) -> None:
    if not precip:  # no rainfall layer over the area: no climate zones (said in the header)
        sinks["climate_zones"] = None
    if landcover.get("scheme") != "igbp":
        sinks["class_basis"] = "common"
        sinks["forest_credit"] = {"forest": 1.0}
        sinks["eligible_credit"] = {"shrub": 1.0, "grass": 1.0, "barren": 1.0}
        # the demo's likelihood of unmapped forest, by common class (its IGBP keys do not apply)
        sinks["calibration_likelihood"] = {"shrub": 1.0, "grass": 0.3}
    if not whole:
        sinks["calibration"] = "none"


def relative(path: Path, dest: Path) -> str:
    """``path`` relative to ``dest`` with forward slashes (the YAML's paths)."""
    return Path(path).relative_to(dest).as_posix()
