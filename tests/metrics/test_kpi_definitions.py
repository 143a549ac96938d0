"""Each KPI of docs/metrics.md on a small log written by hand: every expected value below is counted from
the lines above it, so a change of formula fails here."""

from __future__ import annotations

import math
from typing import Any

import pytest

from shopsim.metrics import catalog

from helpers.logs import H, Log


# --- carts: Baymard's abandonment rate, checkout abandonment, reasons, devices --------------------------

def carts_log() -> Log:
    """Ten shoppers, one cart each (s01 has cart s01-c1, ...). Ordered: c1 and c2 outright, c6 after an
    abandonment. c3 reached checkout and was simply never ordered (no abandonment line)."""
    g = Log(shoppers=10)
    devices = {1: "app", 2: "app", 3: "mobile_web", 4: "mobile_web", 5: "desktop", 6: "app", 7: "desktop",
               8: "mobile_web", 9: "app", 10: "tv"}
    for i, device in devices.items():
        sid, cart = f"s{i:02d}", f"s{i:02d}-c1"
        g.add(10 * i, "session.started", sid, session=f"{sid}-v1", device=device)
        g.add(10 * i + 1, "cart.item_added", sid, cart=cart, device=device)
        if i in (1, 2, 3, 4, 5, 6):
            g.add(10 * i + 2, "checkout.started", sid, cart=cart, device=device)
    g.add(300, "cart.item_added", "s05", cart="s05-c1", device="app")  # a second add: c5 stays desktop's
    ab = lambda t, i, stage, reason: g.add(t, "cart.abandoned", f"s{i:02d}", cart=f"s{i:02d}-c1",  # noqa: E731
                                           stage=stage, reason=reason)
    g.order(400, "s01", "s01-c1", device="app")
    g.order(401, "s02", "s02-c1", device="app")
    ab(1 * H, 4, "checkout", "extra_costs")
    ab(1 * H, 5, "checkout", "account_required")
    ab(1 * H, 6, "checkout", "payment_trust")
    ab(1 * H, 7, "cart", "just_browsing")
    ab(1 * H, 8, "cart", "comparison_shopping")
    ab(2 * H, 5, "checkout", "slow_delivery")             # c5 again: its first checkout reason stays
    g.add(3 * H, "checkout.started", "s08", cart="s08-c1", device="mobile_web")
    ab(4 * H, 8, "checkout", "extra_costs")               # c8's first *checkout-stage* reason
    g.add(5 * H, "session.started", "s06", session="s06-v2", device="desktop")
    g.order(5 * H + 1, "s06", "s06-c1", device="desktop")  # c6 recovered, ordered on another device
    g.add(6 * H, "session.started", "s09", session="s09-v2")  # an old-style line: no device
    return g


@pytest.fixture(scope="module")
def carts() -> dict:
    return carts_log().result()


def test_abandonment_rate_is_baymards(carts) -> None:
    c = carts["commerce"]
    assert (c["carts"], c["carts_ordered"], c["carts_abandoned"], c["abandonments"]) == (10, 3, 5, 7)
    assert c["abandonment_rate"] == pytest.approx(0.7)                # 1 − 3/10
    assert c["abandoned_at_least_once_rate"] == pytest.approx(0.5)    # 5/10
    assert (c["checkouts"], c["checkout_abandonment_rate"]) == (7, pytest.approx(4 / 7))  # c1 c2 c3 c4 c5 c6 c8
    assert (c["carts_recovered"], c["recovery_rate"]) == (1, pytest.approx(1 / 5))
    # Neither ordered nor abandoned: c3 (in checkout), c9 and c10 (being filled). c6, abandoned then ordered,
    # is not open; Baymard's rate counts the three open carts as not ordered.
    assert c["carts_open"] == 3


def test_reasons_first_checkout_and_every(carts) -> None:
    c = carts["commerce"]
    assert c["abandonment_reasons"] == {"extra_costs": 2, "account_required": 1, "comparison_shopping": 1,
                                        "just_browsing": 1, "payment_trust": 1, "slow_delivery": 1}
    assert c["abandonment_stages"] == {"cart": 2, "checkout": 5}
    assert c["first_reasons"] == {"account_required": 1, "comparison_shopping": 1, "extra_costs": 1,
                                  "just_browsing": 1, "payment_trust": 1}
    assert c["checkout_reasons"] == {"extra_costs": 2, "account_required": 1, "payment_trust": 1}
    assert list(c["checkout_reasons"]) == ["extra_costs", "account_required", "payment_trust"]
    assert c["checkout_reason_shares"] == {"extra_costs": 0.5, "account_required": 0.25, "payment_trust": 0.25}


