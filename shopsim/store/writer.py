"""Write a run to a SQL database (SQLite by default) in large batched transactions.

The writer observes events: it appends events, order events and settings history as they come, keeps
carts and orders in memory as they change (projected by `store.tables.Commerce`, as the export's are), and
writes those at the end. A notification is held in memory
from its request to its final outcome (usually the next line; hours for a deferred one), then written with
its inbox row if it was delivered; one still waiting at the end is written as `deferred`. The `runs` row says
`running` until `close()` marks it `finished` (or `interrupted`, or `failed`), so a killed run never looks
complete. A write that fails (a full disk) raises StoreError once the writer has tried to mark the run
`failed`; whether it could is `StoreError.marked`.
"""

from __future__ import annotations

import queue
import threading
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Index, and_, bindparam, create_engine, event, func, insert, select, update
from sqlalchemy.engine import Engine

from shopsim import __version__
from shopsim.scenario.compiled import CompiledScenario
from shopsim.contract import events as E
from shopsim.contract.clock import epoch_ms, iso
from shopsim.contract.events import Event
from shopsim.store.models import TABLES as _T, metadata
from shopsim.store.tables import ORDER_STEPS, Commerce, shopper_row

BATCH_ROWS = 50_000
RUN_ID = 1  # one run per database (a replay to the same place replaces it)
# Notification and inbox rows are built on the hot path as plain tuples in their tables' column order
# (tests/store/test_tables.py holds each column to the export's): sqlite3 binds a tuple subclass item by item, and
# named tuples cost the writer a tenth of its speed.
_NOTIFICATIONS, _INBOX = _T["notifications"], _T["inbox"]


class Requested(NamedTuple):
    """A notification between its request and its final outcome."""
    data: dict
    t_ms: int


class Waiting:
    """A deferred notification's state until its final outcome."""
    __slots__ = ("deferrals", "until_ms", "reason", "rule", "channel", "passes")

    def __init__(self) -> None:
        self.deferrals = 0
        self.until_ms: int | None = None
        self.reason = self.rule = self.channel = None
        self.passes: list[dict] = []


class StoreError(Exception):
    """Writing the database failed (a full disk, a lost server). `str(e)` is one line: the reason. `marked`
    says whether the run could still be marked `failed` (False: the database still says `running`)."""

    def __init__(self, reason: str, marked: bool = False):
        super().__init__(reason)
        self.marked = marked


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
        def _pragmas(dbapi_conn, _record):  # a crash of this process is safe with these; a power cut is not
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA synchronous=OFF")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()
    return engine


# Built after the load: one sort per index instead of a B-tree update per row.
_new_event = tuple.__new__
_LATE_INDEXES = (Index("ix_events_type", _T["events"].c.type), Index("ix_events_shopper", _T["events"].c.shopper),
                 Index("ix_inbox_shopper", *(_INBOX.c[n] for n in ("run_id", "shopper", "channel", "t_ms"))))
for _index in _LATE_INDEXES:
    # An Index over a table's columns joins that table's indexes, and create_all() would build it up front.
    _index.table.indexes.discard(_index)


def _json(obj: Any) -> str:
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()


