"""What the main screen shows while its run is being built: the scenario at time 0, shoppers built as they
are first read.

Building a run builds every shopper (seconds at 100k) and then starts it (a `shopper.created` line and a first
visit for each); the app does that in a thread. Meanwhile the main screen shows a `RunPreview`: its shoppers
are built one at a time when the list draws them, a search reads them or one is selected, by the population's
own builder from (seed, index) alone, so each is exactly the shopper the run will have, name and all. The
first frame needs only the rows in view. Nothing can act on a preview (no clock to run, no message to open,
no setting to change); the screen takes the run in its place once it is ready (`MainScreen.adopt`)."""

from __future__ import annotations

from typing import Any, Iterator, Sequence, overload

from shopsim.contract.ids import shopper_index
from shopsim.scenario.compiled import CompiledScenario
from shopsim.sim.population import PopulationBuilder, Shopper
from shopsim.tui.driver import SPEED_LABELS, SimDriver

PREPARING = "the run is still being prepared: a moment"


class ShoppersOnDemand(Sequence[Shopper]):
    """The scenario's shoppers, each built the first time it is read (in the thread that reads it), until the
    run's population is there (`use`): from then on they are read from it."""

    def __init__(self, cs: CompiledScenario) -> None:
        self._builder = PopulationBuilder(cs)
        self._built: list[Shopper | None] = [None] * cs.size
        self._population: Sequence[Shopper] | None = None

    def use(self, population: Sequence[Shopper]) -> None:
        """Read the shoppers from `population`, the run's, built meanwhile in another thread: a search over all
        of them then costs no build. Only what a shopper is (her identity, zone, segment, settings) is read of
        them while the run starts, and that no longer changes."""
        self._population = population

    def __len__(self) -> int:
        return len(self._built)

    @overload
    def __getitem__(self, i: int) -> Shopper: ...
    @overload
    def __getitem__(self, i: slice) -> list[Shopper]: ...

    def __getitem__(self, i):
        if self._population is not None:
            return self._population[i]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self._built)))]
        sh = self._built[i]  # IndexError past either end, as a list
        if sh is None:
            index = i % len(self._built)
            sh = self._built[index] = self._builder.build(index)
        return sh

    def __iter__(self) -> Iterator[Shopper]:
        if self._population is not None:
            yield from self._population
            return
        for i in range(len(self._built)):
            yield self[i]

    @property
    def built(self) -> int:
        """How many shoppers have been built so far."""
        return sum(sh is not None for sh in self._built)


class RunPreview:
    """A `SimulationView` of a run that is being built: time 0, no event, no message."""

    started = finished = False
    now = emitted = 0

    def __init__(self, cs: CompiledScenario) -> None:
        self.scenario = cs
        self.shoppers = ShoppersOnDemand(cs)
        self.end = cs.duration
        self.prices: dict[int, int] = {}
        self.counts: dict[str, int] = {}

    def shopper(self, ref: str | int) -> Shopper:
        try:
            i = ref if isinstance(ref, int) else shopper_index(ref)
            if i < 0:
                raise IndexError(i)
            return self.shoppers[i]
        except (KeyError, IndexError):
            raise KeyError(f"no shopper {ref!r}") from None

    def inbox(self, shopper: str | int, channel: str | None = None) -> list:
        self.shopper(shopper)
        return []

    # What the panes that act on a run would call: refused, in words the pane shows.

    def apply_settings_change(self, *_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError(PREPARING)

    def apply_settings_change_many(self, *_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError(PREPARING)

    def mark_read(self, *_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError(PREPARING)


class Preparing:
    """What the transport shows of a run being built, in a driver's words: time 0, "loading", the speed it will
    start at, and whether it will start playing once ready (space, meanwhile, sets that)."""

    state = "loading"
    busy = finished = until_notification = False

    def __init__(self, preview: RunPreview, speed_index: int, playing: bool = False) -> None:
        self.sim = preview
        self.speed_index = speed_index
        self.playing = playing

    @property
    def speed_label(self) -> str:
        return SPEED_LABELS[self.speed_index]

    def toggle(self) -> None:
        self.playing = not self.playing

    faster, slower = SimDriver.faster, SimDriver.slower  # they move speed_index alone
