"""The tables of a run are SQLModel classes made from store/tables.py's declarations: an analyst reads a
run's database with SQLModel sessions, and gets the rows sqlite3 sees."""

from __future__ import annotations

import sqlite3

from click.testing import CliRunner
from sqlmodel import Session, SQLModel, create_engine, func, select

from shopsim.cli import main
from shopsim.store.models import MODELS, TABLES
from shopsim.store.tables import DATABASE

from helpers.paths import FIXTURES

SMALL = FIXTURES / "golden_small.yaml"


def test_every_declared_table_is_a_sqlmodel_class_with_the_declared_columns():
    assert set(MODELS) == set(DATABASE)
    for name, cols in DATABASE.items():
        model = MODELS[name]
        assert issubclass(model, SQLModel) and model.__tablename__ == name
        table = TABLES[name]
        assert [c.name for c in table.columns] == [c.name for c in cols]
        assert {c.name for c in table.primary_key} == {c.name for c in cols if "k" in c.flags}
        assert {c.name for c in table.columns if c.nullable} == {c.name for c in cols if "n" in c.flags}


def test_a_run_database_reads_back_through_sqlmodel(tmp_path):
    db = tmp_path / "run.db"
    res = CliRunner().invoke(main, ["replay", str(SMALL), "-q", "--db", str(db), "--log", str(tmp_path / "run.jsonl")])
    assert res.exit_code == 0, res.output
    con = sqlite3.connect(db)
    Cart, Order = MODELS["carts"], MODELS["orders"]
    with Session(create_engine(f"sqlite:///{db}")) as session:
        carts = session.exec(select(Cart).order_by(Cart.cart)).all()
        assert [c.cart for c in carts] == [r[0] for r in con.execute("SELECT cart FROM carts ORDER BY cart")]
        assert carts and all(c.status in ("open", "checkout", "abandoned", "ordered", "emptied") for c in carts)
        orders = session.exec(select(func.count()).select_from(Order)).one()
        assert orders == con.execute('SELECT count(*) FROM orders').fetchone()[0] > 0
