"""The scenario file: validation, YAML round trips, overrides, and one-line errors."""

from __future__ import annotations

import json

import pytest
import yaml

from simulation.inputs.scenario import (
    Scenario,
    ScenarioError,
    json_schema,
    load_scenario,
    parse_scenario,
    with_overrides,
)
from tests.conftest import READY_MADE_NAMES, SCENARIOS


@pytest.mark.parametrize("name", READY_MADE_NAMES)
def test_ready_made_scenarios_validate_and_round_trip(name):
    scenario = load_scenario(SCENARIOS / f"{name}.yaml")
    assert Scenario.from_yaml(scenario.to_yaml()) == scenario


def test_the_required_ready_made_scenarios_exist():
    assert {
        "siloed",
        "aligned",
        "converged",
        "brm_bottleneck",
        "pure_flow",
        "large_enterprise",
    } <= set(READY_MADE_NAMES)
    assert load_scenario(SCENARIOS / "large_enterprise.yaml").total_staff >= 1000


def test_siloed_aligned_converged_share_people_and_demand():
    trio = [load_scenario(SCENARIOS / f"{n}.yaml") for n in ("siloed", "aligned", "converged")]
    assert len({json.dumps([d.model_dump() for d in s.disciplines]) for s in trio}) == 1
    assert len({json.dumps([w.model_dump() for w in s.work_types]) for s in trio}) == 1
    assert [s.structure for s in trio] == ["siloed", "aligned", "converged"]


def test_defaults_derive_prioritisation_from_structure():
    assert Scenario(structure="siloed").prioritisation == "fifo"
    assert Scenario(structure="converged").prioritisation == "value"
    assert (
        Scenario(structure="siloed", levers={"prioritisation": "value"}).prioritisation == "value"
    )


def test_json_schema_describes_the_fields():
    schema = json_schema()
    assert {"structure", "disciplines", "work_types", "mechanisms"} <= set(schema["properties"])
    assert "Rework" in schema["$defs"]


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"structure": "matrix"}, "structure", "must be 'siloed', 'aligned'"),
        (
            {"disciplines": [{"name": "dev", "side": "it", "headcount": -3}]},
            "disciplines[0].headcount",
            "must be at least 0",
        ),
        ({"levers": {"shared_language": 1.5}}, "levers.shared_language", "must be at most 1"),
        ({"levers": {"shared_langauge": 0.5}}, "levers.shared_langauge", "unknown field"),
        ({"horizon_days": "long"}, "horizon_days", "valid integer"),
        ({"brms": {"count": 2.5}}, "brms.count", "integer"),
        (
            {"mechanisms": {"rework": {"detection": -0.1}}},
            "mechanisms.rework.detection",
            "must be at least 0",
        ),
        ({"warmup_days": 300}, "warmup_days", "shorter than horizon_days"),
    ],
)
def test_bad_values_name_the_field_and_reason(change, field, reason):
    data = {**Scenario().model_dump(mode="json"), **change}
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(data)
    assert caught.value.field == field
    assert reason in caught.value.reason
    assert "\n" not in str(caught.value)


def test_a_route_naming_a_discipline_nobody_has_is_refused():
    data = Scenario().model_dump(mode="json")
    data["work_types"][1]["route"][2]["discipline"] = "qa"
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(data)
    assert caught.value.field == "work_types[1].route[2].discipline"
    assert "'qa' is not a discipline" in caught.value.reason


def test_a_discipline_with_nobody_in_it_cannot_be_on_a_route():
    data = Scenario().model_dump(mode="json")
    data["disciplines"][5]["headcount"] = 0  # ops
    with pytest.raises(ScenarioError, match=r"work_types\[0\]\.route\[2\]\.discipline: nobody"):
        parse_scenario(data)


