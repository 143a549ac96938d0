"""The live feed and the shoppers list together, as a user meets them: ids that match, words instead of
keys, counts in the right number, a search that knows country names and says what it cannot use.

The default scenario is played to day 2 once per module; each test lays a shoppers table and a live feed
out the way the main screen does (the table 45% wide, between 40 and 90 columns) and drives them with a
Textual pilot: keys and clicks, no sleeps, no wall clock."""

from __future__ import annotations

import asyncio
import re
from functools import lru_cache
from types import SimpleNamespace

import pytest
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from shopsim.validate import load_scenario
from shopsim.contract import events as E
from shopsim.contract.clock import DAY
from shopsim.simulation import Simulation
from shopsim.contract.events import Event
from shopsim.tui.messages import ShopperSelected
from shopsim.tui.widgets.feed import LiveFeed
from shopsim.tui.widgets.feed_lines import CHANNEL_CYCLE
from shopsim.tui.widgets.shopper_list import ShopperList, ShopperSearch
from shopsim.tui.widgets.shoppers import ShopperTable

from helpers.paths import ROOT

SNAKE = re.compile(r"\b[a-z]+_[a-z_]+\b")  # cart_reminders, quiet_hours, in_app, notification_delivered …
SIZES = [(80, 24), (100, 30), (160, 48)]


@lru_cache(maxsize=1)
def _run() -> tuple[Simulation, list[Event]]:
    """The default scenario to day 2: deliveries on every channel, quiet-hours deferrals, suppressions
    of several kinds, abandoned carts. Shared read-only by the tests."""
    sim = Simulation(load_scenario(ROOT / "scenarios" / "default.yaml"))
    events: list[Event] = []
    sim.subscribe(events.extend)
    sim.run_until(2 * DAY)
    return sim, events


class Screen(App):
    """The main screen's panes, without the rest of the app."""

    CSS = """
    #panes { height: 1fr; }
    #shoppers { width: 45%; min-width: 40; max-width: 90; }
    #side { width: 1fr; }
    #feed { height: 12; }
    """

    def __init__(self, sim, events: list[Event], shoppers_only: bool = False) -> None:
        super().__init__()
        self.sim, self.events, self.shoppers_only = sim, events, shoppers_only
        self.animation_level = "none"

    def compose(self) -> ComposeResult:
        with Horizontal(id="panes"):
            yield ShopperTable(self.sim, id="shoppers")
            yield Static(id="side")
        if not self.shoppers_only:
            yield LiveFeed(self.sim, id="feed")

    def on_mount(self) -> None:
        if not self.shoppers_only:
            self.feed.on_sim_events(self.events)
            self.feed.flush()

    @property
    def table(self) -> ShopperTable:
        return self.query_one(ShopperTable)

    @property
    def feed(self) -> LiveFeed:
        return self.query_one(LiveFeed)

    def on_shopper_selected(self, message: ShopperSelected) -> None:  # what the main screen does
        self.table.show_shopper(message.index)
        if not self.shoppers_only:
            self.feed.selected_shopper = self.sim.shoppers[message.index].id


def _drive(app: App, body, size=(160, 48)) -> None:
    async def go():
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await body(pilot)
    asyncio.run(go())


def _screen_rows(widget) -> list[str]:
    return [widget.render_line(y).text for y in range(widget.scrollable_content_region.height)]


def _notice(view: ShopperList) -> str:
    """The lines between the header and the rows, as one line of words."""
    return " ".join(" ".join(_screen_rows(view)[1:view.top]).split())


def _cursor_row(table: ShopperTable) -> str:
    view = table.view
    top = getattr(view, "top", 1)  # the first row's line (a notice can push it down)
    return view.render_line(top + table.cursor - round(view.scroll_y)).text


# --- 1. the id the feed names is in the list, and names get the room ----------------------------------

