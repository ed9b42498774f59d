"""Layer specs: what each input file is, declared rather than guessed.

A spec names the file and says what its values mean: the kind (categorical codes or a
continuous quantity), units, nodata, the CRS when the file lacks one, and the datum shift for
GCJ-02 sources. Specs are closed pydantic models: an unknown key is an error that suggests the
key the user probably meant.

Inputs: mappings from YAML. Outputs: :class:`RasterLayerSpec` and :class:`VectorLayerSpec`.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import ConfigError

__all__ = [
    "LayerSpec",
    "RasterLayerSpec",
    "StrictModel",
    "VectorLayerSpec",
    "format_validation_error",
    "parse_layer_spec",
]


class StrictModel(BaseModel):
    """Base for every sxplan config model: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class _LayerBase(StrictModel):
    path: Path = Field(description="File to read; relative paths are taken from the config file.")
    crs: str | None = Field(
        default=None,
        description="CRS to assume when the file has none, e.g. 'EPSG:4326'. A file that has a "
        "CRS different from this is refused.",
    )
    units: str = Field(default="", description="Units of the values, e.g. 'm', 'kWh/m2/yr'.")
    description: str = Field(default="", description="Free text shown in summaries.")


class RasterLayerSpec(_LayerBase):
    """A raster input.

    Attributes
    ----------
    kind : {"categorical", "continuous"}
        Categorical codes are resampled by mode (finer source) or nearest (coarser source);
        continuous values by average (finer) or bilinear (coarser).
    nodata : float, optional
        Source nodata value when the file does not declare one.
    scheme : str, optional
        Land-cover class scheme for categorical rasters (``igbp``, ``worldcover``, ``clcd``,
        ``gbt21010``); codes are checked against it.
    resampling : str, optional
        Override the automatic choice (``nearest``, ``mode``, ``bilinear``, ``average``,
        ``cubic``); refused for categorical layers unless ``nearest`` or ``mode``.
    band : int
        Band to read (1-based).
    """

    type: Literal["raster"] = "raster"
    kind: Literal["categorical", "continuous"]
    nodata: float | None = None
    scheme: str | None = None
    resampling: Literal["nearest", "mode", "bilinear", "average", "cubic"] | None = None
    band: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _check(self) -> RasterLayerSpec:
        if self.kind == "categorical" and self.resampling not in (None, "nearest", "mode"):
            raise ValueError(
                f"resampling '{self.resampling}' would invent class codes in a categorical layer; "
                "use 'nearest' or 'mode', or leave it unset"
            )
        if self.scheme is not None and self.kind != "categorical":
            raise ValueError("`scheme:` applies only to categorical layers (kind: categorical)")
        return self


class VectorLayerSpec(_LayerBase):
    """A vector input (GeoPackage, Shapefile, GeoJSON ...).

    Attributes
    ----------
    layer : str, optional
        Layer inside a multi-layer file (GeoPackage).
    datum : {"wgs84", "gcj02"}
        ``gcj02`` for Amap/DataV-derived data: shifted to WGS84 on load.
    where : dict, optional
        Keep only features whose attribute equals one of the listed values, e.g.
        ``{highway: [motorway, trunk]}``.
    burn_field : str, optional
        Attribute burned into rasters instead of 1.
    all_touched : bool
        Rasterize every cell a feature touches (True) or only cells whose centre is inside
        (False). Thin features (roads, rivers) need True.
    """

    type: Literal["vector"] = "vector"
    layer: str | None = None
    datum: Literal["wgs84", "gcj02"] = "wgs84"
    where: dict[str, list[str | int | float | bool]] | None = None
    burn_field: str | None = None
    all_touched: bool = False


LayerSpec = Annotated[RasterLayerSpec | VectorLayerSpec, Field(discriminator="type")]


def parse_layer_spec(name: str, data: dict, base_dir: Path | None = None):
    """Validate one layer spec mapping, resolving its path against ``base_dir``.

    Parameters
    ----------
    name : str
        Layer name (the key in the config's ``layers:`` section).
    data : dict
        The spec as read from YAML; must contain ``type: raster`` or ``type: vector``.
    base_dir : pathlib.Path, optional
        Folder relative paths are resolved against.

    Returns
    -------
    RasterLayerSpec or VectorLayerSpec

    Raises
    ------
    ConfigError
        With the field, the problem and a suggestion.
    """
    if not isinstance(data, dict) or data.get("type") not in ("raster", "vector"):
        raise ConfigError(
            f"layer '{name}': every layer needs `type: raster` or `type: vector`, got "
            f"{data.get('type') if isinstance(data, dict) else data!r}"
        )
    try:
        model = RasterLayerSpec if data["type"] == "raster" else VectorLayerSpec
        spec = model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, f"layers.{name}")) from None
    if base_dir is not None and not spec.path.is_absolute():
        spec = spec.model_copy(update={"path": (base_dir / spec.path).resolve()})
    return spec


def format_validation_error(exc: ValidationError, where: str) -> str:
    """Turn a pydantic error into a short message naming the field and suggesting a fix.

    Unknown keys get the closest allowed key as a suggestion.

    Parameters
    ----------
    exc : pydantic.ValidationError
        The error.
    where : str
        Dotted location prefix, e.g. ``siting.pv``.

    Returns
    -------
    str
    """
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in (where, *err["loc"]) if p != "")
        if err["type"] == "extra_forbidden":
            key = str(err["loc"][-1])
            allowed = _allowed_keys(exc, err["loc"][:-1])
            hint = difflib.get_close_matches(key, allowed, n=1, cutoff=0.5)
            suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
            known = f" Allowed keys: {', '.join(sorted(allowed))}." if allowed else ""
            lines.append(f"{loc}: unknown key '{key}'{suggestion}{known}")
        else:
            lines.append(f"{loc}: {err['msg']} (got {err.get('input')!r})")
    return "invalid config:\n  " + "\n  ".join(lines)


def _allowed_keys(exc: ValidationError, parent_loc) -> list[str]:
    """Field names of the model at ``parent_loc`` in the model that raised ``exc``."""
    model = _MODEL_REGISTRY.get(exc.title)
    if model is None:
        return []
    for part in parent_loc:
        field = getattr(model, "model_fields", {}).get(str(part))
        if field is None:
            # dict keys or union tags in the location: skip to the next part
            continue
        model = _model_of(field.annotation) or model
    return list(getattr(model, "model_fields", {}))


def _model_of(annotation):
    """The BaseModel class inside an annotation (Optional[M], list[M], dict[str, M]), if one."""
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


class _Registry(dict):
    """Maps pydantic error titles (model names) to model classes, filled lazily."""

    def get(self, key, default=None):
        if key not in self:
            for cls in _all_subclasses(BaseModel):
                self.setdefault(cls.__name__, cls)
        return super().get(key, default)


def _all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


_MODEL_REGISTRY = _Registry()
