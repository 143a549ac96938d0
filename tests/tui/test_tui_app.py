"""End-to-end tests of the whole terminal app (`make_app`), driven by Textual's pilot at 160x48.

Each test runs the real `ShopsimApp`: the simulation is built in a thread worker while the main screen shows a
preview of it, then played by the app's async loop in slices. Nothing waits a fixed time: `wait_until` polls the app's state with
`await pilot.pause()` (which waits for the app to go idle) within a generous bound, and fails with what it was
waiting for. Pilot tests run in `asyncio.run` (no pytest-asyncio here)."""

from __future__ import annotations

import asyncio
import shutil

from textual.command import CommandList, CommandPalette
from textual.widgets import Checkbox, OptionList, Static, TabbedContent

from shopsim.contract import events as E
from shopsim.contract.clock import DAY, HOUR, MINUTE
from shopsim.contract.events import Event
from shopsim.tui.app import ShopsimApp
from shopsim.tui.driver import OUTCOMES
from shopsim.tui.screens.errors import ErrorsScreen
from shopsim.tui.screens.explain import ExplainScreen
from shopsim.tui.screens.help import HelpScreen
from shopsim.tui.screens.kpis import KpiScreen
from shopsim.tui.screens.main import MainScreen
from shopsim.tui.screens.narration import NarrationScreen
from shopsim.tui.screens.picker import PickerScreen
from shopsim.tui.widgets.feed import LiveFeed
from shopsim.tui.widgets.inbox import InboxPane
from shopsim.tui.widgets.settings import SettingsPane
from shopsim.tui.widgets.shopper_list import ShopperList, ShopperSearch
from shopsim.tui.widgets.shoppers import ShopperTable
from shopsim.tui.widgets.transport import Clock, TransportBar

from helpers.paths import FIXTURES
from helpers.scenarios import promo_story as story
from helpers.tui import (
    ARNAUDE, DEFAULT, SIZE, clock_text, day_one_with_arnaude, flush_panes, hold_build, new_app, open_main,
    quiet_narration, settle, texts, utc_label, wait_until,
)

INVALID = FIXTURES / "invalid" / "unknown_key.yaml"

def run(coro) -> None:
    asyncio.run(coro)


def recorder(app: ShopsimApp) -> list[Event]:
    """Every event the simulation emits from now on."""
    out: list[Event] = []
    app.sim.subscribe(out.extend)
    return out


# --- 1. launch --------------------------------------------------------------------------------------------


def test_launch_shows_the_main_screen_at_once_then_gives_it_the_run() -> None:
    async def body() -> None:
        app = new_app(DEFAULT)
        build = hold_build(app)
        async with app.run_test(size=SIZE) as pilot:
            first = app.screen
            await pilot.pause()
            assert isinstance(first, MainScreen) and first.preparing  # before the run is built
            assert app.sim is None and app.driver is None and app.main_screen is None
            assert "loading" in first.query_one(Clock).text and "day 1/7" in first.query_one(Clock).text
            build()
            main = await open_main(app, pilot)
            assert main is first and not main.preparing  # the same screen, now showing the run
            assert len(app.screen_stack) == 2
            sim = app.sim
            assert sim.started and sim.now == 0 and len(sim.shoppers) == 2000
            assert app.sub_title == "default"
            assert main.selected == 0  # the first shopper is shown
            text = clock_text(app)
            assert "default" in text and "day 1/7" in text and "Mon 02 Mar 00:00 UTC" in text
            assert "Europe/Paris" in text and "paused" in text and "speed 1 h/s" in text
            inbox_title = str(main.query_one("#inbox-title", Static).render())
            assert sim.shoppers[0].name in inbox_title
            assert main.query_one(ShopperTable).rows == range(2000)
            # The settings tab builds its controls when first opened, not in the first frame.
            assert not main.query_one(SettingsPane).children
    run(body())


# --- 2. narration -----------------------------------------------------------------------------------------


