"""Each shipped feature scenario replays headless and shows the feature it is there to show."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from shopsim.validate import load_scenario
from helpers.paths import SCENARIOS
from helpers.runs import play



def _play(name: str):
    return play(load_scenario(SCENARIOS / f"{name}.yaml"))


@pytest.fixture(scope="module")
def played():
    cache: dict = {}

    def get(name: str):
        if name not in cache:
            cache[name] = _play(name)
        return cache[name]

    return get


def _local(sim, ev, tz: str) -> datetime:
    return datetime.fromtimestamp((sim.scenario.start_epoch + ev.t) / 1000, timezone.utc).astimezone(ZoneInfo(tz))


OUTCOMES = ("notification.requested", "notification.deferred", "notification.delivered",
            "notification.digested", "notification.suppressed")


def _by_id(events):
    """Each notification's decision events (engagement that follows a delivery left out)."""
    out = defaultdict(list)
    for e in events:
        if e.type in OUTCOMES:
            out[e.data["id"]].append(e)
    return out


def test_quiet_hours_hold_pushes_until_8_local_in_every_zone_even_across_the_clock_change(played):
    sim, events = played("quiet_hours")
    tz = {e.shopper: e.data["tz"] for e in events if e.type == "shopper.created"}
    deferred = [e for e in events if e.type == "notification.deferred" and e.data["reason"] == "quiet_hours"]
    assert len({tz[e.shopper] for e in deferred}) >= 3  # the same send lands in quiet hours in several zones
    notes = _by_id(events)
    after_change = 0
    for d in deferred:
        final = notes[d.data["id"]][-1]
        if final.type != "notification.delivered":
            continue
        local = _local(sim, final, tz[final.shopper])
        assert (local.hour, local.minute) == (8, 0), (final, local)
        if tz[final.shopper] == "Europe/Berlin" and local.date().isoformat() == "2026-03-29":
            assert local.utcoffset().total_seconds() == 7200  # summer time: 08:00 CEST is 06:00 UTC
            after_change += 1
    assert after_change, "a push held over the night of the clock change"
    explained = sim.explain(deferred[0].data["id"])
    assert explained["summary"].startswith("deferred: quiet hours 22:00–08:00 ")
    assert explained["summary"].endswith("delivered at 08:00 local")


def test_frequency_caps_suppress_and_are_never_exceeded(played):
    sim, events = played("frequency_caps")
    capped = Counter(e.data["rule"] for e in events
                     if e.type == "notification.suppressed" and e.data["reason"] == "frequency_cap")
    assert {"caps[0]", "caps[1]", "caps[2]"} <= set(capped)
    delivered = defaultdict(list)
    for e in events:
        if e.type == "notification.delivered" and e.data["category"] in ("promotions", "flash_sales"):
            delivered[(e.shopper, e.data["channel"])].append((e.t, e.data["category"]))
    for rule in sim.scenario.caps:
        for (shopper, channel), sent in delivered.items():
            times = [t for t, cat in sent if channel == rule.channel and rule.category in (None, cat)]
            for i, t in enumerate(times):
                assert sum(1 for u in times[:i + 1] if u > t - rule.per_ms) <= rule.max, (rule, shopper)


def test_digests_batch_by_frequency_and_drop_what_was_switched_off(played):
    sim, events = played("digests")
    segment = {e.shopper: e.data["segment"] for e in events if e.type == "shopper.created"}
    tz = {e.shopper: e.data["tz"] for e in events if e.type == "shopper.created"}
    digests = [e for e in events if e.type == "notification.delivered" and e.data["digest_of"] is not None]
    assert {segment[e.shopper] for e in digests} == {"daily", "weekly"}
    for d in digests:
        local = _local(sim, d, tz[d.shopper])
        assert (local.hour, local.minute) == (19, 0)
        if segment[d.shopper] == "weekly":
            assert local.strftime("%a") == "Fri"
    promos = [e for e in events if e.type == "notification.delivered" and e.data["category"] == "promotions"]
    assert {segment[e.shopper] for e in promos} == {"realtime"}  # nobody else gets them one by one
    dropped = [x for d in digests if d.shopper == "s000002" for x in d.data["dropped"]]
    assert dropped and all(x["reason"] == "category_channel_off" for x in dropped)


def test_opt_outs_apply_from_their_instant(played):
    sim, events = played("opt_out")
    change = 36 * 3600 * 1000
    promos = [e for e in events if e.type.startswith("notification.") and e.data.get("category") == "promotions"]
    expect = {"s000001": "no_marketing_consent", "s000002": "channel_off", "s000003": "frequency_off"}
    for shopper, reason in expect.items():
        mine = [e for e in promos if e.shopper == shopper]
        assert not [e for e in mine if e.t < change and e.type == "notification.suppressed"
                    and e.data["reason"] == reason]
        assert [e for e in mine if e.t > change and e.type == "notification.suppressed" and e.data["reason"] == reason]
        assert [e for e in mine if e.t < change and e.type == "notification.delivered"]
    outcomes = ("notification.delivered", "notification.digested", "notification.suppressed")
    later = [e for e in promos if e.shopper == "s000004" and e.t > change and e.type in outcomes]
    assert later and all(e.type == "notification.digested" or e.data.get("digest_of") for e in later
                         if e.data["category"] == "promotions")


def test_account_security_alerts_reach_everyone_whatever_their_settings(played):
    sim, events = played("account_security")
    notes = _by_id(events)
    security = {i: evs for i, evs in notes.items() if evs[0].data["category"] == "account_security"}
    assert security
    outcomes = Counter(evs[-1].type for evs in security.values())
    assert outcomes["notification.deferred"] == 0  # never held by quiet hours
    assert any(evs[-1].data.get("rerouted_from") for evs in security.values())
    # s000002 switched every channel off, and still gets her sign-in alert.
    assert any(evs[-1].type == "notification.delivered" for i, evs in security.items() if i.startswith("s000002"))
    for evs in security.values():
        if evs[-1].type == "notification.suppressed":
            assert evs[-1].data["reason"] == "unreachable"


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_scenario_replays_headless(path, tmp_path):
    """As a QA job would run it: the CLI, no database, the log complete."""
    from click.testing import CliRunner

    from shopsim.cli import main

    log = tmp_path / "run.jsonl"
    res = CliRunner().invoke(main, ["replay", str(path), "--no-db", "--log", str(log), "-q"])
    assert res.exit_code == 0, res.output
    last = log.read_bytes().rsplit(b"\n", 2)[-2]
    assert b'"type":"run.finished"' in last
