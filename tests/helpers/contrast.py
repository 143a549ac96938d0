"""What a terminal app's screen shows, cell by cell with its colours, and WCAG contrast ratios between them:
the terminal-app tests check with it that text and frames read in the dark and the light theme."""

from __future__ import annotations

from rich.color import Color
from rich.style import Style
from textual.app import App
from textual.geometry import Region

BOX_DRAWING = range(0x2500, 0x2580)
BLOCKS = range(0x2580, 0x25A0)  # half blocks drawing a box's edge in its background colour: shapes, not glyphs


def _luminance(color: Color) -> float:
    def channel(v: int) -> float:
        c = v / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = color.get_truecolor()
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(fg: Color, bg: Color) -> float:
    """WCAG 2 contrast ratio, 1 (none) to 21 (black on white)."""
    hi, lo = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def cells(app: App) -> list[list[tuple[str, Style]]]:
    """Every cell of the current screen as (character, style), row by row, as the terminal would get it."""
    update = app.screen._compositor.render_full_update()
    rows = []
    for line in update.strips:
        row: list[tuple[str, Style]] = []
        for strip in line:
            for seg in strip:
                if seg.control:
                    continue
                row.extend((ch, seg.style or Style()) for ch in seg.text)
        rows.append(row)
    return rows


def text_in(app: App, region: Region) -> list[str]:
    """The characters shown in `region`, one string a row."""
    rows = cells(app)[region.y:region.bottom]
    return ["".join(ch for ch, _ in row[region.x:region.right]) for row in rows]


def weak_cells(app: App, region: Region, text: float, frame: float = 3.0,
               strict: Region | None = None, strict_text: float = 4.5) -> list[tuple[str, float, int, int]]:
    """The cells of `region` whose glyph lacks contrast with its background: `frame` for box-drawing
    characters (a frame is not text, WCAG's 3:1 for graphics), `strict_text` inside `strict`, `text` elsewhere.
    Returns (character, ratio, x, y) for each."""
    out = []
    for y, row in enumerate(cells(app)):
        if not region.y <= y < region.bottom:
            continue
        for x in range(region.x, min(region.right, len(row))):
            ch, style = row[x]
            if not ch.strip() or ord(ch) in BLOCKS or style.color is None or style.bgcolor is None:
                continue
            fg, bg = (style.bgcolor, style.color) if style.reverse else (style.color, style.bgcolor)
            need = (frame if ord(ch) in BOX_DRAWING
                    else strict_text if strict is not None and strict.contains(x, y) else text)
            ratio = contrast(fg, bg)
            if ratio < need:
                out.append((ch, round(ratio, 2), x, y))
    return out