def test_space_plays_until_the_first_narration_step_and_enter_carries_on() -> None:
    async def body() -> None:
        app = new_app(DEFAULT)
        async with app.run_test(size=SIZE) as pilot:
            main = await open_main(app, pilot)
            await pilot.press("space")
            await wait_until(pilot, lambda: isinstance(app.screen, NarrationScreen), "the narration callout")
            callout = app.screen
            assert app.sim.now == 30 * MINUTE  # the timed step stopped the clock exactly there
            assert not app.driver.playing and not app.driver.busy
            assert callout.hit.t == 30 * MINUTE
            assert str(callout.query_one("#title", Static).render()) == "A week on a marketplace"
            # The step's {shoppers} is filled in from the run: "2,000 shoppers in six countries, ..."
            text = str(callout.query_one("#text", Static).render())
            assert text.startswith(f"{len(app.sim.shoppers):,} shoppers in six countries") and "{" not in text
            assert f"step 1 of {len(app.driver.narrator.steps)}" in str(callout.query_one("#hint", Static).render())
            assert "00:30 UTC" in clock_text(app) and "paused" in clock_text(app)

            driver, played = app.driver, []
            toggle = driver.toggle
            driver.toggle = lambda: (toggle(), played.append(driver.playing))
            await pilot.press("enter")
            assert app.screen is not callout
            assert played == [True]  # the callout's enter carried on playing (a later step may pause it again:
            # with 2,000 shoppers the first abandoned cart comes some virtual minutes later, within the press)
            assert app.screen is main or app.screen.hit.index != callout.hit.index
            await wait_until(pilot, lambda: app.sim.now > 30 * MINUTE, "the clock to move on")
            await wait_until(pilot, lambda: utc_label(app) in clock_text(app) or not app.driver.playing,
                             "the clock to follow")
            assert "00:30 UTC" not in clock_text(app)
    run(body())


# --- 3. stepping ------------------------------------------------------------------------------------------


def test_next_event_next_message_hour_and_day() -> None:
    async def body() -> None:
        app = new_app(DEFAULT)
        async with app.run_test(size=SIZE) as pilot:
            main = await open_main(app, pilot)
            quiet_narration(app)
            sim, feed = app.sim, main.query_one(LiveFeed)
            events = recorder(app)

            # n: the next event, at once.
            emitted, before = sim.emitted, clock_text(app)
            await pilot.press("n")
            assert sim.emitted > emitted and sim.now > 0
            for _ in range(20):  # the clock shows minutes: step on until an event past 00:00
                if sim.now >= MINUTE:
                    break
                emitted = sim.emitted
                await pilot.press("n")
                assert sim.emitted > emitted
            await wait_until(pilot, lambda: clock_text(app) != before, "the clock to change")
            assert utc_label(app) in clock_text(app) and "00:00 UTC" not in clock_text(app)

            # m: run until a notification is decided; the feed shows that outcome.
            n = len(events)
            await pilot.press("m")
            await settle(app, pilot)
            outcomes = [ev for ev in events[n:] if ev.type in OUTCOMES]
            assert outcomes, "m stopped before any notification was decided"
            assert events[n:][-1].type in OUTCOMES  # it stops on that batch
            await wait_until(pilot, lambda: feed.lines and feed.lines[-1].nid == outcomes[-1].data["id"],
                             "the feed to show the outcome")
            assert feed.lines[-1].outcome == outcomes[-1].type.split(".")[1]

            # h and d: exactly one hour, one day, once the work is done.
            for key, span in (("h", HOUR), ("d", DAY)):
                start = sim.now
                await pilot.press(key)
                await settle(app, pilot)
                assert sim.now == start + span, key
            assert "day 2/7" in clock_text(app)
    run(body())


def test_a_jump_ending_in_a_quiet_slice_still_updates_the_clock(tmp_path) -> None:
    """Regression: the last slice of a jump emits nothing when the hour is quiet; the clock must still show the
    new time and "paused" (it used to stay on the previous slice's time, "working")."""
    async def body() -> None:
        app = new_app(story(tmp_path))
        async with app.run_test(size=SIZE) as pilot:
            await open_main(app, pilot)
            events = recorder(app)
            for hour in (1, 2, 3):
                await pilot.press("h")
                await settle(app, pilot)
                assert app.sim.now == hour * HOUR
            assert "03:00 UTC" in clock_text(app) and "paused" in clock_text(app)
            assert not [ev for ev in events if HOUR < ev.t < 2 * HOUR]  # 01:00-02:00 is quiet
    run(body())


