"""The sites of a backtest (``sxplan backtest``) on the siting map.

Existing installations scored against the run: green where most of the site lies on eligible
land, red where it is mostly excluded, with the first rule that removed it in the tooltip.
Points are drawn as 600 m discs so the layer works offline without marker images.

Inputs (run folder, schema key): ``backtest.sites_gpkg`` (``backtest/backtest.gpkg``;
optional: a run without a backtest draws nothing and says nothing). Outputs: one vector layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sxplan.maps._common import MapContext, add_vector, read_run_table, swatch_legend
from sxplan.maps._elements import HtmlControl
from sxplan.maps._text import format_value
from sxplan.schema import dataset

if TYPE_CHECKING:
    from sxplan.maps._siting import SitingData

__all__ = ["add_backtest_sites"]

#: Columns of ``backtest.sites_gpkg`` the map shows (at most 12 popup rows).
_BACKTEST_COLUMNS = (
    "site_id", "technology", "name", "capacity_mw", "score", "eligible_share", "first_rule",
    "all_rules", "dropped",
)  # fmt: skip
_ELIGIBLE, _EXCLUDED = "#1a9850", "#d73027"
_DISC_M = 600.0


def add_backtest_sites(m, ctx: MapContext, data: SitingData) -> None:
    """Draw the backtest's sites when the run folder has them (a layer builder)."""
    if not dataset("backtest.sites_gpkg").present_in(ctx.run_dir):
        return  # a run without a backtest is the usual case, not a missing layer
    sites = read_run_table(ctx, "backtest.sites_gpkg", columns=_BACKTEST_COLUMNS)
    if sites.empty:
        return
    sites = sites[[*_BACKTEST_COLUMNS, "geometry"]]
    albers = sites.geometry.to_crs("+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +ellps=WGS84")
    is_point = (sites.geom_type == "Point").to_numpy()
    discs = albers.buffer(_DISC_M).to_crs(sites.crs)
    sites = sites.set_geometry(np.where(is_point, discs.to_numpy(), sites.geometry.to_numpy()))
    eligible = sites["eligible_share"].fillna(0).to_numpy(dtype=float) > 0.5
    name = ctx.t("回测: 现有场站", "Backtest: existing sites")
    layer = add_vector(
        m, ctx, sites, key="backtest_sites", name=name,
        style={"color": "#000000", "weight": 1, "fillOpacity": 0.9},
        colors=np.where(eligible, _ELIGIBLE, _EXCLUDED).tolist(),
        popup_columns=list(_BACKTEST_COLUMNS),
        tooltip=lambda r: f"{r['technology']} {r['name'] or r['site_id']}: "
        f"{format_value(r['score'])} {r['first_rule'] or ''}",
    )  # fmt: skip
    HtmlControl(
        swatch_legend(
            name,
            [
                (_ELIGIBLE, ctx.t("多数在可用地上", "mostly on eligible land"), "fill"),
                (_EXCLUDED, ctx.t("多数在排除地上", "mostly on excluded land"), "fill"),
            ],
        ),
        follows=layer,
        key="backtest_sites",
    ).add_to(m)
