"""The composition root: one run of a scenario. It builds the kernel, the population and every process, and
hands each process its collaborators by name; it is also the front ends' one API (step, run_until, finish,
apply_settings_change, explain, inbox, mark_read, subscribe). Processes never see this object, only the
kernel and the collaborators given to them, so the import arrows all point down to here.
"""

from __future__ import annotations

from time import perf_counter
from typing import Any, Callable, Iterable, Protocol, Sequence

from shopsim import __version__
from shopsim.contract import events as E
from shopsim.contract.clock import iso
from shopsim.contract.events import Event
from shopsim.contract.ids import shopper_index
from shopsim.contract.taxonomy import CHANNELS
from shopsim.contract.units import format_duration
from shopsim.engage.engagement import Engagement
from shopsim.marketing.ads import Ads
from shopsim.marketing.campaigns import Campaigns
from shopsim.marketing.coupons import Coupons
from shopsim.marketing.experiments import Experiments
from shopsim.marketing.flows import Flows
from shopsim.notify.explain import explain
from shopsim.notify.notifier import Notifier
from shopsim.notify.state import Message
from shopsim.scenario.compiled import CompiledScenario, compile_scenario
from shopsim.scenario.schema import Scenario
from shopsim.scenario.settings import validate_patch
from shopsim.sim.account import Account
from shopsim.sim.commerce import Commerce
from shopsim.sim.kernel import Kernel, MarkedKernel, Observer
from shopsim.sim.orders import Orders
from shopsim.sim.population import PopulationBuilder, Shopper
from shopsim.sim.scripted import Scripted
from shopsim.sim.settings_change import SettingsChanges