@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_shopper_a_feed_line_names_is_found_by_id_in_the_list(size):
    sim, events = _run()
    app = Screen(sim, events)

    async def body(pilot):
        table, feed = app.table, app.feed
        # A double click on a feed line selects its shopper: the list's cursor row shows the same id.
        await pilot.click(LiveFeed, offset=(12, 2), times=2)
        await pilot.pause()
        sid = feed.cursor_line.shopper
        assert sid in feed.render_line(2).text
        assert sim.shoppers[table.selected].id == sid and sid in _cursor_row(table)
        # Every row on screen shows its shopper's id; names fit whole when they are not unusually long.
        view = table.view
        assert "ID" in view.render_line(0).text.split()
        room = {80: 21, 100: 26, 160: 22}[size[0]]
        shown = [table.rows[r] for r in range(round(view.scroll_y), round(view.scroll_y) + view.body_height)]
        for index, text in zip(shown, _screen_rows(view)[view.top:]):
            sh = sim.shoppers[index]
            assert sh.id in text
            assert sh.name in text or len(sh.name) > room, (sh.name, text)
        # The other way: click a shopper row, then "f" shows only her lines; they name the id the row shows.
        await pilot.click(ShopperList, offset=(4, view.top + 3))
        await pilot.pause()
        row = _cursor_row(table)
        sh = sim.shoppers[table.selected]
        assert sh.id in row
        feed.focus()
        await pilot.press("f")
        assert feed.shopper == sh.id
        assert all(line.shopper == sh.id for line in feed.visible_lines)

    _drive(app, body, size)


def test_at_160_columns_names_come_before_cart_amounts_and_the_time_zone():
    sim, events = _run()
    app = Screen(sim, events, shoppers_only=True)

    async def body(pilot):
        table = app.table
        header = table.view.render_line(0).text
        assert header.split()[:3] == ["Shopper", "ID", "From"] and "Cart" in header and "Unread" in header
        widths = dict(table.columns(table.view.scrollable_content_region.width))
        assert widths["name"] >= 22 and widths["cart"] <= 17 and "tz" not in widths
        # The longest names of the run, typed into the search, show whole or nearly.
        longest = max(sim.shoppers, key=lambda sh: len(sh.name) if len(sh.name) <= 22 else 0)
        await pilot.click(ShopperSearch)
        await pilot.press(*longest.id)
        assert list(table.rows) == [longest.index]
        assert longest.name in table.view.render_line(table.view.top).text

    _drive(app, body)


# --- 2. the feed speaks in words ------------------------------------------------------------------------

def _extra_events() -> list[Event]:
    """What day 2 of the default scenario lacks: an ad, a rerouted message, a one-message digest."""
    t = 2 * DAY
    return [
        Event(10**9, t, E.AD_IMPRESSION, "s000005", {"ad": "s000005-a1", "reason": "cart", "ref": "s000005-c1",
                                                      "products": []}),
        Event(10**9 + 1, t + 1, E.NOTIFICATION_DELIVERED, "s000005",
              {"id": "s000005-n90", "channel": "email", "category": "account_security", "title": "New sign-in",
               "rerouted_from": "in_app"}),
        Event(10**9 + 2, t + 2, E.NOTIFICATION_DELIVERED, "s000005",
              {"id": "s000005-n91", "channel": "email", "category": "digest", "title": "Your day",
               "digest_of": ["s000005-n80"]}),
    ]


def test_the_feed_shows_words_not_keys():
    sim, events = _run()
    app = Screen(sim, events + _extra_events())

    async def body(pilot):
        feed = app.feed
        await pilot.click(LiveFeed, offset=(12, 3))  # focus, and a cursor
        seen: list[str] = []
        for _ in CHANNEL_CYCLE:  # c steps through every channel, then back to all of them
            await pilot.press("c")
            seen += _screen_rows(feed)
            seen += [feed.line_text(line) for line in feed.visible_lines]
        await pilot.press("s")  # only suppressions
        seen += _screen_rows(feed)
        assert any("only In-app" in text for text in seen) and any("only Ads" in text for text in seen)
        assert "only suppressed" in feed.render_line(0).text
        assert [text for text in seen if SNAKE.search(text)] == []
        texts = [feed.line_text(line) for line in feed.visible_lines]
        assert any("Cart reminders" in t and "no marketing consent" in t for t in texts)
        assert any("unreachable: " in t for t in texts) and any("flow ended: " in t for t in texts)
        await pilot.press("s", "end")
        texts = [feed.line_text(line) for line in feed.visible_lines]
        assert any("deferred" in t and "quiet hours" in t for t in texts)
        assert "ad shown" in texts[-3] and "after cart abandonment" in texts[-3] and "Ads" in texts[-3]
        assert "rerouted from In-app · New sign-in" in texts[-2]
        assert "Digests" in texts[-1] and "digest of 1 message · Your day" in texts[-1]

    _drive(app, body)


