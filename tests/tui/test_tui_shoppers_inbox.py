"""The shoppers table, the inbox pane and the message preview, driven by a Textual pilot.

A tiny harness app lays the widgets out around a Simulation of the default scenario played to day 2, and
feeds them events the way the main screen does (`pump()` hands over what the simulation emitted since the
last call). No sleeps and no wall clock: coalesced redraws are applied with `flush_updates()`.
"""

from __future__ import annotations

import asyncio
from functools import lru_cache
from types import SimpleNamespace

from textual.app import App, ComposeResult
from textual.containers import Horizontal

from shopsim.scenario.compiled import compile_scenario
from shopsim.validate import load_scenario
from shopsim.contract import events as E
from shopsim.contract.clock import DAY
from shopsim.simulation import Simulation
from shopsim.contract.events import Event
from shopsim.tui.messages import ExplainRequested, ShopperSelected
from shopsim.tui.widgets.inbox import InboxPane
from shopsim.tui.widgets.preview import MessagePreview
from shopsim.tui.widgets.shopper_list import ShopperList, ShopperSearch
from shopsim.tui.widgets.shopper_query import parse_query
from shopsim.tui.widgets.shoppers import ShopperTable

from helpers.tui import ARNAUDE, DEFAULT, SIZE


@lru_cache(maxsize=1)
def _model():
    return compile_scenario(load_scenario(DEFAULT))  # immutable: shared by every test


class Harness(App):
    CSS = "#shoppers { width: 76; } #inbox { width: 1fr; }"

    def __init__(self, days: float = 2) -> None:
        super().__init__()
        self.sim = Simulation(_model())
        self.pending: list[Event] = []
        self.sim.subscribe(self.pending.extend)
        if days:  # days=0: the run has not started when the widgets are made
            self.sim.run_until(int(days * DAY))
        self.posted: list = []
        self.animation_level = "none"  # no tab underline glides: the pilot would wait for them

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield ShopperTable(self.sim, id="shoppers")
            yield InboxPane(self.sim, id="inbox")

    def on_mount(self) -> None:
        self.pump()

    def pump(self) -> list[Event]:
        """What the driver and the main screen do each slice: flush what the user did (a message opened),
        then hand every widget every new event."""
        self.sim.flush()
        batch = list(self.pending)
        self.pending.clear()
        self.table.on_sim_events(batch)
        self.inbox.on_sim_events(batch)
        return batch

    @property
    def table(self) -> ShopperTable:
        return self.query_one(ShopperTable)

    @property
    def inbox(self) -> InboxPane:
        return self.query_one(InboxPane)

    def on_shopper_selected(self, message: ShopperSelected) -> None:
        self.posted.append(message)
        self.inbox.show_shopper(message.index)

    def on_explain_requested(self, message: ExplainRequested) -> None:
        self.posted.append(message)


def run(test, app: App | None = None, size=SIZE):
    """Run `test(app, pilot)` inside a headless app."""
    app = app or Harness()

    async def go():
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await test(app, pilot)

    asyncio.run(go())
    return app


async def select_shopper(app: Harness, pilot, index: int) -> None:
    """Put the cursor on a shopper and press enter on her row (typing is tested once: a key costs a frame)."""
    table = app.table
    table.set_filter()
    table.move_cursor(table.row_of(index))
    table.view.focus()
    await pilot.press("enter")


# --- shoppers -----------------------------------------------------------------------------------------

def test_cursor_moves_and_enter_or_click_posts_shopper_selected() -> None:
    async def test(app: Harness, pilot) -> None:
        table = app.table
        table.view.focus()
        await pilot.press("down", "down", "down")
        assert table.cursor == 3
        await pilot.press("up")
        assert table.cursor == 2
        await pilot.press("end")
        assert table.cursor == len(app.sim.shoppers) - 1
        await pilot.press("home", "pagedown")
        assert table.cursor == table.view.body_height
        await pilot.press("pageup", "down", "enter")
        await pilot.pause()
        assert [type(m) for m in app.posted] == [ShopperSelected] and app.posted[0].index == 1
        assert table.selected == 1 and app.inbox.shopper_index == 1
        # A click on the table's fourth line (header, then rows 0, 1, 2) selects shopper 2.
        await pilot.click(ShopperList, offset=(10, 3))
        await pilot.pause()
        assert app.posted[-1].index == 2 and table.cursor == 2
        # The selected row is marked; the header and footer frame the rows.
        width = table.view.scrollable_content_region.width
        assert table.row_strip(2, width, table.view).text.startswith("▶ " + app.sim.shoppers[2].name[:10])
        header = table.header_strip(width, table.view).text
        assert header.split()[0] == "Shopper" and "Cart" in header and "Unread" in header
        assert "2,000 shoppers (2,000 shown)" in table.footer_strip(width, table.view).text

    run(test)


