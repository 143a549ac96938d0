"""A calibration as text: table cells, Markdown, the JSON document; and the anchors' own table for the docs.

Rates print as percentages and their spread in percentage points ("70.3% ± 1.1 pp"); differences of
rates in percentage points ("12.6 pp ± 1.1 pp"); ratios with a × and their spread as a factor
("3.8× ×/÷ 1.40", a geometric mean). Nothing prints as -0.0."""

from __future__ import annotations

from typing import Any

from shopsim.calibrate.anchors import ANCHORS, Anchor
from shopsim.calibrate.runner import Calibration, Row

INSIDE, OUTSIDE = "✓", "✗"
COLUMNS = ("", "anchor", "measured (mean ± sd)", "95% CI of the mean", "published", "band", "source")
ALIGN = "llrrrrl"


# --- numbers -----------------------------------------------------------------------------------------------

def fixed(x: float, digits: int) -> str:
    """x with `digits` decimals, never "-0.0"."""
    s = f"{x:.{digits}f}"
    return s[1:] if s.startswith("-") and not s.strip("-0.") else s


def trimmed(x: float, most: int = 2, least: int = 0) -> str:
    """x with at most `most` decimals, trailing zeros dropped down to `least` decimals: 70.19, 50.5, 81."""
    s = fixed(x, most)
    if "." in s:
        whole, frac = s.split(".")
        frac = frac.rstrip("0").ljust(least, "0")
        s = f"{whole}.{frac}" if frac else whole
    return s


def _scaled(unit: str, x: float) -> float:
    return x * 100 if unit in ("rate", "pp") else x


def value(unit: str, x: float, digits: int = 1) -> str:
    """70.3%, 12.6 pp, 3.8×"""
    v = fixed(_scaled(unit, x), digits)
    return {"rate": f"{v}%", "pp": f"{v} pp"}.get(unit, f"{v}×")


def spread_of(unit: str, sd: float) -> str:
    """A spread: percentage points for rates and pp; for a ratio, the factor it is multiplied or divided by."""
    v = fixed(_scaled(unit, sd), 1 if unit != "ratio" else 2)
    return v if unit == "ratio" else f"{v} pp"


def interval(unit: str, low: float, high: float, digits: int = 1, trim: bool = False) -> str:
    """69.8%–70.8%, 11.5–13.7 pp, 3.4×–4.2× (with " to " when the low end is negative)."""
    def num(x: float) -> str:
        return trimmed(_scaled(unit, x), 2, 1 if unit == "ratio" else 0) if trim else fixed(_scaled(unit, x), digits)
    lo, hi = num(low), num(high)
    dash = " to " if lo.startswith("-") else "–"
    if unit == "rate":
        return f"{lo}%{dash}{hi}%"
    if unit == "pp":
        return f"{lo}{dash}{hi} pp"
    return f"{lo}×{dash}{hi}×"


def published(anchor: Anchor) -> str:
    """The published figure as published: 70.19%, 12.58 pp, 3%–15%, 3.6×–4.0×."""
    if anchor.is_range:
        low, high = anchor.published  # type: ignore[misc]
        return interval(anchor.unit, low, high, trim=True)
    x = _scaled(anchor.unit, anchor.published)  # type: ignore[arg-type]
    v = trimmed(x, 2, 1 if anchor.unit == "ratio" else 0)
    return {"rate": f"{v}%", "pp": f"{v} pp"}.get(anchor.unit, f"{v}×")


def band(anchor: Anchor) -> str:
    return interval(anchor.unit, *anchor.band, trim=True)


def tolerance(anchor: Anchor) -> str:
    """± 3 pp, or "the published range" / "2.5×–5.5×" for range anchors."""
    if anchor.tolerance is not None:
        return f"± {spread_of(anchor.unit, anchor.tolerance).replace('.0 ', ' ')}"
    return "the published range" if anchor.band == anchor.published else band(anchor)


# --- a calibration ----------------------------------------------------------------------------------------

def measured(row: Row, seeds: int) -> str:
    s, unit = row.spread, row.anchor.unit
    text = value(unit, s.mean)
    if s.sd is not None:  # a ratio's spread is a factor: 3.6× ×/÷ 1.45 spans 2.5× to 5.2×
        text += (" ×/÷ " if unit == "ratio" else " ± ") + spread_of(unit, s.sd)
    if s.n < seeds:
        text += f" ({s.n} of {seeds} seeds)"
    return text


