"""Durations, instants and clock times as scenario files write them."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from fractions import Fraction
from functools import lru_cache

MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_PART = re.compile(r"(\d+)(?:\.(\d+))?(ms|s|m|h|d|w)")
_WHOLE = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")

# The longest duration any field takes (and the longest run): three years. Every time a run computes is then
# an instant within a few years of the run (starts end in 2200), far from the limits of dates and integers.
MAX_DURATION = "1096d"
MAX_DURATION_MS = 1096 * MS["d"]
# Digits past these change nothing: anything up to MAX_DURATION_MS has at most 11 digits before the point, and
# 15 after it resolve even a week to under a microsecond of a millisecond.
_WHOLE_DIGITS = 15
_FRACTION_DIGITS = 15


def shown(value: object, limit: int = 40) -> str:
    """`value` as an error message quotes it: its repr, cut to about `limit` characters (a file may hold a
    megabyte-long value; and Python refuses to write out an int of more than 4300 digits)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"a {len(format(value, 'x')) * 4 * 30103 // 100000}-digit number"
    r = repr(value)
    return r if len(r) <= limit else r[:limit - 3] + "..."


def parse_duration(text: str) -> int:
    """'90m', '4h', '1h30m', '7d' -> milliseconds, at most MAX_DURATION. Raises ValueError with a hint."""
    s = str(text).strip().replace(" ", "")
    if not _WHOLE.match(s):
        raise ValueError(f"{shown(text)} is not a duration; write a number with a unit, e.g. 90s, 45m, 4h, 7d, 1h30m")
    return _duration_ms(s)


@lru_cache(maxsize=4096)  # coupons and flows read the same few durations at every use
def _duration_ms(s: str) -> int:
    total = Fraction(0)
    for whole, frac, unit in _PART.findall(s):
        whole = whole.lstrip("0")
        if len(whole) > _WHOLE_DIGITS:
            total = Fraction(MAX_DURATION_MS + 1)
            break
        total += int(whole or "0") * MS[unit]
        if frac:
            frac = frac[:_FRACTION_DIGITS]
            total += Fraction(int(frac) * MS[unit], 10 ** len(frac))
    if total > MAX_DURATION_MS:
        raise ValueError(f"{shown(s)} is longer than {MAX_DURATION} (three years), the longest duration shopsim "
                         "accepts")
    return round(total)


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
        dt = datetime.fromisoformat(s)
    except ValueError:
        raise ValueError(f"{shown(text)} is not an ISO 8601 instant, e.g. 2026-03-02T00:00:00Z") from None
    if dt.tzinfo is None:
        raise ValueError(f"{shown(text)} has no time zone; end it with Z for UTC")
    try:
        return dt.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError(f"{shown(text)} is outside the range of dates") from None


def parse_clock(text: str) -> int:
    """'22:00' -> minutes after local midnight."""
    m = _CLOCK.match(str(text).strip())
    if not m:
        raise ValueError(f"{shown(text)} is not a clock time; write HH:MM, e.g. 08:00 or 22:30")
    return int(m.group(1)) * 60 + int(m.group(2))
