"""One ranked shortlist across utility PV, wind and roadside PV.

Inputs: the parcel shortlist written by :func:`sxplan.siting.run.run_siting` (``shortlist.gpkg``)
and
the roadside PV rows from :func:`sxplan.siting.roadside.run_roadside_pv`.
Outputs: ``shortlist.csv`` (UTF-8 with BOM) and ``shortlist.gpkg`` rewritten atomically, with
roadside strips ranked among themselves by score, in the parcel shortlist's columns.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from sxplan.layers import write_csv, write_gpkg
from sxplan.layers.tables import round_for_csv

__all__ = ["merge_roadside_shortlist", "roadside_rows_as_shortlist"]

TECH_ZH = {"pv": "光伏", "wind": "风电", "roadside_pv": "高速公路边坡光伏"}


def roadside_rows_as_shortlist(rows: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Rename roadside shortlist rows to the parcel shortlist's columns, ranked by score.

    Parameters
    ----------
    rows : geopandas.GeoDataFrame
        ``RoadsidePVResult.shortlist`` (site_id, tech, county columns, score, lon, lat, ...).

    Returns
    -------
    geopandas.GeoDataFrame
        In EPSG:4326 with ``rank``, ``parcel_id``, ``technology``, ``technology_zh``, ``county``,
        ``score_mean`` and ``score_max`` (both the strip's score), plus the roadside columns.
    """
    if rows is None or len(rows) == 0:
        return gpd.GeoDataFrame({"technology": []}, geometry=[], crs="EPSG:4326")
    out = rows.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)
    out = out.rename(columns={"site_id": "parcel_id", "name": "county", "tech": "technology"})
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out["technology_zh"] = TECH_ZH["roadside_pv"]
    out["score_mean"] = out["score"]
    out["score_max"] = out["score"]
    return out.drop(columns=["score"]).to_crs("EPSG:4326")


def merge_roadside_shortlist(siting_dir: str | Path, rows: gpd.GeoDataFrame) -> Path:
    """Append roadside PV rows to ``shortlist.csv``/``.gpkg`` in ``siting_dir``.

    When no parcel shortlist exists yet (roadside PV run alone), the roadside rows become the
    shortlist. Columns of the parcel shortlist come first; roadside-only columns follow.

    Parameters
    ----------
    siting_dir : str or pathlib.Path
        The run's ``siting/`` folder.
    rows : geopandas.GeoDataFrame
        Roadside shortlist rows.

    Returns
    -------
    pathlib.Path
        The CSV written.
    """
    siting_dir = Path(siting_dir)
    road = roadside_rows_as_shortlist(rows)
    gpkg = siting_dir / "shortlist.gpkg"
    if gpkg.exists():
        parcels = gpd.read_file(gpkg, layer="shortlist")
        parcels = parcels[parcels["technology"] != "roadside_pv"]
        cols = [c for c in parcels.columns if c != "geometry"]
        cols += [c for c in road.columns if c not in cols and c != "geometry"]
        merged = pd.concat([parcels, road], ignore_index=True)[[*cols, "geometry"]]
    else:
        merged = road
    merged = gpd.GeoDataFrame(merged, geometry="geometry", crs="EPSG:4326")
    write_gpkg(merged, gpkg, "shortlist")
    table = round_for_csv(pd.DataFrame(merged.drop(columns="geometry")))
    return write_csv(table, siting_dir / "shortlist.csv")
