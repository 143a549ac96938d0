"""`shopsim lint`: each rule on a hand-built scenario with the conflict planted, and silent without it."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from helpers.paths import ROOT
from shopsim.cli import main
from shopsim.scenario.compiled import compile_scenario
from shopsim.scenario.lint import lint
from shopsim.scenario.yamlpos import load_yaml
from shopsim.validate import load_scenario_text

BASE = """schema_version: 1
run: {name: linted, duration: 3d, start: "2026-03-02T00:00:00Z"}
population:
  size: 10
  locales: {en_GB: {share: 1, time_zones: {Europe/London: 1}}}
  settings:
    quiet_hours: {start: "22:00", end: "08:00"}
"""


def findings(extra: str, base: str = BASE):
    text = base + extra
    sc = load_scenario_text(text, "x.yaml")
    return lint(sc, compile_scenario(sc), load_yaml(text, "x.yaml").positions, "x.yaml")


def rules(extra: str, base: str = BASE) -> list[tuple[str, str, str]]:
    return [(f.rule, f.severity, f.path) for f in findings(extra, base)]


def test_a_clean_scenario_has_no_finding():
    assert rules("""flows:
  r: {trigger: cart.abandoned, steps: [{after: 1h, channel: email}, {after: 1d, channel: push}]}
""") == []


def test_a_send_window_inside_quiet_hours_never_opens():
    got = rules("""policies:
  send_windows: [{channel: push, start: "23:00", end: "06:00"}]
""")
    assert got == [("window-inside-quiet-hours", "error", "policies.send_windows[0]")]
    step = rules("""flows:
  r: {trigger: cart.abandoned, steps: [{after: 1h, channel: push, send_window: {start: "22:30", end: "23:30"}}]}
""")
    assert step == [("window-inside-quiet-hours", "error", "flows.r.steps[0].send_window")]


def test_a_cap_smaller_than_a_flow_caps_its_last_steps():
    got = findings("""flows:
  r:
    trigger: cart.abandoned
    steps: [{after: 1h, channel: push}, {after: 2h, channel: push}]
policies:
  caps: [{channel: push, max: 1, per: 24h}]
""")
    [f] = got
    assert (f.rule, f.severity, f.path) == ("cap-shorter-than-flow", "warning", "flows.r.steps[1]")
    assert "step 2 is capped" in f.message and (f.line, f.col) == (11, 41)  # its place in the flow-style list
    spaced = rules("""flows:
  r:
    trigger: cart.abandoned
    steps: [{after: 1h, channel: push}, {after: 1d, channel: push}]
policies:
  caps: [{channel: push, max: 1, per: 24h}]
""")
    assert spaced == []


def test_caps_and_windows_a_policy_change_brings_in_are_linted_too():
    got = findings("""flows:
  r:
    trigger: cart.abandoned
    steps: [{after: 1h, channel: push}, {after: 2h, channel: push}]
policies:
  changes:
    - {from: 1d, caps: [{channel: push, max: 1, per: 24h}]}
    - {from: 2d, send_windows: [{channel: push, start: "23:00", end: "06:00"}]}
""")
    assert sorted((f.rule, f.path) for f in got) == [
        ("cap-shorter-than-flow", "flows.r.steps[1]"),
        ("window-inside-quiet-hours", "policies.changes[1].send_windows[0]")]
    cap = next(f for f in got if f.rule == "cap-shorter-than-flow")
    assert cap.message.startswith("changes[0].caps[0] lets 1 push message through per 24h")
    window = next(f for f in got if f.rule == "window-inside-quiet-hours")
    assert window.line == 15


def test_an_offer_held_past_its_end_by_quiet_hours():
    got = rules("""campaigns:
  flash: {kind: flash_sale, at: 1d, local_time: "23:00", ends: 2h, channels: [push], title: Flash}
""")
    assert ("offer-ends-in-quiet-hours", "warning", "campaigns.flash.ends") in got
    assert rules("""campaigns:
  flash: {kind: flash_sale, at: 1d, local_time: "12:00", ends: 2h, channels: [push], title: Flash}
