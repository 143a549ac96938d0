"""The main screen at every size, and the keys that move between its panes.

At 80×24, 100×30 and 160×48 the layout must keep the clock, some shoppers, the inbox with its preview and the
feed on screen; help must reach its last line at every size; `1`/`2`/`3` focus the shoppers, the inbox (or
settings) and the feed; `i`/`e` move the focus into what they open, so a tab stays shown when a modal closes;
`z` zooms the focused pane and `v` cycles the feed's height."""

from __future__ import annotations

import asyncio

import pytest
from helpers.tui import DEFAULT, new_app, open_main, texts, wait_until
from textual.containers import VerticalScroll
from textual.widgets import Static, TabbedContent

from shopsim.tui.screens.help import HelpScreen
from shopsim.tui.screens.kpis import KpiScreen
from shopsim.tui.screens.main import MainScreen
from shopsim.tui.widgets.feed import LiveFeed
from shopsim.tui.widgets.inbox import InboxPane
from shopsim.tui.widgets.settings import SettingsPane
from shopsim.tui.widgets.shopper_list import ShopperList
from shopsim.tui.widgets.shoppers import ShopperTable

SIZES = [(80, 24), (100, 30), (160, 48)]


def run(coro) -> None:
    asyncio.run(coro)


def notices(main, titled: bool = False) -> list[str]:
    """What the screen says in notices from now on ("title: message" with `titled`), as it says them."""
    shown: list[str] = []
    notify = main.notify

    def capture(message, **kw):
        shown.append(f"{kw.get('title')}: {message}" if titled else message)
        return notify(message, **kw)

    main.notify = capture
    return shown


def visible(widget) -> bool:
    """On screen with some room: displayed, inside the screen, at least one cell high and wide."""
    region = widget.region
    screen = widget.screen.region
    return widget.display and region.width > 0 and region.height > 0 and screen.contains_region(region)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_size_shows_clock_shoppers_inbox_preview_and_feed(size) -> None:
    async def body() -> None:
        app = new_app(DEFAULT)
        async with app.run_test(size=size) as pilot:
            main = await open_main(app, pilot)
            for selector in ("#transport", "#shoppers", "#inbox-list", "#inbox-preview", "#feed"):
                assert visible(main.query_one(selector)), f"{selector} is not on screen at {size}"
            rows = main.query_one(ShopperList).body_height
            assert rows >= 12, f"only {rows} shoppers on screen at {size}"  # the README says "a dozen" at 80×24
            assert main.query_one("#inbox-preview").region.height >= 5
            assert main.query_one(LiveFeed).region.height >= 4
            classes = {"-narrow", "-medium", "-wide"} & main.classes
            assert classes == {"-narrow" if size[0] < 100 else "-medium" if size[0] < 140 else "-wide"}

    run(body())


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_help_reaches_its_last_line_at_every_size(size) -> None:
    async def body() -> None:
        app = new_app(DEFAULT)
        async with app.run_test(size=size) as pilot:
            await open_main(app, pilot)
            await pilot.press("question_mark")
            await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
            help_screen = app.screen
            await pilot.pause()
            close = help_screen.query_one("#help-close", Static)
            assert visible(close), "the closing line is cut off"
            keys = help_screen.query_one("#help-keys", VerticalScroll)
            assert app.focused is keys  # the arrows scroll it at once
            for _ in range(keys.max_scroll_y + 2):
                await pilot.press("down")
            await pilot.pause()
            assert keys.scroll_y == keys.max_scroll_y
            groups = [w for w in help_screen.query(".help-group")]
            assert [str(g.render()) for g in groups][-1] == "Everywhere"
            last_rows = help_screen.query(".help-rows").last()
            # The last group's last row is inside the visible part of the scrolled area.
            assert last_rows.region.bottom <= keys.content_region.bottom
            assert "Everywhere" in texts(help_screen) and "LiveFeed" not in texts(help_screen)
            if keys.max_scroll_y:
                assert "scroll" in str(close.render())
            if size == (160, 48):
                assert keys.max_scroll_y == 0, "help should fit a large terminal without scrolling"

    run(body())


