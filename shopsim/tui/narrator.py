"""Narration: which `narration:` step fires, and when; the message it is about; whether what it claims holds in
this run. Pure logic (no Textual), driven by the transport."""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple, Sequence

from shopsim.qa.narration import render
from shopsim.scenario.compiled import at_ms
from shopsim.scenario.teaching import NarrationStep
from shopsim.contract.events import Event

_ORDER_PLACED = "order.placed"
_REQUESTED = "notification.requested"
_DELIVERED = "notification.delivered"
_DEFERRED = "notification.deferred"
_DIGESTED = "notification.digested"


class Facts(NamedTuple):
    """What the run had shown before a step's event, kept when the step fires: the claims of its `expect:` that
    need the past are judged on these (the rest on the run as the step shows)."""
    complete: bool              # the narrator saw every event before this one (not while it was switched off)
    ordered: bool               # the shopper had placed an order before the event
    source: str | None          # what asked for the message the step is about (notification.requested.source)
    follows_gap: int | None     # ms since the shopper's latest earlier event matching `expect.follows`


class Hit(NamedTuple):
    index: int                  # the step's position in `narration:`
    step: NarrationStep
    t: int                      # virtual time it fired at
    event: Event | None         # the matching event (for `when` steps)
    shopper: str | None         # whom to show: the step's shopper, else the event's
    notification: str | None = None  # the message the step is about: the event's own, or the one carrying its coupon
    facts: Facts | None = None


def _value(ev: Event, key: str) -> Any:
    return ev.type if key == "type" else ev.shopper if key == "shopper" else ev.data.get(key, _MISSING)


def _matches(fields: dict[str, set], ev: Event) -> bool:
    for key, allowed in fields.items():
        value = _value(ev, key)
        try:
            if value is _MISSING or value not in allowed:
                return False
        except TypeError:  # a list field never equals a scalar
            return False
    return True


def _fields(match: Mapping[str, Any]) -> dict[str, set]:
    return {k: set(v) if isinstance(v, list) else {v} for k, v in match.items()}


_MISSING = object()


def _coupons_of(ev: Event) -> list[str]:
    """The coupon codes a delivered message carries (a digest may carry several)."""
    d = ev.data
    return ([d["coupon"]] if d.get("coupon") else []) + list(d.get("coupons") or ())


