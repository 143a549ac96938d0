"""`--set PATH=VALUE`: parsing, applying in the scenario's own paths, and located problems."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from shopsim.scenario.overrides import OverrideError, parse, parse_path, split_values
from shopsim.scenario.problems import ScenarioError
from shopsim.validate import load_scenario

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "sweep_small.yaml"


def test_paths_read_keys_and_indexes():
    assert parse_path("flows.reminder.steps[0].after") == ("flows", "reminder", "steps", 0, "after")
    assert parse_path("a[1][2].b") == ("a", 1, 2, "b")
    for bad in ("", "flows..x", "flows.x[a]", "flows.x y", "a.b[", "x" * 400):
        with pytest.raises(OverrideError):
            parse_path(bad)


def test_values_split_at_top_level_commas_only():
    assert split_values("1h,4h, 24h") == ["1h", "4h", "24h"]
    assert split_values("[email, push],[sms]") == ["[email, push]", "[sms]"]
    assert split_values("{a: 1, b: 2},'x, y'") == ["{a: 1, b: 2}", "'x, y'"]


@given(st.lists(st.from_regex(r"[A-Za-z0-9_]{1,8}", fullmatch=True), min_size=1, max_size=6))
def test_plain_values_split_back_into_what_was_joined(values):
    assert split_values(",".join(values)) == values


def test_values_are_read_as_yaml_like_the_file():
    [o] = parse("population.size=120", many=False)
    assert o.value == 120 and o.text == "120"
    [o] = parse("flows.x.steps[0].after=4h", many=False)
    assert o.value == "4h"
    [o] = parse("run.start=2026-03-02T00:00:00Z", many=False)
    assert o.value == "2026-03-02T00:00:00Z"  # an instant stays the text the schema wants
    many = parse("flows.x.steps[0].channel=email,push", many=True)
    assert [o.value for o in many] == ["email", "push"]


@pytest.mark.parametrize("spec, words", [
    ("nothing", "has no '='"),
    ("a.b=", "an empty value"),
    ("a.b=1,1", "given twice"),
    ("a.b=[1,", "cannot read"),
])
def test_bad_syntax_says_what_is_wrong(spec, words):
    with pytest.raises(OverrideError, match=words.replace("(", r"\(")):
        parse(spec, many=True)


def test_an_override_changes_exactly_that_value():
    base = load_scenario(FIXTURE)
    changed = load_scenario(FIXTURE, parse("flows.reminder.steps[0].after=4h", many=False))
    assert changed.flows["reminder"].steps[0].after == "4h"
    assert base.flows["reminder"].steps[0].after == "1h"
    assert changed.model_dump(exclude={"flows"}) == base.model_dump(exclude={"flows"})


def test_a_field_the_file_left_out_can_be_set():
    s = load_scenario(FIXTURE, parse("flows.reminder.steps[1].incentive={type: percent, value: 10, valid: 48h}",
                                     many=False))
    assert s.flows["reminder"].steps[1].incentive.value == 10


def _problems(spec: str) -> list[str]:
    with pytest.raises(ScenarioError) as e:
        load_scenario(FIXTURE, parse(spec, many=False))
    return [str(p) for p in e.value.problems]


def _line_of(text: str) -> int:
    return next(i for i, line in enumerate(FIXTURE.read_text().splitlines(), 1) if text in line)


def test_a_bad_value_is_placed_where_the_file_had_it_and_names_the_override():
    [p] = _problems("flows.reminder.steps[0].after=4x")
    assert p.startswith(f"{FIXTURE}:{_line_of('after: 1h')}:")
    assert "flows.reminder.steps[0].after" in p and "(from --set flows.reminder.steps[0].after=4x)" in p
    assert "not a duration" in p


@pytest.mark.parametrize("spec, words", [
    ("flows.remindr.steps[0].after=4h", "flows has no 'remindr'; did you mean 'reminder'?"),
    ("flows.reminder.steps[5].after=4h", "flows.reminder.steps has 2 items"),
    ("flows.reminder.stepz[0].after=4h", "unknown field 'stepz'; did you mean 'steps'?"),
    ("run.name.x=1", "run.name is not a mapping"),
])
def test_a_path_that_is_not_in_the_file_is_refused_with_a_suggestion(spec, words):
    [p] = _problems(spec)
    assert words in p and f"--set {spec}" in p


def test_a_mapping_an_override_made_is_blamed_on_it():
    problems = _problems("flows.reminder.steps[1].incentive.value=10")
    assert any("incentive.type" in p and "(from --set flows.reminder.steps[1].incentive.value=10)" in p
               for p in problems)


def test_cross_field_checks_see_the_changed_scenario():
    problems = _problems("experiments.nudge.control=nobody")
    assert any("nobody" in p for p in problems)


@given(st.text(max_size=80))
def test_any_text_is_an_override_or_a_clear_refusal(spec):
    try:
        overrides = parse(spec, many=True)
    except OverrideError as e:
        assert str(e)
        return
    assert overrides and all(o.where for o in overrides)


@given(st.text(alphabet="abc.[]0-_=,{}'\"x ", max_size=40))
def test_an_applied_override_is_a_value_or_a_located_problem(spec):
    try:
        overrides = parse(spec, many=False)
    except OverrideError:
        return
    try:
        load_scenario(FIXTURE, overrides)
    except ScenarioError as e:
        assert all(p.file == str(FIXTURE) and p.line >= 0 for p in e.problems)
