"""The shoppers list: a search box over a virtual table (Line API), fast at 100k shoppers.

`ShopperTable` holds the state (the filter, the cursor, unread counts kept from events) and composes a
`ShopperSearch` input and a `ShopperList`, a `ScrollView` that renders only the visible lines with
`render_line`, as toolong's log view does: no widget per row, so 100k shoppers cost one list of indices.
How a line reads (columns, header, footer, notices, rows) is `ShopperRows`, in shopper_rows.py.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any, Iterable, NamedTuple, Sequence

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Input

from shopsim.contract.ids import shopper_index
from shopsim.contract import events as E
from shopsim.contract.events import Event
from shopsim.tui.messages import ShopperSelected
from shopsim.tui.widgets.shopper_query import CART_STATES, country_name, parse_query
from shopsim.tui.widgets.shopper_rows import ShopperRows

__all__ = ["ShopperTable", "ShopperList", "ShopperSearch", "parse_query", "country_name", "CART_STATES"]

REFRESH_S = 0.25  # coalesce redraws: at most four a second whatever the event rate
_CART_EVENTS = frozenset((E.CART_ITEM_ADDED, E.CART_EMPTIED, E.CHECKOUT_STARTED, E.CART_ABANDONED,
                          E.ORDER_PLACED, E.SESSION_STARTED))
class _Filter(NamedTuple):
    text: str = ""
    segment: str | None = None
    country: frozenset[str] | None = None
    only_unread: bool = False
    cart_state: str | None = None


class ShopperSearch(Input):
    """The filter box above the table. Typing filters at once; up/down move the table's cursor; enter
    selects the highlighted shopper; escape goes back to the list."""

    BINDINGS = [Binding("escape", "leave", "Back to list", show=False)]

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("placeholder", "Search name, id, city, country…  segment:  country:  cart:  is:unread")
        super().__init__(**kwargs)

    def action_leave(self) -> None:
        self.screen.set_focus(self.parent.query_one(ShopperList) if self.parent else None)


class ShopperList(ScrollView, can_focus=True, inherit_bindings=False):
    """The Line API view of a `ShopperTable`: a fixed header line, the visible rows, a fixed footer line.
    Up, down and the page keys are the table's bindings (so they work from the search box too)."""

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

    def __init__(self, table: ShopperTable, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.table = table

    @property
    def top(self) -> int:
        """The line of the first row: after the header and the notice, if any."""
        return 1 + len(self.table.notice_lines(self.scrollable_content_region.width))

    @property
    def body_height(self) -> int:
        """How many rows fit between the header (and notice) and the footer."""
        return max(1, self.scrollable_content_region.height - self.top - 1)

    def update_virtual_size(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.table.rows) + self.top + 1)

    def on_resize(self) -> None:
        self.update_virtual_size()
        self.scroll_to_row(self.table.cursor)

    def scroll_to_row(self, row: int) -> None:
        """Scroll just enough for `row` (a position among the rows shown) to be visible."""
        top, h = round(self.scroll_y), self.body_height
        if row < top:
            self.scroll_to(y=row, animate=False)
        elif row >= top + h:
            self.scroll_to(y=row - h + 1, animate=False)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        height = self.scrollable_content_region.height
        table = self.table
        if y == 0:
            return table.header_strip(width, self)
        if y == height - 1:
            return table.footer_strip(width, self)
        top = self.top
        if y < top:
            return table.notice_strip(y - 1, width, self)
        return table.row_strip(round(self.scroll_y) + y - top, width, self)

    # --- keys and mouse: the table owns the cursor --------------------------------------------------

    def action_first(self) -> None:
        self.table.move_cursor(0)

    def action_last(self) -> None:
        self.table.move_cursor(len(self.table.rows) - 1)

    def action_select(self) -> None:
        self.table.select_cursor()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        top = self.top
        if offset is None or not top <= offset.y < self.scrollable_content_region.height - 1:
            return
        row = round(self.scroll_y) + offset.y - top
        if row < len(self.table.rows):
            self.table.move_cursor(row)
            self.table.select_cursor()

    def on_key(self, event: events.Key) -> None:
        # A burst of keys ("/jesus" typed fast) is queued here before any binding runs, so "/" is handled
        # here at once and the rest of the burst is handed on to the search box.
        search = self.table.query_one(ShopperSearch)
        if event.key == "slash" and self.screen.focused is self:
            self.screen.set_focus(search)
        elif self.screen.focused is search and event.is_printable and event.character:
            search.insert_text_at_cursor(event.character)
        else:
            return
        event.stop()
        event.prevent_default()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()


