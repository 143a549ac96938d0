"""Properties of the KPIs over random hand-built logs: the recovery split adds up, every share lies in
[0, 1], and the result never depends on how the events were batched."""

from __future__ import annotations

from typing import Any, Iterator

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shopsim.metrics import catalog
from shopsim.metrics.kpis import Metrics

from helpers.logs import H, Log, started

ACTIONS = ("visit", "add", "checkout", "abandon", "abandon", "order", "order", "message", "open", "click", "click",
           "unsubscribe", "complain", "survey", "ad", "coupon")
REASONS = ("extra_costs", "account_required", "just_browsing", "comparison_shopping")
CATEGORIES = ("cart_reminders", "cart_reminders", "promotions", "digest", "shipping")
CHANNELS = ("email", "push", "sms", "in_app")
# Ratios that are not shares: several orders can be attributed to one click (order_rate), and the
# incremental recovery is a difference of two rates.
NOT_SHARES = {"order_rate", "incremental_recovery_rate", "incremental_recovery_low", "incremental_recovery_high"}
SHARES = {"marketing_consent", "mail_proxy", "agreement"}


@st.composite
def logs(draw) -> Log:  # noqa: C901 - one branch per kind of line
    n = draw(st.integers(1, 4))
    sids = [f"s{i}" for i in range(1, n + 1)]
    g = Log(shoppers=n)
    for sid in sids:
        fields: dict[str, Any] = {"platform": draw(st.sampled_from(("ios", "android", "web"))),
                                  "reach": {"app": draw(st.booleans())},
                                  "settings": {"push_os_permission": draw(st.booleans()),
                                               "marketing_consent": draw(st.booleans())}}
        if draw(st.booleans()):
            fields["mail_proxy"] = draw(st.booleans())
        g.add(0, "shopper.created", sid, **fields)
    if draw(st.booleans()):
        started(g, "x", {"hold": True, "a": False}, "hold")
        for sid in sids:
            g.add(0, "experiment.assigned", sid, experiment="x", variant=draw(st.sampled_from(("hold", "a"))))
    session: dict[str, Any] = {}          # shopper -> device of the current session (None: no device field)
    cart: dict[str, str] = {}             # shopper -> open cart
    checked, abandoned, answered = set(), {}, set()
    notes: list[tuple[str, str, str, str]] = []   # (id, shopper, channel, category) delivered
    opened, clicked, left, ads = set(), [], set(), []
    made = 0
    t = 0

    # Each action first writes the lines it needs (a visit before an add, a cart before an abandonment...),
    # so that short random scripts still reach recoveries, clicks and answers.
    def visit(sid: str) -> None:
        device = draw(st.sampled_from(("app", "mobile_web", "desktop", None)))
        session[sid] = device
        g.add(t, "session.started", sid, session=f"{sid}-v{t}", **({"device": device} if device else {}))

    def add(sid: str) -> str:
        nonlocal made
        if sid not in session:
            visit(sid)
        made += 1
        c = cart.setdefault(sid, f"{sid}-c{made}")
        dev = session[sid]
        g.add(t, "cart.item_added", sid, cart=c, **({"device": dev} if dev else {}))
        return c

    def message(sid: str) -> tuple[str, str, str, str] | None:
        nonlocal made
        made += 1
        nid, ch, cat = f"{sid}-n{made}", draw(st.sampled_from(CHANNELS)), draw(st.sampled_from(CATEGORIES))
        g.add(t, "notification.requested", sid, id=nid, channel=ch, category=cat)
        outcome = draw(st.sampled_from(("delivered", "delivered", "rerouted", "suppressed")))
        if outcome == "suppressed":
            g.nev(t, "suppressed", sid, nid, ch, cat, reason="frequency_cap")
            return None
        to = "email" if outcome == "rerouted" and ch != "email" else ch
        g.nev(t, "delivered", sid, nid, to, cat, rerouted_from=ch if to != ch else None)
        notes.append((nid, sid, to, cat))
        return notes[-1]

    def pick_note(sid: str) -> tuple[str, str, str, str] | None:
        mine = [x for x in notes if x[1] == sid]
        return draw(st.sampled_from(mine)) if mine and draw(st.booleans()) else message(sid)

    def open_(sid: str, note: tuple[str, str, str, str]) -> None:
        nid, _, ch, cat = note
        opened.add(nid)
        g.nev(t, "opened", sid, nid, ch, cat, source=draw(st.sampled_from(("shopper", "user", "proxy"))))

    for action in draw(st.lists(st.sampled_from(ACTIONS), min_size=8, max_size=60)):
        t += draw(st.integers(0, 6 * H))
        sid = draw(st.sampled_from(sids))
        if action == "visit":
            visit(sid)
        elif action == "add":
            add(sid)
        elif action == "checkout":
            c = cart.get(sid) or add(sid)
            checked.add(c)
            g.add(t, "checkout.started", sid, cart=c)
        elif action == "abandon":
            c = cart.get(sid) or add(sid)
            abandoned.setdefault(c, sid)
            g.add(t, "cart.abandoned", sid, cart=c, reason=draw(st.sampled_from(REASONS)),
                  stage="checkout" if c in checked else "cart")
            session.pop(sid, None)                 # she left
        elif action == "order":
            c = cart.get(sid) or add(sid)
            if sid not in session:
                visit(sid)
            mine = [x[0] for x in notes if x[1] == sid]
            hits = [nid for nid in clicked if nid.startswith(f"{sid}-")] * 3   # the usual case: a click
            by = draw(st.sampled_from([None, *mine, *ads, *hits]))
            discount = draw(st.sampled_from((0.0, 0.0, 2.5)))
            dev = session.pop(sid)                 # one order per visit
            del cart[sid]
            g.order(t, sid, c, by, coupon="C" if discount else None, discount=discount,
                    **({"device": dev} if dev else {}))
        elif action == "message":
            message(sid)
        elif action in ("open", "click", "unsubscribe", "complain"):
            note = pick_note(sid)
            if note is None:
                continue
            nid, _, ch, cat = note
            if action == "open":
                open_(sid, note)
            elif action == "click":
                if nid not in opened:
                    open_(sid, note)
                g.nev(t, "clicked", sid, nid, ch, cat)
                clicked.append(nid)
            elif nid not in left:
                left.add(nid)
                extra = {"method": draw(st.sampled_from(("link", "list_unsubscribe")))} if action == "unsubscribe" \
                    else {}
                g.nev(t, "unsubscribed" if action == "unsubscribe" else "complained", sid, nid, ch, cat, **extra)
        elif action == "survey":
            todo = sorted(c for c, who in abandoned.items() if who == sid and c not in answered)
            if todo:
                c = draw(st.sampled_from(todo))
                answered.add(c)
                g.add(t, "survey.answered", sid, cart=c, answer=draw(st.sampled_from(REASONS)), channel="on_site")
        elif action == "ad":
            made += 1
            ad = f"{sid}-a{made}"
            g.add(t, "ad.impression", sid, ad=ad).add(t, "ad.clicked", sid, ad=ad)
            ads.append(ad)
        elif action == "coupon":
            g.add(t, "coupon.issued", sid, coupon="C", auto_apply=False).add(t, "coupon.seen", sid, coupon="C",
                                                                              via="opened")
    if draw(st.booleans()):
        g.add(t + 1, "run.finished", None, events=0, counts={}, shoppers=n)
    return g


