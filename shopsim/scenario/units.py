"""Durations, instants and clock times as scenario files write them."""

from __future__ import annotations

import re
from datetime import datetime, timezone

MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_WHOLE = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_duration(text: str) -> int:
    """'90m', '4h', '1h30m', '7d' -> milliseconds. Raises ValueError with a hint."""
    s = str(text).strip().replace(" ", "")
    if not _WHOLE.match(s):
        raise ValueError(f"{text!r} is not a duration; write a number with a unit, e.g. 90s, 45m, 4h, 7d, 1h30m")
    return round(sum(float(n) * MS[u] for n, u in _PART.findall(s)))


def format_duration(ms: int) -> str:
    """Milliseconds -> the shortest exact duration text ('1h30m')."""
    if ms == 0:
        return "0s"
    out = []
    for unit in ("d", "h", "m", "s", "ms"):
        n, ms = divmod(ms, MS[unit])
        if n:
            out.append(f"{n}{unit}")
    return "".join(out)


def parse_instant(text: str) -> datetime:
    """ISO 8601 with an explicit offset (or Z) -> aware UTC datetime."""
    s = str(text).strip()
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 instant, e.g. 2026-03-02T00:00:00Z") from None
    if dt.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone; end it with Z for UTC")
    try:
        return dt.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError(f"{text!r} is outside the range of dates") from None


def parse_clock(text: str) -> int:
    """'22:00' -> minutes after local midnight."""
    m = _CLOCK.match(str(text).strip())
    if not m:
        raise ValueError(f"{text!r} is not a clock time; write HH:MM, e.g. 08:00 or 22:30")
    return int(m.group(1)) * 60 + int(m.group(2))
