"""The notification pipeline, one behaviour per test: policy verdicts alone, then whole runs of tiny
scenarios whose conditions are forced with scripted events, settings changes and domain events at known
local times (virtual time 0 is `run.start` in UTC)."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from shopsim.notify.policy import (
    DEFERRED, DIGESTED, PASS, SUPPRESSED, dedupe, digest, flow_state, send_windows,
)
from shopsim.scenario.schema import Scenario
from shopsim.contract import events as E
from shopsim.contract.clock import HOUR, MINUTE
from shopsim.simulation import Simulation
from shopsim.store.recorder import Recorder

from helpers.scenarios import QUIET_SHOP

BERLIN = ZoneInfo("Europe/Berlin")
NY = ZoneInfo("America/New_York")
S1 = "s000001"
QUIET = {"start": "22:00", "end": "08:00"}
SMS_WINDOW = ("sms", 8 * 60, 21 * 60, frozenset({"marketing", "transactional"}), "send_windows[0]")
ZONES = {"Europe/Berlin": "de_DE", "America/New_York": "en_US"}


def scenario(*, start: str = "2026-03-02T00:00:00Z", duration: str = "2d", tz: str = "Europe/Berlin",
             size: int = 1, settings: dict | None = None, events: list | None = None,
             policies: dict | None = None, app: bool = True, push_permission: float = 1.0,
             phone: float = 1.0, sms_opt_in: float = 1.0, email: float = 1.0, marketing: float = 1.0,
             personalization: float = 1.0) -> Scenario:
    """One shopper (or `size`) in one time zone, reachable everywhere unless told otherwise."""
    data = {
        "schema_version": 1,
        "run": {"name": "pipeline", "seed": 3, "start": start, "duration": duration},
        "population": {
            "size": size,
            "locales": {ZONES[tz]: {"share": 1.0, "time_zones": {tz: 1.0}}},
            "platforms": {"ios": 1.0} if app else {"web": 1.0},
            "reach": {"email_verified": email, "phone": phone},
            "consent": {"marketing_consent": marketing, "personalization": personalization,
                        "sms_opt_in": sms_opt_in, "push_os_permission": {"ios": push_permission}},
            "settings": settings or {},
        },
        **QUIET_SHOP,
        "policies": {"transactional": {"order.shipped": ["push"], "shipment.out_for_delivery": ["push"]},
                     **(policies or {})},
        "events": events or [],
    }
    return Scenario.model_validate(data)


def promo(at: str, channels=("push",), category: str = "promotions", shopper: str = S1, title: str = "Sale"):
    return {"at": at, "shopper": shopper, "notify": {"category": category, "channels": list(channels),
                                                     "title": title}}


class Run:
    """A Simulation with its events collected."""

    def __init__(self, sc: Scenario, **kw):
        self.sim = Simulation(sc, **kw)
        self.events: list = []
        self.sim.subscribe(self.events.extend)

    def vt(self, local: str, zone: ZoneInfo = BERLIN) -> int:
        """Virtual time of a local wall-clock instant, e.g. '2026-03-02 23:00'."""
        dt = datetime.fromisoformat(local).replace(tzinfo=zone)
        return int(dt.timestamp() * 1000) - self.sim.scenario.start_epoch

    def local(self, t: int, zone: ZoneInfo = BERLIN) -> str:
        epoch = self.sim.scenario.start_epoch + t
        return datetime.fromtimestamp(epoch / 1000, timezone.utc).astimezone(zone).strftime("%Y-%m-%d %H:%M")

    def ship(self, t: int, kind: str = E.ORDER_SHIPPED, order: str = "o-1", shopper: str = S1):
        """A shipping update about `order` at virtual time t (the commerce layer's event, forced)."""
        self.sim.run_until(t)
        self.sim.kernel.emit(kind, shopper, {"order": order, "carrier": "Only Post", "tracking": "OP123"})

    def of(self, type_: str, nid: str | None = None) -> list:
        return [e for e in self.events if e.type == type_ and (nid is None or e.data.get("id") == nid)]

    def notes(self, **match) -> list[str]:
        """Ids of requested notifications whose request matches, in request order."""
        return [e.data["id"] for e in self.of(E.NOTIFICATION_REQUESTED)
                if all(e.data.get(k) == v for k, v in match.items())]

    def final(self, nid: str):
        out = [e for e in self.events if e.data.get("id") == nid and e.type in E.NOTIFICATION_OUTCOMES]
        assert len(out) <= 1, out
        return out[0] if out else None


def epoch(local: str, zone: ZoneInfo) -> int:
    return int(datetime.fromisoformat(local).replace(tzinfo=zone).timestamp() * 1000)


# --- policy steps alone ------------------------------------------------------------------------------

def test_flow_state_passes_while_the_flow_holds_and_names_the_exit():
    assert flow_state(None).outcome == PASS
    v = flow_state("order_placed")
    assert (v.outcome, v.reason, v.rule, v.params) == (SUPPRESSED, "flow_exited", "flow.exit.order_placed",
                                                       {"exit": "order_placed"})


def test_dedupe_suppresses_a_seen_key_and_a_superseded_update():
    assert dedupe(None, None).outcome == PASS
    assert dedupe("k1", {"k2"}).outcome == PASS
    assert dedupe("k1", None).outcome == PASS
    v = dedupe("k1", {"k1"})
    assert (v.outcome, v.reason, v.rule, v.params) == (SUPPRESSED, "duplicate", "dedupe.key", {"key": "k1"})
    v = dedupe(None, None, newer="s000001-n9")
    assert (v.outcome, v.reason, v.rule, v.params) == (SUPPRESSED, "superseded", "dedupe.collapse",
                                                       {"by": "s000001-n9"})


@pytest.mark.parametrize("frequency", ["realtime", "off"])
def test_digest_verdict_passes_what_is_not_batched(frequency):
    v = digest(frequency, None, None)
    assert (v.outcome, v.params) == (PASS, {"frequency": frequency})


@pytest.mark.parametrize("frequency", ["daily", "weekly"])
def test_digest_verdict_batches_daily_and_weekly(frequency):
    v = digest(frequency, 1_000, "s000001-n4")
    assert (v.outcome, v.reason, v.rule) == (DIGESTED, "digest", "frequency")
    assert v.params == {"frequency": frequency, "digest": "s000001-n4", "at": 1_000}


def test_send_window_defers_sms_outside_it_until_it_opens():
    late = epoch("2026-03-04 21:30", BERLIN)
    v = send_windows("sms", "marketing", (SMS_WINDOW,), BERLIN, late)
    assert (v.outcome, v.reason, v.rule) == (DEFERRED, "send_window", "send_windows[0]")
    assert v.params == {"start": "08:00", "end": "21:00", "tz": "Europe/Berlin",
                        "until": epoch("2026-03-05 08:00", BERLIN)}
    early = epoch("2026-03-05 06:59", BERLIN)
    assert send_windows("sms", "transactional", (SMS_WINDOW,), BERLIN, early).params["until"] == epoch(
        "2026-03-05 08:00", BERLIN)


def test_send_window_passes_inside_it_and_other_channels_and_classes():
    noon = epoch("2026-03-04 12:00", BERLIN)
    assert send_windows("sms", "marketing", (SMS_WINDOW,), BERLIN, noon).outcome == PASS
    late = epoch("2026-03-04 23:00", BERLIN)
    assert send_windows("push", "marketing", (SMS_WINDOW,), BERLIN, late).outcome == PASS
    assert send_windows("email", "marketing", (("email", 480, 1260, frozenset({"marketing"}), "w"),),
                        BERLIN, late).outcome == PASS  # only push and SMS interrupt
    marketing_only = ("sms", 480, 1260, frozenset({"marketing"}), "send_windows[0]")
    assert send_windows("sms", "transactional", (marketing_only,), BERLIN, late).outcome == PASS
    assert send_windows("sms", "marketing", (), BERLIN, late).outcome == PASS


def test_send_window_edges_are_half_open():
    opens, closes = epoch("2026-03-04 08:00", BERLIN), epoch("2026-03-04 21:00", BERLIN)
    assert send_windows("sms", "marketing", (SMS_WINDOW,), BERLIN, opens).outcome == PASS
    assert send_windows("sms", "marketing", (SMS_WINDOW,), BERLIN, closes).outcome == DEFERRED
    assert send_windows("sms", "marketing", (SMS_WINDOW,), BERLIN, closes - 1).outcome == PASS


# --- quiet hours -------------------------------------------------------------------------------------

def test_transactional_push_at_23_berlin_waits_for_8_local_and_explain_says_so():
    r = Run(scenario(settings={"quiet_hours": QUIET}))
    r.ship(r.vt("2026-03-02 23:00"))
    r.sim.run()
    [nid] = r.notes(category="shipping", channel="push")
    [deferred] = r.of(E.NOTIFICATION_DEFERRED, nid)
    assert deferred.data["until"] == "2026-03-03T07:00:00.000Z"
    assert (deferred.data["reason"], deferred.data["rule"]) == ("quiet_hours", "quiet_hours")
    end = r.final(nid)
    assert end.type == E.NOTIFICATION_DELIVERED and r.local(end.t) == "2026-03-03 08:00"
    assert r.sim.explain(nid)["summary"] == "deferred: quiet hours 22:00–08:00 Europe/Berlin, delivered at 08:00 local"


@pytest.mark.parametrize("zone, start, evening, morning", [
    # Spring forward: the night is an hour shorter, the push still waits for 08:00 on the local clock.
    (NY, "2026-03-07T00:00:00Z", "2026-03-07 23:00", "2026-03-08 08:00"),
    (BERLIN, "2026-03-28T00:00:00Z", "2026-03-28 23:00", "2026-03-29 08:00"),
    # Fall back: an hour longer.
    (NY, "2026-10-31T00:00:00Z", "2026-10-31 23:00", "2026-11-01 08:00"),
    (BERLIN, "2026-10-24T00:00:00Z", "2026-10-24 23:00", "2026-10-25 08:00"),
])
def test_quiet_hours_across_a_dst_change_end_at_8_local(zone, start, evening, morning):
    r = Run(scenario(start=start, tz=zone.key, settings={"quiet_hours": QUIET}))
    r.ship(r.vt(evening, zone))
    r.sim.run()
    [nid] = r.notes(category="shipping", channel="push")
    end = r.final(nid)
    assert end.type == E.NOTIFICATION_DELIVERED
    assert end.t == r.vt(morning, zone) and r.local(end.t, zone) == morning
    assert r.sim.explain(nid)["summary"] == (f"deferred: quiet hours 22:00–08:00 {zone.key}, delivered at "
                                              "08:00 local")


@pytest.mark.parametrize("window, at, delivered", [
    ({"start": "22:00", "end": "08:00"}, "2026-03-02 03:00", "2026-03-02 08:00"),   # after midnight
    ({"start": "22:00", "end": "08:00"}, "2026-03-02 22:00", "2026-03-03 08:00"),   # at its start
    ({"start": "22:00", "end": "08:00"}, "2026-03-02 21:59", "2026-03-02 21:59"),   # just before
    ({"start": "22:00", "end": "08:00"}, "2026-03-02 12:00", "2026-03-02 12:00"),   # daytime
    ({"start": "12:00", "end": "14:00"}, "2026-03-02 13:00", "2026-03-02 14:00"),   # within a day
    ({"start": "12:00", "end": "14:00"}, "2026-03-02 23:00", "2026-03-02 23:00"),   # outside it, at night
    ({"start": "12:00", "end": "14:00"}, "2026-03-02 14:00", "2026-03-02 14:00"),   # its end is outside
])
def test_quiet_hours_crossing_midnight_and_within_a_day(window, at, delivered):
    r = Run(scenario(start="2026-03-01T12:00:00Z", settings={"quiet_hours": window}))
    r.ship(r.vt(at))
    r.sim.run()
    [nid] = r.notes(category="shipping", channel="push")
    end = r.final(nid)
    assert end.type == E.NOTIFICATION_DELIVERED and r.local(end.t) == delivered
    assert bool(r.of(E.NOTIFICATION_DEFERRED, nid)) == (at != delivered)


def test_quiet_hours_never_hold_email_or_in_app():
    r = Run(scenario(settings={"quiet_hours": QUIET},
                     policies={"transactional": {"order.shipped": ["email", "in_app"]}}))
    r.sim.run_until(r.vt("2026-03-02 23:00"))
    r.sim.kernel.emit(E.ORDER_PLACED, S1, {"order": "o-1", "cart": "c-1", "items": [], "subtotal": 0, "shipping": 0,
                                    "total": 0, "coupon": None})
    r.ship(r.vt("2026-03-02 23:00"))
    r.sim.run()
    ids = r.notes(category="shipping")
    assert len(ids) == 2
    for nid in ids:
        assert r.final(nid).type == E.NOTIFICATION_DELIVERED and r.final(nid).t == r.vt("2026-03-02 23:00")
    assert not r.of(E.NOTIFICATION_DEFERRED)


def test_an_sms_outside_the_send_window_waits_for_it():
    r = Run(scenario(events=[promo("2026-03-02T21:30:00+01:00", ["sms"])],
                     settings={"categories": {"promotions": {"sms": True}}}))
    r.sim.run()
    [nid] = r.notes(channel="sms")
    [d] = r.of(E.NOTIFICATION_DEFERRED, nid)
    assert (d.data["reason"], d.data["rule"]) == ("send_window", "send_windows[0]")
    assert d.data["until"] == "2026-03-03T07:00:00.000Z"  # 08:00 in Berlin


# --- critical messages -------------------------------------------------------------------------------

def test_critical_messages_are_delivered_inside_quiet_hours():
    r = Run(scenario(settings={"quiet_hours": QUIET}, events=[{"at": "22h", "shopper": S1, "signin": True}]))
    r.sim.run()  # 22:00 UTC is 23:00 in Berlin
    ids = r.notes(category="account_security")
    assert {r.final(n).data["channel"] for n in ids} == {"email", "push"}
    for nid in ids:
        end = r.final(nid)
        assert end.type == E.NOTIFICATION_DELIVERED and r.local(end.t) == "2026-03-02 23:00"
    assert not r.of(E.NOTIFICATION_DEFERRED)


def test_critical_messages_ignore_switched_off_channels_and_categories():
    off = {"channels": {"push": False, "email": False},
           "categories": {"account_security": {"push": False, "email": False, "frequency": "off"}}}
    r = Run(scenario(settings=off, events=[{"at": "10h", "shopper": S1, "signin": True}]))
    r.sim.run()
    assert [r.final(n).type for n in r.notes(category="account_security")] == [E.NOTIFICATION_DELIVERED] * 2


@pytest.mark.parametrize("sms_opt_in, to", [(0.0, "in_app"), (1.0, "sms")])
def test_unreachable_critical_push_is_rerouted_to_a_channel_not_yet_used(sms_opt_in, to):
    r = Run(scenario(push_permission=0.0, sms_opt_in=sms_opt_in,
                     events=[{"at": "10h", "shopper": S1, "signin": True}]))
    r.sim.run()
    [email] = r.notes(category="account_security", channel="email")
    [push] = r.notes(category="account_security", channel="push")
    assert r.final(email).data["channel"] == "email"
    end = r.final(push)
    assert end.type == E.NOTIFICATION_DELIVERED
    assert (end.data["channel"], end.data["rerouted_from"]) == (to, "push")  # not email: it already has it
    ex = r.sim.explain(push)
    assert (ex["channel"], ex["requested_channel"]) == (to, "push")
    assert any(s.startswith("rerouted: push cannot reach the shopper") for s in ex["sentences"])
    assert r.sim.inbox(S1, to)[0].id == push


def test_critical_reroute_never_doubles_a_channel():
    """Email unverified, no app, no SMS: email falls back to in-app; push then has nowhere left to go."""
    r = Run(scenario(app=False, email=0.0, sms_opt_in=0.0,
                     events=[{"at": "10h", "shopper": S1, "signin": True}]))
    r.sim.run()
    [email] = r.notes(category="account_security", channel="email")
    [push] = r.notes(category="account_security", channel="push")
    assert (r.final(email).data["channel"], r.final(email).data["rerouted_from"]) == ("in_app", "email")
    end = r.final(push)
    assert (end.type, end.data["reason"], end.data["rule"]) == (E.NOTIFICATION_SUPPRESSED, "unreachable",
                                                               "reach.app")
    assert len(r.sim.inbox(S1, "in_app")) == 1


def test_password_change_sms_unreachable_goes_by_push():
    r = Run(scenario(sms_opt_in=0.0, events=[{"at": "10h", "shopper": S1, "password_change": True}]))
    r.sim.run()
    [sms] = r.notes(category="account_security", channel="sms")
    end = r.final(sms)
    assert (end.type, end.data["channel"], end.data["rerouted_from"]) == (E.NOTIFICATION_DELIVERED, "push", "sms")


def test_non_critical_messages_are_never_rerouted():
    r = Run(scenario(push_permission=0.0))
    r.ship(10 * HOUR)
    r.sim.run()
    [nid] = r.notes(category="shipping")
    end = r.final(nid)
    assert (end.type, end.data["reason"], end.data["rule"]) == (E.NOTIFICATION_SUPPRESSED, "unreachable",
                                                               "push_os_permission")


# --- classes: transactional vs marketing -------------------------------------------------------------

def test_transactional_is_suppressed_by_its_category_toggle():
    r = Run(scenario(settings={"categories": {"shipping": {"push": False}}}))
    r.ship(10 * HOUR)
    r.sim.run()
    end = r.final(r.notes(category="shipping")[0])
    assert (end.type, end.data["reason"], end.data["rule"]) == (
        E.NOTIFICATION_SUPPRESSED, "category_channel_off", "categories.shipping.push")


def test_transactional_is_suppressed_by_the_channel_master_switch():
    r = Run(scenario(settings={"channels": {"push": False}}))
    r.ship(10 * HOUR)
    r.sim.run()
    end = r.final(r.notes(category="shipping")[0])
    assert (end.type, end.data["reason"], end.data["rule"]) == (E.NOTIFICATION_SUPPRESSED, "channel_off",
                                                               "channels.push")


def test_transactional_does_not_need_marketing_consent():
    r = Run(scenario(marketing=0.0, personalization=0.0))
    r.ship(10 * HOUR)
    r.sim.run()
    end = r.final(r.notes(category="shipping")[0])
    assert end.type == E.NOTIFICATION_DELIVERED
    assert "consent" not in [s["step"] for s in end.data["trace"]]


def test_marketing_is_suppressed_without_consent():
    r = Run(scenario(marketing=0.0, events=[promo("10h")]))
    r.sim.run()
    end = r.final(r.notes(category="promotions")[0])
    assert (end.type, end.data["reason"], end.data["rule"]) == (
        E.NOTIFICATION_SUPPRESSED, "no_marketing_consent", "marketing_consent")


def test_recommendations_also_need_personalization():
    r = Run(scenario(personalization=0.0, events=[promo("10h", category="recommendations"),
                                                  promo("11h", category="promotions")]))
    r.sim.run()
    rec = r.final(r.notes(category="recommendations")[0])
    assert (rec.type, rec.data["reason"], rec.data["rule"]) == (
        E.NOTIFICATION_SUPPRESSED, "no_personalization_consent", "personalization")
    assert r.final(r.notes(category="promotions")[0]).type == E.NOTIFICATION_DELIVERED


# --- caps --------------------------------------------------------------------------------------------

def test_caps_suppress_the_one_over_the_cap_and_allow_again_after_the_window():
    caps = {"caps": [{"channel": "push", "max": 2, "per": "4h", "name": "push_4h"}]}
    r = Run(scenario(policies=caps, events=[promo(f"{h}h", title=f"m{h}") for h in (10, 11, 12, 13, 14)]))
    r.sim.run()
    ends = [r.final(n) for n in r.notes(category="promotions")]
    assert [e.type.split(".")[1] for e in ends] == ["delivered", "delivered", "suppressed", "suppressed",
                                                    "delivered"]
    assert (ends[2].data["reason"], ends[2].data["rule"]) == ("frequency_cap", "push_4h")
    # 14h: the 10h delivery has left the window (t - 4h, t]; the 11h one is still in it, so one slot is free.


def test_caps_count_marketing_only_and_per_channel():
    caps = {"caps": [{"channel": "push", "max": 1, "per": "24h"}]}
    r = Run(scenario(policies=caps, events=[promo("10h"), promo("11h", ["email"]), promo("12h")]))
    r.ship(10 * HOUR + MINUTE)  # a transactional push in between counts for nothing
    r.sim.run()
    ends = [r.final(n) for n in r.notes()]
    kinds = [(e.data["category"], e.data["channel"], e.type.split(".")[1]) for e in ends]
    assert kinds == [("promotions", "push", "delivered"), ("shipping", "push", "delivered"),
                     ("promotions", "email", "delivered"), ("promotions", "push", "suppressed")]
    assert ends[-1].data["rule"] == "caps[0]"


def test_a_category_cap_counts_only_its_category():
    caps = {"caps": [{"channel": "push", "max": 1, "per": "24h", "category": "flash_sales"}]}
    r = Run(scenario(policies=caps, events=[promo("10h", category="flash_sales"), promo("11h"),
                                            promo("12h", category="flash_sales")]))
    r.sim.run()
    assert [r.final(n).type.split(".")[1] for n in r.notes()] == ["delivered", "delivered", "suppressed"]


# --- digests -----------------------------------------------------------------------------------------

def test_a_daily_digest_goes_out_at_the_local_digest_time_with_its_items():
    s = {"categories": {"promotions": {"frequency": "daily"}, "flash_sales": {"frequency": "daily"}},
         "digest": {"time": "07:30"}}
    r = Run(scenario(settings=s, events=[promo("10h"), promo("14h", category="flash_sales")]))
    r.sim.run()
    items = r.notes(kind="message")
    digested = [r.final(n) for n in items]
    assert [e.type for e in digested] == [E.NOTIFICATION_DIGESTED] * 2
    [did] = {e.data["digest"] for e in digested}
    [req] = r.of(E.NOTIFICATION_REQUESTED, did)
    assert (req.data["category"], req.data["kind"], req.data["channel"]) == ("digest", "digest", "push")
    assert r.local(req.t) == "2026-03-03 07:30"
    end = r.final(did)
    assert end.type == E.NOTIFICATION_DELIVERED and end.t == req.t
    assert end.data["digest_of"] == items and end.data["dropped"] == []
    [msg] = r.sim.inbox(S1, "push")
    assert msg.id == did and list(msg.digest_of) == items
    assert r.sim.explain(items[0])["summary"].startswith(f"batched into the daily push digest {did}")


def test_a_weekly_digest_goes_out_on_the_digest_weekday():
    s = {"categories": {"promotions": {"frequency": "weekly"}}, "digest": {"time": "18:00", "weekday": "thu"}}
    r = Run(scenario(duration="6d", settings=s, events=[promo("10h"), promo("2d")]))  # Mon 2 and Wed 4 March
    r.sim.run()
    items = r.notes(kind="message")
    [did] = {r.final(n).data["digest"] for n in items}
    end = r.final(did)
    assert end.type == E.NOTIFICATION_DELIVERED
    assert r.local(end.t) == "2026-03-05 18:00"  # Thursday
    assert end.data["digest_of"] == items


def test_an_item_switched_off_before_the_digest_is_dropped_from_it():
    s = {"categories": {"promotions": {"frequency": "daily"}, "flash_sales": {"frequency": "daily"}}}
    r = Run(scenario(settings=s, events=[promo("10h"), promo("11h", category="flash_sales")]))
    r.sim.run_until(20 * HOUR)
    r.sim.apply_settings_change(S1, {"categories": {"flash_sales": {"push": False}}})
    r.sim.run()
    promo_id, flash_id = r.notes(kind="message")
    did = r.final(promo_id).data["digest"]
    end = r.final(did)
    assert end.type == E.NOTIFICATION_DELIVERED
    assert end.data["digest_of"] == [promo_id]
    assert end.data["dropped"] == [{"id": flash_id, "reason": "category_channel_off",
                                    "rule": "categories.flash_sales.push"}]
    assert "dropped from it" in r.sim.explain(flash_id)["summary"]


def test_a_digest_deferred_by_quiet_hours_still_lists_what_it_dropped():
    """Dropped at 07:00 (the digest time), delivered at 08:00 (quiet hours end): `dropped` keeps the item."""
    s = {"categories": {"promotions": {"frequency": "daily"}, "flash_sales": {"frequency": "daily"}},
         "digest": {"time": "07:00"}, "quiet_hours": QUIET}
    r = Run(scenario(settings=s, events=[promo("10h"), promo("11h", category="flash_sales")]))
    r.sim.run_until(20 * HOUR)
    r.sim.apply_settings_change(S1, {"categories": {"flash_sales": {"push": False}}})
    r.sim.run()
    promo_id, flash_id = r.notes(kind="message")
    did = r.final(promo_id).data["digest"]
    [deferred] = r.of(E.NOTIFICATION_DEFERRED, did)
    assert r.local(deferred.t) == "2026-03-03 07:00"
    end = r.final(did)
    assert (end.type, r.local(end.t)) == (E.NOTIFICATION_DELIVERED, "2026-03-03 08:00")
    assert end.data["digest_of"] == [promo_id]
    assert [d["id"] for d in end.data["dropped"]] == [flash_id]


@pytest.mark.parametrize("start, time, at_utc, local", [
    # 02:30 does not exist in New York on 8 March 2026: the digest goes when the clocks jump (03:00).
    ("2026-03-07T00:00:00Z", "02:30", "2026-03-08T07:00:00.000Z", "2026-03-08 03:00"),
    # 01:30 happens twice on 1 November 2026: the first one counts.
    ("2026-10-31T00:00:00Z", "01:30", "2026-11-01T05:30:00.000Z", "2026-11-01 01:30"),
])
def test_a_digest_time_across_dst_in_new_york(start, time, at_utc, local):
    s = {"categories": {"promotions": {"frequency": "daily"}}, "digest": {"time": time}}
    r = Run(scenario(start=start, tz=NY.key, settings=s, events=[promo("17h")]))  # 12:00 or 13:00 local
    r.sim.run()
    [item] = r.notes(kind="message")
    digested = r.final(item)
    assert digested.data["at"] == at_utc
    end = r.final(digested.data["digest"])
    assert end.type == E.NOTIFICATION_DELIVERED and r.local(end.t, NY) == local
    assert r.sim.iso(end.t) == at_utc


def test_explain_a_digest_that_waited_for_quiet_hours():
    s = {"categories": {"promotions": {"frequency": "daily"}}, "digest": {"time": "07:00"}, "quiet_hours": QUIET}
    r = Run(scenario(settings=s, events=[promo("10h")]))
    r.sim.run()
    [item] = r.notes(kind="message")
    did = r.final(item).data["digest"]
    ex = r.sim.explain(did)
    assert ex["summary"] == ("deferred: quiet hours 22:00–08:00 Europe/Berlin, delivered at 08:00 local, "
                             "carrying 1 message(s)")
    assert ex["digest_of"] == [item] and all(isinstance(x, str) and x for x in ex["sentences"])
    assert r.sim.explain(item)["summary"] == f"batched into the daily push digest {did}, delivered at 08:00 local"


def test_a_digest_with_nothing_left_is_suppressed_digest_empty():
    s = {"categories": {"promotions": {"frequency": "daily"}}}
    r = Run(scenario(settings=s, events=[promo("10h")]))
    r.sim.run_until(20 * HOUR)
    r.sim.apply_settings_change(S1, {"marketing_consent": False})
    r.sim.run()
    [item] = r.notes(kind="message")
    did = r.final(item).data["digest"]
    end = r.final(did)
    assert (end.type, end.data["reason"], end.data["rule"]) == (E.NOTIFICATION_SUPPRESSED, "digest_empty", "digest")
    assert r.sim.inbox(S1) == []
    assert r.sim.explain(did)["outcome"] == "suppressed"


# --- collapse ----------------------------------------------------------------------------------------

def test_a_newer_update_for_the_same_order_supersedes_the_deferred_older_one():
    r = Run(scenario(settings={"quiet_hours": QUIET}))
    r.ship(r.vt("2026-03-02 23:00"), E.ORDER_SHIPPED)
    r.ship(r.vt("2026-03-03 01:00"), E.SHIPMENT_OUT_FOR_DELIVERY)
    r.ship(r.vt("2026-03-03 02:00"), E.ORDER_SHIPPED, order="o-2")  # another order: not collapsed
    r.sim.run()
    older, newer, other = r.notes(category="shipping")
    opening = r.vt("2026-03-03 08:00")
    a, b, c = r.final(older), r.final(newer), r.final(other)
    assert (a.type, a.t, a.data["reason"], a.data["rule"]) == (E.NOTIFICATION_SUPPRESSED, opening, "superseded",
                                                               "dedupe.collapse")
    assert (b.type, b.t) == (E.NOTIFICATION_DELIVERED, opening)
    assert (c.type, c.t) == (E.NOTIFICATION_DELIVERED, opening)
    assert [m.id for m in r.sim.inbox(S1, "push")] == [newer, other]
    assert newer in r.sim.explain(older)["summary"]


# --- inbox, mark_read, keep_messages -----------------------------------------------------------------

def test_inbox_lists_delivered_messages_oldest_first_unread():
    r = Run(scenario(events=[promo("10h", ["push", "in_app"]), promo("12h", ["in_app"]), promo("11h", ["email"])]))
    r.sim.run()
    delivered = [e.data["id"] for e in r.of(E.NOTIFICATION_DELIVERED)]
    box = r.sim.inbox(S1)
    assert [m.id for m in box] == delivered
    assert [(m.channel, m.t, m.category, m.kind) for m in box] == [
        ("push", 10 * HOUR, "promotions", "message"), ("in_app", 10 * HOUR, "promotions", "message"),
        ("email", 11 * HOUR, "promotions", "message"), ("in_app", 12 * HOUR, "promotions", "message")]
    assert [m.t for m in box] == sorted(m.t for m in box)
    opened = {e.data["id"] for e in r.of(E.NOTIFICATION_OPENED)}  # the shopper's own opens (engagement)
    assert [m.read for m in box] == [m.id in opened for m in box]
    assert [m.id for m in r.sim.inbox(S1, "in_app")] == [
        e.data["id"] for e in r.of(E.NOTIFICATION_DELIVERED) if e.data["channel"] == "in_app"]
    assert r.sim.inbox(S1, "sms") == []
    with pytest.raises(ValueError):
        r.sim.inbox(S1, "pigeon")


def test_mark_read_logs_opened_and_flips_read():
    r = Run(scenario(events=[promo("10h")]))
    r.sim.run_until(12 * HOUR)
    [msg] = r.sim.inbox(S1, "push")
    ev = r.sim.mark_read(msg.id)
    assert (ev.type, ev.t, ev.shopper, ev.data["id"]) == (E.NOTIFICATION_OPENED, 12 * HOUR, S1, msg.id)
    assert r.sim.inbox(S1, "push")[0].read is True
    r.sim.run()
    assert [e.data["id"] for e in r.of(E.NOTIFICATION_OPENED)] == [msg.id]


def test_mark_read_on_a_suppressed_notification_raises():
    r = Run(scenario(marketing=0.0, events=[promo("10h")]))
    r.sim.run_until(12 * HOUR)
    [nid] = r.notes()
    assert r.final(nid).type == E.NOTIFICATION_SUPPRESSED
    with pytest.raises(ValueError):
        r.sim.mark_read(nid)
    assert not r.of(E.NOTIFICATION_OPENED)


def test_mark_read_on_a_digested_or_deferred_notification_raises():
    s = {"categories": {"flash_sales": {"frequency": "daily"}}, "quiet_hours": QUIET}
    r = Run(scenario(settings=s, events=[promo("10h", category="flash_sales"), promo("22h")]))
    r.sim.run_until(23 * HOUR)
    digested, deferred = r.notes(kind="message")
    assert r.final(digested).type == E.NOTIFICATION_DIGESTED
    assert r.of(E.NOTIFICATION_DEFERRED, deferred) and r.final(deferred) is None
    for nid in (digested, deferred):
        with pytest.raises(ValueError):
            r.sim.mark_read(nid)
    assert not r.of(E.NOTIFICATION_OPENED)


def _log(keep: bool) -> tuple[Simulation, bytes]:
    sc = scenario(size=3, settings={"quiet_hours": QUIET, "categories": {"flash_sales": {"frequency": "daily"}}},
                  events=[promo("22h", ["push", "email"], shopper="all"),
                          promo("23h", ["push"], category="flash_sales", shopper="all"),
                          {"at": "23h", "shopper": S1, "signin": True}])
    sim = Simulation(sc, keep_messages=keep)
    buf = io.BytesIO()
    sim.subscribe(Recorder(sim.scenario.start_epoch, buf))
    sim.run()
    return sim, buf.getvalue()


def test_keep_messages_false_forgets_messages_but_logs_the_same_bytes():
    kept, log = _log(True)
    forgot, same = _log(False)
    assert log == same and b"notification.delivered" in log
    nid = kept.inbox(S1)[0].id
    with pytest.raises(LookupError):
        forgot.explain(nid)
    with pytest.raises(LookupError):
        forgot.inbox(S1)


def test_mark_read_without_kept_messages_raises_lookup_error():
    sim = Simulation(scenario(events=[promo("10h")]), keep_messages=False)
    sim.run_until(12 * HOUR)
    with pytest.raises(LookupError):
        sim.mark_read("s000001-n1")


# --- explain -----------------------------------------------------------------------------------------

def test_explain_covers_every_outcome_in_sentences():
    s = {"quiet_hours": QUIET, "categories": {"flash_sales": {"frequency": "daily"}}}
    r = Run(scenario(push_permission=0.0, sms_opt_in=0.0, settings=s, duration="3d",
                     events=[promo("10h", ["email"]),                                  # delivered
                             promo("11h", ["push"]),                                   # suppressed
                             promo("12h", ["email"], category="flash_sales"),          # digested
                             {"at": "13h", "shopper": S1, "signin": True}]))           # rerouted
    r.sim.run()
    outcomes = {}
    for nid in r.notes():
        ex = r.sim.explain(nid)
        assert ex["id"] == nid and ex["sentences"], ex
        assert all(isinstance(x, str) and x.strip() for x in ex["sentences"]), ex["sentences"]
        assert isinstance(ex["summary"], str) and ex["summary"] == ex["sentences"][-1]
        outcomes.setdefault(ex["outcome"], nid)
        if ex["requested_channel"] != ex["channel"]:
            outcomes["rerouted"] = nid
    assert {"delivered", "suppressed", "digested", "rerouted"} <= outcomes.keys()
    assert r.sim.explain(outcomes["suppressed"])["summary"].startswith("suppressed: ")


def test_explain_a_note_still_deferred():
    r = Run(scenario(settings={"quiet_hours": QUIET}))
    r.ship(r.vt("2026-03-02 23:00"))
    r.sim.run_until(r.vt("2026-03-03 07:00"))
    [nid] = r.notes()
    ex = r.sim.explain(nid)
    assert ex["outcome"] == "deferred"
    assert ex["summary"] == "deferred until 08:00 local"
    assert all(isinstance(x, str) and x for x in ex["sentences"])
    assert any(x.startswith("deferred: quiet hours 22:00–08:00 Europe/Berlin") for x in ex["sentences"])


def test_a_note_deferred_past_the_run_end_keeps_its_deferral_as_last_event():
    r = Run(scenario(duration="1d", settings={"quiet_hours": QUIET}))
    r.ship(r.vt("2026-03-02 23:00"))
    r.sim.run()
    [nid] = r.notes()
    assert r.final(nid) is None
    last = [e for e in r.events if e.data.get("id") == nid][-1]
    assert last.type == E.NOTIFICATION_DEFERRED and last.data["until"] > r.sim.iso(r.sim.end)
    assert r.sim.explain(nid)["outcome"] == "deferred"


def test_explain_unknown_id_raises_key_error():
    r = Run(scenario())
    r.sim.run()
    with pytest.raises(KeyError):
        r.sim.explain("s000001-n999")


# --- scripted messages -------------------------------------------------------------------------------

def test_scripted_notify_to_all_requests_one_notification_per_shopper_and_channel():
    r = Run(scenario(size=4, events=[promo("10h", ["email", "push", "in_app"], shopper="all")]))
    r.sim.run()
    req = r.of(E.NOTIFICATION_REQUESTED)
    pairs = [(e.shopper, e.data["channel"]) for e in req]
    assert sorted(pairs) == sorted((f"s00000{i}", ch) for i in range(1, 5) for ch in ("email", "push", "in_app"))
    assert all(e.t == 10 * HOUR and e.data["source"] == "scenario:events[0]" and e.data["kind"] == "message"
               for e in req)
    assert len({e.data["id"] for e in req}) == 12
    for e in req:
        assert r.final(e.data["id"]) is not None


def test_a_message_on_two_channels_reaches_both():
    r = Run(scenario(events=[promo("10h", ["email", "push"])]))
    r.sim.run()
    ends = [r.final(n) for n in r.notes()]
    assert [(e.data["channel"], e.type) for e in ends] == [("email", E.NOTIFICATION_DELIVERED),
                                                          ("push", E.NOTIFICATION_DELIVERED)]


def test_a_marketing_push_deferred_by_quiet_hours_is_delivered_when_they_end():
    r = Run(scenario(settings={"quiet_hours": QUIET}, events=[promo("22h")]))  # 23:00 Berlin
    r.sim.run()
    [nid] = r.notes()
    end = r.final(nid)
    assert len(r.of(E.NOTIFICATION_DEFERRED, nid)) == 1
    assert (end.type, r.local(end.t)) == (E.NOTIFICATION_DELIVERED, "2026-03-03 08:00")


# --- settings changes apply from their instant --------------------------------------------------------

def test_turning_push_off_applies_from_that_instant_only():
    r = Run(scenario(events=[promo("10h", title="before"), promo("14h", title="after")]))
    r.sim.run_until(12 * HOUR)
    before = r.notes()[0]
    assert r.final(before).type == E.NOTIFICATION_DELIVERED
    r.sim.apply_settings_change(S1, {"channels": {"push": False}})
    r.ship(13 * HOUR)
    r.sim.run()
    _, shipping, after = r.notes()
    assert r.final(before).t == 10 * HOUR  # untouched by the later change
    for nid in (shipping, after):
        end = r.final(nid)
        assert (end.type, end.data["reason"]) == (E.NOTIFICATION_SUPPRESSED, "channel_off")
    assert [m.id for m in r.sim.inbox(S1, "push")] == [before]


def test_a_deferred_push_is_decided_by_the_settings_at_its_retry():
    r = Run(scenario(settings={"quiet_hours": QUIET}))
    r.ship(r.vt("2026-03-02 23:00"))
    r.sim.run_until(r.vt("2026-03-03 06:00"))
    r.sim.apply_settings_change(S1, {"categories": {"shipping": {"push": False}}})
    r.sim.run()
    [nid] = r.notes()
    end = r.final(nid)
    assert (end.type, end.data["reason"], r.local(end.t)) == (E.NOTIFICATION_SUPPRESSED, "category_channel_off",
                                                              "2026-03-03 08:00")
