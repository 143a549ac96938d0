"""The database the writer makes holds exactly what it held before the writer was made faster.

Each case plays a scenario (shipped ones, and a tiny one with disputes and refunds), writes its log with the
store writer and takes a digest of every table's rows in rowid order (every value with its type, as sqlite3
reads it back) and of the schema. `store_contents.json` holds the digests the writer of commit 7d59f22 made
from the same logs; the log's own digest is kept too, so that a change of the engine's output (which the
golden tests would report) is told apart from a change of the writer's.

To record them again (only when the log of a case changes on purpose, with a writer known to be right):
    PYTHONPATH=. python tests/store/test_store_contents.py
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
EXPECTED = HERE / "store_contents.json"
CHUNK = 4096  # lines per write(), as the recorder hands them over
CASES = ("notifications_small", "quiet_hours", "digests", "cart_recovery", "quiet_hours_cut", "busy")


def _cases() -> dict:
    from helpers.paths import FIXTURES, SCENARIOS
    from helpers.scenarios import tiny_scenario
    from shopsim.validate import load_scenario

    busy = dict(orders={"disputes": {"rate": 0.6, "refund": 1.0}, "payment": {"failure": 0.3}},
                flows={"recover": {"trigger": "cart.abandoned", "steps": [
                    {"after": "1h", "channel": "email", "incentive": {"type": "percent", "value": 10}}]}},
                engagement={"open": {"email": 0.9}, "click": {"email": 0.5}})
    return {  # name -> (the scenario, hours to run or None for all of it)
        "notifications_small": (lambda: load_scenario(FIXTURES / "notifications_small.yaml"), None),
        "quiet_hours": (lambda: load_scenario(SCENARIOS / "quiet_hours.yaml"), None),
        "digests": (lambda: load_scenario(SCENARIOS / "digests.yaml"), None),
        "cart_recovery": (lambda: load_scenario(SCENARIOS / "cart_recovery.yaml"), None),
        # Cut short at night: messages held by quiet hours and digests still waiting are written as they stand.
        "quiet_hours_cut": (lambda: load_scenario(SCENARIOS / "quiet_hours.yaml"), 26),
        "busy": (lambda: tiny_scenario(size=60, duration="30d", seed=5, **busy), None),
    }


def _log(name: str) -> tuple:
    from shopsim.contract.clock import HOUR
    from shopsim.simulation import Simulation
    from shopsim.store.recorder import Recorder

    make, hours = _cases()[name]
    sim = Simulation(make())
    out: list[bytes] = []
    sim.subscribe(Recorder(sim.scenario.start_epoch, type("Log", (), {"write": staticmethod(out.append)})()))
    if hours is None:
        sim.run()
    else:
        sim.run_until(hours * HOUR)
    return sim.scenario, sim.now, b"".join(out).splitlines(keepends=True)


def _write(path: Path, cs, now: int, lines: list[bytes], chunk: int = CHUNK) -> None:
    from shopsim.store.writer import StoreWriter

    store = StoreWriter(f"sqlite:///{path}", cs)
    for i in range(0, len(lines), chunk):
        store.write(b"".join(lines[i:i + chunk]))
    store.close("finished", now)


def digests(path: Path) -> dict[str, str]:
    """Per table, a digest of its rows in rowid order; and one of the schema (tables and indexes)."""
    con = sqlite3.connect(path)
    try:
        schema = con.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").fetchall()
        out = {"sqlite_master": hashlib.sha256(repr(schema).encode()).hexdigest()}
        for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall():
            h = hashlib.sha256()
            cur = con.execute(f'SELECT * FROM "{name}" ORDER BY rowid')
            while rows := cur.fetchmany(1000):
                for row in rows:
                    h.update(repr(row).encode())
                    h.update(b"\n")
            out[name] = h.hexdigest()
        return out
    finally:
        con.close()


def _expected() -> dict:
    return json.loads(EXPECTED.read_text())


@pytest.fixture(scope="module", params=CASES)
def case(request):
    return request.param, _log(request.param)


def test_every_table_holds_what_it_held_before(case, tmp_path):
    name, (cs, now, lines) = case
    want = _expected()[name]
    log = hashlib.sha256(b"".join(lines)).hexdigest()
    assert log == want["log"], f"{name}: the engine's log changed (see the golden tests); the expectation is moot"
    _write(tmp_path / "run.db", cs, now, lines)
    got = digests(tmp_path / "run.db")
    assert {t: d for t, d in got.items() if d != want["tables"].get(t)} == {}
    assert set(got) == set(want["tables"])


def test_tiny_batches_give_the_same_tables(monkeypatch, tmp_path):
    """Batches of a few rows (carts, orders and first reads merged into rows of earlier batches) make the
    same rows, in the same order, as the writer's own batches did."""
    from shopsim.store import writer

    cs, now, lines = _log("busy")
    monkeypatch.setattr(writer, "BATCH_ROWS", 7)
    _write(tmp_path / "run.db", cs, now, lines, chunk=5)
    assert digests(tmp_path / "run.db") == _expected()["busy"]["tables"]


def record() -> None:
    import tempfile

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in _cases():
            cs, now, lines = _log(name)
            path = Path(tmp) / f"{name}.db"
            _write(path, cs, now, lines)
            out[name] = {"events": len(lines), "log": hashlib.sha256(b"".join(lines)).hexdigest(),
                         "tables": digests(path)}
            print(name, len(lines), "lines", file=sys.stderr)
    EXPECTED.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    record()


def test_a_batch_that_fails_halfway_leaves_none_of_its_rows(tmp_path):
    """Rows go in 100 to a statement that keeps the rows before a failing one (INSERT OR FAIL, no statement
    journal); the batch's transaction is rolled back as a whole and the run marked failed."""
    import orjson

    from shopsim.store.errors import StoreError
    from shopsim.store.writer import StoreWriter

    cs, now, lines = _log("quiet_hours")
    store = StoreWriter(f"sqlite:///{tmp_path}/run.db", cs)
    store.write(b"".join(lines[:300]))
    store.flush()
    plain = next(i for i in range(600, len(lines)) if orjson.loads(lines[i])["type"] == "product.viewed")
    # The same line twice, the second time inside a statement of 100 rows: its seq is taken.
    chunk = [lines[plain], *lines[300:plain + 200]]
    assert len(chunk) - len(chunk) % 100 > plain - 300 + 1
    store.write(b"".join(chunk))
    with pytest.raises(StoreError) as failed:
        store.flush()
    assert failed.value.marked
    con = sqlite3.connect(tmp_path / "run.db")
    assert con.execute("SELECT count(*), max(seq) FROM events").fetchone() == (300, 300)
    assert con.execute("SELECT status, events FROM runs").fetchone() == ("failed", 300)
