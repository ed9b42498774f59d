"""Read the existing sites of a backtest: a CSV with longitude/latitude, or any vector file.

Inputs: a file path and its options (coordinate columns, datum, capacity, accuracy, id and
name fields). Outputs: a GeoDataFrame in EPSG:4326 with ``site_id``, ``name``, ``capacity_mw``,
``accuracy``, ``geometry`` in the file's CRS (the user's file is only read).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from sxplan.errors import ConfigError, LayerIOError

__all__ = ["LON_NAMES", "LAT_NAMES", "SiteOptions", "load_sites"]

#: Column names taken as longitude / latitude when none is given (case-insensitive).
LON_NAMES = ("lon", "longitude", "lng", "long", "经度")
LAT_NAMES = ("lat", "latitude", "纬度")
_ID_NAMES = ("site_id", "id", "fid")
_NAME_NAMES = ("name", "name_zh", "project", "名称", "项目名称")


@dataclass(frozen=True)
class SiteOptions:
    """How to read a site file.

    Attributes
    ----------
    datum : {"wgs84", "gcj02"}
        Datum of the coordinates; GCJ-02 (Amap, Baidu-derived) is shifted to WGS84.
    lon_field, lat_field : str, optional
        CSV coordinate columns (default: the first of :data:`LON_NAMES` / :data:`LAT_NAMES`).
    capacity_field : str, optional
        Field with installed capacity in MW.
    accuracy_field : str, optional
        Field with a location-accuracy label, carried to the outputs.
    layer : str, optional
        Layer of a multi-layer vector file.
    """

    datum: str = "wgs84"
    lon_field: str | None = None
    lat_field: str | None = None
    capacity_field: str | None = None
    accuracy_field: str | None = None
    layer: str | None = None


def _pick(columns, given: str | None, names, what: str, path: Path, option: str) -> str:
    if given is not None:
        if given not in columns:
            raise ConfigError(
                f"site file {path}: {what} column {given!r} ({option}) is not in its columns "
                f"{list(columns)}"
            )
        return given
    lower = {str(c).lower(): c for c in columns}
    for n in names:
        if n in lower:
            return lower[n]
    raise ConfigError(
        f"site file {path}: no {what} column (looked for {list(names)}); name it with {option}"
    )


def _read_csv(path: Path, opts: SiteOptions) -> gpd.GeoDataFrame:
    frame = None
    for enc in ("utf-8-sig", "gbk"):  # Excel in China saves CSV as GBK
        try:
            frame = pd.read_csv(path, encoding=enc)
            break
        except UnicodeDecodeError:
            continue
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise LayerIOError(f"site file {path} is not a readable CSV ({exc})") from None
    if frame is None:
        raise LayerIOError(f"site file {path} is neither UTF-8 nor GBK text; save it as UTF-8")
    lon = _pick(frame.columns, opts.lon_field, LON_NAMES, "longitude", path, "--lon-field")
    lat = _pick(frame.columns, opts.lat_field, LAT_NAMES, "latitude", path, "--lat-field")
    x = pd.to_numeric(frame[lon], errors="coerce")
    y = pd.to_numeric(frame[lat], errors="coerce")
    bad = x.isna() | y.isna() | (x.abs() > 180) | (y.abs() > 90)
    if bad.any():
        rows = [int(i) + 2 for i in np.flatnonzero(bad.to_numpy())[:5]]
        raise ConfigError(
            f"site file {path}: {int(bad.sum())} rows have no valid {lon}/{lat} in degrees "
            f"(file lines {rows}...); fix or remove them (projected x/y: save the file as a "
            "GeoPackage with its CRS instead)"
        )
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(x, y), crs="EPSG:4326")


def load_sites(path: str | Path, opts: SiteOptions) -> gpd.GeoDataFrame:
    """Read a site file into standard columns, in EPSG:4326 on the WGS84 datum.

    Parameters
    ----------
    path : str or pathlib.Path
        CSV with longitude/latitude columns, or a vector file GDAL reads (points or polygons).
    opts : SiteOptions
        Reading options.

    Returns
    -------
    geopandas.GeoDataFrame
        ``site_id``, ``name``, ``capacity_mw``, ``accuracy``, ``geometry`` (in the file's CRS,
        on the WGS84 datum; CSV: EPSG:4326).
    """
    from sxplan.layers.datum import gdf_gcj02_to_wgs84
    from sxplan.layers.specs import VectorLayerSpec
    from sxplan.layers.vector import load_vector

    path = Path(path)
    if not path.is_file():
        raise LayerIOError(f"site file {path} does not exist; check the --sites path")
    if path.suffix.lower() in (".csv", ".txt"):
        gdf = _read_csv(path, opts)
        if opts.datum == "gcj02":
            gdf = gdf_gcj02_to_wgs84(gdf)
    else:
        spec = VectorLayerSpec(path=path, layer=opts.layer, datum=opts.datum)
        gdf = load_vector(spec, name="sites")  # kept in its CRS: exact cell areas
    if gdf.empty:
        raise ConfigError(f"site file {path} has no sites; it needs at least one row")
    cols = [c for c in gdf.columns if c != "geometry"]
    out = gpd.GeoDataFrame(geometry=gdf.geometry.reset_index(drop=True), crs=gdf.crs)
    lower = {str(c).lower(): c for c in cols}
    id_col = next((lower[n] for n in _ID_NAMES if n in lower), None)
    name_col = next((lower[n] for n in _NAME_NAMES if n in lower), None)
    n = len(gdf)
    out.insert(0, "site_id", gdf[id_col].astype(str).to_numpy() if id_col else
               [str(i + 1) for i in range(n)])  # fmt: skip
    out.insert(1, "name", gdf[name_col].astype(str).to_numpy() if name_col else "")
    cap = np.full(n, np.nan)
    if opts.capacity_field is not None:
        _pick(cols, opts.capacity_field, (), "capacity", path, "--capacity-field")
        cap = pd.to_numeric(gdf[opts.capacity_field], errors="coerce").to_numpy(dtype="float64")
        if np.isnan(cap).any() or (cap < 0).any():
            raise ConfigError(
                f"site file {path}: capacity field {opts.capacity_field!r} has "
                f"{int(np.isnan(cap).sum() + (cap < 0).sum())} empty, non-numeric or negative "
                "values; give every site its capacity in MW"
            )
    out.insert(2, "capacity_mw", cap)
    acc = [""] * n
    if opts.accuracy_field is not None:
        _pick(cols, opts.accuracy_field, (), "accuracy", path, "--accuracy-field")
        acc = gdf[opts.accuracy_field].astype(str).to_numpy()
    out.insert(3, "accuracy", acc)
    kinds = set(out.geom_type)
    if not kinds <= {"Point", "MultiPoint", "Polygon", "MultiPolygon"}:
        raise ConfigError(f"site file {path} holds {sorted(kinds)}; sites are points or polygons")
    return out
