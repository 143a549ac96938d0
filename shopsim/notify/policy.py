"""Policy steps as pure functions: each takes what it needs and returns a Verdict for the decision trace.

The pipeline (DESIGN.md) runs them in order: reachable, consent, preferences, flow state, dedupe, caps,
digest, quiet hours, render. Critical messages skip preferences through quiet hours; transactional ones skip
consent, caps and digests. Keeping the steps pure makes each one testable alone and every decision
explainable from its Verdict.
"""

from __future__ import annotations

from functools import lru_cache
from types import MappingProxyType
from typing import Any, Collection, Mapping, NamedTuple
from zoneinfo import ZoneInfo

from shopsim.notify.windows import next_outside
from shopsim.contract.taxonomy import CATEGORY_CLASS, CRITICAL, MARKETING
from shopsim.contract.units import parse_clock

PASS, SUPPRESSED, DEFERRED, DIGESTED, REROUTED = "pass", "suppressed", "deferred", "digested", "rerouted"
# Where a critical message goes when its channel is unreachable, in order of preference.
CRITICAL_FALLBACK = ("push", "email", "sms", "in_app")


NO_PARAMS: Mapping[str, Any] = MappingProxyType({})


class Verdict(NamedTuple):
    # A tuple, not a dataclass: several are made per notification, and common passes are shared constants.
    step: str
    outcome: str                      # pass, suppressed, deferred, digested, rerouted
    reason: str | None = None         # why, in a word: unreachable, no_marketing_consent, channel_off, ...
    rule: str | None = None           # the setting or rule that decided, as a path: categories.promotions.push
    params: Mapping[str, Any] = NO_PARAMS

    @property
    def passed(self) -> bool:
        return self.outcome in (PASS, REROUTED)


@lru_cache(maxsize=None)
def shared(step: str, outcome: str = PASS, **params: Any) -> Verdict:
    """One shared Verdict per distinct pass: the trace and the log line reuse it."""
    v = Verdict(step, outcome, params=MappingProxyType(params) if params else NO_PARAMS)
    SHARED_IDS.add(id(v))  # kept alive by the cache, so the id stays this verdict's
    return v


SHARED_IDS: set[int] = set()
# The commonest passes by their one parameter: a dict lookup instead of shared()'s keyword call, per message.
_REACHABLE: dict[str, Verdict] = {}
_CONSENT: dict[str, Verdict] = {}
_PREFERENCES: dict[str, Verdict] = {}


def can_reach(channel: str, settings: dict[str, Any], reach: dict[str, bool]) -> tuple[bool, str | None]:
    """Whether the shopper has this channel at all, and the rule that says no."""
    if channel == "push":
        if not reach["app"]:
            return False, "reach.app"
        if not settings["push_os_permission"]:
            return False, "push_os_permission"
    elif channel == "sms":
        if not reach["phone"]:
            return False, "reach.phone"
        if not settings["sms_opt_in"]:
            return False, "sms_opt_in"
    elif channel == "email" and not reach["email"]:
        return False, "reach.email"
    return True, None


def reachable(channel: str, category: str, settings: dict[str, Any], reach: dict[str, bool],
              taken: Collection[str] = ()) -> Verdict:
    """`taken`: channels the same message already goes to, which a critical fallback must not double up."""
    ok, rule = can_reach(channel, settings, reach)
    if ok:
        v = _REACHABLE.get(channel)
        return v if v is not None else _REACHABLE.setdefault(channel, shared("reachable", channel=channel))
    if CATEGORY_CLASS.get(category) == CRITICAL:
        for other in CRITICAL_FALLBACK:
            if other != channel and other not in taken and can_reach(other, settings, reach)[0]:
                return Verdict("reachable", REROUTED, "unreachable", rule, {"channel": channel, "to": other})
    return Verdict("reachable", SUPPRESSED, "unreachable", rule, {"channel": channel})


def consent(category: str, settings: dict[str, Any]) -> Verdict:
    cls = CATEGORY_CLASS[category]
    if cls != MARKETING:
        v = _CONSENT.get(cls)
        return v if v is not None else _CONSENT.setdefault(cls, shared("consent", **{"class": cls}))
    if not settings["marketing_consent"]:
        return Verdict("consent", SUPPRESSED, "no_marketing_consent", "marketing_consent")
    if category == "recommendations" and not settings["personalization"]:
        return Verdict("consent", SUPPRESSED, "no_personalization_consent", "personalization")
    v = _CONSENT.get(MARKETING)
    return v if v is not None else _CONSENT.setdefault(MARKETING, shared("consent", **{"class": MARKETING}))


