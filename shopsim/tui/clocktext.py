"""How the terminal app speaks of the run's time: "day 3/7", the clock line of the top bar and how it
shortens to fit. The top bar and the KPI screen both use it, so they say the same thing the same way.

Pure text, no Textual: the clock line is a list of (text, kind) pieces that a widget styles."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

DAY_MS = 86_400_000
STATES = ("playing", "paused", "working", "finished", "loading")
MIN_NAME = 6  # a scenario name cut shorter than this ("night…") says nothing: leave it out instead


def day_text(now_ms: int, end_ms: int) -> str:
    """Which day of the run it is, counting from 1, and how many there are: "day 3/7"."""
    days = max(1, -(-end_ms // DAY_MS))
    return f"day {min(now_ms // DAY_MS + 1, days)}/{days}"


def utc_text(start_epoch_ms: int, t_ms: int) -> str:
    """A virtual time as the top bar writes it in full: "Mon 02 Mar 00:09 UTC"."""
    return datetime.fromtimestamp((start_epoch_ms + t_ms) / 1000, timezone.utc).strftime(DATES["date"])


@dataclass(frozen=True)
class ClockFace:
    """Everything the clock line can say; `line()` decides how much of it fits."""

    name: str
    day: str             # day_text()
    utc: datetime
    tz: str | None       # the selected shopper's zone
    local: str | None    # her local time, "09:30"
    state: str           # one of STATES
    speed: str           # a speed label, e.g. "1 h/s"
    widest_speed: int = 8  # the longest speed label: the line is fitted for it, so it never jumps as the speed changes

    @classmethod
    def at(cls, name: str, start_epoch_ms: int, now_ms: int, end_ms: int, tz: str | None, state: str,
           speed: str, widest_speed: int = 8) -> ClockFace:
        # To the minute, as shown: faces of the same minute are equal, and the clock skips redrawing them.
        utc = datetime.fromtimestamp((start_epoch_ms + now_ms) // 60_000 * 60, timezone.utc)
        local = f"{utc.astimezone(ZoneInfo(tz)):%H:%M}" if tz else None
        return cls(name, day_text(now_ms, end_ms), utc, tz, local, state, speed, widest_speed)

    def full(self) -> str:
        """The whole line, nothing left out."""
        return "".join(text for text, _ in self.line(None))

    def line(self, width: int | None) -> list[tuple[str, str]]:
        """The fullest line that fits `width` cells (None: no limit) as (text, kind) pieces, kind one of name,
        sep, day, time, local, state, speed. The day, the state and the speed are always there; then, as the
        width shrinks: narrower separators, the zone's city instead of its full name, the scenario name cut
        with …, "Mon 00:00 UTC" instead of "Mon 02 Mar 00:00 UTC", the speed without "speed", no local time,
        no "UTC", no scenario name. Fitted for the widest state and speed, so that playing or pausing never
        changes what else is shown."""
        # Which level fits depends on the lengths alone, and those change with the width, the day or the
        # shopper's zone, not with the minute: remembered, so a clock redrawn every frame builds one line.
        key = (width, self.name, self.day, self.tz, self.widest_speed)
        start = _FITTED.get(key, 0)
        for level in LEVELS[start:]:
            pieces = self._pieces(level, width)
            if pieces is not None:
                if len(_FITTED) > 256:
                    _FITTED.clear()
                _FITTED[key] = LEVELS.index(level)
                return pieces
        return self._pieces(LEVELS[-1], None)  # narrower than anything: the shortest line, for the widget to crop

    def fits(self, level: int, width: int) -> bool:
        """Whether the line at LEVELS[level] (or a fuller one) fits `width` cells."""
        return any(self._pieces(lv, width) is not None for lv in LEVELS[:level + 1])

    @cached_property
    def _dates(self) -> dict[str, str]:
        return {key: self.utc.strftime(fmt) for key, fmt in DATES.items()}

    def _pieces(self, level: tuple, width: int | None) -> list[tuple[str, str]] | None:
        sep, zone, date, speed_word, name_mode = level
        body: list[tuple[str, str]] = [(self.day, "day"), (self._dates[date], "time")]
        if zone and self.tz:
            place = self.tz if zone == "zone" else self.tz.rsplit("/", 1)[-1].replace("_", " ")
            body.append((f"{self.local} {place}", "local"))
        body += [(self.state, "state"), (f"speed {self.speed}" if speed_word else self.speed, "speed")]
        pieces: list[tuple[str, str]] = []
        for piece in body:
            pieces += [(sep, "sep"), piece] if pieces else [piece]
        if width is None:
            return pieces if name_mode is None else [(self.name, "name"), (sep, "sep"), *pieces]
        # the widest state and speed, not the current ones
        worst = sum(len(t) for t, kind in pieces if kind not in ("state", "speed"))
        worst += max(map(len, STATES)) + self.widest_speed + (len("speed ") if speed_word else 0)
        if name_mode is None:
            return pieces if worst <= width else None
        room = width - worst - len(sep)
        if room >= len(self.name):
            name = self.name
        elif name_mode == "cut" and room >= MIN_NAME:
            name = self.name[:room - 1] + "…"
        else:
            return None
        return [(name, "name"), (sep, "sep"), *pieces]


_FITTED: dict[tuple, int] = {}  # (width, name, day, zone, widest speed) -> the index in LEVELS that fits
DATES = {"date": "%a %d %b %H:%M UTC", "day": "%a %H:%M UTC", "time": "%a %H:%M"}
# From the fullest line to the shortest: (separator, local zone, date, "speed" word, scenario name).
# ROOMY is the shortest line that still has it all in some form: the full name, the date, the shopper's city.
LEVELS: tuple[tuple, ...] = (
    ("  ·  ", "zone", "date", True, "full"),
    (" · ", "zone", "date", True, "full"),
    (" · ", "city", "date", True, "full"),
    (" · ", "city", "date", True, "cut"),
    (" · ", "city", "day", True, "cut"),
    (" · ", "city", "day", False, "cut"),
    (" · ", None, "day", False, "cut"),
    (" · ", None, "time", False, "cut"),
    (" · ", None, "time", False, None),
)
ROOMY = 2