# --- 3. counts in the right number ----------------------------------------------------------------------

def test_one_line_one_shopper_read_in_the_singular():
    seg = SimpleNamespace(name="casual")
    one = SimpleNamespace(index=0, id="s000001", name="Ana Lima", city="Recife", country="BR",
                          tz="America/Recife", segment=seg, cart=None, cart_state=None, notes=None)
    sim = SimpleNamespace(shoppers=[one], scenario=SimpleNamespace(currency="USD", start_epoch=0,
                                                                   segments=None),
                          emitted=0, started=False)
    event = Event(1, 60_000, E.NOTIFICATION_DELIVERED, "s000001",
                  {"id": "s000001-n1", "channel": "push", "category": "promotions", "title": "Hello"})
    app = Screen(sim, [event])

    async def body(pilot):
        feed, table = app.feed, app.table
        assert "Live feed · 1 line ·" in feed.render_line(0).text
        await pilot.click(LiveFeed, offset=(5, 1))
        await pilot.press("s")
        assert "Live feed · 0 of 1 line ·" in feed.render_line(0).text
        view = table.view
        footer = view.render_line(view.scrollable_content_region.height - 1).text
        assert "1 shopper (1 shown)" in footer
        await pilot.click(ShopperSearch)
        await pilot.press(*"nobody")
        footer = view.render_line(view.scrollable_content_region.height - 1).text
        assert "1 shopper (0 shown)" in footer
        assert view.render_line(view.top).text.strip() == "No shopper matches this search."

    _drive(app, body, (100, 30))


# --- 4. the search knows country names and says what it cannot use ------------------------------------

def test_search_finds_countries_by_name_and_says_which_filter_it_does_not_know():
    sim, events = _run()
    app = Screen(sim, events, shoppers_only=True)
    french = {sh.index for sh in sim.shoppers if sh.country == "FR"}

    async def body(pilot):
        table = app.table
        view = table.view

        async def search(text: str) -> None:
            await pilot.press("home", "ctrl+k", *text)
            await pilot.pause()

        await pilot.click(ShopperSearch)
        await search("France")
        assert french <= set(table.rows) and len(table.rows) < len(sim.shoppers) // 2
        await search("fra")
        assert french <= set(table.rows)
        await search("country:fra")
        assert set(table.rows) == french
        assert "country:FR" in view.render_line(view.scrollable_content_region.height - 1).text
        await search("country:france seg:loy")
        assert table.rows and all(sim.shoppers[i].country == "FR" and sim.shoppers[i].segment.name == "loyal"
                                  for i in table.rows)
        # A typo in a filter's name says so, and the list is not emptied by it.
        await search("segmnt:vip")
        assert "unknown filter 'segmnt' — try segment:, country:" in _notice(view)
        assert len(table.rows) == len(sim.shoppers)
        # So does a value no shopper has, for a known filter, and the list is as empty as that answer.
        await search("seg:vip")
        assert "no segment 'vip'" in view.render_line(1).text and len(table.rows) == 0
        await search("country:atlantis")
        assert "no shopper from 'atlantis' — try Brazil (BR), France (FR)" in _notice(view)
        assert len(table.rows) == 0
        await search("cart:maybe is:read")
        notice = _notice(view)
        assert "no cart state 'maybe'" in notice and "unknown value 'read' for is:" in notice
        # Fixed, the notice goes and the rows come back under the header.
        await search("seg:loyal")
        assert view.top == 1 and all(sim.shoppers[i].segment.name == "loyal" for i in table.rows)
        assert sim.shoppers[table.rows[0]].id in view.render_line(1).text

    _drive(app, body, (100, 30))