def ci(row: Row) -> str:
    s = row.spread
    if s.ci_low is None or s.ci_high is None:
        return "n/a (one seed)"
    return interval(row.anchor.unit, s.ci_low, s.ci_high)


def cells(cal: Calibration) -> list[list[str]]:
    """One row of COLUMNS per applicable anchor."""
    n = len(cal.seeds)
    return [[INSIDE if r.inside else OUTSIDE, r.anchor.label, measured(r, n), ci(r), published(r.anchor),
             band(r.anchor), r.anchor.source.short] for r in cal.rows]


def heading(cal: Calibration) -> str:
    seeds = cal.seeds
    which = f"1 seed ({seeds[0]})" if len(seeds) == 1 else f"{len(seeds)} seeds ({seeds[0]}–{seeds[-1]})"
    return f"calibration of {cal.scenario} ({cal.path}) over {which}"


def verdict_line(cal: Calibration) -> str:
    outside = [r.anchor.id for r in cal.rows if not r.inside]
    n = len(cal.rows)
    if not n:
        return "no anchor applies to this scenario"
    if not outside:
        return "the anchor is inside its band" if n == 1 else f"all {n} anchors inside their bands"
    return f"{n - len(outside)} of {n} anchors inside their bands; outside: {', '.join(outside)}"


def not_applicable_line(cal: Calibration) -> str | None:
    if not cal.not_applicable:
        return None
    return "not applicable (nothing to measure on the first seed): " + "; ".join(
        f"{a.id} (needs {a.needs})" for a in cal.not_applicable)


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ") or " "


def md_table(columns: tuple[str, ...] | list[str], rows: list[list[str]], align: str) -> str:
    out = ["| " + " | ".join(_md_cell(c) for c in columns) + " |",
           "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def _sentence(text: str) -> str:
    return _md_cell(text[:1].upper() + text[1:]) + "."


def markdown(cal: Calibration) -> str:
    columns = ("in band", *COLUMNS[1:])
    out = [_sentence(heading(cal)), "", md_table(columns, cells(cal), ALIGN), "", _sentence(verdict_line(cal))]
    na = not_applicable_line(cal)
    if na:
        out += ["", _sentence(na)]
    return "\n".join(out) + "\n"


def document(cal: Calibration) -> dict[str, Any]:
    """The JSON document of `--format json`: rates and pp as fractions, ratios as numbers."""
    return {
        "scenario": cal.scenario,
        "file": cal.path,
        "seeds": list(cal.seeds),
        "inside": cal.inside,
        "anchors": [{
            "id": r.anchor.id, "label": r.anchor.label, "unit": r.anchor.unit,
            "values": list(r.values), "n": r.spread.n, "mean": r.spread.mean, "sd": r.spread.sd,
            "ci_low": r.spread.ci_low, "ci_high": r.spread.ci_high,
            "anchor": list(r.anchor.published) if r.anchor.is_range else r.anchor.published,
            "tolerance": r.anchor.tolerance, "band_low": r.anchor.band[0], "band_high": r.anchor.band[1],
            "inside": r.inside,
            "source": {"publisher": r.anchor.source.publisher, "title": r.anchor.source.title,
                       "year": r.anchor.source.year},
            "definition": r.anchor.definition,
        } for r in cal.rows],
        "not_applicable": [{"id": a.id, "label": a.label, "needs": a.needs} for a in cal.not_applicable],
    }


# --- the anchors themselves (docs/calibration.md) ---------------------------------------------------------

ANCHOR_COLUMNS = ("id", "anchor", "published", "band (✓ when the mean is inside)", "source")


def anchor_cells(anchors: tuple[Anchor, ...] = ANCHORS) -> list[list[str]]:
    return [[f"`{a.id}`", a.label, published(a),
             band(a) + (f" (± {tolerance(a)[2:]})" if a.tolerance is not None else ""), a.source.full]
            for a in anchors]


def anchors_markdown(anchors: tuple[Anchor, ...] = ANCHORS) -> str:
    """The anchors' table and definitions in docs/calibration.md: `python -m shopsim.calibrate.table`
    prints them, and a test checks that the docs hold exactly this text."""
    definitions = [f"- `{a.id}`: {_md_cell(a.definition)}" for a in anchors]
    return md_table(ANCHOR_COLUMNS, anchor_cells(anchors), "lllll") + "\n\n" + "\n".join(definitions) + "\n"


if __name__ == "__main__":
    print(anchors_markdown(), end="")
