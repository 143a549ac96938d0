"""A replay into a real PostgreSQL server makes the same tables as into SQLite (skipped without a server)."""

from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner

from helpers import postgres
from helpers.paths import SCENARIOS
from shopsim.cli import main

pytestmark = pytest.mark.skipif(postgres.missing() is not None, reason=str(postgres.missing()))


@pytest.fixture(scope="module")
def pg_url():
    with postgres.server() as url:
        yield url


def _replay(tmp_path, db: str, name: str) -> None:
    res = CliRunner().invoke(main, ["replay", str(SCENARIOS / "opt_out.yaml"), "--db", db, "--log",
                                    str(tmp_path / f"{name}.jsonl"), "--quiet"])
    assert res.exit_code == 0, res.output + res.stderr


def _rows(execute, tables: list[str], columns) -> dict[str, list[tuple]]:
    out = {}
    for t in tables:
        cols = ", ".join(f'"{c}"' for c in columns(t))
        out[t] = sorted((tuple(r) for r in execute(f'select {cols} from "{t}"')), key=repr)
    return out


def test_a_replay_into_postgres_makes_the_same_tables_as_sqlite(tmp_path, pg_url):
    import sqlalchemy as sa

    _replay(tmp_path, str(tmp_path / "run.db"), "lite")
    _replay(tmp_path, pg_url, "pg")
    assert (tmp_path / "lite.jsonl").read_bytes() == (tmp_path / "pg.jsonl").read_bytes()
    lite = sqlite3.connect(tmp_path / "run.db")
    tables = [r[0] for r in lite.execute("select name from sqlite_master where type = 'table' order by name")]
    cols = lambda t: [r[1] for r in lite.execute(f'pragma table_info("{t}")')]  # noqa: E731
    engine = sa.create_engine(pg_url)
    with engine.connect() as con:
        pg_tables = sa.inspect(con).get_table_names()
        assert sorted(pg_tables) == sorted(tables)
        got = _rows(lambda q: con.execute(sa.text(q)), tables, cols)
    want = _rows(lite.execute, tables, cols)
    assert got.keys() == want.keys()
    for t in tables:
        assert len(got[t]) == len(want[t]), t
        # Postgres gives JSON columns back as text too; booleans as bool where SQLite has 0/1.
        norm = lambda rows: [tuple(int(v) if isinstance(v, bool) else v for v in r) for r in rows]  # noqa: E731
        assert sorted(norm(got[t]), key=repr) == sorted(norm(want[t]), key=repr), t
    engine.dispose()


def test_a_second_replay_into_the_same_postgres_database_replaces_the_first(tmp_path, pg_url):
    import sqlalchemy as sa

    _replay(tmp_path, pg_url, "a")
    _replay(tmp_path, pg_url, "b")
    engine = sa.create_engine(pg_url)
    with engine.connect() as con:
        assert con.execute(sa.text("select count(*), min(status) from runs")).one() == (1, "finished")
        events = con.execute(sa.text("select count(*) from events")).scalar()
    engine.dispose()
    assert events == len((tmp_path / "b.jsonl").read_bytes().splitlines())


def test_postgres_through_psycopg_loads_the_plain_tables_with_copy(pg_url):
    import sqlalchemy as sa

    from shopsim.store.statements import inserts, merges

    engine = sa.create_engine(pg_url)
    plain, upserts = inserts(engine.dialect), merges(engine.dialect)
    engine.dispose()
    assert plain["events"].copy == 'COPY "events" ("seq", "t_ms", "type", "shopper", "data") FROM STDIN'
    assert all(s.copy is not None for s in plain.values())
    assert all(s.copy is None for s in upserts.values())  # an upsert cannot be a COPY
    lite = sa.create_engine("sqlite://")
    assert all(s.copy is None for s in inserts(lite.dialect).values())
    lite.dispose()
