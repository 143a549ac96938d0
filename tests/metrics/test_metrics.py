"""KPIs: checked against a small hand-counted log, and the same from a live run, its log and its database."""

from __future__ import annotations

import io
import math

import pytest

from helpers.runs import play
from helpers.scenarios import tiny_scenario
from shopsim.metrics import catalog, stats
from shopsim.metrics.kpis import Metrics
from shopsim.store.runfile import open_run
from shopsim.validate import load_scenario
from shopsim.contract.clock import HOUR
from shopsim.contract.events import Event
from shopsim.store.recorder import Recorder

H = HOUR


def hand_log() -> list[Event]:
    """Three shoppers over two days; every number below is counted from these lines by hand."""
    lines: list[tuple] = [
        (0, "run.started", None, {"scenario": "hand", "description": "", "seed": 1, "version": "0", "shoppers": 3,
                                  "start": "2026-03-02T00:00:00.000Z", "duration": "2d", "schema_version": 1}),
        # s1 abandons c1 at checkout, gets an email, clicks it and orders with a coupon: a recovered cart.
        (0, "session.started", "s000001", {"session": "s000001-v1"}),
        (10, "cart.item_added", "s000001", {"cart": "s000001-c1", "value": 20.0}),
        (20, "checkout.started", "s000001", {"cart": "s000001-c1"}),
        (1 * H, "cart.abandoned", "s000001", {"cart": "s000001-c1", "reason": "extra_costs", "stage": "checkout",
                                              "value": 20.0}),
        (2 * H, "notification.requested", "s000001", {"id": "s000001-n1", "channel": "email",
                                                      "category": "cart_reminders"}),
        (2 * H, "notification.delivered", "s000001", {"id": "s000001-n1", "channel": "email",
                                                      "category": "cart_reminders", "rerouted_from": None}),
        (3 * H, "notification.opened", "s000001", {"id": "s000001-n1", "channel": "email", "category": "cart_reminders"}),
        (3 * H, "notification.clicked", "s000001", {"id": "s000001-n1", "channel": "email", "category": "cart_reminders"}),
        (3 * H + 1, "order.placed", "s000001", {"order": "s000001-o1", "cart": "s000001-c1", "total": 18.0,
                                                "discount": 2.0, "attributed_to": "s000001-n1", "currency": "USD"}),
        (3 * H + 2, "payment.confirmed", "s000001", {"order": "s000001-o1", "amount": 18.0}),
        # s2 abandons the same cart twice; a push waits out quiet hours then hits a cap; an email unsubscribes her.
        (4 * H, "cart.item_added", "s000002", {"cart": "s000002-c1", "value": 10.0}),
        (5 * H, "cart.abandoned", "s000002", {"cart": "s000002-c1", "reason": "just_browsing", "stage": "cart",
                                              "value": 10.0}),
        (5 * H, "notification.requested", "s000002", {"id": "s000002-n1", "channel": "push", "category": "promotions"}),
        (5 * H, "notification.deferred", "s000002", {"id": "s000002-n1", "channel": "push", "category": "promotions"}),
        (6 * H, "notification.deferred", "s000002", {"id": "s000002-n1", "channel": "push", "category": "promotions"}),
        (6 * H, "notification.requested", "s000002", {"id": "s000002-n2", "channel": "email", "category": "promotions"}),
        (6 * H, "notification.delivered", "s000002", {"id": "s000002-n2", "channel": "email", "category": "promotions",
                                                      "rerouted_from": None}),
        (7 * H, "notification.opened", "s000002", {"id": "s000002-n2", "channel": "email", "category": "promotions"}),
        (7 * H, "notification.unsubscribed", "s000002", {"id": "s000002-n2", "channel": "email",
                                                         "category": "promotions"}),
        (8 * H, "notification.suppressed", "s000002", {"id": "s000002-n1", "channel": "push", "category": "promotions",
                                                       "reason": "frequency_cap"}),
        (30 * H, "cart.abandoned", "s000002", {"cart": "s000002-c1", "reason": "just_browsing", "stage": "cart",
                                               "value": 10.0}),
        # s3 orders without abandoning, is refunded, sees an ad, and gets a critical push rerouted to email.
        (24 * H, "session.started", "s000003", {"session": "s000003-v1"}),
        (24 * H, "cart.item_added", "s000003", {"cart": "s000003-c1", "value": 30.0}),
        (26 * H, "order.placed", "s000003", {"order": "s000003-o1", "cart": "s000003-c1", "total": 30.0,
                                             "discount": 0.0, "attributed_to": None, "currency": "USD"}),
        (26 * H, "payment.confirmed", "s000003", {"order": "s000003-o1", "amount": 30.0}),
        (27 * H, "notification.requested", "s000003", {"id": "s000003-n1", "channel": "push",
                                                       "category": "account_security"}),
        (27 * H, "notification.delivered", "s000003", {"id": "s000003-n1", "channel": "email",
                                                       "category": "account_security", "rerouted_from": "push"}),
        (28 * H, "ad.impression", "s000003", {"ad": "s000003-a1"}),
        (28 * H, "ad.clicked", "s000003", {"ad": "s000003-a1"}),
        (40 * H, "refund.issued", "s000003", {"order": "s000003-o1", "amount": 30.0}),
        (48 * H, "run.finished", None, {"events": 0, "counts": {}, "shoppers": 3}),
    ]
    return [Event(i + 1, t, typ, sid, data) for i, (t, typ, sid, data) in enumerate(lines)]


