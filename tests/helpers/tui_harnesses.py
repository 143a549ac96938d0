"""Small apps that stand in for the main screen around one widget or screen, over a real Simulation: the
settings pane fed like the main screen feeds it, and the KPI screen over a played scenario."""

from __future__ import annotations

import asyncio
from functools import lru_cache
from typing import Any

from textual.app import App, ComposeResult

from helpers.paths import SCENARIOS
from shopsim.contract import events as E
from shopsim.contract.events import Event
from shopsim.metrics.kpis import Metrics
from shopsim.simulation import Simulation
from shopsim.tui.screens.kpis import KpiScreen
from shopsim.tui.widgets.settings import SettingsPane
from shopsim.validate import load_scenario


class SettingsHarness(App):
    """One SettingsPane over a Simulation, fed like the main screen feeds it: the engine runs with `run_until`
    (virtual time only, no sleeps) and every new batch of events goes to the pane, as after each slice."""

    CSS = "SettingsPane { width: 74; border: round $primary; }"
    TITLE = "Harness"  # the title bar of the settings snapshots: the picture does not change with the class's name

    def __init__(self, sim: Simulation, index: int = 0) -> None:
        super().__init__()
        self.sim = sim
        self.index = index
        self.events: list[Event] = []
        self.notes: list[tuple[str, str]] = []
        sim.subscribe(self.events.extend)

    def compose(self) -> ComposeResult:
        yield SettingsPane(self.sim, self.index, id="pane")

    @property
    def pane(self) -> SettingsPane:
        return self.query_one(SettingsPane)

    def advance(self, until: int) -> list[Event]:
        """Run the engine to `until` and hand the new events to the pane."""
        n = len(self.events)
        self.sim.run_until(until)
        new = self.events[n:]
        self.pane.on_sim_events(new)
        return new

    def changes(self) -> list[Event]:
        """Every settings.changed so far (what the engine holds is flushed first)."""
        self.sim.run_until(self.sim.now)
        return [ev for ev in self.events if ev.type == E.SETTINGS_CHANGED]

    def notify(self, message: str, **kwargs: Any) -> None:
        self.notes.append((message, kwargs.get("severity", "information")))
        super().notify(message, **kwargs)


class Run:
    def __init__(self, sim: Simulation, events: list[Event], metrics: Metrics):
        self.sim, self.events, self.metrics = sim, events, metrics


def played(name: str, until: int | None, **kw) -> Run:
    """A shipped scenario played to `until` (to its end if None), with its events and live Metrics."""
    sim = Simulation(load_scenario(SCENARIOS / f"{name}.yaml"), **kw)
    events: list[Event] = []
    metrics = Metrics()
    sim.subscribe(events.extend)
    sim.subscribe(metrics)
    if until is None:
        sim.run()
    else:
        sim.run_until(until)
    return Run(sim, events, metrics)


@lru_cache(maxsize=None)
def experiment_run() -> Run:
    """experiment, to its end (~3 s)."""
    return played("experiment", None, keep_messages=False)


class KpiApp(App):
    def __init__(self, run: Run, metrics: Metrics | None = None):
        super().__init__()
        self.run_, self.metrics = run, metrics or run.metrics

    def on_mount(self) -> None:
        self.push_screen(KpiScreen(self.run_.sim, self.metrics))


def drive(app: App, body, size=(120, 40)) -> None:
    """Run `body(pilot)` against `app` at `size`, on its own event loop, once the app is idle."""
    async def go():
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await body(pilot)
    asyncio.run(go())
