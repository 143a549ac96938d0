"""Narration placeholders, without a terminal: `{abandonment_rate}`, `{carts}`, `{shoppers}` in a step's title
and text are filled in from the run's live `Metrics` when the step shows, and checked when the scenario loads.

The shipped scenarios' narrations are played for real (the transport and the narrator, as the app drives
them, on a fake clock): every step renders, and every percentage a narration writes literally is a published
figure (shopsim/calibrate/anchors.py), never a number some run happened to give."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from helpers.paths import ROOT
from helpers.scenarios import tiny_scenario

from shopsim.calibrate.anchors import ANCHORS, CHECKOUT_REASONS
from shopsim.metrics.catalog import METRICS, format_value, lookup
from shopsim.metrics.kpis import Metrics
from shopsim.qa.narration import render
from shopsim.validate import load_scenario, load_scenario_text
from shopsim.scenario.problems import ScenarioError
from shopsim.scenario.teaching import Placeholder, placeholders, split_text
from shopsim.simulation import Simulation
from shopsim.tui.driver import SPEEDS, SimDriver
from shopsim.tui.narrator import step_texts

SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
NARRATED = [p for p in SCENARIOS if (yaml.safe_load(p.read_text()) or {}).get("narration")]


class FakeClock:
    """Wall time that never moves: a slice runs until its goal (or a narration step), never out of budget."""

    def __call__(self) -> float:
        return 0.0


# --- parsing ---------------------------------------------------------------------------------------------


def test_split_text_finds_placeholders_and_unescapes_braces() -> None:
    pieces = split_text("{shoppers} shoppers; {{literal}} and }} too: {abandonment_rate}.")
    assert pieces == ["shoppers", " shoppers; {literal} and } too: ", "abandonment_rate", "."]
    assert [type(p) is Placeholder for p in pieces] == [True, False, True, False]
    assert placeholders("no numbers here") == []


@pytest.mark.parametrize("text, fragment", [
    ("about {carts carts", "the { at character 7"),
    ("about carts} carts", "the } at character 12"),
    ("a {{carts} b", "closes nothing"),          # {{ is a literal brace, so the } closes nothing
    ("empty {} here", "empty placeholder {}"),
    ("nested {a{b}}", "never closed"),
])
def test_unbalanced_braces_are_errors(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=re.escape(fragment)):
        split_text(text)


# --- rendering -------------------------------------------------------------------------------------------


def _result() -> dict:
    """A small real run's KPIs."""
    sim = Simulation(tiny_scenario(size=30, duration="2d"))
    metrics = Metrics()
    sim.subscribe(metrics)
    sim.run()
    return metrics.result()


def test_render_formats_each_kpi_for_its_kind() -> None:
    res = _result()
    c = res["commerce"]
    assert c["carts"] > 0 and c["abandonment_rate"] is not None
    text = render("{shoppers} shoppers, {carts} carts, {abandonment_rate} never ordered, {revenue} paid; "
                  "{{braces}} stay", res, "USD")
    assert text == (f"30 shoppers, {c['carts']:,} carts, {c['abandonment_rate']:.1%} never ordered, "
                    f"{c['revenue']:,.2f} USD paid; {{braces}} stay")
    # Every run-wide KPI of the catalogue renders as catalog.format_value does.
    for name, d in METRICS.items():
        if d.section != "experiment":
            assert render(f"{{{name}}}", res) == format_value(lookup(res, name), d.kind), name


def test_render_thousands_and_no_value_yet() -> None:
    empty = Metrics().result()  # nothing happened yet: rates have no value
    assert render("{abandonment_rate} of {carts} carts", empty) == "— of 0 carts"
    assert render("{time_to_recovery_p50}", empty) == "—"
    res = {"run": {"shoppers": 2000}, "commerce": {"carts": 1405, "abandonment_rate": 0.71103}}
    assert render("{shoppers}: {abandonment_rate} of {carts}", res) == "2,000: 71.1% of 1,405"
    with pytest.raises(KeyError, match="did you mean"):
        render("{abandonment_rte}", res)


def test_step_texts_fill_title_and_text() -> None:
    from shopsim.scenario.teaching import NarrationStep

    step = NarrationStep(at="1h", title="{carts} carts", text="  {abandonment_rate} never ordered.\n")
    res = {"run": {"shoppers": 5}, "commerce": {"carts": 3, "abandonment_rate": 2 / 3}}
    assert step_texts(step, res) == ("3 carts", "66.7% never ordered.")
    assert step_texts(step, None) == ("{carts} carts", "{abandonment_rate} never ordered.")


# --- validation ------------------------------------------------------------------------------------------


def _narrated(*steps: dict) -> str:
    return tiny_scenario(as_text=True, narration=list(steps))


def test_an_unknown_placeholder_is_a_located_error_with_the_closest_kpi() -> None:
    text = _narrated({"at": "1h", "title": "Carts", "text": "So far {abandonment_rte} of {carts} carts."},
                     {"at": "2h", "title": "{shopers} shoppers", "text": "Fine: {shoppers}, {{not a placeholder}}."})
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, "n.yaml")
    problems = info.value.problems
    assert [p.path for p in problems] == ["narration[0].text", "narration[1].title"]
    assert "unknown placeholder {abandonment_rte}; did you mean {abandonment_rate}?" in problems[0].message
    assert "did you mean {shoppers}?" in problems[1].message
    line = text.splitlines().index(next(ln for ln in text.splitlines() if "abandonment_rte" in ln)) + 1
    assert problems[0].file == "n.yaml" and problems[0].line == line
    assert str(problems[0]).startswith(f"n.yaml:{line}:")


