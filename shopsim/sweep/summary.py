"""What a sweep's seeds agree on: each row's mean with its 95% interval, and which differences hold.

A row is a grid point, or one experiment arm at a grid point. Every row is played with the same seeds, and a
seed fixes every shopper's own draws whatever the policy (common random numbers), so two rows are compared
seed by seed: the difference on each seed, then the mean of those differences with its Student t interval
and a paired t test. The p-values of every comparison reported (pairs × metrics) are adjusted together by
Holm's method, and a difference "holds" when its adjusted p is below 5%: across the whole table the chance
of calling any difference that is not there stays under 5%."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

from shopsim.calibrate.stats import Spread, spread, t_two_sided_p
from shopsim.metrics.stats import holm
from shopsim.sweep.grid import Point
from shopsim.sweep.play import Record

ALPHA = 0.05


@dataclass(frozen=True)
class Row:
    point: Point
    arm: str | None                 # "experiment/variant", or None for the whole population

    @property
    def label(self) -> str:
        arm = self.arm.split("/", 1)[1] if self.arm else ""
        if not self.point.settings:
            return arm or "as written"
        return f"{self.point.label} · {arm}" if arm else self.point.label


@dataclass(frozen=True)
class Cell:
    row: Row
    metric: str
    values: tuple[float | None, ...]   # per seed, in seed order
    spread: Spread | None              # over the seeds that gave a number


@dataclass(frozen=True)
class Comparison:
    a: Row
    b: Row
    metric: str
    n: int                             # seeds where both rows gave a number
    diff: float | None                 # mean of (b - a) over those seeds
    low: float | None
    high: float | None
    p: float | None                    # paired t test
    p_holm: float | None               # adjusted across every comparison reported
    named: bool = False                # a comparison the scenario names (`experiments.X.compare`)

    @property
    def holds(self) -> bool:
        return self.p_holm is not None and self.p_holm < ALPHA

    @property
    def identical(self) -> bool:
        """The two rows gave the same value on every seed (e.g. a holdout, whatever the reminder's delay)."""
        return self.n > 0 and self.diff == 0 and self.low == 0 and self.high == 0


@dataclass(frozen=True)
class Summary:
    seeds: tuple[int, ...]
    metrics: tuple[str, ...]
    rows: tuple[Row, ...]
    cells: dict[tuple[int, str], Cell]   # (row number, metric)
    comparisons: tuple[Comparison, ...]
    all_pairs: bool


def rows_of(points: Sequence[Point], results: dict[tuple[int, int], Record], seeds: Sequence[int]) -> list[Row]:
    """One row per point; with experiments, one per arm of each point instead (arms as the runs named them)."""
    arms: list[str] = []
    for p in points:
        for s in seeds:
            rec = results.get((p.index, s))
            for name in (rec or {}).get("arms", {}):
                if name not in arms:
                    arms.append(name)
    return [Row(p, a) for p in points for a in (arms or [None])]


def value_of(record: Record | None, row: Row, metric: str) -> float | None:
    if record is None:
        return None
    scope = record["kpis"] if row.arm is None else record["arms"].get(row.arm, {})
    v = scope.get(metric)
    return float(v) if isinstance(v, (int, float)) and math.isfinite(v) else None


def summarise(points: Sequence[Point], seeds: Sequence[int], metrics: Sequence[str],
              results: dict[tuple[int, int], Record], controls: Sequence[str] = (),
              named: Sequence[tuple[str, str]] = ()) -> Summary:
    """`controls` ("experiment/arm") are put first in any pair of arms; `named` pairs (against, variant) are
    oriented that way and listed first, as the scenario asks its question."""
    rows = rows_of(points, results, seeds)
    cells: dict[tuple[int, str], Cell] = {}
    for i, row in enumerate(rows):
        for m in metrics:
            values = tuple(value_of(results.get((row.point.index, s)), row, m) for s in seeds)
            got = [v for v in values if v is not None]
            cells[(i, m)] = Cell(row, m, values, spread(got) if got else None)
    # Only rows that differ in one thing are compared: a setting with the arm the same, or the arm at one
    # point. A pair that differs in two (one arm at 1 h against the other at 24 h, or both the delay and the
    # coupon) answers no question of its own, and Holm would make every other comparison pay for it.
    pairs = [(i, j) for i in range(len(rows)) for j in range(i + 1, len(rows)) if _one_apart(rows[i], rows[j])]
    all_pairs = len(pairs) == len(rows) * (len(rows) - 1) // 2
    oriented = [_orient(rows, i, j, controls, named) for i, j in pairs]
    raw = []
    for m in metrics:
        for i, j, _ in oriented:
            raw.append((rows[i], rows[j], m, *_paired(cells[(i, m)].values, cells[(j, m)].values)))
    adjusted = holm([r[-1] for r in raw])
    flags = [flag for _ in metrics for _, _, flag in oriented]
    listed = [Comparison(*r, p_holm=adj, named=flag) for r, adj, flag in zip(raw, adjusted, flags)]
    comparisons = tuple(sorted(listed, key=lambda c: not c.named))  # stable: named first, then as played
    return Summary(tuple(seeds), tuple(metrics), tuple(rows), cells, comparisons, all_pairs)


def _orient(rows: Sequence[Row], i: int, j: int, controls: Sequence[str],
            named: Sequence[tuple[str, str]]) -> tuple[int, int, bool]:
    """(A, B, named) for a pair of rows: a named pair as the scenario wrote it (against → variant), else the
    control first, else the order of the rows."""
    a, b = rows[i].arm, rows[j].arm
    if a is None or b is None or a == b:
        return i, j, False
    if (a, b) in named:
        return i, j, True
    if (b, a) in named:
        return j, i, True
    if b in controls and a not in controls:
        return j, i, False
    return i, j, False


def varied(a: Row, b: Row) -> int | None:
    """Which setting two one-apart rows differ in (its axis number), or None when they differ in the arm."""
    for k, (x, y) in enumerate(zip(a.point.settings, b.point.settings)):
        if x.text != y.text:
            return k
    return None


def _one_apart(a: Row, b: Row) -> bool:
    """Rows that differ in exactly one thing: one setting with the same arm, or the arm at the same point."""
    if a.point.index == b.point.index:
        return True
    if a.arm != b.arm:
        return False
    return sum(x.text != y.text for x, y in zip(a.point.settings, b.point.settings)) == 1


def _paired(a: Sequence[float | None], b: Sequence[float | None]) -> tuple[int, float | None, float | None,
                                                                        float | None, float | None]:
    """(n, mean of b - a, 95% low, high, two-sided p) over the seeds where both have a value."""
    diffs = [y - x for x, y in zip(a, b) if x is not None and y is not None]
    n = len(diffs)
    if n == 0:
        return 0, None, None, None, None
    s = spread(diffs)
    if n < 2 or s.sd is None:
        return n, s.mean, None, None, None
    if s.sd == 0:  # the same difference on every seed: nothing to test (identical rows stay out of Holm's family)
        return n, s.mean, s.mean, s.mean, (None if s.mean == 0 else 0.0)
    t = s.mean / (s.sd / math.sqrt(n))
    return n, s.mean, s.ci_low, s.ci_high, t_two_sided_p(t, n - 1)


def as_dict(summary: Summary) -> dict[str, Any]:
    """The summary as plain data (JSON): rows with each metric's mean and interval, then the comparisons."""
    def row_doc(r: Row) -> dict[str, Any]:
        return {"label": r.label, "point": r.point.index, "arm": r.arm,
                "settings": {o.where: o.value for o in r.point.settings}}

    rows = []
    for i, r in enumerate(summary.rows):
        doc = row_doc(r)
        doc["metrics"] = {}
        for m in summary.metrics:
            s = summary.cells[(i, m)].spread
            doc["metrics"][m] = None if s is None else {"n": s.n, "mean": s.mean, "sd": s.sd,
                                                        "low": s.ci_low, "high": s.ci_high}
        rows.append(doc)
    comparisons = [{"a": row_doc(c.a), "b": row_doc(c.b), "metric": c.metric, "n": c.n, "diff": c.diff,
                    "low": c.low, "high": c.high, "p": c.p, "p_holm": c.p_holm, "holds": c.holds, "identical": c.identical,
                    "named": c.named}
                   for c in summary.comparisons]
    return {"seeds": list(summary.seeds), "metrics": list(summary.metrics), "rows": rows,
            "comparisons": comparisons, "all_pairs": summary.all_pairs, "alpha": ALPHA,
            "method": "mean over seeds with Student's t 95% interval; pairs compared seed by seed (paired t), "
                      "p-values adjusted by Holm across every comparison listed"}
