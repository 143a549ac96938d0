"""Scenario validation: every problem reported at once, as `file:line:col: path: message`."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from shopsim.validate import load_scenario, load_scenario_text
from shopsim.scenario.problems import Problem, ScenarioError, format_path
from shopsim.scenario.yamlpos import load_yaml
from shopsim.scenario.zones import _DEFAULTS, default_time_zones, zone_in_country, zone_table

from helpers.paths import FIXTURES, ROOT

INVALID = FIXTURES / "invalid"
INVALID_FILES = sorted(INVALID.glob("*.yaml"))

# fixture -> (line, col, path, a fragment of the message) of the problem it must produce
EXPECTED = {
    "unknown_key": (5, 3, "run.duraton", "unknown key 'duraton'; did you mean 'duration'?"),
    "unknown_key_no_match": (5, 3, "run.colour", "valid: description, duration, name, seed, start"),
    "bad_yaml": (8, 1, "-", "invalid YAML: while parsing a flow sequence (from line 6)"),
    "tab_indent": (4, 1, "-", "indent with spaces"),
    "duplicate_key": (7, 3, "population.size", "duplicate key 'size' (first at line 5, column 3)"),
    "shares_not_one": (7, 3, "population.segments", "shares sum to 0.95, they must sum to 1"),
    "carriers_shares": (8, 3, "orders.carriers", "shares sum to 0.5, they must sum to 1"),
    "probability_out_of_range": (8, 3, "behaviour.add_to_cart", "less than or equal to 1, got 1.5"),
    "negative_duration": (5, 3, "run.duration", "'-2d' is not a duration"),
    "zero_duration": (9, 5, "behaviour.abandonment.detect_after", "must be a positive duration"),
    "duration_without_unit": (5, 3, "run.duration", "must be a duration with a unit, e.g. 7d or 90m, got 7"),
    "bad_dist": (9, 5, "behaviour.sessions.views", "lognormal distribution needs sigma"),
    "dist_unknown_name": (9, 13, "behaviour.sessions.views.dist", "got 'lognormel'; did you mean 'lognormal'?"),
    "dist_number_for_duration": (9, 5, "behaviour.sessions.view_time", "value must be a duration with a unit"),
    "unknown_locale": (7, 5, "population.locales.en-US", "unknown locale 'en-US'; did you mean 'en_US'?"),
    "locale_without_zone": (7, 5, "population.locales.en", "give this locale time_zones"),
    "tz_wrong_country": (9, 20, "population.locales.en_US.time_zones.Europe/Berlin",
                         "Europe/Berlin is not a time zone of US (locale en_US); zones of US include America/New_York"),
    "unknown_tz": (10, 9, "population.locales.de_DE.time_zones.Europe/Berln",
                   "unknown time zone 'Europe/Berln'; did you mean 'Europe/Berlin'?"),
    "unknown_reference_shopper": (9, 5, "events[0].shopper", "shopper ids run from s000001 to s000005"),
    "event_outside_run": (8, 5, "events[0].at", "after the end of the run; the run lasts 2d"),
    "event_before_start": (8, 5, "events[0].at", "is 12h before the run starts"),
    "event_does_nothing": (8, 5, "events[0]", "the event does nothing"),
    "unknown_item_category": (9, 29, "catalogue.items[0].category", "unknown category 'toyz'"),
    "duplicate_item_id": (10, 8, "catalogue.items[1].id", "duplicate product id 'p1' (also used by catalogue.items[0])"),
    "wrong_type": (5, 3, "population.size", "should be a whole number, got 'many'"),
    "missing_required": (3, 1, "run.name", "required field is missing"),
    "unknown_reason": (10, 7, "behaviour.abandonment.reasons.extra_cost", "did you mean 'extra_costs'?"),
    "empty_file": (1, 1, "-", "the file is empty"),
    "not_a_mapping": (1, 1, "-", "the top level must be a mapping"),
    "bad_settings_category": (9, 7, "population.settings.categories.promo",
                              "unknown key 'promo'; did you mean 'promotions'?"),
    "bad_platform": (7, 25, "population.platforms.ipad", "unknown key 'ipad'; valid: android, ios, web"),
    "wrong_schema_version": (2, 1, "schema_version", "must be 1; got 2"),
    "bad_segment_name": (8, 5, "population.segments.Big Spenders", "may only contain a-z, 0-9 and _"),
    "views_min_zero": (9, 53, "behaviour.sessions.views.min", "must be at least 1"),
    "template_syntax_error": (14, 11, "policies.templates.shipping.push.body",
                              "template line 3: syntax error: Unexpected end of template"),
    "template_undefined_variable": (11, 18, "policies.templates.order_updates.email.subject",
                                    "template line 1: undefined: 'dict object' has no attribute 'number'"),
    "template_sms_too_long": (11, 9, "policies.templates.shipping.sms.body", "SMS allows 160"),
    "template_unknown_channel": (10, 7, "policies.templates.promotions.pusch", "did you mean 'push'?"),
    "transactional_unknown_event": (9, 5, "policies.transactional.order.shiped", "did you mean 'order.shipped'?"),
    "digest_for_transactional": (8, 5, "population.settings.categories",
                                 "shipping messages are transactional: their frequency may be realtime or off"),
    "all_shoppers_settings": (9, 5, "events[0].shopper", "shopper: all is only for notify"),
    "cap_for_transactional": (9, 40, "policies.caps[0].category", "got 'shipping'"),
    "flow_unknown_segment": (10, 59, "flows.f.steps[0].when.segments[0]", "did you mean 'regular'?"),
    "campaign_unknown_product": (8, 78, "campaigns.c.products[0]", "unknown product 'p99999'"),
    "incentive_bad_percent": (10, 41, "flows.f.steps[0].incentive", "value above 0 and at most 100"),
    "expect_unknown_metric": (8, 5, "expect[0].metric", "unknown metric 'recovery_rte'; did you mean 'recovery_rate'?"),
    "expect_two_kinds": (8, 5, "expect[0]", "give exactly one of metric, count, invariant or receives"),
    "expect_unknown_event_type": (8, 13, "expect[0].count.type", "did you mean 'order.shipped'?"),
    "expect_unknown_variant": (18, 5, "expect[0].variant", "unknown variant 'holdot'; did you mean 'holdout'?"),
    "expect_unknown_invariant": (8, 5, "expect[0].invariant", "did you mean 'one_outcome_per_request'?"),
    "experiment_unknown_flow": (14, 25, "experiments.x.variants.treated.flows[0]", "did you mean 'cart_recovery'?"),
    "experiment_holdout_with_flows": (15, 7, "experiments.x.variants.holdout", "a holdout receives nothing"),
    "narration_at_and_when": (8, 5, "narration[0]", "give at or when (one of them)"),
}


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return info.value.problems


@pytest.mark.parametrize("path", INVALID_FILES, ids=lambda p: p.stem)
def test_every_invalid_fixture_is_rejected(path: Path) -> None:
    assert path.read_text().startswith("#"), "each fixture starts with a comment saying what it breaks"
    assert problems_of(path)


def test_every_invalid_fixture_has_an_expectation() -> None:
    assert sorted(p.stem for p in INVALID_FILES) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_problem_position_path_and_message(name: str) -> None:
    line, col, path, fragment = EXPECTED[name]
    file = INVALID / f"{name}.yaml"
    problems = problems_of(file)
    assert len(problems) == 1, problems
    p = problems[0]
    assert (p.file, p.line, p.col, p.path) == (str(file), line, col, path)
    assert fragment in p.message
    assert str(p).startswith(f"{file}:{line}:{col}: {path}: ")


def test_minimal_scenario_loads() -> None:
    s = load_scenario(FIXTURES / "minimal.yaml")
    assert s.run.name == "minimal" and s.run.duration == "2d" and s.population.size == 20
    assert set(s.population.locales) == {"en_US", "de_DE"}
    assert set(s.population.segments) == {"bargain", "regular"}


THREE = """\
schema_version: 1
run:
  name: t
  sede: 4
