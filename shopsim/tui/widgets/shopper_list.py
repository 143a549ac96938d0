"""The two widgets a `ShopperTable` (shoppers.py) composes: `ShopperList`, the virtual list of the shoppers
shown, and `ShopperSearch`, the filter box above it.

The table holds the state (which shoppers are shown, the cursor, the selection) and says how a line reads
(`ShopperRows`, shopper_rows.py); the list asks it through `ShopperSource`, so neither module imports the
table's."""

from __future__ import annotations

from typing import Any, Protocol, Sequence

from textual import events
from textual.binding import Binding
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Input

from shopsim.tui.widgets.virtual_list import VirtualList


class ShopperSource(Protocol):
    """What the list asks of the table that composes it: the rows shown, the cursor, each line, selecting."""

    rows: Sequence[int]
    cursor: int

    def notice_lines(self, width: int) -> list[str]: ...

    def header_strip(self, width: int, view: Widget) -> Strip: ...

    def footer_strip(self, width: int, view: Widget) -> Strip: ...

    def notice_strip(self, line: int, width: int, view: Widget) -> Strip: ...

    def row_strip(self, row: int, width: int, view: Widget) -> Strip: ...

    def select_cursor(self) -> None: ...


class ShopperSearch(Input):
    """The filter box above the table. Typing filters at once; up/down move the table's cursor; enter
    selects the highlighted shopper; escape goes back to the list."""

    BINDINGS = [Binding("escape", "leave", "Back to list", show=False)]

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("placeholder", "Search name, id, city, country…  segment:  country:  cart:  is:unread")
        super().__init__(**kwargs)

    def action_leave(self) -> None:
        self.screen.set_focus(self.parent.query_one(ShopperList) if self.parent else None)


class ShopperList(VirtualList, inherit_bindings=False):
    """The Line API view of a `ShopperTable`: a fixed header line (and the search's notices), the visible
    rows, a fixed footer line. Up, down and the page keys are the table's bindings (so they work from the
    search box too)."""

    COMPONENT_CLASSES = {
        "shopper-table--header", "shopper-table--footer", "shopper-table--cursor", "shopper-table--selected",
        "shopper-table--muted", "shopper-table--unread", "shopper-table--open", "shopper-table--checkout",
        "shopper-table--abandoned", "shopper-table--notice",
    }
    DEFAULT_CSS = """
    ShopperList {
        height: 1fr;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;  /* a cell more for names */
        background: $surface;
        & > .shopper-table--notice { background: $warning-muted; color: $text-warning; }
        & > .shopper-table--header { background: $panel; color: $text-primary; text-style: bold; }
        & > .shopper-table--footer { background: $panel; color: $text-muted; }
        & > .shopper-table--cursor {
            background: $block-cursor-blurred-background; color: $block-cursor-blurred-foreground;
        }
        &:focus > .shopper-table--cursor {
            background: $block-cursor-background; color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        & > .shopper-table--selected { background: $primary-muted; text-style: bold; }
        & > .shopper-table--muted { color: $text-muted; }
        & > .shopper-table--unread { color: $text-accent; text-style: bold; }
        & > .shopper-table--open { color: $text-primary; }
        & > .shopper-table--checkout { color: $text-warning; }
        & > .shopper-table--abandoned { color: $text-error; }
    }
    """
    BINDINGS = [
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
        Binding("enter", "select", "Select", show=False),
    ]
    FOOT = 1

    def __init__(self, table: ShopperSource, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.table = table

    # --- the virtual list over the table's rows -------------------------------------------------------

    @property
    def top(self) -> int:
        """The line of the first row: after the header and the notice, if any."""
        return 1 + len(self.table.notice_lines(self.scrollable_content_region.width))

    @property
    def row_count(self) -> int:
        return len(self.table.rows)

    @property
    def cursor_row(self) -> int:
        return self.table.cursor

    def place_cursor(self, row: int) -> None:
        self.table.cursor = row

    def head_strip(self, y: int, width: int) -> Strip:
        return self.table.header_strip(width, self) if y == 0 else self.table.notice_strip(y - 1, width, self)

    def foot_strip(self, y: int, width: int) -> Strip:
        return self.table.footer_strip(width, self)

    def row_strip(self, row: int, width: int) -> Strip:
        return self.table.row_strip(row, width, self)

    def row_clicked(self, row: int, chain: int) -> None:
        self.move_cursor(row)
        self.table.select_cursor()

    def action_select(self) -> None:
        self.table.select_cursor()

    # --- keys: "/" searches -------------------------------------------------------------------------

    def on_key(self, event: events.Key) -> None:
        # A burst of keys ("/jesus" typed fast) is queued here before any binding runs, so "/" is handled
        # here at once and the rest of the burst is handed on to the search box.
        search = self.parent.query_one(ShopperSearch) if self.parent else None
        if search is None:
            return
        if event.key == "slash" and self.screen.focused is self:
            self.screen.set_focus(search)
        elif self.screen.focused is search and event.is_printable and event.character:
            search.insert_text_at_cursor(event.character)
        else:
            return
        event.stop()
        event.prevent_default()
