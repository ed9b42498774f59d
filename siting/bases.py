"""The five regional bases of the plan, as data: load, validate, and sum potential per base.

A bases file lists, for each base, its id, Chinese and English names, the counties it covers
(6-digit adcodes, key ``county_adcodes`` or ``counties``), optional wind+PV targets in GW, how
the delineation was read (``delineation``) and a ``note``. Bases may overlap (a county in two
bases); sums per base count such a county in each, while the union of all bases counts it once.

Accepted formats: YAML (a list of bases, or a mapping with ``bases:`` and optional
``schema_version``, ``delineation_status`` and ``note``), or GeoJSON (a FeatureCollection whose
feature properties carry the same keys; ``counties`` may be a list or a comma-separated string).

Inputs: a bases file; optionally the counties table (adcode, name, prefecture) to check adcodes.
Outputs: :class:`BasesTable`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from pydantic import Field, ValidationError, field_validator

from sxplan.errors import ConfigError, LayerIOError

from .config import _Closed, format_validation_error

__all__ = ["Base", "BasesTable", "load_bases"]

_TOP_KEYS = {"schema_version", "delineation_status", "note", "bases"}


class Base(_Closed):
    """One regional base: a named set of counties with optional targets."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_zh: str
    name_en: str
    counties: list[int] = Field(min_length=1)
    target_gw_2025: float | None = Field(None, ge=0)
    target_gw_2030: float | None = Field(None, ge=0)
    delineation: str | None = None
    note: str | None = None

    @field_validator("counties")
    @classmethod
    def _adcodes(cls, v):
        bad = [c for c in v if not 100000 <= int(c) <= 999999]
        if bad:
            raise ValueError(f"county adcodes must be 6-digit integers, got {bad}")
        dup = sorted({c for c in v if v.count(c) > 1})
        if dup:
            raise ValueError(f"county adcodes listed twice: {dup}")
        return v


@dataclass(frozen=True)
class BasesTable:
    """Validated bases.

    Attributes
    ----------
    bases : tuple of Base
        In file order.
    note : str
        The file's note on the delineation's source.
    path : str
        Where the bases came from.
    """

    bases: tuple
    note: str = ""
    path: str = ""

    @property
    def ids(self) -> list[str]:
        """Base ids in order."""
        return [b.id for b in self.bases]

    def union_counties(self) -> set[int]:
        """Adcodes in at least one base."""
        return {c for b in self.bases for c in b.counties}

    def outlines(self, counties):
        """One polygon per base: the union of its counties (bases may overlap).

        Parameters
        ----------
        counties : geopandas.GeoDataFrame
            Validated counties with ``adcode``.

        Returns
        -------
        geopandas.GeoDataFrame
            ``id``, ``name_zh``, ``name_en``, ``n_counties``, the targets, in ``counties``' CRS.
        """
        import geopandas as gpd

        rows = []
        for b in self.bases:
            sel = counties[counties["adcode"].isin(b.counties)]
            rows.append({
                "id": b.id, "name_zh": b.name_zh, "name_en": b.name_en, "n_counties": len(sel),
                "target_gw_2025": b.target_gw_2025, "target_gw_2030": b.target_gw_2030,
                "geometry": sel.union_all(),
            })  # fmt: skip
        return gpd.GeoDataFrame(rows, geometry="geometry", crs=counties.crs)

    def bases_of_county(self) -> dict[int, list[str]]:
        """Adcode -> ids of the bases containing it (file order)."""
        out: dict[int, list[str]] = {}
        for b in self.bases:
            for c in b.counties:
                out.setdefault(c, []).append(b.id)
        return out

    def check_counties(self, adcodes: Iterable[int], what: str = "counties layer") -> None:
        """Raise :class:`ConfigError` if a base lists an adcode not in ``adcodes``."""
        known = {int(a) for a in adcodes}
        for b in self.bases:
            missing = sorted(set(b.counties) - known)
            if missing:
                raise ConfigError(
                    f"bases file {self.path}: base '{b.id}' lists adcodes {missing} that are not "
                    f"in the {what}; fix the adcodes (6-digit county codes) or use the matching "
                    "county boundaries"
                )

    def sum_by_base(self, per_county: pd.DataFrame) -> pd.DataFrame:
        """Sum county values per base, plus a union row (``all_bases``) without double counting.

        Parameters
        ----------
        per_county : pandas.DataFrame
            Indexed by adcode; numeric columns to sum.

        Returns
        -------
        pandas.DataFrame
            One row per base id and a last row ``all_bases``.
        """
        rows = {}
        for b in self.bases:
            rows[b.id] = per_county.reindex(b.counties).fillna(0).sum(numeric_only=True)
        rows["all_bases"] = (
            per_county.reindex(sorted(self.union_counties())).fillna(0).sum(numeric_only=True)
        )
        return pd.DataFrame(rows).T


