"""Local-time windows (quiet hours, send windows) across midnight and DST, in epoch milliseconds.

A window is [start, end) in local minutes after midnight; end before start means it crosses midnight;
start == end means it never applies. `next_outside` answers the pipeline's question "when may this push go
out?": the earliest instant, at or after t, whose local wall-clock time is outside the window. On the day
clocks spring forward a window may end at a local time that does not exist (02:30 in New York on
8 March 2026); the answer is then the instant the clocks jump past it (03:00 local).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
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


def _window_end(zone: ZoneInfo, t: int, start: int, end: int) -> int:
    """When the window that local time t is in ends, reading the local end time as the zone does."""
    local = (_EPOCH + t * _MS).astimezone(zone)
    day = local.date()
    if start > end and local.hour * 60 + local.minute >= start:
        day += timedelta(days=1)  # the window crossed midnight: it ends tomorrow
    naive = datetime(day.year, day.month, day.day, end // 60, end % 60)
    # Both readings of the local end time (they differ only in a DST gap or fold).
    readings = {_epoch(naive.replace(tzinfo=zone, fold=f)) for f in (0, 1)}
    ends = [c for c in readings if c > t and not inside(local_minute(zone, c), start, end)]
    return min(ends) if ends else max(max(readings), t + 1)


def next_outside(zone: ZoneInfo, epoch: int, start: int, end: int) -> int:
    """The earliest instant >= epoch whose local time is outside [start, end)."""
    t = epoch
    # Each round either finds the answer or moves to an instant that is still inside the window: a clock
    # change (springing over the end, falling back before the start) or an end that did not exist today.
    for _ in range(6):
        if not inside(local_minute(zone, t), start, end):
            return t
        until = _window_end(zone, t, start, end)
        change = _clock_change(zone, t, until)
        t = change if change is not None and change < until else until
    return t


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def next_local_time(zone: ZoneInfo, epoch: int, minute: int, weekday: str | None = None) -> int:
    """The first instant after `epoch` at which local time reaches `minute` (HH:MM as minutes), on
    `weekday` if given: when daily and weekly digests go out. A local time that does not exist that day
    (a DST gap) is reached when the clocks jump past it; in a fold, the first occurrence counts."""
    local = (_EPOCH + epoch * _MS).astimezone(zone)
    day = local.date()
    for _ in range(9):
        if weekday is None or WEEKDAYS[day.weekday()] == weekday:
            naive = datetime(day.year, day.month, day.day, minute // 60, minute % 60)
            first = _epoch(naive.replace(tzinfo=zone, fold=0))
            other = _epoch(naive.replace(tzinfo=zone, fold=1))
            if other < first:  # a gap: fold=1 reads it before the jump; the clocks reach it at the jump
                first = _clock_change(zone, other, first) or first
            if first > epoch:
                return first
        day += timedelta(days=1)
    raise ValueError(f"no {weekday} within a week")  # unreachable with a valid weekday