def test_custom_structure_needs_teams_that_add_up():
    with pytest.raises(ScenarioError, match="teams: the custom structure needs"):
        parse_scenario({"structure": "custom"})
    data = {
        "structure": "custom",
        "teams": [{"name": "A", "members": {"dev": 3, "ops": 1}}],
        "disciplines": [
            {"name": "dev", "side": "it", "headcount": 4},
            {"name": "ops", "side": "it", "headcount": 1},
        ],
        "work_types": [
            {
                "name": "w",
                "arrival_rate": 1,
                "route": [{"discipline": "dev", "effort": {"mean": 1}}],
            }
        ],
        "mechanisms": {"defects": {"enabled": False}},
    }
    with pytest.raises(ScenarioError, match=r"disciplines\[0\]\.headcount: 4 dev people but"):
        parse_scenario(data)
    data["disciplines"][0]["headcount"] = 3
    assert parse_scenario(data).headcounts() == {"dev": 3, "ops": 1}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("structure: [siloed\n", "not valid YAML at line"),
        ("- just\n- a list\n", "expected a mapping of scenario fields, got a list"),
        ("", "the file is empty"),
    ],
)
def test_files_that_are_not_scenarios_are_refused(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=message) as caught:
        load_scenario(path)
    assert str(caught.value).startswith(str(path))


def test_binary_file_is_refused(tmp_path):
    path = tmp_path / "photo.yaml"
    path.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)))
    with pytest.raises(ScenarioError):
        load_scenario(path)


def test_overrides_by_dotted_path_name_and_unique_leaf():
    base = Scenario()
    changed = with_overrides(
        base,
        {
            "brms.count": 4,
            "disciplines.dev.headcount": 30,
            "work_types.feature.arrival_rate": 2.0,
            "shared_language": 0.7,
            "mechanisms__rework__detection": 0.9,
        },
    )
    assert changed.brms.count == 4
    assert changed.headcounts()["dev"] == 30
    assert changed.work_types[0].arrival_rate == 2.0
    assert changed.levers.shared_language == 0.7
    assert changed.mechanisms.rework.detection == 0.9
    assert base.brms.count == 0  # the original is untouched


def test_overrides_are_validated_and_ambiguity_is_explained():
    with pytest.raises(ScenarioError, match=r"levers\.transparency"):
        with_overrides(Scenario(), {"levers.transparency": 2})
    with pytest.raises(ScenarioError, match="ambiguous"):
        with_overrides(Scenario(), {"enabled": False})
    with pytest.raises(ScenarioError, match="no entry named 'qa'"):
        with_overrides(Scenario(), {"disciplines.qa.headcount": 3})


def test_all_off_switches_every_mechanism_off():
    off = Scenario().mechanisms.all_off()
    assert not any(getattr(off, name).enabled for name in type(off).model_fields)


def test_yaml_output_is_plain_and_safe():
    text = Scenario(name="Ünïcode ok").to_yaml()
    assert "!!python" not in text
    assert yaml.safe_load(text)["name"] == "Ünïcode ok"


def test_a_scenario_text_is_loaded_once_and_each_parse_gets_its_own_scenario():
    from simulation.inputs import scenario as scenario_module

    text = (SCENARIOS / "aligned.yaml").read_text() + "\n# a text no other test parses\n"
    hits = scenario_module._yaml_data.cache_info().hits
    first = Scenario.from_yaml(text)
    first.disciplines[0].headcount += 1  # a caller may change its scenario
    second = Scenario.from_yaml(text)
    assert scenario_module._yaml_data.cache_info().hits == hits + 1
    assert second == Scenario.from_file(SCENARIOS / "aligned.yaml") != first


def test_a_scenario_text_that_fails_fails_again_with_the_same_line():
    text = "name: x\nhorizon_days: [1, 2\n"
    with pytest.raises(ScenarioError) as first:
        Scenario.from_yaml(text, source="a.yaml")
    with pytest.raises(ScenarioError) as again:
        Scenario.from_yaml(text, source="a.yaml")
    assert str(first.value) == str(again.value)
