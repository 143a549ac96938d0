"""Evaluate a scenario's `expect:` section against a run, as it plays.

`Expectations(sim)` is an observer: subscribe it before the run, call `finish()` after. Metric checks read
the run's KPIs (one `Metrics`, shared with whoever else wants it), counts and "receives" checks match
events as they pass, invariants run the library's checkers."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, NamedTuple
from zoneinfo import ZoneInfo

from shopsim.metrics import catalog
from shopsim.metrics.kpis import Metrics
from shopsim.scenario.compiled import at_ms
from shopsim.contract import events as E

if TYPE_CHECKING:
    from shopsim.scenario.qa import Expectation
    from shopsim.simulation import Simulation
    from shopsim.contract.events import Event


class Outcome(NamedTuple):
    label: str
    kind: str            # metric, count, invariant, receives
    passed: bool
    actual: str          # what the run gave, formatted
    expected: str        # the bounds, formatted ("≥ 0.05", "0.05 – 0.5", "holds")
    detail: str          # why it failed (empty when it passed)


class _Matcher:
    """Counts events whose fields equal the filter's values (a list: any of them)."""

    def __init__(self, fields: dict[str, Any], window: tuple[int, int] | None = None, title: str | None = None,
                 local: tuple[int, int, Any, int] | None = None):
        self.fields = {k: (set(v) if isinstance(v, list) else {v}) for k, v in fields.items()}
        self.window = window
        self.local = local  # (start, end) minutes of her day, her zone, the run's start epoch
        self.title = title.lower() if title else None
        self.n = 0
        self.first: int | None = None

    def __call__(self, ev: "Event") -> None:
        if self.window is not None and not self.window[0] <= ev.t < self.window[1]:  # [from, to)
            return
        if self.title is not None and self.title not in (ev.data.get("title") or "").lower():
            return
        if self.local is not None and not self._in_local(ev.t):
            return
        for key, allowed in self.fields.items():
            value = ev.type if key == "type" else ev.shopper if key == "shopper" else ev.data.get(key, _MISSING)
            if value is _MISSING or not _hashable_in(value, allowed):
                return
        self.n += 1
        if self.first is None:
            self.first = ev.seq


    def _in_local(self, t: int) -> bool:
        start, end, zone, epoch = self.local  # type: ignore[misc]
        d = datetime.fromtimestamp((epoch + t) / 1000, timezone.utc).astimezone(zone)
        minute = d.hour * 60 + d.minute
        return start <= minute < end if start <= end else minute >= start or minute < end


_MISSING = object()


def _hashable_in(value: Any, allowed: set) -> bool:
    try:
        return value in allowed
    except TypeError:  # a list or dict field never equals a scalar
        return False


