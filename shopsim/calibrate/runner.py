"""Play one scenario over N seeds and summarise each anchor's measure over them.

Each seed is played as `shopsim replay --seed S` plays it (compiled with that seed, `keep_messages=False`),
with no storage and a live `Metrics`; only the anchors' numbers leave the run, so the traffic between
processes is a few floats per seed. Seeds run in a pool of processes (fork where the platform has it, else
spawn), and every worker loads the scenario file itself (and refuses it if it has changed since the
calibration began). Results are put back in seed order and summed exactly, so they do not depend on the
number of workers or on which one finished first."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import signal
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from shopsim.calibrate.anchors import BY_ID, Anchor
from shopsim.calibrate.stats import Spread, ratio_spread, spread
from shopsim.metrics.kpis import Metrics
from shopsim.scenario.compiled import compile_scenario
from shopsim.scenario.loader import read_scenario
from shopsim.scenario.schema import Scenario
from shopsim.simulation import Simulation

MAX_SEED = 2**63 - 1

Values = tuple["float | None", ...]  # one seed's measures, in the order of the anchor ids asked for


@dataclass(frozen=True)
class Row:
    """One anchor over the seeds: its value on each seed (None where the run had nothing to measure)."""
    anchor: Anchor
    values: tuple[float | None, ...]
    spread: Spread               # over the seeds that gave a number

    @property
    def inside(self) -> bool:
        return self.anchor.inside(self.spread.mean)


@dataclass(frozen=True)
class Calibration:
    scenario: str                # the scenario's run.name
    path: str                    # the file as given on the command line (resolved like replay's)
    seeds: tuple[int, ...]
    rows: tuple[Row, ...]        # the anchors that apply, in the order of ANCHORS
    not_applicable: tuple[Anchor, ...]

    @property
    def inside(self) -> bool:
        return all(r.inside for r in self.rows)


def seeds_of(model: Scenario, n: int) -> tuple[int, ...]:
    """run.seed, run.seed + 1, ..., run.seed + n - 1; ValueError past the largest seed."""
    first = model.run.seed
    if first + n - 1 > MAX_SEED:
        raise ValueError(f"{n} seeds from the scenario's seed {first} go past the largest seed, {MAX_SEED}")
    return tuple(range(first, first + n))


def measure_seed(model: Scenario, seed: int, ids: Sequence[str]) -> Values:
    """Play `model` with `seed` headless and read each anchor's measure from its KPIs."""
    sim = Simulation(compile_scenario(model, seed), keep_messages=False)
    metrics = Metrics()
    sim.subscribe(metrics, texts=False)
    sim.run()
    sim.finish()
    result = metrics.result()
    _add_arm_categories(metrics, result)
    return tuple(BY_ID[i].measure(result) for i in ids)


def _add_arm_categories(metrics: Metrics, result: dict) -> None:
    """Give each experiment arm's row its message KPIs per category (`categories`), as `reminder_timing`
    reads them, when `Metrics.result()` does not already: each arm is a `Metrics` of its own shoppers, and
    its own `result()` has them."""
    for name, experiment in (result.get("experiments") or {}).items():
        for variant, row in (experiment.get("variants") or {}).items():
            arm = metrics.arms.get((name, variant))
            if arm is not None and isinstance(row, dict) and "categories" not in row:
                row["categories"] = arm.result().get("categories", {})


# --- worker processes --------------------------------------------------------------------------------------

class ScenarioChanged(Exception):
    """The scenario file a worker read is not the one the calibration started with."""


_worker_model: tuple[str, str, Scenario] | None = None


# A worker leaves Ctrl-C to the parent (it reaches the whole process group, and the parent stops the
# workers), and dies at once when the parent terminates it, whatever handler it inherited.
_WORKER_SIGNALS = {signal.SIGINT: signal.SIG_IGN, signal.SIGTERM: signal.SIG_DFL}
_MASKABLE = hasattr(signal, "pthread_sigmask")


def worker_start() -> None:
    for sig, handler in _WORKER_SIGNALS.items():
        signal.signal(sig, handler)
    if _MASKABLE:  # a forked worker starts with the signals the parent blocked around the fork
        signal.pthread_sigmask(signal.SIG_UNBLOCK, set(_WORKER_SIGNALS))


def _digest(path: str | os.PathLike[str]) -> str:
    with open(path, "rb") as f:
        return hashlib.blake2b(f.read(), digest_size=16).hexdigest()


