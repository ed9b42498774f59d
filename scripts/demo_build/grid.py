"""Schematic grid layers (status schematic, see DATA.md): substations_schematic.gpkg and
lines_schematic.gpkg.

NOT the real grid: one 500 kV substation at a representative point inside each prefecture
and one 220 kV substation at a representative point inside each county (from the demo's own
boundaries in admin.gpkg); 500 kV lines join the prefecture stations along a minimum spanning
tree, 220 kV lines join each county station to its prefecture's station. No spare capacity is
given (the real figures are the grid company's). Replace with the provincial grid company's
plan or OpenStreetMap ``power=substation`` / ``power=line`` (DATA.md).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from scipy.sparse.csgraph import minimum_spanning_tree

from sxplan.layers.grid import ALBERS_CHINA

from .common import write_gpkg


def _points(gdf: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """Representative points computed in Albers, returned in WGS84, rounded to 1e-5 deg."""
    pts = gdf.geometry.to_crs(ALBERS_CHINA).representative_point().to_crs("EPSG:4326")
    return gpd.GeoSeries(shapely.set_precision(pts.to_numpy(), 1e-5), crs="EPSG:4326")


def build_grid(out: Path) -> None:
    pref = gpd.read_file(out / "admin.gpkg", layer="prefectures").sort_values("adcode")
    cnty = gpd.read_file(out / "admin.gpkg", layer="counties").sort_values("adcode")
    pref, cnty = pref.reset_index(drop=True), cnty.reset_index(drop=True)
    p_pts, c_pts = _points(pref), _points(cnty)
    subs = gpd.GeoDataFrame(
        {
            "name": [f"{n}500kV(示意)" for n in pref["name"]]
            + [f"{n}220kV(示意)" for n in cnty["name"]],
            "voltage_kv": [500.0] * len(pref) + [220.0] * len(cnty),
            "adcode": list(pref["adcode"]) + list(cnty["adcode"]),
            "status": ["schematic"] * (len(pref) + len(cnty)),
        },
        geometry=list(p_pts) + list(c_pts),
        crs="EPSG:4326",
    )
    write_gpkg(out / "substations_schematic.gpkg", {"substations": subs})

    xy = shapely.get_coordinates(p_pts.to_crs(ALBERS_CHINA).to_numpy())
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    mst = minimum_spanning_tree(d).tocoo()
    rows = []
    for a, b in sorted(zip(mst.row.tolist(), mst.col.tolist(), strict=True)):
        rows.append((500.0, f"{pref['name'][a]}-{pref['name'][b]}", p_pts[a], p_pts[b]))
    seat = dict(zip(pref["adcode"], p_pts, strict=True))
    for i, row in cnty.iterrows():
        rows.append((220.0, f"{row['name']}-{row['prefecture']}", c_pts[i],
                     seat[row["prefecture_adcode"]]))  # fmt: skip
    lines = gpd.GeoDataFrame(
        {
            "voltage_kv": [r[0] for r in rows],
            "name": [r[1] for r in rows],
            "status": ["schematic"] * len(rows),
        },
        geometry=[shapely.LineString([r[2], r[3]]) for r in rows],
        crs="EPSG:4326",
    )
    write_gpkg(out / "lines_schematic.gpkg", {"lines": lines})
    print(
        f"substations_schematic.gpkg: {len(subs)} points; lines_schematic.gpkg: {len(lines)} lines"
    )