population:
  size: lots
  locales: {en_US: {share: 1}}
behaviour:
  sessions:
    views: {dist: poisson, mean: 3}
"""


def test_three_problems_reported_at_once() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(THREE)
    got = [(p.file, p.line, p.col, p.path) for p in info.value.problems]
    assert got == [("<string>", 4, 3, "run.sede"), ("<string>", 6, 3, "population.size"),
                   ("<string>", 10, 13, "behaviour.sessions.views.dist")]
    text = str(info.value)
    assert "did you mean 'seed'?" in text and "got 'lots'" in text and "got 'poisson'" in text
    assert len(text.splitlines()) == 3


def test_cross_field_problems_reported_at_once() -> None:
    text = (FIXTURES / "minimal.yaml").read_text().replace("share: 0.4", "share: 0.3").replace("de_DE", "de_XX")
    text += "events:\n  - {at: 1d, shopper: s000099, session: true}\n"
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, "m.yaml")
    paths = [p.path for p in info.value.problems]
    assert paths == ["population.locales", "population.locales.de_XX", "events[0].shopper"]


def test_duplicate_key_reported_with_schema_problems() -> None:
    text = "schema_version: 1\nrun: {name: t, name: u}\npopulation: {size: 0, locales: {en_US: {share: 1}}}\n"
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text)
    assert [p.path for p in info.value.problems] == ["run.name", "population.size"]


def test_missing_file_and_directory(tmp_path: Path) -> None:
    for target, fragment in ((tmp_path / "nope.yaml", "no such file"), (tmp_path, "is a directory")):
        with pytest.raises(ScenarioError) as info:
            load_scenario(target)
        [p] = info.value.problems
        assert str(p) == f"{target}:0:0: -: {p.message}" and fragment in p.message


def test_not_utf8(tmp_path: Path) -> None:
    f = tmp_path / "latin1.yaml"
    f.write_bytes(b"schema_version: 1\nrun: {name: caf\xe9}\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    [p] = info.value.problems
    assert (p.line, p.col, p.path) == (0, 0, "-") and "not UTF-8" in p.message and "line 2" in p.message


def test_unreadable_file(monkeypatch: pytest.MonkeyPatch) -> None:
    # chmod 0 does not stop root (CI containers), so make open() refuse instead.
    import shopsim.scenario.loader as loader

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(loader, "open", refuse, raising=False)
    with pytest.raises(ScenarioError) as info:
        load_scenario("locked.yaml")
    assert str(info.value) == "locked.yaml:0:0: -: cannot read the file: permission denied"


def test_problems_sorted_by_position_and_printed_one_per_line() -> None:
    err = ScenarioError([Problem("f", 9, 1, "b", "second"), Problem("f", 2, 5, "a", "first")])
    assert [p.message for p in err.problems] == ["first", "second"]
    assert str(err) == "f:2:5: a: first\nf:9:1: b: second"


def test_format_path() -> None:
    assert format_path(("events", 0, "at")) == "events[0].at"
    assert format_path(()) == "-"


YAML_SAMPLE = """\
a: 1
b: [1.5, null, yes, 0x10, ~, "2026-03-02T00:00:00Z"]
base: &base {x: 1, y: 2}
merged:
  <<: *base
  y: 3
