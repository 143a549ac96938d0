"""The event log: JSON Lines, sorted keys, compact, UTF-8 (docs/event-log.md is the contract)."""

from __future__ import annotations

from typing import IO, Iterable

import orjson

from shopsim.sim.clock import iso
from shopsim.sim.events import Event

LINE_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE


def event_record(ev: Event, start_epoch: int) -> dict:
    rec = dict(ev.data)
    rec["seq"] = ev.seq
    rec["t"] = iso(start_epoch + ev.t)
    rec["type"] = ev.type
    rec["shopper"] = ev.shopper
    return rec


def event_line(ev: Event, start_epoch: int) -> bytes:
    """One log line, newline included."""
    return orjson.dumps(event_record(ev, start_epoch), option=LINE_OPTIONS)


class JsonlWriter:
    """A simulation observer that appends every event to a binary stream."""

    def __init__(self, out: IO[bytes], start_epoch: int):
        self.out = out
        self.start = start_epoch
        self.lines = 0

    def __call__(self, batch: Iterable[Event]) -> None:
        start = self.start
        chunk = [event_line(ev, start) for ev in batch]
        self.lines += len(chunk)
        self.out.write(b"".join(chunk))


def read_log(path) -> Iterable[dict]:
    with open(path, "rb") as f:
        for line in f:
            yield orjson.loads(line)
