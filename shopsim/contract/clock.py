"""Virtual time: integer milliseconds since the scenario's start (UTC).

Time zones matter only for local-time rules (session hours, quiet hours, digests) and for display.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

SECOND = 1000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def epoch_ms(dt: datetime) -> int:
    return (dt - _EPOCH) // timedelta(milliseconds=1)


@lru_cache(maxsize=8192)
def _minute_prefix(minute: int) -> str:
    return (_EPOCH + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:")


# 'SS.' and 'mmmZ' made once: lookups are several times cheaper than formatting, and every logged event
# needs one (a table of all 60,000 'SS.mmmZ' would cost every command that imports this a few milliseconds).
_SS = [f"{s:02d}." for s in range(60)]
_MMMZ = [f"{ms:03d}Z" for ms in range(1000)]


def iso(epoch: int) -> str:
    """Epoch milliseconds -> '2026-03-02T08:00:00.000Z' (fixed width, sorts as it reads)."""
    minute, rest = divmod(epoch, MINUTE)
    s, ms = divmod(rest, 1000)
    return _minute_prefix(minute) + _SS[s] + _MMMZ[ms]


class LocalClock:
    """Local wall-clock arithmetic for one time zone, fast over the run's window.

    UTC offsets are tabulated per UTC hour of the run, so a local hour costs two integer operations
    instead of a zoneinfo lookup; outside the window it falls back to zoneinfo.
    """

    __slots__ = ("tz", "zone", "start", "_offsets")

    def __init__(self, tz: str, start_epoch_ms: int, hours: int):
        self.tz = tz
        self.zone = ZoneInfo(tz)
        self.start = start_epoch_ms
        base = _EPOCH + timedelta(milliseconds=start_epoch_ms)
        self._offsets = [
            int((base + timedelta(hours=h)).astimezone(self.zone).utcoffset() // timedelta(milliseconds=1))
            for h in range(hours + 1)
        ]

    def offset(self, t: int) -> int:
        """UTC offset in ms at virtual time t."""
        h = t // HOUR
        if 0 <= h < len(self._offsets):
            return self._offsets[h]
        dt = _EPOCH + timedelta(milliseconds=self.start + t)
        return int(dt.astimezone(self.zone).utcoffset() // timedelta(milliseconds=1))

    def local_ms(self, t: int) -> int:
        """Milliseconds since the local epoch: local wall time as if it were UTC."""
        return self.start + t + self.offset(t)

    def hour(self, t: int) -> int:
        # local_ms(t) inlined for the run's window: visit arrivals and engagement ask this on every draw.
        h = t // HOUR
        offsets = self._offsets
        if 0 <= h < len(offsets):
            return ((self.start + t + offsets[h]) // HOUR) % 24
        return (self.local_ms(t) // HOUR) % 24


def local_label(epoch: int, tz: str) -> str:
    """An instant as a shopper reads it in a message: "Tue 3 Mar, 14:00" in her own time zone."""
    from zoneinfo import ZoneInfo

    local = (_EPOCH + timedelta(milliseconds=epoch)).astimezone(ZoneInfo(tz))
    # %a and %b of the C locale (shopsim never sets another), without strftime's three passes.
    return f"{_WEEKDAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]}, {local.hour:02d}:{local.minute:02d}"


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
