"""Policy presets (`policies: {preset: NAME}`) and policy changes (`policies.changes`) in the scenario file:
the merge of a preset with the fields written beside it, and the located errors of both."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner

from helpers.scenarios import tiny_scenario_data
from shopsim.cli import main
from shopsim.scenario.compiled import compile_scenario
from shopsim.scenario.presets import PRESETS
from shopsim.scenario.problems import ScenarioError
from shopsim.scenario.schema import Policies, Scenario, _default_caps
from shopsim.validate import load_scenario_text


def _text(policies: dict, duration: str = "10d") -> str:
    return yaml.safe_dump(tiny_scenario_data(size=5, duration=duration, policies=policies), sort_keys=False)


def _problems(policies: dict, duration: str = "10d") -> list[str]:
    with pytest.raises(ScenarioError) as e:
        load_scenario_text(_text(policies, duration), "s.yaml")
    return [str(p) for p in e.value.problems]


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_a_preset_gives_its_caps_and_send_windows():
    sc = load_scenario_text(_text({"preset": "klaviyo"}))
    assert [(c.channel, c.max, c.per, c.name) for c in sc.policies.caps] == [
        ("email", 1, "16h", "smart_sending_email"), ("sms", 1, "24h", "smart_sending_sms"),
        ("push", 1, "24h", "smart_sending_push")]
    assert [(w.channel, w.start, w.end, w.classes) for w in sc.policies.send_windows] == [
        ("sms", "08:00", "21:00", ["marketing"])]
    cs = compile_scenario(sc)
    assert [(r.name, r.per_ms) for r in cs.caps] == [("smart_sending_email", 16 * 3_600_000),
                                                     ("smart_sending_sms", 86_400_000),
                                                     ("smart_sending_push", 86_400_000)]


def test_fields_written_beside_a_preset_replace_the_presets_field_by_field():
    sc = load_scenario_text(_text({"preset": "klaviyo", "send_windows": [],
                                   "caps": [{"channel": "push", "max": 5, "per": "1h"}]}))
    assert [(c.channel, c.max, c.per) for c in sc.policies.caps] == [("push", 5, "1h")]
    assert sc.policies.send_windows == []
    # A field left out keeps the preset's.
    sc = load_scenario_text(_text({"preset": "klaviyo", "send_windows": []}))
    assert [c.name for c in sc.policies.caps] == ["smart_sending_email", "smart_sending_sms", "smart_sending_push"]


def test_the_shopsim_preset_is_shopsims_own_defaults():
    assert Policies.model_validate({"preset": "shopsim"}).model_dump(exclude={"preset"}) == \
        Policies().model_dump(exclude={"preset"})
    assert [c.model_dump() for c in _default_caps()] == \
        [c.model_dump() for c in Policies.model_validate({"preset": "shopsim"}).caps]


def test_every_preset_is_valid_and_sets_only_what_a_change_may_set():
    for name, p in PRESETS.items():
        assert set(p.fields) <= {"caps", "send_windows"}, name
        Policies.model_validate(p.fields)
        assert p.source and p.summary


def test_a_preset_is_a_plain_field_of_policies():
    """So an override `policies.preset=klaviyo` sets it like any other field."""
    assert "preset" in Scenario.model_json_schema()["$defs"]["Policies"]["properties"]
    schema = Scenario.model_json_schema()["$defs"]["Policies"]["properties"]["preset"]
    assert sorted(schema["anyOf"][0]["enum"]) == sorted(PRESETS)


def test_an_unknown_preset_is_a_located_error_listing_the_known_ones():
    text = _text({"preset": "klavio"})
    with pytest.raises(ScenarioError) as e:
        load_scenario_text(text, "s.yaml")
    (p,) = e.value.problems
    assert (p.file, p.line, p.path) == ("s.yaml", _line_of(text, "preset: klavio"), "policies.preset")
    assert "'klaviyo'" in p.message and "'shopsim'" in p.message and "did you mean 'klaviyo'?" in p.message


def test_an_unknown_preset_in_a_change_is_located_too():
    (p,) = _problems({"changes": [{"from": "2d", "preset": "braze"}]})
    assert ": policies.changes[0].preset: must be one of 'shopsim', 'klaviyo'" in p


def test_a_change_that_changes_nothing_is_an_error():
    (p,) = _problems({"changes": [{"from": "2d"}]})
    assert p.endswith(": policies.changes[0]: the change changes nothing; give it caps, send_windows or a preset")


@pytest.mark.parametrize("changes, path, words", [
    ([{"from": "0h", "caps": []}], "policies.changes[0].from", "is not after the run's start"),
    ([{"from": "2026-03-01T00:00:00Z", "caps": []}], "policies.changes[0].from", "is not after the run's start"),
    ([{"from": "11d", "caps": []}], "policies.changes[0].from", "is after the end of the run"),
    ([{"from": "3d", "caps": []}, {"from": "2d", "caps": []}], "policies.changes[1].from",
     "changes must be in time order: 2d is not after changes[0] (3d)"),
    ([{"from": "3d", "caps": []}, {"from": "72h", "caps": []}], "policies.changes[1].from",
     "changes must be in time order"),
    ([{"from": "soon", "caps": []}], "policies.changes[0].from", "is neither a duration"),
    ([{"at": "2d", "caps": []}], "policies.changes[0].at", "unknown key 'at'"),
])
def test_bad_change_times_are_located_errors(changes, path, words):
    text = _text({"changes": changes})
    with pytest.raises(ScenarioError) as e:
        load_scenario_text(text, "s.yaml")
    (p,) = [p for p in e.value.problems if p.path == path]
    assert words in p.message
    assert p.line > _line_of(text, "changes:")


def test_changes_compile_to_phases_that_carry_what_they_leave_alone():
    sc = load_scenario_text(_text({
        "caps": [{"channel": "push", "max": 3, "per": "24h"}],
        "changes": [{"from": "2d", "caps": [{"channel": "email", "max": 1, "per": "24h", "name": "email_daily"},
                                            {"channel": "push", "max": 1, "per": "4h"}]},
                    {"from": "2026-03-06T12:00:00Z", "send_windows": []},
                    {"from": "6d", "preset": "klaviyo", "caps": []}]}))
    cs = compile_scenario(sc)
    first, second, third = cs.policy_changes
    assert (first.t, first.name, first.changed) == (2 * 86_400_000, "changes[0]", ("caps",))
    assert [r.name for r in first.caps] == ["email_daily", "changes[0].caps[1]"]
    assert first.send_windows == cs.send_windows  # not written: carried over
    assert (second.t, second.changed, second.send_windows) == (4 * 86_400_000 + 12 * 3_600_000, ("send_windows",), ())
    assert second.caps == first.caps
    assert third.preset == "klaviyo" and third.caps == ()
    assert [w[4] for w in third.send_windows] == ["changes[2].send_windows[0]"]


def test_presets_command_lists_them_with_their_sources_and_prints_one():
    runner = CliRunner()
    res = runner.invoke(main, ["presets"])
    assert res.exit_code == 0
    lines = res.output.splitlines()
    assert [line.split("\t")[0] for line in lines] == list(PRESETS)
    assert all("\tsource: " in line for line in lines)
    res = runner.invoke(main, ["presets", "klaviyo"])
    assert res.exit_code == 0
    fields = yaml.safe_load(res.output)  # what it prints pastes under `policies:`
    assert Policies.model_validate(fields).model_dump() == Policies.model_validate({"preset": "klaviyo"}).model_dump(
        exclude={"preset"}) | {"preset": None}
    res = runner.invoke(main, ["presets", "braze"])
    assert res.exit_code == 2 and "the presets are klaviyo, shopsim" in res.stderr
