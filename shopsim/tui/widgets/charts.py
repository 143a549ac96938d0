"""Terminal charts drawn with block characters: labelled bars, per-channel hourly series, a forest plot.

Textual's `Sparkline` draws one unlabelled series scaled to itself; these charts need labels, a shared
scale across rows, an axis and values, so they draw their own lines of text. Each renders from plain data
given to `update_data(...)` and recomputes only when the data or its width changes. Colours: the channel
palette of the HTML report (mid-tones readable on dark and light) for series, theme variables for the rest."""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from shopsim.report.svg import color_for, nice_ticks
from shopsim.report.tables import arm_value, count, metric_words, money, number, rate
from shopsim.metrics.variants import OUTCOMES
from shopsim.sim.clock import HOUR

__all__ = ["Chart", "BarsChart", "SeriesChart", "VariantsChart", "blocks", "uplift_text", "verdict_word"]

EIGHTHS = " ▏▎▍▌▋▊▉█"     # horizontal: 0/8 .. 8/8 of a cell
LEVELS = " ▁▂▃▄▅▆▇█"      # vertical: 0/8 .. 8/8 of a cell


def blocks(value: float, top: float, cells: int) -> str:
    """A horizontal bar of `value` out of `top` over `cells` cells, to an eighth of a cell."""
    if top <= 0 or value <= 0 or cells <= 0:
        return ""
    eighths = max(1, round(min(value, top) / top * cells * 8))  # anything above 0 shows
    full, part = divmod(eighths, 8)
    return "█" * full + (EIGHTHS[part] if part else "")


def _fmt(v: float | int | None) -> str:
    if v is None:
        return "—"
    if isinstance(v, int) or float(v).is_integer():
        return f"{int(v):,}"
    return f"{v:,.2f}"


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: max(0, n - 1)] + "…"


