"""Typed settings of the ``maps:`` section of a project YAML.

Inputs: a mapping (the YAML section). Outputs: a validated, closed :class:`MapsConfig`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sxplan.layers.specs import StrictModel

__all__ = ["MapsConfig"]


class MapsConfig(StrictModel):
    """How the siting and sinks maps are drawn.

    Attributes
    ----------
    offline : bool
        No network at all: Leaflet inlined, no base tiles (boundaries are the base layer).
    language : {"zh+en", "zh", "en"}
        Labels and popups: Chinese first then English, or one language.
    basemap : {"osm", "tianditu", "amap"} or None
        Online base map shown on open (ignored offline; ``None`` online means OpenStreetMap).
        ``amap`` is GCJ-02: every overlay is then shifted to GCJ-02 and Amap is the only base.
    tianditu_key : str or None
        The user's Tianditu key (else the ``TIANDITU_KEY`` environment variable).
    simplify_tolerance_m : float
        Display simplification of vector outlines, metres (about a pixel at zoom 9-10).
    coordinate_decimals : int
        Decimal places kept in degrees (4 is about 10 m).
    raster_max_px : int
        Longest side of a raster overlay image, pixels.
    max_parcels_per_tech : int
        At most this many parcels per technology are drawn (best first by score); the panel
        says when some were left out.
    """

    offline: bool = True
    language: Literal["zh+en", "zh", "en"] = "zh+en"
    basemap: Literal["osm", "tianditu", "amap"] | None = None
    tianditu_key: str | None = None
    simplify_tolerance_m: float = Field(default=120.0, ge=0.0, le=5000.0)
    coordinate_decimals: int = Field(default=4, ge=3, le=7)
    raster_max_px: int = Field(default=900, ge=32, le=4096)
    max_parcels_per_tech: int = Field(default=4000, ge=1)
