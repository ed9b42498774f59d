"""The "why excluded" layer: land each hard rule removed, coloured by that rule, with its legend.

Inputs (run folder, schema keys): ``siting.excluded_by_rule``
(``siting/excluded_by_rule_<tech>.tif``, the code of the first hard rule excluding each cell)
and ``siting.rule_legend``
(``siting/excluded_by_rule_<tech>.csv``: code, rule, label_zh). Code 0 (eligible) and the
raster's nodata (outside the study area) are transparent; ``no_data`` cells are grey.
Outputs: an image overlay and a legend on the map.
"""

from __future__ import annotations

import numpy as np

from sxplan.maps._common import MapContext, read_run_table, run_path, swatch_legend
from sxplan.maps._context import ContextLayers
from sxplan.maps._raster import png_data_url, read_mercator

__all__ = ["add_exclusion_layer", "exclusion_classes"]

_LEGEND_COLUMNS = ("code", "rule", "label_zh")
_TRANSPARENT_RULES = ("eligible",)
_NO_DATA_COLOR = "#9e9e9e"


def exclusion_classes(legend, names: ContextLayers) -> list[tuple[int, str, str, str]]:
    """Legend rows drawn: ``(code, rule, label_zh, colour)``; eligible and outside left out.

    Examples
    --------
    >>> import pandas as pd
    >>> leg = pd.DataFrame({"code": [0, 1, 254, 255],
    ...     "rule": ["eligible", "redline", "no_data", "outside_study_area (nodata)"],
    ...     "label_zh": ["可用", "红线", "缺少数据", "外"]})
    >>> [(c, r) for c, r, _, _ in exclusion_classes(leg, ContextLayers())]
    [(1, 'redline'), (254, 'no_data')]
    """
    out = []
    for row in legend.itertuples(index=False):
        code, rule = int(row.code), str(row.rule)
        if rule in _TRANSPARENT_RULES or rule.startswith("outside") or code == 255:
            continue
        color = _NO_DATA_COLOR if rule == "no_data" else names.color_of_rule(rule, code)
        out.append((code, rule, str(row.label_zh), color))
    return out


def add_exclusion_layer(m, ctx: MapContext, names: ContextLayers, tech: str, zh: str, en: str):
    """Add the excluded-land layer of one technology (off on open); return it or None."""
    from sxplan.maps._elements import HtmlControl, KeyedImageOverlay

    name = ctx.t(f"{zh}排除原因", f"{en}: why land is excluded")
    path = run_path(ctx, "siting.excluded_by_rule", tech=tech)
    legend_path = run_path(ctx, "siting.rule_legend", tech=tech)
    if not path.is_file() or not legend_path.is_file():
        ctx.missing(name, path if not path.is_file() else legend_path)
        return None
    legend = read_run_table(ctx, "siting.rule_legend", columns=_LEGEND_COLUMNS, tech=tech)
    classes = exclusion_classes(legend, names)
    codes, bounds = read_mercator(
        path,
        what=f"excluded_by_rule_{tech}",
        max_px=ctx.config.raster_max_px,
        resampling="nearest",
        to_gcj02=ctx.to_gcj02,
    )
    rgba = np.zeros((4, *codes.shape), dtype=np.uint8)
    valid = np.isfinite(codes)
    shown = []
    for code, rule, label_zh, color in classes:
        hit = valid & (codes == code)
        if not hit.any():
            continue
        for band in range(3):
            rgba[band][hit] = int(color[1 + 2 * band : 3 + 2 * band], 16)
        rgba[3][hit] = 190
        shown.append((color, ctx.t(label_zh, rule.replace("_", " ").capitalize()), "fill"))
    layer = KeyedImageOverlay(
        png_data_url(rgba), bounds, name=name, key=f"excluded_{tech}", show=False
    )
    layer.add_to(m)
    ctx.layer_keys.append(f"excluded_{tech}")
    title = ctx.t(f"{zh}排除原因(首条硬性规则)", f"{en}: first hard rule excluding the land")
    HtmlControl(swatch_legend(title, shown), follows=layer, key=f"excluded_{tech}").add_to(m)
    return layer
