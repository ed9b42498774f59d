"""The run-folder contract: every output file, layer and column, with its unit.

A run folder is read by people (QGIS, Excel) and by sxplan itself (``sxplan map``, reports,
backtests). Writers and readers go through this one module: a writer checks its
table with :meth:`Dataset.check` before writing, a reader opens a table with
:func:`read_table`, which says which file, layer or column is missing instead of guessing a
column name. Nothing here imports pandas, geopandas or rasterio until a table is read.

Column names carry their unit (``area_km2``, ``capacity_mw``, ``energy_gwh_per_yr``); each
:class:`Column` also states the unit and its meaning in words. Some columns come in families
named after the run's settings (``crit_<criterion>``, ``score_<criterion>``,
``mean_<layer>_<units>``, ``lc_<class>_share``, ``excluded_<rule>_km2``): a
:class:`Dataset` lists them as patterns.

Inputs: none. Outputs: :data:`DATASETS` (by key), :func:`dataset`, :func:`read_table`,
:func:`read_json`, :func:`require_columns`, :func:`technology_columns`.

Examples
--------
>>> dataset("siting.parcels").relpath(tech="pv")
'siting/parcels_pv.gpkg'
>>> dataset("siting.parcels").layer_name(tech="wind")
'parcels_wind'
>>> dataset("sinks.trajectory").column("sink_tco2_per_yr").unit
'tCO2/yr'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sxplan.errors import RunFolderError

__all__ = [
    "COUNTY_COLUMNS",
    "DATASETS",
    "SCHEMA_VERSION",
    "Column",
    "Dataset",
    "dataset",
    "read_json",
    "read_table",
    "require_columns",
    "technology_columns",
]

#: Version of this contract, written to ``run.json`` as ``sxplan_run``.
SCHEMA_VERSION = 1

Kind = Literal["csv", "gpkg", "tif", "json", "html"]


#: Placeholders of column families that are narrower than "any text".
_PLACEHOLDER_REGEX = {"year": r"\d{4}"}


@dataclass(frozen=True)
class Column:
    """One column of an output table.

    Attributes
    ----------
    name : str
        Exact column name, or a pattern with one ``{placeholder}`` for a family of columns.
    unit : str
        Unit (``km2``, ``MW``, ``GWh/yr``, ``1`` for a 0-1 share, ``%``, ``""`` for text/ids).
    meaning : str
        What it holds, in a phrase.
    required : bool
        Readers may rely on it: a file without it is refused by :func:`read_table`.
    """

    name: str
    unit: str
    meaning: str
    required: bool = True

    @property
    def is_pattern(self) -> bool:
        """True for a family of columns (``crit_{criterion}``)."""
        return "{" in self.name

    def matches(self, name: str) -> bool:
        """Whether ``name`` is this column (or a member of this family).

        Examples
        --------
        >>> Column("crit_{criterion}", "", "raw criterion value").matches("crit_slope_pct")
        True
        """
        if not self.is_pattern:
            return name == self.name
        return re.fullmatch(self._regex(), name) is not None

    def _regex(self) -> str:
        """The pattern as a regular expression: ``{year}`` is four digits, others any text."""
        parts = re.split(r"\{([a-z_]+)\}", self.name)
        out = []
        for i, part in enumerate(parts):
            if i % 2 == 0:
                out.append(re.escape(part))
            else:
                out.append(_PLACEHOLDER_REGEX.get(part, ".+"))
        return "".join(out)


def _columns(table: str, required: bool = True) -> tuple[Column, ...]:
    """Columns from ``name | unit | meaning`` lines (one fact per line, easy to read)."""
    out = []
    for line in table.strip().splitlines():
        name, unit, meaning = (part.strip() for part in line.split("|"))
        out.append(Column(name, unit, meaning, required))
    return tuple(out)


@dataclass(frozen=True)
class Dataset:
    """One output file (and layer) of a run folder.

    Attributes
    ----------
    key : str
        Stable name, ``<stage>.<what>`` (``siting.parcels``).
    path : str
        Path relative to the run folder; may contain ``{tech}``.
    kind : {"csv", "gpkg", "tif", "json", "html"}
        File format.
    meaning : str
        What the file holds.
    stage : str
        The step that writes it (``layers``, ``siting``, ``roadside_pv``, ``sinks``, ``maps``).
    layer : str, optional
        GeoPackage layer name; may contain ``{tech}``.
    columns : tuple of Column
        Columns in the order they are written (required ones first where it matters).
    patterns : tuple of Column
        Families of columns named after the run's settings, in the order they follow.
    unit : str
        Unit of the cell values, for rasters.
    """

    key: str
    path: str
    kind: Kind
    meaning: str
    stage: str
    layer: str | None = None
    columns: tuple[Column, ...] = ()
    patterns: tuple[Column, ...] = ()
    unit: str = ""
    by_technology: Mapping[str, tuple[Column, ...]] = field(default_factory=dict)

    def relpath(self, **fields: str) -> str:
        """Path relative to the run folder, with ``{tech}`` etc. filled in."""
        return self.path.format(**fields)

    def path_in(self, run_dir: str | Path, **fields: str) -> Path:
        """Absolute path of this file in ``run_dir``."""
        return Path(run_dir) / self.relpath(**fields)

    def filename(self, **fields: str) -> str:
        """File name without its stage folder (for writers given the stage folder).

        Examples
        --------
        >>> dataset("sinks.trajectory").filename()
        'trajectory.csv'
        """
        return Path(self.relpath(**fields)).name

    def present_in(self, run_dir: str | Path, **fields: str) -> bool:
        """Whether ``run_dir`` holds this file (and, for a GeoPackage, its layer).

        Readers of optional outputs ask this first, then read with :func:`read_table`, so an
        absent optional file is skipped while a present one is still checked column by column.
        """
        path = self.path_in(run_dir, **fields)
        if not path.is_file():
            return False
        if self.kind != "gpkg" or self.layer is None:
            return True
        return self.layer_name(**fields) in _gpkg_layers(path, self)

    def family(self, columns: Iterable[str], pattern: str) -> list[str]:
        """Columns of a table that belong to the family ``pattern``, in the table's order.

        A fixed column of the dataset is never a family member (``score_mean`` is not a
        ``score_{criterion}``).

        Examples
        --------
        >>> cols = ["score_mean", "score_slope_pct", "crit_slope_pct"]
        >>> dataset("siting.parcels").family(cols, "score_{criterion}")
        ['score_slope_pct']
        """
        fam = next((c for c in self.patterns if c.name == pattern), None)
        if fam is None:
            raise KeyError(f"{self.key} has no column family {pattern!r}")
        fixed = {c.name for c in self.columns} | {
            c.name for cols in self.by_technology.values() for c in cols
        }
        return [c for c in columns if c not in fixed and fam.matches(str(c))]

    def layer_name(self, **fields: str) -> str | None:
        """GeoPackage layer name with placeholders filled in."""
        return None if self.layer is None else self.layer.format(**fields)

    def column(self, name: str) -> Column:
        """The column (or column family) called ``name``."""
        for col in self.all_columns():
            if col.name == name or col.matches(name):
                return col
        raise KeyError(f"{self.key} has no column {name!r}")

    def all_columns(self) -> tuple[Column, ...]:
        """Fixed columns, then technology-specific ones, then families."""
        extra = tuple(c for cols in self.by_technology.values() for c in cols)
        return self.columns + extra + self.patterns

    def known(self, name: str) -> bool:
        """Whether ``name`` is a column of this dataset (fixed, per technology, or a family)."""
        return name == "geometry" or any(c.matches(name) for c in self.all_columns())

    def check(self, frame, *, where: str | None = None):
        """Check a table against the schema before it is written (writers call this).

        Every required fixed column must be present and every column must be known to the
        schema, so a writer cannot drift from what readers expect. The table is returned
        unchanged (column order is the writer's).

        Parameters
        ----------
        frame : pandas.DataFrame or geopandas.GeoDataFrame
            The table about to be written.
        where : str, optional
            Name used in the error (default the dataset's path).

        Returns
        -------
        Same as ``frame``

        Raises
        ------
        RuntimeError
            When the writer and the schema disagree (a bug in sxplan, not in the input).
        """
        cols = [str(c) for c in frame.columns]
        missing = [c.name for c in self.columns if c.required and c.name not in cols]
        unknown = [c for c in cols if not self.known(c)]
        if missing or unknown:
            raise RuntimeError(
                f"{where or self.path}: the table written does not match sxplan/schema.py "
                f"({self.key}): missing {missing}, not in the schema {unknown}; please report"
            )
        return frame


def require_columns(
    columns: Iterable[str], needed: Sequence[str], *, source: str | Path, fix: str
) -> None:
    """Refuse a table that lacks columns a reader needs, naming them and the file.

    Parameters
    ----------
    columns : iterable of str
        Columns the file has.
    needed : sequence of str
        Columns the reader uses.
    source : str or pathlib.Path
        The file (and layer), for the message.
    fix : str
        What the user should do.

    Raises
    ------
    RunFolderError
        Listing every missing column.

    Examples
    --------
    >>> require_columns(["a", "b"], ["a"], source="x.csv", fix="re-run")
    """
    have = set(columns)
    missing = [c for c in needed if c not in have]
    if missing:
        raise RunFolderError(
            f"{source} lacks column(s) {missing} that sxplan needs; it has "
            f"{sorted(c for c in have if c != 'geometry')}. {fix}"
        )


def read_table(
    run_dir: str | Path,
    key: str,
    *,
    columns: Sequence[str] | None = None,
    **fields: str,
):
    """Read one table of a run folder, refusing a missing file, layer or column by name.

    Parameters
    ----------
    run_dir : str or pathlib.Path
        The run folder.
    key : str
        Dataset key in :data:`DATASETS` (``siting.bases``, ``siting.parcels``, ...).
    columns : sequence of str, optional
        Columns the caller uses; default the dataset's required fixed columns.
    **fields : str
        Placeholders of the path (``tech="pv"``).

    Returns
    -------
    pandas.DataFrame or geopandas.GeoDataFrame
        CSV tables as DataFrames (read as UTF-8 with BOM), GeoPackage layers as GeoDataFrames.

    Raises
    ------
    RunFolderError
        If the file, its layer or a needed column is missing.
    """
    ds = dataset(key)
    path = ds.path_in(run_dir, **fields)
    fix = (
        f"Re-run the '{ds.stage}' step of sxplan into this folder (a folder written by another "
        "version of sxplan, or edited by hand, may lack it)"
    )
    if not path.is_file():
        raise RunFolderError(
            f"run folder {run_dir} has no {ds.relpath(**fields)} ({ds.meaning}). {fix}"
        )
    if ds.kind == "csv":
        import pandas as pd

        frame = pd.read_csv(path, encoding="utf-8-sig")
        source = str(path)
    elif ds.kind == "gpkg":
        import geopandas as gpd

        layer = ds.layer_name(**fields)
        layers = _gpkg_layers(path, ds)
        if layer not in layers:
            raise RunFolderError(f"{path} has no layer '{layer}' (it has {layers}). {fix}")
        try:
            frame = gpd.read_file(path, layer=layer)
        except Exception as exc:  # noqa: BLE001 - any driver failure becomes one clear error
            raise RunFolderError(f"cannot read layer '{layer}' of {path} ({exc}). {fix}") from exc
        source = f"{path} (layer '{layer}')"
    else:
        raise ValueError(f"{key} is a {ds.kind} file, not a table")
    needed = list(columns) if columns is not None else [c.name for c in ds.columns if c.required]
    require_columns(frame.columns, needed, source=source, fix=fix)
    return frame


def _gpkg_layers(path: Path, ds: Dataset) -> list[str]:
    """Layer names of a GeoPackage; an unreadable file is a :class:`RunFolderError`."""
    import pyogrio

    try:
        return [str(n) for n in pyogrio.list_layers(path)[:, 0]]
    except Exception as exc:  # noqa: BLE001 - any driver failure becomes one clear error
        raise RunFolderError(
            f"{path} is not a GeoPackage GDAL can read ({exc}); re-run the '{ds.stage}' step "
            "of sxplan into this folder"
        ) from exc


def read_json(run_dir: str | Path, key: str, *, keys: Sequence[str] = ()) -> dict:
    """Read a JSON file of a run folder (``run.json``, ``layers.grid``), refusing what is missing.

    Parameters
    ----------
    run_dir : str or pathlib.Path
        The run folder.
    key : str
        Dataset key of a ``json`` dataset.
    keys : sequence of str
        Dotted paths the caller uses (``"config.maps"``); each must be present.

    Returns
    -------
    dict
        The parsed file.

    Raises
    ------
    RunFolderError
        If the file is missing, is not JSON, or lacks one of ``keys``.
    """
    import json

    ds = dataset(key)
    if ds.kind != "json":
        raise ValueError(f"{key} is a {ds.kind} file, not JSON")
    path = ds.path_in(run_dir)
    step = "sxplan" if ds.stage == "run" else f"the '{ds.stage}' step of sxplan"
    fix = (
        f"Re-run {step} into this folder (a folder written by another version of sxplan, or "
        "edited by hand, may lack it)"
    )
    if not path.is_file():
        raise RunFolderError(f"run folder {run_dir} has no {ds.relpath()} ({ds.meaning}). {fix}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise RunFolderError(f"{path} is not valid JSON ({exc}). {fix}") from None
    for dotted in keys:
        node = data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                raise RunFolderError(f"{path} has no '{dotted}' entry that sxplan needs. {fix}")
            node = node[part]
    return data


def dataset(key: str) -> Dataset:
    """The :class:`Dataset` called ``key``; a clear error lists the known keys."""
    try:
        return DATASETS[key]
    except KeyError:
        raise KeyError(
            f"no dataset {key!r} in sxplan/schema.py; known: {sorted(DATASETS)}"
        ) from None


def technology_columns(key: str, tech: str) -> tuple[Column, ...]:
    """Columns that ``tech`` adds to dataset ``key`` (empty when it adds none)."""
    return dataset(key).by_technology.get(tech, ())


# ---------------------------------------------------------------------------------------------
# Column sets shared by several tables.

#: Standard columns of the county layer after validation (sxplan.layers.counties), in order.
COUNTY_COLUMNS = ("adcode", "name", "prefecture", "prefecture_adcode")

_COUNTIES = _columns("""
adcode | | county code (6 digits, GB/T 2260)
name | | county name (Chinese)
prefecture | | prefecture name (Chinese)
prefecture_adcode | | prefecture code (6 digits)
""")
assert tuple(c.name for c in _COUNTIES) == COUNTY_COLUMNS

_LOCATION = _columns("""
adcode | | county code (6 digits) of the county holding most of the parcel
county | | county name (Chinese)
prefecture | | prefecture name (Chinese)
prefecture_adcode | | prefecture code (6 digits)
""")

_PARCEL_CORE = _columns("""
parcel_id | | stable id within the run: technology prefix and rank (PV-00001)
rank | rank | 1 = best score within the technology
technology | | technology key (pv, wind, roadside_pv)
area_km2 | km2 | parcel area on the equal-area grid
capacity_mw | MW | installable capacity: area x power density x usable share
energy_gwh_per_yr | GWh/yr | annual energy
score_mean | 0-1 | mean suitability score of the parcel's cells
score_max | 0-1 | highest cell score in the parcel
""")

_PARCEL_PLACE = _columns("""
county_share | 1 | share of the parcel's cells in its main county
counties | | every county the parcel touches, adcodes joined by ';', largest share first
bases | | regional bases whose counties hold parcel cells, ids joined by ';'
bases_zh | | the same bases by Chinese name
bases_share | 1 | share of the parcel's cells in its main base
lon | deg | longitude of a point inside the parcel, WGS84
lat | deg | latitude of a point inside the parcel, WGS84
lon_gcj02 | deg | the same point in GCJ-02 (for Amap/Baidu-derived tools)
lat_gcj02 | deg | the same point in GCJ-02
""")

_PARCEL_OPTIONAL = _columns(
    """
mean_slope_pct | % | mean slope of the parcel's cells (when a slope layer is set)
dist_highway_km | km | distance from the parcel to the nearest highway (when a highway layer is set)
""",
    required=False,
)

_PARCEL_FAMILIES = _columns(
    """
mean_{resource} | | mean of the technology's resource layer, unit suffix in the name
lc_{landcover_class}_share | 1 | share of cells in one common land-cover class
crit_{criterion} | | parcel mean of a criterion's raw value, unit suffix in the name
score_{criterion} | 0-1 | parcel mean of a criterion's score
""",
    required=False,
)

_TECH_COLUMNS: dict[str, tuple[Column, ...]] = {
    "pv": _columns(
        """
yield_kwh_per_kwp_yr | kWh/kWp/yr | mean specific yield of the parcel's cells
""",
        required=False,
    ),
    "wind": _columns(
        """
capacity_factor | 1 | mean capacity factor from the turbine power curve over the speed distribution
turbines | count | capacity / turbine rating
""",
        required=False,
    ),
    "roadside_pv": _columns(
        """
road_ref | | road number (G5, G20, ...)
side_compass | | side of the road the strip lies on
facing_compass | | direction the panels face
ghi_kwh_m2_yr | kWh/m2/yr | global horizontal irradiation at the strip
""",
        required=False,
    ),
}

_SHORTLIST = _columns("""
rank | rank | 1 = best score within the technology
parcel_id | | parcel or roadside strip id
technology | | technology key (pv, wind, roadside_pv)
technology_zh | | technology in Chinese
county | | county name (Chinese)
adcode | | county code
prefecture | | prefecture name
prefecture_adcode | | prefecture code
bases | | bases the parcel lies in, ids joined by ';'
bases_zh | | the same bases by Chinese name
lon | deg | longitude, WGS84
lat | deg | latitude, WGS84
lon_gcj02 | deg | longitude, GCJ-02
lat_gcj02 | deg | latitude, GCJ-02
area_km2 | km2 | area
capacity_mw | MW | installable capacity
energy_gwh_per_yr | GWh/yr | annual energy
score_mean | 0-1 | mean suitability score (roadside: the strip's score)
score_max | 0-1 | highest cell score (roadside: the strip's score)
""")

_SHORTLIST_PARCEL = (
    _columns(
        """
county_share | 1 | share of the parcel's cells in its main county (parcels)
counties | | every county the parcel touches, adcodes joined by ';' (parcels)
bases_share | 1 | share of the parcel's cells in its main base (parcels)
""",
        required=False,
    )
    + _PARCEL_OPTIONAL
)

_BASES = _columns("""
level | | base, all_bases, prefecture or province
id | | base id, prefecture adcode, 'all_bases' or 'province'
name_zh | | name in Chinese
name_en | | name in English
technology | | pv, wind or pv+wind
technology_zh | | technology in Chinese
eligible_km2 | km2 | land no hard rule excludes
candidate_km2 | km2 | eligible land scoring at or above the threshold
parcel_area_km2 | km2 | area of the parcels
potential_gw | GW | installable capacity of the parcels
energy_twh_per_yr | TWh/yr | annual energy of the parcels
parcels | count | parcels touching the unit's counties
target_gw_2025 | GW | the plan's 2025 wind+PV target for the unit (pv+wind rows)
target_gw_2030 | GW | the plan's 2030 wind+PV target for the unit (pv+wind rows)
installed_gw | GW | installed capacity when an installed-capacity table is given
note | | caveat for the row
potential_to_target_2030 | 1 | potential_gw / target_gw_2030
""")

_EXCLUSIONS = _columns("""
technology | | technology key
order | | position of the rule in the config (totals have none)
code | code | value of the rule in excluded_by_rule_<tech>.tif
rule | | rule name (or no_data, total_excluded, eligible, study_area)
label_zh | | rule name in Chinese
mode | | hard (excludes) or soft (lowers the score)
type | | rule type (categorical, range, vector, implicit, total)
layer | | the layer the rule reads
km2_alone | km2 | area the rule would remove on its own
km2_in_sequence | km2 | area the rule removes after the rules before it
share_of_study_area | 1 | km2_in_sequence / study area
note | | the rule's note
""")

_RULE_LEGEND = _columns("""
code | code | cell value
rule | | rule name
label_zh | | rule name in Chinese
mode | | hard, or empty for eligible/outside
""")

_ROADSIDE_SUMMARY = _columns("""
level | | road, county or province
road_ref | | road number (road rows)
road_name | | road name (road rows)
adcode | | county code (county rows)
name | | county name (county rows)
prefecture | | prefecture name (county rows)
prefecture_adcode | | prefecture code (county rows)
n_segments | count | road segments (of at most the configured length)
road_km | km | road length
usable_strip_km | km | length of strip left after exclusions
usable_area_km2 | km2 | strip area left after exclusions
panel_area_km2 | km2 | panel area: usable area x usable share
capacity_mw | MW | installable capacity
energy_gwh_per_yr | GWh/yr | annual energy
target_mw | MW | roadside-PV target when configured (province row)
target_year | | year of the target
target_share_pct | % | capacity / target
""")

_ROADSIDE_SEGMENTS = _columns("""
road_id | | id of the source road line
road_ref | | road number
road_name | | road name
road_class | | road class (OSM highway=motorway, ...)
tunnel | | tunnel flag from the road layer
bridge | | bridge flag from the road layer
oneway | | oneway flag from the road layer
adcode | | county code
name | | county name
prefecture | | prefecture name
prefecture_adcode | | prefecture code
piece | | piece of the road within the county
segment_no | | segment number along the piece
segment_length_m | m | segment length
bearing_deg | deg | road bearing, true north
grid_north_deg | deg | meridian convergence at the segment
lon | deg | segment midpoint longitude, WGS84
lat | deg | segment midpoint latitude, WGS84
seg_index | | segment index in the run
side | | left or right of the road direction
side_sign | | -1 left, +1 right
toward_road_azimuth_deg | deg | azimuth from the strip toward the road, true north
side_compass | | side of the road the strip lies on
strip_width_m | m | strip width
strip_area_km2 | km2 | strip area
strip_id | | strip id (segment and side)
cross_slope_deg | deg | terrain slope across the road from the DEM profile
relief_m | m | height difference across the strip
elev_m | m | elevation
terrain_form | | cut, embankment or flat
panel_tilt_deg | deg | panel tilt
panel_azimuth_deg | deg | panel azimuth, true north
facing_compass | | direction the panels face
horizon_deg | deg | horizon angle from the slope
usable_area_km2 | km2 | strip area left after exclusions
usable_strip_km | km | strip length left after exclusions
excluded_by | | the rule that removed most of the strip
panel_area_km2 | km2 | panel area
capacity_mw | MW | installable capacity
ghi_kwh_m2_yr | kWh/m2/yr | global horizontal irradiation
poa_ratio | 1 | plane-of-array / horizontal irradiation for the strip's orientation
poa_ratio_optimal | 1 | the same at the optimal tilt facing south
optimal_tilt_deg | deg | optimal tilt
yield_correction | 1 | strip yield / reference yield
specific_yield_kwh_per_kwp | kWh/kWp/yr | specific yield of the strip
yield_source | | pv_yield layer or computed from GHI
energy_gwh_per_yr | GWh/yr | annual energy
shading_factor | 1 | horizon shading factor
orientation_factor | 1 | orientation factor
score_orientation | 0-1 | orientation score
score_shading | 0-1 | shading score
score_resource | 0-1 | resource score
score | 0-1 | strip score
""")

_COUNTY_SINKS = (
    _columns("""
adcode | | county code
name | | county name
prefecture | | prefecture name
prefecture_adcode | | prefecture code
area_km2 | km2 | county area
landcover_coverage_pct | % | share of the county with land-cover data
baseline_forest_pct | % | forest cover from the land-cover raster (exact coverage fractions)
calibrated_forest_pct | % | forest cover after calibration to official statistics
calibration_source | | where the calibration figure comes from
ecological_zone | | IPCC ecological zone used for growth rates
mean_elevation_m | m | mean elevation
eligible_landcover_ha | ha | land whose cover class can be planted
""")
    + _columns(
        """
removed_slope_ha | ha | of it, removed as too steep (when a slope layer is set)
removed_elevation_ha | ha | of it, removed as too high (when a DEM is set)
removed_climate_ha | ha | of it, removed by the climate limits (when some are set)
removed_reserved_ha | ha | of it, reserved for shortlisted renewables (when siting ran)
""",
        required=False,
    )
    + _columns("""
eligible_raster_ha | ha | plantable land from the raster
eligible_ha | ha | plantable land used for allocation
required_gain_ha | ha | planting needed for the county to reach the target on its own
required_gain_points | points | the same in percentage points of cover
feasible_locally | | whether the county has the land for it
allocated_gain_ha | ha | new forest allocated to the county
allocated_gain_points | points | the same in percentage points of cover
""")
    + _columns(
        """
priority_score | | county priority of the 'priority' allocation (higher = planted first)
""",
        required=False,
    )
)

_SINK_FAMILIES = _columns(
    """
cover_{year}_pct | % | forest cover in the target year after the allocated gain
sink_tco2_per_yr_{year} | tCO2/yr | sequestration of the new planting in a year
sink_tco2_per_yr_{year}_p05 | tCO2/yr | 5th percentile (Monte Carlo)
sink_tco2_per_yr_{year}_p95 | tCO2/yr | 95th percentile (Monte Carlo)
""",
    required=False,
)

_TRAJECTORY = _columns("""
year | | calendar year
sink_tco2_per_yr | tCO2/yr | province sequestration of the new planting
sink_tco2_per_yr_p05 | tCO2/yr | 5th percentile (Monte Carlo)
sink_tco2_per_yr_p95 | tCO2/yr | 95th percentile (Monte Carlo)
""")

_PROVENANCE = _columns("""
name | | layer name in the config
type | | raster or vector
source | | input file
features | count | vector features read
datum | | declared datum (wgs84, gcj02)
units | | declared units
sha256 | | SHA-256 of the input file
seconds | s | time to load and align
resampling | | resampling used to align a raster
source_res_m | m | source resolution
kind | | categorical or continuous
""")

_BASE_OUTLINES = _columns("""
id | | base id
name_zh | | name in Chinese
name_en | | name in English
n_counties | count | counties in the base
target_gw_2025 | GW | 2025 target when the bases file gives one
target_gw_2030 | GW | 2030 target when the bases file gives one
""")

_DATASETS: tuple[Dataset, ...] = (
    Dataset(
        "run.json", "run.json", "json", "config, input checksums, versions, grid, timings", "run"
    ),
    Dataset("layers.grid", "layers/grid.json", "json", "the analysis grid", "layers"),
    Dataset(
        "layers.provenance",
        "layers/provenance.csv",
        "csv",
        "one row per input layer",
        "layers",
        columns=_PROVENANCE,
    ),
    Dataset(
        "layers.raster",
        "layers/{name}.tif",
        "tif",
        "an input raster aligned to the grid",
        "layers",
    ),
    Dataset("layers.vectors", "layers/vectors.gpkg", "gpkg", "vector layers, EPSG:4326", "layers"),
    Dataset(
        "layers.vector",
        "layers/vectors.gpkg",
        "gpkg",
        "one vector layer of the config under its config name (province, highways...), EPSG:4326",
        "layers",
        layer="{name}",
        columns=_columns(
            """
name | | feature name (input layers that have one)
name_zh | | feature name in Chinese (input layers that have one)
name_en | | feature name in English (input layers that have one)
""",
            required=False,
        ),
    ),
    Dataset(
        "layers.counties",
        "layers/vectors.gpkg",
        "gpkg",
        "counties, EPSG:4326",
        "layers",
        layer="counties",
        columns=_COUNTIES,
    ),
    Dataset(
        "layers.bases",
        "layers/vectors.gpkg",
        "gpkg",
        "outlines of the regional bases",
        "layers",
        layer="bases",
        columns=_BASE_OUTLINES,
    ),
    Dataset(
        "layers.reserved",
        "layers/reserved_for_renewables.tif",
        "tif",
        "1 inside every shortlisted PV or wind parcel",
        "siting",
        unit="1 = candidate parcel",
    ),
    Dataset(
        "siting.suitability",
        "siting/suitability_{tech}.tif",
        "tif",
        "suitability score of eligible cells",
        "siting",
        unit="score 0-1",
    ),
    Dataset(
        "siting.excluded_by_rule",
        "siting/excluded_by_rule_{tech}.tif",
        "tif",
        "code of the first hard rule excluding each cell",
        "siting",
        unit="rule code",
    ),
    Dataset(
        "siting.rule_legend",
        "siting/excluded_by_rule_{tech}.csv",
        "csv",
        "legend of excluded_by_rule_<tech>.tif",
        "siting",
        columns=_RULE_LEGEND,
    ),
    Dataset(
        "siting.parcels",
        "siting/parcels_{tech}.gpkg",
        "gpkg",
        "every candidate parcel, ranked",
        "siting",
        layer="parcels_{tech}",
        columns=_PARCEL_CORE + _LOCATION + _PARCEL_PLACE + _PARCEL_OPTIONAL,
        patterns=_PARCEL_FAMILIES,
        by_technology={k: v for k, v in _TECH_COLUMNS.items() if k != "roadside_pv"},
    ),
    Dataset(
        "siting.shortlist",
        "siting/shortlist.csv",
        "csv",
        "the best parcels of every technology",
        "siting",
        columns=_SHORTLIST + _SHORTLIST_PARCEL,
        patterns=_PARCEL_FAMILIES,
        by_technology=_TECH_COLUMNS,
    ),
    Dataset(
        "siting.shortlist_gpkg",
        "siting/shortlist.gpkg",
        "gpkg",
        "the shortlist with geometries, EPSG:4326",
        "siting",
        layer="shortlist",
        columns=_SHORTLIST + _SHORTLIST_PARCEL,
        patterns=_PARCEL_FAMILIES,
        by_technology=_TECH_COLUMNS,
    ),
    Dataset(
        "siting.bases",
        "siting/bases.csv",
        "csv",
        "potential per base, all bases, prefecture and province against the targets",
        "siting",
        columns=_BASES,
    ),
    Dataset(
        "siting.exclusions",
        "siting/exclusions.csv",
        "csv",
        "area each rule removes, alone and in sequence",
        "siting",
        columns=_EXCLUSIONS,
    ),
    Dataset(
        "roadside.segments",
        "siting/roadside_pv_segments.gpkg",
        "gpkg",
        "roadside PV strips, one per segment and side",
        "roadside_pv",
        layer="roadside_pv_segments",
        columns=_ROADSIDE_SEGMENTS
        + _columns(
            """
dist_grid_km | km | distance to the nearest grid connection point (when a layer is set)
score_grid | 0-1 | grid connection score (when a grid points layer is set)
""",
            required=False,
        ),
        patterns=_columns("excluded_{rule}_km2 | km2 | strip area a rule removed", False),
    ),
    Dataset(
        "roadside.summary",
        "siting/roadside_pv.csv",
        "csv",
        "roadside PV per road, county and province",
        "roadside_pv",
        columns=_ROADSIDE_SUMMARY,
    ),
    Dataset(
        "sinks.counties",
        "sinks/counties.csv",
        "csv",
        "forest baseline, allocation and sink per county",
        "sinks",
        columns=_COUNTY_SINKS,
        patterns=_SINK_FAMILIES,
    ),
    Dataset(
        "sinks.counties_gpkg",
        "sinks/counties.gpkg",
        "gpkg",
        "the county table with outlines",
        "sinks",
        layer="counties",
        columns=_COUNTY_SINKS,
        patterns=_SINK_FAMILIES,
    ),
    Dataset(
        "sinks.trajectory",
        "sinks/trajectory.csv",
        "csv",
        "province sink by year",
        "sinks",
        columns=_TRAJECTORY,
    ),
    Dataset(
        "sinks.eligible",
        "sinks/afforestation_eligible.tif",
        "tif",
        "plantable share of each cell",
        "sinks",
        unit="fraction 0-1",
    ),
    Dataset("maps.siting", "maps/siting.html", "html", "interactive siting map", "maps"),
    Dataset("maps.sinks", "maps/sinks.html", "html", "interactive sinks map", "maps"),
)

#: Every output of a run folder, by key.
DATASETS: dict[str, Dataset] = {d.key: d for d in _DATASETS}
