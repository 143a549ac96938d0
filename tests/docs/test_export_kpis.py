"""The recipes of docs/exports.md ("Reproducing the KPIs"): each KPI recomputed from the exported tables
equals what `shopsim report --format json` says."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from click.testing import CliRunner

from helpers.scenarios import tiny_scenario
from shopsim.cli import main
from shopsim.metrics import stats
from shopsim.metrics.kpis import Metrics
from shopsim.store.runfile import open_run


def _ratio(a, b):
    return a / b if b else None


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[dict, dict[str, list[dict]]]:
    d = tmp_path_factory.mktemp("export-kpis")
    (d / "s.yaml").write_text(tiny_scenario(
        size=120, duration="4d", seed=11, as_text=True,
        behaviour={"sessions": {"per_day": 1.5}, "add_to_cart": 0.25,
                   "abandonment": {"survey": {"on_site": True, "response_rate": 0.6, "misreport": 0.3}}},
        flows={"recovery": {"trigger": "cart.abandoned", "category": "cart_reminders", "steps": [
            {"after": "1h", "channel": "email"},
            {"after": "6h", "channel": "push",
             "incentive": {"type": "percent", "value": 10, "valid": "48h", "prefix": "CART"}}]}},
        campaigns={"promo": {"kind": "promotion", "at": "30h", "channels": ["email", "push"], "title": "Deals"}},
        ads={"enabled": True},
        experiments={"reminders": {"control": "holdout", "variants": {
            "holdout": {"holdout": True}, "on": {"weight": 2, "flows": ["recovery"]}}}}))
    log = d / "s.jsonl"
    runner = CliRunner()
    assert runner.invoke(main, ["replay", str(d / "s.yaml"), "--log", str(log), "--no-db", "-q"]).exit_code == 0
    assert runner.invoke(main, ["export", str(log), "--format", "jsonl", "--out", str(d / "out")]).exit_code == 0
    tables = {p.stem: [json.loads(x) for x in p.read_bytes().splitlines()] for p in (d / "out").iterdir()}
    return Metrics.of(open_run(log).events()).result(), tables


def test_cart_kpis(run):
    result, t = run
    c, carts = result["commerce"], t["carts"]
    abandoned = [x for x in carts if x["times_abandoned"] > 0]
    ordered = [x for x in carts if x["order"]]
    reached = [x for x in carts if x["checkout_reached"]]
    assert abandoned and ordered and reached
    assert c["carts"] == len(carts) and c["checkouts"] == len(reached) and c["carts_ordered"] == len(ordered)
    assert c["abandonment_rate"] == pytest.approx(1 - len(ordered) / len(carts))
    assert c["abandoned_at_least_once_rate"] == pytest.approx(len(abandoned) / len(carts))
    assert c["checkout_abandonment_rate"] == pytest.approx(1 - sum(1 for x in reached if x["order"]) / len(reached))
    assert c["carts_abandoned"] == len(abandoned)
    assert c["carts_recovered"] == sum(x["recovered"] for x in carts)
    how = Counter(x["recovery"] for x in carts if x["recovered"])
    assert (c["recovered_attributed"], c["recovered_organic"], c["recovered_other"]) == \
        (how["attributed"], how["organic"], how["other"])
    assert c["attributed_recovery_rate"] == pytest.approx(how["attributed"] / len(abandoned))
    assert c["organic_recovery_rate"] == pytest.approx(how["organic"] / len(abandoned))
    assert c["first_reasons"] == dict(Counter(x["first_abandon_reason"] for x in abandoned))
    checkout = Counter(x["checkout_abandon_reason"] for x in carts if x["checkout_abandon_reason"])
    assert c["checkout_reasons"] == dict(checkout)
    assert all(x["recovery_order"] == x["order"] for x in carts if x["recovered"])
    orders = {o["order"]: o for o in t["orders"]}
    assert all(orders[x["recovery_order"]]["recovery"] == x["recovery"] for x in carts if x["recovered"])


def test_incremental_recovery(run):
    result, t = run
    holdout = {a["shopper"] for a in t["experiment_assignments"] if a["holdout"]}
    assert holdout
    x, n = Counter(), Counter()
    for cart in t["carts"]:
        if cart["times_abandoned"]:
            arm = cart["shopper"] in holdout
            n[arm] += 1
            x[arm] += cart["recovered"]
    cmp = stats.two_proportions(x[True], n[True], x[False], n[False])
    c = result["commerce"]
    assert c["incremental_recovery_rate"] == pytest.approx(cmp["diff"])
    assert (c["incremental_recovery_low"], c["incremental_recovery_high"]) == \
        pytest.approx((cmp["low"], cmp["high"]))


def test_device_kpis(run):
    result, t = run
    devices = result["commerce"]["by_device"]
    assert set(devices) == {s["device"] for s in t["sessions"]}
    for device, kpi in devices.items():
        visits = sum(1 for s in t["sessions"] if s["device"] == device)
        carts = [x for x in t["carts"] if x["device"] == device]
        placed = sum(1 for o in t["orders"] if o["device"] == device)
        assert (kpi["visits"], kpi["carts"]) == (visits, len(carts)), device
        assert kpi["checkouts"] == sum(x["checkout_reached"] for x in carts)
        assert kpi["orders"] == sum(1 for x in carts if x["order"])
        assert kpi["abandonment_rate"] == pytest.approx(_ratio(len(carts) - kpi["orders"], len(carts)))
        assert kpi["conversion_rate"] == pytest.approx(_ratio(placed, visits))


def test_money_coupon_and_order_kpis(run):
    result, t = run
    c = result["commerce"]
    assert c["orders"] == len(t["orders"])
    assert c["conversion_rate"] == pytest.approx(len(t["orders"]) / len(t["sessions"]))
    assert c["revenue"] == pytest.approx(sum(o["total"] for o in t["orders"] if o["paid"]))
    assert c["discount_cost"] == pytest.approx(sum(o["discount"] for o in t["orders"]))
    assert c["coupons_seen"] == sum(1 for x in t["coupons"] if x["seen"])
    assert c["coupons_redeemed"] == sum(1 for x in t["coupons"] if x["redeemed"])


def test_shopper_and_survey_kpis(run):
    result, t = run
    s, people = result["shoppers"], t["shoppers"]
    assert s["platforms"] == dict(Counter(p["platform"] for p in people))
    assert s["app"] == sum(p["reach_app"] for p in people)
    for platform, rate in s["push_opt_in"].items():
        owners = [p for p in people if p["platform"] == platform and p["reach_app"]]
        assert rate == pytest.approx(_ratio(sum(p["push_os_permission_at_creation"] for p in owners), len(owners)))
    assert s["marketing_consent"] == pytest.approx(sum(p["marketing_consent_at_creation"] for p in people) / len(people))
    assert s["mail_proxy"] == pytest.approx(sum(p["mail_proxy"] for p in people) / len(people))
    survey, answers = result["survey"], t["surveys"]
    assert answers and survey["responses"] == len(answers)
    assert survey["answers"] == dict(Counter(a["answer"] for a in answers))
    assert survey["real"] == dict(Counter(a["real_reason"] for a in answers))
    assert survey["response_rate"] == pytest.approx(len(answers) / result["commerce"]["carts_abandoned"])
    assert survey["agreement"] == pytest.approx(sum(a["answer_is_real"] for a in answers) / len(answers))


def test_message_kpis(run):
    result, t = run
    delivered = [n for n in t["notifications"] if n["outcome"] == "delivered"]
    for channel in result["channels"]:
        k = result["channels"][channel]
        mine = [n for n in delivered if n["channel"] == channel]
        assert k["delivered"] == len(mine), channel
        for key in ("opened", "human_opened", "machine_opened", "clicked", "unsubscribed", "complained"):
            assert k[key] == sum(1 for n in mine if n[key]), (channel, key)
        assert k["human_open_rate"] == pytest.approx(_ratio(sum(1 for n in mine if n["human_opened"]), len(mine)))
        who = {n["shopper"] for n in mine}
        assert k["recipients"] == len(who)
        assert k["recipient_open_rate"] == pytest.approx(_ratio(len({n["shopper"] for n in mine if n["opened"]}),
                                                                len(who)))
        assert k["recipient_click_rate"] == pytest.approx(_ratio(len({n["shopper"] for n in mine if n["clicked"]}),
                                                                 len(who)))
    methods = Counter(n["unsubscribe_method"] for n in delivered if n["unsubscribed"])
    assert result["messages"]["unsubscribed_by_method"] == dict(methods)
    assert result["messages"]["machine_opened"] > 0  # privacy proxies open emails


def test_coupon_roi_per_arm(run):
    result, t = run
    exp = result["experiments"]["reminders"]
    arm_of = {a["shopper"]: a["variant"] for a in t["experiment_assignments"]}
    size = Counter(arm_of.values())
    orders = Counter(arm_of[o["shopper"]] for o in t["orders"])
    coupon_orders = Counter(arm_of[o["shopper"]] for o in t["orders"] if o["coupon"])
    roi = exp["variants"]["on"]["coupon"]
    assert roi["redeemed_orders"] == coupon_orders["on"]
    assert roi["incremental_orders"] == pytest.approx(orders["on"] - orders["holdout"] * size["on"] / size["holdout"])
