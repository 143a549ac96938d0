"""The transport: plays a `Simulation` in small slices on the app's event loop.

Each slice runs the engine for at most `BUDGET_S` of wall time, then yields, so the interface never waits
more than that on the simulation. Between slices nothing else touches the engine (the UI's settings changes
run between slices on the same loop), so widgets can read the simulation's state without locks.
Virtual time advances by `speed × wall time`; "max" runs as fast as the budget allows."""

from __future__ import annotations

import time
from typing import Callable

from shopsim.contract import events as E
from shopsim.contract.clock import DAY, HOUR, MINUTE
from shopsim.simulation import Simulation
from shopsim.contract.events import Event
from shopsim.tui.narrator import Hit, Narrator

# Virtual seconds per wall second; None runs as fast as possible.
SPEEDS: tuple[int | None, ...] = (1, 10, 60, 600, 3600, 6 * 3600, 86400, None)
SPEED_LABELS = ("×1", "×10", "1 min/s", "10 min/s", "1 h/s", "6 h/s", "1 d/s", "max")
BUDGET_S = 0.008
FRAME_S = 1 / 30
OUTCOMES = frozenset((E.NOTIFICATION_DELIVERED, E.NOTIFICATION_DEFERRED, E.NOTIFICATION_DIGESTED,
                      E.NOTIFICATION_SUPPRESSED))


class SimDriver:
    START_SPEED = 4  # 1 h/s: a day of a scenario in 24 seconds

    def __init__(self, sim: Simulation, clock: Callable[[], float] = time.perf_counter):
        self.sim = sim
        self.clock = clock
        self.playing = False
        self.speed_index = self.START_SPEED
        self.target: int | None = None       # a jump or a step in progress: run until this virtual time
        self.until_notification = False      # a step to the next notification in progress
        self._buffer: list[Event] = []
        self._scanned = 0                    # how much of the buffer narration has seen
        self.narrator = Narrator(sim.scenario.model.narration, sim.scenario.start_epoch)
        self.narration: Hit | None = None    # a step that fired and paused the run; the app shows it
        sim.subscribe(self._buffer.extend)

    # --- commands ----------------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        return self.sim.finished

    @property
    def speed_label(self) -> str:
        return SPEED_LABELS[self.speed_index]

    @property
    def state(self) -> str:
        """In one word, for the clock: finished, playing, working (a jump or a step under way) or paused."""
        if self.finished:
            return "finished"
        if self.playing:
            return "playing"
        return "working" if self.target is not None or self.until_notification else "paused"

    @property
    def busy(self) -> bool:
        """Playing, or working through a jump or a step."""
        return not self.finished and (self.playing or self.target is not None or self.until_notification)

    def toggle(self) -> None:
        self.playing = not self.playing and not self.finished
        self.target, self.until_notification = None, False

    def pause(self) -> None:
        self.playing, self.target, self.until_notification = False, None, False

    def faster(self) -> None:
        self.speed_index = min(len(SPEEDS) - 1, self.speed_index + 1)

    def slower(self) -> None:
        self.speed_index = max(0, self.speed_index - 1)

    def step_event(self) -> list[Event]:
        """Pause and process until the next event (returns it with any emitted alongside)."""
        self.pause()
        if self.finished:
            return []
        return self.sim.step()

    def step_notification(self) -> None:
        """Pause, then run (over as many slices as it takes) until a notification is decided."""
        self.pause()
        self.until_notification = not self.finished

    def jump(self, ms: int) -> None:
        """Pause, then run (over as many slices as it takes) `ms` of virtual time. A jump asked for while
        another is still under way goes on from that one's target: three quick presses of +1h are three hours."""
        base = self.sim.now if self.target is None else self.target
        self.pause()
        if not self.finished:
            self.target = min(self.sim.end, base + ms)

    def jump_hour(self) -> None:
        self.jump(HOUR)

    def jump_day(self) -> None:
        self.jump(DAY)

    # --- the loop ----------------------------------------------------------------------------------

    def slice(self, wall_dt: float) -> list[Event]:
        """Run the engine for one slice (`wall_dt` seconds of wall time have passed since the last one) and
        return the events emitted since the last call, including those of commands run in between."""
        sim = self.sim
        sim.flush()      # what the user did between slices (a settings change, a message opened)
        self._narrate()  # events of commands run between slices (a step) may trigger a step too
        if self.busy:
            deadline = self.clock() + BUDGET_S
            if self.until_notification:
                self._seek_notification(deadline)
            else:
                if self.target is not None:
                    goal = self.target
                else:
                    speed = SPEEDS[self.speed_index]
                    goal = sim.end if speed is None else sim.now + max(1, int(speed * 1000 * min(wall_dt, 0.25)))
                stop = self.narrator.next_time()
                if stop is not None and stop >= sim.now:
                    goal = min(goal, stop)  # a timed narration step stops the clock exactly there
                self._run_towards(min(goal, sim.end), deadline)
                if self.target is not None and sim.now >= self.target:
                    self.target = None
            if sim.now >= sim.end and not sim.finished:
                sim.finish()
            if sim.finished:
                self.playing, self.target, self.until_notification = False, None, False
        self._narrate()
        out, self._buffer[:] = list(self._buffer), []
        self._scanned = 0
        return out

    def _narrate(self) -> bool:
        """Check the events not yet seen (and the clock) against the narration; pause on a hit."""
        if not self.narrator.pending:
            return False
        hit = self.narrator.scan(self._buffer[self._scanned:], self.sim.now)
        self._scanned = len(self._buffer)
        if hit is None:
            return False
        self.pause()
        self.narration = hit
        return True

    def _run_towards(self, goal: int, deadline: float) -> None:
        sim = self.sim
        while sim.now < goal and not sim.finished:
            # With narration waiting for an event, short runs keep the pause close to the event.
            step = MINUTE if self.narrator.filters_pending else goal - sim.now  # pause within a minute of it
            done = sim.run_until(min(goal, sim.now + step), deadline, self.clock)
            if self._narrate() or not done or self.clock() >= deadline:
                return

    def _seek_notification(self, deadline: float) -> None:
        sim = self.sim
        while not sim.finished:
            batch = sim.step()
            if self._narrate():
                return
            if any(ev.type in OUTCOMES for ev in batch):
                self.until_notification = False
                return
            if self.clock() >= deadline:
                return
        self.until_notification = False