class Narrator:
    def __init__(self, steps: Sequence[NarrationStep], start_epoch: int):
        self.steps = list(steps)
        self.start_epoch = start_epoch
        self.timed = sorted((at_ms(s.at, start_epoch), i) for i, s in enumerate(self.steps) if s.at is not None)
        self.filters: list[tuple[int, dict[str, set]]] = [
            (i, _fields(s.when)) for i, s in enumerate(self.steps) if s.when is not None]
        self.fired: set[int] = set()
        self.enabled = True  # off: steps neither pause nor fire (a presenter who has seen them)
        # Events after a hit in the same batch: scanned on the next call, so two steps in one batch both fire.
        self._rest: list[Event] = []
        self._fired_now: int | None = None  # the clock when the last step fired
        # What the claims of `expect:` need from the past, kept as the events go by (small: per shopper at most).
        self._last_seq: int | None = None
        self._complete = True
        self._ordered: set[str] = set()
        self._coupon_note: dict[str, str] = {}     # coupon code -> the delivered message that carried it
        claims = [s.expect for s in self.steps if s.expect is not None]
        self._want_sources = any(c.source is not None for c in claims)
        self._sources: dict[str, str] = {}         # notification id -> its request's source
        self._follows = {i: _fields(s.expect.follows) for i, s in enumerate(self.steps)
                         if s.expect is not None and s.expect.follows}
        self._latest: dict[int, dict[str, int]] = {i: {} for i in self._follows}  # step -> shopper -> t

    @property
    def pending(self) -> bool:
        return self.enabled and len(self.fired) < len(self.steps)

    @property
    def filters_pending(self) -> bool:
        return self.enabled and (any(i not in self.fired for i, _ in self.filters) or bool(self._rest))

    def next_time(self) -> int | None:
        """When the next timed step is due (the transport stops there), or None."""
        if not self.enabled:
            return None
        return next((t for t, i in self.timed if i not in self.fired), None)

    def scan(self, events: Sequence[Event], now: int) -> Hit | None:
        """The first step these events (or the clock, now) trigger; marks it fired. Events after the one that
        fired are kept for the next call."""
        if not self.enabled:
            return None
        if self._rest:
            events, self._rest = [*self._rest, *events], []
        if now == self._fired_now:
            # A step has just fired and the clock has not moved since: it is still being shown (the transport
            # scans again before the slice ends). The next one waits until the run goes on.
            self._rest = list(events)
            return None
        due_at, due_step = next(((t, i) for t, i in self.timed if i not in self.fired and t <= now), (None, None))
        for k, ev in enumerate(events):
            if due_at is not None and ev.t > due_at:
                self._rest = list(events[k:])
                break
            for i, fields in self.filters:
                if i not in self.fired and _matches(fields, ev):
                    hit = self._fire(i, ev.t, ev, events[k + 1:])
                    self._track(ev)
                    self._rest = list(events[k + 1:])
                    self._fired_now = now
                    return hit
            self._track(ev)
        if due_at is not None:
            hit = self._fire(due_step, due_at, None, ())
        else:
            return None
        self._fired_now = now
        return hit

    def _track(self, ev: Event) -> None:
        if self._last_seq is not None and ev.seq != self._last_seq + 1:
            self._complete = False  # events went by unseen (narration was off): the past is not known
        self._last_seq = ev.seq
        typ, who = ev.type, ev.shopper
        if typ == _ORDER_PLACED:
            self._ordered.add(who)
        elif typ == _REQUESTED and self._want_sources:
            self._sources[ev.data["id"]] = ev.data.get("source")
        elif typ == _DELIVERED:
            for code in _coupons_of(ev):
                self._coupon_note[code] = ev.data["id"]
        for i, fields in self._follows.items():
            if i not in self.fired and _matches(fields, ev):
                self._latest[i][who] = ev.t

    def _fire(self, i: int, t: int, ev: Event | None, after: Sequence[Event]) -> Hit:
        self.fired.add(i)
        step = self.steps[i]
        if ev is None:
            return Hit(i, step, t, None, step.shopper)
        note = self._message_of(ev, after)
        source = self._sources.get(note) if note is not None else None
        if ev.type == "coupon.issued":
            source = ev.data.get("source")
        latest = self._latest.get(i, {}).get(ev.shopper)
        facts = Facts(self._complete, ev.shopper in self._ordered, source,
                      None if latest is None else ev.t - latest)
        return Hit(i, step, t, ev, step.shopper or ev.shopper, note, facts)

    def _message_of(self, ev: Event, after: Sequence[Event]) -> str | None:
        """The message an event is about: a notification event's own; for a coupon, the message that carried it
        (it is delivered right after its coupon.issued); for an order a message brought back, that message;
        for an event that asks for messages (a sign-in, a shipment), the first of them delivered."""
        d = ev.data
        if ev.type.startswith("notification."):
            return d.get("id")
        code = d.get("coupon") if ev.type.startswith("coupon.") else None
        if code is not None:
            if code in self._coupon_note:
                return self._coupon_note[code]
            return next((a.data["id"] for a in after if a.type == _DELIVERED and a.shopper == ev.shopper
                         and code in _coupons_of(a)), None)
        if ev.type == _ORDER_PLACED and isinstance(d.get("attributed_to"), str) and "-n" in d["attributed_to"]:
            return d["attributed_to"]
        # The messages an event asks for follow it at once (a sign-in's alert): the first one delivered.
        for a in after:
            if a.shopper != ev.shopper or a.t != ev.t:
                break
            if a.type == _DELIVERED:
                return a.data["id"]
        return None

    def describe(self, hit: Hit, result: Mapping[str, Any] | None = None, currency: str = "") -> dict[str, Any]:
        """The step as shown: with `result` (a `Metrics.result()` taken now), its placeholders filled in."""
        title, text = step_texts(hit.step, result, currency)
        return {"title": title, "text": text, "shopper": hit.shopper, "notification": hit.notification}


