"""The top bar, one line high: scenario, day, virtual clock (UTC and the selected shopper's local time), state
and speed, with transport buttons for the mouse (every button has a key too).

What fits is computed from the bar's own width when it is resized: the buttons shorten to glyphs, then the
clock line drops its least useful parts (shopsim/tui/clocktext.py). The day, the state and the speed are
always shown."""

from __future__ import annotations

from typing import NamedTuple

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Button

from shopsim.tui.clocktext import ROOMY, ClockFace
from shopsim.tui.driver import SPEED_LABELS, SimDriver


class _Button(NamedTuple):
    ident: str
    label: str   # on a roomy bar
    glyph: str   # on a narrow one
    action: str
    tip: str


BUTTONS = (_Button("play", "▶ play", "▶", "toggle_play", "Play / pause (space)"),
           _Button("event", "⏭ event", "⏭", "step_event", "Step to the next event (n)"),
           _Button("note", "✉ next message", "✉", "step_notification", "Step to the next message (m)"),
           _Button("hour", "+1h", "+1h", "jump_hour", "Jump one hour (h)"),
           _Button("day", "+1d", "+1d", "jump_day", "Jump one day (d)"),
           _Button("slower", "−", "−", "slower", "Slower (-)"),
           _Button("faster", "+", "+", "faster", "Faster (+)"))
PLAY = BUTTONS[0]
PAUSE = _Button("play", "⏸ pause", "⏸", "toggle_play", PLAY.tip)  # the play button while playing
GAP = 1  # cells before each button with a full label (glyph buttons stand side by side: their padding parts them)
STYLES = {"name": "bold", "time": "bold", "state": "bold $text-accent", "sep": "$text-muted"}
WIDEST_SPEED = max(map(cell_len, SPEED_LABELS))
TYPICAL_ZONE = "America/New_York"


def play_width(glyphs: bool) -> int:
    """The play button's one width, for either of its labels and its padding."""
    return 3 if glyphs else max(cell_len(PAUSE.label), cell_len(PLAY.label)) + 2


def buttons_width(glyphs: bool) -> int:
    """Cells the buttons take, gaps included (a compact button is its label and a cell either side)."""
    total = play_width(glyphs) + (0 if glyphs else GAP)
    for button in BUTTONS[1:]:
        total += (0 if glyphs else GAP) + cell_len(button.glyph if glyphs else button.label) + 2
    return total


class TransportButton(Button, can_focus=False):
    """A button that leaves the focus where it was (arrows keep moving through the shoppers) and counts every
    click: three quick clicks of +1h are three hours, not one."""

    async def _on_click(self, event: events.Click) -> None:
        event.stop()
        self.press()


class Clock(Widget):
    """The clock line. Its own render(), refreshed without a relayout: it changes up to 30 times a second.

    `text` is the whole line; what is drawn (`shown`) is the fullest form of it that fits the widget."""

    DEFAULT_CSS = "Clock { width: 1fr; height: 1; text-wrap: nowrap; text-overflow: ellipsis; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.face: ClockFace | None = None
        self.shown = ""
        self._content = Content("")

    @property
    def text(self) -> str:
        return self.face.full() if self.face is not None else ""

    def show(self, face: ClockFace) -> None:
        if face != self.face:
            self.face = face
            self._fit()

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        if self.face is None:
            return
        pieces = self.face.line(self.size.width or None)
        shown = "".join(text for text, _ in pieces)
        if shown != self.shown:
            self.shown = shown
            self._content = Content.assemble(*((text, STYLES.get(kind, "")) for text, kind in pieces))
            self.refresh()

    def render(self) -> Content:
        return self._content


class TransportBar(Horizontal):
    DEFAULT_CSS = """
    TransportBar { height: 1; background: $panel; padding: 0 1; }
    TransportBar Button { min-width: 3; height: 1; margin: 0 0 0 1; border: none; }
    TransportBar.glyphs Button { margin: 0; }
    """

    def __init__(self, driver: SimDriver, **kwargs) -> None:
        super().__init__(**kwargs)
        self.driver = driver
        self.tz: str | None = None
        self.glyphs: bool | None = None  # the buttons show glyphs (None: not fitted to a width yet)
        self._clock: Clock | None = None
        self._play: Button | None = None

    def compose(self) -> ComposeResult:
        yield Clock(id="clock")
        for button in BUTTONS:
            yield TransportButton(button.label, id=button.ident, compact=True, tooltip=button.tip)

    def on_mount(self) -> None:
        self._clock = self.query_one(Clock)
        self._play = self.query_one("#play", Button)
        self._fit(self.size.width)
        self.update_clock()

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width - self.styles.gutter.width)  # the event's size includes the padding

    def _fit(self, width: int) -> None:
        """Full button labels when the clock beside them still has room for the scenario's name, the date and
        a shopper's city; glyphs otherwise. A city of typical length stands for hers, so that the buttons do not
        change with the shopper selected."""
        if not width or self._play is None:
            return
        sim = self.driver.sim
        face = ClockFace.at(sim.scenario.name, sim.scenario.start_epoch, 0, sim.end, TYPICAL_ZONE, "paused",
                            self.driver.speed_label, WIDEST_SPEED)
        glyphs = not face.fits(ROOMY, width - buttons_width(False))
        if glyphs == self.glyphs:
            return
        self.glyphs = glyphs
        self.set_class(glyphs, "glyphs")
        for button in BUTTONS[1:]:
            self.query_one(f"#{button.ident}", Button).label = button.glyph if glyphs else button.label
        # The play button keeps one width whatever it says: playing or pausing never relayouts the bar.
        self._play.styles.width = play_width(glyphs)
        self._set_play_label()

    def _set_play_label(self) -> None:
        playing = self.driver.playing
        shown = PAUSE if playing else PLAY
        label = shown.glyph if self.glyphs else shown.label
        if str(self._play.label) != label:
            self._play.label = label

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        action = next((b.action for b in BUTTONS if b.ident == event.button.id), None)
        if action is not None:
            # The screen's own version first: the main screen's steps also say where they landed, as the keys do.
            target = self.screen if hasattr(self.screen, f"action_{action}") else self.app
            await self.app.run_action(action, target)

    def show_zone(self, tz: str | None) -> None:
        self.tz = tz
        self.update_clock()

    def update_clock(self) -> None:
        if self._clock is None:  # asked before its children are composed (a busy machine): on_mount draws it
            return
        d, sim = self.driver, self.driver.sim
        self._clock.show(ClockFace.at(sim.scenario.name, sim.scenario.start_epoch, sim.now, sim.end, self.tz,
                                      d.state, d.speed_label, WIDEST_SPEED))
        self._set_play_label()
