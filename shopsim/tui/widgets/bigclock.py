"""The presenter's clock: the virtual time in large digits, with the day and the state beside it, readable from
the back of a classroom. Shown only in presenter mode (app.tcss); the transport bar stays above it."""

from __future__ import annotations

from datetime import datetime, timezone

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Digits, Static

from shopsim.tui.clocktext import day_text
from shopsim.tui.driver import SimDriver


class BigClock(Horizontal):
    DEFAULT_CSS = """
    BigClock { height: 3; display: none; padding: 0 2; background: $boost; }
    BigClock Digits { width: auto; text-style: bold; color: $text-accent; }
    BigClock #big-day { width: 1fr; height: 3; content-align: left middle; padding-left: 3; text-style: bold; }
    """

    def __init__(self, driver: SimDriver, **kwargs) -> None:
        super().__init__(**kwargs)
        self.driver = driver
        self._shown: tuple | None = None

    def compose(self) -> ComposeResult:
        yield Digits("00:00", id="big-time")
        yield Static(id="big-day", markup=False)

    def on_mount(self) -> None:
        self.update_clock()

    def on_show(self) -> None:  # presenter mode turned on
        self._shown = None
        self.update_clock()

    def update_clock(self) -> None:
        """Redraw only when what it shows changes: the minute, the day or the state (it is asked every frame)."""
        if not self.display or not self.query("#big-day"):
            return
        d, sim = self.driver, self.driver.sim
        utc = datetime.fromtimestamp((sim.scenario.start_epoch + sim.now) / 1000, timezone.utc)
        clock, day = utc.strftime("%H:%M"), day_text(sim.now, sim.end)
        shown = (clock, day, d.state, d.speed_label)
        if shown == self._shown:
            return
        self._shown = shown
        self.query_one(Digits).update(clock)
        self.query_one("#big-day", Static).update(
            f"{day} · {utc:%A %d %B} · UTC\n{d.state} · speed {d.speed_label}")
