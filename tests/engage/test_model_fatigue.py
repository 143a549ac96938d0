"""Marketing fatigue is realistic (engage/engagement.py, engagement.fatigue): with many marketing messages her
own open rate per message falls, but never below about `floor` × the rested rate; it recovers after quiet time
(`half_life`); unsubscribes per message rise. Shoppers also leave without opening (the mail app's unsubscribe
button, push turned off in the phone's settings) and mark mail as spam (then all marketing email stops)."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from helpers.paths import ROOT
from helpers.runs import play
from helpers.scenarios import EMAIL_REACHABLE, tiny_scenario
from shopsim.contract.taxonomy import CATEGORY_CLASS, MARKETING, MARKETING_CATEGORIES
from shopsim.contract import events as E

HOUR = 3_600_000
DAY = 24 * HOUR
HUMAN = ("shopper", "user")
FLOOR = 0.3          # engagement.fatigue.floor's default, used below


def _marketing(category: str) -> bool:
    return category == "digest" or CATEGORY_CLASS[category] == MARKETING


# --- a controlled burst: an email every hour for a day, then quiet, then one more ------------------------

@pytest.fixture(scope="module")
def burst():
    """1,500 shoppers get a promotion email every hour from 0h to 23h, then nothing until one more at 60h.
    Open chances are flat over the day (by_local_hour all 1) and no mail goes through a proxy, so a message's
    human open rate is open.email (0.46) × her fatigue factor. Fatigue halves every 8h and bites fast
    (per_message 0.5, default floor 0.3); unsubscribe and complaint rates are raised to count them."""
    camps = {f"m{h:02d}": {"kind": "promotion", "at": f"{h}h" if h else "1m", "channels": ["email"],
                           "title": f"Deal {h}"} for h in [*range(24), 60]}
    _, events = play(tiny_scenario(
        size=1500, duration="3d", seed=31,
        population={**EMAIL_REACHABLE,
                    "mail_proxy": {"ios": 0.0, "android": 0.0, "web": 0.0}},
        behaviour={"sessions": {"per_day": 0.2}},
        engagement={"by_local_hour": [1.0] * 24, "fatigue": {"half_life": "8h", "per_message": 0.5},
                    "unsubscribe": {"email": 0.03}, "unsubscribe_unopened": {"email": 0.004}, "complaint": 0.002},
        campaigns=camps, policies={"caps": []}), keep=False)
    hour_of: dict[str, int] = {}
    delivered, opened, left = Counter(), defaultdict(set), Counter()
    for ev in events:
        d = ev.data
        if ev.type == E.NOTIFICATION_DELIVERED and d["category"] == "promotions":
            hour_of[d["id"]] = ev.t // HOUR
            delivered[ev.t // HOUR] += 1
        elif ev.type == E.NOTIFICATION_OPENED and d["source"] in HUMAN and d["id"] in hour_of:
            opened[hour_of[d["id"]]].add(d["id"])
        elif ev.type in (E.NOTIFICATION_UNSUBSCRIBED, E.NOTIFICATION_COMPLAINED) and d["id"] in hour_of:
            left[hour_of[d["id"]]] += 1
    assert sorted(delivered) == [*range(24), 60]

    def rate(hours, what):
        n = sum(delivered[h] for h in hours)
        return sum(len(what[h]) if what is opened else what[h] for h in hours) / n

    return delivered, opened, left, rate


def test_the_open_rate_per_message_falls_with_volume_but_stays_near_the_floor(burst):
    delivered, opened, _, rate = burst
    rested = rate(range(3), opened)
    late = rate(range(12, 24), opened)
    # Seed 31 measured: rested (messages 1-3, load <= 3) 0.452 on 4,449; late (messages 13-24) 0.146 on
    # 10,748 = 0.32 × rested, just above floor × rested (0.136). SE of late ~0.003.
    assert abs(rested - 0.46) < 0.04, rested
    assert late < 0.5 * rested, (rested, late)
    assert late > 0.85 * FLOOR * rested, (rested, late)
    for h in range(24):   # every single message, even the most tired: min measured 0.119 on 927 (SE 0.011)
        assert len(opened[h]) / delivered[h] > 0.6 * FLOOR * rested, (h, len(opened[h]), delivered[h])


def test_the_open_rate_recovers_after_quiet_time(burst):
    delivered, opened, _, rate = burst
    rested, tired, after_quiet = rate(range(3), opened), rate([23], opened), rate([60], opened)
    # 37h of quiet is 4.6 half-lives: her load is back under `free`. Measured: 0.452 rested, 0.127 at 23h,
    # 0.452 at 60h (655 delivered, SE 0.019); the assert needs 0.85 × rested.
    assert after_quiet > 0.85 * rested and after_quiet > 2 * tired, (rested, tired, after_quiet)


def test_unsubscribes_per_message_rise_with_volume(burst):
    _, _, left, rate = burst
    early, late = rate(range(3), left), rate(range(12, 24), left)
    # Unsubscribes (any method) and complaints per delivered: measured 0.0187 (83 on 4,449) for messages 1-3
    # vs 0.041 (441 on 10,748) for 13-24 (2.2x, while opens fell 3x); the assert needs 1.5x.
    assert late > 1.5 * early, (early, late)


# --- heavy_promotion.yaml: a push and an email every two hours for a week --------------------------------

@pytest.fixture(scope="module")
def heavy():
    sim, events = play((ROOT / "scenarios" / "heavy_promotion.yaml").read_text(), keep=False)
    return sim, events


def test_heavy_promotion_daily_human_open_rate_falls_to_a_floor_that_is_not_zero(heavy):
    _, events = heavy
    day_of: dict[str, int] = {}
    delivered, opened = Counter(), defaultdict(set)
    for ev in events:
        d = ev.data
        if ev.type == E.NOTIFICATION_DELIVERED and d["category"] == "promotions":
            day_of[d["id"]] = ev.t // DAY
            delivered[ev.t // DAY] += 1
        elif ev.type == E.NOTIFICATION_OPENED and d["source"] in HUMAN and d["id"] in day_of:
            opened[day_of[d["id"]]].add(d["id"])
    daily = [len(opened[day]) / delivered[day] for day in range(7)]
    # Measured (distinct promotions opened by her / delivered, by day of delivery): 0.157 0.085 0.073 0.060
    # 0.046 0.038 0.044, on 5,622 down to 863 deliveries a day (SE on the last days ~0.006).
    assert daily[-1] < 0.6 * daily[0], daily
    assert max(daily[4:]) < min(daily[:2]), daily
    # A floor, not a slide to zero: the last three days are all well above zero and level with one another
    # (measured within 1.21x; a rate still halving every day or two would not be).
    assert min(daily[4:]) > 0.02, daily
    assert max(daily[4:]) < 2.0 * min(daily[4:]), daily


def test_heavy_promotion_unsubscribes_per_delivered_message_rise(heavy):
    _, events = heavy
    delivered, left = Counter(), Counter()
    for ev in events:
        if ev.type == E.NOTIFICATION_DELIVERED and ev.data["category"] == "promotions":
            delivered[ev.t // DAY] += 1
        elif ev.type in (E.NOTIFICATION_UNSUBSCRIBED, E.NOTIFICATION_COMPLAINED):
            left[ev.t // DAY] += 1
    first = left[0] / delivered[0]
    later = sum(left[d] for d in range(3, 7)) / sum(delivered[d] for d in range(3, 7))
    # Measured (unsubscribes and complaints per promotion delivered): day 1 0.0089 (50 on 5,622), days 4-7
    # 0.031 (192 on 6,187), 3.5x; the assert needs 2x.
    assert later > 2 * first, (first, later)


def test_shoppers_unsubscribe_without_opening_by_the_mail_button_or_the_phone_settings(heavy):
    sim, events = heavy
    opened: set[str] = set()                 # ids she opened herself
    channel_of: dict[str, str] = {}
    push_off_at: dict[str, int] = {}
    methods = Counter()
    pending_os: dict[str, str] = {}          # shopper -> id of the os_settings unsubscribe awaiting its settings line
    for ev in events:
        d, s = ev.data, ev.shopper
        if ev.type == E.NOTIFICATION_DELIVERED:
            channel_of[d["id"]] = d["channel"]
            if d["channel"] == "push" and s in push_off_at:
                pytest.fail(f"push {d['id']} delivered to {s} after she turned push off at {push_off_at[s]}")
        elif ev.type == E.NOTIFICATION_OPENED and d["source"] in HUMAN:
            opened.add(d["id"])
        elif ev.type == E.NOTIFICATION_UNSUBSCRIBED:
            m = d["method"]
            methods[d["channel"], m] += 1
            assert d["channel"] == channel_of[d["id"]]
            if m == "link":
                assert d["id"] in opened, f"{d['id']}: unsubscribed by its link without opening it"
            elif m == "list_unsubscribe":
                assert d["channel"] == "email" and d["id"] not in opened, ev
            elif m == "os_settings":
                assert d["channel"] == "push" and d["id"] not in opened, ev
                pending_os[s] = d["id"]
            else:
                pytest.fail(f"unknown method {m}")
        elif ev.type == E.SETTINGS_CHANGED and s in pending_os:
            nid = pending_os.pop(s)
            assert d["source"] == "os_settings" and d["settings"]["push_os_permission"] is False, (nid, ev)
            push_off_at[s] = ev.t
    assert not pending_os
    # Measured: email list_unsubscribe 123, push os_settings 150, email link 95, push link 9.
    assert methods["email", "list_unsubscribe"] > 40 and methods["push", "os_settings"] > 40, methods
    assert methods["email", "link"] > 20, methods
    assert set(methods) <= {("email", "list_unsubscribe"), ("push", "os_settings"), ("email", "link"),
                            ("push", "link")}, methods
    # Her settings at the end say so too.
    for s in push_off_at:
        assert sim.shopper(s).settings["push_os_permission"] is False


def test_a_spam_complaint_stops_all_marketing_email(heavy):
    _, events = heavy
    complained_at: dict[str, int] = {}
    awaiting: set[str] = set()
    n = 0
    for ev in events:
        d, s = ev.data, ev.shopper
        if ev.type == E.NOTIFICATION_COMPLAINED:
            assert d["channel"] == "email" and _marketing(d["category"]), ev
            awaiting.add(s)
            complained_at.setdefault(s, ev.t)
            n += 1
        elif ev.type == E.SETTINGS_CHANGED and s in awaiting:
            awaiting.discard(s)
            assert d["source"] == "unsubscribe", ev
            for c in MARKETING_CATEGORIES:
                assert d["settings"]["categories"][c]["email"] is False, (c, ev)
        elif ev.type == E.NOTIFICATION_DELIVERED and s in complained_at and d["channel"] == "email":
            assert not _marketing(d["category"]), f"marketing email {d['id']} after {s} complained"
    assert not awaiting
    assert n > 20, n          # measured 59 complaints
