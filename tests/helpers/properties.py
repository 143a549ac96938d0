"""What property tests share: hypothesis strategies for whole scenarios (any scenario the schema allows, and
ones busy with notifications: settings per segment, caps, send windows, scripted messages), and the oracles,
the library's invariants (shopsim.qa.invariants) asserted on a run's events, by topic."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from types import SimpleNamespace

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from shopsim.contract import events as E
from shopsim.contract.taxonomy import (
    ABANDON_REASONS, CATEGORIES, CATEGORY_CLASS, CHANNELS, FREQUENCIES, LEVER_REASON, MARKETING, MARKETING_CATEGORIES,
)
from shopsim.qa.invariants import InvariantChecker
from shopsim.simulation import Simulation

# --- generators ---------------------------------------------------------------------------------------

PROPS = settings(max_examples=25, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
LOCALES = ("en_US", "de_DE", "fr_FR", "ja_JP", "pt_BR")
STARTS = ("2026-03-02T00:00:00Z", "2026-03-07T18:00:00Z",  # the US spring-forward night falls inside
          "2026-10-24T22:30:00Z", "2026-03-02T00:00:00.250Z")


def _shares(draw, keys) -> dict[str, float]:
    w = [draw(st.integers(1, 10)) for _ in keys]
    return {k: x / sum(w) for k, x in zip(keys, w)}


# Fixed-value distributions: compile_scenario tabulates every other distribution (about 7 ms each), so
# generated scenarios draw between these and real ones to keep the suite fast.
ONE_CARRIER = {"only": {"share": 1.0, "name": "Only Post", "tracking_prefix": "OP",
                        "in_transit_after": "14h", "transit": "2d", "last_mile": "5h"}}
FAST = {
    "catalogue": {"products": 5, "price": 9.99},
    "behaviour": {"sessions": {"views": 3, "view_time": "40s"}, "checkout_time": "4m"},
    "orders": {"payment": {"delay": "20s", "retry_after": "25m"}, "processing": "6h", "handling": "2d",
               "carriers": ONE_CARRIER, "disputes": {"after": "3d", "refund_after": "2d"}},
}

unit = st.floats(0, 1, allow_nan=False)
trait = st.floats(0.2, 3, allow_nan=False)


@st.composite
def scenario_dicts(draw) -> dict:
    locales = draw(st.lists(st.sampled_from(LOCALES), min_size=1, max_size=3, unique=True))
    segments = [f"seg{i}" for i in range(draw(st.integers(1, 3)))]
    seg_shares = _shares(draw, segments)
    reasons = draw(st.dictionaries(st.sampled_from(ABANDON_REASONS), st.floats(0, 1, allow_nan=False), min_size=1)
                   .filter(lambda d: sum(d.values()) > 0))
    size = draw(st.integers(1, 40))
    minutes = draw(st.integers(60, 5 * 24 * 60))
    data = {
        "schema_version": 1,
        "run": {"name": "prop", "seed": draw(st.integers(0, 2**32)), "duration": f"{minutes}m",
                "start": draw(st.sampled_from(STARTS))},
        "population": {
            "size": size,
            "locales": {k: {"share": v} for k, v in _shares(draw, locales).items()},
            "segments": {
                s: {"share": seg_shares[s], "traits": draw(st.fixed_dictionaries(
                    {}, optional={"activity": trait, "views": trait, "add_to_cart": trait, "abandonment": trait}))}
                for s in segments},
        },
        "catalogue": {"products": draw(st.integers(1, 150)), "stores": draw(st.integers(1, 20)),
                      "price": {"dist": "lognormal", "median": draw(st.floats(0.5, 300)),
                                "sigma": draw(st.floats(0.2, 1.5)), "min": 0.01},
                      "free_shipping_over": draw(st.sampled_from([0, 5, 10, 1000]))},
        "behaviour": {
            "sessions": {"per_day": draw(st.floats(0.2, 4)),
                         "views": draw(st.sampled_from([1, 4, {"dist": "lognormal", "median": 4, "sigma": 0.7, "min": 1}])),
                         "view_time": draw(st.sampled_from(["40s", {"dist": "exponential", "mean": "30s"}]))},
            "add_to_cart": draw(st.floats(0, 0.5)),
            "resume_cart": draw(unit), "clear_cart": draw(unit),
            "favourite_categories": draw(st.integers(0, 10)),
            "abandonment": {"rate": draw(unit), "reasons": reasons,
                            "levers": {k: draw(st.booleans()) for k in LEVER_REASON},
                            "lever_effect": draw(unit),
                            "detect_after": draw(st.sampled_from(["5m", "30m", "2h"]))},
            "checkout_time": draw(st.sampled_from(["1m", {"dist": "lognormal", "median": "4m", "sigma": 0.5}])),
        },
        "orders": {
            "payment": {"failure": draw(unit), "retry": draw(unit), "cancel_after": draw(st.sampled_from(["1h", "24h"])),
                        "delay": "20s", "retry_after": draw(st.sampled_from(["25m", {"dist": "uniform", "low": "1m", "high": "2h"}]))},
            "processing": draw(st.sampled_from(["1h", {"dist": "lognormal", "median": "6h", "sigma": 0.6}])),
            "carriers": draw(st.sampled_from([ONE_CARRIER, ONE_CARRIER, None])),
            "handling": draw(st.sampled_from(["2h", {"dist": "lognormal", "median": "2d", "sigma": 0.5}])),
            "disputes": {"rate": draw(unit), "refund": draw(unit), "after": "6h", "refund_after": "3h"},
        },
        # Rates are 0 or at least 1e-6: far tinier ones overflow (see test_tiny_rates_do_not_crash).
        "account": {"new_signin_per_30d": draw(st.just(0.0) | st.floats(1e-6, 5)),
                    "password_change_per_30d": draw(st.just(0.0) | st.floats(1e-6, 2))},
    }
    if data["orders"]["carriers"] is None:
        del data["orders"]["carriers"]  # the three default carriers
    return data


def prefs(category: str):
    # Digests (daily, weekly) exist only for marketing categories; the settings model refuses them elsewhere.
    freqs = FREQUENCIES if CATEGORY_CLASS[category] == MARKETING else ("realtime", "off")
    return st.fixed_dictionaries({}, optional={**{c: st.booleans() for c in CHANNELS},
                                               "frequency": st.sampled_from(freqs)})


clock = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.sampled_from([0, 15, 30, 59]))
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
share = st.sampled_from([0.0, 0.7, 1.0, 1.0])  # mostly reachable and consenting: more gets decided
clock_window = st.builds(lambda a, b: {"start": a, "end": b}, clock, clock)
settings_patches = st.fixed_dictionaries({}, optional={
    "channels": st.fixed_dictionaries({}, optional={c: st.booleans() for c in CHANNELS}),
    "categories": st.lists(st.sampled_from(CATEGORIES), max_size=4, unique=True).flatmap(
        lambda cats: st.fixed_dictionaries({c: prefs(c) for c in cats})),
    "quiet_hours": st.none() | clock_window,
    "digest": st.fixed_dictionaries({}, optional={"time": clock, "weekday": st.sampled_from(WEEKDAYS)}),
    "marketing_consent": st.booleans(), "personalization": st.booleans(),
    "push_os_permission": st.booleans(), "sms_opt_in": st.booleans(),
})
# Marketing on every channel more often than the built-in defaults allow, so caps and SMS windows matter.
marketing_prefs = st.fixed_dictionaries({
    c: st.fixed_dictionaries({}, optional={"sms": st.booleans(), "push": st.booleans(),
                                           "frequency": st.sampled_from(["realtime", "realtime", "daily", "weekly",
                                                                         "off"])})
    for c in MARKETING_CATEGORIES})
caps = st.lists(st.fixed_dictionaries(
    {"channel": st.sampled_from(CHANNELS), "max": st.integers(0, 3), "per": st.sampled_from(["1h", "4h", "24h", "2d"])},
    optional={"category": st.sampled_from(MARKETING_CATEGORIES)}), max_size=3)
classes = st.lists(st.sampled_from(["marketing", "transactional"]), min_size=1, max_size=2, unique=True)
window = st.builds(lambda w, cl: {"start": w["start"], "end": w["end"], "classes": cl},
                   clock_window.filter(lambda w: w["start"] != w["end"]), classes)


@st.composite
def send_windows(draw) -> list[dict]:
    out = []
    for channel in draw(st.lists(st.sampled_from(["push", "sms"]), max_size=2, unique=True)):
        out.append({"channel": channel, **draw(window)})  # one per channel: two disjoint ones never open
    return out


@st.composite
def scripted(draw, size: int, minutes: int) -> list[dict]:
    out, used = [], set()
    for _ in range(draw(st.integers(0, 16))):
        at = draw(st.integers(0, minutes))
        who = draw(st.integers(1, size))
        kind = draw(st.sampled_from(["notify", "notify", "notify", "settings", "signin", "password_change"]))
        if kind == "notify":
            out.append({"at": f"{at}m", "shopper": draw(st.sampled_from(["all", f"s{who:06d}"])), "notify": {
                "category": draw(st.sampled_from(MARKETING_CATEGORIES)),
                "channels": draw(st.lists(st.sampled_from(CHANNELS), min_size=1, max_size=4, unique=True)),
                "title": "Offer"}})
        elif kind == "settings":
            out.append({"at": f"{at}m", "shopper": f"s{who:06d}", "settings": draw(settings_patches)})
        elif (at, who) not in used:  # one account event per shopper and instant: the checks group by it
            used.add((at, who))
            out.append({"at": f"{at}m", "shopper": f"s{who:06d}", kind: True})
    return out


@st.composite
def notify_scenarios(draw) -> dict:
    data = draw(scenario_dicts())
    size = draw(st.integers(1, 15))
    minutes = draw(st.integers(12 * 60, 3 * 24 * 60))
    data["run"]["duration"] = f"{minutes}m"
    pop = data["population"]
    pop["size"] = size
    pop["platforms"] = draw(st.sampled_from([{"ios": 1.0}, {"android": 0.5, "ios": 0.3, "web": 0.2}]))
    pop["reach"] = {"email_verified": draw(share), "phone": draw(share)}
    pop["consent"] = {"marketing_consent": draw(share), "personalization": draw(share), "sms_opt_in": draw(share),
                      "push_os_permission": {"ios": draw(share), "android": draw(share)}}
    pop["settings"] = {"categories": draw(marketing_prefs), "quiet_hours": draw(st.none() | clock_window),
                       "digest": {"time": draw(clock), "weekday": draw(st.sampled_from(WEEKDAYS))}}
    for seg in pop["segments"].values():
        seg["settings"] = draw(settings_patches)
    data["policies"] = {"caps": draw(caps), "send_windows": draw(send_windows())}
    data["events"] = draw(scripted(size, minutes))
    return data


# --- oracles: the library's invariants ----------------------------------------------------------

def assert_invariants(sim: Simulation, events: list, names=None, batch: int = 97) -> InvariantChecker:
    """The library's invariant checks (shopsim.qa.invariants; all of them unless `names` says which) on a
    run's events, fed in batches that split instants as a live run's do: none may be violated."""
    checker = InvariantChecker(sim, names, limit=5)
    for i in range(0, len(events), batch):
        checker(events[i:i + batch])
    found = [v for vs in checker.finish().values() for v in vs]
    assert not found, "\n".join(f"{v.invariant} at seq {v.seq}: {v.message}" for v in found)
    return checker


def check_log(events: list, end: int) -> None:
    """log_well_formed alone, for callers that hold the events and the run's end but not its Simulation."""
    run = SimpleNamespace(scenario=SimpleNamespace(start_epoch=0, duration=end))
    assert_invariants(run, events, ["log_well_formed"])


