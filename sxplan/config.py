"""Project config: one YAML file, one typed model per section.

```yaml
project:   # study area, grid, memory budget
layers:    # every input file, with kind/units/nodata/CRS declared
siting:    # siting.config.SitingConfig
roadside_pv:  # siting.roadside_config.RoadsidePVConfig
sinks:     # sinks.config.SinksConfig
maps:      # maps.config.MapsConfig
```

Relative paths are resolved against the config file's folder. Unknown keys are errors with a
suggestion; each section is validated by the model of the stage that owns it.

Inputs: a YAML file. Outputs: :class:`ProjectConfig`.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator

from sxplan.errors import ConfigError
from sxplan.layers import ALBERS_CHINA
from sxplan.layers.budget import Budget
from sxplan.layers.grid import require_metric_crs
from sxplan.layers.landcover import SCHEMES
from sxplan.layers.specs import (
    RasterLayerSpec,
    StrictModel,
    VectorLayerSpec,
    format_validation_error,
    parse_layer_spec,
)
from sxplan.maps.config import MapsConfig
from sxplan.sinks.config import SinksConfig
from sxplan.siting.config import SitingConfig
from sxplan.siting.pumped_config import PumpedStorageConfig
from sxplan.siting.roadside_config import RoadsidePVConfig

__all__ = [
    "CountyFields",
    "ProjectConfig",
    "ProjectSection",
    "demo_config_path",
    "load_config",
]

SECTIONS = ("project", "layers", "siting", "roadside_pv", "pumped_storage", "sinks", "maps")


class CountyFields(StrictModel):
    """Which attributes of the county layer hold the code, name and prefecture."""

    adcode: str = "adcode"
    name: str = "name"
    prefecture: str = "prefecture"
    prefecture_adcode: str = "prefecture_adcode"


class ProjectSection(StrictModel):
    """Study area, analysis grid and run settings.

    Attributes
    ----------
    name : str
        Shown in outputs.
    study_area : str
        Name of the vector layer (under ``layers:``) whose union is the study area.
    counties : str
        Name of the vector layer of counties (for parcels, summaries, sinks).
    county_fields : CountyFields
        Attribute names in the county layer.
    prefectures : str, optional
        Name of the vector layer of prefectures (maps).
    crs : str
        Analysis CRS, projected in metres; default Albers equal-area for China.
    resolution_m : float
        Cell size in metres.
    margin_m : float
        Extra grid around the study area, in metres.
    mem_limit_mb : float
        Memory budget for one raster operation, in MB; :attr:`budget` turns it into every
        derived size (tiles, GDAL warp buffers and block cache, zonal statistics).
    max_cells : float
        Largest grid (cells) a run accepts; the pre-flight refuses more (a typo in
        ``resolution_m``). Raise it to run a bigger grid on purpose.
    scheduler : str
        ``sync``, ``threads`` (both cores), ``processes`` or a ``tcp://`` dask scheduler.
    progress : bool
        Progress bars on a terminal (``--no-progress`` turns them off).
    csv_header : {"en", "zh+en", "zh"}
        Header of the CSV tables: English column names, those plus a row of Chinese labels, or
        Chinese labels only (:mod:`sxplan.csv_header`; ``--language`` sets it too).
    """

    name: str = "sxplan project"
    study_area: str
    counties: str
    county_fields: CountyFields = CountyFields()
    prefectures: str | None = None
    crs: str = ALBERS_CHINA
    resolution_m: float = Field(1000.0, gt=0)
    margin_m: float = Field(0.0, ge=0)
    mem_limit_mb: float = Field(1024.0, gt=0)
    max_cells: float = Field(5e9, gt=0)
    scheduler: str = "threads"
    progress: bool = True
    csv_header: Literal["en", "zh+en", "zh"] = "en"

    @property
    def budget(self) -> Budget:
        """The run's memory budget: every size derived from ``mem_limit_mb`` comes from it."""
        return Budget(self.mem_limit_mb)

    @field_validator("crs")
    @classmethod
    def _metric(cls, v: str) -> str:
        try:
            require_metric_crs(v, "project.crs")
        except ConfigError as exc:  # CRSError is a ConfigError sibling; both are ValueError
            raise ValueError(str(exc)) from None
        except ValueError as exc:
            raise ValueError(str(exc)) from None
        return v

    @field_validator("scheduler")
    @classmethod
    def _sched(cls, v: str) -> str:
        if v in ("sync", "threads", "processes") or v.startswith("tcp://"):
            return v
        raise ValueError(
            f"scheduler must be 'sync', 'threads', 'processes' or a 'tcp://host:port' dask "
            f"scheduler address, got {v!r}"
        )