def test_by_device(carts) -> None:
    d = carts["commerce"]["by_device"]
    assert list(d) == ["app", "mobile_web", "desktop", "tv"]
    assert d["app"] == {"visits": 4, "carts": 4, "checkouts": 3, "orders": 3, "abandonment_rate": 0.25,
                        "conversion_rate": 0.5}   # orders placed on the app: c1, c2 (c6 was placed on desktop)
    assert d["mobile_web"] == {"visits": 3, "carts": 3, "checkouts": 3, "orders": 0, "abandonment_rate": 1.0,
                               "conversion_rate": 0.0}
    assert d["desktop"] == {"visits": 3, "carts": 2, "checkouts": 1, "orders": 0, "abandonment_rate": 1.0,
                            "conversion_rate": pytest.approx(1 / 3)}
    assert d["tv"]["carts"] == 1 and d["tv"]["conversion_rate"] == 0.0
    assert carts["commerce"]["visits"] == 12  # the session without a device counts here, not per device


def test_an_empty_log_has_no_rates() -> None:
    c = Log().result()["commerce"]
    assert c["abandonment_rate"] is None and c["checkout_abandonment_rate"] is None
    assert c["by_device"] == {} and c["checkout_reason_shares"] == {}


# --- recovery: attributed, organic, other ---------------------------------------------------------------

def recovery_log() -> Log:
    """Six abandoned carts r1..r6 (shopper s1..s6), five recovered in different ways."""
    g = Log(shoppers=6)
    for i in range(1, 7):
        g.add(i, "cart.item_added", f"s{i}", cart=f"s{i}-c1")
    for i in range(1, 7):
        g.add(1 * H, "cart.abandoned", f"s{i}", cart=f"s{i}-c1", reason="extra_costs", stage="checkout")
    g.note(2 * H, "s1", "s1-n1", "email", "cart_reminders")
    g.nev(2 * H, "opened", "s1", "s1-n1", "email", "cart_reminders", source="shopper")
    g.nev(2 * H, "clicked", "s1", "s1-n1", "email", "cart_reminders")
    g.add(2 * H, "ad.impression", "s3", ad="s3-a1").add(2 * H, "ad.clicked", "s3", ad="s3-a1")
    g.note(2 * H, "s4", "s4-n1", "push", "promotions")
    g.nev(2 * H, "clicked", "s4", "s4-n1", "push", "promotions")
    g.note(2 * H, "s6", "s6-n1", "email", "cart_reminders")
    g.order(3 * H, "s1", "s1-c1", "s1-n1")                 # attributed: a clicked cart reminder
    g.order(3 * H, "s2", "s2-c1", None)                     # organic
    g.order(3 * H, "s4", "s4-c1", "s4-n1")                 # other: a message that is not a cart reminder
    g.order(3 * H, "s6", "s6-c1", "s6-n1")                 # other: a cart reminder never clicked
    g.add(4 * H, "cart.item_added", "s1", cart="s1-c2")
    g.order(5 * H, "s1", "s1-c2", "s1-n1")                 # not a recovery: c2 was never abandoned
    g.order(30 * H, "s3", "s3-c1", "s3-a1")                 # other: an ad
    return g


def test_recovery_split() -> None:
    c = recovery_log().result()["commerce"]
    assert (c["carts_abandoned"], c["carts_recovered"]) == (6, 5)
    assert (c["recovered_attributed"], c["recovered_organic"], c["recovered_other"]) == (1, 1, 3)
    assert (c["recovered_by_notification"], c["recovered_by_ad"], c["recovered_unattributed"]) == (3, 1, 1)
    assert c["attributed_recovery_rate"] == pytest.approx(1 / 6)
    assert c["organic_recovery_rate"] == pytest.approx(1 / 6)
    assert c["recovery_rate"] == pytest.approx(5 / 6)
    assert c["incremental_recovery_rate"] is None and c["incremental_recovery_counts"] is None
    assert c["attributed_orders"] == 5