NOTIFY_INVARIANTS = ["one_outcome_per_request", "settings_respected", "quiet_hours_respected",
                     "send_windows_respected", "caps_respected", "digests_consistent", "critical_always_sent"]


def check_notifications(sim: Simulation, events):
    """Every decision of the run follows the settings in effect at its instant, the caps, quiet hours, send
    windows and digests (shopsim.qa.invariants)."""
    return assert_invariants(sim, events, NOTIFY_INVARIANTS)


ENGAGEMENT = {E.NOTIFICATION_OPENED, E.NOTIFICATION_CLICKED, E.NOTIFICATION_DISMISSED, E.NOTIFICATION_UNSUBSCRIBED}


def instant(sim: Simulation, text: str) -> int:
    """An ISO instant of the log as virtual ms."""
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000) - sim.scenario.start_epoch


# Each check_* asserts its invariants (shopsim.qa.invariants) and counts what the run gave them to judge.

def check_flows(sim: Simulation, events) -> dict[str, int]:
    """Every step of every flow run is judged as its flow says: void once an exit happened (the first exit names
    the rule), suppressed when its `when` fails, otherwise through. Returns how many decisions of each kind
    were seen: by exit, `condition`, `held` (through flow state) and `early` (decided before it)."""
    assert_invariants(sim, events, ["flows_exit_on_purchase", "flow_conditions_respected", "flow_steps_on_schedule"])
    steps = {e.data["id"] for e in events
             if e.type == E.NOTIFICATION_REQUESTED and e.data["source"].startswith("flow:")}
    seen: dict[str, int] = defaultdict(int)
    for ev in events:
        if ev.type in (*E.NOTIFICATION_OUTCOMES, E.NOTIFICATION_DEFERRED) and ev.data["id"] in steps:
            verdict = next((v for v in ev.data["trace"] if v["step"] == "flow_state"), None)
            if verdict is None:
                seen["early"] += 1
            elif verdict["outcome"] == "pass":
                seen["held"] += 1
            elif verdict["reason"] == "flow_exited":
                seen[verdict["params"]["exit"]] += 1
            else:
                seen["condition"] += 1
    return seen


