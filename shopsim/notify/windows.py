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


def next_outside(zone: ZoneInfo, epoch: int, start: int, end: int) -> int:
    """The earliest instant >= epoch whose local time is outside [start, end)."""
    if not inside(local_minute(zone, epoch), start, end):
        return epoch
    local = (_EPOCH + epoch * _MS).astimezone(zone)
    day = local.date()
    if start > end and local.hour * 60 + local.minute >= start:
        day += timedelta(days=1)  # the window crossed midnight: it ends tomorrow
    naive = datetime(day.year, day.month, day.day, end // 60, end % 60)
    # Two readings of the local end time; they differ only when it falls in a DST gap or fold.
    a = _epoch(naive.replace(tzinfo=zone, fold=0))
    b = _epoch(naive.replace(tzinfo=zone, fold=1))
    lo, hi = sorted((a, b))
    candidates = [c for c in (lo, hi) if c >= epoch and not inside(local_minute(zone, c), start, end)]
    if lo != hi and lo >= epoch and inside(local_minute(zone, lo), start, end):
        # A gap: local time jumps over `end` somewhere in (lo, hi]. Find the jump to the millisecond.
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if inside(local_minute(zone, mid), start, end):
                lo = mid
            else:
                hi = mid
        candidates.append(hi)
    if not candidates:  # not reachable for real zones; stay safe rather than loop
        return max(a, b, epoch)
    return min(candidates)
