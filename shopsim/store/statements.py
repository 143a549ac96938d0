"""The SQL the store writer runs, made with SQLAlchemy Core from the tables of `store.models`.

Every statement takes its rows as plain tuples in one order of parameters. On SQLite it is compiled once
and run with the driver's own `executemany` (Core inspects every parameter row in Python first, which costs
the writer about half its speed); on any other database it goes through Core with one dict per row.

Carts and orders are written as they change, not kept for the end: a batch carries, per cart or order, what
changed since the last batch (`store.commerce_batch`), and these statements merge it into the row already
written (an upsert, or an update of an order placed in an earlier batch). The rows come out as
`store.tables.Commerce` projects them.
"""

from __future__ import annotations

import sqlite3
from itertools import chain
from typing import Any, Callable, Sequence

from sqlalchemy import Boolean, Float, String, Table, bindparam, case, func, insert, update
from sqlalchemy.engine import Connection, Dialect

from shopsim.store.models import TABLES


# sqlite3 binds int, float and str as they are, but asks every other parameter, None and bools too, whether
# it adapts itself: a failed attribute lookup on a type, whose error message is formatted and dropped (about
# 3,000 instructions per NULL; the notifications and inbox rows hold several). An adapter registered for the
# type is found first: None stays None (a C call, no exception) and a bool becomes the int it is stored as.
# Both bind exactly as before; other adapters for these types are left alone.
for _type, _adapt in ((type(None), {}.get), (bool, int)):
    if (_type, sqlite3.PrepareProtocol) not in sqlite3.adapters:
        sqlite3.register_adapter(_type, _adapt)


# A plain INSERT on SQLite takes this many rows per statement (VALUES (...), (...), ...): each execution
# costs a reset, a step and a handover of the GIL whatever its rows, about a fifth of inserting a small row.
# The rows go in one by one in their order, as with one statement per row. 100 rows of the widest table
# are 1,800 parameters (SQLite allows 32,766). It is INSERT OR FAIL: a statement of several rows that may
# abort halfway keeps a statement journal, a copy of every page it touches (written to a temporary file past
# 64 KiB: three times the writes of the whole load); FAIL leaves the rows before a failing one in place, and
# a failed statement fails its batch, whose transaction is rolled back as a whole.
ROWS_PER_INSERT = 100


class Statement:
    """One SQL statement and the order in which each row gives its parameters."""

    def __init__(self, stmt: Any, params: Sequence[str], dialect: Dialect, copy: str | None = None,
                 many: bool = False):
        self.stmt, self.params = stmt, tuple(params)
        self.sql: str | None = None
        self.sql_many: str | None = None  # `many` (a plain INSERT) on SQLite: ROWS_PER_INSERT rows at once
        self.order: tuple[int, ...] | None = None
        self.copy = copy  # PostgreSQL through psycopg: COPY ... FROM STDIN, rows streamed as they are
        if dialect.name == "sqlite":
            compiled = stmt.compile(dialect=dialect)
            self.sql = str(compiled)
            wanted = tuple(compiled.positiontup)
            if wanted != self.params:  # a parameter used twice, or in another order than the rows give them
                self.order = tuple(self.params.index(p) for p in wanted)
            elif many:
                one = str(stmt.prefix_with("OR FAIL").compile(dialect=dialect))
                values = one.partition(" VALUES ")[2]
                assert one.startswith("INSERT OR FAIL INTO ") and values[0] == "(" and values[-1] == ")", one
                self.sql_many = one + f", {values}" * (ROWS_PER_INSERT - 1)

    def run(self, conn: Connection, rows: list) -> None:
        if self.copy is not None:
            cursor = conn.connection.driver_connection.cursor()
            try:
                with cursor.copy(self.copy) as copy:
                    for r in rows:
                        copy.write_row(r)
            finally:
                cursor.close()
            return
        if self.sql is None:
            names = self.params
            conn.execute(self.stmt, [dict(zip(names, r)) for r in rows])
            return
        if self.order is not None:
            order = self.order
            rows = [tuple(r[i] for i in order) for r in rows]
        cursor = conn.connection.driver_connection.cursor()
        try:
            whole = len(rows) - len(rows) % ROWS_PER_INSERT if self.sql_many is not None else 0
            if whole:
                cursor.executemany(self.sql_many, _flat(rows, whole))
                rows = rows[whole:]
            if rows:
                cursor.executemany(self.sql, rows)
        finally:
            cursor.close()


def _flat(rows: list, whole: int):
    """The parameters of the first `whole` rows, ROWS_PER_INSERT rows at a time."""
    for i in range(0, whole, ROWS_PER_INSERT):
        yield list(chain.from_iterable(rows[i:i + ROWS_PER_INSERT]))


