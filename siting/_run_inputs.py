"""Validated inputs of a siting run, gathered in one object.

Counties arrive validated by the layers step (:func:`sxplan.layers.counties.validate_counties`,
the one place counties are checked and put in the grid CRS); here a cheap check confirms it.
Bases are loaded and matched to the counties, and the optional installed-capacity table is
read and checked.

Inputs: the run's grid, aligned rasters and vectors, counties, bases (or a bases file), the
``siting:`` config (or a mapping), an optional installed-capacity table.
Outputs: a :class:`SitingInputs`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from sxplan.errors import ConfigError
from sxplan.layers.counties import require_validated_counties
from sxplan.layers.grid import GridSpec

from ._context import LayerSet
from .bases import BasesTable, load_bases
from .config import SitingConfig, load_siting_config
from .technology import technology_names

__all__ = ["SitingInputs", "prepare_inputs"]


@dataclass(frozen=True)
class SitingInputs:
    """Everything the siting steps read, validated once.

    Attributes
    ----------
    grid : GridSpec
        The run's grid.
    layers : LayerSet
        Aligned rasters and vectors by name.
    counties : geopandas.GeoDataFrame
        Counties in the grid CRS, index 0..n-1, ``adcode`` as int64.
    bases : BasesTable
        The bases, their counties checked against ``counties``.
    config : SitingConfig
        The ``siting:`` settings.
    installed : pandas.DataFrame or None
        Installed capacity (``adcode``, ``technology``, ``capacity_mw``).
    """

    grid: GridSpec
    layers: LayerSet
    counties: gpd.GeoDataFrame
    bases: BasesTable
    config: SitingConfig
    installed: pd.DataFrame | None = None


def prepare_inputs(grid, rasters, vectors, counties, bases, config, installed=None) -> SitingInputs:
    """Validate the inputs of :func:`sxplan.siting.run.run_siting` (see its parameters).

    Returns
    -------
    SitingInputs

    Raises
    ------
    ConfigError
        A malformed config, counties layer, bases file or installed-capacity table.
    """
    cfg = config if isinstance(config, SitingConfig) else load_siting_config(config)
    counties = require_validated_counties(counties, grid, who="siting")
    if not isinstance(bases, BasesTable):
        bases = load_bases(bases)
    bases.check_counties(counties["adcode"], "counties layer")
    layers = LayerSet(grid, rasters, vectors)
    if installed is None and cfg.installed_capacity_path:
        installed = _read_installed(cfg.installed_capacity_path)
    if installed is not None:
        installed = _check_installed(installed)
    return SitingInputs(grid, layers, counties, bases, cfg, installed)


def _read_installed(path) -> pd.DataFrame:
    from sxplan.errors import LayerIOError

    p = Path(path)
    if not p.is_file():
        raise LayerIOError(
            f"installed capacity file {p} does not exist; fix `siting.installed_capacity_path` "
            "(a CSV with columns adcode, technology, capacity_mw) or remove it"
        )
    try:
        return pd.read_csv(p, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise LayerIOError(f"installed capacity file {p} is not a readable CSV: {exc}") from exc


def _check_installed(df: pd.DataFrame) -> pd.DataFrame:
    need = ["adcode", "technology", "capacity_mw"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ConfigError(f"installed capacity table lacks columns {missing}; needs {need}")
    known = technology_names(engine="parcels")
    bad = sorted(set(df["technology"]) - set(known))
    if bad:
        raise ConfigError(f"installed capacity: unknown technologies {bad}; use one of {known}")
    return df
