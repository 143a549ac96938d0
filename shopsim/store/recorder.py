"""The observer a replay subscribes: serialise each event once, append it to the log and the store."""

from __future__ import annotations

from typing import IO, Protocol

import orjson

from shopsim.contract.clock import iso
from shopsim.contract.events import Event
from shopsim.store.jsonl import LINE_OPTIONS


class LineSink(Protocol):
    def write(self, chunk: bytes) -> object: ...


class Recorder:
    def __init__(self, start_epoch: int, log: IO[bytes] | None = None, store: LineSink | None = None):
        self.start = start_epoch
        self.log = log
        self.store = store
        self.events = 0

    def __call__(self, batch: list[Event]) -> None:
        # event_line() inlined: this runs once per logged event.
        start, dumps, opts, to_iso = self.start, orjson.dumps, LINE_OPTIONS, iso
        out = []
        for ev in batch:
            rec = dict(ev.data)
            rec["seq"], rec["t"], rec["type"], rec["shopper"] = ev.seq, to_iso(start + ev.t), ev.type, ev.shopper
            out.append(dumps(rec, option=opts))
        chunk = b"".join(out)
        self.events += len(batch)
        if self.log is not None:
            self.log.write(chunk)
        if self.store is not None:
            self.store.write(chunk)