def test_unbalanced_braces_and_arm_metrics_are_errors() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(_narrated({"at": "1h", "title": "t", "text": "a {carts b"},
                                     {"at": "2h", "title": "t", "text": "{uplift} better"},
                                     {"at": "3h", "title": "t", "text": "{nothing_like_a_kpi}"}))
    messages = {p.path: p.message for p in info.value.problems}
    assert "unbalanced braces" in messages["narration[0].text"] and "{{" in messages["narration[0].text"]
    assert "experiment" in messages["narration[1].text"]
    assert "unknown placeholder {nothing_like_a_kpi}" in messages["narration[2].text"]
    assert "shopsim report --metrics" in messages["narration[2].text"]


# --- the shipped scenarios -------------------------------------------------------------------------------


def _published_percentages() -> set[str]:
    """Every published figure of the calibration anchors as a percentage: as published ("70.19%") and rounded
    to a whole percent ("70%")."""
    values: list[float] = [pct for _, _, pct in CHECKOUT_REASONS]  # Baymard's answers, as published
    for a in ANCHORS:
        if a.unit in ("rate", "pp") and not a.id.startswith("reason_"):  # a reason's anchor is its share, pct/222
            values += [x * 100 for x in (a.published if a.is_range else (a.published,))]
    out = set()
    for v in values:
        out.add(f"{round(v)}%")
        out.add(f"{round(v, 2):g}%")
    return out


def _settings_percentages(path: Path) -> set[str]:
    """Percentages the scenario itself sets (a coupon's percent off, a price drop's discount): inputs that
    the narration may describe, not numbers from a run."""
    out: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            if node.get("type") == "percent" and isinstance(node.get("value"), (int, float)):
                out.add(f"{node['value']:g}%")
            if isinstance(node.get("discount"), (int, float)):
                out.add(f"{node['discount']:g}%")
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(load_scenario(path).model_dump(mode="json"))
    return out


PERCENT = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)?)\s?(%|per ?cent\b)", re.I)


def test_published_percentages_come_from_the_anchors() -> None:
    published = _published_percentages()
    assert {"70%", "70.19%", "48%", "26%", "81%", "51%", "3%", "15%"} <= published
    assert "71%" not in published and "10%" not in published


def test_every_shipped_narration_is_checked_by_this_test() -> None:
    assert ROOT / "scenarios" / "default.yaml" in NARRATED


@pytest.mark.parametrize("path", NARRATED, ids=lambda p: p.stem)
def test_shipped_narration_quotes_published_figures_or_placeholders(path: Path) -> None:
    """A number from a run goes through a placeholder; a literal percentage is a published figure."""
    allowed = _published_percentages() | _settings_percentages(path)
    for i, step in enumerate(load_scenario(path).narration):
        for field in ("title", "text"):
            literal = "".join(p for p in split_text(getattr(step, field)) if not isinstance(p, Placeholder))
            for m in PERCENT.finditer(literal):
                written = m.group(1).replace(",", ".") + "%"
                assert written in allowed, (
                    f"{path.name}: narration[{i}].{field} writes {m.group(0)!r}, which is not a published figure "
                    f"of shopsim/calibrate/anchors.py; quote the run through a placeholder such as "
                    f"{{abandonment_rate}} instead")


@pytest.mark.parametrize("path", NARRATED, ids=lambda p: p.stem)
def test_shipped_narration_renders_against_a_real_run(path: Path) -> None:
    """Played as the app plays it: each step renders when it fires, with the KPIs of that instant."""
    sim = Simulation(load_scenario(path))
    metrics = Metrics()
    sim.subscribe(metrics)  # before the driver, as in the app: it has seen every event the driver has
    sim.step()
    driver = SimDriver(sim, clock=FakeClock())
    currency = sim.scenario.model.catalogue.currency
    driver.speed_index = len(SPEEDS) - 1
    driver.toggle()
    shown: dict[int, tuple[str, str, dict]] = {}
    while not driver.finished:
        driver.slice(1 / 30)
        hit = driver.narration
        if hit is not None:
            driver.narration = None
            res = metrics.result()
            shown[hit.index] = (*step_texts(hit.step, res, currency), res)
            driver.toggle()  # enter: carry on
    steps = driver.narrator.steps
    final = metrics.result()
    for i, step in enumerate(steps):
        title, text, res = shown.get(i) or (*step_texts(step, final, currency), final)
        for name in placeholders(step.title) + placeholders(step.text):
            assert f"{{{name}}}" not in title + text
        for field, original, rendered in (("title", step.title, title), ("text", step.text, text)):
            # Rendering is the text as written with each placeholder replaced by this instant's value.
            expect = "".join(
                (format_value(res["run"]["shoppers"], "count") if p == "shoppers" else
                 format_value(lookup(res, p), METRICS[p].kind, currency)) if isinstance(p, Placeholder) else p
                for p in split_text(original))
            assert rendered == expect.strip(), (path.name, i, field)
    if path.stem == "default":
        # The first step quotes the population; the abandonment step quotes the run as it stands then.
        assert shown[0][1].startswith(f"{len(sim.shoppers):,} shoppers in six countries")
        abandoned = next(i for i, s in enumerate(steps) if (s.when or {}).get("type") == "cart.abandoned")
        _, text, res = shown[abandoned]
        c = res["commerce"]
        assert f"({c['abandonment_rate']:.1%} of {c['carts']:,} carts so far)" in text
        assert "about 70% of carts" in text
