"""The discrete-event kernel: a virtual clock, a heap of plain tuples, reactors and observers. It knows no
process: the composition root (shopsim/simulation.py) builds the processes, and each registers its handlers
and reactions here.

Queue items are ordered by `(t, priority, shopper_index, insertion_seq)`. Ties break by priority, then
shopper index, then insertion order, so the order never depends on anything but the scenario and the seed.
The heap holds that order packed into one int per item (`key()`), with `(kind, shopper_index, payload)` kept
beside it by key: a heap of ints compares each pair once, in C, where a heap of tuples compares them element
by element, and at a large population the heap's comparisons are a tenth of the engine's time. Cancellation is lazy: a handler compares the token in its payload with the shopper's current
one and returns if it is stale, so voiding a timer costs nothing.
"""

from __future__ import annotations

import gc
from heapq import heappop, heappush
from time import perf_counter
from typing import Any, Callable, Sequence

from shopsim.contract import events as E
from shopsim.contract.events import Event

Observer = Callable[[list[Event]], Any]
Handler = Callable[[Any, Any], None]  # (the shopper at the entry's index, or None; the payload)
FLUSH_EVERY = 4096
_new_event = tuple.__new__
PRIO_SCRIPT = 0  # a scenario's scripted events run before anything else due at the same instant
PRIO_NORMAL = 1
SEQ_BITS = 40  # items scheduled in one run
INDEX_BITS = 24  # shopper index + 1 (0: run-wide items); populations stop at 1,000,000 (schema.MAX_SHOPPERS)
PRIO_SHIFT = INDEX_BITS + SEQ_BITS
T_SHIFT = PRIO_SHIFT + 1


def key(t: int, prio: int, shopper: int, seq: int) -> int:
    """An item's place in the queue as one int: (t, prio, shopper, seq) in that order of significance."""
    return (t << T_SHIFT) | (prio << PRIO_SHIFT) | ((shopper + 1) << SEQ_BITS) | seq


