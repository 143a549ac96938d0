"""The narration callout: a step of the scenario's `narration:` explaining what just happened, its placeholders
filled in with the run's numbers of that instant (narrator.step_texts), and what it claims that this run does
not bear out, if anything. The run is paused behind it; enter or space carries on playing, escape stays paused,
q quits. A step longer than the terminal scrolls."""

from __future__ import annotations

from typing import Sequence

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.screen import ModalScreen
from textual.widgets import Static

from shopsim.contract.ids import shopper_index
from shopsim.tui.narrator import Hit

_TOP = 4  # the callout's top margin (as in DEFAULT_CSS): the transport bar stays in sight
MIN_WIDTH = 24  # narrower than this, the shoppers list is no place for a callout


class NarrationScreen(ModalScreen[bool]):
    # The callout fits any terminal: it grows with its text up to the screen's height (below the transport bar,
    # above the footer), then scrolls, and the hint stays docked at its bottom.
    DEFAULT_CSS = """
    NarrationScreen { align: right top; background: $background 30%; }
    NarrationScreen #callout {
        width: 64; height: auto; margin: 4 2 0 0; padding: 1 2 0 2;
        border: thick $accent; background: $surface; scrollbar-size-vertical: 1;
    }
    NarrationScreen #title { text-style: bold; color: $accent; margin-bottom: 1; }
    NarrationScreen #hint { dock: bottom; height: auto; padding: 1 0; color: $text-muted; background: $surface; }
    NarrationScreen #context { color: $text-muted; margin-bottom: 1; }
    NarrationScreen #caveats { color: $text-warning; margin-top: 1; }
    """
    # A modal screen cuts the app's bindings off: the keys a lesson tells its reader to press work from here.
    BINDINGS = [Binding("enter,space", "go_on", "Continue"), Binding("escape", "stay", "Stay paused"),
                Binding("w", "then('why')", "Why? (stays paused)"), Binding("k", "then('kpis')", "KPIs"),
                Binding("q", "app.quit", "Quit", show=False)]

    def __init__(self, hit: Hit, number: int, total: int, context: str = "", *, title: str | None = None,
                 text: str | None = None, caveats: Sequence[str] = ()) -> None:
        """`title` and `text` are the step's with its placeholders filled in (narrator.step_texts); without
        them the callout shows the step as written. `caveats`: what the step claims that this run does not
        bear out (narrator.unmet: another seed, a setting changed during the run), said under the text."""
        super().__init__()
        self.hit = hit
        self.number, self.total = number, total
        self.context = context
        self.step_title = hit.step.title if title is None else title
        self.step_text = hit.step.text.strip() if text is None else text
        self.caveats = list(caveats)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="callout"):
            yield Static(self.step_title, id="title", markup=False)
            if self.context:
                yield Static(self.context, id="context", markup=False)
            yield Static(self.step_text, id="text", markup=False)
            if self.caveats:
                yield Static("Not so in this run: " + "; ".join(self.caveats) + ".", id="caveats", markup=False)
            last = self.number >= self.total
            go_on = "enter: play on" if last else "enter: continue"
            yield Static(f"step {self.number} of {self.total}{' (the last)' if last else ''} · {go_on} · "
                         f"esc: stay paused · w: why? · k: KPIs", id="hint")

    def on_mount(self) -> None:
        self._fit(self.app.size.height)
        # The screen below may be laying out anew (a zoomed pane just brought back): place it again after.
        self.call_after_refresh(lambda: self.is_attached and self._fit(self.app.size.height))

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.height)

    def _fit(self, height: int) -> None:
        """Stand over the shoppers list of the screen below, as wide as it, so the inbox and the preview of the
        message the step talks about stay in sight; without such a list, at the right below the transport bar.
        At most the screen's height above the footer (percentages of the screen would not leave the bars
        out): a longer step scrolls inside."""
        callout = self.query_one("#callout")
        left = self._shoppers_region()
        if left is None:
            callout.styles.max_height = max(6, height - _TOP - 1)
            return
        self.styles.align = ("left", "top")
        callout.styles.width = left.width
        callout.styles.margin = (left.y, 0, 0, left.x)
        callout.styles.max_height = max(6, height - left.y - 1)

    def _shoppers_region(self) -> Region | None:
        stack = self.app.screen_stack
        below = stack[stack.index(self) - 1] if self in stack and stack.index(self) > 0 else None
        panes = below.query("#shoppers") if below is not None else ()
        region = panes.first().region if panes else None
        return region if region is not None and region.width >= MIN_WIDTH else None

    def action_go_on(self) -> None:
        self.dismiss(True)

    def action_then(self, what: str) -> None:
        """Close the callout (the run stays paused) and do what the lesson asked: "why?" about the highlighted
        message, or the KPI screen."""
        app = self.app
        self.dismiss(False)
        main = getattr(app, "main_screen", None)
        if what == "why" and main is not None:
            app.call_later(main.action_why)
        elif what == "kpis":
            app.call_later(app.action_kpis)

    def action_stay(self) -> None:
        self.dismiss(False)


def describe(hit: Hit, sim) -> str:
    """What triggered the step, in one line: when (the shopper's local time), who, what."""
    from shopsim.contract.clock import local_label
    from shopsim.tui.event_words import event_words

    parts = []
    if hit.shopper is not None:
        sh = sim.shoppers[shopper_index(hit.shopper)]
        parts.append(f"{local_label(sim.scenario.start_epoch + hit.t, sh.tz)} · {sh.name} ({sh.id}, {sh.city})")
    if hit.event is not None:  # in words: the callout is read by a class, not by the engine's author
        ev = hit.event
        other = ev.shopper is not None and ev.shopper != hit.shopper  # the event is someone else's: say whose
        parts.append(event_words(ev, sim.shopper(ev.shopper).name if other else None, who=other,
                                 currency=sim.scenario.model.catalogue.currency))
    return "\n".join(parts)
