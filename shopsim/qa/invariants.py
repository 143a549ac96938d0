"""Named invariants: the product's rules, checked on a run's events as they stream by.

`shopsim replay --check` and a scenario's `expect: - invariant: NAME` use them, and so do the property
tests. A checker is an observer (`sim.subscribe(checker)`); it keeps per-shopper and per-id state, never
the event list, so it can follow runs of millions of events, fed in batches of any size.

    checker = InvariantChecker(sim)            # every invariant; or InvariantChecker(sim, ["caps_respected"])
    sim.subscribe(checker)
    sim.run()
    for name, found in checker.finish().items():
        for v in found:
            print(name, v.seq, v.message)

The rules live in small modules by subject (this one has the log's own shape); `INVARIANTS` lists them
all, in a stable order.
"""

from __future__ import annotations

import difflib
from collections import Counter
from typing import TYPE_CHECKING, Callable, Iterable

from shopsim.qa.invariants_base import Check, RunState, Violation
from shopsim.qa.invariants_commerce import Carts, Orders
from shopsim.qa.invariants_engagement import Ads, Attribution, Engagement
from shopsim.qa.invariants_flows import Flows
from shopsim.qa.invariants_marketing import Coupons, ScriptedMessages
from shopsim.qa.invariants_notify import Notifications
from shopsim.contract import events as E

if TYPE_CHECKING:
    from shopsim.simulation import Simulation
    from shopsim.contract.events import Event

__all__ = ["INVARIANTS", "InvariantChecker", "Violation"]


class LogShape(Check):
    INVARIANTS = {
        "log_well_formed": "seq runs 1, 2, 3 … without gaps, time never goes back and stays within the run, "
                           "run.started comes first and run.finished last with the right counts, and each "
                           "shopper's lines follow her shopper.created",
    }
    NAME = "log_well_formed"

    def __init__(self, state: RunState, report):
        super().__init__(state, report)
        self.next_seq = 1
        self.seen = 0
        self.last_t: int | None = None
        self.counts: Counter[str] = Counter()
        self.created: set[str] = set()
        self.finished_seq: int | None = None
        self.duration = state.cs.duration

    def routes(self):
        return {"*": self.any}

    def any(self, ev: Event) -> None:
        bad = self.report
        n = self.NAME
        if ev.seq != self.next_seq:
            what = "the first line" if self.next_seq == 1 else f"seq {self.next_seq - 1}"
            bad(n, ev.seq, f"seq {ev.seq} follows {what}; expected seq {self.next_seq}")
        self.next_seq = ev.seq + 1
        if self.last_t is not None and ev.t < self.last_t:
            bad(n, ev.seq, f"time went back: {ev.type} at {self.state.iso(ev.t)} after a line at "
                           f"{self.state.iso(self.last_t)}")
        self.last_t = ev.t if self.last_t is None else max(self.last_t, ev.t)
        if not 0 <= ev.t <= self.duration:
            bad(n, ev.seq, f"{ev.type} at {self.state.iso(ev.t)}, outside the run "
                           f"({self.state.iso(0)} to {self.state.iso(self.duration)})")
        if self.finished_seq is not None:
            bad(n, ev.seq, f"{ev.type} after run.finished (seq {self.finished_seq})")
        first = self.seen == 0
        self.seen += 1
        if first and ev.type != E.RUN_STARTED:
            bad(n, ev.seq, f"the first line is {ev.type}, not run.started")
        elif not first and ev.type == E.RUN_STARTED:
            bad(n, ev.seq, "run.started again: it is the first line, and only that one")
        if ev.type == E.SHOPPER_CREATED:
            if ev.shopper in self.created:
                bad(n, ev.seq, f"{ev.shopper} created twice")
            elif ev.seq != len(self.created) + 2 or ev.t != 0:
                bad(n, ev.seq, f"shopper.created for {ev.shopper} on line {ev.seq} at {self.state.iso(ev.t)}; "
                               "every shopper is created at the start, on lines 2 onwards")
            self.created.add(ev.shopper)
        elif ev.shopper is not None and ev.shopper not in self.created:
            bad(n, ev.seq, f"{ev.type} for {ev.shopper} before (or without) her shopper.created")
        if ev.type == E.RUN_FINISHED:
            self.finished(ev)
        self.counts[ev.type] += 1

    def finished(self, ev: Event) -> None:
        n, d = self.NAME, ev.data
        self.finished_seq = ev.seq
        if d.get("events") != ev.seq:
            self.report(n, ev.seq, f"run.finished says {d.get('events')} events; it is line {ev.seq}")
        counts = d.get("counts") or {}
        wrong = [f"{t}: {counts.get(t, 0)} counted, {self.counts.get(t, 0)} in the log"
                 for t in sorted(set(counts) | set(self.counts)) if counts.get(t, 0) != self.counts.get(t, 0)]
        if wrong:
            self.report(n, ev.seq, "run.finished counts differ from the log: " + "; ".join(wrong[:3])
                        + (f" (and {len(wrong) - 3} more)" if len(wrong) > 3 else ""))
        if d.get("shoppers") != len(self.created):
            self.report(n, ev.seq, f"run.finished says {d.get('shoppers')} shoppers; {len(self.created)} were created")

    def finish(self) -> None:
        if self.finished_seq is None:
            self.report(self.NAME, None, "the log has no run.finished: the run is incomplete")


