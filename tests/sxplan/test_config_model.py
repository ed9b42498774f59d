"""The root config is fully typed: every section has its stage's model, none is ``Any``."""

import subprocess
import sys
import typing

import pytest

from sxplan.config import (
    SECTION_MODELS,
    ProjectConfig,
    demo_config_path,
    load_config,
)


def _walk(annotation):
    yield annotation
    for arg in typing.get_args(annotation):
        yield from _walk(arg)


def test_project_config_has_no_field_annotated_any():
    assert ProjectConfig.__pydantic_complete__
    for name, field in ProjectConfig.model_fields.items():
        assert typing.Any not in set(_walk(field.annotation)), f"ProjectConfig.{name} is Any"


def test_each_section_is_typed_with_its_stage_model():
    from sxplan.maps.config import MapsConfig
    from sxplan.sinks.config import SinksConfig
    from sxplan.siting.config import SitingConfig
    from sxplan.siting.pumped_config import PumpedStorageConfig
    from sxplan.siting.roadside import RoadsidePVConfig

    expected = {
        "siting": SitingConfig,
        "roadside_pv": RoadsidePVConfig,
        "pumped_storage": PumpedStorageConfig,
        "sinks": SinksConfig,
        "maps": MapsConfig,
    }
    assert set(SECTION_MODELS) == set(expected)
    for name, model in expected.items():
        assert ProjectConfig.model_fields[name].annotation == model | None
        assert SECTION_MODELS[name] is model


def test_a_section_given_as_a_mapping_is_validated_by_its_model():
    cfg = load_config(demo_config_path())
    data = cfg.model_dump(exclude={"raw"})
    data["sinks"] = {"target_gain_points": 3.0}
    again = ProjectConfig.model_validate(data)
    assert again.sinks.target_gain_points == 3.0 and again.sinks.landcover_layer == "landcover"
    with pytest.raises(ValueError, match="target_gain_pointz"):
        ProjectConfig.model_validate({**data, "sinks": {"target_gain_pointz": 3.0}})


def test_importing_the_config_module_stays_light():
    code = (
        "import sys, sxplan.config; "
        "print(sorted(m for m in ('geopandas', 'pandas', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
