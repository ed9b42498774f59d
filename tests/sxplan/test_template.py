"""The `sxplan init` template is checked against the config models.

Every field of every section model (recursively, through nested models, lists and unions) must
appear in the template's section, set or commented out as ``# key:``, so a new config field
without a template line fails here. The template must also validate.
"""

import re
import shutil
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from sxplan.config import SECTION_MODELS, SECTIONS, ProjectSection, load_config
from sxplan.layers.specs import RasterLayerSpec, StrictModel, VectorLayerSpec

TEMPLATE = Path(__file__).resolve().parents[2] / "sxplan" / "templates" / "project.yaml"


def section_models(name: str) -> list[type[BaseModel]]:
    """The model of a template section and every model nested in it."""
    roots = {"project": [ProjectSection], "layers": [RasterLayerSpec, VectorLayerSpec]}
    found: list[type[BaseModel]] = []
    for root in roots.get(name) or [SECTION_MODELS[name]]:
        _collect(root, found)
    return found


def _collect(annotation, found: list) -> None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation not in found:
            found.append(annotation)
            for field in annotation.model_fields.values():
                _collect(field.annotation, found)
        return
    for arg in typing.get_args(annotation):
        _collect(arg, found)


def template_sections(text: str) -> dict[str, str]:
    """Top-level key -> the text of its block (comments included)."""
    blocks: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        m = re.match(r"^([a-z_]+):", line)
        if m:
            current = m.group(1)
            blocks[current] = [line[m.end() :]]
        elif current is not None:
            blocks[current].append(line)
    return {k: "\n".join(v) for k, v in blocks.items()}


def missing_keys(models, block: str) -> list[str]:
    """``Model.field`` for every field not written as ``key:`` (or ``# key:``) in ``block``."""
    out = []
    for model in models:
        for field in model.model_fields:
            if not re.search(rf"(^|[\s{{,#-]){re.escape(field)}:", block, re.M):
                out.append(f"{model.__name__}.{field}")
    return out


def test_template_has_every_section():
    blocks = template_sections(TEMPLATE.read_text(encoding="utf-8"))
    assert set(blocks) == set(SECTIONS)


@pytest.mark.parametrize("section", SECTIONS)
def test_template_mentions_every_field_of_the_section_models(section):
    block = template_sections(TEMPLATE.read_text(encoding="utf-8"))[section]
    missing = missing_keys(section_models(section), block)
    assert not missing, (
        f"sxplan/templates/project.yaml `{section}:` lacks a line (set, or commented out as "
        f"`# key: default  # meaning`) for {missing}"
    )


def test_the_check_is_not_blind():
    class Nested(StrictModel):
        deep_key_m: float = 1.0

    class Section(StrictModel):
        top_key: int = 1
        nested: list[Nested | None] = []

    assert section_models("sinks")[0].__name__ == "SinksConfig"
    assert "ClimateLimit" in {m.__name__ for m in section_models("sinks")}
    found: list = []
    _collect(Section, found)
    block = "\n  top_key: 2\n  nested:\n    # - deep_key_m: 3"
    assert missing_keys(found, block) == []
    assert missing_keys(found, "\n  top_key: 2\n  # nested: []") == ["Nested.deep_key_m"]
    assert missing_keys(found, "\n  my_top_key: 2") == [
        "Section.top_key",
        "Section.nested",
        "Nested.deep_key_m",
    ]


def test_template_validates(tmp_path):
    shutil.copy(TEMPLATE, tmp_path / "project.yaml")
    cfg = load_config(tmp_path / "project.yaml")
    for name in SECTIONS:
        assert getattr(cfg, name) is not None, name