"""


def test_yaml_values_match_safe_load() -> None:
    doc = load_yaml(YAML_SAMPLE)
    assert doc.problems == [] and doc.data == yaml.safe_load(YAML_SAMPLE)


def test_yaml_timestamps_and_clock_times_stay_text_and_positions_point_at_keys() -> None:
    doc = load_yaml("run:\n  start: 2026-03-02T00:00:00Z\n  day: 2026-03-02\n  quiet: 22:00\nl:\n  - 5\n  - {k: v}\n")
    # 22:00 would be the base-60 int 1320 in safe_load; the schema wants the clock time.
    assert doc.data["run"] == {"start": "2026-03-02T00:00:00Z", "day": "2026-03-02", "quiet": "22:00"}
    assert doc.positions[("run",)] == (1, 1)
    assert doc.positions[("run", "start")] == (2, 3)
    assert doc.positions[("l", 1)] == (7, 5) and doc.positions[("l", 1, "k")] == (7, 6)


def test_yaml_recursive_alias_is_a_problem() -> None:
    doc = load_yaml("a: &x [*x]\n")
    assert doc.data is None and "recursive" in doc.problems[0].message


def test_default_time_zones_belong_to_their_country() -> None:
    for locale, zones in _DEFAULTS.items():
        assert abs(sum(zones.values()) - 1) < 1e-9, locale
        country = {"en_MS": "MY", "fr_QC": "CA"}.get(locale, locale.split("_")[1])
        assert all(zone_in_country(z, country) for z in zones), locale
    assert default_time_zones("de_AT") == {"Europe/Vienna": 1.0}
    assert zone_in_country("Asia/Calcutta", "IN")  # an old link name still counts
    assert "US" in zone_table()
    with pytest.raises(LookupError, match="time_zones"):
        default_time_zones("en")


def test_shape_and_cross_field_problems_in_one_round():
    path = FIXTURES / "shape_and_shares.yaml"
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    found = [(p.line, p.path) for p in exc.value.problems]
    assert found == [(5, "run.duraton"), (8, "population.locales")]
    assert "shares sum to 0.9" in exc.value.problems[1].message


def test_a_typo_inside_a_section_does_not_hide_its_cross_checks():
    with pytest.raises(ScenarioError) as exc:
        load_scenario(FIXTURES / "shape_carriers_events.yaml")
    paths = [p.path for p in exc.value.problems]
    assert paths == ["orders.carriers", "orders.carriers.a.trasit", "events[0].shopper", "events[1].at",
                     "events[2].at"]


def _problems(text: str) -> list[Problem]:
    with pytest.raises(ScenarioError) as err:
        load_scenario_text(text, "s.yaml")
    return err.value.problems


MODEL_BASE = """schema_version: 1
run: {name: m}
population: {size: 5, locales: {en_US: {share: 1}}}
"""


def test_model_sections_are_checked_where_they_are_written() -> None:
    """The shopper model's sections: located problems for web shares, a survey step with no survey model, an
    unknown anchor, an unknown reason in the intent factors."""
    (bad_reason,) = _problems(MODEL_BASE + "behaviour:\n  intent:\n    by_reason: {just_browse: 0.5}\n")
    assert (bad_reason.line, bad_reason.path) == (6, "behaviour.intent.by_reason.just_browse")
    assert "did you mean 'just_browsing'?" in bad_reason.message
    text = MODEL_BASE + """behaviour:
  devices:
    web: {mobile_web: 0.5, desktop: 0.3}