class Kernel:
    """The loop. Processes call register/schedule/emit/on; front ends drive it through the Simulation.
    Nothing here does I/O or reads the wall clock (a deadline's clock is passed in)."""

    def __init__(self, end: int, shoppers: Sequence[Any], members: Sequence[Any] | None = None):
        self.end = end
        self.now = 0
        self.shoppers = shoppers  # handlers receive shoppers[entry's index]
        # The shoppers this kernel plays, in index order: all of them, or one part of a split population
        # (shopsim/workers.py), where `shoppers` holds None at the indexes other processes play.
        self.members = shoppers if members is None else members
        self.counts: dict[str, int] = {}
        self.started = False
        self.finished = False
        self._queue: list[int] = []  # keys; commerce's hottest handler pushes here directly, with _qseq
        self._items: dict[int, tuple[int, int, Any]] = {}  # key -> (kind, shopper index, payload)
        self._qseq = 0
        self._seq = 0
        self._out: list[Event] = []
        # Work that only completes events of the buffer (a message's text): done as its batch goes to an
        # observer or a caller, skipped when nobody receives it (a headless run that only counts).
        self._later: list[tuple] = []
        self._readers = 0  # observers that read what `later` jobs complete
        self._observers: list[Observer] = []
        self._reactors: dict[str, list[Callable[[Event], None]]] = {}
        self._handlers: list[Handler] = []
        self._starters: list[Callable[[], None]] = []

    # --- what processes use ---------------------------------------------------------------------

    def register(self, handler: Handler) -> int:
        """A handler for queue items; returns the `kind` to schedule them with."""
        self._handlers.append(handler)
        return len(self._handlers) - 1

    def schedule(self, t: int, kind: int, shopper: int, payload: Any = None, prio: int = PRIO_NORMAL) -> None:
        if t > self.end:
            return
        if t < self.now:  # the log's time must never go back: a past time is a bug in the caller
            raise ValueError(f"cannot schedule at {t} ms, before now ({self.now} ms)")
        self._qseq = seq = self._qseq + 1
        k = (t << T_SHIFT) | (prio << PRIO_SHIFT) | ((shopper + 1) << SEQ_BITS) | seq
        heappush(self._queue, k)
        self._items[k] = (kind, shopper, payload)

    def emit(self, type_: str, shopper: str | None, data: dict[str, Any]) -> Event:
        self._seq = seq = self._seq + 1
        ev = _new_event(Event, (seq, self.now, type_, shopper, data))
        self._out.append(ev)
        counts = self.counts
        counts[type_] = counts.get(type_, 0) + 1
        reactions = self._reactors.get(type_)
        if reactions is not None:
            for react in reactions:
                react(ev)
        return ev

    def later(self, job: tuple) -> None:
        """`job[0](*job[1:])` before the events emitted so far reach anyone who reads texts; never otherwise.
        The job must depend only on what it holds, not on state that changes meanwhile."""
        self._later.append(job)

    def on(self, type_: str, react: Callable[[Event], None]) -> None:
        """React inside the run, synchronously, to every event of a type, in the order reactions were added."""
        self._reactors.setdefault(type_, []).append(react)

    def on_start(self, start: Callable[[], None]) -> None:
        """Call `start()` once, when the run begins (the first step, or the first change a user makes)."""
        self._starters.append(start)

    def section(self) -> None:
        """The start of the run moves on to its next part (e.g. from the shoppers to the experiments): only a
        split run's kernel (MarkedKernel) keeps the boundary, to merge its parts in the right order."""

    def flush_if_full(self) -> None:
        """Hand observers what is buffered once it is a full batch (long loops at one instant call this)."""
        if len(self._out) >= FLUSH_EVERY:
            self._flush()

    # --- what the simulation's front-end API uses -------------------------------------------------

    def subscribe(self, observer: Observer, *, texts: bool = True) -> Callable[[], None]:
        """Call `observer(batch)` with every event, in order, in batches. Returns an unsubscribe function.
        `texts=False`: the observer never reads a message's title or body (KPIs), so they need not be made."""
        self._observers.append(observer)
        self._readers += texts

        def unsubscribe() -> None:
            self._observers.remove(observer)
            self._readers -= texts
        return unsubscribe

    @property
    def emitted(self) -> int:
        return self._seq

    @property
    def next_time(self) -> int | None:
        return self._queue[0] >> T_SHIFT if self._queue else None

    def begin(self) -> None:
        """Start the run if it has not started (idempotent)."""
        if not self.started:
            self.started = True
            for start in self._starters:
                start()

    def step(self) -> list[Event]:
        """Process queue items until at least one event is emitted; returns those events."""
        if not self.started:
            self.begin()
        elif not self._out:
            while self._queue and not self._out:
                k = heappop(self._queue)
                kind, idx, payload = self._items.pop(k)
                self.now = k >> T_SHIFT
                self._handlers[kind](self.shoppers[idx] if idx >= 0 else None, payload)
            if not self._queue and not self._out:
                self.now = self.end  # nothing left: the clock runs out to the end
                self._finish()
        return self._flush(True)

    def run_until(self, t: int, deadline: float | None = None, clock: Callable[[], float] = perf_counter) -> bool:
        """Process everything up to and including virtual time t (clamped to the run's end); with a
        deadline, stop early between two queue items once `clock()` passes it and return False."""
        if not self.started:
            self.begin()
        limit = min(t, self.end)
        # The hot loop makes millions of small acyclic objects, so the cyclic collector would only rescan the
        # population over and over: pause it meanwhile.
        gc_was_on = gc.isenabled()
        gc.disable()
        try:
            if not self._play(limit, deadline, clock):
                self._flush()
                return False
        finally:
            if gc_was_on:
                gc.enable()
        self.now = max(self.now, limit)
        if t >= self.end:
            self._finish()
        self._flush()
        return True

    def _play(self, limit: int, deadline: float | None, clock: Callable[[], float]) -> bool:
        """Pop and dispatch queue items up to `limit`, flushing in batches; False if the deadline passed."""
        q, items, handlers, shoppers = self._queue, self._items, self._handlers, self.shoppers
        last = ((limit + 1) << T_SHIFT) - 1  # the greatest key due at or before limit
        n = 0
        while q and q[0] <= last:
            k = heappop(q)
            kind, idx, payload = items.pop(k)
            self.now = k >> T_SHIFT
            handlers[kind](shoppers[idx] if idx >= 0 else None, payload)
            if len(self._out) >= FLUSH_EVERY:
                self._flush()
            if deadline is not None:
                n += 1
                if not n & 31 and clock() >= deadline:
                    return False
        return True

    def finish(self) -> None:
        """End the run at the current virtual time with `run.finished` (idempotent)."""
        self._finish()
        self._flush()

    def flush(self) -> list[Event]:
        """Hand observers the events emitted since the last batch now."""
        return self._flush(True)

    # --- internals --------------------------------------------------------------------------------

    def _finish(self) -> None:
        if self.finished:
            return
        if not self.started:
            self.begin()
        self.finished = True
        self._queue.clear()
        self._items.clear()
        counts = dict(sorted(self.counts.items()))
        self.emit(E.RUN_FINISHED, None, {"events": self._seq + 1, "counts": counts, "shoppers": len(self.shoppers)})

    def _complete(self, returned: bool) -> None:
        later, self._later = self._later, []
        if returned or self._readers:
            for job in later:
                job[0](*job[1:])

    def _flush(self, returned: bool = False) -> list[Event]:
        """`returned`: the batch goes back to the caller, who may read it even with no observer."""
        batch = self._out
        if not batch:
            return []  # a new list: the buffer itself would grow under the caller's feet
        self._out = []
        if self._later:
            self._complete(returned)
        for obs in self._observers:
            obs(batch)
        return batch


