"""The inbox pane and the message preview as a reader meets them: cards that read in the dark and the light
theme, prices in the shopper's own format, an email's body in view on a small terminal, plain counts, and the
main screen's keys passing through the inbox. Driven by Textual's pilot, no sleeps."""

from __future__ import annotations

import asyncio
import re
import time
from functools import lru_cache

import pytest
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static, TabbedContent

from shopsim.notify.filters import format_money
from shopsim.notify.state import Message
from shopsim.scenario.compiled import compile_scenario
from shopsim.validate import load_scenario
from shopsim.contract.clock import DAY
from shopsim.simulation import Simulation
from shopsim.tui.widgets.inbox import InboxPane
from shopsim.notify.filters import format_cents
from shopsim.tui.widgets.preview import AdImpression, MessagePreview, product
from helpers.contrast import text_in, weak_cells
from helpers.tui import ARNAUDE, DEFAULT

THEMES = ("textual-dark", "textual-light")


@lru_cache(maxsize=1)
def _model():
    return compile_scenario(load_scenario(DEFAULT))


class InboxApp(App):
    """One InboxPane over the default scenario played to day 2, `width` × `height` cells on its screen."""

    def __init__(self, width: int = 90, height: int = 40) -> None:
        super().__init__()
        self.sim = Simulation(_model())
        self.sim.run_until(2 * DAY)
        self.animation_level = "none"
        self.pane_size = (width, height)

    def compose(self) -> ComposeResult:
        yield InboxPane(self.sim, id="inbox")

    def on_mount(self) -> None:
        self.inbox.styles.width, self.inbox.styles.height = self.pane_size
        self.inbox.show_shopper(ARNAUDE)

    @property
    def inbox(self) -> InboxPane:
        return self.query_one(InboxPane)

    @property
    def preview(self) -> MessagePreview:
        return self.query_one(MessagePreview)


def run(test, app: App | None = None, size=(120, 48)) -> None:
    async def go() -> None:
        the_app = app or InboxApp()
        async with the_app.run_test(size=size) as pilot:
            await pilot.pause()
            await test(the_app, pilot)

    asyncio.run(go())


async def card_text(app: InboxApp, pilot, entry, shown: str) -> str:
    """The card's text on screen once the preview shows `entry` and its card says `shown` (a busy machine
    may take more than one frame). The entry is shown again each frame: the pane's own refresh tick puts its
    highlighted row back in the preview, and on a loaded machine that tick can land after `show`."""
    deadline = time.monotonic() + 30  # a bound on a hang, far above what a frame takes even under load
    while True:
        app.preview.show(entry)
        await pilot.pause()
        # `shown` may be on another entry's card too (two steps of one flow): the card read must be this
        # entry's, drawn in a frame after it was shown, with no row put back by the refresh tick since.
        text = ""
        if app.preview.entry is entry:
            await pilot.pause()
            text = "\n".join(text_in(app, app.preview.query_one("#card").region))
            if shown in text and app.preview.entry is entry:
                return text
        if time.monotonic() > deadline:
            raise AssertionError(f"the card never showed {shown!r}: {text}")


def sample_entries(sim: Simulation) -> list:
    """One of each card: her email, push and in-app messages, an SMS (the default scenario sends her none by
    day 2) and a retargeting ad of two products."""
    msgs = sim.inbox(ARNAUDE)
    by_channel = {m.channel: m for m in msgs}
    sid = sim.shoppers[ARNAUDE].id
    sms = Message(f"{sid}-n900", sid, msgs[-1].t, "sms", "shipping", "shipment", None,
                  "SHOP.EXAMPLE: your parcel is on its way.", "https://shop.example/track")
    ad = AdImpression("ad-test", sid, msgs[-1].t, "cart", f"{sid}-c1", ("p00001", "p00002"))
    return [by_channel["email"], by_channel["push"], by_channel["in_app"], sms, ad]


# --- 2. contrast ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("theme", THEMES)
def test_every_card_reads_in_the_dark_and_the_light_theme(theme: str) -> None:
    """Frames at least 3:1 against the card (WCAG's ratio for graphics), the body 4.5:1 (AA for text), the
    header, titles and notes (some muted on purpose) 3.5:1; the inbox's unread count 4.5:1."""
    async def test(app: InboxApp, pilot) -> None:
        app.theme = theme
        await pilot.pause()
        preview = app.preview
        for entry in sample_entries(app.sim):
            preview.show(entry)
            await pilot.pause()
            card = preview.query_one("#card")
            body = preview.query_one("#card-body").region
            weak = weak_cells(app, card.region, text=3.5, strict=body)
            assert not weak, (entry.channel, weak[:8])
        title = app.inbox.query_one("#inbox-title").region
        assert "unread" in text_in(app, title)[0]
        assert not weak_cells(app, title, text=4.5)
        # The list, its highlighted row too (Textual's own cursor, white on blue, is 3.8:1).
        rows = app.inbox.option_list.region
        assert not weak_cells(app, rows, text=3.5)

    run(test)


