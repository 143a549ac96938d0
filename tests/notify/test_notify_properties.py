"""Property tests of the notification pipeline: over generated scenarios, with marketing messages, settings
per segment, caps, send windows and settings changes applied mid-run, the event log obeys DESIGN.md.

The checks are the library's invariants (shopsim.qa.invariants), which read the log alone. Each
shopper's settings are rebuilt from `shopper.created` and `settings.changed` as the log goes, so every
decision is judged against the settings in effect at the instant it was made (a change applies from its
instant on, and not before).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from shopsim.qa.invariants import InvariantChecker
from shopsim.scenario.schema import Scenario
from shopsim.contract.taxonomy import MARKETING_CATEGORIES
from shopsim.contract.units import parse_duration
from shopsim.contract import events as E
from shopsim.contract.clock import HOUR
from shopsim.simulation import Simulation

from helpers.properties import (
    PROPS, assert_invariants, caps, check_notifications, clock_window, notify_scenarios, settings_patches,
)
from helpers.runs import play_with_changes
from helpers.scenarios import berlin_shopper

UTC = timezone.utc
OUTCOMES = set(E.NOTIFICATION_OUTCOMES)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DIGEST = "digest"

# --- generators ---------------------------------------------------------------------------------------

@st.composite
def busy_scenarios(draw) -> dict:
    """Everyone reachable and consenting, with quiet hours, caps and many push and SMS messages: most
    notifications get as far as caps, digests, quiet hours and send windows."""
    data = draw(notify_scenarios())
    pop, minutes = data["population"], parse_duration(data["run"]["duration"]) // 60_000
    pop["platforms"] = {"ios": 1.0}
    pop["reach"] = {"email_verified": 1.0, "phone": 1.0}
    pop["consent"] = {"marketing_consent": 1.0, "personalization": 1.0, "sms_opt_in": 1.0,
                      "push_os_permission": {"ios": 1.0}}
    pop["settings"]["categories"] = {c: {"push": True, "sms": True, "frequency": draw(
        st.sampled_from(["realtime", "realtime", "daily", "weekly"]))} for c in MARKETING_CATEGORIES}
    pop["settings"]["quiet_hours"] = draw(clock_window)
    for seg in pop["segments"].values():
        seg["settings"] = {}
    data["policies"]["caps"] = draw(caps.filter(bool))
    data["events"] = [
        {"at": f"{draw(st.integers(0, minutes))}m", "shopper": "all", "notify": {
            "category": draw(st.sampled_from(MARKETING_CATEGORIES)),
            "channels": draw(st.lists(st.sampled_from(["push", "sms", "email"]), min_size=1, max_size=3, unique=True)),
            "title": "Offer"}}
        for _ in range(draw(st.integers(5, 25)))]
    return data


changes = st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 14), settings_patches),
                   max_size=5)


# --- the oracle: the library's notification invariants -------------------------------------------------

# --- the properties -----------------------------------------------------------------------------------

@PROPS
@given(notify_scenarios(), changes)
def test_every_decision_follows_the_settings_in_effect(data, plan):
    sim, events, first = play_with_changes(data, plan)
    assert_invariants(sim, events)  # the log, the pipeline's decisions, scripted requests, engagement, ...
    if first is not None:
        # g) and not before: up to the first change, the run is the same as one without any change.
        plain = Simulation(sim.scenario)
        before: list = []
        plain.subscribe(before.extend)
        plain.run_until(events[first - 1].t)
        assert before == events[:first - 1]


@PROPS
@given(busy_scenarios(), changes)
def test_busy_push_and_sms_keep_caps_digests_and_quiet_hours(data, plan):
    sim, events, _ = play_with_changes(data, plan)
    assert_invariants(sim, events)


# --- deterministic companions: a decision changes at the instant of a settings change -------------------

def _one_shopper(events: list, **settings) -> dict:
    return berlin_shopper(events, name="companion", settings=settings)


def _msg(at: str, channels=("push",), category="promotions") -> dict:
    return {"at": at, "shopper": "s000001", "notify": {"category": category, "channels": list(channels),
                                                        "title": "Offer"}}


def _outcomes(events) -> list[tuple[int, str, str | None]]:
    return [(e.t, e.type.split(".")[1], e.data.get("reason")) for e in events if e.type in OUTCOMES]


def test_turning_push_off_at_t_suppresses_later_push_but_not_earlier():
    data = _one_shopper([_msg("6h"), _msg("10h"), {"at": "8h", "shopper": "s000001", "signin": True}])
    unchanged, ev_unchanged, _ = play_with_changes(data, [])
    changed, ev_changed, applied = play_with_changes(data, [(8.5 / 24, 0, {"channels": {"push": False}})])
    assert _outcomes(ev_unchanged)[:1] == _outcomes(ev_changed)[:1] == [(6 * HOUR, "delivered", None)]
    assert (10 * HOUR, "delivered", None) in _outcomes(ev_unchanged)
    assert (10 * HOUR, "suppressed", "channel_off") in _outcomes(ev_changed)
    # the sign-in alert at 8h, before the change, went by push in both runs
    for ev in (ev_unchanged, ev_changed):
        assert any(e.type == E.NOTIFICATION_DELIVERED and e.data["category"] == "account_security"
                   and e.data["channel"] == "push" and e.t == 8 * HOUR for e in ev)
    check_notifications(changed, ev_changed)
    check_notifications(unchanged, ev_unchanged)


def test_a_change_just_before_a_request_applies_to_it():
    data = _one_shopper([_msg("10h")])
    sim = Simulation(Scenario.model_validate(data))
    events: list = []
    sim.subscribe(events.extend)
    sim.run_until(10 * HOUR - 1)
    sim.apply_settings_change("s000001", {"marketing_consent": False})
    sim.run()
    assert _outcomes(events) == [(10 * HOUR, "suppressed", "no_marketing_consent")]
    check_notifications(sim, events)


def test_scripted_changes_at_the_instant_of_a_message_apply_in_file_order():
    """Same instant: a change listed before the message decides it; one listed after does not."""
    off = {"at": "10h", "shopper": "s000001", "settings": {"channels": {"push": False}}}
    on = {"at": "12h", "shopper": "s000001", "settings": {"channels": {"push": True}}}
    data = _one_shopper([off, _msg("10h"), _msg("12h"), on])
    sim, events, _ = play_with_changes(data, [])
    assert _outcomes(events) == [(10 * HOUR, "suppressed", "channel_off"), (12 * HOUR, "suppressed", "channel_off")]
    check_notifications(sim, events)


def test_switching_to_daily_digests_mid_run_batches_only_later_messages():
    data = _one_shopper([_msg("6h"), _msg("10h"), _msg("12h")], digest={"time": "20:00"})
    sim, events, _ = play_with_changes(data, [(8 / 24, 0, {"categories": {"promotions": {"frequency": "daily"}}})])
    assert [o[1] for o in _outcomes(events)] == ["delivered", "digested", "digested", "delivered"]
    digest = [e for e in events if e.type == E.NOTIFICATION_DELIVERED][-1]
    assert digest.data["category"] == DIGEST and len(digest.data["digest_of"]) == 2
    check_notifications(sim, events)
    assert sum(e.type in OUTCOMES for e in events) == 4


def test_consent_withdrawn_after_digesting_drops_the_items_at_digest_time():
    data = _one_shopper([_msg("6h"), _msg("7h", category="recommendations")],
                        categories={"promotions": {"frequency": "daily"}, "recommendations": {"frequency": "daily"}},
                        digest={"time": "20:00"})
    sim, events, _ = play_with_changes(data, [(10 / 24, 0, {"personalization": False})])
    digest = [e for e in events if e.type == E.NOTIFICATION_DELIVERED and e.data["category"] == DIGEST]
    assert len(digest) == 1
    [dropped] = digest[0].data["dropped"]
    assert dropped["reason"] == "no_personalization_consent"
    assert len(digest[0].data["digest_of"]) == 1
    check_notifications(sim, events)


def test_the_oracle_catches_a_delivery_against_the_settings():
    """The checker itself: a log claiming a push went out after push was switched off fails it."""
    data = _one_shopper([_msg("10h")])
    sim, events, _ = play_with_changes(data, [])
    forged = list(events)
    i = next(k for k, e in enumerate(forged) if e.type == E.NOTIFICATION_REQUESTED)
    created = next(e for e in forged if e.type == E.SHOPPER_CREATED)
    off = {**created.data["settings"], "channels": {**created.data["settings"]["channels"], "push": False}}
    forged.insert(i, E.Event(0, forged[i].t, E.SETTINGS_CHANGED, "s000001", {"settings": off, "source": "user"}))
    delivered = next(e for e in forged if e.type == E.NOTIFICATION_DELIVERED)
    checker = InvariantChecker(sim, ["settings_respected"])
    checker(forged)
    [v] = checker.finish()["settings_respected"]
    assert v.seq == delivered.seq and "switched off (channels.push)" in v.message, v


def test_a_deferred_push_waits_out_quiet_hours_in_local_time():
    """A regression anchor for c): 23:00 Berlin with quiet hours 22:00-08:00, delivered 08:00 Berlin."""
    data = _one_shopper([_msg("22h")], quiet_hours={"start": "22:00", "end": "08:00"})
    data["run"]["duration"] = "2d"
    sim, events, _ = play_with_changes(data, [])
    out = _outcomes(events)
    assert out == [(31 * HOUR, "delivered", None)]  # 07:00 UTC on 3 March
    local = datetime(2026, 3, 2, tzinfo=UTC) + timedelta(milliseconds=out[0][0])
    assert local.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M") == "08:00"
    check_notifications(sim, events)
