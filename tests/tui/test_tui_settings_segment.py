"""A settings change for a whole segment (or everyone): the engine's `apply_settings_change_many` and the
settings pane's "Apply to" choice, driven by Textual's pilot (keys and clicks)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from textual.widgets import Checkbox, Select, Static

import shopsim.sim.settings_change as engine_module
from shopsim.contract import events as E
from shopsim.simulation import Simulation
from shopsim.contract.events import Event
from shopsim.contract.units import parse_duration as h

from helpers.paths import ROOT
from helpers.scenarios import tiny_scenario
from helpers.tui import SIZE, pilot_test
from helpers.tui_harnesses import SettingsHarness


def make_sim(size: int = 60) -> Simulation:
    return Simulation(tiny_scenario(size=size, duration="2d"))


def members(sim: Simulation, segment: str) -> list[int]:
    return [sh.index for sh in sim.shoppers if sh.segment.name == segment]


def recorded(sim: Simulation) -> list[Event]:
    out: list[Event] = []
    sim.subscribe(out.extend)
    return out


# --- the engine ---------------------------------------------------------------------------------------

def test_a_change_for_many_reaches_exactly_them_in_shopper_order_and_is_logged_like_one():
    sim = make_sim()
    events = recorded(sim)
    sim.run_until(h("3h"))
    bargain = members(sim, "bargain")
    assert 0 < len(bargain) < len(sim.shoppers)
    n = len(events)
    out = sim.apply_settings_change_many(reversed(bargain), {"channels": {"sms": False}})
    sim.flush()
    changes = [ev for ev in events[n:] if ev.type == E.SETTINGS_CHANGED]
    assert changes == out
    assert [ev.shopper for ev in changes] == [sim.shoppers[i].id for i in bargain]  # by index, whatever given
    for ev in changes:
        assert ev.t == h("3h")
        assert ev.data == {"settings": sim.shopper(ev.shopper).settings, "source": "user",
                           "change": {"channels": {"sms": False}}}
    for sh in sim.shoppers:
        assert sh.settings["channels"]["sms"] is (sh.segment.name != "bargain")

    # The single-shopper call logs the same shape.
    one = sim.apply_settings_change(bargain[0], {"channels": {"sms": True}})
    assert one.data.keys() == changes[0].data.keys()


def test_a_change_for_many_is_all_or_nothing():
    sim = make_sim()
    sim.run_until(h("1h"))
    before = [sh.settings for sh in sim.shoppers]
    with pytest.raises(ValidationError):
        sim.apply_settings_change_many(range(10), {"channels": {"fax": True}})
    with pytest.raises(KeyError):
        sim.apply_settings_change_many([0, 1, "s999999"], {"channels": {"sms": False}})
    assert [sh.settings for sh in sim.shoppers] == before
    assert sim.apply_settings_change_many([], {"channels": {"sms": False}}) == []
    sim.run()
    with pytest.raises(RuntimeError):
        sim.apply_settings_change_many([0], {"channels": {"sms": False}})


def test_a_change_for_many_merges_each_distinct_settings_once(monkeypatch):
    """The cost is bounded by the distinct settings dicts, not the shoppers: shoppers with the same draws
    share one dict, and share the changed one."""
    sim = make_sim(size=2000)
    sim.run_until(h("1h"))
    merges = []
    real = engine_module.apply_patch
    monkeypatch.setattr(engine_module, "apply_patch", lambda s, p: merges.append(1) or real(s, p))
    distinct = len({id(sh.settings) for sh in sim.shoppers})
    sim.apply_settings_change_many(range(2000), {"categories": {"promotions": {"push": False}}})
    assert len(merges) == distinct < 100
    assert all(sh.settings["categories"]["promotions"]["push"] is False for sh in sim.shoppers)
    assert len({id(sh.settings) for sh in sim.shoppers}) == distinct


# --- the settings pane -----------------------------------------------------------------------------------

async def choose_scope(pilot, pane, scope: str) -> None:
    """Pick "Apply to" as a user does: click the choice, then arrows and enter in its list."""
    select = pane.query_one("#apply-scope", Select)
    await pilot.click(select)
    await pilot.pause()
    assert select.expanded
    order = ["shopper", "segment", "all"]
    await pilot.press(*(["down"] * (order.index(scope) - order.index(pane.scope))), "enter")
    await pilot.pause()
    assert pane.scope == scope


@pilot_test
async def test_a_channel_switched_off_for_her_segment_reaches_every_member_and_no_one_else():
    sim = make_sim()
    bargain = members(sim, "bargain")
    app = SettingsHarness(sim, index=bargain[1])
    async with app.run_test(size=SIZE) as pilot:
        app.advance(h("3h"))
        pane = app.pane
        scope = pane.query_one("#apply-scope", Select)
        assert scope.value == "shopper"
        assert str(scope.selection) == "shopper"
        await choose_scope(pilot, pane, "segment")
        # The choice says whom it reaches and stands out while it reaches more than her.
        assert f"her segment, bargain ({len(bargain)} shoppers)" in str(
            pane.query_one("#apply-scope").query_one("SelectCurrent").query_one("#label", Static).render())
        assert pane.query_one("#scope-line").has_class("-group")

        before = len(app.changes())
        await pilot.click("#chan-email")
        await pilot.pause()
        new = app.changes()[before:]
        assert [ev.shopper for ev in new] == [sim.shoppers[i].id for i in bargain]
        assert {ev.data["source"] for ev in new} == {"user"}
        assert all(ev.data["change"] == {"channels": {"email": False}} for ev in new)
        for sh in sim.shoppers:
            assert sh.settings["channels"]["email"] is (sh.index not in bargain), sh.id
        assert pane.query_one("#chan-email", Checkbox).value is False
        assert app.notes[-1][0] == f"Email on/off: changed for {len(bargain)} shoppers (segment bargain)."

        # The events reach the pane as a batch (the main screen does this): it redraws, posting nothing.
        pane.on_sim_events(new)
        await pilot.pause()
        assert len(app.changes()) == before + len(bargain)


@pilot_test
async def test_a_change_for_everyone_then_back_to_her_alone():
    sim = make_sim()
    app = SettingsHarness(sim, index=0)
    async with app.run_test(size=SIZE) as pilot:
        app.advance(h("1h"))
        pane = app.pane
        await choose_scope(pilot, pane, "all")
        before = len(app.changes())
        pane.query_one("#flag-personalization").focus()
        await pilot.press("space")
        await pilot.pause()
        assert len(app.changes()) == before + len(sim.shoppers)
        assert not any(sh.settings["personalization"] for sh in sim.shoppers)
        assert app.notes[-1][0] == "Personalization: changed for 60 shoppers (everyone)."

        pane.set_scope("shopper")
        await pilot.pause()
        assert not pane.query_one("#scope-line").has_class("-group")
        await pilot.press("space")
        await pilot.pause()
        assert [sh.settings["personalization"] for sh in sim.shoppers[:2]] == [True, False]
        assert len(app.changes()) == before + len(sim.shoppers) + 1


@pilot_test
async def test_the_scope_follows_the_shown_shoppers_segment():
    sim = make_sim()
    bargain, regular = members(sim, "bargain"), members(sim, "regular")
    app = SettingsHarness(sim, index=bargain[0])
    async with app.run_test(size=SIZE) as pilot:
        app.advance(h("1h"))
        pane = app.pane
        await choose_scope(pilot, pane, "segment")
        pane.show_shopper(regular[0])
        await pilot.pause()
        assert pane.scope == "segment" and list(pane.targets()) == regular
        await pilot.click("#cat-promotions-push")
        await pilot.pause()
        for sh in sim.shoppers:
            assert sh.settings["categories"]["promotions"]["push"] is (sh.index in bargain), sh.id
        with pytest.raises(ValueError):
            pane.set_scope("planet")


@pilot_test
async def test_a_refused_change_for_a_segment_changes_no_one():
    sim = make_sim()
    app = SettingsHarness(sim, index=0)
    async with app.run_test(size=SIZE) as pilot:
        app.advance(h("1h"))
        pane = app.pane
        await choose_scope(pilot, pane, "segment")
        before, settings = len(app.changes()), [sh.settings for sh in sim.shoppers]
        digest = pane.query_one("#digest-time")
        digest.focus()
        digest.value = "31:00"
        await pilot.press("enter")
        await pilot.pause()
        assert len(app.changes()) == before and [sh.settings for sh in sim.shoppers] == settings
        assert app.notes[-1][1] == "error" and "31:00" in app.notes[-1][0]
        assert digest.value == "09:00"


def test_the_readmes_example_promotions_off_on_push_for_a_segment_shows_in_heavy_promotion() -> None:
    """README: in heavy_promotion, switching promotions off on push for a segment suppresses that segment's next
    promotional pushes as `category_channel_off`, and nobody else's; its promotional emails still go out."""
    from shopsim.scenario.compiled import compile_scenario
    from shopsim.validate import load_scenario
    from shopsim.contract import events as E
    from shopsim.contract.clock import HOUR
    from shopsim.simulation import Simulation

    root = ROOT
    readme = (root / "README.md").read_text()
    assert "in `heavy_promotion`" in readme and "category_channel_off" in readme
    model = load_scenario(root / "scenarios" / "heavy_promotion.yaml")

    def play(change: bool) -> tuple[set, list]:
        sim = Simulation(compile_scenario(model))
        seen: list = []
        sim.subscribe(seen.extend)
        sim.step()
        segment = sim.shoppers[0].segment.name
        members = {sh.id for sh in sim.shoppers if sh.segment.name == segment}
        if change:
            sim.apply_settings_change_many(sorted(members), {"categories": {"promotions": {"push": False}}})
        sim.run_until(6 * HOUR)
        sim.flush()
        return members, seen

    def off(seen: list) -> set:
        return {(ev.shopper, ev.data.get("id")) for ev in seen if ev.type == E.NOTIFICATION_SUPPRESSED
                and ev.data.get("reason") == "category_channel_off" and ev.data.get("category") == "promotions"
                and ev.data.get("channel") == "push"}

    members, changed = play(True)
    _, untouched = play(False)
    new = off(changed) - off(untouched)
    assert new and {shopper for shopper, _ in new} <= members
    emails = [ev for ev in changed if ev.type == E.NOTIFICATION_DELIVERED and ev.shopper in members
              and ev.data.get("category") == "promotions" and ev.data.get("channel") == "email"]
    assert emails