# --- 3. money ---------------------------------------------------------------------------------------------

def test_prices_are_written_the_shoppers_way_as_her_messages_write_them() -> None:
    async def test(app: InboxApp, pilot) -> None:
        sim, preview = app.sim, app.preview
        email = next(m for m in sim.inbox(ARNAUDE) if m.channel == "email" and "$US" in m.body)
        assert re.search(r"\d+,\d\d\xa0\$US", email.body)  # her template wrote fr_FR prices
        ad = sample_entries(sim)[-1]
        shown = await card_text(app, pilot, ad, product(sim, ad.products[-1]).name)
        for pid in ad.products:
            p = product(sim, pid)
            price = format_money(sim.prices.get(p.index, p.price_cents) / 100, "USD", "fr_FR")
            assert re.fullmatch(r"\d+,\d\d\xa0\$US", price) and price in shown, (price, shown)

        # Someone in New York gets the same product in her own format.
        yankee = next(sh for sh in sim.shoppers if sh.locale == "en_US")
        us_ad = AdImpression("ad-us", yankee.id, ad.t, "cart", "c", ad.products[:1])
        shown = await card_text(app, pilot, us_ad, "ad ad-us")
        p = product(sim, ad.products[0])
        assert format_cents(sim.prices.get(p.index, p.price_cents), "USD", "en_US") in shown
        assert re.search(r"\$\d+\.\d\d", shown)

    run(test)


def test_format_cents_is_babels_currency_format() -> None:
    assert format_cents(1390, "USD") == "$13.90"
    assert format_cents(123456, "EUR", "de_DE") == "1.234,56\xa0€"
    assert format_cents(1390, "USD", "fr_FR") == "13,90\xa0$US"
    assert format_cents(500, "JPY", "ja_JP") == "￥5"
    assert format_cents(1390, "") == "13.90"


# --- 4. the email body in view ------------------------------------------------------------------------------

def _email(app: InboxApp) -> Message:
    return next(m for m in app.sim.inbox(ARNAUDE) if m.channel == "email" and m.body.startswith("Hi Arnaude"))


def test_a_low_preview_folds_the_email_header_and_shows_the_body() -> None:
    """Ten rows for the preview: the header takes two lines, not five, and the body is in view."""
    async def test(app: InboxApp, pilot) -> None:
        email = _email(app)
        app.inbox.focus_message(email.id)
        await pilot.pause()
        preview = app.preview
        assert preview.size.height <= 12 and preview.folded
        shown = text_in(app, preview.region)
        text = "\n".join(shown)
        assert "From:" not in text and "Subject: " + email.title in text and "→ Arnaude Devaux" in text
        body = [line for line in email.body.split("\n") if line.strip()]
        assert sum(line[:30] in text for line in body) >= 3, shown

    run(test, InboxApp(width=80, height=18), size=(80, 24))


def test_a_tall_preview_keeps_the_full_header_and_folds_when_the_pane_shrinks() -> None:
    async def test(app: InboxApp, pilot) -> None:
        email = _email(app)
        app.inbox.focus_message(email.id)
        await pilot.pause()
        preview = app.preview
        assert not preview.folded
        text = "\n".join(text_in(app, preview.region))
        for label in ("From:", "To:", "Date:", "Subject:"):
            assert label in text
        assert "Hi Arnaude," in text
        app.inbox.styles.height = 18
        await pilot.pause()
        assert preview.folded and "From:" not in "\n".join(text_in(app, preview.region))
        app.inbox.styles.height = 40
        await pilot.pause()
        assert not preview.folded

    run(test)


def test_at_100x30_the_main_screen_shows_the_selected_emails_body() -> None:
    from helpers.tui import flush_panes, new_app, open_main, quiet_narration, settle, wait_until
    from shopsim.tui.messages import ShopperSelected

    async def go() -> None:
        app = new_app(DEFAULT)
        async with app.run_test(size=(100, 30)) as pilot:
            main = await open_main(app, pilot)
            quiet_narration(app)
            await pilot.press("d")
            await settle(app, pilot)
            main.post_message(ShopperSelected(ARNAUDE))
            await wait_until(pilot, lambda: main.selected == ARNAUDE, "her to be selected")
            flush_panes(main)
            inbox = main.query_one(InboxPane)
            email = next(m for m in app.sim.inbox(ARNAUDE) if m.channel == "email"
                         and m.body.startswith("Hi Arnaude"))
            inbox.focus_message(email.id)
            await pilot.pause()
            preview = inbox.preview
            text = "\n".join(text_in(app, preview.region))
            body = [line for line in email.body.split("\n") if line.strip()]
            assert sum(line[:30] in text for line in body) >= 3, text

    asyncio.run(go())