def test_number_keys_focus_the_panes_and_i_e_move_the_focus_into_what_they_open() -> None:
    async def body() -> None:
        app = new_app(DEFAULT)
        async with app.run_test(size=(160, 48)) as pilot:
            main = await open_main(app, pilot)
            tabs = main.query_one("#shopper-tabs", TabbedContent)
            await pilot.press("3")
            assert app.focused is main.query_one(LiveFeed)
            await pilot.press("2")
            assert app.focused is main.query_one(InboxPane).option_list
            await pilot.press("1")
            assert app.focused is main.query_one(ShopperTable).view
            await pilot.press("e")
            await wait_until(pilot, lambda: tabs.active == "tab-settings", "the settings tab")
            assert app.focused is main.query_one(SettingsPane)
            await pilot.press("i")
            assert tabs.active == "tab-inbox" and app.focused is main.query_one(InboxPane).option_list
            # e works while the inbox has the focus (it used to do nothing there).
            await pilot.press("e")
            await wait_until(pilot, lambda: tabs.active == "tab-settings", "settings from the inbox")
            await pilot.press("2")
            assert tabs.active == "tab-settings"  # 2 goes to whichever of the two is shown

    run(body())


@pytest.mark.parametrize("modal", ["help", "kpis", "palette"])
def test_settings_stay_shown_after_a_modal_closes(modal) -> None:
    """Narration, then settings, then a modal: closing it must not flip back to the inbox."""
    async def body() -> None:
        app = new_app(DEFAULT)
        async with app.run_test(size=(160, 48)) as pilot:
            main = await open_main(app, pilot)
            tabs = main.query_one("#shopper-tabs", TabbedContent)
            main.query_one(InboxPane).option_list.focus()  # where a narration step leaves the focus
            await pilot.press("e")
            await wait_until(pilot, lambda: tabs.active == "tab-settings", "the settings tab")
            key, screen_type = {"help": ("question_mark", HelpScreen), "kpis": ("k", KpiScreen),
                                "palette": ("ctrl+p", None)}[modal]
            await pilot.press(key)
            await wait_until(pilot, lambda: app.screen is not main, "the modal")
            assert screen_type is None or isinstance(app.screen, screen_type)
            await pilot.press("escape")
            await wait_until(pilot, lambda: app.screen is main, "the main screen again")
            await pilot.pause()
            assert tabs.active == "tab-settings"

    run(body())


def test_a_click_on_the_settings_tab_and_back() -> None:
    async def body() -> None:
        app = new_app(DEFAULT)
        async with app.run_test(size=(160, 48)) as pilot:
            main = await open_main(app, pilot)
            tabs = main.query_one("#shopper-tabs", TabbedContent)
            await pilot.click("#shopper-tabs Tab#--content-tab-tab-settings")
            await wait_until(pilot, lambda: tabs.active == "tab-settings", "settings by a click")
            await pilot.click("#shopper-tabs Tab#--content-tab-tab-inbox")
            await wait_until(pilot, lambda: tabs.active == "tab-inbox", "the inbox by a click")

    run(body())


def test_z_zooms_the_focused_pane_and_v_cycles_the_feed() -> None:
    async def body() -> None:
        app = new_app(DEFAULT)
        async with app.run_test(size=(80, 24)) as pilot:
            main = await open_main(app, pilot)
            feed = main.query_one(LiveFeed)
            await pilot.press("2", "z")
            await pilot.pause()
            assert main.zoomed == "inbox"
            assert not visible(main.query_one("#shoppers")) and not visible(feed)
            assert main.query_one("#shopper-tabs").region.width == 80
            await pilot.press("z")
            await pilot.pause()
            assert main.zoomed is None and visible(main.query_one("#shoppers")) and visible(feed)
            # A key for another pane brings the layout back before it moves the focus there.
            await pilot.press("3", "z")
            await pilot.pause()
            assert main.zoomed == "feed" and feed.region.height > 15
            await pilot.press("1")
            await pilot.pause()
            assert main.zoomed is None and app.focused is main.query_one(ShopperTable).view

            normal = feed.region.height
            await pilot.press("v")
            await pilot.pause()
            assert feed.region.height > normal
            await pilot.press("v")
            await pilot.pause()
            assert not feed.display or feed.region.height == 0
            rows_without_feed = main.query_one(ShopperList).region.height
            await pilot.press("3")  # focusing the hidden feed shows it again
            await pilot.pause()
            assert visible(feed) and app.focused is feed
            assert main.query_one(ShopperList).region.height < rows_without_feed

    run(body())


def test_the_screen_classes_follow_a_resize() -> None:
    async def body() -> None:
        app = new_app(DEFAULT)
        async with app.run_test(size=(160, 48)) as pilot:
            main = await open_main(app, pilot)
            assert {"-wide", "-tall"} <= main.classes
            await pilot.resize_terminal(80, 24)
            await wait_until(pilot, lambda: {"-narrow", "-short"} <= main.classes, "the small layout")
            assert isinstance(app.screen, MainScreen)

    run(body())


