"""`shopsim coverage`: what a run exercised of its scenario, on runs where the answer is known."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter

import orjson
from click.testing import CliRunner

from helpers.runs import replay_lines
from helpers.scenarios import berlin_shopper, tiny_scenario
from shopsim.cli import main


def _run(tmp_path, data_or_text, name="run"):
    import yaml
    text = data_or_text if isinstance(data_or_text, str) else yaml.safe_dump(data_or_text, sort_keys=False)
    scenario = tmp_path / f"{name}.yaml"
    scenario.write_text(text)
    log = tmp_path / f"{name}.jsonl"
    log.write_bytes(replay_lines(text))
    return str(scenario), str(log)


def _coverage(log, scenario, *extra):
    r = CliRunner().invoke(main, ["coverage", log, "--scenario", scenario, "--format", "json", *extra],
                           catch_exceptions=False)
    return r, (json.loads(r.stdout) if r.exit_code in (0, 1) and r.stdout.startswith("{") else None)


def test_flow_steps_exits_and_cells_count_what_the_log_holds(tmp_path):
    text = tiny_scenario(size=60, duration="3d", as_text=True, flows={"r": {
        "trigger": "cart.abandoned", "steps": [{"after": "1h", "channel": "email"},
                                               {"after": "1h", "channel": "email", "when": {"opened": True}}]}})
    scenario, log = _run(tmp_path, text)
    r, doc = _coverage(log, scenario)
    assert r.exit_code == 0, r.output
    lines = [orjson.loads(x) for x in open(log, "rb")]
    source = {x["id"]: x.get("source") for x in lines if x["type"] == "notification.requested"}
    delivered = Counter(source[x["id"]] for x in lines if x["type"] == "notification.delivered")
    points = {p["name"]: p for p in doc["points"]}
    assert points["r step 1 (email)"]["hits"] == delivered["flow:r:1"] > 0
    assert points["r step 2 (email)"]["hits"] == delivered["flow:r:2"]
    cells = Counter((x["category"], x["channel"]) for x in lines if x["type"] == "notification.delivered")
    for (cat, ch), n in cells.items():
        assert points[f"{cat} by {ch}"]["hits"] == n
    for why in ("order_placed", "cart_emptied", "unsubscribed", "retriggered"):
        assert f"r ends on {why}" in points
    assert "r step 2: condition holds" in points and "r step 2: condition fails" in points
    assert doc["percent"] == 100.0 * sum(p["covered"] for p in doc["points"]) / len(doc["points"])


def test_a_campaign_nobody_can_receive_is_a_gap_that_says_what_would_exercise_it(tmp_path):
    data = berlin_shopper([], duration="2d", settings=None)
    data["population"]["consent"] = {**data["population"]["consent"], "marketing_consent": 0.0}
    data["campaigns"] = {"promo": {"kind": "promotion", "at": "10h", "channels": ["email"], "title": "Promo"}}
    scenario, log = _run(tmp_path, data)
    r, doc = _coverage(log, scenario)
    [promo] = [p for p in doc["points"] if p["group"] == "campaigns"]
    assert promo["hits"] == 0 and not promo["covered"] and "audience who can receive it" in promo["hint"]


def test_night_pushes_without_quiet_hours_are_a_gap_and_an_extreme(tmp_path):
    data = berlin_shopper([{"at": "22h", "shopper": "s000001",
                            "notify": {"category": "promotions", "channels": ["push"], "title": "Late"}}],
                          duration="2d", settings=None)
    scenario, log = _run(tmp_path, data)
    r, doc = _coverage(log, scenario)
    [gap] = [p for p in doc["points"] if p["group"] == "quiet hours"]
    assert gap["name"].endswith(": none") and not gap["covered"] and "1 push/SMS reached" in gap["hint"]
    assert doc["extremes"]["most_at_night"] == [["s000001", 1]]
    data["population"]["settings"] = {"quiet_hours": {"start": "22:00", "end": "08:00"}}
    scenario, log = _run(tmp_path, data, "quiet")
    r, doc = _coverage(log, scenario)
    [held] = [p for p in doc["points"] if p["group"] == "quiet hours"]
    assert held["covered"] and held["hits"] == 1 and doc["extremes"]["most_at_night"] == []


def test_fail_under_and_junit(tmp_path):
    data = berlin_shopper([], duration="1d", settings=None)
    data["campaigns"] = {"promo": {"kind": "promotion", "at": "10h", "channels": ["email"], "title": "Promo"}}
    scenario, log = _run(tmp_path, data)
    junit = tmp_path / "coverage.xml"
    r = CliRunner().invoke(main, ["coverage", log, "--scenario", scenario, "--fail-under", "100",
                                  "--junit", str(junit)])
    assert r.exit_code == 1 and "is under --fail-under 100%" in r.output
    suite = ET.parse(junit).getroot()
    cases = suite.findall("testcase")
    failed = [c for c in cases if c.find("failure") is not None]
    assert int(suite.get("tests")) == len(cases) and int(suite.get("failures")) == len(failed) > 0
    assert CliRunner().invoke(main, ["coverage", log, "--scenario", scenario, "--fail-under", "0"]).exit_code == 0


def test_a_run_of_another_scenario_is_refused(tmp_path):
    data = berlin_shopper([], duration="1d")
    scenario, log = _run(tmp_path, data)
    r = CliRunner().invoke(main, ["coverage", log, "--scenario", "default"])
    assert r.exit_code == 2 and "give --scenario with the file it played" in r.output


def test_caps_added_over_time_are_points_too(tmp_path):
    data = berlin_shopper([{"at": f"{h}h", "shopper": "s000001",
                            "notify": {"category": "promotions", "channels": ["email"], "title": f"Deal {h}"}}
                           for h in (2, 4, 30, 32)], duration="2d", settings=None)
    data["policies"] = {"caps": [], "changes": [{"from": "1d", "caps": [{"channel": "email", "max": 1, "per": "24h",
                                                                       "name": "one_a_day"}]}]}
    scenario, log = _run(tmp_path, data)
    r, doc = _coverage(log, scenario)
    [cap] = [p for p in doc["points"] if p["group"] == "caps"]
    # Before day 1 both emails go out; after it the cap holds the second (the first counts from the day before too).
    assert cap["name"] == "one_a_day from 1d (email: 1 per 24h)" and cap["hits"] >= 1
