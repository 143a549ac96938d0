"""Typed messages between the simulation driver, the widgets and the screens."""

from __future__ import annotations

from textual.message import Message

from shopsim.contract.events import Event


class SimAdvanced(Message):
    """The simulation ran a slice: the events it emitted (in order) and where the clock is now. Posted by
    the driver at most ~30 times a second whatever the speed, so handlers may do real work."""

    def __init__(self, events: list[Event], now: int, finished: bool) -> None:
        super().__init__()
        self.events = events
        self.now = now
        self.finished = finished


class TransportChanged(Message):
    """Playing, paused, speed or finished changed (the header redraws)."""


class ShopperSelected(Message):
    """The user picked a shopper (index into `sim.shoppers`)."""

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index


class ExplainRequested(Message):
    """The user asked "why?" about a notification (delivered or not)."""

    def __init__(self, notification_id: str) -> None:
        super().__init__()
        self.notification_id = notification_id


class NarrationReached(Message):
    """A `narration:` step fired and paused the run (`hit` is a shopsim.tui.narrator.Hit)."""

    def __init__(self, hit) -> None:
        super().__init__()
        self.hit = hit


class PreviewShown(Message):
    """A main screen drew the preview of its run for the first time: the app starts building the run now, so
    that the build does not slow that first frame down (both want the one interpreter)."""

    def __init__(self, screen) -> None:
        super().__init__()
        self.screen = screen
