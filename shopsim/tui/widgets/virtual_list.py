"""A list that draws only the lines on screen (Textual's Line API), with a cursor on one of its rows.

The shoppers list and the live feed are both long (100k shoppers, thousands of feed lines): no widget per
row, only `render_line` for the lines in view, as toolong's log view does. `VirtualList` is what they share:
lines fixed above the rows (a header, the search's notices) and below them (a footer), the rows between,
which scroll; a cursor moved by the keys, a page at a time, to either end, or by a click, and kept in sight.
The mouse wheel scrolls as in any `ScrollView`, leaving the cursor where it is.

A subclass says how many rows there are (`row_count`), where the cursor is (`cursor_row`, `place_cursor`)
and how each line reads (`head_strip`, `row_strip`, `foot_strip`); the keys are its own to bind, since the
two lists word them differently (and the shoppers list takes some of them from its search box too)."""

from __future__ import annotations

from textual import events
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip


class VirtualList(ScrollView, can_focus=True):
    """Rows between fixed lines, drawn line by line; see the module's docstring for what a subclass gives."""

    FOOT = 0          # lines fixed below the rows
    PAGE_OVERLAP = 0  # rows of the last page still in sight after a page key

    # --- what a subclass says ------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        raise NotImplementedError

    @property
    def cursor_row(self) -> int | None:
        """The row under the cursor, or None (no cursor, or its row is gone)."""
        raise NotImplementedError

    def place_cursor(self, row: int) -> None:
        """Remember the cursor on `row` (a row that exists); `move_cursor` does the scrolling and drawing."""
        raise NotImplementedError

    def head_strip(self, y: int, width: int) -> Strip:
        """Line `y` of those fixed above the rows."""
        raise NotImplementedError

    def foot_strip(self, y: int, width: int) -> Strip:
        """Line `y` of those fixed below the rows."""
        return Strip.blank(width, self.rich_style)

    def row_strip(self, row: int, width: int) -> Strip:
        """Row `row`; one past the last when the rows do not fill the screen."""
        raise NotImplementedError

    def row_clicked(self, row: int, chain: int) -> None:
        """A click (`chain` 2 for a double click) on `row`."""
        self.move_cursor(row)

    # --- geometry ------------------------------------------------------------------------------------

    @property
    def top(self) -> int:
        """The line of the first row: after the lines fixed above."""
        return 1

    @property
    def body_height(self) -> int:
        """How many rows fit between the fixed lines."""
        return max(1, self.scrollable_content_region.height - self.top - self.FOOT)

    def update_virtual_size(self) -> None:
        # Scrolling counts in rows: scroll_y is the first row shown.
        self.virtual_size = Size(0, self.row_count + self.top + self.FOOT)

    def on_resize(self) -> None:
        self.update_virtual_size()
        self.scroll_to_cursor()

    def render_line(self, y: int) -> Strip:
        region = self.scrollable_content_region
        width, top = region.width, self.top
        bottom = region.height - self.FOOT
        if y and y >= bottom:  # the first line is the head's however short the list; then the foot's
            return self.foot_strip(y - bottom, width)
        if y < top:
            return self.head_strip(y, width)
        return self.row_strip(self.scroll_offset.y + y - top, width)

    def row_at(self, y: int) -> int | None:
        """The row on line `y` of the list, if a row is there."""
        top = self.top
        if not top <= y < self.scrollable_content_region.height - self.FOOT:
            return None
        row = self.scroll_offset.y + y - top
        return row if row < self.row_count else None

    # --- the cursor ----------------------------------------------------------------------------------

    def scroll_to_row(self, row: int) -> None:
        """Scroll just enough for `row` to be in sight."""
        top, height = self.scroll_offset.y, self.body_height
        if row < top:
            self.scroll_to(y=row, animate=False)
        elif row >= top + height:
            self.scroll_to(y=row - height + 1, animate=False)

    def scroll_to_cursor(self) -> None:
        row = self.cursor_row
        if row is not None:
            self.scroll_to_row(row)

    def move_cursor(self, row: int) -> None:
        """Put the cursor on `row` (kept within the rows) and scroll it into sight."""
        count = self.row_count
        if not count:
            return
        row = max(0, min(row, count - 1))
        self.place_cursor(row)
        self.scroll_to_row(row)
        self.refresh()

    def _cursor_from(self) -> int:
        """Where a key moves the cursor from: its row, else just below the last row on screen (so that up
        lands on it)."""
        row = self.cursor_row
        if row is None:
            row = min(self.row_count, self.scroll_offset.y + self.body_height)
        return row

    def action_cursor_up(self) -> None:
        self.move_cursor(self._cursor_from() - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self._cursor_from() + 1)

    @property
    def page_height(self) -> int:
        return max(1, self.body_height - self.PAGE_OVERLAP)

    def action_page_up(self) -> None:
        self.move_cursor(self._cursor_from() - self.page_height)

    def action_page_down(self) -> None:
        self.move_cursor(self._cursor_from() + self.page_height)

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(self.row_count - 1)

    # --- mouse and focus -----------------------------------------------------------------------------

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        row = None if offset is None else self.row_at(offset.y)
        if row is not None:
            self.row_clicked(row, event.chain)

    def on_focus(self) -> None:
        self.refresh()  # the cursor's colours say whether the list has the focus

    def on_blur(self) -> None:
        self.refresh()
