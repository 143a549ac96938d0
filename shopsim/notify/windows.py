"""Local-time windows (quiet hours, send windows) across midnight and DST, in epoch milliseconds.

A window is [start, end) in local minutes after midnight; end before start means it crosses midnight;
start == end means it never applies. Each day the window comes once, and it is read on instants, not on
wall clocks: it begins the first time the local clock reaches `start` that day and ends the first time it
then reaches `end` (the same day, or the next when it crosses midnight). So on the day clocks fall back, a
window ending at 01:30 ends at the first 01:30 and the repeated hour after it is outside (the wall clock
reads 01:10 again, but the window has ended); on the day they spring forward, a start or end time that does
not exist (02:30 in New York on 8 March 2026) is reached when the clocks jump past it (03:00 local).
`next_outside` answers the pipeline's question "when may this push go out?": the earliest instant, at or
after t, outside the window.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MS = timedelta(milliseconds=1)


def local_minute(zone: ZoneInfo, epoch: int) -> int:
    dt = (_EPOCH + epoch * _MS).astimezone(zone)
    return dt.hour * 60 + dt.minute


def inside(minute: int, start: int, end: int) -> bool:
    if start == end:
        return False
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end


def _epoch(dt: datetime) -> int:
    return (dt - _EPOCH) // _MS


def _offset(zone: ZoneInfo, epoch: int) -> timedelta:
    return (_EPOCH + epoch * _MS).astimezone(zone).utcoffset()


def _clock_change(zone: ZoneInfo, a: int, b: int) -> int | None:
    """The first instant in (a, b] at which the UTC offset differs from a's, if there is one."""
    before = _offset(zone, a)
    if _offset(zone, b) == before:
        return None  # zones change at most once in the day or so this spans
    while b - a > 1:
        mid = (a + b) // 2
        if _offset(zone, mid) == before:
            a = mid
        else:
            b = mid
    return b


def reach(zone: ZoneInfo, day: date, minute: int) -> int:
    """The instant at which the local clock first reaches `minute` (after midnight) on local date `day`:
    in a DST gap the time does not exist and is reached at the jump; in a fold the first occurrence counts."""
    naive = datetime(day.year, day.month, day.day, minute // 60, minute % 60)
    first = _epoch(naive.replace(tzinfo=zone, fold=0))
    other = _epoch(naive.replace(tzinfo=zone, fold=1))
    if other < first:  # a gap: fold=1 reads it before the jump; the clocks reach it at the jump
        first = _clock_change(zone, other, first) or first
    return first


_DAY = 86_400_000
_STEADY = 26 * 3_600_000  # a window lasts at most a day, plus the hour a fall-back day adds


@lru_cache(maxsize=65536)
def _steady_day(zone: ZoneInfo, day: int) -> bool:
    """No clock change from 26 h before UTC day `day` (epoch // one day) to 26 h after it. Zones change their
    offset at most once in such a span, so comparing three offsets across it is enough."""
    lo, hi = day * _DAY - _STEADY, (day + 1) * _DAY + _STEADY
    here = _offset(zone, lo)
    return _offset(zone, (lo + hi) // 2) == here == _offset(zone, hi)


def _steady(zone: ZoneInfo, epoch: int) -> bool:
    """No clock change within 26 h either side of `epoch`: then wall-clock minutes and instants tell the same
    story, and the cheap wall-clock reading is exact."""
    return _steady_day(zone, epoch // _DAY)


def window_end(zone: ZoneInfo, epoch: int, start: int, end: int) -> int | None:
    """When the window that instant `epoch` is in ends, or None when `epoch` is outside the window."""
    if start == end:
        return None
    day = (_EPOCH + epoch * _MS).astimezone(zone).date()
    # A window crossing midnight may have begun yesterday; tomorrow's only matters where clocks fall back
    # across midnight and the date reads yesterday's again.
    for begun in (day - timedelta(days=1), day, day + timedelta(days=1)):
        if reach(zone, begun, start) > epoch:
            break  # and the next day's begins later still
        ends = reach(zone, begun + timedelta(days=1) if end < start else begun, end)
        if epoch < ends:
            return ends
    return None


def next_outside(zone: ZoneInfo, epoch: int, start: int, end: int) -> int:
    """The earliest instant >= epoch outside the window [start, end)."""
    if _steady(zone, epoch):  # the wall clock alone answers: the next end time is the end
        local = (_EPOCH + epoch * _MS).astimezone(zone)
        minute = local.hour * 60 + local.minute
        if not inside(minute, start, end):
            return epoch
        into = local.second * 1000 + local.microsecond // 1000
        return epoch - into + ((end - minute) % 1440) * 60_000
    t = epoch
    # A window can end at the very instant the next one begins (02:45-02:30 on a spring-forward day, where
    # both times are reached at the jump): then look again from there.
    for _ in range(4):
        ends = window_end(zone, t, start, end)
        if ends is None:
            return t
        t = ends
    return t


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def next_local_time(zone: ZoneInfo, epoch: int, minute: int, weekday: str | None = None) -> int:
    """The first instant after `epoch` at which local time reaches `minute` (HH:MM as minutes), on
    `weekday` if given: when daily and weekly digests go out. A local time that does not exist that day
    (a DST gap) is reached when the clocks jump past it; in a fold, the first occurrence counts."""
    day = (_EPOCH + epoch * _MS).astimezone(zone).date()
    for _ in range(9):
        if weekday is None or WEEKDAYS[day.weekday()] == weekday:
            first = reach(zone, day, minute)
            if first > epoch:
                return first
        day += timedelta(days=1)
    raise ValueError(f"no {weekday} within a week")  # unreachable with a valid weekday