class ShopperTable(ShopperRows, Vertical):
    """Every shopper of `sim` in one virtual table: name, id, segment, country and time zone, cart state
    with its value, unread messages. Enter or a click posts `ShopperSelected`."""

    DEFAULT_CSS = """
    ShopperTable { height: 1fr; }
    ShopperTable > ShopperSearch { dock: top; margin: 0; border: tall $border-blurred; }
    ShopperTable > ShopperSearch:focus { border: tall $border; }
    """
    BINDINGS = [  # from the list and from the search box
        Binding("up", "cursor(-1)", "Previous shopper", show=False),
        Binding("down", "cursor(1)", "Next shopper", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
    ]

    def __init__(self, sim: Any, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.sim = sim
        self.shoppers: Sequence[Any] = sim.shoppers
        n = len(self.shoppers)
        self.rows: Sequence[int] = range(n)   # shopper indices shown, ascending (a range when unfiltered)
        self.cursor = 0                        # position in `rows`
        self.selected: int | None = None       # shopper index last selected
        self.unread: list[int] = [0] * n
        self._unread_ids: set[str] = set()
        self._filter = _Filter()
        self.problems: tuple[str, ...] = ()   # what the search box said that filters nothing, in words
        self._notice: tuple[tuple[str, ...], int, list[str]] = ((), 0, [])  # problems, width -> lines
        self._haystack: list[str] | None = None
        self._countries: list[tuple[str, str]] | None = None
        self._columns: dict[int, list[tuple[str, int]]] = {}
        self._dirty = False
        self._by_id: dict[str, int] | None = None
        self._currency = getattr(getattr(sim, "scenario", None), "currency", "")
        self._base_seq = getattr(sim, "emitted", 0)  # events up to here are already in the state read below
        if getattr(sim, "started", False):
            self._count_unread()

    def compose(self) -> ComposeResult:
        yield ShopperList(self)              # first in the focus chain: keys go to the list, not the box
        yield ShopperSearch(id="shopper-search")

    def on_mount(self) -> None:
        self.set_interval(REFRESH_S, self.flush_updates)

    @property
    def view(self) -> ShopperList:
        return self.query_one(ShopperList)

    @property
    def segments(self) -> list[str]:
        """The segment names, for a filter menu."""
        defs = getattr(getattr(self.sim, "scenario", None), "segments", None)
        if defs:
            return [d.name for d in defs]
        return sorted({sh.segment.name for sh in self.shoppers})

    # --- unread counts, kept from events ------------------------------------------------------------

    def _count_unread(self) -> None:
        sim, unread, ids = self.sim, self.unread, self._unread_ids
        for sh in self.shoppers:
            if getattr(sh, "notes", None) is None:
                continue
            try:
                inbox = sim.inbox(sh.index)
            except LookupError:
                return
            for m in inbox:
                if not m.read:
                    ids.add(m.id)
                    unread[sh.index] += 1

    def _index(self, sid: str) -> int:
        try:
            i = shopper_index(sid)
            if self.shoppers[i].id == sid:
                return i
        except (ValueError, IndexError):
            pass
        if self._by_id is None:
            self._by_id = {sh.id: sh.index for sh in self.shoppers}
        return self._by_id[sid]

    def on_sim_events(self, events: list[Event]) -> None:
        """Count deliveries (+1 unread) and opens (−1 if it was unread); note cart changes. O(events);
        the redraw waits for the next tick."""
        base, ids, unread = self._base_seq, self._unread_ids, self.unread
        dirty = False
        for ev in events:
            typ = ev.type
            if typ == E.NOTIFICATION_DELIVERED:
                nid = ev.data["id"]
                if ev.seq > base and nid not in ids:
                    ids.add(nid)
                    unread[self._index(ev.shopper)] += 1
                    dirty = True
            elif typ == E.NOTIFICATION_OPENED and ev.data.get("source") != "proxy":  # a proxy fetch is no read
                nid = ev.data["id"]
                if nid in ids:
                    ids.discard(nid)
                    unread[self._index(ev.shopper)] -= 1
                    dirty = True
            elif typ in _CART_EVENTS:
                dirty = True
        if dirty:
            self._dirty = True

    def unread_count(self, index: int) -> int:
        return self.unread[index]

    def flush_updates(self) -> None:
        """Apply what events changed since the last tick: refilter (when the filter depends on live state)
        and redraw. Called by a timer a few times a second; call it to see changes at once."""
        if not self._dirty:
            return
        self._dirty = False
        if self._filter.only_unread or self._filter.cart_state:
            self._apply_filter(self._filter, narrow=False)
        if self.is_mounted:
            self.view.refresh()

    # --- filtering ----------------------------------------------------------------------------------

    def haystack(self) -> list[str]:
        """Per shopper, the lowercase text the search looks in: name, id, city, country code and English
        name, time zone (built once, on the first search)."""
        if self._haystack is None:
            self._haystack = [f"{sh.name}\x00{sh.id}\x00{getattr(sh, 'city', '')}\x00{sh.country}\x00"
                              f"{country_name(sh.country)}\x00{sh.tz}".lower() for sh in self.shoppers]
        return self._haystack

    @property
    def countries(self) -> list[tuple[str, str]]:
        """(code, English name) of every country the shoppers come from, by code."""
        if self._countries is None:
            codes = sorted({sh.country for sh in self.shoppers})
            self._countries = [(code, country_name(code)) for code in codes]
        return self._countries

    def parse(self, query: str) -> dict[str, Any]:
        """`query` in the search box's syntax as `set_filter` arguments and `problems` (`parse_query`)."""
        return parse_query(query, self.segments, self.countries)

    def set_filter(self, text: str = "", segment: str | None = None, only_unread: bool = False,
                   cart_state: str | None = None, country: str | Iterable[str] | None = None) -> int:
        """Show the shoppers whose name, id, city, country (code or name) or time zone contains `text` (any
        case), in `segment`, from `country` (codes, or one code or name), with unread messages, with a cart
        in `cart_state` (open, checkout, abandoned, or any / none). Returns how many are shown; the cursor
        stays on the same shopper when it still is. The search box shows the same filter in its own syntax."""
        codes = self._country_codes(country)
        n = self._set_filter(text, segment, only_unread, cart_state, codes, problems=())
        if self.is_mounted:
            words = [text.strip(), segment and f"seg:{segment}", codes and f"country:{','.join(sorted(codes))}",
                     cart_state and f"cart:{cart_state}", only_unread and "is:unread"]
            box = self.query_one(ShopperSearch)
            query = " ".join(w for w in words if w)
            if self.parse(box.value) != self.parse(query):
                with box.prevent(Input.Changed):
                    box.value = query
        return n

    def _country_codes(self, country: str | Iterable[str] | None) -> frozenset[str] | None:
        if country is None:
            return None
        if isinstance(country, str):
            return self.parse(f"country:{country}")["country"] or frozenset({country.upper()})
        return frozenset(country) or None

    def apply_query(self, query: str) -> int:
        """Filter with the search box's syntax (see `parse_query`); what it cannot use shows as a notice."""
        args = self.parse(query)
        return self._set_filter(**args)

    def _set_filter(self, text: str = "", segment: str | None = None, only_unread: bool = False,
                    cart_state: str | None = None, country: frozenset[str] | None = None,
                    problems: Iterable[str] = ()) -> int:
        problems = tuple(problems)
        if problems != self.problems:
            self.problems = problems
            if self.is_mounted:
                view = self.view
                view.update_virtual_size()
                view.scroll_to_row(self.cursor)  # the notice took lines: keep the cursor in sight
                view.refresh()
        key = _Filter(text.strip().lower(), segment, country, bool(only_unread), cart_state)
        if key != self._filter:
            old = self._filter
            # Typing one more letter only narrows: look among the rows shown (unless live facets are on).
            narrow = (key[1:] == old[1:] and not key.only_unread and not key.cart_state and old.text in key.text)
            self._apply_filter(key, narrow)
        return len(self.rows)

    def _apply_filter(self, key: _Filter, narrow: bool) -> None:
        text, segment, country, only_unread, cart_state = key
        keep = self.current_shopper
        shoppers, unread = self.shoppers, self.unread
        rows: Iterable[int] = self.rows if narrow else range(len(shoppers))
        if text:
            hay = self.haystack()
            rows = [i for i in rows if text in hay[i]]
        if segment:
            rows = [i for i in rows if shoppers[i].segment.name == segment]
        if country:
            rows = [i for i in rows if shoppers[i].country in country]
        if only_unread:
            rows = [i for i in rows if unread[i] > 0]
        if cart_state == "any":
            rows = [i for i in rows if shoppers[i].cart_state is not None]
        elif cart_state == "none":
            rows = [i for i in rows if shoppers[i].cart_state is None]
        elif cart_state:
            rows = [i for i in rows if shoppers[i].cart_state == cart_state]
        self.rows = rows if isinstance(rows, (list, range)) else list(rows)
        self._filter = key
        # The cursor stays on its shopper, else goes back to the selected one, else to the top.
        pos = self.row_of(keep) if keep is not None else None
        if pos is None and self.selected is not None:
            pos = self.row_of(self.selected)
        self.cursor = pos if pos is not None else 0
        if self.is_mounted:
            view = self.view
            view.update_virtual_size()
            view.scroll_to_row(self.cursor)
            view.refresh()

    def row_of(self, index: int) -> int | None:
        """Where shopper `index` is among the rows shown, or None."""
        rows = self.rows
        pos = bisect_left(rows, index)
        return pos if pos < len(rows) and rows[pos] == index else None

    # --- cursor and selection -----------------------------------------------------------------------

    @property
    def current_shopper(self) -> int | None:
        """The shopper index under the cursor."""
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    def move_cursor(self, row: int) -> None:
        old, self.cursor = self.cursor, max(0, min(row, len(self.rows) - 1))
        if self.is_mounted and old != self.cursor:
            view = self.view
            view.scroll_to_row(self.cursor)
            view.refresh()

    def action_cursor(self, delta: int) -> None:
        self.move_cursor(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self.move_cursor(self.cursor + direction * self.view.body_height)

    def select_cursor(self) -> None:
        """Select the shopper under the cursor: highlight it and post `ShopperSelected`."""
        index = self.current_shopper
        if index is None:
            return
        self.selected = index
        self.view.refresh()
        self.post_message(ShopperSelected(index))

    def show_shopper(self, index: int) -> None:
        """Select shopper `index` from elsewhere (no message): highlight it and put the cursor on it."""
        self.selected = index
        row = self.row_of(index)
        if row is not None:
            self.move_cursor(row)
        if self.is_mounted:
            self.view.refresh()

    def focus_search(self) -> None:
        # At once, not scheduled: keys typed right after "/" must land in the box, not in the list.
        self.screen.set_focus(self.query_one(ShopperSearch))

    def on_input_changed(self, event: Input.Changed) -> None:
        if isinstance(event.input, ShopperSearch):
            event.stop()
            self.apply_query(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if isinstance(event.input, ShopperSearch):
            event.stop()
            self.select_cursor()
            self.view.focus()
