"""Playing a sweep's runs: from the cache, in this process, on this machine's cores, or on a Dask cluster.

Every run is a pure function of (scenario bytes, overrides, seed), so where it is played changes nothing:
results are keyed by (point, seed) and summed in that order, never in the order runs finished. Workers get
the scenario's text, not its path, so a cluster's machines need shopsim installed, not the file."""

from __future__ import annotations

import os
import re
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Callable, Sequence

from shopsim.calibrate.runner import pool_context, stop_pool, submit_masked, worker_start
from shopsim.sweep.cache import Cache
from shopsim.sweep.grid import Point
from shopsim.sweep.play import Record, play, run_key

Job = tuple[int, int]  # (point index, seed)
# How long a cluster may take to answer before the sweep says it cannot reach it (seconds).
CONNECT_TIMEOUT = 10


class ClusterError(Exception):
    """The cluster cannot be used: the extra is not installed, or the scheduler does not answer."""


@dataclass
class Outcome:
    results: dict[Job, Record] = field(default_factory=dict)
    cached: int = 0            # runs read from the cache
    played: int = 0            # runs played now
    cache_problem: str = ""    # why runs could not be kept, if they could not


class Interrupted(Exception):
    """Ctrl-C or SIGTERM during a sweep; `.outcome` holds the runs that finished (and were cached)."""

    def __init__(self, outcome: Outcome, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.outcome, self.cause = outcome, cause


def run_sweep(text: str, filename: str, points: Sequence[Point], seeds: Sequence[int], *, workers: int,
              cache: Cache, cluster: str | None = None,
              on_done: Callable[[int], None] | None = None) -> Outcome:
    """Every (point, seed) run's record. `on_done(n)` is called with the number of runs finished so far
    (cached ones first), once worker processes are running and then as runs finish."""
    raw = text.encode("utf-8")
    on_done = on_done or (lambda n: None)
    out = Outcome()
    todo: list[tuple[Job, str]] = []
    for p in points:
        for seed in seeds:
            key = run_key(raw, p.settings, seed)
            record = cache.get(key)
            if record is not None:
                out.results[(p.index, seed)] = record
                out.cached += 1
            else:
                todo.append(((p.index, seed), key))
    by_index = {p.index: p for p in points}

    def finished(job: Job, key: str, record: Record) -> None:
        out.results[job] = record
        out.played += 1
        if not out.cache_problem:
            try:
                cache.put(key, record)
            except OSError as e:
                out.cache_problem = f"cannot write the cache at {cache.root}: {e.strerror or e}"
        on_done(len(out.results))

    def call(job: Job) -> tuple:
        return (text, filename, by_index[job[0]].settings, job[1])

    try:
        if cluster is not None and todo:
            _on_cluster(cluster, todo, call, finished, lambda: on_done(len(out.results)))
        elif workers <= 1 or len(todo) <= 1:
            on_done(len(out.results))
            for job, key in todo:
                finished(job, key, play(*call(job)))
        else:
            _on_cores(min(workers, len(todo)), todo, call, finished, lambda: on_done(len(out.results)))
    except (KeyboardInterrupt, SystemExit) as e:
        raise Interrupted(out, e) from None
    return out


def _on_cores(workers: int, todo, call, finished, started) -> None:
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=pool_context(), initializer=worker_start)
    try:
        futures = submit_masked(pool, play, [call(job) for job, _ in todo])
        pending = {f: i for i, f in enumerate(futures)}
        started()
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in sorted(done, key=pending.__getitem__):
                job, key = todo[pending.pop(fut)]
                finished(job, key, fut.result())
    except BaseException:
        stop_pool(pool)
        raise
    pool.shutdown()


_ADDRESS = re.compile(r"(?:(?:tcp|tls|ws|wss|ucx)://)?[A-Za-z0-9.\-\[\]:]+:\d{1,5}/?")


def check_address(address: str) -> None:
    """A scheduler's address as Dask writes it (tcp://HOST:PORT); ClusterError before any connection if not."""
    if not _ADDRESS.fullmatch(address):
        raise ClusterError(f"--cluster {address[:80]!r} is not a scheduler address such as tcp://10.0.0.5:8786")


def _on_cluster(address: str, todo, call, finished, started) -> None:
    check_address(address)
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ClusterError("--cluster needs Dask's distributed scheduler: pip install 'shopsim[dask]'") from None
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as e:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {e}") from None
    futures = []
    try:
        futures = [client.submit(play, *call(job), pure=False) for job, _ in todo]
        index = {f.key: i for i, f in enumerate(futures)}
        started()
        for fut in as_completed(futures, loop=client.loop):
            job, key = todo[index[fut.key]]
            finished(job, key, fut.result())
    except BaseException:
        if futures:
            client.cancel(futures)
        raise
    finally:
        client.close()


def default_workers() -> int:
    return os.cpu_count() or 1