# --- 4. selecting a shopper -------------------------------------------------------------------------------


def test_search_selects_a_shopper_for_the_inbox_and_settings() -> None:
    async def body() -> None:
        app = new_app(DEFAULT)
        async with app.run_test(size=SIZE) as pilot:
            main = await open_main(app, pilot)
            target = app.sim.shoppers[4]
            query = target.name.split()[-1].lower()  # her last name
            table = main.query_one(ShopperTable)

            await pilot.press("slash")
            assert isinstance(app.focused, ShopperSearch)
            await pilot.press(*query)
            await wait_until(pilot, lambda: len(table.rows) < len(app.sim.shoppers), "the table to filter")
            assert table.rows[0] == 4 and table.current_shopper == 4
            await pilot.press("enter")
            await wait_until(pilot, lambda: main.selected == 4, "her to be selected")
            assert isinstance(app.focused, ShopperList)  # back on the list: keys are bindings again
            assert table.selected == 4
            assert target.name in str(main.query_one("#inbox-title", Static).render())
            assert target.tz in clock_text(app)  # her local time is on the clock

            await pilot.press("e")
            tabs = main.query_one("#shopper-tabs", TabbedContent)
            assert tabs.active == "tab-settings"
            settings = main.query_one(SettingsPane)
            assert settings.index == 4
            assert target.name in str(settings.query_one("#settings-title", Static).render())
            await pilot.press("i")
            assert tabs.active == "tab-inbox"
    run(body())


# --- 5. the designer's story ------------------------------------------------------------------------------


def test_switching_promotions_push_off_suppresses_her_next_promotion(tmp_path) -> None:
    async def body() -> None:
        app = new_app(story(tmp_path))
        async with app.run_test(size=SIZE) as pilot:
            main = await open_main(app, pilot)
            sim, feed = app.sim, main.query_one(LiveFeed)
            events = recorder(app)
            her = sim.shoppers[0]
            assert main.selected == 0 and her.id == "s000001"

            def pushes(type_: str) -> list[Event]:
                return [ev for ev in events if ev.type == type_ and ev.shopper == her.id
                        and ev.data.get("channel") == "push" and ev.data.get("category") == "promotions"]

            # m until her first promotion push is delivered (02:00 UTC).
            for _ in range(10):
                if pushes(E.NOTIFICATION_DELIVERED):
                    break
                await pilot.press("m")
                await settle(app, pilot)
            first = pushes(E.NOTIFICATION_DELIVERED)
            assert first and first[0].t == 2 * HOUR and first[0].data["title"] == "Deal 1"
            inbox = main.query_one(InboxPane)
            await wait_until(pilot, lambda: any(e.id == first[0].data["id"] for e in inbox.entries),
                             "the push in her inbox")

            # The settings tab: switch promotions x push off.
            await pilot.press("e")
            box = main.query_one("#cat-promotions-push", Checkbox)
            assert box.value is True and box.region.height > 0  # on screen, where a click reaches it
            await pilot.click("#cat-promotions-push")
            await wait_until(pilot, lambda: not her.settings["categories"]["promotions"]["push"],
                             "the change to apply")
            assert box.value is False

            def changes() -> list[Event]:
                return [ev for ev in events if ev.type == E.SETTINGS_CHANGED and ev.shopper == her.id]

            # The play loop's next slice logs the change, paused as the run is, at the current virtual time.
            await wait_until(pilot, changes, "the change in the log")
            assert [(ev.t, ev.data["source"], ev.data["change"]) for ev in changes()] == [
                (2 * HOUR, "user", {"categories": {"promotions": {"push": False}}})]
            assert app.sim.now == 2 * HOUR and not app.driver.busy

            # Jump on: her next promotion push (06:00 UTC) is suppressed by that switch.
            for _ in range(10):
                if pushes(E.NOTIFICATION_SUPPRESSED):
                    break
                await pilot.press("m")
                await settle(app, pilot)
            suppressed = pushes(E.NOTIFICATION_SUPPRESSED)
            assert suppressed, "no promotion push was suppressed"
            ev = suppressed[0]
            assert ev.t == 6 * HOUR and ev.data["reason"] == "category_channel_off"
            assert len(pushes(E.NOTIFICATION_DELIVERED)) == 1  # nothing got through since
            inbox.flush_updates()
            assert [e.title for e in inbox.entries] == ["Deal 1"]  # her inbox has the first push only

            # The live feed shows that suppression line, on screen.
            line = next(ln for ln in feed.lines if ln.nid == ev.data["id"])
            assert line.outcome == "suppressed" and line.shopper == her.id
            text = feed.line_text(line)
            for part in ("s000001", "Push", "Promotions", "suppressed", "category switched off on this channel"):
                assert part in text  # the feed says it in words (labels.decision_words)

            def on_screen() -> bool:
                rows = [feed.render_line(y).text for y in range(feed.scrollable_content_region.height)]
                return any("category switched off" in r and "s000001" in r for r in rows)

            await wait_until(pilot, on_screen, "the suppression line on screen")
    run(body())


