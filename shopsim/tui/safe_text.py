"""Every text the terminal app draws shows control characters instead of obeying them.

Titles, bodies, names and narration come from the scenario, and the app draws them through many widgets.
Textual's `Content` and Rich's `Text` already remove a few control characters (bell, backspace, carriage
return...) from every string they are given, each through one translation table; ESC and the C1 controls
pass. Extending those two tables once, when the app is imported, covers every widget at the point where
text enters Textual, rather than at each of the places that hand it text (shopsim.textsafe says why)."""

from __future__ import annotations

from rich import control as _rich_control
from textual import content as _textual_content

from shopsim.textsafe import CONTROLS

__all__ = ["neutralise_control_characters"]


def neutralise_control_characters() -> None:
    """Make Textual and Rich show every control character but newline and tab (ESC as ␛). Idempotent."""
    for table in (_rich_control._CONTROL_STRIP_TRANSLATE, _textual_content._CONTROL_STRIP_TRANSLATE):
        table.update(CONTROLS)  # type: ignore[arg-type]  (str.translate takes str values as well as None)
