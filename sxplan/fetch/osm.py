"""OpenStreetMap motorways and trunk roads from a PBF extract, written as a GeoPackage.

Reads with pyosmium (``osmium``, optional extra ``fetch``): node locations are kept for way
geometries, only ways whose ``highway`` tag is in the keep list are built, and those that touch
the box are clipped to it. The OSM tags that roadside PV reads are kept as columns:
``highway``, ``ref``, ``name``, ``tunnel``, ``bridge``, ``oneway``, ``layer``, plus ``osm_id``.

Inputs: an ``.osm.pbf`` (or ``.osm``) file and a box in degrees. Outputs: a GeoPackage layer
``roads`` in EPSG:4326.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import shapely

from sxplan.errors import ConfigError, NoOverlapError

__all__ = ["ROAD_TAGS", "extract_roads"]

#: OSM tags kept as columns (absent tags are empty strings; roadside PV reads tunnel/bridge)
ROAD_TAGS = ("highway", "ref", "name", "tunnel", "bridge", "oneway", "layer")


def _osmium():
    try:
        import osmium
    except ImportError:  # optional dependency
        raise ConfigError(
            "reading OpenStreetMap PBF files needs pyosmium: pip install 'sxplan[fetch]' "
            "(conda: pyosmium)"
        ) from None
    return osmium


def extract_roads(
    pbf: Path, bounds: tuple[float, float, float, float], keep: list[str]
) -> gpd.GeoDataFrame:
    """Return the ways of ``pbf`` whose ``highway`` is in ``keep``, clipped to ``bounds``.

    Parameters
    ----------
    pbf : pathlib.Path
        OSM PBF (or XML) file.
    bounds : tuple of float
        (west, south, east, north) in degrees.
    keep : list of str
        ``highway`` values to keep, e.g. ``["motorway", "trunk"]``.

    Returns
    -------
    geopandas.GeoDataFrame
        LineStrings in EPSG:4326 with ``osm_id`` and :data:`ROAD_TAGS`.

    Raises
    ------
    sxplan.errors.NoOverlapError
        No kept road lies in the box.
    """
    osmium = _osmium()
    box = shapely.box(*bounds)
    wkb = osmium.geom.WKBFactory()
    rows, geoms = [], []
    keep_set = set(keep)
    proc = (
        osmium.FileProcessor(str(pbf), osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        .with_filter(osmium.filter.TagFilter(*(("highway", v) for v in keep_set)))
    )
    for way in proc:
        try:
            line = shapely.from_wkb(wkb.create_linestring(way))
        except (osmium.InvalidLocationError, RuntimeError):  # nodes outside the extract
            continue
        if not line.intersects(box):
            continue
        geoms.append(line.intersection(box))
        rows.append({"osm_id": way.id, **{t: way.tags.get(t, "") for t in ROAD_TAGS}})
    if not rows:
        raise NoOverlapError(
            f"{pbf.name}: no OSM way with highway={'|'.join(sorted(keep_set))} in the box "
            f"{tuple(round(v, 4) for v in bounds)}; is it the extract of the right region?"
        )
    gdf = gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326").explode(ignore_index=True)
    return gdf[gdf.geom_type == "LineString"].reset_index(drop=True)
