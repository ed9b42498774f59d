"""Pre-flight checks of one vector input, from its header and attribute columns.

Checks: the file opens (with the declared ``encoding:``), a GeoJSON legacy ``crs`` member GDAL
would ignore (GCJ-02, or any name that is not the CRS GDAL reads), garbled text from a GBK file
read as Latin-1 (a Shapefile without ``.cpg``), the fields named by ``where:`` and
``burn_field``, that ``where:`` keeps some features, and overlap with the grid. Geometry
validity is checked for the layers the grid and the county summaries are built from.

Inputs: a :class:`~sxplan.layers.specs.VectorLayerSpec`, the grid.
Outputs: facts about the layer and warnings; errors raise.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from sxplan._yaml import short
from sxplan.errors import (
    ConfigError,
    CRSError,
    CRSMismatchError,
    LayerIOError,
    LayerValueError,
    NoOverlapError,
)

__all__ = ["check_geometry_validity", "check_vector", "garbled_sample", "geojson_crs_name"]

#: Features whose text is read to look for garbled characters.
TEXT_SAMPLE = 500
_WGS84_NAMES = re.compile(r"(crs84|epsg::?4326$|epsg:4326$|wgs ?84$)", re.IGNORECASE)


def check_vector(name: str, spec, grid) -> tuple[dict, list[str]]:
    """Check one vector layer; return facts (features, fields) and warnings.

    Raises
    ------
    LayerIOError, CRSError, ConfigError, LayerValueError, NoOverlapError
    """
    import pyogrio

    path = Path(spec.path)
    where = f"layer '{name}' ({path})"
    if not path.exists():
        raise LayerIOError(
            f"{where}: file does not exist; check `path:` in `layers.{name}` (relative paths "
            "are taken from the config file's folder)"
        )
    kwargs = {"layer": spec.layer} if spec.layer else {}
    if spec.encoding:
        kwargs["encoding"] = spec.encoding
    try:
        info = pyogrio.read_info(path, force_total_bounds=True, **kwargs)
    except Exception as exc:  # pyogrio's DataSourceError, DataLayerError ...
        hint = f" (is there a layer '{spec.layer}'?)" if spec.layer else ""
        raise LayerIOError(
            f"{where}: cannot read the file{hint}: {str(exc)[:200]}; check it is a vector "
            "format GDAL reads (GeoPackage, Shapefile with .shx/.dbf/.prj, GeoJSON)"
        ) from None
    _check_geojson_crs(where, name, spec, path, info["crs"])
    if info["crs"] is not None and spec.crs is not None and not _same_crs(info["crs"], spec.crs):
        raise CRSMismatchError(
            f"{where} is in {info['crs']} but its spec says crs: {spec.crs}; remove `crs:` "
            "(it is only for files without one) or fix the file"
        )
    if info["crs"] is None and spec.crs is None:
        raise CRSError(
            f"{where} has no CRS; set `crs:` in `layers.{name}`, e.g. `crs: EPSG:4326` "
            "(or EPSG:4490 for CGCS2000)"
        )
    fields = [str(f) for f in info["fields"]]
    for label, field in [("where:", f) for f in (spec.where or {})] + [
        ("burn_field:", spec.burn_field)
    ]:
        if field is not None and field not in fields:
            raise ConfigError(
                f"{where}: `{label}` names field {short(field, 60)}, but the file has fields "
                f"{fields}; fix `layers.{name}`"
            )
    text_fields = [f for f, t in zip(fields, info["ogr_types"], strict=True) if t == "OFTString"]
    if text_fields:
        sample = pyogrio.read_dataframe(
            path, columns=text_fields, read_geometry=False, max_features=TEXT_SAMPLE, **kwargs
        )
        garbled = garbled_sample(sample)
        if garbled is not None:
            field, text, encoding = garbled
            raise LayerValueError(
                f"{where}: field '{field}' reads as garbled text ({short(text, 40)}); the file's "
                f"text is probably {encoding.upper()} and the file does not say so (a Shapefile "
                f"without .cpg). Set `encoding: {encoding}` in `layers.{name}`"
            )
    if spec.where:
        frame = pyogrio.read_dataframe(
            path, columns=list(spec.where), read_geometry=False, **kwargs
        )
        keep = frame.index == frame.index
        for field, values in spec.where.items():
            keep &= frame[field].isin(values)
        if not keep.any():
            raise LayerValueError(
                f"{where}: no feature matches `where: {short(spec.where, 120)}`; check the "
                "values against the file's attribute table"
            )
    _check_overlap(where, name, spec, info, grid)
    return {"features": int(info["features"]), "fields": fields}, []


def _check_overlap(where, name, spec, info, grid) -> None:
    import shapely
    from pyproj import CRS
    from rasterio.warp import transform_bounds

    bounds = info.get("total_bounds")
    if bounds is None or not all(map(lambda v: v == v, bounds)):
        return
    src_crs = CRS.from_user_input(info["crs"] or spec.crs)
    if spec.datum == "gcj02":
        return  # shifted by a few hundred metres on load; the run checks the shifted overlap
    try:
        b = transform_bounds(src_crs, grid.rasterio_crs, *bounds, densify_pts=21)
    except Exception:  # bounds outside the projection's domain
        b = None
    if b is None or not shapely.box(*b).intersects(shapely.box(*grid.bounds)):
        raise NoOverlapError(
            f"{where} spans {tuple(round(v, 4) for v in bounds)} in {src_crs.to_string()}, "
            "which does not overlap the study area; check its CRS and datum"
        )


def geojson_crs_name(path: Path) -> str | None:
    """The name in a GeoJSON file's legacy top-level ``crs`` member, if it has one."""
    if path.suffix.lower() not in (".geojson", ".json"):
        return None
    with open(path, "rb") as f:
        head = f.read(1 << 20)
    try:
        doc = json.loads(head) if len(head) < (1 << 20) else None
    except ValueError:
        doc = None
    if isinstance(doc, dict):
        crs = doc.get("crs")
        if not isinstance(crs, dict):
            return None
        props = crs.get("properties")
        return str(props.get("name")) if isinstance(props, dict) else json.dumps(crs)[:200]
    match = re.search(rb'"crs"\s*:\s*\{[^{}]*"name"\s*:\s*"([^"]{1,200})"', head)
    return match.group(1).decode("utf-8", "replace") if match else None


