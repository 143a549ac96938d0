"""What a line of the shoppers list looks like: which columns fit a width and how wide each is, the header,
the footer, the search's notices and one shopper's row, as Strips for `ShopperList` (drawn in the styles of
the widget given as `view`).

`ShopperRows` is mixed into `ShopperTable`, which holds the state it draws (rows shown, cursor, selection,
unread counts, filter, problems); this module decides only how that state reads."""

from __future__ import annotations

from textwrap import wrap
from typing import Any, NamedTuple

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style as RichStyle
from textual.strip import Strip
from textual.widget import Widget

from shopsim.report.labels import words
from shopsim.notify.filters import format_cents


class _Column(NamedTuple):
    head: str
    width: int   # the narrowest
    align: str   # "l" or "r"


# Columns by key. The id is always shown: the feed and the narration
# name shoppers by it. A narrow pane keeps the columns in _PRIORITY order as long as the name keeps
# _NAME_MIN cells; spare width then goes, in _GROWTH order, to the name first (most shoppers' names fit
# in 22 cells), the cart's amount, the time zone (only shown when it fits), then the rest.
_COLUMNS = {"name": _Column("Shopper", 18, "l"), "id": _Column("ID", 7, "l"), "country": _Column("From", 4, "l"),
            "segment": _Column("Segment", 8, "l"), "tz": _Column("Time zone", 13, "l"),
            "cart": _Column("Cart", 9, "l"), "unread": _Column("Unread", 6, "r")}
_ORDER = ("name", "id", "country", "segment", "tz", "cart", "unread")
_NAME_MIN = _COLUMNS["name"].width
_NOTICE_LINES = 4  # at most, above the rows
_PRIORITY = ("name", "id", "unread", "cart", "country", "segment")  # then "tz", only with room to spare
_GROWTH = (("name", 22), ("cart", 17), ("tz", None), ("name", 26), ("segment", 14), ("tz", 19))


def _fit(text: str, width: int, align: str = "l") -> str:
    """`text` padded or cut (with an ellipsis) to exactly `width` cells."""
    n = len(text) if text.isascii() else cell_len(text)
    if n > width:
        return set_cell_size(text, width - 1) + "…" if width > 1 else set_cell_size(text, width)
    return text + " " * (width - n) if align == "l" else " " * (width - n) + text



