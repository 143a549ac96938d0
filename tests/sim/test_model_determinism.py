"""Determinism of the shopper model: devices, intent, fatigue, proxies, coupons seen or applied, surveys. The same
scenario and seed give byte-identical logs (also under another PYTHONHASHSEED), and the arms of an experiment
differ only in policy: a shopper's history depends on her own arm alone."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import orjson
import pytest

from helpers.paths import ROOT
from helpers.runs import replay_events, replay_lines
from helpers.scenarios import tiny_scenario_data
from shopsim.scenario.schema import Scenario



def _everything(b_flows: list[str], b_campaigns: list[str], seed: int = 71, size: int = 250) -> Scenario:
    """A small scenario that uses every part of the new shopper model. Arm a gets the `remind_a` flow and
    `promo_8`; arm b what it is given. Flows and campaigns no arm names are left out (they would go to everyone)."""
    data = tiny_scenario_data(
        size=size, duration="2d", seed=seed,
        population={"platforms": {"ios": 0.4, "android": 0.3, "web": 0.3}, "reach": {"email_verified": 0.9},
                    "consent": {"marketing_consent": 1.0}, "mail_proxy": {"ios": 0.6, "android": 0.1, "web": 0.3},
                    "segments": {"bargain": {"traits": {"intent_half_life": 0.5}}}},
        catalogue={"free_shipping_over": 40},
        behaviour={"abandonment": {"levers": {"guest_checkout": True},
                                   "survey": {"on_site": True, "stages": ["cart", "checkout"], "response_rate": 0.3,
                                              "response_bias": {"extra_costs": 2.0}, "misreport": 0.2,
                                              "misreport_to": {"slow_delivery": 1.0, "payment_trust": 2.0}}},
                   "devices": {"web": {"mobile_web": 0.5, "desktop": 0.5}},
                   "intent": {"spread": 0.7, "by_reason": {"extra_costs": 0.8}}},
        engagement={"fatigue": {"half_life": "1d", "free": 1}},
        flows={
            "remind_a": {"trigger": "cart.abandoned", "steps": [
                {"after": "1h", "channel": "email", "survey": True,
                 "incentive": {"type": "free_shipping", "auto_apply": True}},
                {"after": "6h", "channel": "push", "incentive": {"type": "percent", "value": 10}}]},
            "remind_b": {"trigger": "cart.abandoned", "steps": [
                {"after": "24h", "channel": "email", "incentive": {"type": "fixed", "value": 3}}]}},
        campaigns={f"promo_{h}": {"kind": "promotion", "at": f"{h}h", "channels": ["email", "push"], "title": f"Deal {h}",
                                  "incentive": {"type": "percent", "value": 15, "auto_apply": h % 2 == 0}}
                   for h in range(2, 44, 6)},
        experiments={"policy": {"variants": {"a": {"flows": ["remind_a"], "campaigns": ["promo_8"]},
                                             "b": {"flows": b_flows, "campaigns": b_campaigns}}}},
        policies={"caps": []})
    data["flows"] = {k: v for k, v in data["flows"].items() if k == "remind_a" or k in b_flows}
    data["campaigns"] = {k: v for k, v in data["campaigns"].items() if k == "promo_8" or k in b_campaigns}
    return Scenario.model_validate(data)


def test_the_same_scenario_and_seed_give_byte_identical_logs():
    sc = _everything(["remind_b"], [f"promo_{h}" for h in range(2, 44, 6)])
    first = replay_lines(sc)
    assert first == replay_lines(sc)
    types = {orjson.loads(line)["type"] for line in first.splitlines()}
    # The run really exercised the model: every new kind of line is in it.
    for t in ("survey.answered", "coupon.seen", "coupon.redeemed", "notification.opened", "notification.clicked",
              "cart.abandoned", "order.placed"):
        assert t in types, t
    lines = [orjson.loads(line) for line in first.splitlines()]
    assert any(r["type"] == "notification.opened" and r["source"] == "proxy" for r in lines)
    assert {r["device"] for r in lines if r["type"] == "session.started"} == {"app", "mobile_web", "desktop"}
    assert replay_lines(sc, seed=72) != first


def test_the_log_does_not_depend_on_the_hash_seed():
    code = (
        "import sys, hashlib; sys.path[:0] = ['tests', 'tests/sim'];"
        "from helpers.runs import replay_lines; from test_model_determinism import _everything;"
        "print(hashlib.sha256(replay_lines(_everything(['remind_b'], ['promo_2', 'promo_14']))).hexdigest())"
    )
    here = hashlib.sha256(replay_lines(_everything(["remind_b"], ["promo_2", "promo_14"]))).hexdigest()
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == here


def _by_shopper(events) -> dict[str, list[tuple]]:
    """Each shopper's lines without their seq (which counts everybody's lines)."""
    out: dict[str, list[tuple]] = {}
    for ev in events:
        if ev.shopper is not None:
            out.setdefault(ev.shopper, []).append((ev.t, ev.type, orjson.dumps(ev.data, option=orjson.OPT_SORT_KEYS)))
    return out


@pytest.fixture(scope="module")
def busy_quiet():
    """Arm b gets a late reminder and every promotion in one run (busy), nothing in the other (quiet)."""
    return (replay_events(_everything(["remind_b"], [f"promo_{h}" for h in range(2, 44, 6)])),
            replay_events(_everything([], [])))


def test_the_arms_of_an_experiment_differ_only_in_policy(busy_quiet):
    """Every arm-a shopper's history is the same line for line whatever arm b gets, and every shopper is created
    and assigned identically."""
    busy, quiet = busy_quiet
    arm = {e.shopper: e.data["variant"] for e in busy if e.type == "experiment.assigned"}
    assert arm == {e.shopper: e.data["variant"] for e in quiet if e.type == "experiment.assigned"}
    assert set(arm.values()) == {"a", "b"}
    created = lambda evs: [(e.shopper, e.data) for e in evs if e.type == "shopper.created"]
    assert created(busy) == created(quiet)
    busy_by, quiet_by = _by_shopper(busy), _by_shopper(quiet)
    a_shoppers = [s for s, v in arm.items() if v == "a"]
    for s in a_shoppers:
        assert busy_by[s] == quiet_by[s], s
    # The policy did change arm b (else the comparison proves nothing).
    b_changed = sum(busy_by[s] != quiet_by[s] for s, v in arm.items() if v == "b")
    assert b_changed > 50, b_changed
    # Arm a shoppers had a busy history of their own: reminders, coupons, clicks.
    a_types = {t for s in a_shoppers for _, t, _ in busy_by[s]}
    assert {"notification.clicked", "coupon.issued", "order.placed"} <= a_types


def _own_shopping(lines: list[tuple]) -> list[tuple]:
    """Her visits, carts, orders and on-site answers: what she does, not what she is sent or how she responds."""
    skip = ("notification.", "coupon.", "settings.", "experiment.", "ad.")
    return [(t, typ, data) for t, typ, data in lines
            if not typ.startswith(skip) and not (typ == "survey.answered" and b'"on_site"' not in data)]


def test_marketing_she_never_acted_on_leaves_her_own_shopping_unchanged(busy_quiet):
    """Common random numbers: arm b gets promotions and a reminder in one run and nothing in the other. A shopper
    of arm b who clicked nothing and redeemed no coupon in either run shops exactly the same in both: fatigue,
    machine opens, unopened messages and unsubscribes draw from the messages' own streams, never from hers."""
    busy, quiet = busy_quiet
    arm = {e.shopper: e.data["variant"] for e in busy if e.type == "experiment.assigned"}
    acted = {e.shopper for evs in (busy, quiet) for e in evs if e.type in ("notification.clicked", "coupon.redeemed")}
    marketed = {e.shopper for e in busy if e.type == "notification.delivered" and e.data["category"] == "promotions"}
    busy_by, quiet_by = _by_shopper(busy), _by_shopper(quiet)
    untouched = [s for s, v in arm.items() if v == "b" and s not in acted and s in marketed]
    for s in untouched:
        assert _own_shopping(busy_by[s]) == _own_shopping(quiet_by[s]), s
    assert len(untouched) > 30, len(untouched)
    # ...and some of them shopped: the comparison covers carts and orders, not only visits.
    shopped = sum(any(t == "cart.item_added" for _, t, _ in busy_by[s]) for s in untouched)
    assert shopped > 10, shopped

