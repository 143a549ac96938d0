"""The discrete-event engine: a virtual clock, a heap of plain tuples, observers.

Queue entries are `(t, priority, shopper_index, insertion_seq, kind, payload)`. Ties break by priority,
then shopper index, then insertion order, so the order never depends on anything but the scenario and
the seed. Cancellation is lazy: a handler compares the token in its payload with the shopper's current
one and returns if it is stale, so voiding a timer costs nothing.
"""

from __future__ import annotations

import gc
from time import perf_counter
from heapq import heappop, heappush
from typing import TYPE_CHECKING, Any, Callable, Iterable

from shopsim import __version__
from shopsim.scenario.compiled import CompiledScenario, compile_scenario
from shopsim.scenario.schema import Scenario
from shopsim.scenario.settings import apply_patch, validate_patch
from shopsim.contract.taxonomy import CHANNELS
from shopsim.contract.units import format_duration
from shopsim.contract import events as E
from shopsim.contract.clock import iso
from shopsim.contract.events import Event
from shopsim.sim.population import PopulationBuilder, Shopper, shopper_index

if TYPE_CHECKING:
    from shopsim.notify.state import Message

Observer = Callable[[list[Event]], Any]
Handler = Callable[[Shopper | None, Any], None]
FLUSH_EVERY = 4096
_new_event = tuple.__new__
PRIO_SCRIPT = 0
PRIO_NORMAL = 1


