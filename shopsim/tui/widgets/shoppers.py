"""The shoppers list: a search box over a virtual table (Line API), fast at 100k shoppers.

`ShopperTable` holds the state (the filter, the cursor, unread counts kept from events) and composes a
`ShopperSearch` input and a `ShopperList`, a `VirtualList` that renders only the visible lines: no widget
per row, so 100k shoppers cost one list of indices (both in shopper_list.py). How a line reads (columns,
header, footer, notices, rows) is `ShopperRows`, in shopper_rows.py.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import TYPE_CHECKING, Any, Iterable, NamedTuple, Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input

from shopsim.contract.ids import shopper_index
from shopsim.contract import events as E
from shopsim.contract.events import Event
from shopsim.tui.messages import ShopperSelected
from shopsim.tui.widgets.shopper_list import ShopperList, ShopperSearch
from shopsim.tui.widgets.shopper_query import country_name, parse_query
from shopsim.tui.widgets.shopper_rows import ShopperRows

if TYPE_CHECKING:
    from shopsim.simulation import SimulationView


REFRESH_S = 0.25  # coalesce redraws: at most four a second whatever the event rate
_CART_EVENTS = frozenset((E.CART_ITEM_ADDED, E.CART_EMPTIED, E.CHECKOUT_STARTED, E.CART_ABANDONED,
                          E.ORDER_PLACED, E.SESSION_STARTED))
class _Filter(NamedTuple):
    text: str = ""
    segment: str | None = None
    country: frozenset[str] | None = None
    only_unread: bool = False
    cart_state: str | None = None


class ShopperTable(ShopperRows, Vertical):
    """Every shopper of `sim` in one virtual table: name, id, segment, country and time zone, cart state
    with its value, unread messages. Enter or a click posts `ShopperSelected`."""

    DEFAULT_CSS = """
    ShopperTable { height: 1fr; }
    ShopperTable > ShopperSearch { dock: top; margin: 0; border: tall $border-blurred; }
    ShopperTable > ShopperSearch:focus { border: tall $border; }
    """
    BINDINGS = [  # from the list and from the search box
        Binding("up", "cursor_up", "Previous shopper", show=False),
        Binding("down", "cursor_down", "Next shopper", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
    ]

    def __init__(self, sim: SimulationView, *, name: str | None = None, id: str | None = None,
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
        # Held, not queried: a timer or a selection may still reach the table while the screen is taken down.
        self._list = ShopperList(self)
        if getattr(sim, "started", False):
            self._count_unread()

    def compose(self) -> ComposeResult:
        yield self._list                     # first in the focus chain: keys go to the list, not the box
        yield ShopperSearch(id="shopper-search")

    def on_mount(self) -> None:
        self.set_interval(REFRESH_S, self.flush_updates)

    @property
    def view(self) -> ShopperList:
        return self._list

    @property
    def segments(self) -> list[str]:
        """The segment names, for a filter menu."""
        defs = getattr(getattr(self.sim, "scenario", None), "segments", None)  # a test may pass a stand-in
        if defs:
            return [d.name for d in defs]
        return sorted({sh.segment.name for sh in self.shoppers})

    def adopt(self, sim: SimulationView) -> None:
        """Show `sim` in place of the preview of it the table was made with (the same shoppers, now the run's):
        the filter, the cursor, the selection and the search's index stay; counts and live facets read the run."""
        self.sim, self.shoppers = sim, sim.shoppers
        self.unread = [0] * len(self.shoppers)
        self._unread_ids = set()
        self._by_id = None
        self._base_seq = getattr(sim, "emitted", 0)
        if getattr(sim, "started", False):
            self._count_unread()
        self._apply_filter(self._filter, narrow=False)

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
                view.scroll_to_cursor()  # the notice took lines: keep the cursor in sight
                view.refresh()
        key = _Filter(text.strip().lower(), segment, country, bool(only_unread), cart_state)
        if key != self._filter:
            old = self._filter
            # Typing one more letter only narrows: look among the rows shown (unless live facets are on).
            narrow = (key._replace(text="") == old._replace(text="") and not key.only_unread and not key.cart_state
                      and old.text in key.text)
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
            view.scroll_to_cursor()
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
        """Put the cursor on position `row` among the rows shown (in sight, once the list is)."""
        if self.is_mounted:
            self.view.move_cursor(row)
        else:
            self.cursor = max(0, min(row, len(self.rows) - 1))

    # The list's own keys, bound here too so that they work from the search box.

    def action_cursor_up(self) -> None:
        self.view.action_cursor_up()

    def action_cursor_down(self) -> None:
        self.view.action_cursor_down()

    def action_page_up(self) -> None:
        self.view.action_page_up()

    def action_page_down(self) -> None:
        self.view.action_page_down()

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
