"""The top bar: every button works when clicked, quick jumps add up, the bar stays one line at every width with
the state, the speed and the day always in view, and the KPI screen speaks of the run's time the same way.

Pilot tests run the real app on a small scenario (three Berlin shoppers, three days) so that building it is
quick; nothing waits a fixed time (`wait_until` polls the app's state between pauses)."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml
from helpers.paths import ROOT
from helpers.scenarios import berlin_promotions
from helpers.tui import new_app, open_main, wait_until
from textual.widgets import Button, Static

from shopsim.contract.clock import DAY, HOUR
from shopsim.tui.clocktext import ClockFace, day_text
from shopsim.tui.driver import OUTCOMES
from shopsim.tui.screens.kpis import KpiScreen, counted
from shopsim.tui.widgets.transport import Clock, TransportBar

SIZES = ((80, 24), (100, 30), (160, 48))
STATES = ("playing", "paused", "working", "finished")


def longest_shipped_name() -> str:
    names = [yaml.safe_load(p.read_text())["run"]["name"] for p in sorted((ROOT / "scenarios").glob("*.yaml"))]
    return max(names, key=len)


def scenario(tmp_path: Path, name: str = "transport") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(berlin_promotions(name, "3d", "s000001", "push", range(2, 72, 4)))
    return path


def clock(app) -> Clock:
    return app.main_screen.query_one(Clock)


def screen_line(app, y: int) -> str:
    """Row `y` of the screen as drawn (what a terminal shows)."""
    return app.screen._compositor.render_strips()[y].text


def utc_hhmm(app) -> str:
    sim = app.sim
    return f"{datetime.fromtimestamp((sim.scenario.start_epoch + sim.now) / 1000, timezone.utc):%H:%M}"


async def idle(app, pilot) -> None:
    """Until the jump or step is done and the bar says so."""
    await wait_until(pilot, lambda: not app.driver.busy and app.driver.state in clock(app).shown
                     and utc_hhmm(app) in clock(app).shown, "the work to finish and the bar to show it")


# --- 1. every button, clicked -----------------------------------------------------------------------------


def run_clicks(tmp_path: Path, body, size=(160, 48)) -> None:
    import asyncio

    async def go() -> None:
        app = new_app(scenario(tmp_path))
        async with app.run_test(size=size) as pilot:
            await open_main(app, pilot)
            await body(app, pilot)
    asyncio.run(go())


def test_clicking_play_starts_the_clock_and_clicking_again_pauses_it(tmp_path) -> None:
    async def body(app, pilot) -> None:
        assert "paused" in clock(app).shown
        await pilot.click("#play")
        assert app.driver.playing
        await wait_until(pilot, lambda: app.sim.now > 0 and "playing" in clock(app).shown, "the clock to run")
        assert str(app.main_screen.query_one("#play", Button).label) == "⏸ pause"
        await pilot.click("#play")
        assert not app.driver.playing
        await idle(app, pilot)
        assert "paused" in clock(app).shown
    run_clicks(tmp_path, body)


def test_clicking_event_steps_to_the_next_event(tmp_path) -> None:
    async def body(app, pilot) -> None:
        before, now = app.sim.emitted, app.sim.now
        await pilot.click("#event")
        assert app.sim.emitted > before and app.sim.now >= now
        await idle(app, pilot)
        assert "paused" in clock(app).shown
    run_clicks(tmp_path, body)


def test_clicking_next_message_steps_to_a_notification_decision(tmp_path) -> None:
    async def body(app, pilot) -> None:
        seen: list = []
        app.sim.subscribe(seen.extend)
        await pilot.click("#note")
        assert app.driver.until_notification or any(ev.type in OUTCOMES for ev in seen)
        await idle(app, pilot)
        assert any(ev.type in OUTCOMES for ev in seen) and app.sim.now > 0
        assert "00:00" not in clock(app).shown  # the clock moved to the decision
    run_clicks(tmp_path, body)


@pytest.mark.parametrize(("button", "span", "shows"), [("#hour", HOUR, "01:00"), ("#day", DAY, "day 2/3")])
def test_clicking_a_jump_moves_the_clock_once_it_completes(tmp_path, button, span, shows) -> None:
    async def body(app, pilot) -> None:
        await pilot.click(button)
        await idle(app, pilot)
        assert app.sim.now == span and shows in clock(app).shown and "paused" in clock(app).shown
    run_clicks(tmp_path, body)


def test_clicking_slower_and_faster_changes_the_speed(tmp_path) -> None:
    async def body(app, pilot) -> None:
        assert "1 h/s" in clock(app).shown
        await pilot.click("#slower")
        assert "10 min/s" in clock(app).shown
        await pilot.click("#faster")
        await pilot.click("#faster")
        assert "6 h/s" in clock(app).shown
    run_clicks(tmp_path, body)


def test_buttons_leave_the_focus_where_it_was(tmp_path) -> None:
    async def body(app, pilot) -> None:
        focused = app.focused
        await pilot.click("#slower")
        assert app.focused is focused and focused is not None
    run_clicks(tmp_path, body)


def test_glyph_buttons_work_on_a_small_terminal(tmp_path) -> None:
    async def body(app, pilot) -> None:
        assert str(app.main_screen.query_one("#hour", Button).label) == "+1h"
        assert str(app.main_screen.query_one("#play", Button).label) == "▶"
        await pilot.click("#play")
        assert app.driver.playing and str(app.main_screen.query_one("#play", Button).label) == "⏸"
        await pilot.click("#play")
        await pilot.click("#hour")
        await idle(app, pilot)
        assert not app.driver.playing
    run_clicks(tmp_path, body, size=(80, 24))


# --- 2. quick jumps add up ---------------------------------------------------------------------------------


def test_three_quick_presses_of_h_jump_three_hours(tmp_path) -> None:
    async def body(app, pilot) -> None:
        driver = app.driver
        # Hold the engine still between the presses: no slice of the play loop runs any of the jump yet.
        slice_, held = driver.slice, [True]
        driver.slice = lambda dt: [] if held[0] else slice_(dt)
        await pilot.press("h", "h", "h")
        assert app.sim.now == 0 and driver.target == 3 * HOUR and driver.state == "working"
        await wait_until(pilot, lambda: "working" in clock(app).shown, "the bar to say it is working")
        held[0] = False
        await idle(app, pilot)
        assert app.sim.now == 3 * HOUR and "03:00" in clock(app).shown
    run_clicks(tmp_path, body)


# --- 3. one line at every width ----------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", ["default", longest_shipped_name()])
def test_the_bar_is_one_line_with_state_speed_and_day_at_every_size(tmp_path, size, name) -> None:
    import asyncio

    async def go() -> None:
        app = new_app(scenario(tmp_path, name))
        async with app.run_test(size=size) as pilot:
            main = await open_main(app, pilot)
            bar, face = main.query_one(TransportBar), clock(app)
            for press in ("", "space", "space", "minus", "plus"):
                if press:
                    await pilot.press(press)
                await pilot.pause()
                state, speed = app.driver.state, app.driver.speed_label
                await wait_until(pilot, lambda: app.driver.state in face.shown, "the bar to show the state")
                line = screen_line(app, bar.region.y)
                assert bar.region.height == 1 and face.region.height == 1
                assert state in line and speed in line and "day 1/3" in line, (size, line)
                assert len(face.shown) <= face.size.width, face.shown  # nothing cropped, nothing wrapped
                for button in bar.query(Button):
                    assert button.region.y == bar.region.y and button.region.right <= size[0] - 1
                whole = re.search(rf" {name} +· ", line)
                assert whole or f" {name[:5]}" in line and "… · day" in line, line  # the name, whole or cut
                assert str(bar.query_one("#play", Button).label) in line  # never cut
                if size[0] >= 160:
                    assert whole and "Mon 02 Mar " in line and "⏭ event" in line
    asyncio.run(go())


def test_the_clock_line_fits_every_width_and_keeps_day_state_and_speed() -> None:
    for width, name in ((w, n) for w in range(36, 200) for n in ("default", "a" * 64)):
        for tz in (None, "Europe/Berlin", "America/Argentina/Buenos_Aires"):
            for state in STATES:
                for speed in ("×1", "10 min/s", "max"):
                    face = ClockFace.at(name, 1_772_409_600_000, 90 * 60_000, 7 * DAY, tz, state, speed)
                    line = "".join(text for text, _ in face.line(width))
                    assert len(line) <= width or width < 41, (width, line)
                    assert "day 1/7" in line and state in line and speed in line


def test_the_clock_line_shortens_in_order() -> None:
    face = ClockFace.at("night_push_regression", 1_772_409_600_000, 0, 3 * DAY, "Europe/London", "paused",
                        "1 h/s")
    full = face.full()
    assert full.startswith("night_push_regression  ·  day 1/3  ·  Mon 02 Mar 00:00 UTC  ·  00:00 Europe/London")
    widths = (120, 110, 100, 90, 75, 60, 50, 38)
    assert ["".join(t for t, _ in face.line(w)) for w in widths] == [
        full,
        "night_push_regression · day 1/3 · Mon 02 Mar 00:00 UTC · 00:00 Europe/London · paused · speed 1 h/s",
        "night_push_regression · day 1/3 · Mon 02 Mar 00:00 UTC · 00:00 London · paused · speed 1 h/s",
        "night_push_re… · day 1/3 · Mon 02 Mar 00:00 UTC · 00:00 London · paused · speed 1 h/s",
        "night… · day 1/3 · Mon 00:00 UTC · 00:00 London · paused · speed 1 h/s",
        "night_push_… · day 1/3 · Mon 00:00 UTC · paused · 1 h/s",
        "night… · day 1/3 · Mon 00:00 · paused · 1 h/s",
        "day 1/3 · Mon 00:00 · paused · 1 h/s",
    ]


# --- 4. the KPI screen speaks the same way, and space plays there too ---------------------------------------


def test_day_text_counts_from_one_and_stops_at_the_last_day() -> None:
    assert day_text(0, 7 * DAY) == "day 1/7"
    assert day_text(DAY + 1, 7 * DAY) == "day 2/7"
    assert day_text(7 * DAY, 7 * DAY) == "day 7/7"  # the run's end is the last day's end
    assert day_text(HOUR, 36 * HOUR) == "day 1/2"
    assert counted(1, "event", "events") == "1 event" and counted(2000, "event", "events") == "2,000 events"


def test_space_plays_and_pauses_on_the_kpi_screen_and_its_title_says_so(tmp_path) -> None:
    async def body(app, pilot) -> None:
        await pilot.press("d")
        await idle(app, pilot)
        await pilot.press("k")
        await wait_until(pilot, lambda: isinstance(app.screen, KpiScreen), "the KPI screen")
        kpis = app.screen
        title = lambda: str(kpis.query_one("#kpi-title", Static).render())  # noqa: E731
        await wait_until(pilot, lambda: "paused" in title(), "the title")
        assert "day 2/3" in title() and "day 2/3" in clock(app).text  # the same words as the top bar
        assert "1 h/s" in title()
        await pilot.press("space")
        assert app.driver.playing and "playing" in title()
        await wait_until(pilot, lambda: app.sim.now > DAY, "the run to play")
        await pilot.press("space")
        assert not app.driver.playing and "paused" in title()
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.main_screen, "the main screen")
        await pilot.pause()
        assert "paused" in clock(app).shown and utc_hhmm(app) in clock(app).shown  # the top bar followed
    run_clicks(tmp_path, body)