class ProjectConfig(StrictModel):
    """The whole project config.

    Attributes
    ----------
    path : pathlib.Path, optional
        The YAML file it came from.
    project : ProjectSection
    layers : dict
        Layer name -> :class:`~sxplan.layers.specs.RasterLayerSpec` or
        :class:`~sxplan.layers.specs.VectorLayerSpec` (paths resolved).
    siting : SitingConfig, optional
    roadside_pv : RoadsidePVConfig, optional
    pumped_storage : PumpedStorageConfig, optional
    sinks : SinksConfig, optional
    maps : MapsConfig, optional
        Section models of the stages (:data:`SECTION_MODELS`); ``None`` when the section is
        absent or empty.
    raw : dict
        The YAML as read (for ``run.json``).
    """

    path: Path | None = None
    project: ProjectSection
    layers: dict[str, RasterLayerSpec | VectorLayerSpec]
    siting: SitingConfig | None = None
    roadside_pv: RoadsidePVConfig | None = None
    pumped_storage: PumpedStorageConfig | None = None
    sinks: SinksConfig | None = None
    maps: MapsConfig | None = None
    raw: dict = Field(default_factory=dict, repr=False)

    def layer(self, name: str, kind: Literal["raster", "vector"] | None = None):
        """The spec of layer ``name``; a clear error lists the declared layers."""
        spec = self.layers.get(name)
        if spec is None or (kind is not None and spec.type != kind):
            have = sorted(n for n, s in self.layers.items() if kind is None or s.type == kind)
            raise ConfigError(
                f"{self.path or 'config'}: no {kind or ''} layer named '{name}' under `layers:`;"
                f" declared: {have}"
            )
        return spec

    def analysis_grid(self, study=None):
        """The run's grid: the study area at ``project.resolution_m`` in ``project.crs``.

        ``study`` is the study-area layer when the caller has loaded it already (the
        pre-flight checks its geometry first); otherwise it is loaded here.
        """
        from sxplan.layers import GridSpec, load_vector

        proj = self.project
        if study is None:
            study = load_vector(self.layer(proj.study_area, "vector"), name=proj.study_area)
        return GridSpec.from_geometry(
            study.union_all(), study.crs, proj.resolution_m, crs=proj.crs, margin_m=proj.margin_m
        )


def demo_config_path() -> Path:
    """Path of the shipped Shanxi demo config (``sxplan/data/shanxi.yaml``)."""
    return Path(str(importlib.resources.files("sxplan") / "data" / "shanxi.yaml"))


#: The model of each stage section: the one section -> model table.
SECTION_MODELS = {
    "siting": SitingConfig,
    "roadside_pv": RoadsidePVConfig,
    "pumped_storage": PumpedStorageConfig,
    "sinks": SinksConfig,
    "maps": MapsConfig,
}


