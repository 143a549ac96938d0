"""The pieces of a report, independent of its format: tables, sentences, charts, sections; and the
formatting of every figure (counts, rates, money, durations, instants), done once so that text, Markdown and
HTML say the same thing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from shopsim.metrics.catalog import format_value

__all__ = ["Table", "Lines", "Chart", "Block", "Section", "Report", "count", "rate", "money", "number",
           "human_duration", "signed_duration", "instant", "run_period", "day_labels", "share"]


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]]
    align: str = ""            # one letter per column, "l" or "r"; missing letters: "l" for the first, else "r"
    note: str = ""             # a line under the table
    total_last: bool = False   # the last row is a total (drawn apart in text)
    wrap: tuple[int, ...] = ()  # columns whose text may wrap in a terminal (the others never do)

    def alignment(self, i: int) -> str:
        return self.align[i] if i < len(self.align) else ("l" if i == 0 else "r")


@dataclass
class Lines:
    """Sentences: plain (`bullets` False) or a bulleted list; `style` "warn" for warnings."""
    items: list[str]
    bullets: bool = False
    style: str = ""


@dataclass
class Chart:
    svg: str


Block = Table | Lines | Chart


@dataclass
class Section:
    heading: str
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Report:
    title: str
    subtitle: str
    warnings: list[str]
    sections: list[Section]


# --- formatting ------------------------------------------------------------------------------------------

def count(v: Any) -> str:
    return format_value(v, "count")


def rate(v: Any) -> str:
    return format_value(v, "rate")


def money(v: Any, currency: str | None = None) -> str:
    return format_value(v, "money", currency or "")


def number(v: Any, digits: int = 2) -> str:
    return "—" if v is None else f"{v:,.{digits}f}"


def human_duration(ms: float | None) -> str:
    """A duration in its two largest units, rounded down: '2d 19h', '5h 12m', '12m 30s', '40s'."""
    if ms is None:
        return "—"
    whole = int(ms) % 1000 == 0
    s = int(ms) // 1000
    if s < 60:
        return f"{s}s" if s or not ms else f"{int(ms)}ms"
    d, rem = divmod(s, 86400)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    if d:  # "2d" is exactly two days; 2d 0h 23m is "2d 0h"
        return f"{d}d" if whole and not (h or m or s) else f"{d}d {h}h"
    if h:
        return f"{h}h" if whole and not (m or s) else f"{h}h {m}m"
    return f"{m}m" if whole and not s else f"{m}m {s}s"


def signed_duration(ms: float | None) -> str:
    if ms is None:
        return "—"
    return ("+" if ms >= 0 else "-") + human_duration(abs(ms))


def _start(run: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(run.get("start"))).astimezone(timezone.utc)
    except ValueError:
        return None


def instant(run: dict[str, Any], ms: int) -> str:
    """A virtual time of the run as the log writes it: 2026-03-02T08:00:00.000Z."""
    start = _start(run)
    if start is None:
        return f"{ms} ms after the start"
    t = start + timedelta(milliseconds=ms)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def run_period(run: dict[str, Any]) -> str:
    start = _start(run)
    if start is None:
        return "—"
    end = start + timedelta(milliseconds=run.get("elapsed_ms") or 0)
    span = human_duration(run.get("elapsed_ms") or 0)
    return f"{start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M} UTC ({span})"


def day_labels(run: dict[str, Any], n: int) -> list[str]:
    start = _start(run)
    if start is None:
        return [f"day {i + 1}" for i in range(n)]
    return [f"{(start + timedelta(days=i)):%b} {(start + timedelta(days=i)).day}" for i in range(n)]


def share(part: float | None, whole: float | None) -> str:
    """part / whole as a rate, "—" when either is missing or the whole is 0."""
    return rate(part / whole) if part is not None and whole else "—"