def test_recovered_cohort_counts_at_the_first_abandonment() -> None:
    s = recovery_log().result()["series"]["hour"]
    assert s["recovered_cohort"][1] == 5 and sum(s["recovered_cohort"]) == 5   # all first abandoned at 1h
    assert s["recovered"][3] == 4 and s["recovered"][30] == 1                  # when the orders came


# --- messages: reported and human opens, per recipient, complaints, unsubscribe methods -------------------

def test_proxy_opens_count_in_reported_opens_only() -> None:
    g = Log(shoppers=2)
    for nid in ("s1-n1", "s1-n2", "s1-n3"):
        g.note(H, "s1", nid, "email", "promotions")
    g.note(H, "s2", "s2-n1", "email", "promotions").note(H, "s2", "s2-n2", "push", "promotions")
    op = lambda sid, nid, source: g.nev(2 * H, "opened", sid, nid, "email", "promotions",  # noqa: E731
                                        source=source)
    op("s1", "s1-n1", "proxy"), op("s1", "s1-n1", "shopper")   # machine, then a person
    op("s1", "s1-n2", "proxy")                                  # machine only
    op("s1", "s1-n3", "proxy"), op("s1", "s1-n3", "proxy")      # twice: one id
    op("s2", "s2-n1", "shopper"), op("s2", "s2-n1", "user")     # a person, then a front end
    r = g.result()
    m = r["messages"]
    assert (m["delivered"], m["opened"], m["human_opened"], m["machine_opened"]) == (5, 4, 2, 3)
    assert m["open_rate"] == pytest.approx(4 / 5) and m["human_open_rate"] == pytest.approx(2 / 5)
    email = r["channels"]["email"]
    assert (email["open_rate"], email["human_open_rate"]) == (1.0, 0.5)
    assert r["channels"]["push"]["opened"] == 0 and r["channels"]["push"]["human_open_rate"] == 0.0
    assert sum(r["series"]["hour"]["opened"]) == 4


def recipients_log() -> Log:
    g = Log(shoppers=3)
    g.note(H, "s1", "s1-n1", "email", "cart_reminders").note(H, "s1", "s1-n2", "push", "cart_reminders")
    g.note(H, "s2", "s2-n1", "email", "promotions")
    g.add(H, "notification.requested", "s3", id="s3-n1", channel="email", category="promotions")
    g.nev(H, "suppressed", "s3", "s3-n1", "email", "promotions", reason="frequency_cap")  # not a recipient
    g.add(H, "notification.requested", "s3", id="s3-n2", channel="push", category="account_security")
    g.nev(H, "delivered", "s3", "s3-n2", "email", "account_security", rerouted_from="push")
    g.nev(2 * H, "opened", "s1", "s1-n1", "email", "cart_reminders", source="shopper")
    g.nev(2 * H, "clicked", "s1", "s1-n1", "email", "cart_reminders")
    g.nev(2 * H, "opened", "s1", "s1-n2", "push", "cart_reminders", source="shopper")
    g.nev(2 * H, "clicked", "s1", "s1-n2", "push", "cart_reminders")
    g.nev(2 * H, "opened", "s2", "s2-n1", "email", "promotions", source="proxy")
    g.nev(3 * H, "complained", "s2", "s2-n1", "email", "promotions")
    g.nev(3 * H, "unsubscribed", "s1", "s1-n2", "push", "cart_reminders", method="os_settings")
    g.nev(3 * H, "unsubscribed", "s1", "s1-n1", "email", "cart_reminders")  # no method: the link
    return g


def test_per_recipient_rates() -> None:
    r = recipients_log().result()
    m = r["messages"]
    # s1 got two messages (opened and clicked both), s2 one (opened by a proxy), s3 one (rerouted, unopened).
    assert (m["delivered"], m["opened"], m["clicked"]) == (4, 3, 2)
    assert (m["recipients"], m["recipients_opened"], m["recipients_clicked"]) == (3, 2, 1)
    assert m["open_rate"] == pytest.approx(3 / 4) and m["recipient_open_rate"] == pytest.approx(2 / 3)
    assert m["click_rate"] == pytest.approx(2 / 4) and m["recipient_click_rate"] == pytest.approx(1 / 3)
    reminders = r["categories"]["cart_reminders"]
    assert (reminders["delivered"], reminders["recipients"], reminders["recipient_click_rate"]) == (2, 1, 1.0)
    assert r["channels"]["email"]["recipients"] == 3 and r["channels"]["push"]["recipients"] == 1