def test_n_says_what_it_stepped_to_and_marks_it_in_the_feed() -> None:
    from shopsim.tui.event_words import event_words
    from shopsim.tui.widgets.feed_lines import STEPPED

    async def body() -> None:
        app = new_app(DEFAULT)
        async with app.run_test(size=(160, 48)) as pilot:
            main = await open_main(app, pilot)
            app.driver.narrator.enabled = False
            feed = main.query_one(LiveFeed)
            shown = notices(main)
            for press in range(1, 4):
                reached: list = []
                unsubscribe = app.sim.subscribe(reached.extend)
                await pilot.press("n")
                await wait_until(pilot, lambda: len(shown) == press, f"the notice of step {press}")
                unsubscribe()
                first = reached[0]
                name = app.sim.shopper(first.shopper).name if first.shopper else None
                assert shown[-1].startswith(event_words(first, name, currency="USD"))  # in words, with name and id
                assert not any(key in shown[-1] for key in (first.type, "_"))
                await wait_until(pilot, lambda: feed.cursor_line is not None and feed.cursor_line[1] == first.t,
                                 "the step's line under the feed's cursor")
                line = feed.cursor_line
                if line.outcome == STEPPED:
                    assert line.detail == event_words(first, who=False, currency="USD")
                assert "_" not in feed.line_text(line) and not feed.following

    run(body())