def preferences(channel: str, category: str, settings: dict[str, Any]) -> Verdict:
    if not settings["channels"][channel]:
        return Verdict("preferences", SUPPRESSED, "channel_off", f"channels.{channel}")
    prefs = settings["categories"][category]
    if not prefs[channel]:
        return Verdict("preferences", SUPPRESSED, "category_channel_off", f"categories.{category}.{channel}")
    frequency = prefs["frequency"]
    if frequency == "off":
        return Verdict("preferences", SUPPRESSED, "frequency_off", f"categories.{category}.frequency")
    v = _PREFERENCES.get(frequency)
    return v if v is not None else _PREFERENCES.setdefault(frequency, shared("preferences", frequency=frequency))


def flow_state(state: str | tuple[str, str] | None) -> Verdict:
    """A flow step is void once its exit condition happened (the flow names it), or when its own `when`
    condition does not hold (the flow gives the condition and the rule that states it); None: it holds."""
    if state is None:
        return shared("flow_state")
    if isinstance(state, tuple):
        condition, rule = state
        return Verdict("flow_state", SUPPRESSED, "flow_condition", rule, {"condition": condition})
    return Verdict("flow_state", SUPPRESSED, "flow_exited", f"flow.exit.{state}", {"exit": state})


def dedupe(key: str | None, seen: set[str] | None, newer: str | None = None) -> Verdict:
    """The same logical message (same key) goes out once; a deferred update replaced by a newer one about
    the same thing on the same channel (`newer`) collapses into it, as push services' collapse keys do."""
    if newer is not None:
        return Verdict("dedupe", SUPPRESSED, "superseded", "dedupe.collapse", {"by": newer})
    if key is not None and seen is not None and key in seen:
        return Verdict("dedupe", SUPPRESSED, "duplicate", "dedupe.key", {"key": key})
    return shared("dedupe")


def digest(frequency: str, period_starts: int | None, digest_id: str | None) -> Verdict:
    """Realtime messages pass; daily and weekly ones join the digest that goes out at `period_starts`."""
    if frequency not in ("daily", "weekly"):
        return shared("digest", frequency=frequency)
    return Verdict("digest", DIGESTED, "digest", "frequency",
                   {"frequency": frequency, "digest": digest_id, "at": period_starts})


INTERRUPTIVE = frozenset({"push", "sms"})
_clock = lru_cache(maxsize=None)(parse_clock)


def quiet_hours(channel: str, settings: dict[str, Any], zone: ZoneInfo, epoch: int) -> Verdict:
    """Push and SMS wait for the end of the shopper's local quiet hours; other channels never wait."""
    window = settings["quiet_hours"]
    if channel not in INTERRUPTIVE or not window:
        return shared("quiet_hours")
    start, end = _clock(window["start"]), _clock(window["end"])
    until = next_outside(zone, epoch, start, end)
    if until == epoch:
        return shared("quiet_hours", start=window["start"], end=window["end"])
    return Verdict("quiet_hours", DEFERRED, "quiet_hours", "quiet_hours",
                   {"start": window["start"], "end": window["end"], "tz": zone.key, "until": until})


def send_windows(channel: str, cls: str, windows, zone: ZoneInfo, epoch: int) -> Verdict:
    """The platform's send windows (e.g. SMS 08:00-21:00 local): outside one, wait for it to open.
    `windows` holds (channel, start, end, classes, rule) with start/end in local minutes."""
    t, rule, moved = epoch, None, None
    for _ in range(4):  # windows may push each other along; a few rounds settle any sane set
        changed = False
        for ch, start, end, classes, name in windows:
            if ch != channel or cls not in classes or channel not in INTERRUPTIVE:
                continue
            nxt = next_outside(zone, t, end, start)  # outside the send window = inside [end, start)
            if nxt != t:
                t, rule, moved, changed = nxt, name, (start, end), True
        if not changed:
            break
    if t == epoch:
        return shared("send_window")
    start, end = moved
    return Verdict("send_window", DEFERRED, "send_window", rule,
                   {"start": f"{start // 60:02d}:{start % 60:02d}", "end": f"{end // 60:02d}:{end % 60:02d}",
                    "tz": zone.key, "until": t})