def load_bases(path: str | Path, counties: pd.DataFrame | None = None) -> BasesTable:
    """Load and validate a bases file.

    Parameters
    ----------
    path : str or pathlib.Path
        YAML or GeoJSON file.
    counties : pandas.DataFrame, optional
        With an ``adcode`` column; every base's adcodes must appear in it.

    Returns
    -------
    BasesTable

    Raises
    ------
    LayerIOError
        If the file is missing or unreadable.
    ConfigError
        If an entry is malformed, ids repeat, or adcodes are unknown.
    """
    path = Path(path)
    if not path.exists():
        raise LayerIOError(
            f"bases file {path} does not exist; set `siting.bases_file:` to a YAML or GeoJSON "
            "listing each base's counties"
        )
    text = path.read_text(encoding="utf-8")
    note = ""
    try:
        if path.suffix.lower() in (".geojson", ".json"):
            data = json.loads(text)
            entries = []
            for f in data.get("features", []):
                props = dict(f.get("properties") or {})
                if isinstance(props.get("counties"), str):
                    props["counties"] = [int(s) for s in props["counties"].split(",") if s.strip()]
                entries.append(props)
            note = str(data.get("note", ""))
        else:
            import yaml

            data = yaml.safe_load(text)
            if isinstance(data, Mapping):
                unknown = sorted(set(data) - _TOP_KEYS)
                if unknown:
                    raise ConfigError(
                        f"bases file {path}: unknown top-level keys {unknown}; allowed: "
                        f"{sorted(_TOP_KEYS)}"
                    )
                note = "; ".join(
                    str(data[k]) for k in ("delineation_status", "note") if data.get(k)
                )
                entries = data.get("bases")
                if entries is None:
                    raise ConfigError(f"bases file {path}: expected a `bases:` list at top level")
            else:
                entries = data
    except (json.JSONDecodeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise LayerIOError(f"bases file {path} cannot be parsed: {exc}") from exc
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"bases file {path}: expected a non-empty list of bases")
    bases = []
    for i, e in enumerate(entries):
        if not isinstance(e, Mapping):
            raise ConfigError(f"bases file {path}: entry {i} is not a mapping")
        e = dict(e)
        if "county_adcodes" in e:
            if "counties" in e:
                raise ConfigError(
                    f"bases file {path}: base {i} has both `county_adcodes` and `counties`; "
                    "keep one"
                )
            e["counties"] = e.pop("county_adcodes")
        try:
            bases.append(Base.model_validate(e))
        except ValidationError as err:
            raise ConfigError(format_validation_error(err, f"{path} bases[{i}]")) from None
    ids = [b.id for b in bases]
    dup = sorted({x for x in ids if ids.count(x) > 1})
    if dup:
        raise ConfigError(f"bases file {path}: base ids repeated: {dup}")
    table = BasesTable(tuple(bases), note, str(path))
    if counties is not None:
        table.check_counties(counties["adcode"], "counties layer")
    return table
