"""Text from a scenario or a run, made safe to show on a terminal.

A scenario's titles, bodies, descriptions and keys reach terminals through `inbox`, `explain`, `report`,
`validate` and the terminal app. A terminal obeys control characters: ESC starts sequences that clear the
screen, set the window title or fake output, and C1 controls (U+0080–U+009F) do the same on many
terminals. Rich and Textual strip only a few (bell, backspace, carriage return...). `visible` replaces
every control character but newline and tab with a visible stand-in: C0 and DEL with their Unicode
control pictures (ESC becomes ␛), C1 with U+FFFD. The event log keeps the text as rendered; only what is
shown changes."""

from __future__ import annotations

__all__ = ["CONTROLS", "visible"]

_KEEP = (0x09, 0x0A)  # tab and newline lay text out; everything else in C0 can drive the terminal
_TABLE: dict[int, int] = {c: 0x2400 + c for c in range(0x20) if c not in _KEEP}
_TABLE[0x7F] = 0x2421  # ␡
_TABLE.update({c: 0xFFFD for c in range(0x80, 0xA0)})
CONTROLS: dict[int, str] = {c: chr(v) for c, v in _TABLE.items()}  # for str.translate tables kept elsewhere


def visible(text: str) -> str:
    """`text` with every control character that could drive a terminal made visible (ESC → ␛)."""
    return text.translate(_TABLE)