def _check_geojson_crs(where, name, spec, path: Path, read_crs) -> None:
    declared = geojson_crs_name(path)
    if declared is None or spec.datum == "gcj02" or spec.crs is not None:
        return
    if "gcj" not in declared.lower():
        if _WGS84_NAMES.search(declared.strip()):
            return
        if read_crs is not None and _same_crs(declared, read_crs):
            return  # GDAL understood the member and reads the file in that CRS
    gcj = "gcj" in declared.lower() or "mars" in declared.lower()
    what = (
        "GCJ-02 (the shifted datum of Amap/DataV), which GDAL ignores: it would read the "
        "coordinates as WGS84, several hundred metres off"
        if gcj
        else "a CRS other than WGS84; GDAL ignores this legacy member and reads the file as WGS84"
    )
    fix = (
        f"set `datum: gcj02` in `layers.{name}` to shift it on load"
        if gcj
        else f"reproject the file to WGS84, or set `crs:` in `layers.{name}` to the CRS the "
        "coordinates are really in"
    )
    raise CRSError(f"{where}: its GeoJSON `crs` member names {short(declared, 60)}, {what}; {fix}")


def garbled_sample(frame) -> tuple[str, str, str] | None:
    """First (field, text, likely encoding) whose text looks like GBK/UTF-8 read as Latin-1."""
    for field in frame.columns:
        for text in frame[field].dropna().astype(str):
            if "\ufffd" in text:
                return field, text, "gbk"
            if not any("\x80" <= ch <= "\xff" for ch in text):
                continue
            try:
                raw = text.encode("latin-1")
            except UnicodeEncodeError:
                continue
            for encoding in ("utf-8", "gbk"):
                try:
                    fixed = raw.decode(encoding)
                except UnicodeDecodeError:
                    continue
                if any("\u4e00" <= ch <= "\u9fff" for ch in fixed):
                    return field, text, encoding
    return None


def check_geometry_validity(gdf, name: str, path, label_fields=()) -> None:
    """Refuse invalid (e.g. self-intersecting) polygons, naming them and the fix."""
    import shapely

    geoms = gdf.geometry.values
    bad = ~shapely.is_valid(geoms)
    if not bad.any():
        return
    rows = gdf[bad]
    label = next((f for f in label_fields if f in gdf.columns), None)
    ids = rows[label].tolist()[:5] if label else rows.index.tolist()[:5]
    reason = shapely.is_valid_reason(geoms[bad][0])
    raise LayerValueError(
        f"layer '{name}' ({path}): {int(bad.sum())} invalid polygon(s) "
        f"({label or 'feature index'} {short(ids, 80)}; first: {reason}); union, area and "
        "overlay results would be wrong. Repair them, e.g. QGIS Vector > Geometry Tools > "
        "Fix Geometries, or `ogr2ogr -makevalid fixed.gpkg in.gpkg`, and point "
        f"`layers.{name}.path` at the repaired file"
    )


def _same_crs(a, b) -> bool:
    from pyproj import CRS
    from pyproj.exceptions import CRSError as ProjCRSError

    try:
        return CRS.from_user_input(a) == CRS.from_user_input(b)
    except ProjCRSError:
        return False
