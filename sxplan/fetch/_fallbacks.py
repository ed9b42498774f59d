"""Layer specs for the generated project: fetched files first, else the demo's, clipped.

For every role the siting rules use, the fetched file is taken when there is one; otherwise the
embedded demo layer (``sxplan/data/shanxi/``) is clipped to the area's box and copied into
``DEST/demo/``, and the project header names it as a fallback. An area outside the demo's
extent gets no fallback.

Inputs: fetched files by role; the study area. Outputs: role -> layer spec, fallback notes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sxplan.errors import NoOverlapError

__all__ = ["demo_fallbacks", "ghi_range"]

#: role -> spec of a fetched file (path filled in later)
FETCHED_SPECS = {
    "dem": {"type": "raster", "kind": "continuous", "units": "m"},
    "landcover": {"type": "raster", "kind": "categorical", "scheme": "worldcover", "nodata": 0,
                  "units": "class"},
    "landcover_clcd": {"type": "raster", "kind": "categorical", "scheme": "clcd", "nodata": 0,
                       "units": "class"},
    "wind": {"type": "raster", "kind": "continuous", "units": "m/s"},
    "ghi": {"type": "raster", "kind": "continuous", "units": "kWh/m2/yr"},
    "pv_yield": {"type": "raster", "kind": "continuous", "units": "kWh/kWp/yr"},
    "highways": {"type": "vector", "layer": "roads", "all_touched": True},
    "protected": {"type": "vector", "layer": "protected"},
}  # fmt: skip

#: role -> demo layer name in sxplan/data/shanxi.yaml
DEMO_NAMES = {
    "dem": "dem",
    "landcover": "landcover",
    "ghi": "ghi",
    "pv_yield": "pv_yield",
    "wind": "wind_proxy",
    "highways": "highways",
    "water": "water",
    "redline_proxy": "redline_proxy",
    "precip_mm_per_yr": "precip_mm_per_yr",  # sinks' climate zones (ERA5; no fetch source yet)
}


def _origin(results, role: str) -> str:
    for r in results:
        if role in r.outputs:
            return f"{r.source['title']} (fetched; licence and citation in sources.md)"
    return "fetched"


def demo_fallbacks(fetched: dict[str, Path], area, dest: Path, catalog_results=()):
    """Return ``(roles, fallbacks, notes)`` for :func:`~sxplan.fetch.project_yaml.project_yaml`.

    Parameters
    ----------
    fetched : dict of str to pathlib.Path
        Role -> file written by the fetch.
    area : sxplan.fetch.area.StudyArea
        The study area.
    dest : pathlib.Path
        Destination folder.
    catalog_results : list of LayerResult
        For the fetched layers' titles.

    Returns
    -------
    tuple
        ``roles`` (role -> layer spec with ``path`` relative to ``dest``, ``origin``,
        ``fetched``), ``fallbacks`` (layer -> text for sources.md), ``notes`` (header lines).
    """
    from sxplan.config import demo_config_path, load_config

    fetched = dict(fetched)
    if "landcover" not in fetched and "landcover_clcd" in fetched:
        fetched["landcover"] = fetched.pop("landcover_clcd")
        clcd_as_main = True
    else:
        clcd_as_main = False
    demo = load_config(demo_config_path())
    roles, fallbacks, notes = {}, {}, []
    for role, path in fetched.items():
        spec = dict(FETCHED_SPECS[role])
        if role == "landcover" and clcd_as_main:
            spec.update(scheme="clcd")
        spec.update(path=Path(path).relative_to(dest).as_posix(), fetched=True,
                    origin=_origin(catalog_results, role))  # fmt: skip
        roles[role] = spec
    for role, demo_name in DEMO_NAMES.items():
        if role in roles:
            continue
        spec = demo.layers[demo_name]
        try:
            out = _clip_demo(demo_name, spec, area, dest / "demo")
        except NoOverlapError:
            notes.append(
                f"{role}: not fetched, and the demo layer has nothing in the area's box: left out"
            )
            continue
        text = (
            f"NOT FETCHED: embedded demo layer `{demo_name}` clipped to the area "
            f"({spec.description or Path(spec.path).name})"
        )
        entry = {"path": out.relative_to(dest).as_posix(), "fetched": False, "origin": text}
        entry.update(spec.model_dump(include=_KEYS[spec.type], exclude_none=True))
        entry["type"] = spec.type
        if spec.type == "vector":
            entry["layer"] = demo_name
        roles[role] = entry
        fallbacks[out.relative_to(dest).as_posix()] = text
        notes.append(f"{role}: {text}")
    fallbacks["bases.yaml"] = _write_bases(area, dest, demo_config_path().parent / "shanxi")
    return roles, fallbacks, notes


def _write_bases(area, dest: Path, demo_dir: Path) -> str:
    """Write ``bases.yaml``: the demo's bases, cut down to the counties of the area.

    A base keeps the area's counties it lists; a base with none is left out; an area that
    holds no county of any base becomes one base of its own (not a plan base).
    """
    import yaml

    from sxplan.layers.io import atomic_path

    src = demo_dir / "bases.yaml"
    if area.kind == "province":
        shutil.copyfile(src, dest / "bases.yaml")
        return "copied from the demo (unofficial county lists; read its header)"
    data = yaml.safe_load(src.read_text(encoding="utf-8"))
    have = {int(a) for a in area.counties["adcode"]}
    kept = []
    for base in data["bases"]:
        codes = [c for c in base["county_adcodes"] if c in have]
        if codes:
            kept.append({**base, "county_adcodes": codes})
    if not kept:
        kept = [
            {
                "id": "study_area",
                "name_zh": "研究区",
                "name_en": f"Study area {area.name} (not a plan base)",
                "county_adcodes": sorted(have),
                "target_gw_2025": None,
                "target_gw_2030": None,
                "delineation": "the whole study area: it holds no county of the demo's bases",
                "note": "written by sxplan data fetch so that siting runs; not a plan base",
            }
        ]
    data["bases"] = kept
    header = (
        "# Written by `sxplan data fetch`: the demo's bases (sxplan/data/shanxi/bases.yaml, an\n"
        "# UNOFFICIAL reading of the plan; read its header) cut to the study area's counties.\n"
    )
    with atomic_path(dest / "bases.yaml") as tmp:
        tmp.write_text(header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return f"demo bases cut to the area ({', '.join(b['id'] for b in kept)}); unofficial"


_KEYS = {
    "raster": {"kind", "units", "scheme", "nodata"},
    "vector": {"all_touched"},
}


def _clip_demo(name: str, spec, area, folder: Path) -> Path:
    import geopandas as gpd

    from sxplan.layers.io import write_gpkg

    from .rasters import clip_to_cog

    if spec.type == "raster":
        return clip_to_cog([Path(spec.path)], area.bounds, folder / f"{name}.tif", kind=spec.kind,
                           units=spec.units, description=spec.description)  # fmt: skip
    gdf = gpd.read_file(spec.path, layer=spec.layer, bbox=area.bounds)
    gdf = gpd.clip(gdf, area.bounds) if len(gdf) else gdf
    gdf = gdf[~gdf.geometry.is_empty] if len(gdf) else gdf
    if gdf.empty:
        raise NoOverlapError(f"demo layer {name}: nothing in the box")
    return write_gpkg(gdf.reset_index(drop=True), folder / f"{name}.gpkg", name)


def ghi_range(path: Path) -> tuple[float, float]:
    """5th and 95th percentile of a GHI raster, rounded outward to 10 kWh/m2/yr.

    The PV score then spans the GHI found in the area, as the demo's range spans the demo's.
    """
    import numpy as np
    import rasterio

    with rasterio.open(path) as src:
        data = src.read(1, masked=True).compressed()
    data = data[np.isfinite(data)]
    lo, hi = np.percentile(data, [5, 95])
    lo, hi = float(np.floor(lo / 10) * 10), float(np.ceil(hi / 10) * 10)
    return (lo, hi if hi > lo else lo + 50.0)
