"""A sweep written out: the tidy per-run table (CSV, Parquet, JSON) and the summary (text, Markdown, JSON).

Tidy means one row per run, row (arm) and metric, with every setting in a column of its own, so pandas,
DuckDB or Polars can group it any way: `point, label, <each --set path>, arm, seed, metric, value`."""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Iterator, Sequence

from shopsim.metrics.catalog import METRICS, format_pp, format_value
from shopsim.metrics.variants import MEANS, OUTCOMES
from shopsim.sweep.grid import Axis, Point
from shopsim.sweep.play import Record
from shopsim.sweep.summary import Row, Summary, as_dict, rows_of, value_of, varied

KINDS = {**{k: "rate" for k in OUTCOMES}, **{k: "money" for k in MEANS}}


def kind_of(metric: str) -> str:
    return METRICS[metric].kind if metric in METRICS else KINDS.get(metric, "number")


def tidy(axes: Sequence[Axis], points: Sequence[Point], seeds: Sequence[int], metrics: Sequence[str],
         results: dict[tuple[int, int], Record]) -> Iterator[dict[str, Any]]:
    for row in rows_of(points, results, seeds):
        for seed in seeds:
            rec = results.get((row.point.index, seed))
            if rec is None:
                continue
            for m in metrics:
                out: dict[str, Any] = {"point": row.point.index, "label": row.point.label}
                for a, o in zip(axes, row.point.settings):
                    out[a.where] = o.text
                out.update(arm=row.arm or "", seed=seed, metric=m, value=value_of(rec, row, m))
                yield out


def columns(axes: Sequence[Axis]) -> list[str]:
    return ["point", "label", *(a.where for a in axes), "arm", "seed", "metric", "value"]


def to_csv(axes: Sequence[Axis], rows: Sequence[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns(axes), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if v is None else v) for k, v in r.items()})
    return buf.getvalue()


def to_parquet(axes: Sequence[Axis], rows: Sequence[dict[str, Any]], path: str) -> None:
    import pyarrow as pa  # an optional extra; the command checks it is there before playing anything
    import pyarrow.parquet as pq

    names = columns(axes)
    types = {"point": pa.int64(), "seed": pa.int64(), "value": pa.float64()}
    table = pa.table({n: pa.array([r.get(n) for r in rows], type=types.get(n, pa.string())) for n in names})
    pq.write_table(table, path)


def to_json(header: dict[str, Any], summary: Summary, rows: Sequence[dict[str, Any]]) -> str:
    return json.dumps({**header, "summary": as_dict(summary), "runs": list(rows)}, indent=2, ensure_ascii=False,
                      allow_nan=False) + "\n"


def shown(metric: str, value: float | None, currency: str = "") -> str:
    return format_value(value, kind_of(metric), currency)


def shown_diff(metric: str, value: float | None) -> str:
    if value is None:
        return "—"
    if kind_of(metric) in ("rate", "pp"):
        return format_pp(value, 2)
    return f"{value:+,.4g}" if kind_of(metric) != "money" else f"{value:+,.2f}"


def interval(metric: str, low: float | None, high: float | None, diff: bool = False) -> str:
    if low is None or high is None:
        return "—"
    f = (lambda v: shown_diff(metric, v)) if diff else (lambda v: shown(metric, v))
    return f"{f(low)} to {f(high)}"


def p_text(p: float | None) -> str:
    return "—" if p is None else ("< 0.001" if p < 0.001 else f"{p:.3f}")


def summary_tables(summary: Summary, currency: str = "") -> tuple[list[str], list[list[str]], list[str],
                                                                   list[list[str]]]:
    """(heading, rows) of the means table and of the comparisons table, as plain strings."""
    head = ["row"] + [h for m in summary.metrics for h in (m, "95% interval")]
    body = []
    for i, r in enumerate(summary.rows):
        line = [r.label]
        for m in summary.metrics:
            s = summary.cells[(i, m)].spread
            line += ["—", "—"] if s is None else [shown(m, s.mean, currency), interval(m, s.ci_low, s.ci_high)]
        body.append(line)
    names = summary.rows[0].point.names if summary.rows else ()
    chead = ["compared (A → B, B − A)", "metric", "mean difference", "95% interval, alone", "seeds", "p (Holm)", "holds"]
    cbody = [[("★ " if c.named else "") + _compared(c.a, c.b, names), c.metric, shown_diff(c.metric, c.diff),
              interval(c.metric, c.low, c.high, diff=True), str(c.n), p_text(c.p_holm),
              _holds(c)]
             for c in summary.comparisons]
    return head, body, chead, cbody


def pair_label(a: Row, b: Row, k: int | None) -> str:
    """"1h → 24h · 48h, reminder": what changed (setting k, or the arm when k is None), then what both rows
    share."""
    arm = lambda r: r.arm.split("/", 1)[1] if r.arm else ""  # noqa: E731
    if k is None:
        change, same = f"{arm(a)} → {arm(b)}", [o.text for o in a.point.settings]
    else:
        change = f"{a.point.settings[k].text} → {b.point.settings[k].text}"
        same = [o.text for i, o in enumerate(a.point.settings) if i != k] + ([arm(a)] if a.arm else [])
    return change + (f" · {', '.join(same)}" if same else "")


def _compared(a: Row, b: Row, names: tuple[str, ...]) -> str:
    k = varied(a, b)
    if k is None and not a.point.settings:
        return pair_label(a, b, k)
    return f"{names[k] if k is not None else 'arm'}: {pair_label(a, b, k)}"


def _holds(c) -> str:
    if c.identical:
        return "identical"
    if c.holds:
        return "yes: higher" if c.diff > 0 else "yes: lower"
    return "no"


def markdown(title: str, note: str, summary: Summary, currency: str = "") -> str:
    head, body, chead, cbody = summary_tables(summary, currency)

    def table(h: list[str], rows: list[list[str]]) -> str:
        esc = lambda s: s.replace("|", "\\|")  # noqa: E731
        lines = ["| " + " | ".join(map(esc, h)) + " |", "|" + "---|" * len(h)]
        lines += ["| " + " | ".join(map(esc, r)) + " |" for r in rows]
        return "\n".join(lines) + "\n"

    out = [f"# {title}\n", f"{note}\n", table(head, body)]
    if cbody:
        out += ["\n## Differences, seed by seed\n", f"{method(summary)}\n", table(chead, cbody)]
    return "\n".join(out)


NAMED = "★ marks the comparisons the scenario names (experiments.*.compare), listed first. "
METHOD = ("Each row was played with the same seeds, so each difference is taken seed by seed; the interval is "
          "Student's t over the seeds, and p-values are adjusted by Holm's method across every comparison "
          "listed. \"holds\" means the adjusted p is below 0.05; the interval is each difference's own, before that "
          "adjustment, so one that barely excludes zero may still not hold.")


def method(summary: Summary) -> str:
    """How the differences were judged, in words (and what ★ means, when a comparison has one)."""
    return (NAMED if any(c.named for c in summary.comparisons) else "") + METHOD
