"""A sweep as one self-contained HTML page: a band chart per metric, the means table and the comparisons.

The band chart puts the first `--set` on the x axis (e.g. the reminder's delay) and draws a line per value of
the other settings and per experiment arm, with its 95% band over seeds."""

from __future__ import annotations

import html
from typing import Sequence

from shopsim.report.page import html_page
from shopsim.report.svg import band_chart, interval_chart
from shopsim.sweep.grid import Axis
from shopsim.sweep.output import kind_of, method, pair_label, summary_tables
from shopsim.sweep.summary import Row, Summary, varied


def _series_name(row: Row, axes: Sequence[Axis]) -> str:
    rest = [f"{a.name}={o.text}" for a, o in zip(axes[1:], row.point.settings[1:])]
    arm = row.arm.split("/", 1)[1] if row.arm else ""
    return ", ".join(rest + ([arm] if arm else [])) or "mean"


def _band(summary: Summary, axes: Sequence[Axis], metric: str) -> str:
    percent = kind_of(metric) in ("rate", "pp")
    if axes:
        x_labels = [o.text for o in axes[0].values]
        x_of = {o.text: i for i, o in enumerate(axes[0].values)}
        series: dict[str, list] = {}
        for i, row in enumerate(summary.rows):
            s = summary.cells[(i, metric)].spread
            line = series.setdefault(_series_name(row, axes), [None] * len(x_labels))
            if s is not None:
                line[x_of[row.point.settings[0].text]] = (s.mean, s.ci_low, s.ci_high)
        title = f"{metric} against {axes[0].name}"
    else:  # no settings: one category per row (the experiment's arms), each with its whisker
        x_labels = [r.label for r in summary.rows]
        spreads = [summary.cells[(i, metric)].spread for i in range(len(summary.rows))]
        series = {"mean": [None if s is None else (s.mean, s.ci_low, s.ci_high) for s in spreads]}
        title = f"{metric} by arm"
    return band_chart(title + " (mean over seeds, 95% band)", x_labels, series, percent=percent,
                      y_format="{:,.2f}")


def _table(head: list[str], rows: list[list[str]]) -> str:
    esc = html.escape
    out = ["<table><thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr></thead><tbody>"]
    out += ["<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in rows]
    out.append("</tbody></table>")
    return "\n".join(out)


def page(title: str, subtitle: str, summary: Summary, axes: Sequence[Axis], currency: str = "") -> str:
    head, body, chead, cbody = summary_tables(summary, currency)
    sections = [(f"{m}", _band(summary, axes, m)) for m in summary.metrics]
    sections.append(("Means over seeds", _table(head, body)))
    if summary.comparisons:
        forest = []
        for m in summary.metrics:
            for k in [*range(len(axes)), None]:  # a chart per setting changed, then one for the arms
                rows = [(pair_label(c.a, c.b, k), c.diff, c.low, c.high) for c in summary.comparisons
                        if c.metric == m and c.diff is not None and not c.identical and varied(c.a, c.b) == k]
                what = axes[k].name if k is not None else "the arm"
                if rows:
                    forest.append(interval_chart(f"{m} when {what} changes (B − A, seed by seed, 95% interval)",
                                                 rows, percent=kind_of(m) in ("rate", "pp")))
        note = f"<p>{html.escape(method(summary))}</p>"
        sections.append(("Differences, seed by seed", note + "\n".join(forest) + _table(chead, cbody)))
    return html_page(title, subtitle, sections)