def load_config(path: str | Path) -> ProjectConfig:
    """Read and validate a project YAML.

    Parameters
    ----------
    path : str or pathlib.Path
        The config file.

    Returns
    -------
    ProjectConfig

    Raises
    ------
    ConfigError
        For a missing file, bad YAML, unknown keys (with suggestions), bad values, or a section
        that names a layer not declared under ``layers:``.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist; `sxplan init DIR` writes a template")
    from ._yaml import read_yaml

    raw = read_yaml(path) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections {SECTIONS}")
    unknown = sorted((k for k in raw if k not in SECTIONS), key=str)
    if unknown:
        import difflib

        from ._yaml import short

        hints = [
            short(k, 60)
            + (
                f" (did you mean '{m[0]}'?)"
                if (m := difflib.get_close_matches(str(k)[:100], SECTIONS, 1))
                else ""
            )
            for k in unknown
        ]
        raise ConfigError(
            f"{path}: unknown section(s) {', '.join(hints)}; sections are {', '.join(SECTIONS)}"
        )
    base = path.parent.resolve()
    layers_raw = raw.get("layers") or {}
    if not isinstance(layers_raw, dict):
        raise ConfigError(f"{path}: `layers:` must map layer names to specs")
    layer_specs = {n: parse_layer_spec(n, s, base) for n, s in layers_raw.items()}
    try:
        project = ProjectSection.model_validate(raw.get("project") or {})
    except ValidationError as exc:
        raise ConfigError(f"{path}: " + format_validation_error(exc, "project")) from None
    sections = {}
    for name in ("siting", "roadside_pv", "pumped_storage", "sinks", "maps"):
        data = raw.get(name)
        if not data:
            sections[name] = None
            continue
        model = SECTION_MODELS[name]
        try:
            sections[name] = model.model_validate(_resolve_paths(data, base))
        except ValidationError as exc:
            raise ConfigError(f"{path}: " + format_validation_error(exc, name)) from None
    cfg = ProjectConfig(
        path=path.resolve(), project=project, layers=layer_specs, raw=raw, **sections
    )
    for ref in (project.study_area, project.counties):
        cfg.layer(ref, "vector")
    if project.prefectures:
        cfg.layer(project.prefectures, "vector")
    _check_layer_references(cfg)
    _check_landcover_scheme(cfg)
    return cfg


def _check_landcover_scheme(cfg: ProjectConfig) -> None:
    """Check, before any work, that every layer read through a class scheme declares one.

    The scheme is declared once, on the layer (``layers.<name>.scheme``); the stages read it
    from the aligned layer (and check the codes there). Layers read through a scheme: the
    siting land-cover layer (parcels' land-cover shares) and every layer of a rule with
    ``classes:``, the roadside land-cover layer when ``excluded_landcover`` is set, and the
    sinks land-cover layer (whose credits are also checked against the scheme here).
    """
    needs: list[tuple[str, str]] = []  # (setting, layer name)
    if cfg.siting is not None:
        needs.append(("siting.landcover_layer", cfg.siting.landcover_layer))
        for rule in cfg.siting.exclusions:
            for part, sel in (("", rule), (".within", getattr(rule, "within", None))):
                if sel is not None and getattr(sel, "classes", None):
                    needs.append((f"siting.exclusions '{rule.name}'{part} classes", sel.layer))
    rs = cfg.roadside_pv
    if rs is not None and rs.landcover_layer and rs.excluded_landcover:
        needs.append(("roadside_pv.landcover_layer", rs.landcover_layer))
    if cfg.sinks is not None:
        needs.append(("sinks.landcover_layer", cfg.sinks.landcover_layer))
    missing = [
        (setting, name)
        for setting, name in dict.fromkeys(needs)
        if isinstance(cfg.layers.get(name), RasterLayerSpec) and cfg.layers[name].scheme is None
    ]
    if missing:
        settings = "; ".join(f"{setting}: layer '{name}'" for setting, name in missing)
        layers = ", ".join(f"`layers.{n}`" for n in sorted({name for _, name in missing}))
        raise ConfigError(
            f"{cfg.path}: these settings read land cover through a class scheme, but the layer "
            f"declares none: {settings}. Add `scheme:` to {layers} (one of {sorted(SCHEMES)}), "
            "e.g. `scheme: igbp` for MODIS land cover"
        )
    if cfg.sinks is not None:
        spec = cfg.layers.get(cfg.sinks.landcover_layer)
        if isinstance(spec, RasterLayerSpec):
            cfg.sinks.check_scheme(spec.scheme, where=f"{cfg.path}: sinks")


#: Layers every run derives from ``dem`` (and siting), available to every section by name.
DERIVED_LAYERS = ("slope_deg", "slope_pct", "aspect_deg", "reserved_for_renewables")


def _layer_refs(data, where: str):
    """Yield (location, layer name) for every key that names a layer in a section dump.

    A disabled technology (``enabled: false``) names no layer the run needs.
    """
    if isinstance(data, dict):
        if data.get("enabled") is False:
            return
        for k, v in data.items():
            loc = f"{where}.{k}"
            names_layer = k in ("layer", "distance_to") or k.endswith("_layer")
            if names_layer and isinstance(v, str):
                yield loc, v
            elif k.endswith("_layers") and isinstance(v, list | tuple):
                for i, item in enumerate(v):
                    if isinstance(item, str):
                        yield f"{loc}[{i}]", item
            else:
                yield from _layer_refs(v, loc)
    elif isinstance(data, list | tuple):
        for i, item in enumerate(data):
            yield from _layer_refs(item, f"{where}[{i}]")


def _check_layer_references(cfg: ProjectConfig) -> None:
    """Refuse a section that names a layer not declared under ``layers:`` (nor derived)."""
    import difflib

    known = set(cfg.layers) | set(DERIVED_LAYERS)
    bad = []
    for name in ("siting", "roadside_pv", "pumped_storage", "sinks"):
        section = getattr(cfg, name)
        if section is None:
            continue
        for loc, ref in _layer_refs(section.model_dump(mode="json"), name):
            if ref not in known:
                hint = difflib.get_close_matches(ref, sorted(known), n=1)
                bad.append(f"{loc}: '{ref}'" + (f" (did you mean '{hint[0]}'?)" if hint else ""))
    if bad:
        raise ConfigError(
            f"{cfg.path}: these settings name layers that are not declared under `layers:` "
            f"(declared: {sorted(cfg.layers)}; derived: {list(DERIVED_LAYERS)}):\n  "
            + "\n  ".join(bad)
        )


_PATH_KEYS = {"path"}  # plus any key ending in "_path"


def _resolve_paths(data, base: Path):
    """Resolve relative file paths in a section (keys named like paths) against ``base``."""
    if isinstance(data, dict):
        out = {}
        for k, v in data.items():
            if isinstance(v, str) and (k in _PATH_KEYS or k.endswith("_path")):
                p = Path(v)
                out[k] = str(p if p.is_absolute() else (base / p).resolve())
            else:
                out[k] = _resolve_paths(v, base)
        return out
    if isinstance(data, list):
        return [_resolve_paths(v, base) for v in data]
    return data