class MarkedKernel(Kernel):
    """A kernel for one part of a population split by shopper (shopsim/workers.py). It plays the same queue in
    the same order, and also says which queue item emitted each event, so that the parts' logs merge into
    exactly the log of one process: observers are called as `observer(batch, marks)`, where each mark
    `(t, prio, index, ordinal, count)` covers the next `count` events of the batch.

    Items of different shoppers never tie on (t, prio, index), and a shopper's items all run in one part, so a
    merge by that key (then the part's own order) is the single process's order. Run-wide items (index -1:
    campaign sends, price drops, scripted messages to everyone) run in every part, in the same order, so
    their ordinal is counted among run-wide items only; the parts of the run's start (`section()`) are
    run-wide items of time -1, before anything at time 0. The run's own `run.finished` is marked with index
    -2: a merge writes its own for the whole population."""

    START, FINISH = -1, -2

    def __init__(self, end: int, shoppers: Sequence[Any], members: Sequence[Any] | None = None):
        super().__init__(end, shoppers, members)
        self._marks: list[tuple[int, int, int, int, int]] = []
        self._marked = 0  # events of the current buffer already covered by a mark
        self._item = 0  # this part's own ordinal of shopper items
        self._runwide = 0  # the ordinal of run-wide items, the same in every part
        self._sections = 0
        self._current: tuple[int, int, int, int] = (self.START, 0, -1, 0)  # the key of what is emitting now

    def _mark(self) -> None:
        n = len(self._out) - self._marked
        if n:
            self._marks.append((*self._current, n))
            self._marked += n

    def section(self) -> None:
        self._mark()
        self._sections += 1
        self._current = (self.START, self._sections, -1, 0)

    def step(self) -> list[Event]:
        raise NotImplementedError("a part of a split run plays with run_until only")

    def begin(self) -> None:
        if not self.started:
            super().begin()
            self.section()  # the start's last part ends with it

    def _play(self, limit: int, deadline: float | None, clock: Callable[[], float]) -> bool:
        if deadline is not None:
            raise NotImplementedError("a part of a split run plays to its end without a deadline")
        q, items, handlers, shoppers, mark = self._queue, self._items, self._handlers, self.shoppers, self._mark
        last = ((limit + 1) << T_SHIFT) - 1
        while q and q[0] <= last:
            k = heappop(q)
            kind, idx, payload = items.pop(k)
            self.now = t_ = k >> T_SHIFT
            prio = (k >> PRIO_SHIFT) & 1
            if idx >= 0:
                self._item += 1
                self._current = (t_, prio, idx, self._item)
                handlers[kind](shoppers[idx], payload)
            else:
                self._runwide += 1
                self._current = (t_, prio, idx, self._runwide)
                handlers[kind](None, payload)
            mark()
            if len(self._out) >= FLUSH_EVERY:
                self._flush()
        return True

    def _finish(self) -> None:
        if not self.finished:
            self._mark()
            self._current = (self.end + 1, 0, self.FINISH, 0)
            super()._finish()
            self._mark()

    def _flush(self, returned: bool = False) -> list[Event]:
        batch = self._out
        if not batch:
            return []
        if self._later:
            self._complete(returned)
        self._mark()  # a handler that flushes a long loop at one instant hands over part of its item
        marks, self._marks, self._marked = self._marks, [], 0
        self._out = []
        for obs in self._observers:
            obs(batch, marks)
        return batch
