"""Policy steps as pure functions: each takes what it needs and returns a Verdict for the decision trace.

The pipeline (DESIGN.md) runs them in order: reachable, consent, preferences, flow state, dedupe, caps,
digest, quiet hours, render. Critical messages skip preferences through quiet hours; transactional ones skip
consent, caps and digests. Keeping the steps pure makes each one testable alone and every decision
explainable from its Verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from shopsim.notify.windows import next_outside
from shopsim.scenario.taxonomy import CATEGORY_CLASS, CRITICAL, MARKETING
from shopsim.scenario.units import parse_clock

PASS, SUPPRESSED, DEFERRED, DIGESTED, REROUTED = "pass", "suppressed", "deferred", "digested", "rerouted"
# Where a critical message goes when its channel is unreachable, in order of preference.
CRITICAL_FALLBACK = ("push", "email", "sms", "in_app")


@dataclass(frozen=True, slots=True)
class Verdict:
    step: str
    outcome: str                      # pass, suppressed, deferred, digested, rerouted
    reason: str | None = None         # why, in a word: unreachable, no_marketing_consent, channel_off, ...
    rule: str | None = None           # the setting or rule that decided, as a path: categories.promotions.push
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.outcome in (PASS, REROUTED)


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


def reachable(channel: str, category: str, settings: dict[str, Any], reach: dict[str, bool]) -> Verdict:
    ok, rule = can_reach(channel, settings, reach)
    if ok:
        return Verdict("reachable", PASS, params={"channel": channel})
    if CATEGORY_CLASS[category] == CRITICAL:
        for other in CRITICAL_FALLBACK:
            if other != channel and can_reach(other, settings, reach)[0]:
                return Verdict("reachable", REROUTED, "unreachable", rule, {"channel": channel, "to": other})
    return Verdict("reachable", SUPPRESSED, "unreachable", rule, {"channel": channel})


def consent(category: str, settings: dict[str, Any]) -> Verdict:
    if CATEGORY_CLASS[category] != MARKETING:
        return Verdict("consent", PASS, params={"class": CATEGORY_CLASS[category]})
    if not settings["marketing_consent"]:
        return Verdict("consent", SUPPRESSED, "no_marketing_consent", "marketing_consent")
    if category == "recommendations" and not settings["personalization"]:
        return Verdict("consent", SUPPRESSED, "no_personalization_consent", "personalization")
    return Verdict("consent", PASS, params={"class": MARKETING})


def preferences(channel: str, category: str, settings: dict[str, Any]) -> Verdict:
    if not settings["channels"][channel]:
        return Verdict("preferences", SUPPRESSED, "channel_off", f"channels.{channel}")
    prefs = settings["categories"][category]
    if not prefs[channel]:
        return Verdict("preferences", SUPPRESSED, "category_channel_off", f"categories.{category}.{channel}")
    if prefs["frequency"] == "off":
        return Verdict("preferences", SUPPRESSED, "frequency_off", f"categories.{category}.frequency")
    return Verdict("preferences", PASS, params={"frequency": prefs["frequency"]})


INTERRUPTIVE = frozenset({"push", "sms"})


def quiet_hours(channel: str, settings: dict[str, Any], zone: ZoneInfo, epoch: int) -> Verdict:
    """Push and SMS wait for the end of the shopper's local quiet hours; other channels never wait."""
    window = settings["quiet_hours"]
    if channel not in INTERRUPTIVE or not window:
        return Verdict("quiet_hours", PASS)
    start, end = parse_clock(window["start"]), parse_clock(window["end"])
    until = next_outside(zone, epoch, start, end)
    if until == epoch:
        return Verdict("quiet_hours", PASS, params={"start": window["start"], "end": window["end"]})
    return Verdict("quiet_hours", DEFERRED, "quiet_hours", "quiet_hours",
                   {"start": window["start"], "end": window["end"], "tz": zone.key, "until": until})
