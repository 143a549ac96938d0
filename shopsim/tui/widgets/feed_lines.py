"""What a line of the live feed holds: one notification decision, ad impression or step, from its event.

A line is a `FeedLine`, a named tuple: compact enough to keep thousands in the feed's deque, made at any
event rate. How a line reads on screen is feed_rows.py's."""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

from shopsim.contract import events as E
from shopsim.contract.events import Event
from shopsim.report.labels import channel_words

# What a line says happened. "impression" is an ad (its channel is "ads").
DELIVERED, DEFERRED, DIGESTED, SUPPRESSED, IMPRESSION = "delivered", "deferred", "digested", "suppressed", "impression"
OUTCOMES = (DELIVERED, DEFERRED, DIGESTED, SUPPRESSED, IMPRESSION)
STEPPED = "stepped"  # an event `n` stepped to that is not a decision: a line of its own, in words
OUTCOME_OF = {E.NOTIFICATION_DELIVERED: DELIVERED, E.NOTIFICATION_DEFERRED: DEFERRED,
              E.NOTIFICATION_DIGESTED: DIGESTED, E.NOTIFICATION_SUPPRESSED: SUPPRESSED,
              E.AD_IMPRESSION: IMPRESSION}
CHANNEL_CYCLE = (None, "email", "push", "sms", "in_app", "ads")  # what `c` steps through


class FeedLine(NamedTuple):
    """One line. `detail` and `extra` depend on the outcome: delivered (title, digest or reroute) · deferred
    (until, reason) · digested (digest id, when it goes out) · suppressed (reason, rule) · impression
    (reason, ref) · stepped (the event in words, its type)."""

    serial: int              # counts every line ever added: it identifies a line (the cursor, the cache)
    t: int                   # virtual ms
    outcome: str
    shopper: str | None
    channel: str | None
    category: str | None
    detail: Any
    extra: Any
    nid: str | None          # the notification (or the ad) it is about


# Lines are made with tuple.__new__: FeedLine(...) runs a Python __new__, which more than doubled the time
# on_sim_events takes over a batch.
_line = tuple.__new__


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else many or one + 's'}"


def first_line(body: str | None) -> str:
    """An SMS has no title: its text stands in (first line, at most 120 characters)."""
    if not body:
        return ""
    line = body.strip().split("\n", 1)[0]
    return line if len(line) <= 120 else line[:119] + "…"


def decision_line(ev: Event, outcome: str, serial: int) -> FeedLine:
    """The line of a decision event (`OUTCOME_OF[ev.type]` is `outcome`)."""
    d = ev.data
    if outcome == IMPRESSION:
        return _line(FeedLine, (serial, ev.t, IMPRESSION, ev.shopper, "ads", "retargeting", d.get("reason"),
                                d.get("ref"), d.get("ad")))
    if outcome == DELIVERED:
        digest = d.get("digest_of")
        extra = (f"digest of {plural(len(digest), 'message')}" if digest else
                 f"rerouted from {channel_words(d['rerouted_from'])}" if d.get("rerouted_from") else None)
        detail = d.get("title") or first_line(d.get("body"))
    elif outcome == SUPPRESSED:
        detail, extra = d.get("reason"), d.get("rule")
    elif outcome == DEFERRED:
        detail, extra = d.get("until"), d.get("reason")
    else:
        detail, extra = d.get("digest"), d.get("at")
    return _line(FeedLine, (serial, ev.t, outcome, ev.shopper, d.get("channel"), d.get("category"), detail, extra,
                            d.get("id")))


def stepped_line(ev: Event, serial: int, describe: Callable[[Event], str]) -> FeedLine:
    """The line of an event `n` stepped to that is no decision: `describe(ev)` says it."""
    d = ev.data
    note = ev.type.startswith("notification.")  # elsewhere `category` is a product's, not a message's
    return FeedLine(serial, ev.t, STEPPED, ev.shopper, d.get("channel") if note else None,
                    d.get("category") if note else None, describe(ev), ev.type, d.get("id") if note else None)
