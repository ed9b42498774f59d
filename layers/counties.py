"""Counties, validated once: standard columns, on the grid CRS, marked as checked.

The county layer feeds every stage (siting summaries, sinks, roadside PV, maps). It is checked
in one place, :func:`validate_counties`, by the layers step, under one CRS policy: a layer with
a CRS is reprojected to the grid CRS, a layer without one is refused. The validated frame is
marked with the grid it was checked for; stages call the cheap
:func:`require_validated_counties` instead of checking again.

Standard columns:

=====================  =======  =====================================================
column                 dtype    meaning
=====================  =======  =====================================================
``adcode``             int64    6-digit county code (GB/T 2260), unique
``name``               str      county name (Chinese)
``prefecture``         str      prefecture name
``prefecture_adcode``  integer  prefecture code; ``adcode // 100 * 100`` when absent
=====================  =======  =====================================================

Inputs: a county GeoDataFrame, the run's :class:`~sxplan.layers.grid.GridSpec`, the names of
its fields. Outputs: a GeoDataFrame with the standard columns and ``geometry``, in the grid CRS.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from sxplan.errors import ConfigError, CRSError, CRSMismatchError
from sxplan.schema import COUNTY_COLUMNS

from .grid import GridSpec

__all__ = [
    "COUNTY_COLUMNS",
    "VALIDATED_ATTR",
    "require_validated_counties",
    "validate_counties",
]

#: Key in ``GeoDataFrame.attrs`` marking a validated frame; its value names the grid.
VALIDATED_ATTR = "sxplan_counties"

_REQUIRED = ("adcode", "name", "prefecture")


def grid_token(grid: GridSpec) -> str:
    """A short, stable identifier of a grid (CRS, transform, shape)."""
    key = f"{grid.crs}|{tuple(grid.transform)[:6]!r}|{tuple(grid.shape)}"
    return "grid-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def _field_names(fields) -> dict[str, str]:
    """Standard column -> source field, from a mapping, an object with attributes or None."""
    names = {c: c for c in COUNTY_COLUMNS}
    if fields is None:
        return names
    for col in COUNTY_COLUMNS:
        value = fields.get(col) if isinstance(fields, Mapping) else getattr(fields, col, None)
        if value:
            names[col] = str(value)
    return names


def validate_counties(
    gdf,
    grid: GridSpec,
    *,
    fields=None,
    source: str | None = None,
    layer: str = "counties",
):
    """Check the county layer once and return it with standard columns in the grid CRS.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        County polygons as read.
    grid : GridSpec
        The run's grid; the result is in its CRS.
    fields : mapping or object, optional
        Source field of each standard column (``adcode``, ``name``, ``prefecture``,
        ``prefecture_adcode``), e.g. the project's ``county_fields``; default the standard
        names.
    source : str, optional
        The file the layer came from, for messages.
    layer : str
        The layer's name under ``layers:``, for messages.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``adcode`` (int64), ``name``, ``prefecture``, ``prefecture_adcode``
        (integer), ``geometry``; a fresh 0..n-1 index; marked as validated for ``grid``
        (``attrs["sxplan_counties"]``).

    Raises
    ------
    CRSError
        The layer has no CRS.
    ConfigError
        Missing fields, no features, empty geometries, non-integer or repeated adcodes.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> from sxplan.layers.grid import GridSpec
    >>> g = GridSpec.from_bounds((0, 0, 2000, 1000), 1000, "EPSG:3857")
    >>> raw = gpd.GeoDataFrame({"code": ["140105"], "name": ["小店区"], "pref": ["太原市"]},
    ...                        geometry=[box(0, 0, 1000, 1000)], crs="EPSG:3857")
    >>> c = validate_counties(raw, g, fields={"adcode": "code", "prefecture": "pref"})
    >>> c[["adcode", "prefecture_adcode"]].iloc[0].tolist(), list(c.columns)
    ([140105, 140100], ['adcode', 'name', 'prefecture', 'prefecture_adcode', 'geometry'])
    """
    where = f"county layer '{layer}'" + (f" ({source})" if source else "")
    names = _field_names(fields)
    fix_fields = "set `project.county_fields` to the names your file uses"
    missing = [names[c] for c in _REQUIRED if names[c] not in gdf.columns]
    if missing:
        have = sorted(str(c) for c in gdf.columns if c != gdf.geometry.name)
        raise ConfigError(
            f"{where} lacks fields {missing}; it has {have}. Set `project.county_fields` to "
            "the names your file uses (adcode, name, prefecture, optional prefecture_adcode)"
        )
    if len(gdf) == 0:
        raise ConfigError(f"{where} has no features; point `layers.{layer}` at the county file")
    if gdf.crs is None:
        raise CRSError(
            f"{where} has no CRS; set `crs:` in `layers.{layer}`, e.g. `crs: EPSG:4326` for "
            "longitude/latitude (GCJ-02 sources also need `datum: gcj02`)"
        )
    mapping = {names[c]: c for c in _REQUIRED}
    if names["prefecture_adcode"] in gdf.columns:
        mapping[names["prefecture_adcode"]] = "prefecture_adcode"
    out = gdf.rename(columns=mapping)[[*mapping.values(), gdf.geometry.name]]
    out = out.rename_geometry("geometry") if gdf.geometry.name != "geometry" else out
    out = out.reset_index(drop=True).copy()
    for col in ("adcode", "prefecture_adcode"):
        if col not in out.columns or (col != "adcode" and out[col].dtype.kind in "iu"):
            continue  # an integer prefecture code keeps the file's integer width
        try:
            out[col] = out[col].astype("int64")
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"{where}: field '{names[col]}' ({col}) must hold integer codes, e.g. 140105 "
                f"({exc}); fix the file or {fix_fields}"
            ) from None
    dup = sorted(out["adcode"][out["adcode"].duplicated()].unique().tolist())
    if dup:
        raise ConfigError(
            f"{where}: adcodes repeat in field '{names['adcode']}': {dup[:10]}; each county "
            "must be one feature (dissolve multi-part counties first)"
        )
    empty = out.geometry.isna() | out.geometry.is_empty
    if empty.any():
        raise ConfigError(
            f"{where}: counties {out.loc[empty, 'adcode'].tolist()[:10]} have no geometry; "
            "fix or drop them in the file"
        )
    if "prefecture_adcode" not in out.columns:
        out.insert(3, "prefecture_adcode", (out["adcode"] // 100) * 100)
    if not _same_crs(out.crs, grid):
        out = out.to_crs(grid.pyproj_crs)
    out.attrs[VALIDATED_ATTR] = grid_token(grid)
    return out


def require_validated_counties(gdf, grid: GridSpec, *, who: str = "this stage"):
    """Raise unless ``gdf`` came from :func:`validate_counties` for ``grid`` (cheap).

    Checks the mark, the standard columns and that the CRS is still the grid's; reads no
    geometry.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Counties.
    grid : GridSpec
        The run's grid.
    who : str
        The caller, for messages.

    Returns
    -------
    geopandas.GeoDataFrame
        ``gdf`` itself.

    Raises
    ------
    ConfigError
        Not validated (or validated for another grid), or standard columns missing.
    CRSMismatchError
        Reprojected after validation.
    """
    mark = getattr(gdf, "attrs", {}).get(VALIDATED_ATTR)
    fix = (
        "pass the county layer through sxplan.layers.counties.validate_counties(gdf, grid, "
        "fields=...) first (sxplan runs do this in the layers step)"
    )
    if mark is None:
        raise ConfigError(f"{who}: the counties were not validated; {fix}")
    if mark != grid_token(grid):
        raise ConfigError(f"{who}: the counties were validated for another grid; {fix}")
    missing = [c for c in COUNTY_COLUMNS if c not in gdf.columns]
    if missing:
        raise ConfigError(f"{who}: the counties lack columns {missing} after validation; {fix}")
    if not _same_crs(gdf.crs, grid):
        name = getattr(gdf.crs, "name", gdf.crs)
        raise CRSMismatchError(
            f"{who}: county polygons are in {name!r} but the grid is in "
            f"{grid.pyproj_crs.name!r}; use the counties validate_counties returned "
            "(already in the grid CRS) instead of reprojecting them"
        )
    return gdf


def _same_crs(crs, grid: GridSpec) -> bool:
    if crs is None:
        return False
    from pyproj import CRS

    return CRS.from_user_input(crs) == grid.pyproj_crs
