"""One ranked shortlist across utility PV, wind and roadside PV.

:func:`parcel_shortlist` takes the best parcels of each parcel technology;
:func:`merge_roadside_shortlist` adds the roadside PV strips to the files written. Leading
columns, file and layer names come from :mod:`sxplan.schema` (``siting.shortlist``).

Inputs: per-technology parcel tables from :func:`sxplan.siting.run.run_siting`; the parcel
shortlist it wrote (``shortlist.gpkg``) and the roadside PV rows from
:func:`sxplan.siting.roadside.run_roadside_pv`.
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
from sxplan.schema import dataset

from .technology import label_zh, technology_names

__all__ = ["merge_roadside_shortlist", "parcel_shortlist", "roadside_rows_as_shortlist"]

_CSV = dataset("siting.shortlist")
_GPKG = dataset("siting.shortlist_gpkg")
#: Leading columns, in order (the others follow in the order of the parcel tables).
FIRST_COLUMNS = [c.name for c in _CSV.columns if c.required]


def parcel_shortlist(results: dict, top_n: int, rank_by: str = "score") -> gpd.GeoDataFrame:
    """The ``top_n`` best parcels of every technology, schema columns first.

    Parameters
    ----------
    results : dict of str to TechResult
        Per technology; ``parcels`` ranked.
    top_n : int
        Parcels per technology.
    rank_by : {"score", "lcoe"}
        Take the best ``top_n`` by ``rank`` (suitability) or by ``rank_lcoe`` (cheapest
        first), listed in that order; a technology whose parcels have no ``rank_lcoe`` (no
        costs for it in ``siting.economics``) is taken by ``rank``.

    Returns
    -------
    geopandas.GeoDataFrame
        Rows of every technology in turn, ``geometry`` last (EPSG:4326).
    """
    want = "rank_lcoe" if rank_by == "lcoe" else "rank"
    frames = []
    for tr in results.values():  # a technology without costs in siting.economics: by score
        col = want if want in tr.parcels.columns else "rank"
        rows = tr.parcels[tr.parcels[col] <= top_n].sort_values(col, kind="mergesort")
        frames.append(_with_outlines(tr, rows))
    sl = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    sl["technology_zh"] = sl["technology"].map(label_zh)
    cols = [c for c in FIRST_COLUMNS if c in sl.columns]
    cols += [c for c in sl.columns if c not in cols and c != "geometry"] + ["geometry"]
    return sl[cols]


def _with_outlines(tr, rows: pd.DataFrame) -> gpd.GeoDataFrame:
    """``rows`` of ``tr.parcels`` with their outlines (EPSG:4326).

    From the run's outline store while the run writes its files; afterwards from the written
    ``parcels_<tech>.gpkg``, only the rows asked for (a national run writes 10^5 outlines),
    or the error of :meth:`~sxplan.siting.results.TechResult.parcels_with_outlines` when it
    has not been written.
    """
    if tr.outlines is not None:
        return tr.outlines.frame(rows)
    if tr.parcels_gpkg is None:
        return tr.parcels_with_outlines()  # raises: not written yet
    ids = [str(i) for i in rows["parcel_id"]]
    if not ids:
        return gpd.GeoDataFrame(rows.copy(), geometry=[], crs="EPSG:4326")
    listed = ",".join("'" + i.replace("'", "''") + "'" for i in ids)
    written = gpd.read_file(
        tr.parcels_gpkg, engine="pyogrio", columns=["parcel_id"],
        where=f"parcel_id IN ({listed})",
    ).set_index("parcel_id")  # fmt: skip
    geoms = written.geometry.loc[ids].to_numpy()
    return gpd.GeoDataFrame(rows.copy(), geometry=geoms, crs=written.crs)


def write_shortlist(
    shortlist: gpd.GeoDataFrame, siting_dir: str | Path, *, parcels: bool = True
) -> dict[str, Path]:
    """Write ``shortlist.csv`` (rounded, UTF-8 with BOM) and ``shortlist.gpkg``.

    Parameters
    ----------
    shortlist : geopandas.GeoDataFrame
        Rows in EPSG:4326, checked against :mod:`sxplan.schema`.
    siting_dir : str or pathlib.Path
        The run's ``siting/`` folder.
    parcels : bool
        Whether parcel rows are present; a roadside-only shortlist lacks the parcel columns
        (bases, GCJ-02 coordinates), so only unknown columns are refused.

    Returns
    -------
    dict
        ``{"shortlist": csv path, "shortlist_gpkg": gpkg path}``.
    """
    siting_dir = Path(siting_dir)
    table = _CSV.check(pd.DataFrame(shortlist.drop(columns="geometry")), complete=parcels)
    gpkg = gpd.GeoDataFrame(
        _GPKG.check(shortlist, complete=parcels), geometry="geometry", crs="EPSG:4326"
    )
    return {
        "shortlist": write_csv(round_for_csv(table), siting_dir / _CSV.filename()),
        "shortlist_gpkg": write_gpkg(gpkg, siting_dir / _GPKG.filename(), _GPKG.layer_name()),
    }


def roadside_rows_as_shortlist(rows: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Roadside shortlist rows ranked by score, with the shortlist's rank and score columns.

    The rows already carry the shortlist's id, technology and county columns; a strip has one
    score, which becomes both ``score_mean`` and ``score_max``.

    Parameters
    ----------
    rows : geopandas.GeoDataFrame
        ``RoadsidePVResult.shortlist`` (parcel_id, technology, county columns, score, lon, lat,
        ...).

    Returns
    -------
    geopandas.GeoDataFrame
        In EPSG:4326 with ``rank``, ``parcel_id``, ``technology``, ``technology_zh``, ``county``,
        ``score_mean`` and ``score_max`` (both the strip's score), plus the roadside columns.
    """
    if rows is None or len(rows) == 0:
        return gpd.GeoDataFrame({"technology": []}, geometry=[], crs="EPSG:4326")
    out = rows.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out["technology_zh"] = out["technology"].map(label_zh)
    out["score_mean"] = out["score"]
    out["score_max"] = out["score"]
    return out.drop(columns=["score"]).to_crs("EPSG:4326")


