"""Read a run's database: how the run ended, a shopper's inbox, one notification with its decision trace.

`db` is a SQLAlchemy URL or a path to a SQLite file. A path is opened read-only, so asking about a file that
is not there never creates one. `run_id` defaults to the latest run in the database. Unknown shoppers and
notifications, and missing, empty or foreign databases, raise LookupError with a one-line message.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from shopsim.contract.taxonomy import CHANNELS

_TABLES = ("runs", "shoppers", "notifications", "inbox")


def run(db: str | os.PathLike, run_id: int | None = None) -> dict[str, Any]:
    """The runs row: scenario, seed, version, start, duration_ms, `status` (running, finished, interrupted
    or failed), end_ms (the virtual time the run reached) and events (the events it holds)."""
    with _connect(db) as (conn, name):
        run_id = _run(conn, name, run_id)
        return dict(conn.execute(text("SELECT * FROM runs WHERE id = :r"), {"r": run_id}).mappings().one())


def inbox(db: str | os.PathLike, shopper: str, channel: str | None = None,
          run_id: int | None = None) -> list[dict[str, Any]]:
    """What `shopper` received in the run, oldest first (in log order at equal times), on one channel or all.
    Each message is its inbox row with `digest_of` as a list (or None) and `read` (opened at least once)."""
    if channel is not None and channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}; channels: {', '.join(CHANNELS)}")
    with _connect(db) as (conn, name):
        run = _run(conn, name, run_id)
        if conn.execute(text("SELECT 1 FROM shoppers WHERE shopper = :s"), {"s": shopper}).first() is None:
            last = conn.execute(text("SELECT max(shopper) FROM shoppers")).scalar()
            hint = f" (ids run from s000001 to {last})" if last else ""
            raise LookupError(f"no shopper {shopper!r} in {name}{hint}")
        sql = "SELECT * FROM inbox WHERE run_id = :r AND shopper = :s"
        params: dict[str, Any] = {"r": run, "s": shopper}
        if channel is not None:
            sql += " AND channel = :c"
            params["c"] = channel
        rows = conn.execute(text(sql + " ORDER BY t_ms, seq"), params).mappings().all()
    out = []
    for row in rows:
        msg = dict(row)
        msg["digest_of"] = json.loads(msg["digest_of"]) if msg["digest_of"] is not None else None
        msg["read"] = msg["read_ms"] is not None
        out.append(msg)
    return out


def notification(db: str | os.PathLike, notification_id: str, run_id: int | None = None) -> dict[str, Any]:
    """The notifications row of one notification, with `trace` parsed: a list of passes through the
    pipeline, each {"t_ms": ..., "steps": [...]} (more than one when it was deferred)."""
    with _connect(db) as (conn, name):
        run = _run(conn, name, run_id)
        row = conn.execute(text("SELECT * FROM notifications WHERE run_id = :r AND notification = :i"),
                           {"r": run, "i": notification_id}).mappings().first()
    if row is None:
        raise LookupError(f"no notification {notification_id!r} in run {run} of {name}")
    out = dict(row)
    out["trace"] = json.loads(out["trace"])
    return out


# --- internals ---------------------------------------------------------------------------------------

def _url(db: str | os.PathLike) -> tuple[str, str]:
    """(SQLAlchemy URL, name for messages). A SQLite path must exist and is opened read-only."""
    db = os.fspath(db)
    if "://" in db:
        try:
            url = make_url(db)
        except ArgumentError as e:
            raise LookupError(f"cannot open database {db}: {e}") from None
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return db, url.render_as_string(hide_password=True)
        path = Path(url.database)
    else:
        path = Path(db)
    if not path.is_file():
        raise LookupError(f"no database at {path}" if not path.exists() else f"{path} is not a database file")
    return f"sqlite:///file:{quote(str(path.resolve()))}?mode=ro&uri=true", str(path)


@contextmanager
def _connect(db: str | os.PathLike) -> Iterator[tuple[Connection, str]]:
    url, name = _url(db)
    try:
        engine = create_engine(url)
    except Exception as e:  # a bad URL or a missing driver
        raise LookupError(f"cannot open database {name}: {_one_line(e)}") from None
    try:
        try:
            conn = engine.connect()
            tables = set(inspect(conn).get_table_names())
        except DBAPIError as e:  # not a database, unreadable, server down
            raise LookupError(f"cannot read database {name}: {_one_line(e)}") from None
        with conn:
            if not tables:
                raise LookupError(f"{name} is empty: no run was written to it")
            if "runs" not in tables:
                raise LookupError(f"{name} is not a shopsim database (it has no runs table)")
            missing = [t for t in _TABLES if t not in tables]
            if missing:
                raise LookupError(f"{name} has no {' or '.join(missing)} table; replay the scenario again "
                                  "with this shopsim to write it")
            yield conn, name
    finally:
        engine.dispose()


def _run(conn: Connection, name: str, run_id: int | None) -> int:
    if run_id is None:
        run_id = conn.execute(text("SELECT max(id) FROM runs")).scalar()
        if run_id is None:
            raise LookupError(f"{name} holds no run")
    elif conn.execute(text("SELECT 1 FROM runs WHERE id = :r"), {"r": run_id}).first() is None:
        raise LookupError(f"no run {run_id} in {name}")
    return run_id


def _one_line(e: Exception) -> str:
    orig = getattr(e, "orig", None) or e
    lines = str(orig).splitlines()
    return lines[0] if lines else e.__class__.__name__
