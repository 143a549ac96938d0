"""A run split by shopper across processes makes the same bytes as one process (`replay --workers N`)."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from helpers.paths import SCENARIOS
from helpers.properties import notify_scenarios
from shopsim.cli import main
from shopsim.contract import events as E
from shopsim.contract.ids import product_id
from shopsim.scenario.compiled import compile_scenario
from shopsim.scenario.schema import Scenario
from shopsim.simulation import Simulation
from shopsim.store.recorder import Recorder
from shopsim.validate import load_scenario
from shopsim.workers import SplitRun, parts, shared_state



def _replay(tmp_path: Path, name: str, workers: int, *extra: str) -> bytes:
    log = tmp_path / f"{name}-{workers}.jsonl"
    res = CliRunner().invoke(main, ["replay", str(SCENARIOS / f"{name}.yaml"), "--no-db", "--log", str(log),
                                    "--quiet", "--workers", str(workers), *extra])
    assert res.exit_code == 0, res.output + res.stderr
    return log.read_bytes()


# Scripted messages to one shopper and to everyone, a campaign at each zone's local time, digests and caps:
# every kind of run-wide item (policy changes too) and every part of the run's start.
@pytest.mark.parametrize("name", ["night_push_regression", "digests", "frequency_caps", "cap_added"])
def test_one_two_and_four_workers_write_the_same_log(tmp_path, name):
    one = _replay(tmp_path, name, 1)
    assert _replay(tmp_path, name, 2) == one
    assert _replay(tmp_path, name, 4) == one


def test_a_run_stopped_early_is_the_same_split(tmp_path):
    one = _replay(tmp_path, "quiet_hours", 1, "--until", "2d")
    assert _replay(tmp_path, "quiet_hours", 3, "--until", "2d") == one
    assert one.rstrip().rsplit(b"\n", 1)[-1].find(b'"run.finished"') > 0


def _small(name: str, size: int, duration: str) -> Scenario:
    data = load_scenario(SCENARIOS / f"{name}.yaml").model_dump(exclude_unset=True)
    data["population"]["size"] = size
    data["run"]["duration"] = duration
    return Scenario.model_validate(data)


def _log(run, start_epoch: int) -> bytes:
    buf = io.BytesIO()
    run.subscribe(Recorder(start_epoch, buf))
    run.run()
    run.finish()
    return buf.getvalue()


def test_experiments_price_drops_and_campaigns_split_the_same():
    # An experiment's start and arms (a part of the run's start with run-wide events), and a price-drop
    # campaign (run-wide events every part makes: only one copy may stay).
    data = _small("experiment", 120, "3d").model_dump(exclude_unset=True)
    data["catalogue"] = {**data.get("catalogue", {}), "products": 40}
    data["campaigns"] = {
        "drop": {"kind": "price_drop", "at": "1d", "discount": 20, "products": [product_id(3), product_id(7)],
                 "channels": ["push", "email"], "title": "Price drop"},
        "promo": {"kind": "flash_sale", "at": "2d", "local_time": "10:00", "channels": ["email", "push"],
                  "title": "Spring sale", "incentive": {"type": "percent", "value": 10, "prefix": "SPRING"},
                  "ends": "6h"},
        "picks": {"kind": "recommendations", "at": "2d", "channels": ["email"], "title": "Picked for you"}}
    cs = compile_scenario(Scenario.model_validate(data))
    one = _log(Simulation(cs, keep_messages=False), cs.start_epoch)
    assert b'"product.price_changed"' in one and b'"experiment.started"' in one
    assert _log(SplitRun(cs, 3), cs.start_epoch) == one


def test_the_merged_run_counts_what_one_process_counts():
    cs = compile_scenario(_small("cart_recovery", 60, "2d"))
    sim = Simulation(cs, keep_messages=False)
    sim.run()
    split = SplitRun(cs, 2)
    seen: list = []
    split.subscribe(seen.extend)
    split.run()
    assert split.emitted == sim.emitted and split.counts == sim.counts
    assert [ev.seq for ev in seen] == list(range(1, len(seen) + 1))
    assert seen[-1].type == E.RUN_FINISHED and seen[-1].data["shoppers"] == 60


def test_the_database_of_a_split_run_is_the_same(tmp_path):
    def tables(workers: int) -> dict:
        db = tmp_path / f"w{workers}.db"
        res = CliRunner().invoke(main, ["replay", str(SCENARIOS / "opt_out.yaml"), "--db", str(db), "--log",
                                        str(tmp_path / f"w{workers}.jsonl"), "--quiet", "--workers", str(workers)])
        assert res.exit_code == 0, res.output + res.stderr
        con = sqlite3.connect(db)
        names = [r[0] for r in con.execute("select name from sqlite_master where type='table' order by name")]
        return {n: con.execute(f'select * from "{n}" order by 1, 2').fetchall() for n in names}

    assert tables(2) == tables(1)


def test_a_shared_stock_is_refused_before_anything_is_written(tmp_path):
    log = tmp_path / "f.jsonl"
    res = CliRunner().invoke(main, ["replay", str(SCENARIOS / "flash_sale.yaml"), "--workers", "2", "--log",
                                    str(log), "--no-db"])
    assert res.exit_code == 2
    assert f"{SCENARIOS / 'flash_sale.yaml'}:" in res.stderr and ".stock: --workers 2:" in res.stderr
    assert "Traceback" not in res.stderr and not log.exists()
    assert shared_state(compile_scenario(load_scenario(SCENARIOS / "default.yaml"))) is None


@given(size=st.integers(1, 5000), workers=st.integers(1, 64))
def test_parts_cover_the_population_once_in_order(size, workers):
    ps = parts(size, workers)
    assert len(ps) == min(size, workers)
    assert ps[0][0] == 0 and ps[-1][1] == size
    assert all(a[1] == b[0] for a, b in zip(ps, ps[1:]))
    sizes = [hi - lo for lo, hi in ps]
    assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1


def test_a_worker_killed_mid_run_ends_the_replay_with_a_message(tmp_path, monkeypatch):
    import shopsim.workers as W

    def dies(model, seed, part, until, conn):  # in the parent's stead: a part that ends without a word
        conn.close()

    monkeypatch.setattr(W, "_worker", dies)
    monkeypatch.setattr(W.multiprocessing, "get_context", lambda _kind: _Inline())
    log = tmp_path / "k.jsonl"
    res = CliRunner().invoke(main, ["replay", str(SCENARIOS / "opt_out.yaml"), "--workers", "2", "--no-db",
                                    "--log", str(log), "--quiet"])
    assert res.exit_code == 2, res.output
    assert "a worker process ended without finishing its part" in res.stderr and "Traceback" not in res.stderr
    assert b"run.finished" not in log.read_bytes()


class _Inline:
    """A multiprocessing context whose processes run their target at once, in this process."""

    def Pipe(self, duplex=False):
        import multiprocessing

        return multiprocessing.Pipe(duplex)

    def Process(self, target, args, daemon):
        class P:
            def start(self):
                target(*args)

            def is_alive(self):
                return False

            def join(self):
                pass

        return P()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=notify_scenarios(), workers=st.integers(2, 5))
def test_any_small_scenario_merges_into_the_one_process_log(data, workers):
    # The merge itself, on many scenarios: parts played one after another in this process.
    cs = compile_scenario(Scenario.model_validate(data))
    assume(shared_state(cs) is None)
    one = _log(Simulation(cs, keep_messages=False), cs.start_epoch)
    assert _log(SplitRun(cs, workers, processes=False), cs.start_epoch) == one