def merge_roadside_shortlist(
    siting_dir: str | Path, rows: gpd.GeoDataFrame, parcels: gpd.GeoDataFrame | None = None
) -> Path:
    """Append roadside PV rows to ``shortlist.csv``/``.gpkg`` in ``siting_dir``.

    When no parcel shortlist exists yet (roadside PV run alone), the roadside rows become the
    shortlist. Columns of the parcel shortlist come first; roadside-only columns follow.

    Parameters
    ----------
    siting_dir : str or pathlib.Path
        The run's ``siting/`` folder.
    rows : geopandas.GeoDataFrame
        Roadside shortlist rows.
    parcels : geopandas.GeoDataFrame, optional
        The parcel shortlist of the same run, in memory
        (:meth:`sxplan.siting.results.SitingResult.shortlist_frame`); when not given, the
        ``shortlist.gpkg`` already in ``siting_dir`` (if any) is read.

    Returns
    -------
    pathlib.Path
        The CSV written.
    """
    siting_dir = Path(siting_dir)
    road = roadside_rows_as_shortlist(rows)
    gpkg = siting_dir / _GPKG.filename()
    has_parcels = False
    if parcels is None and gpkg.exists():
        parcels = gpd.read_file(gpkg, layer=_GPKG.layer_name())
    if parcels is not None:
        parcels = parcels[~parcels["technology"].isin(technology_names(engine="strips"))]
        has_parcels = len(parcels) > 0
        cols = [c for c in parcels.columns if c != "geometry"]
        cols += [c for c in road.columns if c not in cols and c != "geometry"]
        merged = pd.concat([parcels, road], ignore_index=True)[[*cols, "geometry"]]
    else:
        merged = road
    merged = gpd.GeoDataFrame(merged, geometry="geometry", crs="EPSG:4326")
    return write_shortlist(merged, siting_dir, parcels=has_parcels)["shortlist"]
