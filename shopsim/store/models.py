"""The SQL tables of a run, made from the declarations of `store.tables.DATABASE`. Events are the source of
truth; the other tables are views of them shaped for analysts (one row per shopper, cart, order, ...)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, Integer, MetaData, String, Table

from shopsim.store.tables import B, DATABASE, F, I, J, S

_SQL = {S: String, I: Integer, F: Float, B: Boolean, J: String}

metadata = MetaData()
TABLES: dict[str, Table] = {
    name: Table(name, metadata, *(
        Column(c.name, _SQL[c.kind], primary_key="k" in c.flags, nullable="n" in c.flags, index="i" in c.flags,
               autoincrement=False, doc=c.doc or None) for c in cols))
    for name, cols in DATABASE.items()
}