""") == []


def test_recommendations_to_nobody_with_personalization_consent():
    got = rules("""campaigns:
  picks: {kind: recommendations, at: 1d, channels: [email], title: Picks}
""", BASE.replace("  settings:", "  consent: {personalization: 0.0}\n  settings:"))
    assert got == [("no-personalization-consent", "error", "campaigns.picks")]


def test_a_digest_due_in_quiet_hours():
    got = rules("", BASE.replace('    quiet_hours: {start: "22:00", end: "08:00"}',
                                 '    quiet_hours: {start: "22:00", end: "08:00"}\n    digest: {time: "07:00"}'))
    assert got == [("digest-in-quiet-hours", "warning", "population.settings.digest")]


def test_exits_and_conditions_that_can_never_happen():
    got = rules("""flows:
  b: {trigger: browse.abandoned, category: recommendations, exit: [cart_emptied], steps: [{after: 1h, channel: email}]}
  c: {trigger: cart.abandoned, steps: [{after: 1h, channel: email, when: {clicked: false}}]}
""")
    assert ("exit-never-happens", "warning", "flows.b.exit") in got
    assert ("condition-without-previous-step", "warning", "flows.c.steps[0].when") in got


def test_pushes_at_night_to_shoppers_without_quiet_hours():
    base = BASE.replace('  settings:\n    quiet_hours: {start: "22:00", end: "08:00"}\n', "")
    got = rules("""campaigns:
  late: {kind: promotion, at: 1d, local_time: "23:30", channels: [push], title: Late}
  noon: {kind: promotion, at: 1d, local_time: "12:00", channels: [push], title: Noon}
flows:
  r: {trigger: cart.abandoned, steps: [{after: 1h, channel: push}]}
""", base)
    assert ("push-at-night", "warning", "campaigns.late.local_time") in got
    assert ("no-quiet-hours", "warning", "flows.r") in got
    assert not any(path.startswith("campaigns.noon") for _, _, path in got)


def test_night_push_regression_is_told_why_it_fails():
    r = CliRunner().invoke(main, ["lint", "night_push_regression"], catch_exceptions=False)
    assert r.exit_code == 0  # a warning, not an error
    assert "night_push_regression.yaml:37:5: campaigns.late_promo.local_time: warning push-at-night" in r.output


@pytest.mark.parametrize("name", sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml")))
def test_no_shipped_scenario_has_an_error(name):
    r = CliRunner().invoke(main, ["lint", name, "--format", "json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert all(f["severity"] == "warning" for f in json.loads(r.output))


def test_an_error_is_exit_1_and_validate_tells_it_without_failing(tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text(BASE + 'policies:\n  send_windows: [{channel: push, start: "23:00", end: "06:00"}]\n')
    r = CliRunner().invoke(main, ["lint", str(path)])
    assert r.exit_code == 1 and "1 error, 0 warnings in 1 scenario." in r.output
    v = CliRunner().invoke(main, ["validate", str(path)])
    assert v.exit_code == 0 and "window-inside-quiet-hours" in v.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("run: {}\n")
    assert CliRunner().invoke(main, ["lint", str(bad)]).exit_code == 2


def test_simulate_plays_the_scenario_and_places_what_never_happened(tmp_path):
    path = tmp_path / "idle.yaml"
    # Nobody visits, so no cart is ever abandoned: the flow's step never goes out, and lint --simulate says so.
    path.write_text(BASE + """behaviour: {sessions: {per_day: 0.000001}}
flows:
  r: {trigger: cart.abandoned, steps: [{after: 1h, channel: email}]}
""")
    plain = CliRunner().invoke(main, ["lint", str(path), "--format", "json"])
    assert plain.exit_code == 0 and json.loads(plain.output) == []
    r = CliRunner().invoke(main, ["lint", str(path), "--simulate", "--format", "json"])
    assert r.exit_code == 0, r.output
    found = json.loads(r.output)
    step = next(f for f in found if f["path"] == "flows.r.steps[0]")
    assert step["rule"] == "never-exercised" and step["severity"] == "warning" and step["line"] == 10
    assert "r step 1 (email)" in step["message"]