def _rates(d: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(d, dict):
        for k, v in d.items():
            here = f"{path}.{k}"
            if isinstance(v, (int, float)) or v is None:
                if (k.endswith("_rate") or k in SHARES) and k not in NOT_SHARES:
                    yield here, v
                elif path.endswith(("push_opt_in", "checkout_reason_shares")):
                    yield here, v
            else:
                yield from _rates(v, here)
    elif isinstance(d, list):
        for i, v in enumerate(d):
            if isinstance(v, (dict, list)):
                yield from _rates(v, f"{path}[{i}]")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(logs())
def test_the_recovery_split_adds_up_and_shares_are_shares(g: Log) -> None:
    r = g.result()
    c = r["commerce"]
    assert c["recovered_attributed"] + c["recovered_organic"] + c["recovered_other"] == c["carts_recovered"]
    assert c["recovered_by_notification"] + c["recovered_by_ad"] + c["recovered_unattributed"] == c["carts_recovered"]
    assert c["recovered_organic"] == c["recovered_unattributed"]
    assert sum(c["first_reasons"].values()) == c["carts_abandoned"]
    assert c["carts_ordered"] <= c["carts"] and sum(d["carts"] for d in c["by_device"].values()) <= c["carts"]
    if c["checkout_reason_shares"]:
        assert abs(sum(c["checkout_reason_shares"].values()) - 1) < 1e-9
    for path, v in _rates(r):
        assert v is None or 0 <= v <= 1, (path, v)
    inc = c["incremental_recovery_rate"]
    if inc is not None:
        assert -1 <= inc <= 1 and c["incremental_recovery_low"] <= inc <= c["incremental_recovery_high"]
    m = r["messages"]
    assert m["opened"] <= m["human_opened"] + m["machine_opened"]
    assert max(m["human_opened"], m["machine_opened"]) <= m["opened"] <= m["delivered"]
    assert m["recipients_clicked"] <= m["recipients_opened"] <= m["recipients"]
    for name, d in catalog.METRICS.items():
        if d.section != "experiment":
            catalog.lookup(r, name)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(logs(), st.lists(st.integers(1, 12), min_size=1, max_size=30))
def test_batches_of_any_size_give_the_same_result(g: Log, sizes: list[int]) -> None:
    events = g.events()
    want = Metrics.of(events).result()
    m, i, k = Metrics(), 0, 0
    while i < len(events):
        n = sizes[k % len(sizes)]
        m(events[i:i + n])
        m.result()  # a front end reads the result between batches: that must change nothing
        i, k = i + n, k + 1
    assert m.result() == want
    one = Metrics()
    for ev in events:
        one.add(ev)
    assert one.result() == want
