"""Rows kept by id while a finished run is read, in bounded memory: past a limit, the rows that came first go
to a temporary SQLite file, and a later event that changes one brings it back. `shopsim export` keeps its
tables so (store.export_rows): memory stays flat however long the run, and the rows still come out in the
order each id first came.

A row is a dict (of JSON values) changed in place by whoever holds it; it is written out as JSON when it leaves
memory, so a caller must not keep a row across the adding of another (adding is what sends rows away)."""

from __future__ import annotations

import heapq
import sqlite3
from collections.abc import Iterator
from typing import Any

import orjson

__all__ = ["SpillFile", "SpillStore", "SpillList"]


class SpillFile:
    """The temporary SQLite file the stores of one export share (removed when closed)."""

    def __init__(self) -> None:
        # "" opens a private temporary database on disk, which SQLite deletes when it is closed
        self.db = sqlite3.connect("", isolation_level=None)
        self.db.execute("PRAGMA journal_mode = OFF")
        self.db.execute("PRAGMA synchronous = OFF")
        self.db.execute("PRAGMA cache_size = -16384")  # 16 MiB
        self.tables = 0

    def table(self) -> str:
        self.tables += 1
        name = f"spill{self.tables}"
        # ord is the rowid, so the rows read back in order without sorting them; ids are found by their index
        self.db.execute(f"CREATE TABLE {name} (ord INTEGER PRIMARY KEY, id UNIQUE NOT NULL, row BLOB NOT NULL)")
        return name

    def close(self) -> None:
        self.db.close()


class SpillStore:
    """A dict of rows (id -> dict) that keeps at most `limit` rows in memory."""

    def __init__(self, spill: SpillFile, limit: int) -> None:
        self.db, self.name, self.limit = spill.db, spill.table(), limit
        self.mem: dict[Any, list] = {}  # id -> [ord, row]; oldest first (a row brought back goes last)
        self.made = 0                   # ids ever added: the next one's ord
        self.away = 0                   # rows in the file
        # Two bits per id sent away (a Bloom filter): an id with either bit clear was never sent, so adding a
        # new id or asking for an unknown one needs no query. 512 KiB, whatever the run.
        self.sent = bytearray(_FILTER_BITS // 8)

    def __len__(self) -> int:
        return len(self.mem) + self.away

    def get(self, key: Any, default: Any = None) -> Any:
        hit = self.mem.get(key)
        if hit is not None:
            return hit[1]
        if not self.away or not self._maybe_away(key):
            return default
        found = self._take(key)
        return default if found is None else found[1]

    def __getitem__(self, key: Any) -> Any:
        row = self.get(key, _MISSING)
        if row is _MISSING:
            raise KeyError(key)
        return row

    def __setitem__(self, key: Any, row: Any) -> None:
        hit = self.mem.get(key)
        if hit is None and self.away and self._maybe_away(key):
            hit = self._take(key)
        if hit is not None:  # as a dict: the id keeps its place
            hit[1] = row
            return
        self.add(key, row)

    def add(self, key: Any, row: Any) -> None:
        """A row under an id known to be new."""
        self.mem[key] = [self.made, row]
        self.made += 1
        if len(self.mem) > self.limit:
            self._send_away()

    def values(self) -> Iterator[Any]:
        """Every row, in the order its id was first added."""
        held = sorted(self.mem.values(), key=lambda e: e[0])
        if not self.away:
            return (row for _, row in held)
        cur = self.db.execute(f"SELECT ord, row FROM {self.name} ORDER BY ord")
        stored = ((o, orjson.loads(blob)) for o, blob in cur)
        return (row for _, row in heapq.merge(stored, ((o, r) for o, r in held), key=lambda e: e[0]))

    def _maybe_away(self, key: Any) -> bool:
        h = hash(key)
        a, b = h & _FILTER_MASK, (h >> 32) & _FILTER_MASK
        sent = self.sent
        return bool(sent[a >> 3] & (1 << (a & 7))) and bool(sent[b >> 3] & (1 << (b & 7)))

    def _take(self, key: Any) -> list | None:
        """Bring a row back from the file (it keeps its ord)."""
        got = self.db.execute(f"SELECT ord, row FROM {self.name} WHERE id = ?", (key,)).fetchone()
        if got is None:
            return None
        self.db.execute(f"DELETE FROM {self.name} WHERE id = ?", (key,))
        self.away -= 1
        entry = self.mem[key] = [got[0], orjson.loads(got[1])]
        return entry

    def _send_away(self) -> None:
        """The older half of the rows in memory go to the file: those least likely to change again."""
        keys = list(self.mem)[: len(self.mem) // 2]
        sent = self.sent
        for k in keys:
            h = hash(k)
            for bit in (h & _FILTER_MASK, (h >> 32) & _FILTER_MASK):
                sent[bit >> 3] |= 1 << (bit & 7)
        dump = orjson.dumps
        self.db.executemany(f"INSERT INTO {self.name} (ord, id, row) VALUES (?, ?, ?)",
                            [(e[0], k, dump(e[1])) for k in keys for e in (self.mem.pop(k),)])
        self.away += len(keys)


class SpillList:
    """A list of rows that is only appended to and read once, in order, at the end: at most `limit` in memory."""

    def __init__(self, spill: SpillFile, limit: int) -> None:
        self.store = SpillStore(spill, limit)

    def append(self, row: Any) -> None:
        self.store.add(self.store.made, row)

    def __len__(self) -> int:
        return len(self.store)

    def __iter__(self) -> Iterator[Any]:
        return self.store.values()


_MISSING = object()
_FILTER_BITS = 1 << 22
_FILTER_MASK = _FILTER_BITS - 1
