"""Every shipped lesson (a scenario's `narration:`) is true of its run.

Each narrated scenario is played as the terminal app plays it (the transport and the narrator, on a fake clock,
without a terminal). For every step: it fires, in the order written; the event it fires on matches its `when:`;
every claim of its `expect:` holds at that instant (she had ordered, the message is in her inbox and delivered,
it came from that flow step, an hour after the abandonment, at night her time, held until 08:00...); the message
the app would highlight is in the shopper's inbox, delivered; and every number its text writes is a
placeholder filled from the run, a published figure of docs/sources.md, a percentage the scenario itself sets,
or a clock time or duration. So a lesson that stops being true (a flow's delays changed, a coupon changed, an
engine change that moves a shopper's story) fails here, naming the step and what no longer holds."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
import yaml

from helpers.paths import ROOT
from helpers.scenarios import tiny_scenario
from shopsim.metrics.kpis import Metrics
from shopsim.validate import load_scenario, load_scenario_text
from shopsim.scenario.problems import ScenarioError
from shopsim.scenario.teaching import Placeholder, split_text
from shopsim.contract import events as E
from shopsim.simulation import Simulation
from shopsim.tui.driver import SPEEDS, SimDriver
from shopsim.tui.narrator import Narrator, highlight, in_inbox, unmet

SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
NARRATED = [p for p in SCENARIOS if (yaml.safe_load(p.read_text()) or {}).get("narration")]
# The lessons the course is built on: each must stay in the catalogue.
LESSONS = {"default", "cart_recovery", "quiet_hours", "frequency_caps", "digests", "checkout_fixed", "experiment",
           "account_security"}


# --- playing a lesson ------------------------------------------------------------------------------------


class Shown:
    """One step as the app would show it: the hit, and what the run was at that instant."""

    def __init__(self, hit, sim: Simulation, ordered_before: bool) -> None:
        self.hit = hit
        self.now = sim.now
        self.unmet = unmet(hit, sim)
        self.highlight = highlight(hit, sim)
        self.in_inbox = in_inbox(sim, hit.shopper, hit.notification)
        self.ordered_before = ordered_before


def play(scenario) -> tuple[list[Shown], Simulation]:
    """Play a scenario at full speed as the app does (enter after each step) and record each step as shown."""
    sim = Simulation(scenario)
    metrics = Metrics()
    sim.subscribe(metrics)
    orders: dict[str, int] = {}  # shopper -> seq of her first order, from the whole log (not the narrator's view)
    sim.subscribe(lambda batch: [orders.setdefault(e.shopper, e.seq) for e in batch if e.type == E.ORDER_PLACED])
    sim.step()
    driver = SimDriver(sim, clock=lambda: 0.0)
    driver.speed_index = len(SPEEDS) - 1
    driver.toggle()
    shown: list[Shown] = []
    while not driver.finished:
        driver.slice(1 / 30)
        hit = driver.narration
        if hit is not None:
            driver.narration = None
            ev = hit.event
            ordered = ev is not None and ev.shopper in orders and orders[ev.shopper] < ev.seq
            shown.append(Shown(hit, sim, ordered))
            driver.toggle()
    return shown, sim


_PLAYED: dict[Path, tuple[list[Shown], Simulation]] = {}


def played(path: Path) -> tuple[list[Shown], Simulation]:
    if path not in _PLAYED:
        _PLAYED[path] = play(load_scenario(path))
    return _PLAYED[path]


# --- numbers a lesson may write ---------------------------------------------------------------------------

NUMBER = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)*)(\s?(?:%|×|x\b|pp\b))?")
# Identifiers (caps[1], s000185, flow:cart_recovery:2, events[0]) and clock times are not quantities.
IDENTIFIER = re.compile(r"[A-Za-z_][\w\-]*(?:[\[:][\w\-\]:\[]*)?")
CLOCK = re.compile(r"\b\d{1,2}:\d{2}\b")
DURATION = re.compile(r"\b\d+(?:\.\d+)?\s?(?:ms|s|m|h|d|seconds?|minutes?|hours?|days?|weeks?)\b")


def _published() -> set[str]:
    """The figures docs/sources.md publishes: those in bold and those in its table of anchors, as written and
    (for a percentage) rounded to a whole percent, so "about 70%" may quote 70.19%."""
    doc = (ROOT / "docs" / "sources.md").read_text()
    tables = [doc.split(f"## {title}", 1)[1].split("\n## ", 1)[0]
              for title in ("The published figures the model is calibrated to", "Reasons for abandonment")]
    rows = [ln for t in tables for ln in t.splitlines() if ln.startswith("|")]
    spans = re.findall(r"\*\*(.+?)\*\*", doc) + rows
    out: set[str] = set()
    for span in spans:
        for m in NUMBER.finditer(span.replace("–", " to ")):
            value, unit = m.group(1).replace(",", ""), (m.group(2) or "").strip()
            if unit or float(value) >= 10:  # "49 studies", "500 brands"; not a stray 3 of some assumption
                out.add(value + unit)
            if unit == "%" or "%" in span:  # a row of percentages: "48, 26, 25 (% of respondents)"
                out.add(value + "%")
                out.add(f"{round(float(value))}%")
    return out


PUBLISHED = _published()


def _settings(path: Path) -> set[str]:
    """Percentages the scenario itself sets (a coupon's percent off): inputs a lesson may name."""
    out: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            if node.get("type") == "percent" and isinstance(node.get("value"), (int, float)):
                out.add(f"{node['value']:g}%")
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(yaml.safe_load(path.read_text()))
    return out


def bare_numbers(text: str, allowed: set[str]) -> list[str]:
    """The numbers `text` writes (outside placeholders) that are neither allowed figures, nor clock times,
    durations or parts of identifiers."""
    literal = "".join(p for p in split_text(text) if not isinstance(p, Placeholder))
    literal = IDENTIFIER.sub(" ", CLOCK.sub(" ", DURATION.sub(" ", literal)))
    out = []
    for m in NUMBER.finditer(literal):
        written = m.group(1).replace(",", "") + (m.group(2) or "").strip()
        if written not in allowed:
            out.append(m.group(0).strip())
    return out


def test_the_number_check_knows_published_figures_and_refuses_run_numbers() -> None:
    assert {"70.19%", "70%", "49", "3%", "15%", "25%", "48%", "50.5%", "3.33%"} <= PUBLISHED
    assert "71%" not in PUBLISHED and "4,321" not in PUBLISHED
    allowed = PUBLISHED | {"10%"}
    assert bare_numbers("Baymard's 49 studies: about 70% ({abandonment_rate} here), a 10% coupon", allowed) == []
    assert bare_numbers("at 22:00, 8 hours later, after 1h, caps[1] for s000185 (flow:cart_recovery:2)",
                        allowed) == []
    assert bare_numbers("so far 71.2% of 1,405 carts", allowed) == ["71.2%", "1,405"]
    assert bare_numbers("she got 3 emails", allowed) == ["3"]


# --- the shipped lessons ---------------------------------------------------------------------------------


def test_the_catalogue_carries_its_lessons() -> None:
    assert LESSONS <= {p.stem for p in NARRATED}
    for p in NARRATED:
        assert 5 <= len(load_scenario(p).narration) <= 10, f"{p.name}: a lesson is a short story of 5 to 10 steps"


@pytest.mark.parametrize("path", NARRATED, ids=lambda p: p.stem)
def test_every_step_is_true_of_the_run(path: Path) -> None:
    shown, sim = played(path)
    steps = load_scenario(path).narration
    where = lambda s: f"{path.name}: narration[{s.hit.index}] {s.hit.step.title!r}"  # noqa: E731
    assert [s.hit.index for s in shown] == list(range(len(steps))), (
        f"{path.name}: steps fired {[s.hit.index for s in shown]}; every step must fire, in the order written")
    for s in shown:
        step, ev = s.hit.step, s.hit.event
        if step.when is not None:
            assert ev is not None, where(s)
            for key, want in step.when.items():
                value = ev.type if key == "type" else ev.shopper if key == "shopper" else ev.data.get(key)
                assert value in (want if isinstance(want, list) else [want]), f"{where(s)}: {key} is {value!r}"
        if step.shopper is not None:
            assert s.hit.shopper == step.shopper, where(s)
        assert s.unmet == [], f"{where(s)}: not so in this run: {'; '.join(s.unmet)}"
        claims = step.expect
        if claims is not None and claims.ordered is not None:
            # Judged again from the whole log, not from what the narrator saw.
            assert s.ordered_before == claims.ordered, f"{where(s)}: ordered before is {s.ordered_before}"
        if claims is not None and claims.in_inbox:
            assert s.highlight == s.hit.notification and s.in_inbox, f"{where(s)}: nothing to highlight"
        if s.highlight is not None:
            # What the app highlights is a delivered message of the shopper shown, there at that instant.
            msg = next(m for m in sim.inbox(s.hit.shopper) if m.id == s.highlight)
            assert msg.t <= s.now, where(s)
        if ev is not None and ev.type == E.NOTIFICATION_DEFERRED:
            assert s.highlight is None, f"{where(s)}: a held message is not in the inbox yet"


@pytest.mark.parametrize("path", NARRATED, ids=lambda p: p.stem)
def test_every_number_is_the_runs_or_published(path: Path) -> None:
    allowed = PUBLISHED | _settings(path)
    for i, step in enumerate(load_scenario(path).narration):
        for field in ("title", "text"):
            bad = bare_numbers(getattr(step, field), allowed)
            assert not bad, (f"{path.name}: narration[{i}].{field} writes {bad}: quote the run through a "
                             "placeholder such as {carts}, or a published figure of docs/sources.md")


def test_a_step_whose_text_names_a_message_highlights_it() -> None:
    """The steps the users found wrong in default: the coupon step highlights the push that carries the coupon,
    the held push is not highlighted, and the flow-exit step fires on an order."""
    shown, sim = played(ROOT / "scenarios" / "default.yaml")
    by_title = {s.hit.step.title: s for s in shown}
    coupon = by_title["An incentive"]
    carrier = next(m for m in sim.inbox(coupon.hit.shopper) if m.id == coupon.highlight)
    assert carrier.channel == "push" and coupon.hit.event.data["coupon"] in carrier.body
    held = by_title["Quiet hours are local"]
    assert held.hit.event.type == E.NOTIFICATION_DEFERRED and held.highlight is None
    exit_ = by_title["The flow stops when she buys"]
    assert exit_.hit.event.data["rule"] == "flow.exit.order_placed" and exit_.ordered_before


# --- a lesson that is no longer true fails ---------------------------------------------------------------


def _cart_recovery(**changes) -> str:
    text = (ROOT / "scenarios" / "cart_recovery.yaml").read_text()
    for old, new in changes.items():
        assert old in text
        text = text.replace(old, new)
    return text


def _unmet_of(text: str) -> dict[str, list[str]]:
    shown, _ = play(load_scenario_text(text, "cart_recovery.yaml"))
    return {s.hit.step.title: s.unmet for s in shown if s.unmet}


def test_a_changed_flow_delay_breaks_the_lesson() -> None:
    """The first reminder moved from an hour to two: the step that says "an hour later" no longer holds."""
    broken = _unmet_of(_cart_recovery(**{"      - after: 1h\n": "      - after: 2h\n"}))
    assert broken["The first reminder, an hour later"] == ["it came 2h after type cart.abandoned, not 1h"]


def test_claims_fail_when_the_story_does_not_happen() -> None:
    """Each kind of claim, made false on purpose on the cart_recovery lesson."""
    text = _cart_recovery(**{
        'expect: {ordered: true, source: "flow:cart_recovery:3", follows: {type: cart.abandoned}, gap: 72h}':
            'expect: {ordered: false, source: "flow:cart_recovery:1", in_inbox: true, '
            'local_time: ["22:00", "08:00"]}'})
    broken = _unmet_of(text)["The last email is never sent"]
    assert "she had already ordered" in broken
    assert "the message came from flow:cart_recovery:3, not flow:cart_recovery:1" in broken
    assert "the message is not in her inbox" in broken
    assert any(b.startswith("it happened at 13:02 her time, not between 22:00 and 08:00") for b in broken)


def test_a_narrator_that_missed_events_does_not_judge_the_past() -> None:
    """Narration switched off for a while: the claims about the past cannot be judged, and are not."""
    sc = load_scenario(ROOT / "scenarios" / "cart_recovery.yaml")
    sim = Simulation(sc)
    log: list = []
    sim.subscribe(log.extend)
    sim.run()
    n = Narrator(sc.narration, sim.scenario.start_epoch)
    n.fired.update(range(6))
    late = [e for e in log if e.seq > 100]  # the first hundred went by before it started: that is fine
    assert n.scan(late[:10], sim.end) is None
    hit = n.scan(late[20:], sim.end)  # ten events went by unseen (narration switched off, then on)
    assert hit is not None and hit.facts is not None and not hit.facts.complete


# --- the schema ------------------------------------------------------------------------------------------


def test_expect_fields_are_checked_with_their_place_in_the_file() -> None:
    text = tiny_scenario(as_text=True, narration=[
        {"when": {"type": "order.placed"}, "title": "t", "text": "x", "expect": {"orderd": True}},
        {"when": {"type": "order.placed"}, "title": "t", "text": "x", "expect": {"gap": "1h"}},
        {"at": "1h", "title": "t", "text": "x", "expect": {"ordered": True}},
        {"when": {"type": "order.placed"}, "title": "t", "text": "x", "expect": {"local_time": ["22:00"]}},
        {"when": {"type": "order.placed"}, "title": "t", "text": "x", "expect": {"held_until": "25:00"}},
    ])
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, "n.yaml")
    problems = {p.path: p for p in info.value.problems}
    assert "unknown key 'orderd'" in problems["narration[0].expect.orderd"].message
    assert "did you mean 'ordered'" in problems["narration[0].expect.orderd"].message
    assert "gap needs follows" in problems["narration[1].expect"].message
    assert "expect needs when" in problems["narration[2]"].message
    assert "narration[3].expect.local_time" in problems
    assert "not a clock time" in problems["narration[4].expect.held_until"].message
    lines = text.splitlines()
    orderd = next(i for i, ln in enumerate(lines) if "orderd" in ln) + 1
    assert problems["narration[0].expect.orderd"].file == "n.yaml"
    assert problems["narration[0].expect.orderd"].line == orderd