class Simulation:
    """One run of a scenario. Front ends drive it with step(), run_until(t) and run(), and watch it
    through subscribe(); nothing here does I/O or reads the wall clock."""

    def __init__(self, scenario: CompiledScenario | Scenario, seed: int | None = None, *,
                 keep_messages: bool = True):
        """`keep_messages=False` forgets each notification once it is decided: explain() and inbox() are then
        unavailable, and a long headless run does not hold every message in memory (the log has them all)."""
        if isinstance(scenario, Scenario):
            scenario = compile_scenario(scenario, seed)
        elif seed is not None and seed != scenario.seed:
            scenario = compile_scenario(scenario.model, seed)
        self.scenario = cs = scenario
        self.seed = cs.seed
        self.end = cs.duration
        self.now = 0
        self.counts: dict[str, int] = {}
        self.started = False
        self.finished = False
        self._queue: list[tuple] = []
        self._qseq = 0
        self._seq = 0
        self._out: list[Event] = []
        self._observers: list[Observer] = []
        self._reactors: dict[str, list[Callable[[Event], None]]] = {}
        self._handlers: list[Handler] = []
        self.shoppers: list[Shopper] = PopulationBuilder(cs).build_all()
        self.prices: dict[int, int] = {}  # product index -> price in cents, where a price drop changed it
        # Imported here to keep the dependency one way: processes know the engine, not the reverse.
        from shopsim.notify.notifier import Notifier
        from shopsim.sim.account import Account
        from shopsim.sim.commerce import Commerce
        from shopsim.sim.orders import Orders
        from shopsim.sim.scripted import Scripted

        self.commerce = Commerce(self)
        self.orders = Orders(self)
        self.account = Account(self)
        self.scripted = Scripted(self)
        self.notify = Notifier(self, keep=keep_messages)
        from shopsim.engage.engagement import Engagement
        from shopsim.marketing.ads import Ads
        from shopsim.marketing.campaigns import Campaigns
        from shopsim.marketing.coupons import Coupons
        from shopsim.marketing.experiments import Experiments
        from shopsim.marketing.flows import Flows

        self.experiments = Experiments(self)
        self.coupons = Coupons(self)
        self.flows = Flows(self)
        self.campaigns = Campaigns(self)
        self.ads = Ads(self)
        self.commerce.track_views = bool(self.flows.browse) or self.flows.browse_for_ads
        self.commerce.keep_views = self.campaigns.needs_views
        self.engagement = Engagement(self)

    # --- wiring used by the processes -----------------------------------------------------------

    def register(self, handler: Handler) -> int:
        self._handlers.append(handler)
        return len(self._handlers) - 1

    def schedule(self, t: int, kind: int, shopper: int, payload: Any = None, prio: int = PRIO_NORMAL) -> None:
        if t > self.end:
            return
        if t < self.now:  # the log's time must never go back: a past time is a bug in the caller
            raise ValueError(f"cannot schedule at {t} ms, before now ({self.now} ms)")
        self._qseq += 1
        heappush(self._queue, (t, prio, shopper, self._qseq, kind, payload))

    def emit(self, type_: str, shopper: str | None, data: dict[str, Any]) -> Event:
        self._seq = seq = self._seq + 1
        ev = _new_event(Event, (seq, self.now, type_, shopper, data))
        self._out.append(ev)
        counts = self.counts
        counts[type_] = counts.get(type_, 0) + 1
        if type_ in self._reactors:
            for react in self._reactors[type_]:
                react(ev)
        return ev

    def on(self, type_: str, react: Callable[[Event], None]) -> None:
        """React inside the engine, synchronously, to every event of a type (the notification layer does)."""
        self._reactors.setdefault(type_, []).append(react)

    # --- the public API ---------------------------------------------------------------------------

    def subscribe(self, observer: Observer) -> Callable[[], None]:
        """Call `observer(batch)` with every event, in order, in batches. Returns an unsubscribe function."""
        self._observers.append(observer)
        return lambda: self._observers.remove(observer)

    def shopper(self, ref: str | int) -> Shopper:
        """A shopper by id ('s000001') or 0-based index."""
        try:
            i = ref if isinstance(ref, int) else shopper_index(ref)
            if i < 0:
                raise IndexError(i)
            return self.shoppers[i]
        except (KeyError, IndexError):
            raise KeyError(f"no shopper {ref!r} (ids run from s000001 to {self.shoppers[-1].id})") from None

    @property
    def emitted(self) -> int:
        """How many events the run has emitted so far."""
        return self._seq

    @property
    def next_time(self) -> int | None:
        """Virtual time of the next queued item, or None when nothing is left."""
        return self._queue[0][0] if self._queue else None

    def step(self) -> list[Event]:
        """Process queue items until at least one event is emitted; returns those events."""
        if not self.started:
            self._begin()
        elif not self._out:
            while self._queue and not self._out:
                self._pop()
            if not self._queue and not self._out:
                self.now = self.end  # nothing left: the clock runs out to the end
                self._finish()
        return self._flush()

    def run_until(self, t: int, deadline: float | None = None, clock: Callable[[], float] = perf_counter) -> bool:
        """Process everything up to and including virtual time t (clamped to the run's end).

        With `deadline` (a `clock()` value, `time.perf_counter` by default), stop early once it has passed, between two queue
        items, and return False: the clock then stays at the last item processed, and a later call carries
        on exactly where this one stopped (a front end keeps its frames short this way)."""
        if not self.started:
            self._begin()
        limit = min(t, self.end)
        q, handlers, shoppers = self._queue, self._handlers, self.shoppers
        n = 0
        # The hot loop: _pop() inlined, flushing in batches. It makes millions of small acyclic objects,
        # so the cyclic collector would only rescan the population over and over: pause it meanwhile.
        gc_was_on = gc.isenabled()
        gc.disable()
        try:
            while q and q[0][0] <= limit:
                t_, _, idx, _, kind, payload = heappop(q)
                self.now = t_
                handlers[kind](shoppers[idx] if idx >= 0 else None, payload)
                if len(self._out) >= FLUSH_EVERY:
                    self._flush()
                if deadline is not None:
                    n += 1
                    if not n & 31 and clock() >= deadline:
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

    def run(self) -> None:
        self.run_until(self.end)

    def finish(self) -> None:
        """End the run at the current virtual time with `run.finished` (idempotent)."""
        self._finish()
        self._flush()

    def _finish(self) -> None:
        if self.finished:
            return
        if not self.started:
            self._begin()
        self.finished = True
        self._queue.clear()
        counts = dict(sorted(self.counts.items()))
        self.emit(E.RUN_FINISHED, None, {"events": self._seq + 1, "counts": counts,
                                         "shoppers": len(self.shoppers)})

    def apply_settings_change(self, shopper: str | int, change: dict[str, Any], source: str = "user") -> Event:
        """Change a shopper's settings from now on. Raises pydantic.ValidationError for a bad change."""
        sh = self.shopper(shopper)
        if self.finished:
            raise RuntimeError("the run has finished; settings can no longer change")
        patch = validate_patch(change)
        if not self.started:
            self._begin()
        sh.settings = apply_patch(sh.settings, patch)
        ev = self.emit(E.SETTINGS_CHANGED, sh.id, {"settings": sh.settings, "source": source, "change": patch})
        return ev

    def apply_settings_change_many(self, shoppers: Iterable[str | int], change: dict[str, Any],
                                   source: str = "user") -> list[Event]:
        """The same change for many shoppers (a segment, everyone) from now on, logged as
        apply_settings_change logs one: a `settings.changed` each, in shopper order whatever the order given.
        All or nothing: a bad change or an unknown shopper raises before anyone's settings change.

        Settings dicts are immutable and shared (shoppers with the same draws hold one), so each distinct
        dict is merged once and its holders share the result: a segment of 100k costs a few dozen merges."""
        if self.finished:
            raise RuntimeError("the run has finished; settings can no longer change")
        patch = validate_patch(change)
        targets = sorted({sh.index: sh for sh in map(self.shopper, shoppers)}.values(), key=lambda sh: sh.index)
        if targets and not self.started:
            self._begin()
        merged: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}  # id(old) -> (old kept alive, new)
        out = []
        gc_was_on = gc.isenabled()
        gc.disable()  # as in run_until: many small acyclic objects, and nothing for the collector to find
        try:
            for sh in targets:
                old = sh.settings
                pair = merged.get(id(old))
                if pair is None:
                    pair = merged[id(old)] = (old, apply_patch(old, patch))
                sh.settings = pair[1]
                out.append(self.emit(E.SETTINGS_CHANGED, sh.id, {"settings": sh.settings, "source": source,
                                                                   "change": patch}))
        finally:
            if gc_was_on:
                gc.enable()
        return out

    def explain(self, notification_id: str) -> dict[str, Any]:
        """Why a notification was delivered, deferred, digested or suppressed: every pipeline step's verdict
        with its parameters (`steps`), and the same as plain sentences (`sentences`, `summary`)."""
        from shopsim.notify.explain import explain

        return explain(self.notify.note(notification_id), self.scenario.start_epoch)

    def inbox(self, shopper: str | int, channel: str | None = None) -> list[Message]:
        """What the shopper has received so far, oldest first, on one channel or all of them."""
        sh = self.shopper(shopper)
        if not self.notify.keep:
            raise LookupError("this simulation does not keep messages (keep_messages=False)")
        if channel is not None and channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}; channels: {', '.join(CHANNELS)}")
        msgs = sh.notes.inbox if sh.notes is not None else []
        return [m for m in msgs if channel is None or m.channel == channel]

    def mark_read(self, notification_id: str, source: str = "user") -> Event | None:
        """The shopper opens a delivered message: it becomes read, and `notification.opened` is logged.
        Opening a message that is already read changes nothing and returns None."""
        if self.finished:
            raise RuntimeError("the run has finished; messages can no longer be opened")
        note = self.notify.note(notification_id)
        if note.message is None:
            raise ValueError(f"{notification_id} was {note.outcome or 'not decided'}, not delivered: nothing to open")
        if note.message.read:
            return None
        if not self.started:
            self._begin()
        return self.open_message(note.id, note.sh, note.category, note.channel, source)

    def open_message(self, nid: str, sh: Shopper, category: str, channel: str, source: str) -> Event:
        """Log `notification.opened` and mark the inbox message read (engagement and front ends call it)."""
        note = self.notify.notes.get(nid) if self.notify.keep else None
        if note is not None and note.message is not None:
            note.message.read = True
        return self.emit(E.NOTIFICATION_OPENED, sh.id, {"id": nid, "category": category, "channel": channel,
                                                        "source": source})

    def iso(self, t: int | None = None) -> str:
        return iso(self.scenario.start_epoch + (self.now if t is None else t))

    # --- internals --------------------------------------------------------------------------------

    def _pop(self) -> None:
        t, _, idx, _, kind, payload = heappop(self._queue)
        self.now = t
        self._handlers[kind](self.shoppers[idx] if idx >= 0 else None, payload)

    def flush(self) -> list[Event]:
        """Hand observers the events emitted since the last batch now (a front end calls it after a user's
        settings change or a message opened, so they show while the run is paused)."""
        return self._flush()

    def flush_if_full(self) -> None:
        """Hand observers what is buffered once it is a full batch (long loops at one instant call this)."""
        if len(self._out) >= FLUSH_EVERY:
            self._flush()

    def _flush(self) -> list[Event]:
        batch = self._out
        if batch:
            self._out = []
            for obs in self._observers:
                obs(batch)
        return batch

    def _begin(self) -> None:
        self.started = True
        cs = self.scenario
        self.emit(E.RUN_STARTED, None, {
            "scenario": cs.name, "description": cs.description, "seed": cs.seed, "version": __version__,
            "start": iso(cs.start_epoch), "duration": format_duration(cs.duration), "shoppers": cs.size,
            "schema_version": cs.model.schema_version,
        })
        for sh in self.shoppers:
            self.emit(E.SHOPPER_CREATED, sh.id, sh.describe())
            if len(self._out) >= FLUSH_EVERY:
                self._flush()
        self.experiments.start()
        for sh in self.shoppers:
            self.commerce.start(sh)
            self.account.start(sh)
        self.scripted.start()
        self.campaigns.start()