CHECKS: tuple[type[Check], ...] = (LogShape, Orders, Carts, Notifications, ScriptedMessages, Flows, Coupons,
                                   Attribution, Engagement, Ads)

INVARIANTS: dict[str, str] = {name: text for check in CHECKS for name, text in check.INVARIANTS.items()}

# Whatever a malformed line raises in a check is reported as a violation, not a crash of the run it checks.
_MALFORMED = (KeyError, TypeError, ValueError, AttributeError, IndexError)


def _known(name: str) -> str:
    if name in INVARIANTS:
        return name
    close = difflib.get_close_matches(name, INVARIANTS, n=1)
    hint = f"did you mean {close[0]!r}?" if close else "known: " + ", ".join(INVARIANTS)
    raise ValueError(f"unknown invariant {name!r}; {hint}")


class InvariantChecker:
    """Checks the named invariants (all of them when `names` is None) on the events of one Simulation.
    Subscribe it before the run, then call `finish()`; at most `limit` violations are kept per invariant,
    and `totals` counts them all."""

    def __init__(self, sim: Simulation, names: Iterable[str] | None = None, limit: int = 20):
        wanted = set(INVARIANTS) if names is None else {_known(n) for n in names}
        self.names = [n for n in INVARIANTS if n in wanted]
        self.limit = limit
        self.totals: dict[str, int] = {n: 0 for n in self.names}
        self._found: dict[str, list[Violation]] = {n: [] for n in self.names}
        self._result: dict[str, list[Violation]] | None = None
        self.state = RunState(sim)
        self._checks = [cls(self.state, self._report) for cls in CHECKS if wanted & set(cls.INVARIANTS)]
        self._every: list[tuple[Check, Callable]] = []
        self._typed: dict[str, list[tuple[Check, Callable]]] = {}
        for check in self._checks:
            for type_, fn in check.routes().items():
                (self._every if type_ == "*" else self._typed.setdefault(type_, [])).append((check, fn))
        self._routes: dict[str, list[tuple[Check, Callable]]] = {}
        self._tickers = [(c, c.tick) for c in self._checks if c.tick is not None]
        self._t: int | None = None

    def _report(self, name: str, seq: int | None, message: str) -> None:
        if name not in self.totals:
            return  # a check may know more rules than were asked for
        self.totals[name] += 1
        found = self._found[name]
        if len(found) < self.limit:
            found.append(Violation(name, seq, message))

    def _malformed(self, check: Check, ev: Event, exc: Exception) -> None:
        name = next(n for n in check.INVARIANTS if n in self.totals)
        self._report(name, ev.seq, f"cannot read {ev.type} (seq {ev.seq}): {type(exc).__name__} {exc}")

    def __call__(self, batch: list[Event]) -> None:
        state, routes, every = self.state, self._routes, self._every
        for ev in batch:
            if ev.t != self._t:
                if self._t is not None and ev.t > self._t:
                    for check, tick in self._tickers:
                        try:
                            tick(ev.t)
                        except _MALFORMED as exc:
                            self._malformed(check, ev, exc)
                self._t = ev.t
            try:
                state.observe(ev)
            except _MALFORMED as exc:  # a shopper the checks cannot know: they skip her lines
                if "log_well_formed" in self.totals:
                    self._report("log_well_formed", ev.seq, f"cannot read {ev.type} (seq {ev.seq}): "
                                                            f"{type(exc).__name__} {exc}")
            state.last_t = max(state.last_t, ev.t)
            fns = routes.get(ev.type)
            if fns is None:  # every type gets its list once: the checks that read it, after those that read all
                fns = routes[ev.type] = every + self._typed.get(ev.type, [])
            for check, fn in fns:
                try:
                    fn(ev)
                except _MALFORMED as exc:
                    self._malformed(check, ev, exc)

    def finish(self) -> dict[str, list[Violation]]:
        """name -> violations (the first `limit` of each), for every invariant checked, in INVARIANTS order.
        Call it once the run is over; calling it again returns the same answer."""
        if self._result is None:
            for check in self._checks:
                check.finish()
            self._result = {n: list(v) for n, v in self._found.items()}
        return self._result

    @property
    def ok(self) -> bool:
        return not any(self.totals.values())