def test_search_narrows_the_rows_and_enter_selects() -> None:
    async def test(app: Harness, pilot) -> None:
        table = app.table
        table.focus_search()
        await pilot.press(*"s00024")
        assert [app.sim.shoppers[i].id for i in table.rows] == [f"s00024{d}" for d in range(10)]
        await pilot.press("2")  # one more letter narrows: only s000242 is left
        assert list(table.rows) == [ARNAUDE]
        width = table.view.scrollable_content_region.width
        assert "2,000 shoppers (1 shown)" in table.footer_strip(width, table.view).text
        await pilot.press("enter")
        await pilot.pause()
        assert app.posted[-1].index == ARNAUDE and app.focused is table.view
        # By name (any case), by country, and with facets.
        name = app.sim.shoppers[ARNAUDE].name
        table.set_filter(name.upper())
        assert ARNAUDE in table.rows and table.query_one(ShopperSearch).value == name.upper()
        table.set_filter("fr")
        assert {i for i, sh in enumerate(app.sim.shoppers) if sh.country == "FR"} <= set(table.rows)
        table.set_filter("", segment="loyal")
        assert table.rows and all(app.sim.shoppers[i].segment.name == "loyal" for i in table.rows)
        table.apply_query("seg:loy is:unread")
        assert table.rows and all(table.unread_count(i) > 0 and app.sim.shoppers[i].segment.name == "loyal"
                                  for i in table.rows)
        table.apply_query("cart:aband")
        assert all(app.sim.shoppers[i].cart_state == "abandoned" for i in table.rows)
        here = table.current_shopper
        table.set_filter()
        assert len(table.rows) == len(app.sim.shoppers) and table.current_shopper == here  # the cursor stays on its shopper
        assert table.set_filter("no such shopper") == 0 and table.current_shopper is None
        table.set_filter()
        assert table.current_shopper == ARNAUDE  # … or goes back to the selected one

    run(test)


def test_parse_query() -> None:
    assert parse_query("ava seg:bar cart:ab is:unread country:fra", ["bargain_hunter", "loyal"],
                       [("FR", "France"), ("US", "United States")]) == {
        "text": "ava", "segment": "bargain_hunter", "only_unread": True, "cart_state": "abandoned",
        "country": frozenset({"FR"}), "problems": []}
    assert parse_query("  Paris  ") == {"text": "Paris", "segment": None, "only_unread": False,
                                        "cart_state": None, "country": None, "problems": []}


def test_unread_counts_match_the_inboxes() -> None:
    """Read from the state when the table is made mid-run (the events fed after it are not counted twice),
    and kept from events when it is made before the run starts."""
    async def test(app: Harness, pilot) -> None:
        if not app.sim.started:
            app.sim.run_until(2 * DAY)
            app.pump()
        unread = [sum(not m.read for m in app.sim.inbox(sh.index)) for sh in app.sim.shoppers]
        assert [app.table.unread_count(i) for i in range(len(unread))] == unread and sum(unread) > 50

    run(test)
    run(test, Harness(days=0))


# --- inbox --------------------------------------------------------------------------------------------

def test_inbox_shows_the_shoppers_messages_newest_first_and_tabs_filter_them() -> None:
    async def test(app: Harness, pilot) -> None:
        await select_shopper(app, pilot, ARNAUDE)
        inbox, sim = app.inbox, app.sim
        msgs = sim.inbox(ARNAUDE)
        assert [e.id for e in inbox.entries] == [m.id for m in sorted(reversed(msgs), key=lambda m: -m.t)]
        assert len(inbox.option_list.options) == len(msgs)
        assert inbox.preview.entry is inbox.entries[0]  # the newest is previewed
        inbox.option_list.focus()
        await pilot.press("right")  # All -> Email
        assert inbox.channel == "email"
        assert inbox.entries and all(e.channel == "email" for e in inbox.entries)
        assert len(inbox.entries) == len(sim.inbox(ARNAUDE, "email"))
        await pilot.press("right")
        assert inbox.channel == "push" and all(e.channel == "push" for e in inbox.entries)
        inbox.set_channel("ads")
        assert inbox.entries == [] and inbox.preview.has_class("-empty")
        await pilot.press("left", "left", "left", "left", "left")
        assert inbox.channel == "all"

    run(test)


