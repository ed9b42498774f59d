"""The study area of a fetch: the demo province, one county of it, or a user's vector file.

``shanxi`` and county adcodes come from the embedded ``sxplan/data/shanxi/admin.gpkg``. Its
boundaries were drawn in GCJ-02 (DataV) and shifted to WGS84 when the demo data were built
(``scripts/demo_build``, DATA.md), so they are read as WGS84 here, as the demo config does. A
user file must carry a CRS; ``datum="gcj02"`` shifts an Amap/DataV-derived file to WGS84.

Inputs: ``--area`` text. Outputs: :class:`StudyArea` (WGS84 frames and a box with margin).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import shapely

from sxplan.errors import ConfigError
from sxplan.layers.grid import ALBERS_CHINA

__all__ = ["StudyArea", "resolve_area"]


@dataclass
class StudyArea:
    """A study area in WGS84 (EPSG:4326).

    Attributes
    ----------
    name : str
        Shown in outputs (``shanxi``, the county name, or the file stem).
    kind : {"province", "county", "file"}
        Where it came from.
    area : geopandas.GeoDataFrame
        One row: the area's polygon.
    counties : geopandas.GeoDataFrame
        Counties with ``adcode``, ``name``, ``prefecture`` (clipped to the area).
    prefectures : geopandas.GeoDataFrame or None
        Prefectures clipped to the area (demo areas only).
    bounds : tuple of float
        (west, south, east, north) in degrees of the area plus the margin.
    margin_m : float
        The margin in metres.
    """

    name: str
    kind: str
    area: gpd.GeoDataFrame
    counties: gpd.GeoDataFrame
    prefectures: gpd.GeoDataFrame | None
    bounds: tuple[float, float, float, float]
    margin_m: float

    @property
    def area_km2(self) -> float:
        """Area of the polygon in km2 (Albers equal-area)."""
        return float(self.area.to_crs(ALBERS_CHINA).area.sum() / 1e6)


def _admin(layer: str) -> gpd.GeoDataFrame:
    from sxplan.config import demo_config_path

    path = demo_config_path().parent / "shanxi" / "admin.gpkg"
    return gpd.read_file(path, layer=layer)


def _box_with_margin(area: gpd.GeoDataFrame, margin_m: float) -> tuple[float, ...]:
    grown = area.to_crs(ALBERS_CHINA).buffer(margin_m).to_crs("EPSG:4326")
    return tuple(float(v) for v in grown.total_bounds)


def resolve_area(text: str, margin_m: float = 5000.0, datum: str = "wgs84") -> StudyArea:
    """Turn ``--area`` into a :class:`StudyArea`.

    Parameters
    ----------
    text : str
        ``shanxi``, a six-digit county adcode of Shanxi, or a path to a vector file.
    margin_m : float
        Margin around the area, in metres, for the clipping box.
    datum : {"wgs84", "gcj02"}
        Datum of a user file's coordinates.

    Returns
    -------
    StudyArea

    Raises
    ------
    sxplan.errors.ConfigError
        An adcode that is not a Shanxi county, or a path that does not exist.
    """
    if text.lower() == "shanxi":
        prov = _admin("province")
        area = gpd.GeoDataFrame({"name": ["shanxi"]}, geometry=[prov.union_all()], crs=prov.crs)
        counties, prefs, name, kind = (
            _admin("counties"),
            _admin("prefectures"),
            "shanxi",
            "province",
        )
    elif text.isdigit():
        counties = _admin("counties")
        counties = counties[counties["adcode"].astype(str) == text]
        if counties.empty:
            raise ConfigError(
                f"--area {text}: not a county adcode of the embedded Shanxi boundaries "
                "(140105 ... 141082); give `shanxi`, a Shanxi county adcode, or a vector file"
            )
        name, kind = str(counties["name"].iloc[0]), "county"
        area = gpd.GeoDataFrame({"name": [name]}, geometry=[counties.union_all()], crs=counties.crs)
        prefs = _admin("prefectures")
        prefs = prefs[prefs["adcode"] == counties["prefecture_adcode"].iloc[0]]
    else:
        area, counties, prefs, name = _user_area(Path(text), datum), None, None, Path(text).stem
        kind = "file"
    if counties is None or kind == "file":
        counties = _counties_for(area, name)
    else:
        counties = counties[["adcode", "name", "prefecture", "geometry"]].reset_index(drop=True)
    return StudyArea(name, kind, area, counties, prefs, _box_with_margin(area, margin_m), margin_m)


def _user_area(path: Path, datum: str) -> gpd.GeoDataFrame:
    from sxplan.layers.specs import VectorLayerSpec
    from sxplan.layers.vector import load_vector

    if not path.exists():
        raise ConfigError(
            f"--area {path}: no such file; give `shanxi`, a Shanxi county adcode, or a vector "
            "file (GeoPackage, shapefile, GeoJSON) with a CRS"
        )
    gdf = load_vector(VectorLayerSpec(path=path, datum=datum), name="--area").to_crs("EPSG:4326")
    return gpd.GeoDataFrame({"name": [path.stem]}, geometry=[gdf.union_all()], crs="EPSG:4326")


def _counties_for(area: gpd.GeoDataFrame, name: str) -> gpd.GeoDataFrame:
    """Shanxi counties clipped to a user area; the area itself when it lies outside Shanxi."""
    counties = _admin("counties")
    clipped = gpd.clip(counties, area)
    clipped = clipped[~clipped.geometry.is_empty & (shapely.area(clipped.geometry.values) > 0)]
    clipped = clipped[clipped.geom_type.isin(["Polygon", "MultiPolygon"])]
    if len(clipped):
        return clipped[["adcode", "name", "prefecture", "geometry"]].reset_index(drop=True)
    return gpd.GeoDataFrame(  # 999999: not a real adcode, the area stands as its one "county"
        {"adcode": [999999], "name": [name], "prefecture": [name]},
        geometry=list(area.geometry),
        crs=area.crs,
    )
