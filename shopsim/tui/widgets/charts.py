"""Terminal charts drawn with block characters: labelled bars, per-channel hourly series, a forest plot.

Textual's `Sparkline` draws one unlabelled series scaled to itself; these charts need labels, a shared
scale across rows, an axis and values, so they draw their own lines of text. Each renders from plain data
given to `update_data(...)` and recomputes only when the data or its width changes. Colours: the channel
palette of the HTML report (mid-tones readable on dark and light) for series, theme variables for the rest."""

from __future__ import annotations

import math
from typing import Any, Mapping, NamedTuple, Sequence

from rich.style import Style
from rich.text import Text

from shopsim.report.svg import color_for
from shopsim.contract.clock import HOUR
from shopsim.tui.widgets.chart_base import EIGHTHS, LEVELS, Chart, blocks, clip as _clip, fmt as _fmt
from shopsim.tui.widgets.variants_chart import VariantsChart, uplift_text, verdict_word

__all__ = ["Chart", "BarsChart", "SeriesChart", "TableChart", "VariantsChart", "blocks", "uplift_text",
           "verdict_word", "EIGHTHS", "LEVELS"]


class _Bar(NamedTuple):
    label: str
    value: float | None  # None: a subheading
    note: str
    color: str | None


class BarsChart(Chart):
    """Horizontal labelled bars, e.g. the cart funnel.

    `update_data(bars)`: each bar is `(label, value)`, `(label, value, note)` or `(label, value, note, color)`;
    the value prints after the bar, then the note (a share, say). A bar whose value is None is a subheading.
    Bars scale to the largest value (or `top`). When the width is short, notes go first, then label room."""

    def __init__(self, bars: Sequence[Sequence[Any]] = (), *, title: str = "", max_label: int = 26,
                 name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(title=title, name=name, id=id, classes=classes)
        self.max_label = max_label
        self.bars: list[_Bar] = []
        self.top: float | None = None
        self.empty = "nothing yet"
        self.update_data(bars)

    def update_data(self, bars: Sequence[Sequence[Any]], *, top: float | None = None, empty: str | None = None) -> None:
        rows = []
        for bar in bars:
            label, value, note, color = (*bar, None, None)[:4]  # no note, no colour unless given
            rows.append(_Bar(str(label), None if value is None else value or 0, "" if note is None else str(note),
                             color))
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
        lw = min(self.max_label, max(len(b.label) for b in self.bars if b.value is not None))
        values = ["" if b.value is None else _fmt(b.value) for b in self.bars]
        vw = max(len(v) for v in values)
        nw = max(len(b.note) for b in self.bars)
        cells = width - lw - vw - (nw + 2 if nw else 0) - 2
        if cells < 8 and nw:  # too narrow for the notes: the bars keep their room
            nw, cells = 0, width - lw - vw - 2
        if cells < 6:
            lw = max(8, lw - (6 - cells))
            cells = width - lw - vw - 2
        cells = max(2, cells)
        top = self.top if self.top is not None else max((b.value for b in self.bars if b.value is not None), default=0)
        out = []
        for (label, value, note, color), shown in zip(self.bars, values):
            if value is None:
                out.append(Text(_clip(label, width), style=self.style_of("title")))
                continue
            line = Text(_clip(label, lw).ljust(lw) + " ")
            bar = blocks(value, top, cells)
            line.append(bar, style=Style(color=color) if color else accent)
            line.append(" " * (cells - len(bar) + 1) + shown.rjust(vw))
            if note and nw:
                line.append("  " + note, style=muted)
            out.append(line)
        return out


class SeriesChart(Chart):
    """Counts per hour, one row of ▁▂▃▄▅▆▇█ per series on one shared scale, with an hour axis (UTC).

    `update_data(series, first_hour=0, start_ms=0, labels=None)`: `series` maps a name (a channel name takes
    its colour) to counts per hour; `labels` gives the words shown for a name ("In-app" for in_app);
    `first_hour` is the run hour of the first value and `start_ms` the epoch ms of the run's start (for the
    clock labels)."""

    def __init__(self, *, title: str = "", unit: str = "messages", height_per_series: int = 1,
                 name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(title=title, name=name, id=id, classes=classes)
        self.unit = unit
        self.height_per_series = max(1, height_per_series)
        self.series: dict[str, list[float]] = {}
        self.labels: dict[str, str] = {}
        self.first_hour = 0
        self.start_ms = 0

    def update_data(self, series: Mapping[str, Sequence[float]], *, first_hour: int = 0, start_ms: int = 0,
                    labels: Mapping[str, str] | None = None) -> None:
        data = {k: list(v) for k, v in series.items()}
        words = dict(labels or {})
        if (data, first_hour, start_ms, words) == (self.series, self.first_hour, self.start_ms, self.labels):
            return
        self.series, self.first_hour, self.start_ms, self.labels = data, first_hour, start_ms, words
        self._changed()

    def _lines(self, width: int) -> list[Text]:
        muted = self.style_of("muted")
        hours = max((len(v) for v in self.series.values()), default=0)
        if not hours:
            return [Text("nothing yet", style=muted)]
        top = max((max(v, default=0) for v in self.series.values()), default=0)
        names = {k: self.labels.get(k, k) for k in self.series}
        lw = max(6, max(len(n) for n in names.values()))
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
                line = Text((names[name] if r == h - 1 else "").ljust(lw) + " ")
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


class TableChart(Chart):
    """A small table: a header row and rows of cells, the first column left-aligned, the others right-aligned.
    Columns that do not fit the width are left out from the right, so the first ones always show.

    `update_data(headers, rows, note="")`; `note` is a muted line under the table."""

    def __init__(self, *, title: str = "", name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(title=title, name=name, id=id, classes=classes)
        self.headers: list[str] = []
        self.rows: list[list[str]] = []
        self.note = ""
        self.empty = "nothing yet"

    def update_data(self, headers: Sequence[str], rows: Sequence[Sequence[str]], *, note: str = "",
                    empty: str | None = None) -> None:
        new = (list(headers), [list(map(str, r)) for r in rows], note)
        if new == (self.headers, self.rows, self.note) and (empty is None or empty == self.empty):
            return
        self.headers, self.rows, self.note = new
        if empty is not None:
            self.empty = empty
        self._changed()

    def _lines(self, width: int) -> list[Text]:
        muted = self.style_of("muted")
        if not self.rows:
            return [Text(self.empty, style=muted)]
        widths = [max(len(h), *(len(r[i]) for r in self.rows)) for i, h in enumerate(self.headers)]
        keep, used = 0, -2
        while keep < len(widths) and used + 2 + widths[keep] <= width:
            used += 2 + widths[keep]
            keep += 1
        keep = max(1, keep)

        def line(cells: Sequence[str]) -> str:
            return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths[:keep])))

        out = [Text(line(self.headers), style=self.style_of("title"))]
        out += [Text(line(r)) for r in self.rows]
        if self.note:
            out.append(Text(_clip(self.note, width), style=muted))
        return out
