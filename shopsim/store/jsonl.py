"""The event log: JSON Lines, sorted keys, compact, UTF-8 (docs/event-log.md is the contract)."""

from __future__ import annotations

import orjson

from shopsim.contract.clock import iso
from shopsim.contract.events import Event

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
