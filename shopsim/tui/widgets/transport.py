"""The top bar: scenario, virtual clock (UTC and the selected shopper's local time), state and speed, with
transport buttons for the mouse (every button has a key too)."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Button

from shopsim.tui.driver import SimDriver

BUTTONS = (("play", "▶ play", "toggle_play"), ("event", "⏭ event", "step_event"),
           ("note", "✉ next message", "step_notification"), ("hour", "+1h", "jump_hour"),
           ("day", "+1d", "jump_day"), ("slower", "−", "slower"), ("faster", "+", "faster"))


class Clock(Widget):
    """The clock line. Its own render(), refreshed without a relayout: it changes up to 30 times a second."""

    DEFAULT_CSS = "Clock { width: 1fr; height: 3; content-align: left middle; }"
    text: reactive[str] = reactive("", layout=False)

    def render(self) -> Content:
        return Content.from_markup(self.text)


class TransportBar(Horizontal):
    DEFAULT_CSS = """
    TransportBar { height: 3; background: $panel; padding: 0 1; }
    TransportBar Button { min-width: 5; height: 3; margin: 0 0 0 1; border: none; }
    TransportBar #play { min-width: 10; }
    """

    def __init__(self, driver: SimDriver, **kwargs) -> None:
        super().__init__(**kwargs)
        self.driver = driver
        self.tz: str | None = None

    def compose(self) -> ComposeResult:
        yield Clock(id="clock")
        for ident, label, _ in BUTTONS:
            yield Button(label, id=ident, compact=True)

    def on_mount(self) -> None:
        self.update_clock()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        action = next(a for ident, _, a in BUTTONS if ident == event.button.id)
        event.stop()
        self.app.run_action(action)

    def show_zone(self, tz: str | None) -> None:
        self.tz = tz
        self.update_clock()

    def update_clock(self) -> None:
        if not self.query(Clock):  # asked before its children are composed (a busy machine): on_mount draws it
            return
        d, sim = self.driver, self.driver.sim
        epoch = sim.scenario.start_epoch + sim.now
        utc = datetime.fromtimestamp(epoch / 1000, timezone.utc)
        day = sim.now // 86_400_000 + 1
        days = -(-sim.end // 86_400_000)
        text = f"[b]{sim.scenario.name}[/b]  day {min(day, days)}/{days}  [b]{utc:%a %d %b %H:%M} UTC[/b]"
        if self.tz:
            local = utc.astimezone(ZoneInfo(self.tz))
            text += f"  ·  {local:%H:%M} {self.tz}"
        state = "finished" if d.finished else "playing" if d.playing else "working" if d.busy else "paused"
        text += f"  ·  {state}  ·  speed {d.speed_label}"
        self.query_one(Clock).text = text
        label = "⏸ pause" if d.playing else "▶ play"
        play = self.query_one("#play", Button)
        if str(play.label) != label:  # a new label relayouts the bar: only when it changes
            play.label = label