def inserts(dialect: Dialect) -> dict[str, Statement]:
    """A plain INSERT of every column, in column order, for each table; on PostgreSQL through psycopg, a COPY
    (the server's bulk load, several times faster than INSERTs)."""
    copy = dialect.name == "postgresql" and dialect.driver == "psycopg"

    quoted = dialect.identifier_preparer.quote_identifier

    def statement(t: Table) -> Statement:
        names = [c.name for c in t.columns]
        sql = f"COPY {quoted(t.name)} ({', '.join(map(quoted, names))}) FROM STDIN" if copy else None
        return Statement(insert(t), names, dialect, sql, many=True)

    return {name: statement(t) for name, t in TABLES.items()}


def _upsert(table: Table, keys: list[str], merge: Callable[[Any, Any], dict], dialect: Dialect) -> Statement:
    """INSERT of every column; where the key is already there, `merge(old, new)` gives the columns to set."""
    if dialect.name in ("sqlite", "postgresql"):
        if dialect.name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        else:
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        stmt = dialect_insert(table)
        stmt = stmt.on_conflict_do_update(index_elements=keys, set_=merge(table.c, stmt.excluded))
    elif dialect.name in ("mysql", "mariadb"):
        from sqlalchemy.dialects.mysql import insert as mysql_insert

        # MySQL applies these left to right; each reads only its own column's old value, so order is moot.
        stmt = mysql_insert(table)
        stmt = stmt.on_duplicate_key_update(merge(table.c, stmt.inserted))
    else:
        raise NotImplementedError(f"shopsim writes SQLite, PostgreSQL and MySQL databases, not {dialect.name}")
    return Statement(stmt, [c.name for c in table.columns], dialect)


def _cart_merge(old: Any, new: Any) -> dict:
    """A cart's changes since the last batch (`new`) onto its row (`old`). its items are never null here:
    every event that brings items and value comes through this statement (see CART_UPDATE for the others)."""
    return {
        "status": new["status"], "updated_ms": new["updated_ms"], "items": new["items"], "value": new["value"],
        # An abandonment sets both (its stage is never null); without one the batch leaves them as they were.
        "last_abandon_reason": case((new["last_abandon_stage"].is_(None), old["last_abandon_reason"]),
                                    else_=new["last_abandon_reason"]),
        "last_abandon_stage": func.coalesce(new["last_abandon_stage"], old["last_abandon_stage"]),
        "times_abandoned": old["times_abandoned"] + new["times_abandoned"],  # the batch's count
        "order": func.coalesce(old["order"], new["order"]),  # the first order made of the cart
    }


# Parameters of the updates, in the order the writer's rows give them.
CART_UPDATE = ("w_cart", "w_status", "w_updated", "w_order")
ORDER_UPDATE = ("w_order", "w_status", "w_tracked", "w_carrier", "w_tracking", "w_refunded", "w_refund")
INBOX_READ = ("w_run", "w_nid", "w_read")


def merges(dialect: Dialect) -> dict[str, Statement]:
    carts, items, orders, inbox = TABLES["carts"], TABLES["cart_items"], TABLES["orders"], TABLES["inbox"]
    tracked = bindparam("w_tracked", type_=Boolean)
    return {
        "carts": _upsert(carts, ["cart"], _cart_merge, dialect),
        # A cart whose batch brought no items and value: emptied, or ordered (both after it was written).
        "carts_update": Statement(update(carts).where(carts.c.cart == bindparam("w_cart", type_=String)).values({
            "status": bindparam("w_status", type_=String), "updated_ms": bindparam("w_updated"),
            "order": func.coalesce(carts.c["order"], bindparam("w_order", type_=String))}), CART_UPDATE, dialect),
        "cart_items": _upsert(items, ["cart", "product"], lambda old, new: {"qty": old["qty"] + new["qty"]}, dialect),
        # An order placed in an earlier batch: its lifecycle since then.
        "orders_update": Statement(update(orders).where(orders.c["order"] == bindparam("w_order", type_=String))
                                   .values({
            "status": bindparam("w_status", type_=String),
            "carrier": case((tracked, bindparam("w_carrier", type_=String)), else_=orders.c.carrier),
            "tracking": case((tracked, bindparam("w_tracking", type_=String)), else_=orders.c.tracking),
            "refund_amount": case((bindparam("w_refunded", type_=Boolean), bindparam("w_refund", type_=Float)),
                                  else_=orders.c.refund_amount)}), ORDER_UPDATE, dialect),
        # The first time a delivered message was opened (a later open keeps it).
        "inbox_read": Statement(update(inbox).where(
            inbox.c.run_id == bindparam("w_run"), inbox.c.notification == bindparam("w_nid", type_=String),
            inbox.c.read_ms.is_(None)).values(read_ms=bindparam("w_read")), INBOX_READ, dialect),
    }
