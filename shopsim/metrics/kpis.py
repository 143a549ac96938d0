"""KPIs computed from events, incrementally.

`Metrics` is an observer: subscribe it to a live `Simulation` (`sim.subscribe(m)`) or feed it a finished
run (`Metrics.of_run(open_run(path))`, which reads most lines from their bytes, a list at a time: see
`kpis_log.py`), or any events: `Metrics.of(events)`. Either way `m.result()` gives the same dictionary, so
the TUI, `replay --check`, `report` and `diff` all read one set of numbers. Definitions are in
docs/metrics.md; keep the two together.

The counters live in three mixins: commerce (`kpis_commerce.py`), messages (`kpis_messages.py`) and the
shoppers as created (`kpis_shoppers.py`). This module feeds them and assembles the result.

Money is summed in cents, so a KPI never depends on the order float additions happened in."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any, Container, Iterable, Iterator, Protocol

from shopsim.metrics.kpis_base import NOTIFICATION_COMPLAINED, SERIES, SURVEY_ANSWERED, grow
from shopsim.metrics.kpis_commerce import CommerceKPIs
from shopsim.metrics.kpis_log import Doubt, RunLines, read_run
from shopsim.metrics.kpis_messages import MessageKPIs
from shopsim.metrics.kpis_shoppers import ShopperKPIs
from shopsim.metrics.variants import experiments_result
from shopsim.contract import events as E
from shopsim.contract.clock import DAY, HOUR
from shopsim.contract.events import Event
from shopsim.contract.payloads import PAYLOADS


class Metrics(CommerceKPIs, MessageKPIs, ShopperKPIs):
    """Every KPI of one run (or of one experiment arm: `shoppers` limits it to those shoppers)."""

    def __init__(self, shoppers: set[str] | None = None) -> None:
        self.only = shoppers
        self.header: dict[str, Any] = {}
        self.end_t = 0
        self.complete = False
        self.counts: Counter[str] = Counter()
        # A reader of a finished log may count lines of these types in `counts` without parsing them: no KPI
        # reads their fields. Emptied in place at the first experiment assignment, from when each arm counts
        # its own shoppers' events and so needs every event's shopper.
        self.unread: set[str] = set(UNREAD)
        self.hourly: dict[str, list[int]] = {name: [] for name in SERIES}
        # the series the busiest handlers add to, at hand
        self._hourly_requested, self._hourly_delivered = self.hourly["requested"], self.hourly["delivered"]
        self._hourly_visits, self._hourly_ads = self.hourly["visits"], self.hourly["ad_impressions"]
        self.flags: dict[str, int] = defaultdict(int)
        self.revenue_of: dict[str, int] = defaultdict(int)
        self._init_shoppers()
        self._init_commerce()
        self._init_messages()
        # Experiments: (experiment, variant) -> a Metrics of that arm's shoppers.
        self.experiment_defs: dict[str, dict[str, Any]] = {}
        self.arms: dict[tuple[str, str], Metrics] = {}
        self.arm_of: dict[str, list[Metrics]] = defaultdict(list)
        self.policy_changes: list[dict[str, Any]] = []  # policy.changed, in order: reports mark them

    @classmethod
    def of(cls, events: Iterable[Event]) -> "Metrics":
        m = cls()
        m.read(events)
        return m

    @classmethod
    def of_run(cls, run: "RunSource") -> "Metrics":
        """KPIs of a finished run (store.runfile.RunFile), the same as `Metrics.of(run.events())`'s.

        kpis_log reads it, most lines from their bytes. Where it cannot vouch for a line (one not written as
        the log writes it, a damaged one), or the run cannot be read to its end, the run is read again event
        by event: lines of the `unread` types counted, those of the BARE types without
        their data, the others parsed; that read names a bad line, as a full read does."""
        m = cls()
        try:
            read_run(m, run, _HANDLERS, m.unread)
        except (Doubt, run.Error, *_DATA_ERRORS):
            m = cls()
            m.read(run.events(unread=m.unread, counted=m.counts, bare=BARE))
        return m

    def read(self, events: Iterable[Event]) -> None:
        """Add events in order. They are taken one at a time, so a reader that was handed `unread` sees it
        emptied at the line that did it."""
        it = iter(events)
        if self.only is None and not self.arm_of:
            # The hot loop, live and from a log: until there are arms an event is a count and at most one handler.
            counts, handlers = self.counts, _HANDLERS
            for ev in it:
                typ = ev[2]
                counts[typ] += 1
                self.end_t = t = ev[1]
                h = handlers.get(typ)
                if h is not None:
                    h(self, t, ev[4], ev[3])
                elif typ == EXPERIMENT_ASSIGNED:  # the first arms: what follows reaches them through add
                    self._assigned(t, ev[4], ev[3])
                    break
        add = self.add
        for ev in it:
            add(ev)

    def __call__(self, batch: list[Event]) -> None:
        self.read(batch)

    # --- feeding ---------------------------------------------------------------------------------------

    def _bump(self, series: str, t: int, n: int = 1) -> None:
        col, h = self.hourly[series], t // HOUR
        try:
            col[h] += n
        except IndexError:
            grow(col, h, n)

    def add(self, ev: Event) -> None:
        _, t, typ, sid, d = ev
        if self.only is not None and sid not in self.only and typ not in _RUN_WIDE:
            return
        self.end_t = t
        self.counts[typ] += 1
        handler = _HANDLERS.get(typ)
        if handler is not None:
            handler(self, t, d, sid)
        elif typ == EXPERIMENT_ASSIGNED:
            self._assigned(t, d, sid)
            return
        if self.arm_of:
            for arm in self.arm_of.get(sid, ()):  # type: ignore[arg-type]
                arm.add(ev)

    def _run_started(self, t, d, sid) -> None:
        self.header = dict(d)

    def _run_finished(self, t, d, sid) -> None:
        self.complete = True
        for arm in self.arms.values():
            arm.end_t, arm.complete = t, True

    def _experiment(self, t, d, sid) -> None:
        self.experiment_defs[d["experiment"]] = d

    def _policy_changed(self, t, d, sid) -> None:
        self.policy_changes.append({"t": t, "policy": d["policy"], "from": d["from"], "preset": d["preset"],
                                    "changed": list(d["changed"])})

    def _assigned(self, t, d, sid) -> None:
        key = (d["experiment"], d["variant"])
        arm = self.arms.get(key)
        if arm is None:
            arm = self.arms[key] = Metrics(shoppers=set())
            arm.header = dict(self.header)
        self.unread.clear()
        arm.only.add(sid)  # type: ignore[union-attr]
        arm.shopper_ids.add(sid)
        p = self.profile_of.get(sid)
        if p is not None:
            arm._count_profile(p)
        self.arm_of[sid].append(arm)

    # --- reading ---------------------------------------------------------------------------------------

    @property
    def events(self) -> int:
        return sum(self.counts.values())

    @property
    def shoppers(self) -> int:
        if self.only is not None:
            return len(self.only)
        return self.header.get("shoppers") or len(self.shopper_ids)

    @property
    def days(self) -> float:
        return self.end_t / DAY

    def result(self) -> dict[str, Any]:
        """Every KPI as plain JSON-able data (docs/metrics.md)."""
        shoppers, days = self.shoppers, self.days
        out = {"run": self._run_info(), "shoppers": self._shoppers_result(), "commerce": self._commerce(),
               "survey": self._survey_result(), "recovery_time": self._recovery_time(),
               **self._messages_result(shoppers, days), "ads": self._ads(), "series": self.series()}
        if self.arms:
            out["experiments"] = experiments_result(self)
        if self.policy_changes:  # only runs with policies.changes have the key
            out["policy_changes"] = [dict(c) for c in self.policy_changes]
        return out

    def _run_info(self) -> dict[str, Any]:
        h = self.header
        return {"scenario": h.get("scenario"), "description": h.get("description"), "seed": h.get("seed"),
                "version": h.get("version"), "start": h.get("start"), "duration": h.get("duration"),
                "elapsed_ms": self.end_t, "days": round(self.days, 6), "shoppers": self.shoppers,
                "events": self.events, "complete": self.complete}

    def series(self) -> dict[str, Any]:
        """Per-hour and per-day counts from the run's start; revenue in currency units."""
        hours = max(1, -(-self.end_t // HOUR)) if self.end_t else 1
        hourly = {}
        for name, col in self.hourly.items():
            col = col + [0] * (hours - len(col))
            hourly[name] = [x / 100 for x in col] if name == "revenue" else col
        days = -(-hours // 24)
        daily = {name: [sum(col[d * 24:(d + 1) * 24]) for d in range(days)] for name, col in hourly.items()}
        for s in (hourly, daily):
            if "revenue" in s:
                s["revenue"] = [round(x, 2) for x in s["revenue"]]
        return {"hour": hourly, "day": daily}


_HANDLERS = {
    E.RUN_STARTED: Metrics._run_started, E.RUN_FINISHED: Metrics._run_finished,
    E.SHOPPER_CREATED: Metrics._shopper, E.EXPERIMENT_STARTED: Metrics._experiment,
    E.POLICY_CHANGED: Metrics._policy_changed, E.SESSION_STARTED: Metrics._session, E.CART_ITEM_ADDED: Metrics._item_added,
    E.CHECKOUT_STARTED: Metrics._checkout, E.CART_ABANDONED: Metrics._abandoned,
    E.ORDER_PLACED: Metrics._order, E.PAYMENT_CONFIRMED: Metrics._paid, E.REFUND_ISSUED: Metrics._refund,
    SURVEY_ANSWERED: Metrics._survey,
    E.NOTIFICATION_REQUESTED: Metrics._requested, E.NOTIFICATION_DELIVERED: Metrics._delivered,
    E.NOTIFICATION_DEFERRED: Metrics._deferred, E.NOTIFICATION_SUPPRESSED: Metrics._suppressed,
    E.NOTIFICATION_DIGESTED: Metrics._digested, E.NOTIFICATION_OPENED: Metrics._opened,
    E.NOTIFICATION_CLICKED: Metrics._clicked, E.NOTIFICATION_DISMISSED: Metrics._dismissed,
    E.NOTIFICATION_UNSUBSCRIBED: Metrics._unsubscribed, NOTIFICATION_COMPLAINED: Metrics._complained,
    E.AD_IMPRESSION: Metrics._ad_impression, E.AD_CLICKED: Metrics._ad_clicked,
}  # experiment.assigned is handled apart: it makes arms, which change how the events after it are fed
EXPERIMENT_ASSIGNED = E.EXPERIMENT_ASSIGNED
_RUN_WIDE = (E.RUN_STARTED, E.RUN_FINISHED)
UNREAD = frozenset(PAYLOADS) - set(_HANDLERS) - {EXPERIMENT_ASSIGNED}
# What a handler raises on a line without the fields its type should have.
_DATA_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError)
# Types whose handlers read only the event's t (and the arms its shopper), never its data.
BARE = frozenset({E.AD_IMPRESSION, E.AD_CLICKED})


class RunSource(RunLines, Protocol):
    """What `Metrics.of_run` reads: a finished run (store.runfile.RunFile, named here, not imported, as the
    store stands above the metrics)."""

    Error: type[Exception]  # what its readers raise on a run they cannot read

    def events(self, unread: set[str] = ..., counted: Counter[str] | None = ...,
               bare: Container[str] = ...) -> Iterator[Event]: ...
