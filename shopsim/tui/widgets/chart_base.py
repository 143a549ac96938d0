"""The base of the terminal charts: a widget that renders lines of text, cached by width, and the block
characters the charts draw with. See charts.py."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

__all__ = ["Chart", "EIGHTHS", "LEVELS", "blocks", "fmt", "clip"]

EIGHTHS = " ▏▎▍▌▋▊▉█"     # horizontal: 0/8 .. 8/8 of a cell
LEVELS = " ▁▂▃▄▅▆▇█"      # vertical: 0/8 .. 8/8 of a cell


def blocks(value: float, top: float, cells: int) -> str:
    """A horizontal bar of `value` out of `top` over `cells` cells, to an eighth of a cell."""
    if top <= 0 or value <= 0 or cells <= 0:
        return ""
    eighths = max(1, round(min(value, top) / top * cells * 8))  # anything above 0 shows
    full, part = divmod(eighths, 8)
    return "█" * full + (EIGHTHS[part] if part else "")


def fmt(v: float | int | None) -> str:
    if v is None:
        return "—"
    if isinstance(v, int) or float(v).is_integer():
        return f"{int(v):,}"
    return f"{v:,.2f}"


def clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: max(0, n - 1)] + "…"


class Chart(Widget):
    """Renders `_lines(width)` (rich Texts), cached by width until `update_data` changes the data."""

    COMPONENT_CLASSES = {"chart--muted", "chart--bar", "chart--good", "chart--bad", "chart--title"}
    DEFAULT_CSS = """
    Chart {
        height: auto;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        & > .chart--muted { color: $text-muted; }
        & > .chart--bar { color: $accent; }
        & > .chart--good { color: $text-success; }
        & > .chart--bad { color: $text-error; }
        & > .chart--title { color: $text; text-style: bold; }
    }
    """

    def __init__(self, *, title: str = "", name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.title = title
        self._cache: tuple[int, list[Text]] | None = None

    def _changed(self) -> None:
        self._cache = None
        if self.is_mounted:
            self.refresh(layout=True)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache = None

    def on_mount(self) -> None:
        self._cache = None  # drawn before the styles were known

    def style_of(self, name: str) -> Style:
        try:
            return self.get_component_rich_style(f"chart--{name}")
        except KeyError:  # not mounted yet: no theme to read
            return Style()

    def lines(self, width: int) -> list[Text]:
        """The chart as lines of text for this width."""
        if self._cache is None or self._cache[0] != width:
            out = [Text(self.title, style=self.style_of("title"))] if self.title else []
            out.extend(self._lines(max(20, width)))
            self._cache = (width, out)
        return self._cache[1]

    def _lines(self, width: int) -> list[Text]:
        raise NotImplementedError

    def get_content_height(self, container, viewport, width: int) -> int:
        return max(1, len(self.lines(width)))

    def render(self) -> Text:
        lines = self.lines(self.size.width)
        text = Text("\n").join(lines) if lines else Text("")
        text.no_wrap = True
        text.overflow = "ellipsis"
        return text

    @property
    def plain(self) -> str:
        """What the chart says, as plain text (at its current width, or 100 columns before layout)."""
        return "\n".join(t.plain for t in self.lines(self.size.width or 100))
