"""Narration: which `narration:` step fires, and when. Pure logic (no Textual), driven by the transport."""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple, Sequence

from shopsim.metrics.narration import render
from shopsim.scenario.compiled import at_ms
from shopsim.scenario.teaching import NarrationStep
from shopsim.sim.events import Event


class Hit(NamedTuple):
    index: int                  # the step's position in `narration:`
    step: NarrationStep
    t: int                      # virtual time it fired at
    event: Event | None         # the matching event (for `when` steps)
    shopper: str | None         # whom to show: the step's shopper, else the event's


def _matches(fields: dict[str, set], ev: Event) -> bool:
    for key, allowed in fields.items():
        value = ev.type if key == "type" else ev.shopper if key == "shopper" else ev.data.get(key, _MISSING)
        try:
            if value is _MISSING or value not in allowed:
                return False
        except TypeError:  # a list field never equals a scalar
            return False
    return True


_MISSING = object()


class Narrator:
    def __init__(self, steps: Sequence[NarrationStep], start_epoch: int):
        self.steps = list(steps)
        self.timed = sorted((at_ms(s.at, start_epoch), i) for i, s in enumerate(self.steps) if s.at is not None)
        self.filters: list[tuple[int, dict[str, set]]] = [
            (i, {k: set(v) if isinstance(v, list) else {v} for k, v in s.when.items()})
            for i, s in enumerate(self.steps) if s.when is not None]
        self.fired: set[int] = set()
        self.enabled = True  # off: steps neither pause nor fire (a presenter who has seen them)

    @property
    def pending(self) -> bool:
        return self.enabled and len(self.fired) < len(self.steps)

    @property
    def filters_pending(self) -> bool:
        return self.enabled and any(i not in self.fired for i, _ in self.filters)

    def next_time(self) -> int | None:
        """When the next timed step is due (the transport stops there), or None."""
        if not self.enabled:
            return None
        return next((t for t, i in self.timed if i not in self.fired), None)

    def scan(self, events: Sequence[Event], now: int) -> Hit | None:
        """The first step these events (or the clock, now) trigger; marks it fired."""
        if not self.enabled:
            return None
        due = next(((t, i) for t, i in self.timed if i not in self.fired and t <= now), None)
        for ev in events:
            if due is not None and ev.t > due[0]:
                break
            for i, fields in self.filters:
                if i not in self.fired and _matches(fields, ev):
                    return self._fire(i, ev.t, ev)
        if due is not None:
            return self._fire(due[1], due[0], None)
        return None

    def _fire(self, i: int, t: int, ev: Event | None) -> Hit:
        self.fired.add(i)
        step = self.steps[i]
        return Hit(i, step, t, ev, step.shopper or (ev.shopper if ev is not None else None))

    def describe(self, hit: Hit, result: Mapping[str, Any] | None = None, currency: str = "") -> dict[str, Any]:
        """The step as shown: with `result` (a `Metrics.result()` taken now), its placeholders filled in."""
        title, text = step_texts(hit.step, result, currency)
        return {"title": title, "text": text, "shopper": hit.shopper,
                "notification": (hit.event.data.get("id") if hit.event is not None else None)}


def step_texts(step: NarrationStep, result: Mapping[str, Any] | None, currency: str = "") -> tuple[str, str]:
    """A step's title and text with its placeholders (`{abandonment_rate}`, `{shoppers}`) filled in from
    `result`, a `Metrics.result()` of the run as it stands; the text as written when there is no result."""
    if result is None:
        return step.title, step.text.strip()
    return render(step.title, result, currency), render(step.text, result, currency).strip()
