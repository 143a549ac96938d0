"""`shopsim export` in bounded memory: rows past a table's limit wait on disk (store.spill) and come back when an
event changes them; the files are the same bytes whatever the limit."""

from __future__ import annotations

import io

import pytest

from shopsim.cli.export import write_tables
from shopsim.contract.clock import DAY
from shopsim.simulation import Simulation
from shopsim.store.export_rows import TableBuilder
from shopsim.store.recorder import Recorder
from shopsim.store.runfile import open_run
from shopsim.store.spill import SpillFile, SpillList, SpillStore
from shopsim.validate import load_scenario


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    """Two days of a shipped scenario with flows, coupons, ads, settings changes and orders."""
    sim = Simulation(load_scenario("scenarios/cart_recovery.yaml"), keep_messages=False)
    buf = io.BytesIO()
    sim.subscribe(Recorder(sim.scenario.start_epoch, buf))
    sim.run_until(2 * DAY)
    sim.finish()
    path = tmp_path_factory.mktemp("log") / "run.jsonl"
    path.write_bytes(buf.getvalue())
    return path


def _export(log, out, fmt: str, limit: int) -> dict[str, bytes]:
    run = open_run(log)
    b = TableBuilder(run.start_epoch, limit=limit)
    b.feed(run.events())
    out.mkdir()
    write_tables(b.tables(), out, fmt, run.start_epoch)
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_a_small_limit_gives_the_same_files(log, tmp_path, fmt):
    whole = _export(log, tmp_path / "whole", fmt, limit=10**9)
    spilled = _export(log, tmp_path / "spilled", fmt, limit=7)
    assert whole == spilled
    assert len(whole["notifications." + fmt]) > 10_000


def test_rows_sent_away_come_back_changed_and_in_their_place():
    s = SpillStore(SpillFile(), limit=4)
    for i in range(10):
        s[f"k{i}"] = {"n": i}
    assert s.away and len(s) == 10
    s.get("k0")["n"] = 100          # brought back from disk, changed in place
    s["k1"] = {"n": 101}             # set again: keeps its place, as in a dict
    assert s.get("nope") is None
    for i in range(10, 20):          # k0 and k1 go away again, changed
        s[f"k{i}"] = {"n": i}
    assert [r["n"] for r in s.values()] == [100, 101, *range(2, 20)]
    assert [r["n"] for r in s.values()] == [100, 101, *range(2, 20)]  # read again from the start


def test_a_list_keeps_its_order():
    rows = SpillList(SpillFile(), limit=3)
    for i in range(11):
        rows.append({"i": i})
    assert len(rows) == 11 and [r["i"] for r in rows] == list(range(11))