def check_coupons(sim: Simulation, events) -> dict[str, int]:
    """Coupons come with a delivery that offers one; an order takes the best valid coupon the shopper
    holds and redeems it once; unused coupons expire exactly when they said they would."""
    assert_invariants(sim, events, ["coupons_redeemed_once_before_expiry", "best_coupon_applied"])
    n = Counter(e.type for e in events)
    return {"issued": n[E.COUPON_ISSUED], "redeemed": n[E.COUPON_REDEEMED], "expired": n[E.COUPON_EXPIRED]}


def check_attribution(sim: Simulation, events) -> int:
    """An order is attributed to the shopper's last marketing (or ad) click within the attribution window
    that no earlier order used; to nothing otherwise. Returns how many orders were attributed."""
    assert_invariants(sim, events, ["attribution_valid"])
    return sum(1 for e in events if e.type == E.ORDER_PLACED and e.data["attributed_to"] is not None)


def check_engagement(sim: Simulation, events) -> dict[str, int]:
    """Opens, clicks, dismissals and unsubscribes answer a delivery to the same shopper, in that order;
    an unsubscribe switches the message's category off on its channel at once. Returns how many of each."""
    assert_invariants(sim, events, ["engagement_follows_delivery"])
    if not sim.scenario.model.engagement.enabled:
        return {}
    return dict(Counter(e.type for e in events if e.type in ENGAGEMENT))