class ShopperRows:
    """The drawing half of `ShopperTable` (see the module's docstring)."""

    def columns(self, width: int) -> list[tuple[str, int]]:
        """The columns that fit in `width` cells (after the 2-cell marker), in display order, with widths."""
        cached = self._columns.get(width)
        if cached is None:
            cached = self._columns[width] = self._fit_columns(width)
        return cached

    @staticmethod
    def _fit_columns(width: int) -> list[tuple[str, int]]:
        room = width - 2 - 1 - _NAME_MIN
        chosen = {"name": _NAME_MIN}
        for key in _PRIORITY[1:]:
            w = _COLUMNS[key].width
            if room < w + 1:
                break  # never show a less important column in place of a more important one
            chosen[key], room = w, room - w - 1
        for key, cap in _GROWTH:
            if room <= 0:
                break
            if key not in chosen:
                w = _COLUMNS[key].width
                if key == "tz" and len(chosen) == len(_PRIORITY) and room >= w + 1:
                    chosen[key], room = w, room - w - 1
                continue
            if cap is not None:
                extra = min(room, max(0, cap - chosen[key]))
                chosen[key] += extra
                room -= extra
        return [(k, chosen[k]) for k in _ORDER if k in chosen]

    def _line(self, cells: list[tuple[str, Any]], width: int, fill: Any) -> Strip:
        segments = [Segment(text, style) for text, style in cells]
        return Strip(segments).adjust_cell_length(width, fill)

    def header_strip(self, width: int, view: Widget) -> Strip:
        style = view.get_component_rich_style("shopper-table--header")
        cells = [("  ", style)]
        for key, w in self.columns(width):
            column = _COLUMNS[key]
            cells.append((_fit(column.head, w, column.align) + " ", style))
        return self._line(cells, width, style)

    def footer_strip(self, width: int, view: Widget) -> Strip:
        style = view.get_component_rich_style("shopper-table--footer")
        total, shown = len(self.shoppers), len(self.rows)
        text = f" {total:,} {'shopper' if total == 1 else 'shoppers'} ({shown:,} shown)"
        f = self._filter
        facets = [w for w in (f.segment and f"seg:{f.segment}", f.country and f"country:{','.join(sorted(f.country))}",
                              f.cart_state and f"cart:{f.cart_state}", f.only_unread and "is:unread") if w]
        if facets:
            text += " · " + " ".join(facets)
        return self._line([(text, style)], width, style)

    def notice_lines(self, width: int) -> list[str]:
        """The problems of the search, wrapped to `width` (at most four lines; none without problems)."""
        problems = self.problems
        if not problems:
            return []
        cached_problems, cached_width, lines = self._notice
        if cached_problems != problems or cached_width != width:
            room = max(10, width - 2)
            lines = [line for p in problems for line in wrap(p, room, initial_indent="⚠ ", subsequent_indent="  ")]
            if len(lines) > _NOTICE_LINES:  # several problems: what is wrong with each, without the hints
                heads = "; ".join(p.split(" — ")[0] for p in problems)
                lines = wrap(heads, room, initial_indent="⚠ ", subsequent_indent="  ")
                if len(lines) > _NOTICE_LINES:
                    lines = lines[:_NOTICE_LINES]
                    lines[-1] = lines[-1][:room - 1] + "…"
            self._notice = (problems, width, lines)
        return lines

    def notice_strip(self, line: int, width: int, view: Widget) -> Strip:
        style = view.get_component_rich_style("shopper-table--notice")
        lines = self.notice_lines(width)
        text = " " + lines[line] if 0 <= line < len(lines) else ""
        return self._line([(text, style)], width, style)

    def row_strip(self, row: int, width: int, view: Widget) -> Strip:
        """One table line: the shopper at position `row` among those shown."""
        base = view.rich_style
        if not 0 <= row < len(self.rows):
            if row == 0 and not self.rows:
                muted = base + view.get_component_rich_style("shopper-table--muted")
                return self._line([("  No shopper matches this search.", muted)], width, base)
            return Strip.blank(width, base)
        index = self.rows[row]
        sh = self.shoppers[index]
        state = ("shopper-table--cursor" if row == self.cursor else
                 "shopper-table--selected" if index == self.selected else None)
        style = view.get_component_rich_style(state) if state else base

        def styled(kind: str | None):
            if kind is None or state == "shopper-table--cursor":
                return style
            # The row's background with the column's colour (merged component styles lose the background).
            col = view.get_component_rich_style(kind)
            return style + RichStyle(color=col.color, bold=col.bold)

        cells: list[tuple[str, Any]] = [("▶ " if index == self.selected else "  ", style)]
        for key, w in self.columns(width):
            kind = None
            if key == "name":
                text = sh.name
            elif key == "id":
                text, kind = sh.id, "shopper-table--muted"
            elif key == "country":
                text, kind = sh.country, "shopper-table--muted"
            elif key == "segment":
                text, kind = words(sh.segment.name), "shopper-table--muted"
            elif key == "tz":
                text, kind = sh.tz, "shopper-table--muted"
            elif key == "cart":
                text, kind = self.cart_label(sh, w)
            else:
                n = self.unread[index]
                text, kind = (f"● {n}", "shopper-table--unread") if n else ("·", "shopper-table--muted")
            cells.append((_fit(text, w, _COLUMNS[key].align) + " ", styled(kind)))
        return self._line(cells, width, style)

    def cart_label(self, sh: Any, width: int | None = None) -> tuple[str, str | None]:
        """('abandoned $87.99', component class) for a shopper's cart, ('—', muted) without one; just the
        state ('abandoned') when the amount does not fit in `width` cells."""
        state = sh.cart_state
        if state is None:
            return "—", "shopper-table--muted"
        kind = f"shopper-table--{state}"
        if width is not None and width < len(state) + 6:  # no amount is shorter than "$0.00"
            return state, kind
        commerce = getattr(self.sim, "commerce", None)
        cents = commerce.cart_value(sh) if commerce is not None and sh.cart else 0
        text = f"{state} {format_cents(cents, self._currency)}"
        return (text if width is None or cell_len(text) <= width else state), kind
