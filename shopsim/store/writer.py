"""Write a run to a SQL database (SQLite by default) in large batched transactions.

The writer takes the event log's lines and parses each once: its `events` row (seq, t_ms, type, shopper and
`data`, the rest of the line but the fields a derived row written with it keeps, `tables.MOVED`;
`store.dblines` gives the exact line back) and every derived row are built from that one parse. Carts and
orders go out with each batch as far as they changed in it, merged into the rows already written
(`store.statements`), so the writer's memory does not grow with the run. A notification
is held in memory from its request to its final outcome (usually the next line; hours for a deferred one),
then written with its inbox row if it was delivered; one still waiting at the end is written as `deferred`.

SQLite is loaded as a bulk load: WAL, `synchronous=OFF` and a larger page cache while the rows go in, every
secondary index built once at the end, then `synchronous=FULL`, the last commit and a checkpoint, so the
finished database is as durable as any. A crash of this process during the load leaves a readable database
(WAL); a power cut may not. The `runs` row says `running` until `close()` marks it `finished` (or
`interrupted`, or `failed`), so a killed run never looks complete. A write that fails (a full disk) raises
StoreError once the writer has tried to mark the run `failed`; whether it could is `StoreError.marked`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import create_engine, event, func, select, update
from sqlalchemy.engine import Engine

from shopsim import __version__
from shopsim.scenario.compiled import CompiledScenario
from shopsim.contract import events as E
from shopsim.contract.clock import epoch_ms, iso
from shopsim.store.errors import StoreError
from shopsim.store.models import LATE_INDEXES, TABLES as _T, metadata
from shopsim.store.commerce_batch import CommerceBatch
from shopsim.store.statements import Statement, inserts, merges
from shopsim.store.tables import ORDER_STEPS, shopper_row

BATCH_ROWS = 20_000
RUN_ID = 1  # one run per database (a replay to the same place replaces it)
# Rows are plain tuples (or lists) in their tables' column order (tests/store/test_tables.py holds each column
# to the export's): sqlite3 binds them item by item, and named tuples or dicts cost the writer a tenth of its
# speed.
_SORTED = orjson.OPT_SORT_KEYS
_TABLES = tuple(_T)
# A batch's statements in the order they run: each table's new rows (carts and cart items are upserts, see
# store.statements), then the changes to rows of earlier batches. A message's first read comes after its
# inbox row, which the same batch may hold.
_ORDER = (*_TABLES, "carts_update", "orders_update", "inbox_read")
_OUTCOME = {t: t[13:] for t in E.NOTIFICATION_OUTCOMES}  # "notification.delivered" -> "delivered"


class Waiting:
    """A deferred notification's state until its final outcome."""
    __slots__ = ("deferrals", "until_ms", "reason", "rule", "channel", "passes")

    def __init__(self) -> None:
        self.deferrals = 0
        self.until_ms: int | None = None
        self.reason = self.rule = self.channel = None
        self.passes: list[dict] = []


def reason(e: BaseException) -> str:
    """One line for a database error: the driver's own message, without SQLAlchemy's wrapping."""
    orig = getattr(e, "orig", None) or e
    lines = str(orig).splitlines()
    return lines[0] if lines and lines[0] else orig.__class__.__name__


# What to install when a URL's driver is missing: module -> pip requirement (with a word on the choice).
DRIVERS = {"psycopg": "'psycopg[binary]'", "psycopg2": "psycopg2-binary",
           "MySQLdb": "mysqlclient (or write mysql+pymysql:// and install pymysql)", "pymysql": "pymysql",
           "mysql": "mysql-connector-python", "cx_Oracle": "cx_Oracle", "oracledb": "oracledb",
           "pyodbc": "pyodbc", "pymssql": "pymssql", "asyncpg": "asyncpg", "pg8000": "pg8000"}


def open_engine(url: str) -> Engine:
    try:
        engine = create_engine(url)
    except ModuleNotFoundError as e:  # the URL is fine; its driver is not installed where shopsim runs
        need = DRIVERS.get((e.name or "").split(".")[0], e.name or "the database's driver")
        raise StoreError(f"{reason(e)}; install its driver into shopsim's environment: pip install {need}") from e
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _bulk_load(dbapi_conn, _record):  # close() turns synchronous back on before the last commit
            cur = dbapi_conn.cursor()
            for pragma in _BULK_LOAD:
                cur.execute(f"PRAGMA {pragma}")
            cur.close()
    return engine