def test_complaints_and_unsubscribe_methods() -> None:
    m = recipients_log().result()["messages"]
    assert (m["complained"], m["complaint_rate"]) == (1, 0.25)
    assert (m["unsubscribed"], m["unsubscribe_rate"]) == (2, 0.5)
    assert m["unsubscribed_by_method"] == {"link": 1, "os_settings": 1}


def test_category_on_channel() -> None:
    r = recipients_log().result()
    cc = r["category_channels"]
    assert set(cc) == {"cart_reminders", "promotions", "account_security"}
    email = cc["cart_reminders"]["email"]
    assert (email["requested"], email["delivered"], email["opened"], email["clicked"]) == (1, 1, 1, 1)
    assert (email["unsubscribed"], email["unsubscribed_by_method"]) == (1, {"link": 1})
    assert cc["promotions"]["email"]["suppressed_by_reason"] == {"frequency_cap": 1}
    # The rerouted push is requested where it went, as for channels.
    assert cc["account_security"]["email"]["requested"] == 1 and cc["account_security"]["push"]["requested"] == 0
    assert catalog.lookup(r, "delivered", channel="email", category="cart_reminders") == 1
    assert catalog.lookup(r, "open_rate", channel="sms", category="cart_reminders") is None
    for field in ("requested", "delivered", "opened", "clicked", "complained"):
        assert sum(ch[field] for cat in cc.values() for ch in cat.values()) == r["messages"][field]
    assert sum(ch["recipients"] for cat in cc.values() for ch in cat.values()) == 4  # s1 in two pairs


def test_orders_per_message_scope() -> None:
    r = recovery_log().result()
    assert r["category_channels"]["cart_reminders"]["email"]["orders"] == 2  # s1's two orders after one click
    assert r["categories"]["promotions"]["order_rate"] == 1.0
    assert r["messages"]["orders"] == 3  # the ad's order and the unclicked reminder's are not message orders


# --- shoppers, as created -------------------------------------------------------------------------------

def created(platform: str, app: bool, push: bool, consent: bool, **extra: Any) -> dict[str, Any]:
    return {"platform": platform, "reach": {"app": app, "email": True, "phone": False},
            "settings": {"push_os_permission": push, "marketing_consent": consent}} | extra


def test_push_opt_in_by_platform() -> None:
    g = Log(shoppers=5)
    g.add(0, "shopper.created", "s1", **created("ios", True, True, True, mail_proxy=True))
    g.add(0, "shopper.created", "s2", **created("ios", True, False, False, mail_proxy=False))
    g.add(0, "shopper.created", "s3", **created("ios", False, False, True, mail_proxy=False))  # no app
    g.add(0, "shopper.created", "s4", **created("android", True, True, True, mail_proxy=False))
    g.add(0, "shopper.created", "s5", **created("web", False, False, False, mail_proxy=False))
    s = g.result()["shoppers"]
    assert s == {"count": 5, "platforms": {"ios": 3, "android": 1, "web": 1}, "app": 3,
                 "push_opt_in": {"ios": 0.5, "android": 1.0}, "marketing_consent": 0.6, "mail_proxy": 0.2}


def test_shoppers_without_the_new_fields() -> None:
    g = Log(shoppers=1).add(0, "shopper.created", "s1", **created("ios", True, True, False))
    s = g.result()["shoppers"]
    assert s["push_opt_in"] == {"ios": 1.0, "android": None} and s["mail_proxy"] is None
    assert s["marketing_consent"] == 0.0


# --- the exit survey --------------------------------------------------------------------------------------

