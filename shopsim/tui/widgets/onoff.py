"""A checkbox that says its state as a glyph: ✓ on, ✗ off. The settings pane and the save dialog use it."""

from __future__ import annotations

from typing import Any

from textual.widgets import Checkbox

ON, OFF = "✓", "✗"


class OnOff(Checkbox):
    """A checkbox whose box holds ✓ when on and ✗ when off: the state reads without colour, and the focus
    highlight (a background) never hides it."""

    DEFAULT_CSS = """
    OnOff {
        & > .toggle--button { color: $text-muted; background: $panel; }
        &.-on > .toggle--button { color: $text-success; background: $panel; }
        &:light.-on > .toggle--button { color: $text-primary; }  /* the light theme's green is 3:1 on white */
        /* Focused: the glyph inverted, not the cursor's blue (white on it is under 4:1). */
        &:focus > .toggle--button, &:focus.-on > .toggle--button, &:focus:light.-on > .toggle--button {
            color: $background; background: $foreground; text-style: bold;
        }
    }
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.BUTTON_INNER = ON if self.value else OFF

    def watch_value(self) -> None:
        self.BUTTON_INNER = ON if self.value else OFF
        super().watch_value()
