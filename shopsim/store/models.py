"""The SQL tables of a run as SQLModel classes, made from the declarations of `store.tables.DATABASE` (the
one place a table's columns are named). Events are the source of truth; the other tables are views of them
shaped for analysts (one row per shopper, cart, order, ...). `MODELS` maps a table's name to its class, for
code that reads a run with SQLModel sessions; `TABLES` to its SQLAlchemy table, which the writer fills.

`metadata.create_all` makes the tables with their primary keys only: every secondary index (`LATE_INDEXES`,
the columns flagged "i" and the inbox's lookup index) is built once the rows are in, by the writer's close,
which sorts each once instead of updating a B-tree per row."""

from __future__ import annotations

import types
from typing import Any, Optional

from sqlalchemy import BigInteger, Index, Integer, Table
from sqlmodel import Field, SQLModel

from shopsim.store.tables import B, DATABASE, F, I, J, S, Col

_PY: dict[str, type] = {S: str, I: int, F: float, B: bool, J: str}  # JSON is stored as its text
# Times are ms since the start: past 24.8 days they outgrow a 32-bit INTEGER (PostgreSQL's, MySQL's). SQLite's
# INTEGER is 64-bit already, and only a column declared INTEGER PRIMARY KEY is the table's own rowid.
_INT = BigInteger().with_variant(Integer(), "sqlite")


def _class_name(table: str) -> str:
    return "".join(part.title() for part in table.split("_")) + "Row"


def _model(table: str, cols: tuple[Col, ...]) -> type[SQLModel]:
    annotations: dict[str, Any] = {}
    fields: dict[str, Any] = {}
    for c in cols:
        py = _PY[c.kind]
        nullable = "n" in c.flags
        annotations[c.name] = Optional[py] if nullable else py
        fields[c.name] = Field(
            default=None if nullable else ..., primary_key="k" in c.flags, index="i" in c.flags or None,
            nullable=nullable, description=c.doc or None, sa_column_kwargs={"autoincrement": False},
            **({"sa_type": _INT} if c.kind == I else {}))

    def body(ns: dict[str, Any]) -> None:
        ns.update(fields, __tablename__=table, __annotations__=annotations, __module__=__name__)

    return types.new_class(_class_name(table), (SQLModel,), {"table": True}, body)


MODELS: dict[str, type[SQLModel]] = {name: _model(name, cols) for name, cols in DATABASE.items()}
TABLES: dict[str, Table] = {name: model.__table__ for name, model in MODELS.items()}  # type: ignore[attr-defined]
metadata = SQLModel.metadata


def _late_indexes() -> tuple[Index, ...]:
    inbox = TABLES["inbox"]
    # Index() over a table's columns joins that table's indexes (so create_all would build it up front).
    Index("ix_inbox_shopper", *(inbox.c[n] for n in ("run_id", "shopper", "channel", "t_ms")))
    late = [ix for table in TABLES.values() for ix in sorted(table.indexes, key=lambda ix: ix.name)]
    for ix in late:
        ix.table.indexes.discard(ix)
    return tuple(late)


LATE_INDEXES = _late_indexes()