def _worker_seed(path: str, digest: str, seed: int, ids: tuple[str, ...]) -> Values:
    global _worker_model
    if _worker_model is None or _worker_model[:2] != (path, digest):
        try:
            same = _digest(path) == digest
        except OSError:
            same = False
        if not same:  # every seed must play the scenario the first one played
            raise ScenarioChanged(f"{path} changed while the seeds were playing")
        # The parent judged these very bytes with every check (shopsim.validate); the scenario's own are enough
        # to read them again, and keep calibrate below validate, which checks the anchors a scenario names.
        _worker_model = (path, digest, read_scenario(path, checks=()))
    return measure_seed(_worker_model[2], seed, ids)


def pool_context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def default_workers() -> int:
    return os.cpu_count() or 1


def play_seeds(path: str | os.PathLike[str], model: Scenario, seeds: Sequence[int], ids: Sequence[str],
               workers: int, on_seed: Callable[[int], None] | None = None) -> list[Values]:
    """Each seed's measures, in seed order. With one worker (or one seed) the seeds run in this process;
    otherwise in min(workers, seeds) processes. `on_seed(done)` is called with 0 once the workers are
    running (so a caller can start threads of its own only after the fork), then as seeds finish.

    On any exception (KeyboardInterrupt included) the workers are stopped before it propagates."""
    ids = tuple(ids)
    on_seed = on_seed or (lambda done: None)
    if workers <= 1 or len(seeds) <= 1:
        on_seed(0)
        out = []
        for seed in seeds:
            out.append(measure_seed(model, seed, ids))
            on_seed(len(out))
        return out
    try:
        digest = _digest(path)
    except OSError as e:
        raise ScenarioChanged(f"cannot read {os.fspath(path)} again: {e.strerror or e}") from None
    pool = ProcessPoolExecutor(max_workers=min(workers, len(seeds)), mp_context=pool_context(),
                               initializer=worker_start)
    results: list[Values | None] = [None] * len(seeds)
    try:
        futures = submit_masked(pool, _worker_seed, [(os.fspath(path), digest, seed, ids) for seed in seeds])
        pending: dict[Future, int] = {f: i for i, f in enumerate(futures)}
        on_seed(0)
        done = 0
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                results[pending.pop(fut)] = fut.result()
                done += 1
                on_seed(done)
    except BaseException:
        stop_pool(pool)
        raise
    pool.shutdown()
    return results  # type: ignore[return-value]


def submit_masked(pool: ProcessPoolExecutor, fn: Callable, calls: Sequence[tuple]) -> list[Future]:
    """`pool.submit(fn, *args)` for each args, in order. With fork the pool starts every worker at the first
    submit. Ctrl-C and SIGTERM are blocked around it: a child then runs nothing with the parent's handlers
    (it unblocks them once it has set its own), and a signal that comes meanwhile waits, then reaches the
    parent as soon as they are unblocked."""
    masked = _MASKABLE and threading.current_thread() is threading.main_thread()
    if masked:
        signal.pthread_sigmask(signal.SIG_BLOCK, set(_WORKER_SIGNALS))
    try:
        return [pool.submit(fn, *args) for args in calls]
    finally:
        if masked:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, set(_WORKER_SIGNALS))


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Stop the workers now: cancel what has not started and end the seeds being played."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for p in processes:
        if p.is_alive():
            p.terminate()
    for p in processes:
        p.join(2)
        if p.is_alive():  # it never got to set its handlers
            p.kill()
    pool.shutdown(wait=True, cancel_futures=True)


# --- summing up --------------------------------------------------------------------------------------------

def calibrate(path: str | os.PathLike[str], model: Scenario, n_seeds: int, anchors: Sequence[Anchor],
              workers: int, on_seed: Callable[[int], None] | None = None) -> Calibration:
    """Play `n_seeds` seeds and summarise every anchor in `anchors` that applies (its measure gives a number
    on the first seed)."""
    seeds = seeds_of(model, n_seeds)
    ids = [a.id for a in anchors]
    per_seed = play_seeds(path, model, seeds, ids, workers, on_seed)
    rows, not_applicable = [], []
    for j, anchor in enumerate(anchors):
        values = tuple(v[j] for v in per_seed)
        if values[0] is None:
            not_applicable.append(anchor)
            continue
        measured = [x for x in values if x is not None]
        rows.append(Row(anchor, values, ratio_spread(measured) if anchor.unit == "ratio" else spread(measured)))
    return Calibration(model.run.name, os.fspath(Path(path)), seeds, tuple(rows), tuple(not_applicable))