class StoreWriter:
    def __init__(self, url: str, cs: CompiledScenario):
        self.cs = cs
        self.engine = open_engine(url)
        # One database per run: a replay to the same place replaces the previous run.
        metadata.drop_all(self.engine)
        metadata.create_all(self.engine)
        self.rows_written = 0
        self._pending: dict[Any, list[dict]] = {t: [] for t in _T.values()}
        self._n_pending = 0
        self._commerce = Commerce()
        self._cart_items: dict[str, dict[str, dict]] = {}
        self._notes: dict[str, Requested] = {}
        self._waiting: dict[str, Waiting] = {}  # the deferred ones among them
        self._opened: dict[str, int] = {}  # inbox id -> first notification.opened, applied at close
        self._events = 0
        self._derive = self._derivers()
        self._minutes: dict[str, int] = {}
        self._queue: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        self._error: Exception | None = None
        self.failed: StoreError | None = None  # set once a write has failed; nothing more is written
        self._add("runs", {"id": RUN_ID, "scenario": cs.name, "seed": cs.seed, "version": __version__,
                           "start": iso(cs.start_epoch), "duration_ms": cs.duration, "status": "running",
                           "events": 0})
        for p in cs.products:
            self._add("products", {"product": p.id, "name": p.name, "category": p.category, "price": p.price,
                                   "store": p.store})
        self.flush()

    def _add(self, name: str, row: dict) -> None:
        table = _T[name]
        self._pending[table].append(tuple(row.get(c.name) for c in table.columns))
        self._n_pending += 1

    def write(self, chunk: bytes, meta: list[tuple[int, int, str, str | None]] | None = None) -> None:
        """Take a chunk of event-log lines. `meta` gives each line's (seq, t_ms, type, shopper) when the
        caller has them; without it they are parsed from the lines (so a log file can rebuild a database).
        Only the lines of types that feed the derived tables are parsed in full."""
        if self.failed is not None:
            raise self.failed
        events = self._pending[_T["events"]]
        derive, loads = self._derive, orjson.loads
        lines = chunk.splitlines()
        if meta is None:
            meta = []
            for line in lines:
                rec = loads(line)
                meta.append((rec["seq"], self._t_ms(rec["t"]), rec["type"], rec["shopper"]))
        for (seq, t, typ, shopper), line in zip(meta, lines):
            events.append((seq, t, typ, shopper, line.decode()))
            handler = derive.get(typ)
            if handler is not None:
                rec = loads(line)
                handler(_new_event(Event, (seq, t, typ, shopper, rec)), rec)
        self._events += len(lines)
        self._n_pending += len(lines)
        if self._n_pending >= BATCH_ROWS:
            self.flush()

    def _t_ms(self, t: str) -> int:
        """'2026-03-02T08:00:01.250Z' -> virtual ms, with a cache of minute prefixes."""
        minute = self._minutes.get(t[:17])
        if minute is None:
            minute = epoch_ms(datetime.fromisoformat(t[:16] + "+00:00")) - self.cs.start_epoch
            self._minutes[t[:17]] = minute
        return minute + int(t[17:19]) * 1000 + int(t[20:23])

    # --- derived tables: one small handler per event type that changes them --------------------------

    def _shopper_created(self, ev: Event, d: dict) -> None:
        self._add("shoppers", shopper_row(ev.shopper, d))
        self._add("settings_history", {"seq": ev.seq, "shopper": ev.shopper, "t_ms": ev.t, "source": "created",
                                       "settings": _json(d["settings"])})

    def _settings_changed(self, ev: Event, d: dict) -> None:
        self._add("settings_history", {"seq": ev.seq, "shopper": ev.shopper, "t_ms": ev.t,
                                       "source": d["source"], "settings": _json(d["settings"])})

    def _item_added(self, ev: Event, d: dict) -> None:
        self._commerce.item_added(ev, d)
        items = self._cart_items.get(d["cart"])
        if items is None:
            items = self._cart_items[d["cart"]] = {}
        item = items.setdefault(d["product"], {"cart": d["cart"], "product": d["product"], "qty": 0,
                                               "price": d["price"]})
        item["qty"] += d["qty"]

    def _order_placed(self, ev: Event, d: dict) -> None:
        self._commerce.order(ev, d)
        self._add("order_events", {"seq": ev.seq, "order": d["order"], "t_ms": ev.t, "type": ev.type})

    def _order_step(self, ev: Event, d: dict) -> None:
        self._commerce.order_step(ev, d)
        self._add("order_events", {"seq": ev.seq, "order": d["order"], "t_ms": ev.t, "type": ev.type})

    # Notifications: held from request to outcome, then written (with an inbox row when delivered).

    def _note_requested(self, ev: Event, d: dict) -> None:
        self._notes[d["id"]] = Requested(d, ev.t)

    def _note_deferred(self, ev: Event, d: dict) -> None:
        nid = d["id"]
        w = self._waiting.get(nid)
        if w is None:
            w = self._waiting[nid] = Waiting()
        w.deferrals += 1
        w.until_ms, w.reason, w.rule, w.channel = self._t_ms(d["until"]), d["reason"], d["rule"], d["channel"]
        w.passes.append({"steps": d["trace"], "t_ms": ev.t})

    def _note_decided(self, ev: Event, d: dict) -> None:
        nid = d["id"]
        req, t0 = self._notes.pop(nid)
        w = self._waiting.pop(nid, None) if self._waiting else None
        if w is None:
            deferrals, until, trace = 0, None, b'[{"steps":' + orjson.dumps(d["trace"]) + b',"t_ms":%d}]' % ev.t
        else:
            deferrals, until = w.deferrals, w.until_ms
            w.passes.append({"steps": d["trace"], "t_ms": ev.t})
            trace = orjson.dumps(w.passes)
        typ = ev.type
        outcome = typ[13:]  # "notification.delivered" -> "delivered"
        self._pending[_NOTIFICATIONS].append((
            RUN_ID, nid, ev.shopper, req["category"], d["channel"], req["channel"], req["kind"], req["source"],
            req["ref"], t0, outcome, d.get("reason"), d.get("rule"), deferrals, until,
            d.get("digest"), ev.t, trace.decode()))
        n = 1
        if typ == E.NOTIFICATION_DELIVERED:
            digest_of = d["digest_of"]
            self._pending[_INBOX].append((
                RUN_ID, nid, ev.shopper, ev.t, ev.seq, d["channel"], req["category"], req["kind"], d["title"],
                d["body"], d["link"], None if digest_of is None else orjson.dumps(digest_of).decode(), None))
            n = 2
        self._n_pending += n

    def _note_opened(self, ev: Event, d: dict) -> None:
        if d.get("source") != "proxy":  # a privacy proxy's fetch is not her reading it
            self._opened.setdefault(d["id"], ev.t)

    def _undecided_notes(self) -> None:
        """Rows for the notifications the log leaves without an outcome: deferred ones still waiting."""
        for nid, (req, t0) in self._notes.items():
            w = self._waiting.get(nid) or Waiting()
            self._pending[_NOTIFICATIONS].append((
                RUN_ID, nid, req["shopper"], req["category"], w.channel or req["channel"], req["channel"],
                req["kind"], req["source"], req["ref"], t0, "deferred" if w.deferrals else None, w.reason, w.rule,
                w.deferrals, w.until_ms, None, None, _json(w.passes)))
            self._n_pending += 1
        self._notes.clear()
        self._waiting.clear()

    def _derivers(self) -> dict:
        c = self._commerce
        out = {t: self._order_step for t in ORDER_STEPS}
        out.update({
            E.SHOPPER_CREATED: self._shopper_created, E.SETTINGS_CHANGED: self._settings_changed,
            E.CART_ITEM_ADDED: self._item_added, E.CHECKOUT_STARTED: c.checkout, E.CART_ABANDONED: c.abandoned,
            E.CART_EMPTIED: c.emptied, E.ORDER_PLACED: self._order_placed, E.NOTIFICATION_CLICKED: c.clicked,
            E.NOTIFICATION_REQUESTED: self._note_requested, E.NOTIFICATION_DEFERRED: self._note_deferred,
            E.NOTIFICATION_OPENED: self._note_opened,
        })
        out.update({t: self._note_decided for t in E.NOTIFICATION_OUTCOMES})
        return out

    def flush(self) -> None:
        """Commit the buffered rows in one transaction (on the writer thread, when there is one)."""
        if self.failed is not None:
            raise self.failed
        if not self._n_pending:
            return
        batch = [(table, rows) for table, rows in self._pending.items() if rows]
        self._pending = {t: [] for t in _T.values()}
        self._n_pending = 0
        if self._queue is None:
            try:
                self._write(batch)
            except Exception as e:
                self._give_up(e)
        else:
            self._raise_writer_error()
            self._queue.put(batch)

    def start_thread(self) -> None:
        """Commit on a background thread from now on: sqlite3 releases the GIL while SQLite works, so the
        caller keeps preparing rows (and draining its input) meanwhile. A bounded queue keeps memory flat."""
        self._queue = queue.Queue(maxsize=4)
        self._thread = threading.Thread(target=self._writer, name="shopsim-store-writer", daemon=True)
        self._thread.start()

    def sync(self) -> None:
        """Wait until every row handed over so far is committed."""
        self.flush()
        if self._queue is not None:
            self._queue.join()
            self._raise_writer_error()

    def _raise_writer_error(self) -> None:
        if self._error is not None:
            self._give_up(self._error)

    def _give_up(self, e: BaseException) -> None:
        raise self.give_up(e) from e

    def give_up(self, e: BaseException) -> StoreError:
        """After a failed write (or any error while writing): write nothing more, try to mark the run
        `failed`, and return the StoreError saying why and whether it could be marked."""
        if self.failed is None:
            self.failed = e if isinstance(e, StoreError) else StoreError(reason(e), self._mark_failed())
        return self.failed

    def _mark_failed(self) -> bool:
        """Best effort, once a write has failed: stop the writer thread, then mark the run `failed`, with
        the virtual time and the number of the events actually stored. The failed transaction was rolled
        back, so a full disk usually still takes this one small update. False when even that fails."""
        if self._queue is not None:
            self._queue.put(None)  # the thread skips the batches queued after the error, then stops
            self._thread.join()
            self._queue = None
        self._pending = {t: [] for t in _T.values()}
        self._n_pending = 0
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

    def _writer(self) -> None:
        while True:
            batch = self._queue.get()
            try:
                if batch is None:
                    return
                if self._error is None:
                    self._write(batch)
            except Exception as e:  # raised on the caller's side by _raise_writer_error
                self._error = e
            finally:
                self._queue.task_done()

    def _write(self, batch: list[tuple[Any, list[tuple]]]) -> None:
        sqlite = self.engine.dialect.name == "sqlite"
        with self.engine.begin() as conn:
            for table, rows in batch:
                cols = [c.name for c in table.columns]
                if sqlite:
                    # The driver's own executemany with tuples: Core (even exec_driver_sql) inspects every
                    # parameter row in Python first.
                    names = ", ".join(f'"{c}"' for c in cols)
                    sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join("?" * len(cols))})'
                    cursor = conn.connection.driver_connection.cursor()
                    cursor.executemany(sql, rows)
                    cursor.close()
                else:
                    conn.execute(insert(table), [dict(zip(cols, r)) for r in rows])
        self.rows_written += sum(len(rows) for _, rows in batch)

    def close(self, status: str, until_ms: int) -> int:
        """Write carts, orders and undecided notifications as they stand, mark opened messages read, then mark
        the run `status` (finished, interrupted or failed). Raises StoreError when that cannot be written;
        after an earlier StoreError it does nothing."""
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
        for cart in self._commerce.carts.values():
            self._add("carts", cart)
        for items in self._cart_items.values():
            for item in items.values():
                self._add("cart_items", item)
        for order in self._commerce.orders.values():
            self._add("orders", order)
        self.sync()
        if self._queue is not None:
            self._queue.put(None)
            self._thread.join()
            self._queue = None
        with self.engine.begin() as conn:
            if self._opened:
                inbox = _INBOX
                conn.execute(update(inbox).where(and_(inbox.c.run_id == RUN_ID,
                                                      inbox.c.notification == bindparam("nid")))
                             .values(read_ms=bindparam("read")),
                             [{"nid": nid, "read": t} for nid, t in self._opened.items()])
            for index in _LATE_INDEXES:
                index.create(conn, checkfirst=True)
            conn.execute(update(_T["runs"]).where(_T["runs"].c.id == RUN_ID)
                         .values(status=status, end_ms=until_ms, events=self._events))
        self.engine.dispose()
        return self.rows_written