def step_texts(step: NarrationStep, result: Mapping[str, Any] | None, currency: str = "") -> tuple[str, str]:
    """A step's title and text with its placeholders (`{abandonment_rate}`, `{shoppers}`) filled in from
    `result`, a `Metrics.result()` of the run as it stands; the text as written when there is no result."""
    if result is None:
        return step.title, step.text.strip()
    return render(step.title, result, currency), render(step.text, result, currency).strip()


# --- the run as the step shows ---------------------------------------------------------------------------


def in_inbox(sim, shopper: str | None, notification: str | None) -> bool:
    """Whether the shopper's inbox holds that message now (delivered: a held or suppressed one is not there)."""
    if shopper is None or notification is None or not notification.startswith(shopper + "-"):
        return False
    try:
        return any(m.id == notification for m in sim.inbox(shopper))
    except (LookupError, ValueError):  # a simulation that keeps no messages, an unknown shopper
        return False


def highlight(hit: Hit, sim) -> str | None:
    """The message to highlight in the shown shopper's inbox: the one the step is about, if it is there now."""
    return hit.notification if in_inbox(sim, hit.shopper, hit.notification) else None


def _local(sim, shopper: str, t: int) -> tuple[int, str]:
    """Minutes after local midnight, and "HH:MM", of virtual time t for the shopper."""
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    tz = sim.shopper(shopper).tz
    local = datetime.fromtimestamp((sim.scenario.start_epoch + t) / 1000, timezone.utc).astimezone(ZoneInfo(tz))
    return local.hour * 60 + local.minute, f"{local:%H:%M}"


def _minutes(clock: str) -> int:
    h, m = clock.split(":")
    return int(h) * 60 + int(m)


def unmet(hit: Hit, sim) -> list[str]:
    """What the step's `expect:` claims that this run does not bear out, in plain words (empty: all holds).
    Judged as the step shows: call it when the step fires, before the run moves on."""
    from shopsim.contract.units import format_duration, parse_duration, parse_instant
    from shopsim.contract.clock import epoch_ms

    claims, ev, facts = hit.step.expect, hit.event, hit.facts
    if claims is None or ev is None:
        return []
    out: list[str] = []
    who = ev.shopper
    if claims.in_inbox is not None:
        there = in_inbox(sim, who, hit.notification)
        if claims.in_inbox and not there:
            out.append("the message is not in her inbox" if hit.notification else "the event is about no message")
        elif not claims.in_inbox and there:
            out.append("the message is already in her inbox")
    if claims.local_time is not None and who is not None:
        minute, label = _local(sim, who, ev.t)
        start, end = (_minutes(c) for c in claims.local_time)
        inside = start <= minute < end if start < end else (minute >= start or minute < end)
        if not inside:
            out.append(f"it happened at {label} her time, not between {claims.local_time[0]} and {claims.local_time[1]}")
    if claims.held_until is not None:
        until = ev.data.get("until") if ev.type == _DEFERRED else ev.data.get("at") if ev.type == _DIGESTED else None
        if not isinstance(until, str):
            out.append("the message was not held")
        else:
            t_until = epoch_ms(parse_instant(until)) - sim.scenario.start_epoch
            _, label = _local(sim, who, t_until)
            if label != claims.held_until:
                out.append(f"it is held until {label} her time, not {claims.held_until}")
    if facts is None or not facts.complete:
        return out  # the past was not watched: the other claims cannot be judged
    if claims.ordered is not None and claims.ordered != facts.ordered:
        out.append("she had not placed an order before this" if claims.ordered else "she had already ordered")
    if claims.source is not None and facts.source != claims.source:
        out.append(f"the message came from {facts.source or 'no request seen'}, not {claims.source}")
    if claims.follows is not None:
        what = ", ".join(f"{k} {v}" for k, v in claims.follows.items())
        if facts.follows_gap is None:
            out.append(f"no earlier event of hers matches {what}")
        elif claims.gap is not None and abs(facts.follows_gap - parse_duration(claims.gap)) >= 60_000:
            out.append(f"it came {format_duration(facts.follows_gap)} after {what}, not {claims.gap}")
    return out
