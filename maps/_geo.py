"""Vector layers for display: read from a run folder, reproject, simplify, round, to GeoJSON.

Geometry is simplified in an equal-area metric CRS (tolerance in metres, tied to the zoom levels
a province map is read at), reprojected to WGS84 (EPSG:4326), optionally shifted to GCJ-02 for
the Amap base map, and rounded to a few decimals of a degree so the HTML stays small.
Simplification is for display only; the analysis files in the run folder are never changed.

Inputs: GeoPackage layers with a CRS. Outputs: GeoDataFrames in EPSG:4326 and GeoJSON
FeatureCollections (plain dicts).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import mapping

from sxplan.errors import CRSError, LayerIOError
from sxplan.layers.datum import geometry_wgs84_to_gcj02
from sxplan.layers.grid import ALBERS_CHINA

__all__ = ["display_geometries", "feature_collection", "list_layers", "read_vector"]


def list_layers(path: Path) -> list[str]:
    """Return the layer names of a GeoPackage, or an empty list if the file does not exist.

    Parameters
    ----------
    path : pathlib.Path
        GeoPackage file.

    Returns
    -------
    list of str
        Layer names.
    """
    if not path.is_file():
        return []
    import pyogrio

    try:
        return [str(name) for name in pyogrio.list_layers(path)[:, 0]]
    except Exception as exc:  # noqa: BLE001 - any driver failure becomes one clear error
        raise LayerIOError(
            f"{path} is not a GeoPackage GDAL can read ({exc}); re-run the stage that wrote it"
        ) from exc


def read_vector(path: Path, layer: str | None = None, *, what: str) -> gpd.GeoDataFrame:
    """Read a vector layer and return it in EPSG:4326.

    Parameters
    ----------
    path : pathlib.Path
        GeoPackage file.
    layer : str, optional
        Layer name inside the file; the first layer when omitted.
    what : str
        Name of the layer, for messages.

    Returns
    -------
    geopandas.GeoDataFrame
        Features with non-empty geometry, in EPSG:4326.

    Raises
    ------
    LayerIOError
        If the file or layer is missing or unreadable.
    CRSError
        If the layer has no CRS.
    """
    if not path.is_file():
        raise LayerIOError(f"map layer '{what}': file {path} does not exist")
    try:
        gdf = gpd.read_file(path, layer=layer)
    except Exception as exc:  # noqa: BLE001
        raise LayerIOError(
            f"map layer '{what}': cannot read layer {layer!r} of {path} ({exc}); "
            "re-run the stage that wrote it"
        ) from exc
    if gdf.crs is None:
        raise CRSError(
            f"map layer '{what}' ({path}, layer {layer!r}) has no CRS; the stage that wrote it "
            "must set one (run-folder vectors are EPSG:4326)"
        )
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
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
