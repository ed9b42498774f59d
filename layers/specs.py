"""Layer specs: what each input file is, declared rather than guessed.

A spec names the file and says what its values mean: the kind (categorical codes or a
continuous quantity), units, nodata, the CRS when the file lacks one, and the datum shift for
GCJ-02 sources. Specs are closed pydantic models: an unknown key is an error that suggests the
key the user probably meant.

Inputs: mappings from YAML. Outputs: :class:`RasterLayerSpec` and :class:`VectorLayerSpec`.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sxplan.errors import ConfigError

__all__ = [
    "DEFAULT_SENTINELS",
    "LayerSpec",
    "RasterLayerSpec",
    "StrictModel",
    "VectorLayerSpec",
    "format_validation_error",
    "parse_layer_spec",
]


class StrictModel(BaseModel):
    """Base for every sxplan config model: closed, frozen, typos answered with a suggestion.

    An unknown key is refused with the closest allowed key (difflib) and the list of allowed
    keys, e.g. ``unknown key 'no_data' in RasterLayerSpec; did you mean 'nodata'?``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _refuse_unknown_keys(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        allowed = set(cls.model_fields)
        unknown = [k for k in data if k not in allowed]
        if unknown:
            parts = []
            for key in unknown:
                close = difflib.get_close_matches(str(key)[:100], sorted(allowed), n=1, cutoff=0.5)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                shown = repr(key) if len(repr(key)) <= 60 else repr(key)[:56] + "...'"
                parts.append(f"unknown key {shown} in {cls.__name__}{hint}")
            raise ValueError("; ".join(parts) + f" (allowed keys: {', '.join(sorted(allowed))})")
        return data


#: Values that mark missing data in common sources when the file does not declare them:
#: -9999 (ArcGIS/ASCII grid convention), -32768/-32767 (int16 SRTM-style voids), +-3.4e38
#: (float32 extremes written by ArcGIS and ENVI), -1e20 (NetCDF-style fill).
DEFAULT_SENTINELS = (
    -9999.0,
    -32768.0,
    -32767.0,
    -3.4028234663852886e38,
    3.4028234663852886e38,
    -1e20,
)


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
        ``gbt21010``). Declared here once: the aligned layer carries it
        (:attr:`sxplan.layers.io.AlignedLayer.scheme`), alignment refuses codes it does not
        define, and stages read it from the layer.
    resampling : str, optional
        Override the automatic choice (``nearest``, ``mode``, ``bilinear``, ``average``,
        ``cubic``); refused for categorical layers unless ``nearest`` or ``mode``.
    band : int
        Band to read (1-based).
    sentinels : list of float
        Values that usually mark missing data (:data:`DEFAULT_SENTINELS`). One present in the
        file but not declared as its nodata is refused; ``[]`` accepts them as real values.
    min_coverage : float
        Least share (0-1) of the study area the layer must cover with data (default 0.99).
    """

    type: Literal["raster"] = "raster"
    kind: Literal["categorical", "continuous"]
    nodata: float | None = None
    scheme: str | None = None
    resampling: Literal["nearest", "mode", "bilinear", "average", "cubic"] | None = None
    band: int = Field(default=1, ge=1)
    sentinels: list[float] = Field(
        default_factory=lambda: list(DEFAULT_SENTINELS),
        description="Values that usually mark missing data; found in the file without being its "
        "nodata, they are refused. `[]` accepts them as real values.",
    )
    min_coverage: float = Field(
        default=0.99,
        ge=0,
        le=1,
        description="Least share of the study area the layer must cover with data.",
    )

    @model_validator(mode="after")
    def _check(self) -> RasterLayerSpec:
        if self.kind == "categorical" and self.resampling not in (None, "nearest", "mode"):
            raise ValueError(
                f"resampling '{self.resampling}' would invent class codes in a categorical layer; "
                "use 'nearest' or 'mode', or leave it unset"
            )
        if self.scheme is not None and self.kind != "categorical":
            raise ValueError("`scheme:` applies only to categorical layers (kind: categorical)")
        if self.scheme is not None:
            from .landcover import SCHEMES

            if self.scheme not in SCHEMES:
                raise ValueError(
                    f"land-cover scheme {self.scheme!r} is not known; use one of {sorted(SCHEMES)}"
                )
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
    encoding : str, optional
        Attribute text encoding when the file does not declare one (a Shapefile without a
        ``.cpg``), e.g. ``gbk``.
    """

    type: Literal["vector"] = "vector"
    layer: str | None = None
    datum: Literal["wgs84", "gcj02"] = "wgs84"
    where: dict[str, list[str | int | float | bool]] | None = None
    burn_field: str | None = None
    all_touched: bool = False
    encoding: str | None = Field(
        default=None,
        description="Text encoding of the attributes when the file does not say (a Shapefile "
        "without .cpg), e.g. 'gbk'.",
    )

    @model_validator(mode="after")
    def _known_encoding(self) -> VectorLayerSpec:
        if self.encoding is not None:
            import codecs

            try:
                codecs.lookup(self.encoding)
            except LookupError:
                raise ValueError(
                    f"encoding {self.encoding!r} is not known; use e.g. 'gbk', 'gb18030', 'utf-8'"
                ) from None
        return self


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
    """Render a pydantic error as one line per problem: ``where.path.to.field: message``.

    Union tags that pydantic puts into locations (``raster``, ``linear`` ...) are left out.

    Parameters
    ----------
    exc : pydantic.ValidationError
        The error.
    where : str
        Dotted location prefix, e.g. ``siting`` or ``layers.dem``.

    Returns
    -------
    str
    """
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if not _is_union_tag(p))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] not in ("value_error", "assertion_error") and "input" in err:
            shown = repr(err["input"])
            msg += f" (got {shown[:80]})"
        lines.append(f"{where}.{loc}: {msg}" if loc else f"{where}: {msg}")
    return "invalid config:\n  " + "\n  ".join(lines)


#: Discriminator values of sxplan's tagged unions, which pydantic inserts into error locations.
UNION_TAGS = frozenset(
    {"raster", "vector", "categorical", "range", "linear", "piecewise", "inverse_distance"}
)


def _is_union_tag(part) -> bool:
    return isinstance(part, str) and (part in UNION_TAGS or "[" in part)