# --- the picker ------------------------------------------------------------------------------------------


def test_the_picker_marks_the_scenarios_with_a_lesson(tmp_path) -> None:
    from textual.app import App

    from shopsim.tui.screens.picker import PickerScreen, scenario_entries

    plain = (ROOT / "tests" / "fixtures" / "minimal.yaml").read_text()
    (tmp_path / "a_plain.yaml").write_text(plain)
    (tmp_path / "b_taught.yaml").write_text((ROOT / "scenarios" / "frequency_caps.yaml").read_text())
    steps = len(load_scenario(tmp_path / "b_taught.yaml").narration)
    entries = {e.path.name: e for e in scenario_entries([tmp_path])}
    assert entries["a_plain.yaml"].lesson_steps == 0 and entries["b_taught.yaml"].lesson_steps == steps

    class PickerApp(App):
        chosen: list[Path] = []

        def on_mount(self) -> None:
            self.push_screen(PickerScreen([tmp_path]))

        def on_scenario_chosen(self, message) -> None:
            self.chosen.append(message.path)

    async def body() -> None:
        app = PickerApp()
        async with app.run_test(size=(100, 30)) as pilot:
            await app.workers.wait_for_complete()
            for _ in range(50):
                await pilot.pause()
                if getattr(app.screen, "loaded", False):
                    break
            screen = app.screen
            prompts = [str(screen.option_list.get_option_at_index(i).prompt)
                       for i in range(screen.option_list.option_count)]
            assert f"lesson · {steps} steps" in prompts[1] and "lesson" not in prompts[0]
            await pilot.press(*"lesson")  # the marker is something to filter by
            assert [e.path.name for e in screen.shown] == ["b_taught.yaml"]
            assert "1 of 2 scenarios match" in str(screen.query_one("#picker-status").content)
            await pilot.click("#picker-list", offset=(4, 0))  # a click on the lesson opens it
            await pilot.pause()
            assert app.chosen == [tmp_path / "b_taught.yaml"]
            await pilot.press("escape")
            assert len(screen.shown) == 2

    asyncio.run(body())