# --- 6. "why?" --------------------------------------------------------------------------------------------


def test_why_from_the_feed_and_from_the_inbox_opens_the_explanation(tmp_path) -> None:
    async def body() -> None:
        app = new_app(story(tmp_path))
        async with app.run_test(size=SIZE) as pilot:
            main = await open_main(app, pilot)
            sim, feed = app.sim, main.query_one(LiveFeed)
            await pilot.press("m")
            await settle(app, pilot)
            await wait_until(pilot, lambda: len(feed.lines) > 0, "a line in the feed")

            # The feed: cursor on a line, enter asks why.
            feed.focus()
            await pilot.press("up")
            line = feed.cursor_line
            assert line is not None and line.nid
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, ExplainScreen), "the explain screen")
            screen = app.screen
            why = sim.explain(line.nid)
            assert screen.notification_id == line.nid and screen.explanation == why
            summary = str(screen.query_one("#explain-summary", Static).render())
            assert why["summary"] in summary and why["outcome"].upper() in summary
            await pilot.press("escape")
            assert app.screen is main

            # The inbox: w on the highlighted message.
            inbox = main.query_one(InboxPane)
            # ... and its list mounted: on a busy machine the entries can arrive before the list is composed
            await wait_until(pilot, lambda: inbox.entries and inbox.query("#inbox-list"), "a message in her inbox")
            inbox.query_one("#inbox-list", OptionList).focus()
            await pilot.press("w")
            await wait_until(pilot, lambda: isinstance(app.screen, ExplainScreen), "the explain screen")
            nid = inbox.highlighted_entry.id
            assert app.screen.notification_id == nid
            assert sim.explain(nid)["summary"] in texts(app.screen)
            await pilot.press("escape")
            assert app.screen is main
    run(body())


# --- 7. KPIs ----------------------------------------------------------------------------------------------


def test_k_opens_the_kpis_and_escape_returns(tmp_path) -> None:
    async def body() -> None:
        app = new_app(story(tmp_path))
        async with app.run_test(size=SIZE) as pilot:
            main = await open_main(app, pilot)
            await pilot.press("h", "h", "h")
            await settle(app, pilot)
            await pilot.press("k")
            assert isinstance(app.screen, KpiScreen)
            kpis = app.screen
            assert kpis.result is not None and kpis.result["messages"]["delivered"] >= 1
            assert "KPIs · promo_story" in str(kpis.query_one("#kpi-title", Static).render())
            await pilot.press("escape")
            assert app.screen is main
            await pilot.press("k")
            assert isinstance(app.screen, KpiScreen)
            await pilot.press("k")  # k closes it too
            assert app.screen is main
    run(body())


# --- 8. help and the command palette ----------------------------------------------------------------------


