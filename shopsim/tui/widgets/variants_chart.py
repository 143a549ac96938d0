"""An experiment in the terminal: each arm's uplift against the control with its 95% interval (a forest
plot), then the arms side by side, and the verdicts in words beside them (`verdicts_text`). While the run
plays these are an interim look on always-valid intervals (tui/interim.py). Uplifts of shopper rates are
in percentage points, never "-0.0"."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from rich.style import Style
from rich.text import Text
from textual.content import Content

from shopsim.metrics.variants import OUTCOMES
from shopsim.report.labels import signed
from shopsim.report.svg import nice_ticks
from shopsim.report.tables import arm_value, count, metric_words, money, number, rate
from shopsim.report.experiments import clean_zero
from shopsim.tui.interim import interim_sentence, interim_word
from shopsim.tui.widgets.chart_base import Chart, clip as _clip

__all__ = ["VariantsChart", "uplift_text", "verdict_word", "verdicts_text"]


class VariantsChart(Chart):
    """An experiment: each arm's uplift on one metric against the control, with its 95% interval on a
    shared axis (a forest plot), then the arms side by side. Rows of an interim look (`interim: True`,
    tui/interim.py) are drawn with their always-valid interval, in neutral colours, and called nothing.

    `update_data(comparisons, variants, metric=..., control=..., currency=...)` takes the `comparisons`
    rows and `variants` table of `Metrics.result()["experiments"][name]`."""

    # (experiment metric the row shows or None, label, cell): the experiment's own metric is starred.
    ARM_ROWS = ((None, "shoppers", lambda a, c: count(a.get("shoppers", 0))),
                ("recovery", "recovery (shoppers)", lambda a, c: _outcome(a, "recovery")),
                ("conversion", "conversion (shoppers)", lambda a, c: _outcome(a, "conversion")),
                ("unsubscribe", "unsubscribe (shoppers)", lambda a, c: _outcome(a, "unsubscribe")),
                ("revenue_per_shopper", "revenue per shopper", lambda a, c: money(a.get("revenue_per_shopper"), c)),
                (None, "attributed recovery (carts)", lambda a, c: rate(a.get("attributed_recovery_rate"))),
                (None, "recovery, any way (carts)", lambda a, c: rate(a.get("recovery_rate"))),
                (None, "cart abandonment (Baymard)", lambda a, c: rate(a.get("abandonment_rate"))),
                (None, "discount cost", lambda a, c: money(a.get("discount_cost"), c)),
                (None, "messages / shopper / day", lambda a, c: number(a.get("messages_per_shopper_per_day"), 3)))

    def __init__(self, *, title: str = "", name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(title=title, name=name, id=id, classes=classes)
        self.comparisons: list[dict[str, Any]] = []
        self.variants: dict[str, dict[str, Any]] = {}
        self.metric: str | None = None
        self.control: str | None = None
        self.currency: str | None = None

    def update_data(self, comparisons: Sequence[Mapping[str, Any]],
                    variants: Mapping[str, Mapping[str, Any]] | None = None, *, metric: str | None = None, control: str | None = None, currency: str | None = None) -> None:
        rows = [dict(c) for c in comparisons]
        metric = metric or next((c["metric"] for c in rows if c.get("primary")), rows[0]["metric"] if rows else None)
        control = control or next((c.get("control_name") for c in rows), None)
        arms = {k: dict(v) for k, v in (variants or {}).items()}
        new = (rows, arms, metric, control, currency)
        if new == (self.comparisons, self.variants, self.metric, self.control, self.currency):
            return
        self.comparisons, self.variants, self.metric, self.control, self.currency = new
        self._changed()

    @classmethod
    def from_experiment(cls, experiment: Mapping[str, Any], currency: str | None = None, **kw) -> "VariantsChart":
        chart = cls(**kw)
        chart.update_data(experiment["comparisons"], experiment["variants"], metric=experiment.get("metric"),
                          control=experiment.get("control"), currency=currency)
        return chart

    def get_content_width(self, container, viewport) -> int:
        """Wide enough for the arms table (the forest plot takes any width)."""
        return max(60, *(len(t.plain) for t in self._arms(60)), 0)

    def _lines(self, width: int) -> list[Text]:
        muted = self.style_of("muted")
        if not self.comparisons and not self.variants:
            return [Text("no experiment data yet", style=muted)]
        return self._forest(width) + [Text("")] + self._arms(width)

    # --- the forest plot ---------------------------------------------------------------------------

    def _forest(self, width: int) -> list[Text]:
        muted, good, bad = self.style_of("muted"), self.style_of("good"), self.style_of("bad")
        key = self.metric or "recovery"
        pct = key in OUTCOMES
        scale = 100 if pct else 1
        rows = [c for c in self.comparisons if c.get("metric") == key]
        unit = " pp" if pct else (f" {self.currency}" if self.currency else "")
        interim = any(c.get("interim") for c in rows)
        heading = (f"uplift in {metric_words(key)} vs {self.control}" + (", pp, always-valid 95% intervals (interim)"
                   if interim and pct else ", always-valid 95% intervals (interim)" if interim
                   else " (percentage points)" * pct + ", 95% intervals"))
        labels = [f"{self.control} (control)"] + [c["variant"] for c in rows]
        texts = ["reference"] + [f"{uplift_text(c, self.currency)}  {verdict_word(c)}" for c in rows]
        lw = min(28, max(len(s) for s in labels))
        tw = max(len(s) for s in texts)
        cells = max(12, width - lw - tw - 4)
        finite = [v * scale for c in rows for v in (c.get("diff"), c.get("low"), c.get("high")) if v is not None]
        ticks = nice_ticks(min(finite + [0.0]), max(finite + [0.0]), count=max(2, min(7, cells // 8)))
        lo, hi = ticks[0], ticks[-1]
        x_of = lambda v: round((v - lo) / (hi - lo) * (cells - 1)) if hi > lo else 0  # noqa: E731
        zero = x_of(0.0)
        out = [Text(heading, style=muted)]
        for label, text, cmp in zip(labels, texts, [None] + rows):
            track = [" "] * cells
            track[zero] = "│"
            style = muted
            if cmp is None:
                track[zero] = "●"
            elif cmp.get("diff") is not None:
                d, a, b = (cmp[k] * scale if cmp.get(k) is not None else None for k in ("diff", "low", "high"))
                if a is not None and b is not None:
                    xa, xb = sorted((x_of(a), x_of(b)))
                    for x in range(xa, xb + 1):
                        track[x] = "─"
                    track[xa], track[xb] = ("├", "┤") if xb > xa else ("┼", "┼")
                track[x_of(d)] = "●"
                # An interim row is no verdict: it keeps the neutral colour whichever side of 0 it lies.
                style = (Style() if cmp.get("interim") else good if cmp.get("significant") and d > 0
                         else bad if cmp.get("significant") else Style())
            line = Text(_clip(label, lw).ljust(lw) + " ")
            line.append("".join(track), style=style if cmp is not None else muted)
            line.append("  " + text, style=style if cmp is not None else muted)
            out.append(line)
        axis = ["─"] * cells
        marks = [" "] * (cells + 8)
        for t in ticks:
            x = x_of(t)
            axis[x] = "┼" if t == 0 else "┬"
            s = signed(t, "g") if t else "0"
            start = max(0, min(cells - len(s), x - len(s) // 2))
            if all(c == " " for c in marks[max(0, start - 1): start + len(s) + 1]):
                marks[start: start + len(s)] = s
        pad = " " * (lw + 1)
        out += [Text(pad + "".join(axis), style=muted), Text(pad + "".join(marks).rstrip() + unit, style=muted)]
        return out

    # --- the arms side by side ---------------------------------------------------------------------

    def _arms(self, width: int) -> list[Text]:
        muted = self.style_of("muted")
        arms = list(self.variants)
        if not arms:
            return []
        key = self.metric or "recovery"
        heads = [f"{a} (control)" if a == self.control else f"{a} (holdout)" if self.variants[a].get("holdout")
                 else a for a in arms]
        rows = [(label + (" ★" if metric == key else ""), metric == key,
                 [fn(self.variants[a], self.currency) if self.variants[a].get("shoppers") else "—" for a in arms])
                for metric, label, fn in self.ARM_ROWS]
        lw = max(len(label) for label, _, _ in rows)
        cw = [max(len(h), *(len(cells[i]) for _, _, cells in rows)) for i, h in enumerate(heads)]
        # The heading's label cell says what the columns are: a line that starts with spaces loses them when
        # drawn, and its columns would slide under the labels.
        out = [Text("arm".ljust(lw) + "".join("  " + h.rjust(w) for h, w in zip(heads, cw)),
                    style=self.style_of("title"), no_wrap=True, overflow="ellipsis")]
        for label, starred, cells in rows:
            line = Text(label.ljust(lw), style=self.style_of("title") if starred else muted, no_wrap=True,
                        overflow="ellipsis")
            line.append("".join("  " + c.rjust(w) for c, w in zip(cells, cw)),
                        style=self.style_of("title") if starred else Style())
            out.append(line)
        return out


def verdict_word(cmp: Mapping[str, Any]) -> str:
    """One word for a comparison row: higher, lower, no difference or too few; for an interim row, never a
    verdict (tui/interim.py's words)."""
    if cmp.get("interim"):
        return interim_word(cmp)
    if cmp.get("diff") is None or not cmp.get("enough"):
        return "too few"
    if cmp.get("significant"):
        return "higher" if cmp["diff"] > 0 else "lower"
    return "no difference"


def uplift_text(cmp: Mapping[str, Any], currency: str | None = None) -> str:
    """'+7.6 pp [+3.9, +11.3]' for a proportion, '+0.99 USD [-0.44, +2.43]' for revenue per shopper."""
    d = cmp.get("diff")
    if d is None:
        return "—"
    pct = cmp.get("metric") in OUTCOMES
    scale, digits = (100, 1) if pct else (1, 2)
    unit = " pp" if pct else (f" {currency}" if currency else "")
    low, high = cmp.get("low"), cmp.get("high")
    spec = f",.{digits}f"
    interval = "" if low is None or high is None else f" [{signed(low * scale, spec)}, {signed(high * scale, spec)}]"
    return f"{signed(d * scale, spec)}{unit}{interval}"


def _outcome(arm: Mapping[str, Any], key: str) -> str:
    n = arm.get(f"{key}_of") or 0
    return f"{count(arm.get(f'{key}_shoppers', 0))} / {count(n)} ({rate(arm_value(dict(arm), key))})"


def verdicts_text(exp: dict[str, Any], currency: str | None = None, when: str | None = None) -> Content:
    """The verdict sentences of the experiment's own metric, then one line per other comparison. `when`
    ("day 3/14") marks an interim look (`as_shown`): its sentences say so, and no ✓ or ✗ is drawn."""
    parts: list[Any] = []
    for c in (c for c in exp["comparisons"] if c.get("primary")):
        if c.get("interim"):
            parts += [("· ", "bold"), clean_zero(interim_sentence(c, when or "before the end", currency)), "\n\n"]
            continue
        mark = (("✓ ", "$text-success bold") if c.get("significant") and c["diff"] > 0 else
                ("✗ ", "$text-error bold") if c.get("significant") else ("· ", "bold"))
        parts += [mark, clean_zero(c["verdict"]), "\n\n"]
    others = [c for c in exp["comparisons"] if not c.get("primary")]
    if others:
        interim = any(c.get("interim") for c in others)
        parts.append((f"Other metrics, against {exp['control']} "
                      + ("(interim, always-valid 95% interval)" if interim else "(95% interval)"), "bold"))
        for variant in dict.fromkeys(c["variant"] for c in others):
            parts.append((f"\n{variant}", "bold"))
            rows = [c for c in others if c["variant"] == variant]
            width = max(len(metric_words(c["metric"])) for c in rows)
            for c in rows:
                word = verdict_word(c)  # an interim row's word is never higher or lower: it stays muted
                style = "$text-success" if word == "higher" else "$text-error" if word == "lower" else "$text-muted"
                parts += [(f"\n  {metric_words(c['metric']):<{width}}  ", "$text-muted"), uplift_text(c, currency),
                          "  ", (word, style)]
    return Content.assemble(*parts).rstrip()
