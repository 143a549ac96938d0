"""The terminal app's settings pane and "why?" screen, driven by Textual's pilot over a live Simulation.

The harness plays the part of the main screen: it runs the engine with `run_until` (virtual time only, no
sleeps) and hands every new batch of events to the pane, as the main screen does after each slice."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from textual.widgets import Checkbox, Input, Select, Static
from textual.widgets.select import InvalidSelectValueError

from shopsim.validate import load_scenario_text
from shopsim.contract.units import parse_duration as h
from shopsim.contract import events as E
from shopsim.simulation import Simulation
from shopsim.contract.events import Event
from shopsim.tui.screens.explain import ExplainScreen
from shopsim.tui.widgets.settings import CRITICAL_TIP

from helpers.scenarios import berlin_promotions
from helpers.tui import SIZE, pilot_test
from helpers.tui_harnesses import SettingsHarness

# Three Berlin shoppers who can receive everything; a promotion by push and email every four hours from
# 02:00 UTC. s000002 has quiet hours 22:00-08:00, so her night pushes wait for the morning. Nobody opens,
# clicks or unsubscribes by chance (engagement off), so every settings change is the test's own.
SCENARIO = berlin_promotions(
    "tui_settings", "2d", "all", "push, email", range(2, 48, 4),
    extra_events='  - {at: 1m, shopper: s000002, settings: {quiet_hours: {start: "22:00", end: "08:00"}}}\n')


def make_sim() -> Simulation:
    return Simulation(load_scenario_text(SCENARIO))


def outcomes(events: list[Event], shopper: str, channel: str, category: str = "promotions") -> list[tuple]:
    """(requested at, final outcome, reason) of each notification of one shopper on one channel."""
    asked: dict[str, int] = {}
    final: dict[str, tuple] = {}
    for ev in events:
        if ev.shopper != shopper:
            continue
        d = ev.data
        if ev.type == E.NOTIFICATION_REQUESTED and d["channel"] == channel and d["category"] == category:
            asked[d["id"]] = ev.t
        elif ev.type in E.NOTIFICATION_OUTCOMES and d["id"] in asked:
            final[d["id"]] = (ev.type.split(".")[1], d.get("reason"))
    return [(t, *final.get(nid, ("waiting", None))) for nid, t in asked.items()]


# --- the settings pane ----------------------------------------------------------------------------------

@pilot_test
async def test_pane_shows_the_shoppers_settings_and_locks_security_rows():
    sim = make_sim()
    app = SettingsHarness(sim)
    async with app.run_test(size=SIZE) as pilot:
        app.advance(h("1h"))
        pane = app.pane
        assert sim.shoppers[0].name in str(pane.query_one("#settings-title", Static).render())
        assert pane.query_one("#qh-on", Checkbox).value is False
        assert pane.query_one("#cat-promotions-push", Checkbox).value is True
        assert pane.query_one("#cat-promotions-sms", Checkbox).value is False
        assert pane.query_one("#freq-promotions", Select).value == "realtime"
        for ch in ("email", "push", "sms", "in_app"):
            cb = pane.query_one(f"#cat-account_security-{ch}", Checkbox)
            assert cb.disabled and cb.value and cb.tooltip == CRITICAL_TIP
        assert not pane.query("#freq-account_security")
        # Digests are for marketing: a transactional row offers realtime or off only.
        with pytest.raises(InvalidSelectValueError):
            pane.query_one("#freq-shipping", Select).value = "daily"
        with pane.prevent(Select.Changed):
            pane.query_one("#freq-flash_sales", Select).value = "weekly"  # offered, but not applied
        pane.sync()
        assert pane.query_one("#freq-flash_sales", Select).value == "realtime"

        pane.show_shopper(1)
        await pilot.pause()
        assert sim.shoppers[1].name in str(pane.query_one("#settings-title", Static).render())
        assert pane.query_one("#qh-on", Checkbox).value is True
        assert (pane.query_one("#qh-start", Input).value, pane.query_one("#qh-end", Input).value) == (
            "22:00", "08:00")
        assert [ev.data["source"] for ev in app.changes()] == ["scenario"]  # showing changes nothing


@pilot_test
async def test_a_toggle_applies_one_minimal_user_change():
    sim = make_sim()
    app = SettingsHarness(sim)
    async with app.run_test(size=SIZE) as pilot:
        app.advance(h("1h"))
        before = len(app.changes())
        await pilot.click("#cat-promotions-push")
        await pilot.pause()
        new = app.changes()[before:]
        assert len(new) == 1
        ev = new[0]
        assert ev.shopper == "s000001" and ev.t == h("1h")
        assert ev.data["source"] == "user"
        assert ev.data["change"] == {"categories": {"promotions": {"push": False}}}
        assert sim.shoppers[0].settings["categories"]["promotions"]["push"] is False
        # The change comes back as an event: the pane redraws without posting it again.
        app.pane.on_sim_events(new)
        await pilot.pause()
        assert len(app.changes()) == before + 1
        assert app.pane.query_one("#cat-promotions-push", Checkbox).value is False

        # A channel master switch and a consent flag, each one change of its own.
        await pilot.click("#chan-sms")
        await pilot.click("#flag-personalization")
        await pilot.pause()
        assert [ev.data["change"] for ev in app.changes()[before + 1:]] == [
            {"channels": {"sms": False}}, {"personalization": False}]


@pilot_test
async def test_push_switched_off_suppresses_later_promotions_only():
    sim = make_sim()
    app = SettingsHarness(sim)
    async with app.run_test(size=SIZE) as pilot:
        app.advance(h("12h"))  # promotions at 02:00, 06:00, 10:00 UTC already out
        await pilot.click("#cat-promotions-push")
        await pilot.pause()
        app.advance(h("1d"))
        pushes = outcomes(app.events, "s000001", "push")
        before = [(o, r) for t, o, r in pushes if t < h("12h")]
        after = [(o, r) for t, o, r in pushes if t > h("12h")]
        assert before == [("delivered", None)] * 3
        assert after == [("suppressed", "category_channel_off")] * 3  # 14:00, 18:00, 22:00
        # Email was not touched, and the other shoppers still get their pushes.
        assert {o for _, o, _ in outcomes(app.events, "s000001", "email")} == {"delivered"}
        assert {o for _, o, _ in outcomes(app.events, "s000003", "push")} == {"delivered"}
        # The last suppressed push names the rule.
        last = [ev for ev in app.events if ev.type == E.NOTIFICATION_SUPPRESSED and ev.shopper == "s000001"][-1]
        assert last.data["rule"] == "categories.promotions.push"


@pilot_test
async def test_frequency_daily_batches_later_promotions_into_a_digest():
    sim = make_sim()
    app = SettingsHarness(sim)
    async with app.run_test(size=SIZE) as pilot:
        app.advance(h("12h"))
        app.pane.query_one("#freq-promotions", Select).value = "daily"  # as picking it from the list does
        await pilot.pause()
        assert app.changes()[-1].data["change"] == {"categories": {"promotions": {"frequency": "daily"}}}
        app.advance(h("1d"))
        for channel in ("push", "email"):
            pushes = outcomes(app.events, "s000001", channel)
            assert {o for t, o, _ in pushes if t < h("12h")} == {"delivered"}
            assert [o for t, o, _ in pushes if t > h("12h")] == ["digested"] * 3
        assert app.pane.query_one("#freq-promotions", Select).value == "daily"


@pilot_test
async def test_quiet_hours_edits_apply_and_a_bad_time_is_refused():
    sim = make_sim()
    app = SettingsHarness(sim, index=1)  # s000002 has quiet hours 22:00-08:00
    async with app.run_test(size=SIZE) as pilot:
        app.advance(h("1h"))
        start = app.pane.query_one("#qh-start", Input)
        before = len(app.changes())

        start.focus()
        start.value = "25:99"
        await pilot.press("enter")
        await pilot.pause()
        assert len(app.changes()) == before  # nothing reached the simulation
        assert app.notes and app.notes[-1][1] == "error" and "25:99" in app.notes[-1][0]
        assert start.value == "22:00"  # reverted
        assert sim.shoppers[1].settings["quiet_hours"] == {"start": "22:00", "end": "08:00"}

        start.value = "23:30"
        await pilot.press("enter")
        await pilot.pause()
        new = app.changes()[before:]
        assert [ev.data["change"] for ev in new] == [{"quiet_hours": {"start": "23:30", "end": "08:00"}}]
        assert new[0].data["source"] == "user"

        await pilot.click("#qh-on")  # off: a null window
        await pilot.pause()
        assert app.changes()[-1].data["change"] == {"quiet_hours": None}
        assert sim.shoppers[1].settings["quiet_hours"] is None
        await pilot.click("#qh-on")  # on again: the times shown come back
        await pilot.pause()
        assert sim.shoppers[1].settings["quiet_hours"] == {"start": "23:30", "end": "08:00"}
        assert len(app.changes()) == before + 3


@pilot_test
async def test_a_change_made_by_the_simulation_redraws_the_pane_without_echo():
    sim = make_sim()
    app = SettingsHarness(sim)
    async with app.run_test(size=SIZE) as pilot:
        app.advance(h("3h"))
        before = len(app.changes())
        # What an unsubscribe from a promotions push does inside the engine (shopsim/engage/engagement.py).
        sim.apply_settings_change("s000001", {"categories": {"promotions": {"push": False}},
                                              "marketing_consent": False}, source="unsubscribe")
        app.advance(h("4h"))
        await pilot.pause()
        pane = app.pane
        assert pane.query_one("#cat-promotions-push", Checkbox).value is False
        assert pane.query_one("#flag-marketing_consent", Checkbox).value is False
        changes = app.changes()[before:]
        assert [ev.data["source"] for ev in changes] == ["unsubscribe"]  # the redraw posted nothing


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light"])
def test_a_switch_shows_on_or_off_as_a_glyph_focused_or_not(theme: str):
    """✓ or ✗ in the box, so the state reads without colour; the focus highlight (a background) keeps the
    glyph, in the glyph's own contrast (it used to paint an off box's hidden X over it, so off looked on)."""
    from helpers.contrast import cells, weak_cells

    def box(cb: Checkbox) -> str:
        row = cells(app)[cb.region.y]
        return "".join(ch for ch, _ in row[cb.region.x:cb.region.x + 3]).strip("▐▌ ")

    async def body() -> None:
        async with app.run_test(size=SIZE) as pilot:
            app.theme = theme
            app.advance(h("1h"))
            await pilot.pause()
            pane = app.pane
            push, sms = pane.query_one("#cat-promotions-push", Checkbox), pane.query_one("#cat-promotions-sms", Checkbox)
            assert (push.value, sms.value) == (True, False)
            assert (box(push), box(sms)) == ("✓", "✗")
            await pilot.click(push)  # focused, and off
            await pilot.pause()
            assert app.focused is push and push.value is False
            assert box(push) == "✗" and not weak_cells(app, push.region, text=4.5)
            await pilot.press("space")  # on again, still focused
            await pilot.pause()
            assert push.value is True and box(push) == "✓" and not weak_cells(app, push.region, text=4.5)
            pane.query_one("#flag-marketing_consent").focus()
            await pilot.pause()
            assert box(push) == "✓" and box(sms) == "✗"
            for cb in (push, sms):  # unfocused: the glyph reads too (the dimmed ones are dim on purpose)
                assert not weak_cells(app, cb.region, text=3.5)
            assert "✓ on · ✗ off" in str(pane.query_one("#settings-legend", Static).render())

    app = SettingsHarness(make_sim())
    asyncio.run(body())


# --- the explain screen ---------------------------------------------------------------------------------

def _ids(events: list[Event], type_: str, shopper: str, **match: Any) -> list[str]:
    return [ev.data["id"] for ev in events if ev.type == type_ and ev.shopper == shopper
            and all(ev.data.get(k) == v for k, v in match.items())]


def _screen_text(screen: ExplainScreen) -> str:
    return "\n".join(str(w.render()) for w in screen.query(Static))


@pilot_test
async def test_explain_screen_tells_delivered_suppressed_and_deferred():
    sim = make_sim()
    app = SettingsHarness(sim)
    async with app.run_test(size=SIZE) as pilot:
        app.advance(h("12h"))
        sim.apply_settings_change("s000001", {"channels": {"push": False}})
        app.advance(h("23h"))  # s000002's 22:00 UTC push waits for 08:00 Berlin time
        delivered = _ids(app.events, E.NOTIFICATION_DELIVERED, "s000003", channel="push")[0]
        suppressed = _ids(app.events, E.NOTIFICATION_SUPPRESSED, "s000001", reason="channel_off")[0]
        deferred = _ids(app.events, E.NOTIFICATION_DEFERRED, "s000002")[-1]
        for nid, outcome in ((delivered, "delivered"), (suppressed, "suppressed"), (deferred, "deferred")):
            screen = ExplainScreen(sim, nid)
            await app.push_screen(screen)
            await pilot.pause()
            why = sim.explain(nid)
            assert why["outcome"] == outcome and screen.explanation == why
            text = _screen_text(screen)
            assert why["summary"] in text and outcome.upper() in text
            assert nid in str(screen.query_one("#explain-box").border_title)
            await pilot.press("escape" if outcome != "suppressed" else "q")
            await pilot.pause()
            assert app.screen is not screen
        assert "deferred until 08:00 local" in sim.explain(deferred)["summary"]


@pilot_test
async def test_explain_screen_follows_a_deferred_push_to_its_delivery():
    sim = make_sim()
    app = SettingsHarness(sim)
    async with app.run_test(size=SIZE) as pilot:
        app.advance(h("23h"))
        nid = _ids(app.events, E.NOTIFICATION_DEFERRED, "s000002")[-1]
        screen = ExplainScreen(sim, nid)
        await app.push_screen(screen)
        await pilot.pause()
        assert "Pass 2" not in _screen_text(screen)
        n = len(app.events)
        sim.run_until(h("1d8h"))
        screen.on_sim_events(app.events[n:])
        await pilot.pause()
        text = _screen_text(screen)
        assert screen.explanation["outcome"] == "delivered"
        assert "Pass 2" in text and "delivered at 08:00 local" in text


@pilot_test
async def test_explain_screen_unknown_id_is_a_friendly_message():
    sim = make_sim()
    app = SettingsHarness(sim)
    async with app.run_test(size=SIZE) as pilot:
        app.advance(h("1h"))
        screen = ExplainScreen(sim, "s000001-n999")
        await app.push_screen(screen)
        await pilot.pause()
        assert screen.explanation is None
        text = _screen_text(screen)
        assert "Nothing to explain" in text and "s000001-n999" in text and "Traceback" not in text
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is not screen


# --- snapshots ------------------------------------------------------------------------------------------

def test_snapshot_settings_pane(snap_compare):
    sim = make_sim()
    sim.run_until(h("12h"))
    sim.apply_settings_change("s000002", {"categories": {"promotions": {"push": False},
                                                         "flash_sales": {"frequency": "daily"}},
                                          "channels": {"sms": False}, "digest": {"time": "18:30"}})
    app = SettingsHarness(sim, index=1)
    assert snap_compare(app, terminal_size=SIZE)


def test_snapshot_explain_deferred_push(snap_compare):
    sim = make_sim()
    sim.run_until(h("1d8h"))
    app = SettingsHarness(sim, index=1)

    async def open_explain(pilot) -> None:
        await pilot.app.push_screen(ExplainScreen(sim, "s000002-n11"))  # 22:00 UTC, held by quiet hours
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=open_explain)