# --- 6. counts ----------------------------------------------------------------------------------------------

def test_counts_agree_with_their_nouns() -> None:
    async def test(app: InboxApp, pilot) -> None:
        sim, inbox = app.sim, app.inbox
        one = next(i for i, sh in enumerate(sim.shoppers) if sh.notes and len(sim.inbox(i)) == 1)
        inbox.show_shopper(one)
        await pilot.pause()
        title = str(inbox.query_one("#inbox-title", Static).render())
        assert " 1 message, " in title and "messages" not in title
        inbox.show_shopper(ARNAUDE)
        await pilot.pause()
        assert f" {len(sim.inbox(ARNAUDE))} messages, " in str(inbox.query_one("#inbox-title", Static).render())

    run(test)


# --- 7. the main screen's keys --------------------------------------------------------------------------------

class KeysScreen(Screen):
    """A screen binding `e` and `i` as the main screen does."""

    BINDINGS = [Binding("e", "press('e')"), Binding("i", "press('i')")]

    def __init__(self, sim: Simulation) -> None:
        super().__init__()
        self.sim, self.pressed = sim, []

    def compose(self) -> ComposeResult:
        yield InboxPane(self.sim, id="inbox")

    def action_press(self, key: str) -> None:
        self.pressed.append(key)


def test_the_inbox_lets_e_and_i_through_to_the_screen() -> None:
    """Whatever in the inbox has the focus (the list, the preview), `e` and `i` reach the screen's bindings:
    the main screen's Settings and Inbox keys."""
    class KeysApp(App):
        def __init__(self) -> None:
            super().__init__()
            self.sim = Simulation(_model())
            self.sim.run_until(2 * DAY)

        def on_mount(self) -> None:
            self.push_screen(KeysScreen(self.sim))

    async def test(app: App, pilot) -> None:
        screen = app.screen
        inbox = screen.query_one(InboxPane)
        inbox.show_shopper(ARNAUDE)
        await pilot.pause()
        await pilot.click("#inbox-list")
        assert app.focused is inbox.option_list
        await pilot.press("e", "down", "i")
        assert screen.pressed == ["e", "i"]
        inbox.preview.focus()
        await pilot.press("e")
        assert screen.pressed == ["e", "i", "e"]

    run(test, KeysApp())


def test_e_from_the_inbox_list_opens_the_settings_on_the_main_screen() -> None:
    from helpers.tui import new_app, open_main

    async def go() -> None:
        app = new_app(DEFAULT)
        async with app.run_test(size=(160, 48)) as pilot:
            main = await open_main(app, pilot)
            await pilot.click("#inbox-list")
            assert app.focused is main.query_one(InboxPane).option_list
            await pilot.press("e")
            await pilot.pause()
            assert main.query_one("#shopper-tabs", TabbedContent).active == "tab-settings"

    asyncio.run(go())


def test_a_flow_message_shows_its_flow_with_its_step_picked_out() -> None:
    async def test(app: InboxApp, pilot) -> None:
        sim = app.sim
        flow_msgs = [m for sh in sim.shoppers for m in sim.inbox(sh.index) if m.category == "cart_reminders"]
        first = next(m for m in flow_msgs if sim.explain(m.id)["source"] == "flow:cart_recovery:1")
        text = await card_text(app, pilot, first, "flow cart_recovery:")
        assert "[email 1h]" in text and "push 23h" in text and "[push 23h]" not in text
        other = next((m for m in sim.inbox(ARNAUDE) if sim.explain(m.id)["source"] == "order"), None) \
            or next(m for m in sim.inbox(ARNAUDE) if not sim.explain(m.id)["source"].startswith("flow:"))
        shown = await card_text(app, pilot, other, other.title or other.body.splitlines()[0])
        assert "flow " not in shown  # only flow messages say which flow they belong to

    run(test)


def test_flow_steps_reads_a_flow_source() -> None:
    from shopsim.tui.flow_line import flow_steps

    flows = _model().model.flows
    assert flow_steps(flows, "flow:cart_recovery:2") == ("cart_recovery", ["email 1h", "push 23h", "email 48h"], 1)
    for source in (None, "campaign:x", "flow:nosuch:1", "flow:cart_recovery:9", "flow:cart_recovery:x"):
        assert flow_steps(flows, source) is None