# A crash of this process is safe with these (WAL); a power cut during the load is not. The cache (64 MiB)
# keeps the B-trees the rows go into in memory; temporary files stay on disk, so sorting the indexes at
# the end does not take memory in proportion to the run. 16 KiB pages (set before WAL, so they take on a new
# file) hold the events' rows of a few hundred bytes with less slack and fewer pages to write: 6% fewer
# bytes than 4 KiB pages on benchmarks/store.py's database.
_BULK_LOAD = ("page_size=16384", "journal_mode=WAL", "synchronous=OFF", "cache_size=-65536")


class StoreWriter:
    def __init__(self, url: str, cs: CompiledScenario):
        self.cs = cs
        self.engine = open_engine(url)
        # One database per run: a replay to the same place replaces the previous run.
        metadata.drop_all(self.engine)
        metadata.create_all(self.engine)  # tables and primary keys; the other indexes come at close
        dialect = self.engine.dialect
        try:
            self._sql: dict[str, Statement] = {**inserts(dialect), **merges(dialect)}
        except NotImplementedError as e:
            raise StoreError(str(e)) from None
        self.rows_written = 0
        self._commerce = CommerceBatch()
        self._new_batch()
        # requested: what its notifications row takes from the request, (shopper, category, channel, kind,
        # source, ref, t_ms)
        self._notes: dict[str, tuple] = {}
        self._waiting: dict[str, Waiting] = {}  # the deferred ones among them
        self._events = 0
        self._derive = self._derivers()
        # The last line's t and its virtual ms, its minute (from 2026-03-02T08:00 to 2026-03-02T08:00;, the
        # strings around every t of that minute) and the minute's virtual ms.
        self._clock: tuple[str, int, str, str, int] = ("", 0, "", "", 0)
        self._day = ("", 0)  # the last line's day, 2026-03-02, and the virtual ms of its midnight
        self.failed: StoreError | None = None  # set once a write has failed; nothing more is written
        self._add("runs", {"id": RUN_ID, "scenario": cs.name, "seed": cs.seed, "version": __version__,
                           "start": iso(cs.start_epoch), "duration_ms": cs.duration, "status": "running",
                           "events": 0})
        for p in cs.products:
            self._add("products", {"product": p.id, "name": p.name, "category": p.category, "price": p.price,
                                   "store": p.store})
        self.flush()

    def _new_batch(self) -> None:
        self._rows: dict[str, list] = {name: [] for name in _TABLES}
        self._note_rows, self._inbox_rows = self._rows["notifications"], self._rows["inbox"]
        self._inbox_at: dict[str, int] = {}  # inbox id -> where its row is in this batch's inbox rows
        self._opened: dict[str, int] = {}  # inbox id of an earlier batch -> first open in this one

    def _pending(self) -> int:
        return sum(map(len, self._rows.values()))

    def _add(self, name: str, row: dict) -> None:
        self._rows[name].append(tuple(row.get(c.name) for c in _T[name].columns))

    def write(self, chunk: bytes) -> None:
        """Take a chunk of event-log lines, each parsed once here."""
        if self.failed is not None:
            raise self.failed
        append = self._rows["events"].append
        derive, dumps = self._derive.get, orjson.dumps
        last, ms, lo, hi, base = self._clock
        events = 0
        for records in _parsed(chunk):
            events += len(records)
            for d in records:
                t = d.pop("t")
                # A third of the lines have the instant of the line before. t never decreases, so one minute
                # is remembered (lo <= t < hi: ';' follows ':'); ss and mmm read as one number are
                # ss * 1000 + mmm.
                if t != last:
                    last = t
                    if not lo <= t < hi:
                        lo = t[:16]
                        hi, base = lo + ";", self._minute_ms(t)
                    ms = base + int(t[17:19] + t[20:23])
                seq, typ, shopper = d.pop("seq"), d.pop("type"), d.pop("shopper")
                handler = derive(typ)
                if handler is not None:  # first: it pops the fields its rows keep (tables.MOVED)
                    handler(seq, ms, typ, shopper, d)
                # The line's keys are sorted and loads keeps their order (store.dblines sorts them anyway).
                append((seq, ms, typ, shopper, dumps(d).decode()))
        self._clock = (last, ms, lo, hi, base)
        self._events += events
        if self._pending() >= BATCH_ROWS:
            self.flush()

    def _minute_ms(self, t: str) -> int:
        """'2026-03-02T08:00:01.250Z' -> virtual ms of 08:00 that day (a new minute comes every few lines: a
        day's midnight is worked out once, the hours and minutes added)."""
        day, midnight = self._day
        if t[:10] != day:
            day, midnight = self._day = t[:10], self._t_ms(t[:10] + "T00:00:00.000Z")
        return midnight + int(t[11:13]) * 3_600_000 + int(t[14:16]) * 60_000

    def _t_ms(self, t: str) -> int:
        """'2026-03-02T08:00:01.250Z' -> virtual ms."""
        return epoch_ms(datetime.fromisoformat(t[:16] + "+00:00")) - self.cs.start_epoch + int(t[17:19] + t[20:23])

    # --- derived tables: one small handler per event type that changes them --------------------------

    def _shopper_created(self, seq: int, t: int, typ: str, shopper: str, d: dict) -> None:
        self._add("shoppers", shopper_row(shopper, d))
        self._add("settings_history", {"seq": seq, "shopper": shopper, "t_ms": t, "source": "created",
                                       "settings": _json(d.pop("settings"))})

    def _settings_changed(self, seq: int, t: int, typ: str, shopper: str, d: dict) -> None:
        self._add("settings_history", {"seq": seq, "shopper": shopper, "t_ms": t, "source": d["source"],
                                       "settings": _json(d.pop("settings"))})

    # Notifications: held from request to outcome, then written (with an inbox row when delivered).

    def _note_requested(self, seq: int, t: int, typ: str, shopper: str, d: dict) -> None:
        self._notes[d["id"]] = (shopper, d["category"], d["channel"], d["kind"], d["source"], d["ref"], t)

    def _note_deferred(self, seq: int, t: int, typ: str, shopper: str, d: dict) -> None:
        nid = d["id"]
        w = self._waiting.get(nid)
        if w is None:
            w = self._waiting[nid] = Waiting()
        w.deferrals += 1
        w.until_ms, w.reason, w.rule, w.channel = self._t_ms(d["until"]), d["reason"], d["rule"], d["channel"]
        w.passes.append({"steps": d["trace"], "t_ms": t})

    def _note_decided(self, seq: int, t: int, typ: str, shopper: str, d: dict) -> None:
        nid = d["id"]
        _, category, requested, kind, source, ref, t0 = self._notes.pop(nid)
        w = self._waiting.pop(nid, None) if self._waiting else None
        # The events row keeps neither the trace nor, when delivered, what the inbox row holds (tables.MOVED).
        steps = d.pop("trace")
        if w is None:
            deferrals, until, passes = 0, None, [{"steps": steps, "t_ms": t}]
        else:
            deferrals, until, passes = w.deferrals, w.until_ms, w.passes
            passes.append({"steps": steps, "t_ms": t})
        delivered = typ == E.NOTIFICATION_DELIVERED
        channel = d.pop("channel") if delivered else d["channel"]
        get = d.get
        self._note_rows.append((
            RUN_ID, nid, shopper, category, channel, requested, kind, source, ref, t0, _OUTCOME[typ], get("reason"),
            get("rule"), deferrals, until, get("digest"), t, orjson.dumps(passes).decode()))
        if delivered:
            pop = d.pop
            digest_of = pop("digest_of")
            self._inbox_at[nid] = len(self._inbox_rows)
            self._inbox_rows.append((
                RUN_ID, nid, shopper, t, seq, channel, category, kind, pop("title"), pop("body"), pop("link"),
                None if digest_of is None else orjson.dumps(digest_of).decode(), None))

    def _note_opened(self, seq: int, t: int, typ: str, shopper: str, d: dict) -> None:
        # A privacy proxy's fetch is not her reading it. Delivery comes first: a row of this batch takes its
        # first open as it is written, one of an earlier batch gets it from statements' inbox_read (which
        # keeps the first).
        if d.get("source") == "proxy":
            return
        nid = d["id"]
        if nid in self._opened:
            return
        at = self._inbox_at.get(nid)
        if at is None:
            self._opened[nid] = t
        else:
            row = self._inbox_rows[at]
            if row[-1] is None:  # read_ms, the last column
                self._inbox_rows[at] = (*row[:-1], t)

    def _undecided_notes(self) -> None:
        """Rows for the notifications the log leaves without an outcome: deferred ones still waiting."""
        for nid, (shopper, category, requested, kind, source, ref, t0) in self._notes.items():
            w = self._waiting.get(nid) or Waiting()
            self._note_rows.append((
                RUN_ID, nid, shopper, category, w.channel or requested, requested, kind, source, ref, t0,
                "deferred" if w.deferrals else None, w.reason, w.rule, w.deferrals, w.until_ms, None, None,
                _json(w.passes)))
        self._notes.clear()
        self._waiting.clear()

    def _derivers(self) -> dict:
        c = self._commerce
        out = {t: c.order_step for t in ORDER_STEPS}
        out.update({
            E.SHOPPER_CREATED: self._shopper_created, E.SETTINGS_CHANGED: self._settings_changed,
            E.CART_ITEM_ADDED: c.item_added, E.CHECKOUT_STARTED: c.checkout, E.CART_ABANDONED: c.abandoned,
            E.CART_EMPTIED: c.emptied, E.ORDER_PLACED: c.order_placed,
            E.NOTIFICATION_REQUESTED: self._note_requested, E.NOTIFICATION_DEFERRED: self._note_deferred,
            E.NOTIFICATION_OPENED: self._note_opened,
        })
        out.update({t: self._note_decided for t in E.NOTIFICATION_OUTCOMES})
        return out

    def flush(self) -> None:
        """Commit the buffered rows in one transaction."""
        if self.failed is not None:
            raise self.failed
        if not (self._pending() or self._commerce or self._opened):
            return
        batch = self._batch()
        self._new_batch()
        try:
            self._write(batch)
        except Exception as e:
            self._give_up(e)

    def _batch(self) -> list[tuple[Statement, list]]:
        """This batch's statements in the order they must run: new rows, then what changed in earlier ones."""
        rows = {**self._rows, **self._commerce.take(),
                "inbox_read": [(RUN_ID, nid, t) for nid, t in self._opened.items()]}
        sql = self._sql
        return [(sql[name], rows[name]) for name in _ORDER if rows.get(name)]

    def _give_up(self, e: BaseException) -> None:
        raise self.give_up(e) from e

    def give_up(self, e: BaseException) -> StoreError:
        """After a failed write (or any error while writing): write nothing more, try to mark the run
        `failed`, and return the StoreError saying why and whether it could be marked."""
        if self.failed is None:
            self.failed = e if isinstance(e, StoreError) else StoreError(reason(e), self._mark_failed())
        return self.failed

    def _mark_failed(self) -> bool:
        """Best effort, once a write has failed: mark the run `failed`, with the virtual time and the number
        of the events actually stored. The failed transaction was rolled back, so a full disk usually still
        takes this one small update. False when even that fails."""
        self._new_batch()
        events, runs = _T["events"], _T["runs"]
        try:
            with self.engine.begin() as conn:
                conn.execute(update(runs).where(runs.c.id == RUN_ID).values(
                    status="failed", end_ms=select(func.max(events.c.t_ms)).scalar_subquery(),
                    events=select(func.count()).select_from(events).scalar_subquery()))
            return True
        except Exception:
            return False
        finally:
            self.engine.dispose()

    def _write(self, batch: list[tuple[Statement, list]]) -> None:
        with self.engine.begin() as conn:
            for statement, rows in batch:
                statement.run(conn, rows)
        self.rows_written += sum(len(rows) for _, rows in batch)

    def close(self, status: str, until_ms: int) -> int:
        """Write undecided notifications as they stand, build the indexes, then mark the run `status`
        (finished, interrupted or failed) durably. Raises StoreError when that cannot be written; after an
        earlier StoreError it does nothing."""
        if self.failed is not None:
            return self.rows_written
        try:
            return self._close(status, until_ms)
        except StoreError:
            raise
        except Exception as e:
            self._give_up(e)

    def _close(self, status: str, until_ms: int) -> int:
        self._undecided_notes()
        self.flush()
        sqlite = self.engine.dialect.name == "sqlite"
        with self.engine.begin() as conn:
            for index in LATE_INDEXES:
                index.create(conn, checkfirst=True)
            if sqlite:  # durable from here: this last commit waits for the disk, as the checkpoint does
                conn.exec_driver_sql("PRAGMA synchronous=FULL")
            conn.execute(update(_T["runs"]).where(_T["runs"].c.id == RUN_ID)
                         .values(status=status, end_ms=until_ms, events=self._events))
        if sqlite:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        self.engine.dispose()
        return self.rows_written


def _parsed(chunk: bytes):
    """The lines of a chunk as lists of dicts, parsed a few dozen lines at a time as one JSON array: a line
    is one JSON object and never holds a raw newline (JSON escapes it), so its newlines become commas. One
    bytes object and one parse per line cost a fifth more than the parse itself; a whole chunk at once keeps
    thousands of dicts alive, which costs more in cache misses than it saves. (A damaged line holding two
    objects, `{...},{...}`, which the recorder never writes, would pass for two lines; counting the newlines
    to refuse it would cost 5% of the writer.)"""
    end = len(chunk)
    if chunk.endswith(b"\n"):
        end -= 1
    at = 0
    while at < end:
        cut = chunk.find(b"\n", at + _RECORDS_BYTES, end)
        if cut < 0:
            cut = end
        yield orjson.loads(b"[" + chunk[at:cut].replace(b"\n", b",") + b"]")
        at = cut + 1


_RECORDS_BYTES = 16_384


def _json(obj: Any) -> str:
    return orjson.dumps(obj, option=_SORTED).decode()
