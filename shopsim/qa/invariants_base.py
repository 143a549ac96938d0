"""What every invariant check shares: the Violation record, the Check base class, and the run's state that
several checks read as the log goes (each shopper's settings, reach, time zone and segment).

Checks read the event stream only, never the engine's internals: they judge the run as a QA engineer
reading its log would, so a bug in the engine cannot hide behind the same bug in its checker.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable, NamedTuple
from zoneinfo import ZoneInfo

from shopsim.contract.taxonomy import CATEGORY_CLASS, DIGEST, MARKETING
from shopsim.contract import events as E
from shopsim.contract.clock import iso

if TYPE_CHECKING:
    from shopsim.simulation import Simulation
    from shopsim.contract.events import Event

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class Violation(NamedTuple):
    invariant: str
    seq: int | None      # the log line (seq) where it shows, when there is one
    message: str         # one line, plain words, naming the ids involved


Report = Callable[[str, "int | None", str], None]


class IdSet:
    """Ids shaped like `s000001-n7` (shopper, letter, number) kept as one bit per id in an integer per
    shopper and letter: remembering every finished notification of a long run costs bytes, not a set entry
    each. Other ids fall back to a plain set."""

    _SHAPE = re.compile(r"(.*\D)(\d+)$")

    def __init__(self) -> None:
        self._bits: dict[str, int] = {}
        self._other: set[str] = set()

    def add(self, id_: str) -> None:
        m = self._SHAPE.match(id_)
        if m is None or len(m.group(2)) > 7:  # a bit per id only for the numbers a run really counts to
            self._other.add(id_)
        else:
            head = m.group(1)
            self._bits[head] = self._bits.get(head, 0) | (1 << int(m.group(2)))

    def __contains__(self, id_: str) -> bool:
        m = self._SHAPE.match(id_)
        if m is None or len(m.group(2)) > 7:
            return id_ in self._other
        return bool(self._bits.get(m.group(1), 0) >> int(m.group(2)) & 1)


class RunState:
    """The shoppers as the log describes them so far: settings change from the line that changes them on."""

    def __init__(self, sim: Simulation):
        self.sim = sim
        self.cs = sim.scenario
        self.start = sim.scenario.start_epoch
        self.settings: dict[str, dict[str, Any]] = {}
        self.reach: dict[str, dict[str, bool]] = {}
        self.zone: dict[str, ZoneInfo] = {}
        self.segment: dict[str, str] = {}
        self.finished_at: int | None = None   # run.finished's t, once seen
        self.last_t = 0

    def observe(self, ev: Event) -> None:
        if ev.type == E.SETTINGS_CHANGED:
            if ev.shopper in self.settings:
                self.settings[ev.shopper] = ev.data["settings"]
        elif ev.type == E.SHOPPER_CREATED:
            d, sid = ev.data, ev.shopper
            known = d["settings"], d["reach"], ZoneInfo(d["tz"]), d["segment"]  # all of her, or none
            self.settings[sid], self.reach[sid], self.zone[sid], self.segment[sid] = known
        elif ev.type == E.RUN_FINISHED:
            self.finished_at = ev.t

    @property
    def end(self) -> int:
        """Where the run ended: its run.finished, or (an interrupted log) its last line."""
        return self.finished_at if self.finished_at is not None else self.last_t

    # --- reading times --------------------------------------------------------------------------------

    def iso(self, t: int) -> str:
        return iso(self.start + t)

    def instant(self, text: str) -> int:
        """An ISO instant of the log as virtual ms."""
        dt = datetime.fromisoformat(text)
        return (dt - _EPOCH) // timedelta(milliseconds=1) - self.start

    def local(self, t: int, shopper: str) -> datetime:
        return (_EPOCH + timedelta(milliseconds=self.start + t)).astimezone(self.zone[shopper])


def clock(text: str) -> int:
    """'HH:MM' -> minutes after midnight."""
    h, m = text.split(":")
    return int(h) * 60 + int(m)


def hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def inside(minute: int, start: int, end: int) -> bool:
    """[start, end) in local minutes; crossing midnight when end < start; never when they are equal."""
    if start == end:
        return False
    return start <= minute < end if start < end else (minute >= start or minute < end)


def is_marketing(category: str) -> bool:
    return category == DIGEST or CATEGORY_CLASS[category] == MARKETING


def cents(x: float) -> int:
    return round(x * 100)


def whole_cents(x: float) -> bool:
    return abs(x * 100 - round(x * 100)) < 1e-6




class Check:
    """One family of rules over the stream. `INVARIANTS` names the rules it reports (name -> description);
    `routes()` says which event types it reads; `tick(t)` runs when the clock moves on to t (what was due
    at an earlier instant is complete by then); `finish()` judges what is left at the end."""

    INVARIANTS: dict[str, str] = {}

    def __init__(self, state: RunState, report: Report):
        self.state = state
        self._report = report

    def report(self, name: str, seq: int | None, message: str) -> None:
        self._report(name, seq, message)

    def routes(self) -> dict[str, Callable[[Event], None]]:
        return {}

    tick: Callable[[int], None] | None = None

    def finish(self) -> None:
        pass
