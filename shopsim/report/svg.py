"""Small inline-SVG charts for the HTML report: bars, stacked bars, lines and a forest plot.

Every function returns a complete ``<svg>`` string. The output must be byte-identical for identical
inputs (reports are diffed and golden-tested), so there are no generated ids and every coordinate is
rounded to one decimal. Text and axes use ``currentColor`` so the page's light or dark theme decides
their colour; series colours are mid-tones that stay readable on either background.
"""

from __future__ import annotations

import html
import math
import re

from shopsim.report.labels import signed

__all__ = ["CHANNEL_COLORS", "FUNNEL_COLORS", "band_chart", "bar_chart", "color_for", "funnel_chart", "interval_chart", "line_chart",
           "nice_ticks", "stacked_bars"]

# One colour per channel everywhere in the report, so "push is orange" holds across charts.
CHANNEL_COLORS = {"email": "#4e79a7", "push": "#f28e2b", "sms": "#59a14f", "in_app": "#b07aa1", "ads": "#8c8c8c"}
# Other keys (variants, categories) take these in order of appearance within a chart.
FALLBACK = ("#e15759", "#76b7b2", "#edc948", "#9c755f", "#ff9da7", "#17becf", "#bcbd22")
ACCENT = CHANNEL_COLORS["email"]
GOOD, BAD, NEUTRAL = "#59a14f", "#e15759", "#8c8c8c"

W = 720  # viewBox width; the page scales it to 100% of the column
CHAR_W = 7.5  # generous advance of a 12px sans-serif glyph (DejaVu digits are ~7.6): labels must not collide
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # not allowed in XML even when escaped


def _esc(text: object) -> str:
    return html.escape(_CONTROL.sub("", str(text)), quote=True)


def _n(v: float) -> str:
    """A coordinate rounded to 1 decimal, without a trailing '.0' or a '-0'."""
    r = round(v, 1) or 0.0
    return f"{r:.1f}".removesuffix(".0")


