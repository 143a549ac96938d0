"""The presenter's theme: white and one bright accent on black, for a projector in a lit room, where the default
theme's greys and mid-blues wash out. Every pair of text and background in it has a contrast ratio of at least
7:1 (WCAG AAA), checked by tests/tui/test_tui_presenter.py."""

from __future__ import annotations

from textual.theme import Theme

PROJECTOR = Theme(
    name="shopsim-projector",
    primary="#5CB8FF",
    secondary="#9CD3FF",
    accent="#FFD400",
    warning="#FFB000",
    error="#FF8A8A",
    success="#5CE08A",
    foreground="#FFFFFF",
    background="#000000",
    surface="#0A0A0A",
    panel="#1A1A1A",
    boost="#FFFFFF10",
    dark=True,
    variables={
        "text-muted": "#D0D0D0",
        "block-cursor-background": "#FFD400",
        "block-cursor-foreground": "#000000",
        "footer-key-foreground": "#FFD400",
    },
)
