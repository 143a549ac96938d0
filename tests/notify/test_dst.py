"""Local times across DST changes, to the instant (issue 12, section D).

Fall back: quiet hours that end at a wall time inside the repeated hour end the first time it comes; the
repeated hour after it is outside (docs/notifications.md). Spring forward: a campaign's local time that
the clocks skip goes out at the jump, as a digest's does. The quiet-hours invariant judges instants.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from helpers.runs import play
from helpers.scenarios import REACHABLE
from shopsim.qa.invariants import InvariantChecker
from shopsim.notify.policy import quiet_hours, send_windows
from shopsim.notify.windows import next_local_time, next_outside, reach
from shopsim.contract import events as E

NY, LONDON, BERLIN = ZoneInfo("America/New_York"), ZoneInfo("Europe/London"), ZoneInfo("Europe/Berlin")
QUIET_0130 = (22 * 60, 90)  # quiet hours 22:00-01:30


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def utc(epoch: int) -> str:
    return datetime.fromtimestamp(epoch / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# --- fall back: quiet hours end the first time their end comes ------------------------------------------

# (zone, a push in the first pass of the repeated hour, in the second pass, when quiet hours end)
FALL_BACK = [
    # 1 November 2026: 02:00 EDT -> 01:00 EST at 06:00 UTC.
    (NY, "2026-11-01T01:10:00-04:00", "2026-11-01T01:10:00-05:00", "2026-11-01T05:30:00.000Z"),
    # 25 October 2026: 02:00 BST -> 01:00 GMT at 01:00 UTC.
    (LONDON, "2026-10-25T01:10:00+01:00", "2026-10-25T01:10:00+00:00", "2026-10-25T00:30:00.000Z"),
]


@pytest.mark.parametrize("zone, first, second, ends", FALL_BACK, ids=["new_york", "london"])
def test_quiet_hours_ending_in_the_repeated_hour_end_the_first_time(zone, first, second, ends):
    assert utc(next_outside(zone, ms(first), *QUIET_0130)) == ends  # first pass: held until the first 01:30
    assert next_outside(zone, ms(second), *QUIET_0130) == ms(second)  # second pass: they have ended
    # The evening before is held until the first 01:30 too, not the second.
    evening = ms(first) - 3 * 3_600_000
    assert utc(next_outside(zone, evening, *QUIET_0130)) == ends


@pytest.mark.parametrize("zone, first, second, ends", FALL_BACK, ids=["new_york", "london"])
def test_the_pipeline_sends_a_push_in_the_second_pass_at_once(zone, first, second, ends):
    settings = {"quiet_hours": {"start": "22:00", "end": "01:30"}}
    assert quiet_hours("push", settings, zone, ms(second)).outcome == "pass"
    held = quiet_hours("push", settings, zone, ms(first))
    assert held.outcome == "deferred" and utc(held.params["until"]) == ends


def test_a_send_window_closing_in_the_repeated_hour_is_closed_from_the_first_close():
    # SMS may go 09:00-01:30. At 01:10 EST on 1 November the window closed at 01:30 EDT: wait for 09:00 EST.
    windows = (("sms", 9 * 60, 90, frozenset({"marketing"}), "send_windows[0]"),)
    v = send_windows("sms", "marketing", windows, NY, ms("2026-11-01T01:10:00-05:00"))
    assert v.outcome == "deferred" and utc(v.params["until"]) == "2026-11-01T14:00:00.000Z"
    assert send_windows("sms", "marketing", windows, NY, ms("2026-11-01T01:10:00-04:00")).outcome == "pass"


def _fall_back_scenario(tz: str, push_at: str) -> dict:
    """One shopper in `tz` with quiet hours 22:00-01:30 and a promotion pushed at `push_at` (UTC)."""
    return {
        "schema_version": 1,
        "run": {"name": "fall_back", "seed": 2, "start": "2026-10-24T00:00:00Z", "duration": "9d"},
        "population": {"size": 1, "locales": {"en_US" if tz.startswith("America") else "en_GB":
                                              {"share": 1.0, "time_zones": {tz: 1.0}}},
                       **REACHABLE,
                       "settings": {"quiet_hours": {"start": "22:00", "end": "01:30"}}},
        "catalogue": {"products": 5, "stores": 1},
        "behaviour": {"sessions": {"per_day": 1e-6}},
        "account": {"new_signin_per_30d": 0.0, "password_change_per_30d": 0.0},
        "policies": {"caps": []},
        "engagement": {"enabled": False},
        "events": [{"at": push_at, "shopper": "s000001",
                    "notify": {"category": "promotions", "channels": ["push"], "title": "Offer"}}],
    }


@pytest.mark.parametrize("tz, second", [("America/New_York", "2026-11-01T06:10:00Z"),
                                        ("Europe/London", "2026-10-25T01:10:00Z")], ids=["new_york", "london"])
def test_a_run_delivers_the_second_pass_push_at_once_and_its_invariant_holds(tz, second):
    sim, events = play(_fall_back_scenario(tz, second))
    mine = [e for e in events if e.type.startswith("notification.")]
    assert [e.type for e in mine] == [E.NOTIFICATION_REQUESTED, E.NOTIFICATION_DELIVERED]
    assert utc(sim.scenario.start_epoch + mine[1].t) == second.replace("Z", ".000Z")
    checker = InvariantChecker(sim, ["quiet_hours_respected"])
    checker(events)
    assert checker.finish()["quiet_hours_respected"] == []


def test_the_quiet_hours_invariant_reads_instants_and_catches_the_second_0130():
    """The old pipeline held a 01:10 EST push until 01:30 EST. Plant that into a real run's log: the
    invariant, which used to read wall clocks (01:10 is inside 22:00-01:30), reports it."""
    second = "2026-11-01T06:10:00Z"
    sim, events = play(_fall_back_scenario("America/New_York", second))
    i = next(k for k, e in enumerate(events) if e.type == E.NOTIFICATION_DELIVERED)
    req = events[i - 1]
    until = "2026-11-01T06:30:00.000Z"  # the second 01:30, in EST
    held = events[i]._replace(type=E.NOTIFICATION_DEFERRED, data={
        "id": req.data["id"], "category": "promotions", "channel": "push", "trace": [],
        "until": until, "reason": "quiet_hours", "rule": "quiet_hours"})
    late = events[i]._replace(seq=events[i].seq + 1, t=events[i].t + 20 * 60_000)
    planted = events[:i] + [held, late] + [e._replace(seq=e.seq + 1) for e in events[i + 1:]]
    checker = InvariantChecker(sim, ["quiet_hours_respected", "one_outcome_per_request"])
    checker(planted)
    found = checker.finish()
    assert found["one_outcome_per_request"] == []  # only the planted rule is broken
    (v,) = found["quiet_hours_respected"]
    assert v.seq == held.seq
    assert "held by quiet hours at 01:10 local (2026-11-01T06:10:00.000Z, America/New_York)" in v.message
    assert "outside quiet hours 22:00–01:30: they end the first time 01:30 comes" in v.message


def test_the_quiet_hours_invariant_catches_a_first_pass_push_held_past_the_first_0130():
    first = "2026-11-01T05:10:00Z"  # 01:10 EDT: inside; held until 05:30 UTC
    sim, events = play(_fall_back_scenario("America/New_York", first))
    d = next(k for k, e in enumerate(events) if e.type == E.NOTIFICATION_DEFERRED)
    assert events[d].data["until"] == "2026-11-01T05:30:00.000Z"
    checker = InvariantChecker(sim, ["quiet_hours_respected"])
    checker(events)
    assert checker.finish()["quiet_hours_respected"] == []
    # Held until the second 01:30 instead (and delivered then): reported at the deferral.
    j = next(k for k, e in enumerate(events) if e.type == E.NOTIFICATION_DELIVERED and k > d)
    planted = list(events)
    planted[d] = events[d]._replace(data={**events[d].data, "until": "2026-11-01T06:30:00.000Z"})
    planted[j] = events[j]._replace(t=events[j].t + 3_600_000)
    checker = InvariantChecker(sim, ["quiet_hours_respected"])
    checker(planted)
    (v,) = checker.finish()["quiet_hours_respected"]
    assert v.seq == events[d].seq
    assert "until 2026-11-01T06:30:00.000Z, but they end at 2026-11-01T05:30:00.000Z" in v.message


def test_the_quiet_hours_invariant_catches_a_delivery_in_the_first_pass():
    """A delivery at 01:10 EDT (inside) is reported; one at 01:10 EST (outside) is not."""
    sim, events = play(_fall_back_scenario("America/New_York", "2026-11-01T06:10:00Z"))
    i = next(k for k, e in enumerate(events) if e.type == E.NOTIFICATION_DELIVERED)
    early = list(events)
    early[i - 1] = early[i - 1]._replace(t=events[i].t - 3_600_000)
    early[i] = early[i]._replace(t=events[i].t - 3_600_000)
    checker = InvariantChecker(sim, ["quiet_hours_respected"])
    checker(sorted(early, key=lambda e: (e.t, e.seq)))
    (v,) = checker.finish()["quiet_hours_respected"]
    assert "push delivered at 01:10 local, inside quiet hours 22:00–01:30 (America/New_York)" in v.message


# --- spring forward: one rule for campaigns and digests ---------------------------------------------------

SPRING = [
    # 8 March 2026: 02:00 EST -> 03:00 EDT at 07:00 UTC. 29 March 2026: 02:00 CET -> 03:00 CEST at 01:00 UTC.
    ("America/New_York", "en_US", date(2026, 3, 8), "2026-03-08T07:00:00.000Z"),
    ("Europe/Berlin", "de_DE", date(2026, 3, 29), "2026-03-29T01:00:00.000Z"),
]


@pytest.mark.parametrize("tz, locale, day, jump", SPRING, ids=["new_york", "berlin"])
def test_a_skipped_local_time_is_reached_at_the_jump(tz, locale, day, jump):
    zone = ZoneInfo(tz)
    assert utc(reach(zone, day, 150)) == jump
    assert utc(next_local_time(zone, reach(zone, day, 0), 150)) == jump


@pytest.mark.parametrize("tz, locale, day, jump", SPRING, ids=["new_york", "berlin"])
def test_a_campaign_and_a_digest_at_a_skipped_local_time_go_out_at_the_same_instant(tz, locale, day, jump):
    """A promotion campaign at local 02:30 on the spring-forward day, to two shoppers: s000001 gets it as it
    comes; s000002 gets promotions in a daily digest at 02:30, and one joined it the day before. The campaign
    and the digest both go out at the jump (03:00 local), not at 03:30."""
    before = date.fromordinal(day.toordinal() - 1)
    data = {
        "schema_version": 1,
        "run": {"name": "spring", "seed": 2, "start": f"{date.fromordinal(day.toordinal() - 2)}T00:00:00Z",
                "duration": "4d"},
        "population": {"size": 2, "locales": {locale: {"share": 1.0, "time_zones": {tz: 1.0}}},
                       "reach": {"email_verified": 1.0, "phone": 1.0},
                       "consent": {"marketing_consent": 1.0, "personalization": 1.0}},
        "catalogue": {"products": 5, "stores": 1},
        "behaviour": {"sessions": {"per_day": 1e-6}},
        "account": {"new_signin_per_30d": 0.0, "password_change_per_30d": 0.0},
        "policies": {"caps": []},
        "engagement": {"enabled": False},
        "campaigns": {"spring": {"kind": "promotion", "at": f"{day}T12:00:00Z", "local_time": "02:30",
                                 "channels": ["email"], "title": "Spring"}},
        "events": [
            {"at": "0h", "shopper": "s000002", "settings": {
                "digest": {"time": "02:30"}, "categories": {"promotions": {"frequency": "daily"}}}},
            {"at": f"{before}T12:00:00Z", "shopper": "s000002",
             "notify": {"category": "promotions", "channels": ["email"], "title": "Eve"}},
        ],
    }
    sim, events = play(data)
    start = sim.scenario.start_epoch
    requested = [(e.shopper, e.data["source"], utc(start + e.t)) for e in events if e.type == E.NOTIFICATION_REQUESTED]
    assert ("s000001", "campaign:spring", jump) in requested
    assert ("s000002", "campaign:spring", jump) in requested
    digests = [r for r in requested if r[1] == "digest:daily"]
    assert digests[0] == ("s000002", "digest:daily", jump)