def _num(v: object) -> float | None:
    """Finite float or None: NaN and infinities from a 0/0 rate must not reach the geometry."""
    if v is None or isinstance(v, bool):
        return None
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _clip(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def _line(x1: float, x2: float, y1: float, y2: float, stroke: str = "currentColor", extra: str = "") -> str:
    return f'<line x1="{_n(x1)}" x2="{_n(x2)}" y1="{_n(y1)}" y2="{_n(y2)}" stroke="{stroke}"{extra}/>'


def _pad(values: list, n: int, fill):
    """Exactly n values: a series shorter than the x axis is padded, a longer one cut."""
    return values[:n] + [fill] * max(0, n - len(values))


def _count(v: float) -> str:
    return f"{v:,.0f}" if v == int(v) else f"{v:,.2f}"


def _width(text: str) -> float:
    return len(text) * CHAR_W


def color_for(key: str, index: int = 0) -> str:
    """Colour of a series: the channel's own colour, else the index-th fallback colour."""
    return CHANNEL_COLORS.get(key) or FALLBACK[index % len(FALLBACK)]


def _series_colors(keys: list[str], overrides: dict[str, str] | None = None) -> dict[str, str]:
    out, i = {}, 0
    for key in keys:
        if overrides and key in overrides:
            out[key] = overrides[key]
        elif key in CHANNEL_COLORS:
            out[key] = CHANNEL_COLORS[key]
        else:
            out[key] = FALLBACK[i % len(FALLBACK)]
            i += 1
    return out


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """At most ``count`` evenly spaced ticks covering [lo, hi], stepping 1, 2, 2.5 or 5 x 10^k."""
    if hi < lo:
        lo, hi = hi, lo
    if hi - lo < 1e-12:  # flat data: give it a unit-ish range instead of a zero-width axis
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / max(count - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw * (1 - 1e-9))
    start = math.floor(lo / step + 1e-9) * step
    stop = math.ceil(hi / step - 1e-9) * step
    n = round((stop - start) / step)
    return [round(start + i * step, 10) + 0.0 for i in range(n + 1)]


def _reads_back(label: str, value: float) -> bool:
    """Does the label say the tick's value? "0.2" for 0.25 is distinct from its neighbours, and wrong."""
    m = re.search(r"[-+]?\d[\d,]*(?:\.\d+)?", label)
    if m is None:
        return True  # a custom format we cannot read back: trust it
    return abs(float(m.group().replace(",", "")) - value) <= 1e-9 * max(1.0, abs(value))


def _tick_labels(ticks: list[float], *, percent: bool = False, fmt: str = "{:,.0f}", unit: str = "%") -> list[str]:
    """Format ticks with ``fmt`` unless it would misstate them; else with just enough decimals. Percent
    ticks end in ``unit``: "%" for rates, " pp" for differences of rates."""
    scale, suffix = (100.0, unit) if percent else (1.0, "")
    if not percent:
        labels = [fmt.format(t) for t in ticks]
        if len(set(labels)) == len(labels) and all(map(_reads_back, labels, ticks)):
            return labels
    for digits in range(0, 7):
        labels = [f"{t * scale:,.{digits}f}{suffix}" for t in ticks]
        if all(_reads_back(label, t * scale) for label, t in zip(labels, ticks)):
            break
    return labels


def _svg(height: float, title: str, body: list[str], kind: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {kind}" viewBox="0 0 {W} {_n(height)}" '
        f'width="100%" role="img" aria-label="{_esc(title)}" font-family="{_esc(FONT)}" font-size="12" '
        f'fill="currentColor"><title>{_esc(title)}</title>'
        f'<text x="0" y="16" font-size="14" font-weight="600">{_esc(title)}</text>' + "".join(body) + "</svg>"
    )


def _no_data(title: str, kind: str) -> str:
    note = f'<text class="no-data" x="{W // 2}" y="52" text-anchor="middle" opacity="0.6">no data</text>'
    return _svg(72, title, [note], kind)


def _legend(colors: dict[str, str], y: float) -> tuple[list[str], float]:
    """Swatches left to right, wrapping onto a new row; returns the parts and the y below them."""
    parts, x = ['<g class="legend">'], 0.0
    for key, color in colors.items():
        label = _clip(key, 30)
        item_w = 14 + _width(label) + 18
        if x > 0 and x + item_w > W:
            x, y = 0.0, y + 18
        parts.append(f'<rect x="{_n(x)}" y="{_n(y - 9)}" width="10" height="10" rx="2" fill="{color}"/>')
        parts.append(f'<text x="{_n(x + 14)}" y="{_n(y)}">{_esc(label)}</text>')
        x += item_w
    parts.append("</g>")
    return parts, y + 16


def _y_axis(ticks: list[float], labels: list[str], x0: float, x1: float, y_of) -> list[str]:
    parts = ['<g class="y-axis">']
    for t, label in zip(ticks, labels):
        opacity = "0.5" if t == 0 else "0.15"  # the baseline reads as an axis, the rest as faint grid
        parts.append(_line(x0, x1, y_of(t), y_of(t), extra=f' stroke-opacity="{opacity}"'))
        parts.append(f'<text x="{_n(x0 - 6)}" y="{_n(y_of(t))}" dy="0.32em" text-anchor="end">{_esc(label)}</text>')
    parts.append("</g>")
    return parts


def _x_labels(labels: list[str], xs: list[float], spacing: float, y: float) -> list[str]:
    """Every k-th label, with k chosen so the widest label fits in the space k points give it."""
    widest = max((_width(_clip(s, 16)) for s in labels), default=0.0) + 10
    k = max(1, math.ceil(widest / spacing)) if spacing > 0 else 1
    parts = ['<g class="x-labels">']
    for i in range(0, len(labels), k):
        text = _clip(labels[i], 16)
        half = _width(text) / 2
        x = min(max(xs[i], half + 2), W - half - 2)  # pull the first and last labels inside the viewBox
        parts.append(f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="middle">{_esc(text)}</text>')
    parts.append("</g>")
    return parts


def _left_margin(labels: list[str]) -> float:
    return max(28.0, max((_width(s) for s in labels), default=0.0) + 14)


def _markers(at: list[tuple[float, str]], x0: float, x1: float, y0: float, y1: float) -> list[str]:
    """Dashed vertical lines across the plot (e.g. a policy change), each labelled at its top; clamped to it."""
    out = []
    for x, label in at:
        x = min(max(x, x0), x1)
        line = _line(x, x, y0 - 4, y1, extra=' stroke-dasharray="4 3"')
        out.append(f'<g class="marker">{line}'
                   f'<text x="{_n(x + 3)}" y="{_n(y0 + 6)}" font-size="11">{_esc(_clip(label, 40))}</text>'
                   f"<title>{_esc(label)}</title></g>")
    return out


def bar_chart(title: str, labels: list[str], values: list[float], *, unit: str = "", fmt: str = "{:,.0f}") -> str:
    """Horizontal bars with their values, e.g. the recovery funnel or suppression reasons."""
    vals = _pad([max(_num(v) or 0.0, 0.0) for v in values], len(labels), 0.0)
    top = max(vals, default=0.0)
    if top <= 0:
        return _no_data(title, "bar")
    names = [_clip(str(s), 32) for s in labels]
    texts = [fmt.format(v) + (unit if unit in ("%", "") else " " + unit) for v in vals]
    x0 = min(max(_width(s) for s in names) + 12, W * 0.4)
    room = W - x0 - max(_width(t) for t in texts) - 12  # longest bar still leaves space for its value
    row, bar_h, y = 26, 18, 34.0
    body = ['<g class="bars">']
    for name, full, v, text in zip(names, labels, vals, texts):
        w = room * v / top
        body.append(f"<g><title>{_esc(full)}: {_esc(text)}</title>")
        body.append(f'<text x="{_n(x0 - 8)}" y="{_n(y + bar_h / 2)}" dy="0.32em" text-anchor="end">{_esc(name)}</text>')
        body.append(f'<rect x="{_n(x0)}" y="{_n(y)}" width="{_n(w)}" height="{bar_h}" rx="2" fill="{ACCENT}"/>')
        body.append(f'<text x="{_n(x0 + w + 6)}" y="{_n(y + bar_h / 2)}" dy="0.32em">{_esc(text)}</text></g>')
        y += row
    body.append("</g>")
    return _svg(y + 4, title, body, "bar")


FUNNEL_COLORS = {"main": ACCENT, "abandoned": BAD, "recovered": GOOD, "lost": NEUTRAL, "open": NEUTRAL}


def funnel_chart(title: str, rows: list[tuple[str, float | None, str, str]]) -> str:
    """The cart funnel: (label, value, text after the value, kind) per row, each label above its bar.
    Main-path rows ("main") start flush left; branches ("abandoned", "recovered", "lost") are indented
    under the step they leave, in their own colour, on the same scale. A row whose value is None is a
    subheading."""
    vals = [None if v is None else max(_num(v) or 0.0, 0.0) for _, v, _, _ in rows]
    top = max((v for v in vals if v is not None), default=0.0)
    if top <= 0:
        return _no_data(title, "funnel")
    indent = 18.0
    texts = ["" if v is None else f"{_count(v)} · {note}" if note else _count(v)
             for v, (_, _, note, _) in zip(vals, rows)]
    room = W - indent - max(_width(t) for t in texts) - 12
    bar_h, y = 16, 30.0
    body = ['<g class="bars">']
    for (label, _, _, kind), v, text in zip(rows, vals, texts):
        x = 0.0 if kind == "main" else indent
        if v is None:
            body.append(f'<text x="0" y="{_n(y + 18)}" font-weight="600">{_esc(label)}</text>')
            y += 26
            continue
        w = room * v / top
        weight = ' font-weight="600"' if kind == "main" else ""
        body.append(f'<g class="{_esc(kind)}"><title>{_esc(label)}: {_esc(text)}</title>')
        body.append(f'<text x="{_n(x)}" y="{_n(y + 14)}"{weight}>{_esc(label)}</text>')
        body.append(f'<rect x="{_n(x)}" y="{_n(y + 20)}" width="{_n(w)}" height="{bar_h}" rx="2" '
                    f'fill="{FUNNEL_COLORS.get(kind, ACCENT)}"/>')
        body.append(f'<text x="{_n(x + w + 6)}" y="{_n(y + 20 + bar_h / 2)}" dy="0.32em">{_esc(text)}</text></g>')
        y += 42
    body.append("</g>")
    return _svg(y + 4, title, body, "funnel")


def stacked_bars(
    title: str, x_labels: list[str], series: dict[str, list[float]], *, colors: dict[str, str] | None = None,
    markers: list[tuple[float, str]] = (),  # type: ignore[assignment]
) -> str:
    """Vertical bars per x (e.g. day), stacked by series (e.g. channel), bottom-up in dict order; `markers`
    are (x, label) drawn as dashed vertical lines, x in bars from the left edge (7.0: where bar 7 begins)."""
    n = len(x_labels)
    data = {k: _pad([max(_num(v) or 0.0, 0.0) for v in vals], n, 0.0) for k, vals in series.items()}
    totals = [sum(col) for col in zip(*data.values())] if data else []
    if n == 0 or max(totals, default=0.0) <= 0:
        return _no_data(title, "stacked")
    palette = _series_colors(list(data), colors)
    legend, top = _legend(palette, 40)
    ticks = nice_ticks(0, max(totals))
    tick_text = _tick_labels(ticks)
    x0, x1, y0, y1 = _left_margin(tick_text), W - 4, top + 8, top + 8 + 200
    y_of = lambda v: y1 - (v - ticks[0]) / (ticks[-1] - ticks[0]) * (y1 - y0)  # noqa: E731
    band = (x1 - x0) / n
    bar_w = max(band * 0.8, 1.0) if band > 3 else band  # below ~3px gaps would only add noise
    body = legend + _y_axis(ticks, tick_text, x0, x1, y_of) + ['<g class="bars">']
    for i, label in enumerate(x_labels):
        base, x = 0.0, x0 + i * band + (band - bar_w) / 2
        for key, vals in data.items():
            if vals[i] <= 0:
                continue
            ya, yb = y_of(base + vals[i]), y_of(base)
            body.append(
                f'<rect x="{_n(x)}" y="{_n(ya)}" width="{_n(bar_w)}" height="{_n(yb - ya)}" fill="{palette[key]}">'
                f"<title>{_esc(label)} · {_esc(key)}: {_count(vals[i])}</title></rect>"
            )
            base += vals[i]
    body.append("</g>")
    body += _markers([(x0 + at * band, label) for at, label in markers], x0, x1, y0, y1)
    body += _x_labels(list(map(str, x_labels)), [x0 + (i + 0.5) * band for i in range(n)], band, y1 + 16)
    return _svg(y1 + 24, title, body, "stacked")


def line_chart(
    title: str,
    x_labels: list[str],
    series: dict[str, list[float | None]],
    *,
    y_format: str = "{:,.0f}",
    percent: bool = False,
    markers: list[tuple[float, str]] = (),  # type: ignore[assignment]
) -> str:
    """Lines over x (e.g. recovery rate per day); None leaves a gap. Flat zero is data, all-None is not.
    `markers` as for stacked_bars: each point stands for its whole x (a day), so 7.0 falls between points 6
    and 7."""
    n = len(x_labels)
    data = {k: _pad([_num(v) for v in vals], n, None) for k, vals in series.items()}
    seen = [v for vals in data.values() for v in vals if v is not None]
    if n == 0 or not seen:
        return _no_data(title, "line")
    palette = _series_colors(list(data))
    legend, top = _legend(palette, 40)
    ticks = nice_ticks(min(0.0, min(seen)), max(seen))
    tick_text = _tick_labels(ticks, percent=percent, fmt=y_format)
    x0, x1, y0, y1 = _left_margin(tick_text), W - 12, top + 8, top + 8 + 200
    y_of = lambda v: y1 - (v - ticks[0]) / (ticks[-1] - ticks[0]) * (y1 - y0)  # noqa: E731
    step = (x1 - x0) / (n - 1) if n > 1 else 0.0
    xs = [x0 + i * step for i in range(n)] if n > 1 else [(x0 + x1) / 2]
    body = legend + _y_axis(ticks, tick_text, x0, x1, y_of) + ['<g class="lines">']
    for key, vals in data.items():
        color, path, pen_up = palette[key], [], True
        for i, v in enumerate(vals):
            if v is None:
                pen_up = True
                continue
            path.append(f"{'M' if pen_up else 'L'}{_n(xs[i])} {_n(y_of(v))}")
            pen_up = False
            lonely = (i == 0 or vals[i - 1] is None) and (i == n - 1 or vals[i + 1] is None)
            if lonely or n <= 31:  # a point between two gaps has no line, so it needs a dot to exist
                value = f"{v * 100:.1f}%" if percent else y_format.format(v)
                body.append(
                    f'<circle cx="{_n(xs[i])}" cy="{_n(y_of(v))}" r="{3 if lonely else 2}" fill="{color}">'
                    f"<title>{_esc(x_labels[i])} · {_esc(key)}: {_esc(value)}</title></circle>"
                )
        if path:
            d = " ".join(path)
            body.append(f'<path d="{d}" fill="none" stroke="{color}" stroke-width="2" stroke-linejoin="round"/>')
    body.append("</g>")
    body += _markers([(x0 + (at - 0.5) * step if n > 1 else xs[0], label) for at, label in markers], x0, x1, y0, y1)
    body += _x_labels(list(map(str, x_labels)), xs, step or (x1 - x0), y1 + 16)
    return _svg(y1 + 24, title, body, "line")


def _signed(v: float, percent: bool) -> str:
    """A difference: of rates in percentage points ("+3.0 pp"); never "-0.0"."""
    return signed(v * 100, ".1f", "pp") if percent else signed(v, ",.2f")


def _interval_text(e: float | None, a: float | None, b: float | None, percent: bool) -> str:
    """"+3.0 pp [+1.0, +5.0]": the estimate with its unit, then the interval in the same unit."""
    point = "" if e is None else _signed(e, percent)
    scale, spec = (100, ".1f") if percent else (1, ",.2f")
    ci = "" if a is None or b is None else f"[{signed(a * scale, spec)}, {signed(b * scale, spec)}]"
    if point or not ci or not percent:
        return f"{point} {ci}".strip() or "n/a"
    return f"{ci} pp"


def interval_chart(
    title: str, rows: list[tuple[str, float, float, float]], *, percent: bool = True, zero_line: bool = True
) -> str:
    """Forest plot: per row an estimate and its 95% interval; green/red when the interval excludes 0.
    With ``percent`` the values are differences of rates, written in percentage points."""
    clean = []
    for label, est, low, high in rows:
        e, a, b = _num(est), _num(low), _num(high)
        if a is None or b is None:  # half an interval is no interval: show the estimate alone
            a = b = None
        elif a > b:
            a, b = b, a
        clean.append((str(label), e, a, b))
    finite = [v for _, *vals in clean for v in vals if v is not None]
    if not clean or not finite:
        return _no_data(title, "interval")
    ticks = nice_ticks(min(finite + [0.0] * zero_line), max(finite + [0.0] * zero_line))
    tick_text = _tick_labels(ticks, percent=percent, fmt="{:,.2f}", unit=" pp")
    names = [_clip(label, 30) for label, *_ in clean]
    texts = [_interval_text(e, a, b, percent) for _, e, a, b in clean]
    x0 = min(max(_width(s) for s in names) + 14, W * 0.35)
    x1 = max(W - max(_width(t) for t in texts) - 16, x0 + 160)  # long value texts may overhang, the plot may not vanish
    x_of = lambda v: x0 + (v - ticks[0]) / (ticks[-1] - ticks[0]) * (x1 - x0)  # noqa: E731
    row, y0 = 28, 34.0
    y1 = y0 + row * len(clean)
    body = ['<g class="x-axis">']
    for t, text in zip(ticks, tick_text):
        body.append(_line(x_of(t), x_of(t), y0, y1, extra=' stroke-opacity="0.15"'))
        body.append(f'<text x="{_n(x_of(t))}" y="{_n(y1 + 16)}" text-anchor="middle">{_esc(text)}</text>')
    body.append("</g>")
    if zero_line:
        body.append(_line(x_of(0.0), x_of(0.0), y0 - 4, y1, extra=' stroke-opacity="0.7" class="zero"'))
    body.append('<g class="rows">')
    for (label, e, a, b), name, text, i in zip(clean, names, texts, range(len(clean))):
        yc = y0 + row * i + row / 2
        color = NEUTRAL if a is None or (a <= 0 <= b) else (GOOD if a > 0 else BAD)
        body.append(f"<g><title>{_esc(label)}: {_esc(text)}</title>")
        body.append(f'<text x="{_n(x0 - 10)}" y="{_n(yc)}" dy="0.32em" text-anchor="end">{_esc(name)}</text>')
        if a is not None:
            body.append(_line(x_of(a), x_of(b), yc, yc, color, ' stroke-width="2.5"'))
        if e is not None:
            body.append(f'<circle cx="{_n(x_of(e))}" cy="{_n(yc)}" r="4.5" fill="{color}"/>')
        body.append(f'<text x="{_n(x1 + 12)}" y="{_n(yc)}" dy="0.32em">{_esc(text)}</text></g>')
    body.append("</g>")
    return _svg(y1 + 24, title, body, "interval")


def band_chart(
    title: str,
    x_labels: list[str],
    series: dict[str, list[tuple[float, float | None, float | None] | None]],
    *,
    y_format: str = "{:,.2f}",
    percent: bool = False,
) -> str:
    """Lines with their 95% bands (e.g. recovery against reminder delay, a line per coupon value): each point
    is (mean, low, high); the band is shaded between low and high, a point alone gets a whisker, and None
    leaves a gap."""
    n = len(x_labels)
    data = {k: _pad(list(vals), n, None) for k, vals in series.items()}
    seen = [v for vals in data.values() for p in vals if p is not None for v in p if _num(v) is not None]
    if n == 0 or not seen:
        return _no_data(title, "band")
    palette = _series_colors(list(data))
    legend, top = _legend(palette, 40)
    ticks = nice_ticks(min(seen), max(seen))
    tick_text = _tick_labels(ticks, percent=percent, fmt=y_format)
    x0, x1, y0, y1 = _left_margin(tick_text), W - 12, top + 8, top + 8 + 220
    y_of = lambda v: y1 - (v - ticks[0]) / (ticks[-1] - ticks[0]) * (y1 - y0)  # noqa: E731
    pad = (x1 - x0) / (2 * n) if n > 1 else 0.0  # categories sit inside the plot, not on its edges
    step = (x1 - x0 - 2 * pad) / (n - 1) if n > 1 else 0.0
    xs = [x0 + pad + i * step for i in range(n)] if n > 1 else [(x0 + x1) / 2]
    body = legend + _y_axis(ticks, tick_text, x0, x1, y_of) + ['<g class="bands">']
    fmt = (lambda v: f"{v * 100:.1f}%") if percent else (lambda v: y_format.format(v))  # noqa: E731
    for key, vals in data.items():
        color, runs, run = palette[key], [], []
        for i, p in enumerate(vals):
            if p is None or _num(p[0]) is None:
                if run:
                    runs.append(run)
                run = []
                continue
            run.append(i)
        if run:
            runs.append(run)
        for run in runs:
            banded = [i for i in run if vals[i][1] is not None and vals[i][2] is not None]  # type: ignore[index]
            if len(banded) == len(run) and len(run) > 1:
                upper = [f"{_n(xs[i])} {_n(y_of(vals[i][2]))}" for i in run]  # type: ignore[index]
                lower = [f"{_n(xs[i])} {_n(y_of(vals[i][1]))}" for i in reversed(run)]  # type: ignore[index]
                body.append(f'<path d="M{" L".join(upper + lower)} Z" fill="{color}" fill-opacity="0.18" stroke="none"/>')
            else:
                for i in banded:
                    body.append(_line(xs[i], xs[i], y_of(vals[i][1]), y_of(vals[i][2]), color,  # type: ignore[index]
                                      ' stroke-width="2" stroke-opacity="0.6"'))
            if len(run) > 1:
                d = " ".join(f"{'M' if j == 0 else 'L'}{_n(xs[i])} {_n(y_of(vals[i][0]))}"  # type: ignore[index]
                             for j, i in enumerate(run))
                body.append(f'<path d="{d}" fill="none" stroke="{color}" stroke-width="2" stroke-linejoin="round"/>')
            for i in run:
                m, lo, hi = vals[i]  # type: ignore[misc]
                band = "" if lo is None or hi is None else f" (95%: {fmt(lo)} to {fmt(hi)})"
                body.append(f'<circle cx="{_n(xs[i])}" cy="{_n(y_of(m))}" r="3" fill="{color}">'
                            f"<title>{_esc(x_labels[i])} · {_esc(key)}: {_esc(fmt(m) + band)}</title></circle>")
    body.append("</g>")
    body += _x_labels(list(map(str, x_labels)), xs, step or (x1 - x0), y1 + 16)
    return _svg(y1 + 24, title, body, "band")