def test_help_and_the_command_palette(tmp_path) -> None:
    async def body() -> None:
        app = new_app(story(tmp_path))
        async with app.run_test(size=SIZE) as pilot:
            main = await open_main(app, pilot)
            await pilot.press("question_mark")
            assert isinstance(app.screen, HelpScreen)
            text = texts(app.screen)
            assert "Play/pause" in text and "Next message" in text and "Main screen" in text
            await pilot.press("escape")
            assert app.screen is main

            driver, calls = app.driver, []
            step = driver.step_notification
            driver.step_notification = lambda: (calls.append(app.sim.now), step())[-1]
            events = recorder(app)
            await pilot.press("ctrl+p")
            assert isinstance(app.screen, CommandPalette)
            palette = app.screen
            await pilot.press(*"next message")
            commands = palette.query_one(CommandList)

            def gathered() -> bool:
                return commands.option_count > 0 and not any(
                    w.group == CommandPalette._GATHER_COMMANDS_GROUP and not w.is_finished for w in app.workers)

            await wait_until(pilot, gathered, "the palette's hits")  # not workers.wait_for_complete(): the
            top = commands.get_option_at_index(commands.highlighted)  # play loop is a worker that never ends
            assert str(top.hit.text) == "Step to the next message"
            await pilot.press("enter")
            await wait_until(pilot, lambda: calls, "the palette to run step_notification")
            assert app.screen is main
            await settle(app, pilot)
            assert calls == [0]
            assert any(ev.type in OUTCOMES for ev in events)
    run(body())


# --- 9. a scenario that does not load ---------------------------------------------------------------------


def test_an_invalid_scenario_opens_the_errors_screen_then_the_picker(tmp_path) -> None:
    path = tmp_path / "unknown_key.yaml"
    shutil.copy(INVALID, path)

    async def body() -> None:
        app = new_app(path)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, ErrorsScreen), "the errors screen")
            screen = app.screen
            assert app.sim is None and app.driver is None
            assert any("unknown key 'duraton'" in line for line in screen.lines)
            text = texts(screen)
            assert "unknown key 'duraton'" in text and "run.duraton" in text and "1 problem" in text
            await pilot.press("o")
            await wait_until(pilot, lambda: isinstance(app.screen, PickerScreen), "the picker")
            await wait_until(pilot, lambda: app.screen.loaded, "the picker's list")
        assert app.return_code in (0, None)
    run(body())


# --- 10. no scenario: the picker --------------------------------------------------------------------------


def test_without_a_scenario_the_picker_opens_and_loads_the_chosen_one() -> None:
    async def body() -> None:
        app = new_app(None)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, PickerScreen), "the picker")
            picker = app.screen
            await wait_until(pilot, lambda: picker.loaded, "the picker's list")
            await pilot.press(*"quiet_hours")
            await wait_until(pilot, lambda: picker.highlighted_entry is not None
                             and picker.highlighted_entry.path.name == "quiet_hours.yaml", "the filter")
            await pilot.press("enter")
            main = await open_main(app, pilot)
            assert app.sim.scenario.name == "quiet_hours" and app.sub_title == "quiet_hours"
            assert app.scenario_path.name == "quiet_hours.yaml"
            assert "quiet_hours" in clock_text(app)
            assert main.query_one(ShopperTable).rows == range(len(app.sim.shoppers))
            quiet_narration(app)  # its lesson's first step, at 30 minutes, would stop the jump there
            await pilot.press("h")
            await settle(app, pilot)
            assert app.sim.now == HOUR
    run(body())


# --- 11. resizing -----------------------------------------------------------------------------------------


def test_resizing_keeps_the_main_screen_working() -> None:
    async def body() -> None:
        app = new_app(DEFAULT)
        async with app.run_test(size=SIZE) as pilot:
            main = await open_main(app, pilot)
            quiet_narration(app)
            for (width, height), key, span in (((100, 30), "h", HOUR), ((200, 60), "d", DAY)):
                await pilot.resize_terminal(width, height)
                await wait_until(pilot, lambda: main.size == (width, height), f"the {width}x{height} layout")
                start = app.sim.now
                await pilot.press(key)
                await settle(app, pilot)
                assert app.sim.now == start + span
                flush_panes(main)
                await pilot.pause()
                assert app.screen is main
                for widget in (TransportBar, ShopperTable, InboxPane, LiveFeed):
                    region = main.query_one(widget).region
                    assert region.width > 0 and region.height > 0, widget
                    assert region.right <= width and region.bottom <= height, widget
                assert main.query_one(LiveFeed).region.width == width
    run(body())


