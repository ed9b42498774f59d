"""Technologies as objects: one small protocol, one module per technology, one registry.

A technology says which layers it needs, how much capacity fits on an area, how much energy
that capacity makes, and which columns (units in their names) it adds to its tables. The
engines that find land (the raster *parcel* engine of :func:`sxplan.siting.run.run_siting`, the
*strip* engine of :func:`sxplan.siting.roadside.run_roadside_pv`) and the tables built after
them look technologies up here by name and never branch on a name.

Adding a technology (pumped storage, agrivoltaics, rooftop PV ...) is one new module
``siting/tech_<name>.py`` holding an object that implements :class:`Technology`, plus one line
in :data:`REGISTRY`. A parcel technology also needs its settings section in
:class:`sxplan.siting.config.SitingConfig` (a field named like the technology).

Inputs: a technology name (``"pv"``, ``"wind"``, ``"roadside_pv"``).
Outputs: the :class:`Technology` object registered under it.

Examples
--------
>>> get_technology("wind").label_zh
'风电'
>>> technology_names(engine="parcels")
['pv', 'wind', 'agrivoltaic_pv']
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from sxplan.errors import ConfigError

__all__ = [
    "REGISTRY",
    "TOTAL_TECHNOLOGY",
    "TOTAL_TECHNOLOGY_ZH",
    "TechLayers",
    "Technology",
    "get_technology",
    "label_zh",
    "technology_names",
]

#: Name -> ``"module:attribute"`` of the object implementing :class:`Technology` (modules are
#: relative to ``sxplan.siting`` and imported on first use).
REGISTRY: Mapping[str, str] = {
    "pv": "tech_pv:PV",
    "wind": "tech_wind:WIND",
    "agrivoltaic_pv": "tech_agrivoltaic_pv:AGRIVOLTAIC_PV",
    "roadside_pv": "tech_roadside_pv:ROADSIDE_PV",
    "pumped_storage": "tech_pumped_storage:PUMPED_STORAGE",
}

#: ``technology`` value of the rows that add up every parcel technology (``bases.csv``).
TOTAL_TECHNOLOGY = "pv+wind"
#: Its Chinese label.
TOTAL_TECHNOLOGY_ZH = "风光合计"

Engine = Literal["parcels", "strips", "reservoir_pairs"]


@dataclass(frozen=True)
class TechLayers:
    """Rasters a technology reads besides exclusion rules and criteria.

    Attributes
    ----------
    resource : str
        Raster reported as the mean resource of a parcel or strip (e.g. GHI, wind speed).
    energy : str
        Raster the specific energy is derived from (PV yield, wind speed).
    energy_key : str
        Where ``energy`` is set in the technology's settings (for messages).
    """

    resource: str
    energy: str
    energy_key: str = "energy"


@runtime_checkable
class Technology(Protocol):
    """What every technology provides, whatever engine finds its land.

    Attributes
    ----------
    name : str
        Registry key; the value of the ``technology`` column and the prefix of parcel ids.
    label_zh : str
        Chinese name for tables and maps.
    label_en : str
        English name for tables and maps.
    engine : {"parcels", "strips", "reservoir_pairs"}
        ``parcels``: connected raster cells found by :func:`sxplan.siting.run.run_siting`;
        ``strips``: verge strips along roads (:func:`sxplan.siting.roadside.run_roadside_pv`);
        ``reservoir_pairs``: upper and lower reservoirs on the DEM
        (:func:`sxplan.siting.pumped_storage.run_pumped_storage`).

    Notes
    -----
    *Specific energy* is the technology's energy per unit of capacity, averaged over a parcel
    or strip: specific yield in kWh/kWp/yr for PV, capacity factor (0-1) for wind. Every
    method taking arrays is vectorised over parcels or strips.
    """

    name: str
    label_zh: str
    label_en: str
    engine: Engine

    def settings(self, section: Any) -> Any:
        """Settings of this technology, from the config section holding them.

        Parameters
        ----------
        section : pydantic model
            :class:`~sxplan.siting.config.SitingConfig` for parcel technologies, the
            ``roadside_pv:`` section for roadside PV.

        Returns
        -------
        pydantic model
            The settings the other methods take as ``settings``.
        """
        ...

    def layers(self, settings: Any) -> TechLayers:
        """Rasters it needs (resource and energy), by run-layer name."""
        ...

    def cell_energy(self, settings: Any) -> Callable:
        """Per-cell specific energy from the energy layer's values (parcel engine).

        Returns a picklable callable ``f(values: ndarray) -> ndarray`` (NaN stays NaN), built
        once per run; parcel means of its output are the ``specific`` of :meth:`energy_gwh`.
        """
        ...

    def capacity_mw(self, area_km2, settings: Any):
        """Installable capacity in MW of areas in km2 (calls :func:`capacity.capacity_mw`)."""
        ...

    def energy_gwh(self, capacity_mw, specific, settings: Any):
        """Annual energy in GWh/yr from capacity in MW and specific energy."""
        ...

    def columns(self, capacity_mw, specific, settings: Any) -> dict:
        """Table columns that follow ``capacity_mw``, in order, units in their names.

        Always includes ``energy_gwh_per_yr`` (from :meth:`energy_gwh`) and the specific
        energy under its own name, plus any extras (e.g. wind's ``turbines``).
        """
        ...


def technology_names(engine: Engine | None = None) -> list[str]:
    """Registered technology names, optionally only those of one engine.

    Parameters
    ----------
    engine : {"parcels", "strips"}, optional
        Keep only technologies found by this engine.

    Returns
    -------
    list of str
    """
    names = list(REGISTRY)
    if engine is None:
        return names
    return [n for n in names if get_technology(n).engine == engine]


def get_technology(name: str) -> Technology:
    """The technology registered under ``name``.

    Parameters
    ----------
    name : str
        ``"pv"``, ``"wind"``, ``"roadside_pv"``, ...

    Returns
    -------
    Technology

    Raises
    ------
    ConfigError
        If no technology has that name (the message lists the known ones).
    """
    where = REGISTRY.get(name)
    if where is None:
        raise ConfigError(f"unknown technology {name!r}; use one of {list(REGISTRY)}")
    module, attr = where.split(":")
    return getattr(importlib.import_module(f"{__package__}.{module}"), attr)


def label_zh(name: str) -> str:
    """Chinese label of a technology, or of the all-technology total row.

    Examples
    --------
    >>> label_zh("pv"), label_zh("pv+wind")
    ('光伏', '风光合计')
    """
    if name == TOTAL_TECHNOLOGY:
        return TOTAL_TECHNOLOGY_ZH
    return get_technology(name).label_zh
