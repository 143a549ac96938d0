"""The database and `shopsim export` make their tables from one declaration and one projection
(shopsim/store/tables.py): the same name for the same thing, and the same values in both."""

from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner

from helpers.scenarios import tiny_scenario
from shopsim.cli import main
from shopsim.store.export_rows import build_tables
from shopsim.store.runfile import open_run
from shopsim.store.tables import DATABASE, EXPORT, T

# Tables of both; what only the database keeps: the run it belongs to, and the decision trace as JSON text.
SHARED = ("shoppers", "carts", "orders", "notifications")
DATABASE_ONLY = {"run_id", "trace"}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("tables")
    (d / "tiny.yaml").write_text(tiny_scenario(
        size=40, duration="4d", as_text=True, orders={"payment": {"failure": 0.3}, "disputes": {"rate": 0.5}},
        flows={"cart_recovery": {"trigger": "cart.abandoned", "steps": [{"after": "1h", "channel": "email"}]}},
        engagement={"open": {"email": 0.9}}))
    res = CliRunner().invoke(main, ["replay", str(d / "tiny.yaml"), "-q", "--db", str(d / "run.db"),
                                    "--log", str(d / "run.jsonl")])
    assert res.exit_code == 0, res.output
    con = sqlite3.connect(d / "run.db")
    con.row_factory = sqlite3.Row
    return con, build_tables(open_run(str(d / "run.jsonl")))


def test_the_database_has_exactly_the_declared_tables_and_columns(run):
    con, _ = run
    names = {r[0] for r in con.execute("select name from sqlite_master where type = 'table'")}
    assert names == set(DATABASE)
    for table, cols in DATABASE.items():
        got = [r[1] for r in con.execute(f'pragma table_info("{table}")')]
        assert got == [c.name for c in cols], table


def test_a_shared_table_names_each_thing_as_the_export_does(run):
    for table in SHARED:
        export = dict(EXPORT[table])
        for c in DATABASE[table]:
            if c.name in DATABASE_ONLY:
                continue
            # The database stores a time only as its *_ms twin.
            twin = c.name.endswith("_ms") and export.get(c.name[:-3]) == T
            assert c.name in export or twin, f"{table}.{c.name} has another name in the export"


@pytest.mark.parametrize("table", SHARED)
def test_the_database_and_the_export_hold_the_same_rows(run, table):
    con, tables = run
    exported = list(tables[table].dicts())
    key = DATABASE[table][1 if table == "notifications" else 0].name
    stored = {r[key]: dict(r) for r in con.execute(f'select * from "{table}"')}
    assert exported and len(stored) == len(exported)
    cols = [c.name for c in DATABASE[table] if c.name not in DATABASE_ONLY]
    for row in exported:
        db = stored[row[key]]
        for c in cols:
            want = row[c] if c in row else row[c[:-3]]
            got = db[c]
            if isinstance(want, bool):
                got = bool(got)
            assert got == want, (table, row[key], c)
    if table == "carts":
        assert {"abandoned", "ordered"} <= {r["status"] for r in exported}