def test_selecting_a_message_marks_it_read_and_the_unread_count_drops() -> None:
    async def test(app: Harness, pilot) -> None:
        await select_shopper(app, pilot, ARNAUDE)
        inbox, table = app.inbox, app.table
        before = table.unread_count(ARNAUDE)
        row = next(i for i, e in enumerate(inbox.entries) if not e.read)
        target = inbox.entries[row]
        inbox.option_list.focus()
        inbox.option_list.highlighted = row
        now = app.sim.now
        await pilot.press("enter")
        await pilot.pause()
        assert target.read and inbox.preview.entry is target and app.sim.now == now
        batch = app.pump()  # the next slice hands the `notification.opened` to every widget
        assert [(e.type, e.data["id"], e.data["source"]) for e in batch] == [(E.NOTIFICATION_OPENED, target.id,
                                                                             "user")]
        assert table.unread_count(ARNAUDE) == before - 1
        table.on_sim_events(batch)  # the same event twice changes nothing
        assert table.unread_count(ARNAUDE) == before - 1
        assert not str(inbox.option_list.get_option_at_index(row).prompt).startswith("●")
        await pilot.press("enter")  # opening it again: nothing new
        assert app.pump() == []

    run(test)


def test_w_and_the_why_button_post_explain_requested() -> None:
    async def test(app: Harness, pilot) -> None:
        await select_shopper(app, pilot, ARNAUDE)
        inbox = app.inbox
        inbox.option_list.focus()
        await pilot.press("down", "w")
        await pilot.pause()
        assert isinstance(app.posted[-1], ExplainRequested)
        assert app.posted[-1].notification_id == inbox.entries[1].id
        await pilot.click("#inbox-why")
        await pilot.pause()
        assert app.posted[-1].notification_id == inbox.entries[1].id and len(app.posted) == 3

    run(test)


def test_new_deliveries_appear_live_and_focus_message() -> None:
    async def test(app: Harness, pilot) -> None:
        await select_shopper(app, pilot, ARNAUDE)
        inbox, table, sim = app.inbox, app.table, app.sim
        shown = len(inbox.entries)
        sim.run_until(4 * DAY)
        batch = app.pump()
        mine = [e for e in batch if e.type == E.NOTIFICATION_DELIVERED and e.shopper == "s000242"]
        assert mine, "she gets more messages by day 4"
        assert len(inbox.entries) == shown  # coalesced: nothing moves until the next tick
        inbox.flush_updates()
        assert len(inbox.entries) == len(sim.inbox(ARNAUDE)) > shown
        assert inbox.entries[0].t >= mine[-1].t
        assert table.unread_count(ARNAUDE) == sum(not m.read for m in sim.inbox(ARNAUDE))
        # The narration jumps to one message: it is highlighted and previewed.
        first = sim.inbox(ARNAUDE)[0].id
        inbox.set_channel("push")
        assert inbox.focus_message(first) and inbox.channel == "all"
        assert inbox.highlighted_entry.id == first and inbox.preview.entry.id == first
        assert not inbox.focus_message("s000242-n999")

    run(test)


def test_ads_come_from_events_and_show_as_a_banner() -> None:
    async def test(app: Harness, pilot) -> None:
        await select_shopper(app, pilot, ARNAUDE)
        inbox, sim = app.inbox, app.sim
        seq, now = sim.emitted, sim.now
        ads = [Event(seq + 1, now, E.AD_IMPRESSION, "s000242",
                     {"ad": "s000242-a1", "reason": "cart", "ref": "s000242-c3", "products": ["p00001", "p00002"]}),
               Event(seq + 2, now, E.AD_CLICKED, "s000242", {"ad": "s000242-a1", "reason": "cart",
                                                             "ref": "s000242-c3"})]
        inbox.on_sim_events(ads)
        inbox.on_sim_events(ads)  # a batch seen twice is counted once
        inbox.set_channel("ads")
        assert [(a.id, a.clicked) for a in inbox.entries] == [("s000242-a1", True)]
        preview = inbox.preview
        assert preview.has_class("-ad")
        await pilot.pause()
        body = str(preview.query_one("#card-body").render())
        assert sim.scenario.products[0].name in body and sim.scenario.products[1].name in body

    run(test)


# --- at 100k shoppers ---------------------------------------------------------------------------------

class _Shopper:
    __slots__ = ("index", "id", "name", "city", "country", "tz", "segment", "cart", "cart_state", "notes")

    def __init__(self, i: int, segment) -> None:
        self.index, self.id, self.name = i, f"s{i + 1:06d}", f"Shopper {i:05d} Lastname"
        self.city, self.country, self.tz = ("Lyon", "FR", "Europe/Paris") if i % 2 else ("Austin", "US",
                                                                                          "America/Chicago")
        self.segment, self.cart, self.cart_state, self.notes = segment, None, None, None