class Expectations:
    def __init__(self, sim: "Simulation", metrics: Metrics | None = None):
        self.sim = sim
        self.items: list["Expectation"] = list(sim.scenario.model.expect)
        self.metrics = metrics
        self.own_metrics = metrics is None and any(x.metric is not None for x in self.items)
        if self.own_metrics:
            self.metrics = Metrics()
        self.matchers: dict[int, _Matcher] = {}
        start = sim.scenario.start_epoch
        for i, x in enumerate(self.items):
            if x.count is not None:
                self.matchers[i] = _Matcher(x.count)
            elif x.receives is not None:
                r = x.receives
                who = r.shopper if r.shopper is not None else sim.scenario.model.personas[r.persona].shopper
                fields: dict[str, Any] = {"type": E.NOTIFICATION_DELIVERED, "shopper": who}
                if r.channel:
                    fields["channel"] = r.channel
                if r.category:
                    fields["category"] = r.category
                window = (at_ms(r.between[0], start), at_ms(r.between[1], start)) if r.between else None
                local = None
                if r.local_between:
                    (h1, m1), (h2, m2) = (map(int, c.split(":")) for c in r.local_between)
                    local = (h1 * 60 + m1, h2 * 60 + m2, ZoneInfo(sim.shopper(who).tz), start)
                self.matchers[i] = _Matcher(fields, window, r.title_contains, local)
        names = sorted({x.invariant for x in self.items if x.invariant is not None})
        self.invariants = None
        if names:
            from shopsim.qa.invariants import InvariantChecker
            self.invariants = InvariantChecker(sim, names)

    def __call__(self, batch: list["Event"]) -> None:
        if self.own_metrics:
            self.metrics(batch)  # type: ignore[misc]
        if self.invariants is not None:
            self.invariants(batch)
        if not self.matchers:
            return
        for m in self.matchers.values():
            for ev in batch:
                m(ev)

    def finish(self) -> list[Outcome]:
        result = self.metrics.result() if self.metrics is not None and any(
            x.metric is not None for x in self.items) else None
        violations = self.invariants.finish() if self.invariants is not None else {}
        totals = getattr(self.invariants, "totals", {}) if self.invariants is not None else {}
        out = []
        for i, x in enumerate(self.items):
            if x.metric is not None:
                out.append(self._metric(x, result))
            elif x.invariant is not None:
                found = violations.get(x.invariant, [])
                n = totals.get(x.invariant, len(found))
                detail = "; ".join(f"line {v.seq}: {v.message}" if v.seq else v.message for v in found[:3])
                if n > 3:
                    detail += f"; and {n - 3:,} more"
                out.append(Outcome(x.label(), "invariant", not found, "holds" if not found else
                                   f"{n:,} violation{'s' if n != 1 else ''}", "holds", detail))
            else:
                m = self.matchers[i]
                lo = x.min if x.min is not None else (1 if x.max is None and x.receives is not None else None)
                out.append(self._bounded(x, "count" if x.count is not None else "receives", float(m.n),
                                         f"{m.n:,}", lo, x.max, "count", m.first))
        return out

    def _metric(self, x: "Expectation", result: dict[str, Any] | None) -> Outcome:
        d = catalog.METRICS[x.metric]  # type: ignore[index]
        assert result is not None
        scope = result
        if x.variant is not None:
            exps = result.get("experiments", {})
            ename = x.experiment or next(iter(self.sim.scenario.model.experiments))
            if d.section == "experiment":
                row = next((c for c in exps.get(ename, {}).get("comparisons", ())
                            if c["variant"] == x.variant and c["primary"]), None)
                value = row[d.key] if row is not None else None
                kind = "money" if row is not None and row["metric"] == "revenue_per_shopper" and d.kind == "rate" \
                    else d.kind  # an uplift in revenue per shopper is money, not a share
                return self._bounded(x, "metric", value, catalog.format_value(value, kind), x.min, x.max, kind)
            arm = self.metrics.arms.get((ename, x.variant)) if self.metrics is not None else None
            if arm is None:
                return Outcome(x.label(), "metric", False, "—", _range(x.min, x.max, d.kind),
                               f"no shopper was assigned to {ename}/{x.variant}")
            arm.end_t = self.metrics.end_t  # type: ignore[union-attr]
            scope = arm.result()
        value = catalog.lookup(scope, x.metric, x.channel, x.category)  # type: ignore[arg-type]
        currency = self.sim.scenario.currency if d.kind == "money" else ""
        return self._bounded(x, "metric", value, catalog.format_value(value, d.kind, currency), x.min, x.max, d.kind)

    def _bounded(self, x: "Expectation", kind: str, value: float | None, shown: str, lo: Any, hi: Any,
                 unit: str, first: int | None = None) -> Outcome:
        expected = _range(lo, hi, unit)
        if value is None:
            return Outcome(x.label(), kind, False, "no data", expected,
                           "the run has nothing to compute it from (a rate with nothing to divide by)")
        low = catalog.bound(lo, unit) if lo is not None else None
        high = catalog.bound(hi, unit) if hi is not None else None
        ok = (low is None or value >= low) and (high is None or value <= high)
        detail = ""
        if not ok:
            side = f"below the minimum {_fmt(lo, unit)}" if low is not None and value < low else \
                f"above the maximum {_fmt(hi, unit)}"
            detail = f"{shown} is {side}"
            if first is not None and kind in ("count", "receives"):
                detail += f" (first match at line {first})"
            if x.receives is not None and x.receives.between:
                detail += f"; window {x.receives.between[0]} to {x.receives.between[1]}"
        return Outcome(x.label(), kind, ok, shown, expected, detail)


def _fmt(value: Any, unit: str) -> str:
    if isinstance(value, str):
        return value
    return catalog.format_value(value, unit) if unit in ("rate", "money") else f"{value:,}" if isinstance(
        value, int) else f"{value:g}"


def _range(lo: Any, hi: Any, unit: str) -> str:
    if lo is not None and hi is not None:
        return f"{_fmt(lo, unit)} – {_fmt(hi, unit)}"
    if lo is not None:
        return f"≥ {_fmt(lo, unit)}"
    if hi is not None:
        return f"≤ {_fmt(hi, unit)}"
    return "holds"