@pytest.fixture(scope="module")
def hand() -> dict:
    return Metrics.of(hand_log()).result()


def test_commerce_kpis_match_the_hand_count(hand) -> None:
    c = hand["commerce"]
    assert (c["visits"], c["carts"], c["checkouts"]) == (2, 3, 1)
    assert (c["carts_abandoned"], c["abandonments"]) == (2, 3)
    assert c["abandonment_rate"] == pytest.approx(1 / 3)  # Baymard: 1 − 2 carts ordered / 3 created
    assert c["abandoned_at_least_once_rate"] == pytest.approx(2 / 3)
    assert c["abandonment_reasons"] == {"just_browsing": 2, "extra_costs": 1}
    assert c["abandonment_stages"] == {"cart": 2, "checkout": 1}
    assert (c["orders"], c["paid_orders"]) == (2, 2)
    assert c["conversion_rate"] == 1.0 and c["shopper_conversion_rate"] == pytest.approx(2 / 3)
    assert (c["carts_recovered"], c["recovery_rate"]) == (1, 0.5)
    assert (c["recovered_by_notification"], c["recovered_by_ad"], c["recovered_unattributed"]) == (1, 0, 0)
    assert c["attributed_recovery_rate"] == 0.5 and c["attributed_orders"] == 1
    assert (c["revenue"], c["recovered_revenue"], c["discount_cost"], c["refunded"]) == (48.0, 18.0, 2.0, 30.0)


def test_recovery_time_is_first_abandonment_to_order(hand) -> None:
    r = hand["recovery_time"]
    assert r["count"] == 1 and r["p50_ms"] == 2 * H + 1
    assert dict(r["histogram"])["1h–4h"] == 1 and sum(n for _, n in r["histogram"]) == 1


def test_message_kpis_match_the_hand_count(hand) -> None:
    m = hand["messages"]
    assert (m["requested"], m["delivered"], m["deferred"], m["suppressed"]) == (4, 3, 1, 1)
    assert (m["opened"], m["clicked"], m["unsubscribed"], m["orders"]) == (2, 1, 1, 1)
    assert m["suppressed_by_reason"] == {"frequency_cap": 1}
    assert m["open_rate"] == pytest.approx(2 / 3) and m["click_to_open_rate"] == 0.5
    assert m["per_shopper_per_day"] == pytest.approx(3 / 3 / 2)
    email, push = hand["channels"]["email"], hand["channels"]["push"]
    # The rerouted security push counts as an email request: it is where it went.
    assert (email["requested"], email["delivered"], email["delivery_rate"]) == (3, 3, 1.0)
    assert (push["requested"], push["delivered"], push["deferred"], push["suppressed"]) == (1, 0, 1, 1)
    assert push["open_rate"] is None  # nothing delivered: no rate, not 0
    promo = hand["categories"]["promotions"]
    assert (promo["requested"], promo["delivered"], promo["unsubscribe_rate"]) == (2, 1, 1.0)
    assert hand["categories"]["cart_reminders"]["orders"] == 1
    assert hand["ads"] == {"impressions": 1, "clicks": 1, "click_rate": 1.0, "orders": 0, "order_rate": 0.0}


def test_series_per_hour_and_day(hand) -> None:
    day, hour = hand["series"]["day"], hand["series"]["hour"]
    assert len(day["orders"]) == 2 and len(hour["orders"]) == 48
    assert day["carts_abandoned"] == [2, 0]  # s2's second abandonment is the same cart
    assert day["orders"] == [1, 1] and day["recovered"] == [1, 0] and day["recovered_cohort"] == [1, 0]
    assert day["delivered_email"] == [2, 1] and day["revenue"] == [18.0, 30.0]
    assert hour["orders"][3] == 1 and hour["orders"][26] == 1 and sum(hour["orders"]) == 2


