"""The rows of a run database's `events` table as the exact lines of its log.

An events row keeps seq, t_ms, type and shopper as columns and the line's other fields as `data`, except those
that a row of another table written in the same transaction keeps in a column of its own (`tables.MOVED`: a
delivered message's title, body and link are in `inbox`, settings in `settings_history`, an outcome's trace is
the last pass of `notifications.trace`). Those are put back here. The rows of each such table were written in
the order of their events, so each is read alongside `events` in one pass (one lookup by key only where the
next row is not the one wanted, as in a database someone edited). A database of an earlier shopsim, whose
`data` kept every field, is read as it is: a field is put back only where `data` lacks it.
"""

from __future__ import annotations

import sqlite3
from typing import Iterator

import orjson

from shopsim.contract.clock import iso
from shopsim.store.tables import DATABASE, J, MOVED, OUTCOME_TRACE

__all__ = ["EVENT_COLUMNS", "MissingRow", "db_line", "DbLines"]

EVENT_COLUMNS = "seq, t_ms, type, shopper, data"
_JSON = {(table, c.name) for table, cols in DATABASE.items() for c in cols if c.kind == J}


class MissingRow(LookupError):
    """An events row whose moved fields no row of their table holds (the database was edited or damaged)."""


def db_line(row: tuple, start_epoch: int) -> bytes:
    """An events row whose `data` holds every field (no moved one) as its exact log line, no newline."""
    seq, t_ms, typ, shopper, data = row
    rec = orjson.loads(data)
    rec["seq"], rec["t"], rec["type"], rec["shopper"] = seq, iso(start_epoch + t_ms), typ, shopper
    return orjson.dumps(rec, option=orjson.OPT_SORT_KEYS)


class _Follower:
    """The rows of one table in the order they were written, each found by the key of the event it belongs
    to: the next row, or (after an edit) a lookup."""

    def __init__(self, con: sqlite3.Connection, table: str, key: str, fields: tuple[str, ...],
                 only: str = "1 = 1"):
        self.con, self.fields = con, fields
        self.json = tuple((table, f) in _JSON for f in fields)
        cols = ", ".join(f'"{c}"' for c in (key, *fields))
        self._select = f'SELECT {cols} FROM "{table}" WHERE {only} AND "{key}" = ?'
        self._rows = self._walk(f'SELECT {cols} FROM "{table}" WHERE {only} ORDER BY rowid')
        self._next: tuple | None = None

    def _walk(self, sql: str) -> Iterator[tuple]:
        cur = self.con.execute(sql)
        while rows := cur.fetchmany(4096):
            yield from rows

    def row(self, key) -> tuple:
        got = self._next if self._next is not None else next(self._rows, None)
        self._next = None
        if got is None or got[0] != key:
            self._next = got  # not this event's: keep it for the next one
            got = self.con.execute(self._select, (key,)).fetchone()
            if got is None:
                raise MissingRow(key)
        return got

    def put_back(self, rec: dict, key) -> None:
        row = self.row(key)
        for name, value, is_json in zip(self.fields, row[1:], self.json):
            rec[name] = orjson.loads(value) if is_json and value is not None else value


class DbLines:
    """Turns events rows, taken in seq order, into log lines."""

    def __init__(self, con: sqlite3.Connection, start_epoch: int):
        self.con, self.start = con, start_epoch
        self._followers: dict[str, _Follower] = {}
        self._trace: _Follower | None = None

    def _follower(self, typ: str) -> _Follower:
        f = self._followers.get(typ)
        if f is None:
            table, fields = MOVED[typ]
            same = [other for t, other in self._followers.items() if MOVED[t][0] == table]
            f = self._followers[typ] = same[0] if same else _Follower(self.con, table, "seq", fields)
        return f

    def line(self, row: tuple) -> bytes:
        seq, t_ms, typ, shopper, data = row
        rec = orjson.loads(data)
        if typ in MOVED and MOVED[typ][1][0] not in rec:
            self._follower(typ).put_back(rec, seq)
        if typ in OUTCOME_TRACE and "trace" not in rec:
            if self._trace is None:
                # The run's own rows (the key is run_id and notification): one run per database.
                self._trace = _Follower(self.con, "notifications", "notification", ("trace",),
                                        "run_id = (SELECT max(id) FROM runs) AND decided_ms IS NOT NULL")
            rec["trace"] = orjson.loads(self._trace.row(rec["id"])[1])[-1]["steps"]
        rec["seq"], rec["t"], rec["type"], rec["shopper"] = seq, iso(self.start + t_ms), typ, shopper
        return orjson.dumps(rec, option=orjson.OPT_SORT_KEYS)