# --- 12. quitting -----------------------------------------------------------------------------------------


def test_q_quits_cleanly_even_while_playing(tmp_path) -> None:
    async def body() -> None:
        app = new_app(story(tmp_path))
        async with app.run_test(size=SIZE) as pilot:
            await open_main(app, pilot)
            await pilot.press("space")
            assert app.driver.playing
            await pilot.press("q")
            await wait_until(pilot, lambda: not app.is_running, "the app to exit", limit_s=10)
        assert app.return_code in (0, None)
        assert getattr(app, "_exception", None) is None
    run(body())


# --- snapshots --------------------------------------------------------------------------------------------


def test_snapshot_main_screen_inbox(snap_compare) -> None:
    async def before(pilot) -> None:
        await day_one_with_arnaude(pilot)
        assert pilot.app.sim.shoppers[ARNAUDE].id == "s000242"
        assert pilot.app.main_screen.query_one(InboxPane).entries  # she has messages

    assert snap_compare(new_app(DEFAULT), terminal_size=SIZE, run_before=before)


def test_snapshot_main_screen_settings(snap_compare) -> None:
    async def before(pilot) -> None:
        await day_one_with_arnaude(pilot)
        await pilot.press("e")
        await pilot.pause()

    assert snap_compare(new_app(DEFAULT), terminal_size=SIZE, run_before=before)


def test_snapshot_narration_callout(snap_compare) -> None:
    async def before(pilot) -> None:
        app = pilot.app
        await open_main(app, pilot)
        await pilot.press("space")
        await wait_until(pilot, lambda: isinstance(app.screen, NarrationScreen), "the narration callout")
        flush_panes(app.main_screen)
        await pilot.pause()

    assert snap_compare(new_app(DEFAULT), terminal_size=SIZE, run_before=before)


def test_snapshot_kpis_after_two_days(snap_compare) -> None:
    async def before(pilot) -> None:
        app = pilot.app
        await open_main(app, pilot)
        quiet_narration(app)
        await pilot.press("d")
        await settle(app, pilot)
        await pilot.press("d")
        await settle(app, pilot)
        assert app.sim.now == 2 * DAY
        await pilot.press("k")
        await wait_until(pilot, lambda: isinstance(app.screen, KpiScreen) and app.screen.result is not None,
                         "the KPI screen")
        await pilot.pause()

    assert snap_compare(new_app(DEFAULT), terminal_size=SIZE, run_before=before)


def test_snapshot_help_and_light_theme(snap_compare) -> None:
    """The help screen over the main screen, in the light theme: both themes must read well."""
    async def before(pilot) -> None:
        app = pilot.app
        await open_main(app, pilot)
        app.theme = "textual-light"
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "HelpScreen", "the help screen")
        await pilot.pause()

    assert snap_compare(new_app(DEFAULT), terminal_size=SIZE, run_before=before)


def test_a_fast_burst_after_slash_lands_in_the_search_box() -> None:
    """A terminal delivers "/jesus" typed fast as keys all queued to the focused list before any binding
    runs; none of them may be lost."""
    from textual import events

    async def body() -> None:
        app = new_app(DEFAULT)
        async with app.run_test(size=SIZE) as pilot:
            main = await open_main(app, pilot)
            table = main.query_one(ShopperTable)
            view = table.view
            assert app.focused is view
            for key, char in [("slash", "/"), *((c, c) for c in "s000084")]:
                view.post_message(events.Key(key, char))  # queued together, as a burst is
            await wait_until(pilot, lambda: table.query_one(ShopperSearch).value == "s000084", "the box")
            assert isinstance(app.focused, ShopperSearch)

    run(body())
