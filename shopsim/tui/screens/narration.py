"""The narration callout: a step of the scenario's `narration:` explaining what just happened. The run is
paused behind it; enter or space carries on playing, escape stays paused."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from shopsim.tui.narrator import Hit


class NarrationScreen(ModalScreen[bool]):
    DEFAULT_CSS = """
    NarrationScreen { align: right top; background: $background 30%; }
    NarrationScreen #callout {
        width: 64; height: auto; max-height: 80%; margin: 4 2 0 0; padding: 1 2;
        border: thick $accent; background: $surface;
    }
    NarrationScreen #title { text-style: bold; color: $accent; margin-bottom: 1; }
    NarrationScreen #hint { color: $text-muted; margin-top: 1; }
    NarrationScreen #context { color: $text-muted; margin-bottom: 1; }
    """
    BINDINGS = [Binding("enter,space", "go_on", "Continue"), Binding("escape", "stay", "Stay paused")]

    def __init__(self, hit: Hit, number: int, total: int, context: str = "") -> None:
        super().__init__()
        self.hit = hit
        self.number, self.total = number, total
        self.context = context

    def compose(self) -> ComposeResult:
        with Vertical(id="callout"):
            yield Static(f"{self.hit.step.title}", id="title")
            if self.context:
                yield Static(self.context, id="context", markup=False)
            yield Static(self.hit.step.text.strip(), id="text")
            yield Static(f"step {self.number} of {self.total} · enter: continue · esc: stay paused", id="hint")

    def action_go_on(self) -> None:
        self.dismiss(True)

    def action_stay(self) -> None:
        self.dismiss(False)


_FIELDS = ("reason", "category", "channel", "coupon", "value", "until", "rule")


def describe(hit: Hit, sim) -> str:
    """What triggered the step, in one line: when (the shopper's local time), who, what."""
    from shopsim.sim.clock import local_label

    parts = []
    if hit.shopper is not None:
        sh = sim.shoppers[int(hit.shopper[1:]) - 1]
        parts.append(f"{local_label(sim.scenario.start_epoch + hit.t, sh.tz)} · {sh.name} ({sh.id}, {sh.city})")
    if hit.event is not None:
        d = hit.event.data
        fields = ", ".join(f"{k} {d[k]}" for k in _FIELDS if d.get(k) is not None)
        parts.append(hit.event.type + (f": {fields}" if fields else ""))
    return "\n".join(parts)