def test_a_hundred_thousand_shoppers_render_and_filter_without_a_widget_per_row() -> None:
    seg = SimpleNamespace(name="casual")
    shoppers = [_Shopper(i, seg) for i in range(100_000)]
    sim = SimpleNamespace(shoppers=shoppers, scenario=SimpleNamespace(currency="USD"), emitted=0, started=False)

    class Big(App):
        def compose(self) -> ComposeResult:
            yield ShopperTable(sim)

    async def test(app: App, pilot) -> None:
        table = app.query_one(ShopperTable)
        view = table.view
        assert len(view.children) == 0 and len(table.query("*")) == 2  # the list and the search box only
        assert isinstance(table.query_one(ShopperSearch), ShopperSearch)
        assert view.virtual_size.height == 100_002  # rows + header + footer
        view.focus()
        await pilot.press("end")
        await pilot.pause()
        last = view.scrollable_content_region.height - 2  # the last body line shows the cursor row
        assert round(view.scroll_y) == 100_000 - view.body_height
        assert "Shopper 99999 Lastname" in view.render_line(last).text
        assert "100,000 shoppers (100,000 shown)" in view.render_line(last + 1).text
        assert table.set_filter("s09999") == 10  # s099990 … s099999
        assert table.set_filter("lyon") == 50_000
        assert table.set_filter("lyon 99") == 0 and view.render_line(1).text.strip() == "No shopper matches this search."
        table.set_filter("shopper 12345")
        assert [shoppers[i].id for i in table.rows] == ["s012346"]
        assert "Shopper 12345" in view.render_line(1).text
        assert len(table.query("*")) == 2

    run(test, Big(), size=(120, 30))


# --- snapshots ----------------------------------------------------------------------------------------

def _selected(channel: str):
    async def before(pilot) -> None:
        app = pilot.app
        await pilot.pause()
        await select_shopper(app, pilot, ARNAUDE)
        app.inbox.set_channel(channel)
        app.inbox.option_list.focus()
        await pilot.pause()

    return before


def test_snapshot_email_preview(snap_compare) -> None:
    assert snap_compare(Harness(), terminal_size=SIZE, run_before=_selected("email"))


def test_snapshot_push_preview(snap_compare) -> None:
    assert snap_compare(Harness(), terminal_size=SIZE, run_before=_selected("push"))


def test_preview_classes_follow_the_channel() -> None:
    async def test(app: Harness, pilot) -> None:
        await select_shopper(app, pilot, ARNAUDE)
        preview = app.query_one(MessagePreview)
        kinds = {}
        for m in app.sim.inbox(ARNAUDE):
            preview.show(m)
            kinds[m.channel] = next(c for c in ("-email", "-push", "-sms", "-in-app") if preview.has_class(c))
        assert kinds == {"email": "-email", "push": "-push", "in_app": "-in-app"}
        preview.clear("nothing")
        assert preview.has_class("-empty") and preview.entry is None

    run(test)


def test_the_inbox_and_the_preview_ignore_updates_while_their_children_are_gone() -> None:
    """A busy machine can deliver an update to a pane whose screen is being removed (its children already
    gone) or not yet composed: it must wait, not crash the app with NoMatches."""
    async def test(app: Harness, pilot) -> None:
        await select_shopper(app, pilot, ARNAUDE)
        inbox = app.inbox
        preview = inbox.preview
        await preview.remove_children()
        preview.show(None)                    # nothing to draw on: no error
        await inbox.remove_children()
        inbox.show_shopper(ARNAUDE - 1)       # a reload without its list: no error, done at a later tick
        assert inbox.highlighted_entry is None and inbox._dirty

    run(test)


def test_the_main_screen_ignores_batches_and_keys_while_its_panes_are_gone(tmp_path) -> None:
    """The main screen being removed (a run stopped by a template, another scenario chosen) can still get a
    batch, a narration step or a transport refresh on a busy machine: it must not crash the app."""
    from shopsim.tui.app import make_app
    from shopsim.tui.messages import SimAdvanced
    from shopsim.tui.screens.main import MainScreen

    path = DEFAULT.parent / "opt_out.yaml"

    async def go():
        app = make_app(path, None)
        async with app.run_test(size=(100, 30)) as pilot:
            for _ in range(400):  # a bound on waiting for the build, not a timing assertion
                if isinstance(app.screen, MainScreen) and app.screen is app.main_screen:  # the run's, not a preview
                    break
                await pilot.pause(0.05)
            main = app.screen
            await main.remove_children()
            main.on_sim_advanced(SimAdvanced([], app.sim.now, False))
            main.select(0)
            main.refresh_transport()
            return main

    assert isinstance(asyncio.run(go()), MainScreen)