def test_catalog_reads_every_metric(hand) -> None:
    for name, d in catalog.METRICS.items():
        if d.section == "experiment":
            continue
        catalog.lookup(hand, name)  # every name resolves in the result
    assert catalog.lookup(hand, "delivered", channel="email") == 3
    assert catalog.lookup(hand, "suppressed", category="promotions") == 1
    assert catalog.lookup(hand, "delivered", channel="sms") == 0
    assert catalog.lookup(hand, "attributed_orders", category="cart_reminders") == 1
    assert catalog.lookup(hand, "time_to_recovery_p50") == 2 * H + 1
    assert catalog.bound("25%", "rate") == 0.25 and catalog.bound("2h", "duration") == 2 * H


def test_channels_add_up_to_the_total() -> None:
    _, events = play(load_scenario("scenarios/cart_recovery.yaml"), keep=False)
    r = Metrics.of(events).result()
    for field in ("requested", "delivered", "suppressed", "opened", "clicked", "orders"):
        assert sum(ch[field] for ch in r["channels"].values()) == r["messages"][field]
        assert sum(ca[field] for ca in r["categories"].values()) == r["messages"][field]
    assert sum(r["series"]["hour"]["delivered"]) == r["messages"]["delivered"]
    assert r["commerce"]["recovered_by_notification"] + r["commerce"]["recovered_by_ad"] \
        + r["commerce"]["recovered_unattributed"] == r["commerce"]["carts_recovered"]
    counts = events[-1].data["counts"]
    assert r["messages"]["requested"] == counts["notification.requested"]
    assert r["commerce"]["orders"] == counts["order.placed"]


def test_live_log_and_database_give_the_same_numbers(tmp_path) -> None:
    from click.testing import CliRunner

    from shopsim.cli import main

    text = tiny_scenario(size=30, duration="3d", as_text=True, flows={"f": {
        "trigger": "cart.abandoned", "steps": [{"after": "1h", "channel": "email"}]}})
    path = tmp_path / "s.yaml"
    path.write_text(text)
    live = Metrics()
    sim, _ = play(text)
    sim2 = type(sim)(sim.scenario, keep_messages=False)
    buf = io.BytesIO()
    sim2.subscribe(live)
    sim2.subscribe(Recorder(sim2.scenario.start_epoch, buf))
    sim2.run()
    res = CliRunner().invoke(main, ["replay", str(path), "--log", str(tmp_path / "r.jsonl"),
                                    "--db", str(tmp_path / "r.db"), "-q"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "r.jsonl").read_bytes() == buf.getvalue()
    want = live.result()
    assert Metrics.of(open_run(tmp_path / "r.jsonl").events()).result() == want
    assert Metrics.of(open_run(tmp_path / "r.db").events()).result() == want


def test_a_live_result_midway_is_a_prefix_of_the_run() -> None:
    sim, _ = play(tiny_scenario(size=20, duration="2d"), keep=False)
    m = Metrics()
    sim2 = type(sim)(sim.scenario)
    sim2.subscribe(m)
    sim2.run_until(HOUR * 24)
    half = m.result()
    assert not half["run"]["complete"] and half["run"]["elapsed_ms"] <= 24 * HOUR
    sim2.run()
    assert m.result()["run"]["complete"]
    assert m.result()["commerce"]["orders"] >= half["commerce"]["orders"]


# --- the statistics ------------------------------------------------------------------------------------

def test_two_proportions_by_hand() -> None:
    r = stats.two_proportions(50, 500, 80, 500)
    assert r["diff"] == pytest.approx(0.06)
    se = math.sqrt(0.1 * 0.9 / 500 + 0.16 * 0.84 / 500)
    assert r["low"] == pytest.approx(0.06 - 1.959964 * se, abs=1e-6)
    pooled = 130 / 1000
    z = 0.06 / math.sqrt(pooled * (1 - pooled) * (2 / 500))
    assert r["z"] == pytest.approx(z) and r["p"] == pytest.approx(math.erfc(z / math.sqrt(2)))
    assert r["enough"] and r["relative"] == pytest.approx(0.6)
    assert "higher" in stats.verdict(r, "recovery", "b", "a")


def test_small_samples_say_so_plainly() -> None:
    r = stats.two_proportions(1, 10, 3, 12)
    assert not r["enough"]
    assert stats.verdict(r, "recovery", "b", "a").startswith("Too few shoppers to conclude")
    flat = stats.two_proportions(100, 1000, 104, 1000)
    text = stats.verdict(flat, "recovery", "b", "a")
    assert text.startswith("No detectable difference") and "shoppers per arm" in text
    assert stats.two_proportions(0, 0, 0, 0)["diff"] is None


def test_two_means_and_needed_sample() -> None:
    r = stats.two_means(100, 1000.0, 20000.0, 100, 1500.0, 40000.0)
    assert r["diff"] == pytest.approx(5.0) and r["enough"]
    assert stats.needed_per_arm(0.1, 0.02) == pytest.approx(3839, abs=5)