@pytest.mark.parametrize("size", [(100, 30), (160, 48)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_settings_grid_fits_beside_the_shoppers(size) -> None:
    """Every column of the settings grid, frequencies included, is inside the pane (no sideways scrolling)."""
    from textual.widgets import Select

    async def body() -> None:
        app = new_app(DEFAULT)
        async with app.run_test(size=size) as pilot:
            main = await open_main(app, pilot)
            await pilot.press("e")
            pane = main.query_one(SettingsPane)
            await wait_until(pilot, lambda: pane.query(Select), "the settings controls")
            await pilot.pause()
            inside = pane.scrollable_content_region
            for select in pane.query(Select):  # horizontally: the pane scrolls down, never sideways
                assert inside.x <= select.region.x and select.region.right <= inside.right, (
                    f"{select.id} {select.region} outside {inside}")
            assert pane.max_scroll_x == 0

    run(body())


def test_m_and_the_step_button_say_where_they_landed_and_play_makes_the_feed_follow_again() -> None:
    from shopsim.tui.driver import OUTCOMES

    async def body() -> None:
        app = new_app(DEFAULT)
        async with app.run_test(size=(160, 48)) as pilot:
            main = await open_main(app, pilot)
            app.driver.narrator.enabled = False
            feed = main.query_one(LiveFeed)
            shown = notices(main, titled=True)
            reached: list = []
            app.sim.subscribe(reached.extend)
            await pilot.press("m")
            await wait_until(pilot, lambda: shown, "the notice of the next message")
            decision = next(ev for ev in reached if ev.type in OUTCOMES)
            assert shown[-1].startswith("Next message") and decision.shopper in shown[-1]
            await wait_until(pilot, lambda: feed.cursor_line is not None and feed.cursor_line[1] == decision.t,
                             "the decision under the feed's cursor")
            # The top bar's step button says where it landed, as n does.
            await pilot.click("#event")
            await wait_until(pilot, lambda: len(shown) == 2, "the notice of the button's step")
            assert shown[-1].startswith("Next event")
            assert not feed.following
            await pilot.press("h")  # playing on: the feed follows the run again
            await wait_until(pilot, lambda: not app.driver.busy, "the jump")
            await pilot.pause()
            assert feed.following and feed.cursor is None

    run(body())


def test_a_callouts_w_and_k_do_what_the_lesson_says() -> None:
    from shopsim.tui.screens.explain import ExplainScreen
    from shopsim.tui.screens.narration import NarrationScreen

    async def body() -> None:
        app = new_app(DEFAULT)
        async with app.run_test(size=(100, 30)) as pilot:
            main = await open_main(app, pilot)
            for _ in range(3):  # the third step of the default lesson highlights a delivered reminder
                await pilot.press("space")
                await wait_until(pilot, lambda: isinstance(app.screen, NarrationScreen), "a callout")
                if main.query_one(InboxPane).highlighted_entry is not None:
                    break
                await pilot.press("escape")
            hint = str(app.screen.query_one("#hint").render())
            assert "esc" in hint and "w: why?" in hint
            await pilot.press("w")
            await wait_until(pilot, lambda: isinstance(app.screen, ExplainScreen), "why? from the callout")
            assert not app.driver.playing
            await pilot.press("escape")
            await wait_until(pilot, lambda: app.screen is main, "the main screen")
            await pilot.press("space")
            await wait_until(pilot, lambda: isinstance(app.screen, NarrationScreen), "the next callout")
            await pilot.press("k")
            await wait_until(pilot, lambda: isinstance(app.screen, KpiScreen), "KPIs from the callout")

    run(body())


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_notice_does_not_cover_the_feed_or_the_inbox_list(size) -> None:
    from textual.widgets._toast import Toast

    async def body() -> None:
        app = new_app(DEFAULT)
        async with app.run_test(size=size, notifications=True) as pilot:
            main = await open_main(app, pilot)
            app.driver.narrator.enabled = False
            await pilot.press("n")
            await wait_until(pilot, lambda: app.screen.query(Toast), "the step's notice")
            await pilot.pause()
            toast = app.screen.query(Toast).first().region
            for selector in ("#feed", "#inbox-list"):
                assert not toast.overlaps(main.query_one(selector).region), selector

    run(body())


def test_an_experiments_arms_all_show_on_the_kpi_screen_at_100_columns() -> None:
    from pathlib import Path

    from helpers.tui import quiet_narration

    from shopsim.tui.widgets.charts import VariantsChart

    async def body() -> None:
        app = new_app(Path(DEFAULT).parent / "experiment.yaml")
        async with app.run_test(size=(100, 30)) as pilot:
            await open_main(app, pilot)
            quiet_narration(app)
            for _ in range(2):
                await pilot.press("d")
                await wait_until(pilot, lambda: not app.driver.busy, "a day's jump", 120)
            await pilot.press("k")
            await wait_until(pilot, lambda: isinstance(app.screen, KpiScreen) and app.screen.result is not None
                             and app.screen.query(VariantsChart), "the KPI screen with its experiment")
            await pilot.pause()
            chart = app.screen.query_one(VariantsChart)
            assert chart.region.right <= 100 and chart.size.width >= max(len(t.plain) for t in chart._arms(60))
            lines = chart.plain.splitlines()
            head = next(line for line in lines if line.startswith("arm "))
            row = next(line for line in lines if line.startswith("shoppers"))
            for arm in chart.variants:
                assert arm in head
            # Each heading ends where its column's numbers end.
            ends = [i + 1 for i, ch in enumerate(head) if ch != " " and (i + 1 == len(head) or head[i + 1] == " ")]
            assert all(row[end - 1].isdigit() for end in ends[-len(chart.variants):])

    run(body())


def test_the_inbox_shows_new_messages_above_the_one_highlighted() -> None:
    """Newer messages arrive at the top: on the newest (and not reading the list) the highlight follows them;
    on an older one she is reading, it stays on it with the newer ones in sight above."""
    from helpers.tui import ARNAUDE, quiet_narration

    from shopsim.contract.clock import HOUR
    from shopsim.tui.messages import ShopperSelected

    async def body() -> None:
        app = new_app(DEFAULT)
        async with app.run_test(size=(160, 48)) as pilot:
            main = await open_main(app, pilot)
            quiet_narration(app)
            inbox = main.query_one(InboxPane)
            main.post_message(ShopperSelected(ARNAUDE))
            await wait_until(pilot, lambda: main.selected == ARNAUDE, "her selection")
            sid = app.sim.shoppers[ARNAUDE].id

            async def until_more(n: int) -> None:
                while len(app.sim.inbox(sid)) < n:
                    app.driver.jump(HOUR)
                    await wait_until(pilot, lambda: not app.driver.busy, "an hour", 60)
                inbox.flush_updates()
                await pilot.pause()

            await until_more(1)
            first = inbox.highlighted_entry.id
            await until_more(len(app.sim.inbox(sid)) + 1)
            assert inbox.option_list.highlighted == 0 and inbox.highlighted_entry.id != first  # followed

            inbox.option_list.focus()  # now she reads an older message
            inbox.option_list.highlighted = len(inbox.entries) - 1
            await pilot.pause()
            reading = inbox.highlighted_entry.id
            await until_more(len(app.sim.inbox(sid)) + 1)
            assert inbox.highlighted_entry.id == reading and inbox.option_list.scroll_y == 0

    run(body())
