"""One run played by several processes: the population split by shopper, the parts merged into the very events
(and so the very log bytes) one process makes.

Shoppers are independent by construction: each draws from her own random streams, her ids count her own
carts, orders and messages, and the queue breaks ties by shopper index before insertion order. So part
`lo..hi` of a population, played alone (`Simulation(part=...)`), makes exactly the events the whole run makes
for those shoppers, in the same order, plus the run-wide ones (the start, price drops, campaign sends and
scripted messages to everyone), which every part plays. Each part's kernel marks which queue item emitted
which events (`sim.kernel.MarkedKernel`); merging the parts' items by that key, part after part where a
run-wide item ties, and keeping the run-wide events that belong to no shopper from the first part only, gives
the single process's order. `run.finished` is written by the merge, for the whole population.

What shoppers do share is refused: a campaign's limited stock is taken by whoever orders first, across the
whole population, so a scenario with one is played in one process (`shared_state`).

The parent holds one batch per part at most: each part writes to a pipe that a reader thread drains into a
small queue, and a part that runs ahead blocks on it (back-pressure), so memory stays flat however long the run.
"""

from __future__ import annotations

import multiprocessing
import pickle
import queue
import signal
import threading
from heapq import merge
from operator import itemgetter
from time import perf_counter
from typing import Any, Callable, Iterator, NamedTuple

from shopsim.contract import events as E
from shopsim.contract.clock import iso
from shopsim.contract.events import Event
from shopsim.scenario.compiled import CompiledScenario, compile_scenario
from shopsim.sim.kernel import FLUSH_EVERY, MarkedKernel, Observer
from shopsim.simulation import Simulation

_new_event = tuple.__new__
QUEUED_BATCHES = 4  # per part, between its pipe and the merge
EVENTS, DONE, FAILED = b"E", b"D", b"F"  # what a worker's message is: its first byte


class WorkerLost(Exception):
    """A worker process ended without finishing its part (killed, or out of memory): the run cannot go on."""


class Shared(NamedTuple):
    """What the shoppers of a scenario share, so that it cannot be split: where it is in the file, and why."""
    path: tuple[str, ...]
    reason: str


def shared_state(cs: CompiledScenario) -> Shared | None:
    """What makes this scenario's shoppers depend on each other, or None when it can be split by shopper."""
    for name, c in cs.model.campaigns.items():
        if c.stock is not None:
            return Shared(("campaigns", name, "stock"),
                          "a limited stock is shared by every shopper (whoever orders first takes it), so the "
                          "population cannot be split across processes; play it with one worker")
    return None


