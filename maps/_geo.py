"""Vector layers for display: checked for a CRS, reproject, simplify, round, to GeoJSON.

Geometry is simplified in an equal-area metric CRS (tolerance in metres, tied to the zoom levels
a province map is read at), reprojected to WGS84 (EPSG:4326), optionally shifted to GCJ-02 for
the Amap base map, and rounded to a few decimals of a degree so the HTML stays small.
Simplification is for display only; the analysis files in the run folder are never changed.

Inputs: GeoPackage layers with a CRS, read through :mod:`sxplan.schema`. Outputs:
GeoDataFrames in EPSG:4326 and GeoJSON FeatureCollections (plain dicts).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import mapping

from sxplan.errors import CRSError
from sxplan.layers.datum import geometry_wgs84_to_gcj02
from sxplan.layers.grid import ALBERS_CHINA

__all__ = ["display_geometries", "feature_collection", "to_wgs84"]


def to_wgs84(gdf: gpd.GeoDataFrame, *, what: str) -> gpd.GeoDataFrame:
    """A layer read from a run folder, in EPSG:4326, without empty geometries.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Features as read (by :func:`sxplan.schema.read_table`).
    what : str
        The file and layer, for messages.

    Returns
    -------
    geopandas.GeoDataFrame
        Features with non-empty geometry, in EPSG:4326.

    Raises
    ------
    CRSError
        If the layer has no CRS.
    """
    if gdf.crs is None:
        raise CRSError(
            f"map layer {what} has no CRS; the stage that wrote it must set one "
            "(run-folder vectors are EPSG:4326)"
        )
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    gdf = gdf[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]
    if not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs("EPSG:4326")
    return gdf


def display_geometries(
    gdf: gpd.GeoDataFrame,
    *,
    tolerance_m: float,
    decimals: int,
    coverage: bool = False,
    to_gcj02: bool = False,
) -> np.ndarray:
    """Simplify, reproject to EPSG:4326, optionally shift to GCJ-02, and round geometries.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Features in any CRS.
    tolerance_m : float
        Simplification tolerance in metres (0 keeps every vertex).
    decimals : int
        Decimal places kept in degrees (4 is about 10 m, 5 about 1 m).
    coverage : bool
        Polygons tile the plane (counties, prefectures): simplify shared edges once so
        neighbours keep meeting without gaps or overlaps.
    to_gcj02 : bool
        Shift WGS84 to GCJ-02 (only for an Amap base map).

    Returns
    -------
    numpy.ndarray of shapely geometries
        One per input row, in EPSG:4326 (or GCJ-02 when shifted).
    """
    metric = gdf.geometry.to_crs(ALBERS_CHINA)
    geoms = np.asarray(metric.to_numpy(), dtype=object)
    if tolerance_m > 0:
        simplified = None
        if coverage and len(geoms) > 1:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    if bool(np.all(shapely.coverage_is_valid(geoms))):
                        simplified = shapely.coverage_simplify(geoms, tolerance_m)
            except Exception:  # noqa: BLE001 - not a valid coverage: simplify one by one
                simplified = None
        if simplified is None:
            simplified = shapely.simplify(geoms, tolerance_m, preserve_topology=True)
        # A part smaller than the tolerance may vanish; keep the original then.
        lost = shapely.is_empty(simplified) & ~shapely.is_empty(geoms)
        geoms = np.where(lost, geoms, simplified)
    wgs = gpd.GeoSeries(geoms, crs=ALBERS_CHINA).to_crs("EPSG:4326")
    out = np.asarray(wgs.to_numpy(), dtype=object)
    if to_gcj02:
        out = np.array([geometry_wgs84_to_gcj02(g) for g in out], dtype=object)
    return shapely.transform(out, lambda xy: np.round(xy, decimals))


def feature_collection(
    geoms: Sequence[Any], properties: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """Build a GeoJSON FeatureCollection from geometries and property dicts.

    Parameters
    ----------
    geoms : sequence of shapely geometries
        Display geometries (already rounded).
    properties : sequence of dict
        One property dict per geometry (already escaped display strings).

    Returns
    -------
    dict
        A GeoJSON FeatureCollection; empty geometries are left out.
    """
    features = []
    for geom, props in zip(geoms, properties, strict=True):
        if geom is None or geom.is_empty:
            continue
        features.append({"type": "Feature", "geometry": mapping(geom), "properties": props})
    return {"type": "FeatureCollection", "features": features}