flows:
  f:
    trigger: cart.abandoned
    steps:
      - {after: 1h, channel: email, survey: true}
calibration: [cart_abandonmnt]
"""
    got = {p.path: (p.line, p.message) for p in _problems(text)}
    assert got["behaviour.devices.web"] == (6, "shares sum to 0.8, they must sum to 1")
    assert got["flows.f.steps[0].survey"][1].startswith("a survey step needs behaviour.abandonment.survey")
    assert got["calibration[0]"] == (12, "unknown anchor 'cart_abandonmnt'; did you mean 'cart_abandonment'?")


def test_frequency_off_needs_no_quotes_but_yes_is_still_a_boolean():
    """docs/scenario-format.md: `frequency: off` is read as the word; `frequency: yes` is rejected."""
    base = ("schema_version: 1\nrun: {{name: x, seed: 1, duration: 1d}}\n"
            "population: {{size: 2, locales: {{en_US: {{share: 1.0}}}}, "
            "settings: {{categories: {{promotions: {{frequency: {}}}}}}}}}\ncatalogue: {{products: 10, stores: 2}}\n")
    for word in ("off", '"off"'):
        sc = load_scenario_text(base.format(word))
        assert sc.population.settings.categories["promotions"].frequency == "off"
    with pytest.raises(ScenarioError) as err:
        load_scenario_text(base.format("yes"))
    assert "got True" in err.value.problems[0].message
    doc = (ROOT / "docs" / "scenario-format.md").read_text(encoding="utf-8")
    assert "The one exception is `frequency: off`" in doc


@pytest.mark.parametrize(("typed", "meant"), [("en_UK", "en_GB"), ("en-gb", "en_GB"), ("jp_JP", "ja_JP"),
                                              ("cz_CZ", "cs_CZ"), ("gr_GR", "el_GR"), ("en_USA", "en_US")])
def test_an_unknown_locale_suggests_its_real_neighbour_not_the_nearest_spelling(typed, meant):
    text = (f"schema_version: 1\nrun: {{name: x, seed: 1, duration: 1d}}\n"
            f"population: {{size: 2, locales: {{{typed}: {{share: 1.0}}}}}}\ncatalogue: {{products: 10, stores: 2}}\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario_text(text)
    assert err.value.problems[0].message.endswith(f"did you mean {meant!r}?")


def test_an_unknown_country_lists_the_languages_own_locales():
    text = ("schema_version: 1\nrun: {name: x, seed: 1, duration: 1d}\n"
            "population: {size: 2, locales: {de_XX: {share: 1.0}}}\ncatalogue: {products: 10, stores: 2}\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario_text(text)
    assert "locales for 'de': de, de_AT, de_CH, de_DE" in err.value.problems[0].message


@pytest.mark.parametrize(("typed", "hint"), [("5e-1", "write 5.0e-1"), ("1E3", "write 1.0e+3"),
                                             ("2.5e2", "write 2.5e+2")])
def test_a_number_yaml_reads_as_text_says_how_to_write_it(typed, hint):
    text = ("schema_version: 1\nrun: {name: x, seed: 1, duration: 1d}\n"
            "population: {size: 2, locales: {en_GB: {share: 1.0}}}\ncatalogue: {products: 10, stores: 2}\n"
            f"behaviour: {{add_to_cart: {typed}}}\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario_text(text)
    assert hint in err.value.problems[0].message
    fixed = text.replace(typed, hint.removeprefix("write "))
    if float(hint.removeprefix("write ")) <= 1:
        assert load_scenario_text(fixed).behaviour.add_to_cart == float(typed)


@pytest.mark.parametrize("shopper, wrong", [("s000006", True), ("s000000", True), ("s000005", False)])
def test_an_expectation_about_an_unknown_shopper_names_the_real_range(shopper: str, wrong: bool) -> None:
    """ids run from the first shopper to the last, s000005 for five: the message names the last one exactly."""
    data = yaml.safe_load((FIXTURES / "minimal.yaml").read_text())
    data["population"]["size"] = 5
    data["expect"] = [{"receives": {"shopper": shopper}}]
    text = yaml.safe_dump(data, sort_keys=False)
    if not wrong:
        load_scenario_text(text, "x.yaml")
        return
    with pytest.raises(ScenarioError) as e:
        load_scenario_text(text, "x.yaml")
    assert f"no shopper {shopper}: ids run from s000001 to s000005" in str(e.value)