def parts(size: int, workers: int) -> list[tuple[int, int]]:
    """Contiguous ranges of shoppers, as equal as can be, one per worker (no more workers than shoppers)."""
    n = max(1, min(workers, size))
    return [(size * i // n, size * (i + 1) // n) for i in range(n)]


def _worker(model, seed: int, part: tuple[int, int], until: int, conn) -> None:
    """A worker process's whole life."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what a Ctrl-C stops
    _play_part(model, seed, part, until, conn)


def _play_part(model, seed: int, part: tuple[int, int], until: int, conn) -> None:
    """Play one part and send its events with their marks, batch by batch, then DONE (or FAILED)."""
    try:
        cs = compile_scenario(model, seed)
        sim = Simulation(cs, keep_messages=False, part=part)
        dumps = pickle.dumps

        def send(batch: list[Event], marks: list[tuple]) -> None:
            conn.send_bytes(EVENTS + dumps(([ev[1:] for ev in batch], marks), protocol=pickle.HIGHEST_PROTOCOL))

        sim.subscribe(send)  # type: ignore[arg-type]  # a MarkedKernel calls observers with (batch, marks)
        sim.run_until(until)
        sim.finish()
        conn.send_bytes(DONE)
    except BaseException as e:  # handed to the parent, which raises it where a one-process run would
        try:
            payload = FAILED + pickle.dumps(e)
        except Exception:
            payload = FAILED + pickle.dumps(RuntimeError(f"{type(e).__name__}: {e}"))
        try:
            conn.send_bytes(payload)
        except OSError:
            pass
    finally:
        conn.close()


class SplitRun:
    """A run played by `workers` processes, seen as one: the replay's API of a Simulation (subscribe,
    run_until, run, finish, now, end, emitted, counts, scenario, iso), with the same events in the same order.
    The parts play to `until` on their own; run_until(t) hands observers the merged events up to t."""

    def __init__(self, cs: CompiledScenario, workers: int, until: int | None = None, processes: bool = True):
        """`processes=False` plays the parts one after another in this process, each held whole in memory:
        the same merge, for tests of it on many small scenarios without the cost of starting processes."""
        shared = shared_state(cs)
        if shared is not None:
            raise ValueError(f"{'.'.join(shared.path)}: {shared.reason}")
        self.scenario = cs
        self.seed = cs.seed
        self.end = cs.duration
        self.until = self.end if until is None else min(until, self.end)
        self.now = 0
        self.emitted = 0
        self.counts: dict[str, int] = {}
        self.started = self.finished = False
        self.parts = parts(cs.size, workers)
        self.processes = processes
        self._observers: list[Observer] = []
        self._procs: list[Any] = []
        self._merged: Iterator[tuple] | None = None
        self._head: tuple | None = None
        self._out: list[Event] = []

    # --- the Simulation API a replay uses ----------------------------------------------------------

    def subscribe(self, observer: Observer) -> Callable[[], None]:
        self._observers.append(observer)
        return lambda: self._observers.remove(observer)

    def iso(self, t: int | None = None) -> str:
        return iso(self.scenario.start_epoch + (self.now if t is None else t))

    def run(self) -> None:
        self.run_until(self.end)

    def run_until(self, t: int, deadline: float | None = None, clock: Callable[[], float] = perf_counter) -> bool:
        """Hand observers every merged event up to virtual time t (clamped to the parts' end)."""
        if deadline is not None:
            raise NotImplementedError("a split run plays without a deadline")
        self._start()
        limit = min(t, self.until)
        while self._peek() is not None and self._head[0][0] <= limit:
            self._take(self._head)
            self._head = None
        self.now = max(self.now, limit)
        if t >= self.end:
            self.finish()
        self._flush()
        return True

    def finish(self) -> None:
        """Take what the parts still have, then end the run with `run.finished` for the whole population."""
        if self.finished:
            return
        self._start()
        while self._peek() is not None:
            self._take(self._head)
            self._head = None
        self.now = max(self.now, self.until)
        self.finished = True
        counts = dict(sorted(self.counts.items()))
        self._emit(self.now, E.RUN_FINISHED, None, {"events": self.emitted + 1, "counts": counts,
                                                   "shoppers": self.scenario.size})
        self._flush()
        self.close()

    def close(self) -> None:
        """Stop the workers (after a finished run they have already ended)."""
        for p in self._procs:
            if p.is_alive():
                p.terminate()
        for p in self._procs:
            p.join()
        self._procs = []

    # --- internals --------------------------------------------------------------------------------

    def _start(self) -> None:
        if self.started:
            return
        self.started = True
        model = self.scenario.model
        ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no state inherited from the parent
        streams = []
        for part in self.parts:
            if self.processes:
                recv, send = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_worker, args=(model, self.seed, part, self.until, send), daemon=True)
                proc.start()
                send.close()
                q: queue.Queue = queue.Queue(QUEUED_BATCHES)
                threading.Thread(target=_drain, args=(recv, q), daemon=True).start()
                self._procs.append(proc)
            else:
                q = queue.Queue()
                _play_part(model, self.seed, part, self.until, _Queued(q))
            streams.append(self._items(q, len(streams)))
        # merge() keeps the order of its inputs among equal keys: part 0's run-wide items come first.
        self._merged = merge(*streams, key=itemgetter(0))

    def _items(self, q: queue.Queue, part: int) -> Iterator[tuple]:
        """One part's queue items: (key, part, events, first, last), in the part's order."""
        while True:
            msg = q.get()
            if msg[:1] == DONE:
                return
            if msg[:1] == FAILED:
                self.close()
                raise pickle.loads(msg[1:])
            events, marks = pickle.loads(msg[1:])
            i = 0
            for t, prio, idx, ordinal, n in marks:
                yield (t, prio, idx, ordinal), part, events, i, i + n
                i += n

    def _peek(self) -> tuple | None:
        if self._head is None and self._merged is not None:
            self._head = next(self._merged, None)
            if self._head is None:
                self._merged = None
        return self._head

    def _take(self, item: tuple) -> None:
        key, part, events, i, j = item
        if key[2] == MarkedKernel.FINISH:
            return
        # The events of a run-wide item that belong to no shopper (run.started, an experiment's start, a price
        # change) depend on no shopper, so every part makes the same ones: part 0's copy is kept.
        out, counts, seq = self._out, self.counts, self.emitted  # _emit inlined: this runs once per event
        for t, type_, shopper, data in events[i:j]:
            if shopper is None and part:
                continue
            seq += 1
            out.append(_new_event(Event, (seq, t, type_, shopper, data)))
            counts[type_] = counts.get(type_, 0) + 1
        self.emitted = seq
        if len(out) >= FLUSH_EVERY:
            self._flush()

    def _emit(self, t: int, type_: str, shopper: str | None, data: dict) -> None:
        self.emitted = seq = self.emitted + 1
        self._out.append(_new_event(Event, (seq, t, type_, shopper, data)))
        self.counts[type_] = self.counts.get(type_, 0) + 1
        if len(self._out) >= FLUSH_EVERY:
            self._flush()

    def _flush(self) -> None:
        batch, self._out = self._out, []
        if batch:
            for obs in self._observers:
                obs(batch)


class _Queued:
    """A part's connection when it plays in this process: its messages go straight to its queue."""

    def __init__(self, q: queue.Queue):
        self.send_bytes, self.close = q.put, lambda: None


def _drain(conn, q: queue.Queue) -> None:
    """A reader thread: move one part's messages from its pipe to its queue (blocking when the queue is full)."""
    try:
        while True:
            msg = conn.recv_bytes()
            q.put(msg)
            if msg[:1] != EVENTS:  # done, or failed: the part has nothing more to say
                return
    except (EOFError, OSError):
        q.put(FAILED + pickle.dumps(WorkerLost("a worker process ended without finishing its part (killed, or out "
                                               "of memory?)")))
    finally:
        conn.close()
