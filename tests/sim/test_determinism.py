"""Determinism: the same scenario and seed give a byte-identical event log, however the run is driven."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import orjson
import pytest

from helpers.paths import FIXTURES, GOLDEN, ROOT, TESTS
from helpers.runs import replay_events, replay_lines
from helpers.scenarios import tiny_scenario
from shopsim.validate import load_scenario
from shopsim.simulation import Simulation
from shopsim.contract.events import RUN_FINISHED, RUN_STARTED

GOLDEN_SCENARIO = FIXTURES / "golden_small.yaml"
GOLDEN_DIGEST = GOLDEN / "golden_small.sha256"
GOLDEN_HEAD = GOLDEN / "golden_small.head.jsonl"
HEAD_LINES = 40


def _scripted_scenario(size: int):
    return tiny_scenario(size=size, duration="3d", seed=5, events=[
        {"at": "20h", "shopper": "s000002", "settings": {"marketing_consent": False}},
        {"at": "1d2h", "shopper": "s000004", "session": True, "signin": True},
    ])


def test_same_seed_same_bytes_in_process():
    sc = _scripted_scenario(25)
    first, second = replay_lines(sc), replay_lines(sc)
    assert first.count(b"\n") > 100, "the scenario should produce a real log"
    assert first == second


_CHILD = """
import hashlib, sys
sys.path.insert(0, {tests!r})
from helpers.runs import replay_lines
from shopsim.validate import load_scenario
sys.stdout.write(hashlib.sha256(replay_lines(load_scenario({path!r}))).hexdigest())
"""


def _digest_in_subprocess(hashseed: str) -> str:
    env = dict(os.environ, PYTHONHASHSEED=hashseed, PYTHONPATH=str(ROOT))
    code = _CHILD.format(tests=str(TESTS), path=str(GOLDEN_SCENARIO))
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


def test_same_bytes_across_hash_seeds():
    """Catches any dependence on set/dict-of-str iteration order, which PYTHONHASHSEED changes."""
    here = hashlib.sha256(replay_lines(load_scenario(GOLDEN_SCENARIO))).hexdigest()
    assert _digest_in_subprocess("123") == here
    assert _digest_in_subprocess("999") == here


def test_different_seed_different_log():
    sc = tiny_scenario(size=20, duration="2d")
    a, b = replay_lines(sc, seed=1), replay_lines(sc, seed=2)
    assert a != b
    # Not just the seed field: the simulated behaviour itself differs.
    strip = lambda log: [l for l in log.splitlines()[1:]]  # noqa: E731
    assert strip(a) != strip(b)


def _by_shopper(events):
    out = defaultdict(list)
    for ev in events:
        out[ev.shopper].append((ev.t, ev.type, ev.data))
    return out


def test_adding_a_shopper_leaves_the_others_unchanged():
    n = 25
    small, big = replay_events(_scripted_scenario(n)), replay_events(_scripted_scenario(n + 1))
    new_id = f"s{n + 1:06d}"
    a, b = _by_shopper(small), _by_shopper(big)
    assert set(b) - set(a) == {new_id}
    assert b[new_id][0][1] == "shopper.created"
    for sid in a:
        if sid is None:
            continue
        assert a[sid] == b[sid], f"shopper {sid} changed when shopper {new_id} was added"
    # Same interleaving too: removing the new shopper's events from the big run gives the small run,
    # up to seq and the run-wide fields that count shoppers and events.
    rest = [ev for ev in big if ev.shopper != new_id]
    assert [(e.t, e.type, e.shopper) for e in rest] == [(e.t, e.type, e.shopper) for e in small]
    s_start, b_start = small[0].data, rest[0].data
    assert (s_start["shoppers"], b_start["shoppers"]) == (n, n + 1)
    assert {k: v for k, v in s_start.items() if k != "shoppers"} == {k: v for k, v in b_start.items() if k != "shoppers"}
    assert small[-1].type == rest[-1].type == RUN_FINISHED
    assert small[-1].t == rest[-1].t


def _collect(sim: Simulation) -> list:
    out: list = []
    sim.subscribe(out.extend)
    return out


def _key(events):
    return [(e.seq, e.t, e.type, e.shopper, e.data) for e in events]


def _reference_and_fresh(sc):
    """The events of a plain run(), and a fresh simulation of the same scenario with its collected events."""
    ref = Simulation(sc)
    expected = _collect(ref)
    ref.run()
    sim = Simulation(sc)
    return expected, sim, _collect(sim)


def test_run_until_in_uneven_chunks_matches_run():
    expected, sim, got = _reference_and_fresh(_scripted_scenario(20))
    t, sizes = 0, [1, 997, 3_600_000, 17, 12_345_678, 0, 86_400_000, 5]
    i = 0
    while not sim.finished:
        t += sizes[i % len(sizes)]
        i += 1
        sim.run_until(t)
        assert sim.now == min(t, sim.end)
    assert _key(got) == _key(expected)


def test_step_by_step_matches_run_until_the_end():
    """step() to the end returns exactly what observers get, run.finished (at the run's end) included,
    and the whole log equals run()'s."""
    expected, sim, got = _reference_and_fresh(_scripted_scenario(20))
    returned = []
    while not sim.finished:
        batch = sim.step()
        assert batch or sim.finished, "step() must emit at least one event until the run is finished"
        returned.extend(batch)
    assert sim.step() == []
    assert _key(returned) == _key(got) == _key(expected)
    assert returned[-1].type == RUN_FINISHED and returned[-1].t == sim.end


def test_mixed_stepping_matches_run():
    """step() a little, run_until a chunk, step again, then run(): still the same log."""
    expected, sim, got = _reference_and_fresh(_scripted_scenario(15))
    for _ in range(40):
        sim.step()
    sim.run_until(sim.end // 3)
    for _ in range(25):
        sim.step()
    sim.run()
    assert _key(got) == _key(expected)


# --- golden log -------------------------------------------------------------------------------------

def _golden_log() -> list[bytes]:
    """The golden scenario's log lines, with run.started's `version` removed so releases do not churn it."""
    lines = replay_lines(load_scenario(GOLDEN_SCENARIO)).splitlines(keepends=True)
    first = orjson.loads(lines[0])
    assert first["type"] == RUN_STARTED
    first.pop("version")
    lines[0] = orjson.dumps(first, option=orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE)
    return lines


def test_golden_digest():
    lines = _golden_log()
    digest = hashlib.sha256(b"".join(lines)).hexdigest()
    head = b"".join(lines[:HEAD_LINES])
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN_DIGEST.parent.mkdir(exist_ok=True)
        GOLDEN_DIGEST.write_text(digest + "\n")
        GOLDEN_HEAD.write_bytes(head)
        return
    assert GOLDEN_DIGEST.exists(), f"no golden digest yet; create it with UPDATE_GOLDEN=1 pytest {__file__}"
    stored = GOLDEN_DIGEST.read_text().strip()
    if digest == stored:
        return
    detail = "the first 40 lines match the stored head; the difference is further down"
    if GOLDEN_HEAD.exists():
        old = GOLDEN_HEAD.read_bytes().splitlines()
        new = head.splitlines()
        for i, (o, n) in enumerate(zip(old, new), start=1):
            if o != n:
                detail = f"first differing line {i}:\n  stored: {o.decode()}\n  now:    {n.decode()}"
                break
        else:
            if len(old) != len(new):
                detail = f"the head has {len(new)} lines now, {len(old)} stored"
    pytest.fail(
        f"the event log of {GOLDEN_SCENARIO.name} changed (sha256 {digest}, stored {stored}).\n{detail}\n"
        "This means the engine's observable behaviour changed for the same scenario and seed. If that was "
        "on purpose (a new event, a new field, a model change), regenerate the golden files with\n"
        f"  UPDATE_GOLDEN=1 python -m pytest {Path(__file__).relative_to(ROOT)} -k golden\n"
        "and commit tests/golden/ with the change, saying why in the message. If it was not on purpose, "
        "it is a regression (or a determinism bug): do not regenerate."
    )
