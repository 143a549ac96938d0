"""The SQL store agrees with the event log it was written from."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter

import orjson
import pytest

from shopsim.simulation import Simulation
from shopsim.store import writer
from shopsim.store.models import LATE_INDEXES
from shopsim.store.jsonl import event_line
from shopsim.store.recorder import Recorder
from shopsim.contract import events as E
from shopsim.store.runfile import RunFileError, open_run
from shopsim.store.tables import MOVED, ORDER_STATUS, OUTCOME_TRACE
from shopsim.store.writer import StoreWriter
from helpers import postgres
from helpers.scenarios import tiny_scenario


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    path = tmp_path_factory.mktemp("store") / "run.db"
    sc = tiny_scenario(size=120, duration="30d", seed=3,
                       orders={"disputes": {"rate": 0.5, "refund": 1.0}, "payment": {"failure": 0.3}},
                       flows={"recover": {"trigger": "cart.abandoned", "steps": [
                           {"after": "1h", "channel": "email", "incentive": {"type": "percent", "value": 10}}]}},
                       engagement={"open": {"email": 0.9}, "click": {"email": 0.9}})
    sim = Simulation(sc)
    store = StoreWriter(f"sqlite:///{path}", sim.scenario)
    lines: list[bytes] = []
    rec = Recorder(sim.scenario.start_epoch, None, store)
    sim.subscribe(rec)
    sim.subscribe(lambda batch: lines.extend(batch))
    sim.run()
    store.close("finished", sim.now)
    return sqlite3.connect(path), lines


def test_tables_count_what_the_log_says(stored):
    con, events = stored
    counts = Counter(e.type for e in events)
    q = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
    assert q("select count(*) from events") == len(events)
    assert q("select count(*) from shoppers") == counts["shopper.created"] == 120
    assert q("select count(*) from orders") == counts["order.placed"] > 0
    assert q("select count(distinct cart) from cart_items") == q("select count(*) from carts")
    assert q("select count(*) from carts where status = 'ordered'") == counts["order.placed"]
    assert q("select count(*) from settings_history") == counts["shopper.created"] + counts["settings.changed"]
    lifecycle = sum(n for t, n in counts.items() if t in ORDER_STATUS)
    assert q("select count(*) from order_events") == lifecycle
    assert q("select status from runs") == "finished"


def test_order_rows_match_their_last_lifecycle_event(stored):
    con, events = stored
    last: dict[str, str] = {}
    refunded: Counter[str] = Counter()
    for e in events:
        if e.type in ORDER_STATUS:
            last[e.data["order"]] = ORDER_STATUS[e.type]
        if e.type == "refund.issued":
            refunded[e.data["order"]] += e.data["amount"]
    rows = dict(con.execute('select "order", status from orders'))
    assert rows == last
    assert {"delivered", "refunded"} <= set(rows.values())
    for oid, amount in con.execute('select "order", refund_amount from orders where refund_amount > 0'):
        assert amount == pytest.approx(refunded[oid])
    placed = {e.data["order"]: e.data for e in events if e.type == "order.placed"}
    for oid, coupon, discount, attributed in con.execute('select "order", coupon, discount, attributed_to from orders'):
        assert (coupon, discount, attributed) == (
            placed[oid]["coupon"], placed[oid]["discount"], placed[oid]["attributed_to"])
    assert any(d["coupon"] for d in placed.values()) and any(d["attributed_to"] for d in placed.values())


def test_cart_items_add_up_to_the_cart_value(stored):
    con, _ = stored
    for cart, value in con.execute("select cart, value from carts"):
        total = con.execute("select sum(qty * price) from cart_items where cart = ?", (cart,)).fetchone()[0]
        assert total == pytest.approx(value)


def test_events_table_reproduces_the_log(stored):
    """Each events row is its log line without seq, t, type and shopper (they are columns) and without the
    fields another table's row keeps (tables.MOVED), nothing twice; reading the database back gives the log's
    exact bytes."""
    con, events = stored
    rows = con.execute("select seq, t_ms, type, shopper, data from events order by seq").fetchall()
    assert [r[0] for r in rows] == list(range(1, len(events) + 1))
    moved = Counter()
    for (seq, t_ms, typ, shopper, data), ev in zip(rows, events):
        assert (seq, t_ms, typ, shopper) == (ev.seq, ev.t, ev.type, ev.shopper)
        gone = set(MOVED[typ][1] if typ in MOVED else ()) | ({"trace"} if typ in OUTCOME_TRACE else set())
        assert json.loads(data) == {k: v for k, v in ev.data.items() if k not in gone}
        moved[typ] += bool(gone)
    assert moved[E.NOTIFICATION_DELIVERED] and moved[E.NOTIFICATION_SUPPRESSED] and moved[E.SHOPPER_CREATED]
    run = open_run(con.execute("pragma database_list").fetchone()[2])
    assert list(run.lines()) == [event_line(ev, run.start_epoch).rstrip(b"\n") for ev in events]


def test_a_database_whose_rows_were_reordered_or_kept_every_field_still_gives_the_log(stored, tmp_path):
    """The moved fields are put back by key, not by position alone: rows rewritten out of their order (an
    edited database) give the same lines, and so does a database whose events rows keep every field (an
    earlier shopsim's); a moved field whose row is gone is refused by the event's seq."""
    con, events = stored
    want = [event_line(ev, 0).rstrip(b"\n") for ev in events]

    def copy(name: str) -> sqlite3.Connection:
        out = sqlite3.connect(tmp_path / name)
        con.backup(out)
        return out

    def lines(name: str) -> list[bytes]:
        run = open_run(tmp_path / name)
        return [event_line(ev, 0).rstrip(b"\n") for ev in run.events()]

    shuffled = copy("shuffled.db")
    for table in ("inbox", "notifications", "settings_history"):
        shuffled.execute(f'create table tmp as select * from "{table}" order by random()')
        shuffled.execute(f'delete from "{table}"')
        shuffled.execute(f'insert into "{table}" select * from tmp')
        shuffled.execute("drop table tmp")
    shuffled.commit()
    assert lines("shuffled.db") == want

    whole = copy("whole.db")
    for seq, data in [(ev.seq, orjson.dumps(ev.data).decode()) for ev in events]:
        whole.execute("update events set data = ? where seq = ?", (data, seq))
    whole.execute("update notifications set trace = '[]'")
    whole.execute("delete from inbox")
    whole.commit()
    assert lines("whole.db") == want

    broken = copy("broken.db")
    seq = next(ev.seq for ev in events if ev.type == E.NOTIFICATION_DELIVERED)
    broken.execute("delete from inbox where seq = ?", (seq,))
    broken.commit()
    with pytest.raises(RunFileError, match=f"event {seq} has no valid data"):
        list(open_run(tmp_path / "broken.db").lines())


def test_a_second_replay_to_the_same_database_replaces_the_first(tmp_path):
    url = f"sqlite:///{tmp_path}/again.db"
    for size in (5, 3):
        sim = Simulation(tiny_scenario(size=size, duration="1d"))
        store = StoreWriter(url, sim.scenario)
        sim.subscribe(Recorder(sim.scenario.start_epoch, None, store))
        sim.run()
        store.close("finished", sim.now)
    assert sqlite3.connect(tmp_path / "again.db").execute("select count(*) from shoppers").fetchone() == (3,)


@pytest.mark.parametrize(("url", "install"), [
    ("mysql://u:p@localhost/shop", "pip install mysqlclient (or write mysql+pymysql:// and install pymysql)"),
    ("mysql+pymysql://u@localhost/shop", "pip install pymysql"),
    ("postgresql://u@localhost/shop", "pip install 'psycopg[binary]'"),
])
def test_a_database_url_whose_driver_is_missing_says_what_to_install(tmp_path, monkeypatch, url, install):
    """Every dialect's missing driver gets the hint, mysql's included; the run writes nothing."""
    import importlib.util

    module = {"mysql": "MySQLdb", "mysql+pymysql": "pymysql", "postgresql": "psycopg"}[url.split(":")[0]]
    if importlib.util.find_spec(module) is not None:  # installed here (psycopg is, for the PostgreSQL tests)
        _without_module(monkeypatch, module)
    from click.testing import CliRunner

    from shopsim.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text(tiny_scenario(size=3, duration="1d", as_text=True))
    res = CliRunner().invoke(main, ["replay", "s.yaml", "--db", url, "--log", "out.jsonl", "-q"])
    assert res.exit_code == 2, res.output
    assert f"No module named '{module}'" in res.output and install in res.output
    assert not (tmp_path / "out.jsonl").exists()


def _without_module(monkeypatch, name: str) -> None:
    """Make `import name` fail in this test as it does where the package is not installed."""
    import sys

    class Missing:
        @staticmethod
        def find_spec(fullname, path=None, target=None):
            if fullname == name or fullname.startswith(name + "."):
                raise ModuleNotFoundError(f"No module named '{fullname}'", name=fullname)
            return None

    for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        monkeypatch.delitem(sys.modules, loaded)
    monkeypatch.setattr(sys, "meta_path", [Missing(), *sys.meta_path])


def _replay(path, lines: list[bytes], scenario, chunk: int) -> None:
    store = StoreWriter(f"sqlite:///{path}", scenario)
    for i in range(0, len(lines), chunk):
        store.write(b"".join(lines[i:i + chunk]))
    store.close("finished", scenario.duration)


def _tables(path) -> dict[str, list]:
    con = sqlite3.connect(path)
    names = [r[0] for r in con.execute("select name from sqlite_master where type = 'table' order by name")]
    return {n: sorted(con.execute(f'select * from "{n}"').fetchall(), key=repr) for n in names}


@pytest.fixture(scope="module")
def busy_log():
    """A month of carts, orders with disputes and refunds, reminders opened: every row the writer merges."""
    sim = Simulation(tiny_scenario(size=60, duration="30d", seed=5,
                                   orders={"disputes": {"rate": 0.6, "refund": 1.0}, "payment": {"failure": 0.3}},
                                   flows={"recover": {"trigger": "cart.abandoned", "steps": [
                                       {"after": "1h", "channel": "email"}]}},
                                   engagement={"open": {"email": 0.9}, "click": {"email": 0.5}}))
    out: list[bytes] = []
    sim.subscribe(Recorder(sim.scenario.start_epoch, type("Log", (), {"write": staticmethod(out.append)})()))
    sim.run()
    lines = b"".join(out).splitlines(keepends=True)
    types = Counter(orjson.loads(line)["type"] for line in lines)
    assert types["refund.issued"] and types["cart.emptied"] and types["notification.opened"], types
    return sim.scenario, lines


def test_carts_orders_and_reads_written_batch_by_batch_are_those_written_at_once(busy_log, tmp_path, monkeypatch):
    """Carts, orders, cart items and messages' first reads go out with each batch as far as they changed in
    it, merged into the rows written before: tiny batches give the same database as a single one."""
    scenario, lines = busy_log
    _replay(tmp_path / "once.db", lines, scenario, len(lines))
    monkeypatch.setattr(writer, "BATCH_ROWS", 7)
    _replay(tmp_path / "batches.db", lines, scenario, 5)
    assert len(lines) > 200 * 7
    assert _tables(tmp_path / "batches.db") == _tables(tmp_path / "once.db")
    con = sqlite3.connect(tmp_path / "once.db")
    assert con.execute("select count(*) from orders where refund_amount > 0").fetchone()[0] > 0
    assert con.execute("select count(*) from inbox where read_ms is not null").fetchone()[0] > 0


def test_a_run_cut_short_has_its_carts_and_orders_as_of_its_last_commit(busy_log, tmp_path, monkeypatch):
    """Nothing waits in memory for the end: a writer that never reaches close() (kill -9) has committed
    every cart and order as the lines it was given leave them."""
    scenario, lines = busy_log
    half = lines[:len(lines) // 2]
    monkeypatch.setattr(writer, "BATCH_ROWS", 100)
    store = StoreWriter(f"sqlite:///{tmp_path}/cut.db", scenario)
    store.write(b"".join(half))
    store.flush()
    _replay(tmp_path / "half.db", half, scenario, len(half))
    cut, closed = _tables(tmp_path / "cut.db"), _tables(tmp_path / "half.db")
    for table in ("carts", "cart_items", "orders", "order_events"):
        assert cut[table] == closed[table] and cut[table], table


def test_a_closed_database_has_its_indexes_and_no_write_ahead_log(busy_log, tmp_path):
    """The indexes are built once the rows are in, and close() checkpoints the write-ahead log into the
    database, so a finished run is one file."""
    scenario, lines = busy_log
    _replay(tmp_path / "run.db", lines, scenario, 4096)
    assert not (tmp_path / "run.db-wal").exists()
    con = sqlite3.connect(tmp_path / "run.db")
    indexes = {r[0] for r in con.execute("select name from sqlite_master where type = 'index'")}
    assert {ix.name for ix in LATE_INDEXES} <= indexes
    # Only the index a reader uses (store.queries.inbox); the events are read in seq order, their rowid.
    assert indexes - {ix.name for ix in LATE_INDEXES} == {r[0] for r in con.execute(
        "select name from sqlite_master where type = 'index' and name like 'sqlite_autoindex_%'")}
    assert {ix.name for ix in LATE_INDEXES} == {"ix_inbox_shopper"}


@pytest.mark.skipif(postgres.missing() is not None, reason=str(postgres.missing()))
def test_batch_by_batch_merges_into_postgres_give_sqlites_tables(busy_log, tmp_path, monkeypatch):
    """The merges (upserts, updates of earlier orders and carts, first reads) run through SQLAlchemy's
    generic path on PostgreSQL and make the same rows as SQLite's compiled statements."""
    import sqlalchemy as sa

    scenario, lines = busy_log
    monkeypatch.setattr(writer, "BATCH_ROWS", 7)
    _replay(tmp_path / "lite.db", lines, scenario, 5)
    lite = _tables(tmp_path / "lite.db")
    with postgres.server() as url:
        store = StoreWriter(url, scenario)
        for i in range(0, len(lines), 5):
            store.write(b"".join(lines[i:i + 5]))
        store.close("finished", scenario.duration)
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            for table in ("carts", "cart_items", "orders", "order_events", "inbox", "notifications", "events"):
                got = sorted((tuple(r) for r in conn.exec_driver_sql(f'select * from "{table}"')), key=repr)
                assert got == lite[table], table
        engine.dispose()