class SimulationView(Protocol):
    """What a widget may read of a run, and nothing it could change it with: panes that only show the run
    take this, so that a pane that acts on it (opening a message, changing settings) says so by taking a
    `Simulation`."""

    @property
    def scenario(self) -> CompiledScenario: ...
    @property
    def shoppers(self) -> Sequence[Shopper]: ...
    @property
    def prices(self) -> dict[int, int]: ...
    @property
    def now(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def finished(self) -> bool: ...
    def shopper(self, ref: str | int) -> Shopper: ...
    def inbox(self, shopper: str | int, channel: str | None = None) -> list[Message]: ...


class Simulation:
    """One run of a scenario. Front ends drive it with step(), run_until(t) and run(), and watch it
    through subscribe(); nothing here does I/O or reads the wall clock."""

    def __init__(self, scenario: CompiledScenario | Scenario, seed: int | None = None, *,
                 keep_messages: bool = True, part: tuple[int, int] | None = None):
        """`keep_messages=False` forgets each notification once it is decided: explain() and inbox() are then
        unavailable, and a long headless run does not hold every message in memory (the log has them all).

        `part=(lo, hi)` plays only shoppers lo..hi-1 of the population (one worker of shopsim/workers.py):
        `shoppers` then holds None at the other indexes, and the kernel marks which item emitted what."""
        if isinstance(scenario, Scenario):
            scenario = compile_scenario(scenario, seed)
        elif seed is not None and seed != scenario.seed:
            scenario = compile_scenario(scenario.model, seed)
        self.scenario = cs = scenario
        self.seed = cs.seed
        if part is None:
            self.shoppers: list[Shopper] = PopulationBuilder(cs).build_all()
            self.members = self.shoppers
            self.kernel = k = Kernel(cs.duration, self.shoppers)
        else:
            lo, hi = part
            builder = PopulationBuilder(cs)
            self.members = [builder.build(i) for i in range(lo, hi)]
            self.shoppers = [None] * lo + self.members + [None] * (cs.size - hi)  # type: ignore[list-item]
            self.kernel = k = MarkedKernel(cs.duration, self.shoppers, self.members)
        # The order of construction is the order in which processes react to one event: keep it.
        self.commerce = Commerce(k, cs)
        self.prices = self.commerce.prices  # product index -> price in cents, where a price drop changed it
        self.orders = Orders(k, cs, self.commerce.price)
        self.account = Account(k, cs)
        self.settings_changes = SettingsChanges(k)
        self.scripted = Scripted(k, cs, self.account, self.commerce, self.settings_changes)
        self.notify = Notifier(k, cs, keep=keep_messages)
        self.experiments = Experiments(k, cs, self.members)
        self.coupons = Coupons(k, cs)
        self.flows = Flows(k, cs, self.commerce, self.coupons, self.experiments, self.notify)
        self.campaigns = Campaigns(k, cs, self.commerce, self.coupons, self.experiments, self.notify)
        self.ads = Ads(k, cs, self.experiments)
        self.engagement = Engagement(k, cs, self.commerce, self.coupons, self.notify, self.settings_changes)
        # The collaborators built after those that call them.
        self.commerce.wire(flows=self.flows, coupons=self.coupons, orders=self.orders)
        self.orders.coupons = self.coupons
        self.orders.finished = self.notify.forget_order
        self.scripted.notify = self.notify
        self.ads.engagement = self.engagement
        self.commerce.track_views = bool(self.flows.browse) or self.flows.browse_for_ads
        self.commerce.keep_views = self.campaigns.needs_views
        k.on_start(self._start)

    # --- the clock and the run --------------------------------------------------------------------

    @property
    def now(self) -> int:
        return self.kernel.now

    @property
    def end(self) -> int:
        return self.kernel.end

    @property
    def counts(self) -> dict[str, int]:
        """Events emitted so far, by type."""
        return self.kernel.counts

    @property
    def started(self) -> bool:
        return self.kernel.started

    @property
    def finished(self) -> bool:
        return self.kernel.finished

    @property
    def emitted(self) -> int:
        """How many events the run has emitted so far."""
        return self.kernel.emitted

    @property
    def next_time(self) -> int | None:
        """Virtual time of the next queued item, or None when nothing is left."""
        return self.kernel.next_time

    def subscribe(self, observer: Observer, *, texts: bool = True) -> Callable[[], None]:
        """Call `observer(batch)` with every event, in order, in batches. Returns an unsubscribe function.
        `texts=False` for an observer that never reads a message's title or body: a run whose observers are all
        so never renders them."""
        return self.kernel.subscribe(observer, texts=texts)

    def step(self) -> list[Event]:
        """Process queue items until at least one event is emitted; returns those events."""
        return self.kernel.step()

    def run_until(self, t: int, deadline: float | None = None, clock: Callable[[], float] = perf_counter) -> bool:
        """Process everything up to and including virtual time t (clamped to the run's end).

        With `deadline` (a `clock()` value, `time.perf_counter` by default), stop early once it has passed,
        between two queue items, and return False: the clock then stays at the last item processed, and a
        later call carries on exactly where this one stopped (a front end keeps its frames short this way)."""
        return self.kernel.run_until(t, deadline, clock)

    def run(self) -> None:
        self.kernel.run_until(self.kernel.end)

    def finish(self) -> None:
        """End the run at the current virtual time with `run.finished` (idempotent)."""
        self.kernel.finish()

    def flush(self) -> list[Event]:
        """Hand observers the events emitted since the last batch now (a front end calls it after a user's
        settings change or a message opened, so they show while the run is paused)."""
        return self.kernel.flush()

    def iso(self, t: int | None = None) -> str:
        return iso(self.scenario.start_epoch + (self.kernel.now if t is None else t))

    # --- shoppers, their settings and their messages ----------------------------------------------

    def shopper(self, ref: str | int) -> Shopper:
        """A shopper by id ('s000001') or 0-based index."""
        try:
            i = ref if isinstance(ref, int) else shopper_index(ref)
            if i < 0 or self.shoppers[i] is None:
                raise IndexError(i)
            return self.shoppers[i]
        except (KeyError, IndexError):
            raise KeyError(f"no shopper {ref!r} (ids run from s000001 to {self.shoppers[-1].id})") from None

    def apply_settings_change(self, shopper: str | int, change: dict[str, Any], source: str = "user") -> Event:
        """Change a shopper's settings from now on. Raises pydantic.ValidationError for a bad change."""
        sh = self.shopper(shopper)
        self._still_running("settings can no longer change")
        patch = validate_patch(change)
        self.kernel.begin()
        return self.settings_changes.apply(sh, patch, source)

    def apply_settings_change_many(self, shoppers: Iterable[str | int], change: dict[str, Any],
                                   source: str = "user") -> list[Event]:
        """The same change for many shoppers (a segment, everyone) from now on, logged as
        apply_settings_change logs one: a `settings.changed` each, in shopper order whatever the order given.
        All or nothing: a bad change or an unknown shopper raises before anyone's settings change."""
        self._still_running("settings can no longer change")
        patch = validate_patch(change)
        targets = sorted({sh.index: sh for sh in map(self.shopper, shoppers)}.values(), key=lambda sh: sh.index)
        if targets:
            self.kernel.begin()
        return self.settings_changes.apply_many(targets, patch, source)

    def explain(self, notification_id: str) -> dict[str, Any]:
        """Why a notification was delivered, deferred, digested or suppressed: every pipeline step's verdict
        with its parameters (`steps`), and the same as plain sentences (`sentences`, `summary`)."""
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
        self._still_running("messages can no longer be opened")
        note = self.notify.note(notification_id)
        if note.message is None:
            raise ValueError(f"{notification_id} was {note.outcome or 'not decided'}, not delivered: nothing to open")
        if note.message.read:
            return None
        self.kernel.begin()
        return self.notify.open(note.id, note.sh, note.category, note.channel, source)

    # --- internals --------------------------------------------------------------------------------

    def _still_running(self, what: str) -> None:
        if self.kernel.finished:
            raise RuntimeError(f"the run has finished; {what}")

    def _start(self) -> None:
        cs, k = self.scenario, self.kernel
        k.emit(E.RUN_STARTED, None, {
            "scenario": cs.name, "description": cs.description, "seed": cs.seed, "version": __version__,
            "start": iso(cs.start_epoch), "duration": format_duration(cs.duration), "shoppers": cs.size,
            "schema_version": cs.model.schema_version,
        })
        for sh in self.members:
            k.emit(E.SHOPPER_CREATED, sh.id, sh.describe())
            k.flush_if_full()
        k.section()
        self.experiments.start()
        k.section()
        for sh in self.members:
            self.commerce.start(sh)
            self.account.start(sh)
        k.section()
        self.scripted.start()
        self.campaigns.start()
