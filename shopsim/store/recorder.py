"""The observer a replay subscribes: serialise each event once, append it to the log and the store."""

from __future__ import annotations

from typing import IO

from shopsim.sim.events import Event
from shopsim.store.jsonl import event_line
from shopsim.store.writer import StoreWriter


class Recorder:
    def __init__(self, start_epoch: int, log: IO[bytes] | None = None, store: StoreWriter | None = None):
        self.start = start_epoch
        self.log = log
        self.store = store
        self.events = 0

    def __call__(self, batch: list[Event]) -> None:
        start = self.start
        lines = [event_line(ev, start) for ev in batch]
        self.events += len(lines)
        if self.log is not None:
            self.log.write(b"".join(lines))
        if self.store is not None:
            self.store.add(batch, lines)
