"""Which layers of ``layers/vectors.gpkg`` the maps draw as context, from the run's own config.

The layer names come from ``run.json`` (``config.project`` and ``config.siting``, the sections
the run was made with), never from the demo's names: the study area (``project.study_area``),
the prefectures (``project.prefectures``), the highways (``siting.highways_layer``) and the
vector layers that hard exclusion rules read (``siting.exclusions[*].layer``; each is labelled
with its rule's ``label_zh`` and name). A folder without ``run.json`` (assembled by hand) uses
the config defaults for the first three and draws no constraint layer.

Inputs: ``RUN_DIR/run.json`` (schema key ``run.json``). Outputs: :class:`ContextLayers`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sxplan.schema import dataset, read_json

__all__ = ["ConstraintLayer", "ContextLayers", "context_layers", "rule_color"]

#: Colours of exclusion rules, by position of the rule in the config (the excluded-by-rule
#: raster uses the same colour for the same rule, so a red-line polygon and the land it
#: removed match). Qualitative palette (ColorBrewer "Set1"/"Dark2"-like, chosen for this map).
RULE_COLORS = (
    "#d7191c", "#2c7bb6", "#1b9e77", "#7570b3", "#e7298a", "#a6761d",
    "#66a61e", "#e6ab02", "#666666", "#b15928", "#6a3d9a", "#fb9a99",
)  # fmt: skip


def rule_color(order: int) -> str:
    """Colour of the exclusion rule at position ``order`` (0-based) of the config."""
    return RULE_COLORS[order % len(RULE_COLORS)]


@dataclass(frozen=True)
class ConstraintLayer:
    """A vector layer a hard exclusion rule reads: layer name, rule name, label, colour."""

    layer: str
    rule: str
    label_zh: str
    color: str


@dataclass(frozen=True)
class ContextLayers:
    """Layer names of ``layers/vectors.gpkg`` the maps draw, from the run's config."""

    study_area: str = "province"
    prefectures: str | None = "prefectures"
    highways: str | None = "highways"
    constraints: tuple[ConstraintLayer, ...] = ()
    #: Exclusion rule name -> its position in the config (for :func:`rule_color`).
    rule_order: tuple[tuple[str, int], ...] = ()

    def color_of_rule(self, rule: str, code: int) -> str:
        """Colour of a rule: by its config position, else by its raster code."""
        order = dict(self.rule_order).get(rule)
        return rule_color(order if order is not None else max(code - 1, 0))


def context_layers(run_dir: Path) -> ContextLayers:
    """The context layers of a run folder, named as its ``run.json`` config names them.

    Parameters
    ----------
    run_dir : pathlib.Path
        The run folder.

    Returns
    -------
    ContextLayers
        Defaults when the folder has no ``run.json`` or its config lacks a section.

    Raises
    ------
    RunFolderError
        If ``run.json`` is not JSON.
    """
    if not dataset("run.json").path_in(run_dir).is_file():
        return ContextLayers()
    config = read_json(run_dir, "run.json").get("config") or {}
    project = config.get("project") or {}
    siting = config.get("siting") or {}
    default = ContextLayers()
    highways = siting.get("highways_layer", default.highways)
    constraints: list[ConstraintLayer] = []
    seen = {highways}
    rules = siting.get("exclusions") or []
    for order, rule in enumerate(rules):
        layer = rule.get("layer")
        if rule.get("type") != "vector" or rule.get("mode", "hard") != "hard" or layer in seen:
            continue
        seen.add(layer)
        constraints.append(
            ConstraintLayer(
                layer=str(layer),
                rule=str(rule.get("name", layer)),
                label_zh=str(rule.get("label_zh") or rule.get("name", layer)),
                color=rule_color(order),
            )
        )
    return ContextLayers(
        study_area=str(project.get("study_area", default.study_area)),
        prefectures=project.get("prefectures", default.prefectures),
        highways=highways,
        constraints=tuple(constraints),
        rule_order=tuple((str(r.get("name")), i) for i, r in enumerate(rules)),
    )