class Chart(Widget):
    """Renders `_lines(width)` (rich Texts), cached by width until `update_data` changes the data."""

    COMPONENT_CLASSES = {"chart--muted", "chart--bar", "chart--good", "chart--bad", "chart--title"}
    DEFAULT_CSS = """
    Chart {
        height: auto;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        & > .chart--muted { color: $text-muted; }
        & > .chart--bar { color: $accent; }
        & > .chart--good { color: $text-success; }
        & > .chart--bad { color: $text-error; }
        & > .chart--title { color: $text; text-style: bold; }
    }
    """

    def __init__(self, *, title: str = "", name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.title = title
        self._cache: tuple[int, list[Text]] | None = None

    def _changed(self) -> None:
        self._cache = None
        if self.is_mounted:
            self.refresh(layout=True)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache = None

    def on_mount(self) -> None:
        self._cache = None  # drawn before the styles were known

    def style_of(self, name: str) -> Style:
        try:
            return self.get_component_rich_style(f"chart--{name}")
        except KeyError:  # not mounted yet: no theme to read
            return Style()

    def lines(self, width: int) -> list[Text]:
        """The chart as lines of text for this width."""
        if self._cache is None or self._cache[0] != width:
            out = [Text(self.title, style=self.style_of("title"))] if self.title else []
            out.extend(self._lines(max(20, width)))
            self._cache = (width, out)
        return self._cache[1]

    def _lines(self, width: int) -> list[Text]:
        raise NotImplementedError

    def get_content_height(self, container, viewport, width: int) -> int:
        return max(1, len(self.lines(width)))

    def render(self) -> Text:
        lines = self.lines(self.size.width)
        text = Text("\n").join(lines) if lines else Text("")
        text.no_wrap = True
        text.overflow = "ellipsis"
        return text

    @property
    def plain(self) -> str:
        """What the chart says, as plain text (at its current width, or 100 columns before layout)."""
        return "\n".join(t.plain for t in self.lines(self.size.width or 100))


class BarsChart(Chart):
    """Horizontal labelled bars, e.g. the abandonment → recovery funnel.

    `update_data(bars)`: each bar is `(label, value)`, `(label, value, note)` or `(label, value, note, color)`;
    the value prints after the bar, then the note (a share, say). Bars scale to the largest value (or `top`)."""

    def __init__(self, bars: Sequence[Sequence[Any]] = (), *, title: str = "", max_label: int = 26,
                 name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(title=title, name=name, id=id, classes=classes)
        self.max_label = max_label
        self.bars: list[tuple[str, float, str, str | None]] = []
        self.top: float | None = None
        self.empty = "nothing yet"
        self.update_data(bars)

    def update_data(self, bars: Sequence[Sequence[Any]], *, top: float | None = None, empty: str | None = None) -> None:
        rows = []
        for bar in bars:
            label, value = str(bar[0]), bar[1] or 0
            note = str(bar[2]) if len(bar) > 2 and bar[2] is not None else ""
            color = bar[3] if len(bar) > 3 else None
            rows.append((label, value, note, color))
        if rows == self.bars and top == self.top and (empty is None or empty == self.empty):
            return
        self.bars, self.top = rows, top
        if empty is not None:
            self.empty = empty
        self._changed()

    def _lines(self, width: int) -> list[Text]:
        if not self.bars:
            return [Text(self.empty, style=self.style_of("muted"))]
        muted, accent = self.style_of("muted"), self.style_of("bar")
        lw = min(self.max_label, max(len(b[0]) for b in self.bars))
        values = [_fmt(b[1]) for b in self.bars]
        vw = max(len(v) for v in values)
        nw = max(len(b[2]) for b in self.bars)
        cells = max(4, width - lw - vw - (nw + 2 if nw else 0) - 4)
        top = self.top if self.top is not None else max((b[1] for b in self.bars), default=0)
        out = []
        for (label, value, note, color), shown in zip(self.bars, values):
            line = Text(_clip(label, lw).ljust(lw) + " ")
            bar = blocks(value, top, cells)
            line.append(bar, style=Style(color=color) if color else accent)
            line.append(" " * (cells - len(bar) + 1) + shown.rjust(vw))
            if note:
                line.append("  " + note, style=muted)
            out.append(line)
        return out


class SeriesChart(Chart):
    """Counts per hour, one row of ▁▂▃▄▅▆▇█ per series on one shared scale, with an hour axis (UTC).

    `update_data(series, first_hour=0, start_ms=0)`: `series` maps a name (a channel name takes its
    colour) to counts per hour; `first_hour` is the run hour of the first value and `start_ms` the epoch
    ms of the run's start (for the clock labels)."""

    def __init__(self, *, title: str = "", unit: str = "messages", height_per_series: int = 1,
                 name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(title=title, name=name, id=id, classes=classes)
        self.unit = unit
        self.height_per_series = max(1, height_per_series)
        self.series: dict[str, list[float]] = {}
        self.first_hour = 0
        self.start_ms = 0

    def update_data(self, series: Mapping[str, Sequence[float]], *, first_hour: int = 0, start_ms: int = 0) -> None:
        data = {k: list(v) for k, v in series.items()}
        if data == self.series and first_hour == self.first_hour and start_ms == self.start_ms:
            return
        self.series, self.first_hour, self.start_ms = data, first_hour, start_ms
        self._changed()

    def _lines(self, width: int) -> list[Text]:
        muted = self.style_of("muted")
        hours = max((len(v) for v in self.series.values()), default=0)
        if not hours:
            return [Text("nothing yet", style=muted)]
        top = max((max(v, default=0) for v in self.series.values()), default=0)
        lw = max(6, max(len(k) for k in self.series))
        stats = {k: f"{_fmt(sum(v))} · peak {_fmt(max(v, default=0))}" for k, v in self.series.items()}
        sw = max(len(s) for s in stats.values())
        room = max(hours, width - lw - sw - 4)
        per = max(1, room // hours)  # columns per hour
        shown = min(hours, room // per)  # when even one column each is too many, the newest hours show
        skip = hours - shown
        h = self.height_per_series
        out = []
        for i, (name, vals) in enumerate(self.series.items()):
            vals = vals[skip:] + [0] * (shown - len(vals[skip:]))
            colour = Style(color=color_for(name, i))
            for r in range(h):  # rows top to bottom
                line = Text((name if r == h - 1 else "").ljust(lw) + " ")
                cells = []
                for v in vals:
                    level = 0 if top <= 0 or v <= 0 else max(1, math.ceil(v / top * 8 * h))
                    fill = min(8, max(0, level - 8 * (h - 1 - r)))
                    cells.append(LEVELS[fill] * per)
                line.append("".join(cells), style=colour)
                if r == h - 1:
                    line.append("  " + stats[name].rjust(sw), style=muted)
                out.append(line)
        out.extend(self._axis(lw, shown, per, skip, muted))
        return out

    def _axis(self, lw: int, shown: int, per: int, skip: int, muted: Style) -> list[Text]:
        first = self.first_hour + skip
        base = self.start_ms // HOUR
        every = next(s for s in (3, 6, 12, 24, 48, 96) if s * per >= 5)
        axis = ["─"] * (shown * per)
        labels = [" "] * (shown * per + 4)
        for j in range(shown):
            run_hour = first + j
            clock = (base + run_hour) % 24
            if clock % every:
                continue
            x = j * per
            axis[x] = "┬"
            label = f"d{run_hour // 24 + 1}" if clock == 0 else f"{clock:02d}"
            if all(c == " " for c in labels[max(0, x - 1): x + len(label) + 1]):
                labels[x: x + len(label)] = label
        top = max((max(v, default=0) for v in self.series.values()), default=0)
        caption = (f"{self.unit} per hour, UTC (d = run day), last {shown} h; "
                   f"one scale: {LEVELS[-1] * self.height_per_series} = {_fmt(top)}")
        pad = " " * (lw + 1)
        return [Text(pad + "".join(axis), style=muted), Text(pad + "".join(labels).rstrip(), style=muted),
                Text(pad + caption, style=muted)]


class VariantsChart(Chart):
    """An experiment: each arm's uplift on one metric against the control, with its 95% interval on a
    shared axis (a forest plot), then the arms side by side.

    `update_data(comparisons, variants, metric=..., control=..., currency=...)` takes the `comparisons`
    rows and `variants` table of `Metrics.result()["experiments"][name]`."""

    # (experiment metric the row shows or None, label, cell): the experiment's own metric is starred.
    ARM_ROWS = ((None, "shoppers", lambda a, c: count(a.get("shoppers", 0))),
                ("recovery", "recovery (shoppers)", lambda a, c: _outcome(a, "recovery")),
                ("conversion", "conversion (shoppers)", lambda a, c: _outcome(a, "conversion")),
                ("unsubscribe", "unsubscribe (shoppers)", lambda a, c: _outcome(a, "unsubscribe")),
                ("revenue_per_shopper", "revenue per shopper", lambda a, c: money(a.get("revenue_per_shopper"), c)),
                (None, "recovery rate (carts)", lambda a, c: rate(a.get("recovery_rate"))),
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
        heading = (f"uplift in {metric_words(key)} vs {self.control}" + (" (percentage points)" if pct else "")
                   + ", 95% intervals")
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
                style = good if cmp.get("significant") and d > 0 else bad if cmp.get("significant") else Style()
            line = Text(_clip(label, lw).ljust(lw) + " ")
            line.append("".join(track), style=style if cmp is not None else muted)
            line.append("  " + text, style=style if cmp is not None else muted)
            out.append(line)
        axis = ["─"] * cells
        marks = [" "] * (cells + 8)
        for t in ticks:
            x = x_of(t)
            axis[x] = "┼" if t == 0 else "┬"
            s = f"{t:+g}" if t else "0"
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
        lw = max(len(r[0]) for r in rows)
        cw = [max(len(h), *(len(r[2][i]) for r in rows)) for i, h in enumerate(heads)]
        out = [Text(" " * lw + "".join("  " + h.rjust(w) for h, w in zip(heads, cw)), style=self.style_of("title"))]
        for label, starred, cells in rows:
            line = Text(label.ljust(lw), style=self.style_of("title") if starred else muted)
            line.append("".join("  " + c.rjust(w) for c, w in zip(cells, cw)),
                        style=self.style_of("title") if starred else Style())
            out.append(line)
        return out


def verdict_word(cmp: Mapping[str, Any]) -> str:
    """One word for a comparison row: higher, lower, no difference or too few."""
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
    interval = "" if low is None or high is None else f" [{low * scale:+,.{digits}f}, {high * scale:+,.{digits}f}]"
    return f"{d * scale:+,.{digits}f}{unit}{interval}"


def _outcome(arm: Mapping[str, Any], key: str) -> str:
    n = arm.get(f"{key}_of") or 0
    return f"{count(arm.get(f'{key}_shoppers', 0))} / {count(n)} ({rate(arm_value(dict(arm), key))})"

