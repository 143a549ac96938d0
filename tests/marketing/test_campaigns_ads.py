"""Campaigns (local send times, audiences, flash-sale stock and end) and retargeting ads (consent, cap)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from helpers.paths import ROOT
from helpers.runs import play, replay_events
from helpers.scenarios import tiny_scenario
from shopsim.validate import load_scenario
from shopsim.contract import events as E
from helpers.properties import PROPS, assert_invariants



def _local(start: str, ev, tz: str) -> datetime:
    t0 = datetime.fromisoformat(start.replace("Z", "+00:00"))
    return datetime.fromtimestamp(t0.timestamp() + ev.t / 1000, timezone.utc).astimezone(ZoneInfo(tz))


def test_a_local_time_campaign_reaches_each_shopper_at_noon_in_her_zone():
    sc = load_scenario(ROOT / "scenarios" / "flash_sale.yaml")
    events = replay_events(sc)
    tz = {e.shopper: e.data["tz"] for e in events if e.type == E.SHOPPER_CREATED}
    sent = [e for e in events if e.type == E.NOTIFICATION_REQUESTED and e.data["source"] == "campaign:tuesday_flash"]
    assert len({e.shopper for e in sent}) == sc.population.size  # no audience filter: everyone
    assert len({e.t for e in sent}) >= 3  # several zones, several instants
    for e in sent:
        local = _local(sc.run.start, e, tz[e.shopper])
        assert (local.strftime("%a"), local.hour, local.minute) == ("Tue", 12, 0)


def test_flash_sale_stock_and_end_hold():
    sc = load_scenario(ROOT / "scenarios" / "flash_sale.yaml")
    events = replay_events(sc)
    issued = {e.data["coupon"]: e for e in events if e.type == E.COUPON_ISSUED
              and e.data["source"] == "campaign:tuesday_flash"}
    redeemed = [e for e in events if e.type == E.COUPON_REDEEMED and e.data["coupon"] in issued]
    assert issued and len(redeemed) == 10  # the sale's stock, used up
    # After the last coupon went, shoppers who had seen a still-valid code ordered at full price.
    seen = {e.data["coupon"]: e.t for e in events if e.type == E.COUPON_SEEN and e.data["coupon"] in issued}
    holders = {issued[c].shopper: issued[c] for c in seen}
    gone = max(r.t for r in redeemed)
    start = datetime.fromisoformat(sc.run.start.replace("Z", "+00:00")).timestamp() * 1000
    full_price = [e for e in events if e.type == E.ORDER_PLACED and e.t > gone and e.shopper in holders
                  and e.data["coupon"] is None and e.t < datetime.fromisoformat(
                      holders[e.shopper].data["expires"].replace("Z", "+00:00")).timestamp() * 1000 - start]
    assert full_price
    for r in redeemed:
        assert r.t < datetime.fromisoformat(issued[r.data["coupon"]].data["expires"].replace("Z", "+00:00")).timestamp() * 1000 - \
            datetime.fromisoformat(sc.run.start.replace("Z", "+00:00")).timestamp() * 1000
    expired = {e.data["coupon"] for e in events if e.type == E.COUPON_EXPIRED}
    assert set(issued) - {r.data["coupon"] for r in redeemed} == expired & set(issued)


def test_audiences_filter_by_segment_and_country():
    sc = tiny_scenario(size=40, duration="2d", campaigns={
        "de_only": {"kind": "promotion", "at": "1h", "channels": ["in_app"], "title": "Hallo",
                    "audience": {"countries": ["DE"]}},
        "bargain": {"kind": "promotion", "at": "2h", "channels": ["in_app"], "title": "Deals",
                    "audience": {"segments": ["bargain"]}}})
    events = replay_events(sc)
    who = {e.shopper: e.data for e in events if e.type == E.SHOPPER_CREATED}
    by = defaultdict(set)
    for e in events:
        if e.type == E.NOTIFICATION_REQUESTED and e.data["source"].startswith("campaign:"):
            by[e.data["source"]].add(e.shopper)
    assert by["campaign:de_only"] == {s for s, d in who.items() if d["country"] == "DE"}
    assert by["campaign:bargain"] == {s for s, d in who.items() if d["segment"] == "bargain"}


def test_recommendations_need_views_and_personalization_consent():
    sc = tiny_scenario(size=40, duration="3d", population={"consent": {"personalization": 0.5}},
                       campaigns={"recs": {"kind": "recommendations", "at": "2d", "channels": ["email"],
                                           "title": "Picked for you"}})
    events = replay_events(sc)
    consent = {e.shopper: e.data["settings"] for e in events if e.type == E.SHOPPER_CREATED}
    viewed_before = {e.shopper for e in events if e.type == E.PRODUCT_VIEWED and e.t < 2 * 86_400_000}
    asked = {e.data["id"]: e.shopper for e in events if e.type == E.NOTIFICATION_REQUESTED
             and e.data["source"] == "campaign:recs"}
    assert set(asked.values()) == viewed_before
    outcome = {e.data["id"]: e for e in events if e.type in E.NOTIFICATION_OUTCOMES and e.data["id"] in asked}
    for nid, shopper in asked.items():
        if not consent[shopper]["marketing_consent"]:
            assert outcome[nid].data["reason"] == "no_marketing_consent"
        elif not consent[shopper]["personalization"]:
            assert outcome[nid].data["reason"] == "no_personalization_consent"
    delivered = [e for e in outcome.values() if e.type == E.NOTIFICATION_DELIVERED]
    assert delivered and all("Picked for you" in e.data["title"] or e.data["title"] for e in delivered)


ads_scenarios = st.builds(
    lambda seed, personalization, per_day, cap, click: tiny_scenario(
        size=15, duration="4d", seed=seed, population={"consent": {"personalization": personalization}},
        ads={"enabled": True, "per_day": per_day, "cap": {"max": cap, "per": "24h"}, "click": click}),
    st.integers(0, 10_000), st.sampled_from([0.0, 0.5, 1.0]), st.floats(0.5, 20), st.integers(0, 5),
    st.sampled_from([0.0, 0.3]))


@PROPS
@given(ads_scenarios, st.lists(st.tuples(st.integers(0, 14), st.booleans(), st.floats(0, 1, exclude_max=True)),
                               max_size=4))
def test_ads_only_with_personalization_consent_and_under_their_cap(sc, flips):
    from shopsim.simulation import Simulation

    sim = Simulation(sc)
    events: list = []
    sim.subscribe(events.extend)
    for who, value, frac in sorted(flips, key=lambda f: f[2]):
        sim.run_until(int(frac * sim.end))
        sim.apply_settings_change(who, {"personalization": value})
    sim.run()
    # ads_need_personalization, ads_under_cap, and an ad click follows its impression (engagement), with
    # every other invariant
    assert_invariants(sim, events)
    if sc.population.consent.personalization == 0.0 and not any(v for _, v, _ in flips):
        assert not any(e.type == E.AD_IMPRESSION for e in events)


def test_an_ad_click_can_bring_the_shopper_back_and_is_attributed():
    sc = tiny_scenario(size=40, duration="6d", seed=4, ads={"enabled": True, "per_day": 6, "click": 0.5},
                       population={"consent": {"personalization": 1.0}})
    events = replay_events(sc)
    clicks = {e.data["ad"] for e in events if e.type == E.AD_CLICKED}
    visits = [e for e in events if e.type == E.SESSION_STARTED and e.data["source"].startswith("click:")
              and "-a" in e.data["source"]]
    assert clicks and visits and {v.data["source"][6:] for v in visits} <= clicks
    attributed = Counter(e.data["attributed_to"] for e in events if e.type == E.ORDER_PLACED)
    assert any(a in clicks for a in attributed)


def test_a_price_drop_changes_the_price_shoppers_see_and_pay_from_its_instant():
    sc = tiny_scenario(size=60, duration="4d", seed=6, catalogue={"products": 20, "stores": 3},
                       campaigns={"drop": {"kind": "price_drop", "at": "2d", "channels": ["in_app"],
                                           "title": "Price drop", "products": ["p00001", "p00002"], "discount": 25,
                                           "audience": {"viewed": True}}})
    events = replay_events(sc)
    changed = {e.data["product"]: e for e in events if e.type == E.PRODUCT_PRICE_CHANGED}
    assert set(changed) == {"p00001", "p00002"}
    for pid, ch in changed.items():
        assert round(ch.data["price"] * 100) == round(round(ch.data["old_price"] * 100) * 0.75)
        views = [e for e in events if e.type == E.PRODUCT_VIEWED and e.data["product"] == pid]
        assert {e.data["price"] for e in views if e.t < ch.t} <= {ch.data["old_price"]}
        assert {e.data["price"] for e in views if e.t >= ch.t} == {ch.data["price"]}
        for e in events:
            if e.type == E.ORDER_PLACED and e.t > ch.t:
                for item in e.data["items"]:
                    if item["product"] == pid:
                        assert item["price"] == ch.data["price"]
    told = [e for e in events if e.type == E.NOTIFICATION_DELIVERED and e.data["title"]
            and e.data["id"] in {r.data["id"] for r in events if r.type == E.NOTIFICATION_REQUESTED
                                 and r.data["source"] == "campaign:drop"}]
    assert told and all(e.t >= min(c.t for c in changed.values()) for e in told)


def test_a_flash_sale_held_by_quiet_hours_lasts_from_its_delivery():
    """The sale's end (and its coupon's expiry) counts from when the message reaches the shopper: a push held
    overnight must not arrive with a coupon that expired before it was issued."""
    sc = {"schema_version": 1, "run": {"name": "late", "seed": 1, "duration": "2d"},
          "population": {"size": 1, "locales": {"de_DE": {"share": 1.0, "time_zones": {"Europe/Berlin": 1.0}}},
                         "platforms": {"android": 1.0},
                         "consent": {"marketing_consent": 1.0, "push_os_permission": {"android": 1.0}},
                         "settings": {"quiet_hours": {"start": "22:00", "end": "08:00"}}},
          "campaigns": {"late": {"kind": "flash_sale", "at": "21h30m", "channels": ["push"], "title": "One hour only",
                                 "ends": "1h", "incentive": {"type": "percent", "value": 20, "prefix": "LATE"}}}}
    _, events = play(sc)
    deferred = [e for e in events if e.type == E.NOTIFICATION_DEFERRED]
    delivered = [e for e in events if e.type == E.NOTIFICATION_DELIVERED and e.data["category"] == "flash_sales"]
    issued = [e for e in events if e.type == E.COUPON_ISSUED]
    assert deferred and delivered and issued
    assert issued[0].t == delivered[0].t  # issued with the delivery, at 08:00 Berlin
    start = datetime(2026, 3, 2, tzinfo=timezone.utc).timestamp()
    expires = datetime.fromisoformat(issued[0].data["expires"].replace("Z", "+00:00")).timestamp()
    assert (expires - start) * 1000 == delivered[0].t + 3_600_000
    assert "09:00" in delivered[0].data["body"] or "09:00" in (delivered[0].data["title"] or "")