def test_survey_answers_against_real_reasons() -> None:
    g = Log(shoppers=4)
    for i in range(1, 5):
        g.add(i, "cart.item_added", f"s{i}", cart=f"k{i}")
    ab = lambda t, i, reason: g.add(t, "cart.abandoned", f"s{i}", cart=f"k{i}", stage="checkout",  # noqa: E731
                                    reason=reason)
    ab(H, 1, "extra_costs"), ab(H, 2, "just_browsing"), ab(H, 3, "account_required"), ab(H, 4, "card_declined")
    g.add(H + 1, "survey.answered", "s2", cart="k2", answer="just_browsing", channel="on_site")
    ab(2 * H, 1, "slow_delivery")                   # k1 again: its latest reason before the answer
    g.add(2 * H + 1, "survey.answered", "s1", cart="k1", answer="payment_trust", channel="on_site")
    g.add(5 * H, "survey.answered", "s3", cart="k3", answer="extra_costs", channel="email")
    ab(6 * H, 3, "site_error")                      # after the answer: not the answer's real reason
    s = g.result()["survey"]
    assert s["responses"] == 3 and s["response_rate"] == pytest.approx(3 / 4)
    assert s["answers"] == {"extra_costs": 1, "just_browsing": 1, "payment_trust": 1}
    assert s["real"] == {"account_required": 1, "just_browsing": 1, "slow_delivery": 1}
    assert s["real_all"] == {"account_required": 1, "card_declined": 1, "extra_costs": 1, "just_browsing": 1}
    assert s["channels"] == {"on_site": 2, "email": 1}
    assert s["agreement"] == pytest.approx(1 / 3)


def test_coupons_seen_counts_lines() -> None:
    g = Log(shoppers=1)
    g.add(H, "coupon.issued", "s1", coupon="C1", auto_apply=False)
    g.add(2 * H, "coupon.seen", "s1", coupon="C1", via="opened").add(3 * H, "coupon.seen", "s1", coupon="C1",
                                                                     via="clicked")
    c = g.result()["commerce"]
    assert (c["coupons_issued"], c["coupons_seen"], c["coupons_redeemed"]) == (1, 2, 0)


# --- the catalogue ----------------------------------------------------------------------------------------

NEW = {"abandoned_at_least_once_rate": "rate", "checkout_abandonment_rate": "rate", "recovered_attributed": "count",
       "recovered_organic": "count", "recovered_other": "count", "organic_recovery_rate": "rate",
       "incremental_recovery_rate": "pp", "coupons_seen": "count", "human_opened": "count",
       "machine_opened": "count", "human_open_rate": "rate", "recipients": "count", "recipient_open_rate": "rate",
       "recipient_click_rate": "rate", "complained": "count", "complaint_rate": "rate"}


def test_catalog_has_the_new_metrics_and_reads_them(carts) -> None:
    for name, kind in NEW.items():
        assert catalog.METRICS[name].kind == kind, name
    r = recipients_log().result()
    for name, d in catalog.METRICS.items():
        if d.section != "experiment":
            catalog.lookup(r, name)
            catalog.lookup(carts, name)
    assert catalog.lookup(carts, "abandonment_rate") == pytest.approx(0.7)
    assert catalog.lookup(r, "human_open_rate", channel="email") == pytest.approx(1 / 3)
    assert catalog.lookup(r, "complaint_rate", category="promotions") == 1.0
    assert "Baymard" in catalog.METRICS["abandonment_rate"].text
    assert "cart reminder" in catalog.METRICS["attributed_recovery_rate"].text


@pytest.mark.parametrize("value, text", [
    (0.012, "+1.2 pp"), (-0.05, "-5.0 pp"), (0.0, "0.0 pp"), (-0.0, "0.0 pp"), (-0.0004, "0.0 pp"),
    (0.0004, "0.0 pp"), (-0.00051, "-0.1 pp"), (1.0, "+100.0 pp"), (None, "—")])
def test_format_pp(value, text) -> None:
    assert catalog.format_pp(value) == text
    assert catalog.format_value(value, "pp") == text


def test_pp_bounds() -> None:
    assert catalog.bound("2pp", "pp") == pytest.approx(0.02)
    assert catalog.bound("-1.5 pp", "pp") == pytest.approx(-0.015)
    assert catalog.bound("3%", "pp") == pytest.approx(0.03) and catalog.bound(0.1, "pp") == 0.1
    assert not math.isnan(catalog.bound("0.05", "pp"))
