"""The live feed: every notification decision (and ad impression) as one line, at any speed.

A `VirtualList` (like toolong's log lines): the lines are `FeedLine` tuples in a bounded deque (feed_lines.py),
and only the rows on screen become Strips (feed_rows.py), built on demand and cached by line.
`on_sim_events` is O(events) and never redraws; a 0.2 s timer does, when something changed. The view follows
the bottom unless the user has scrolled up or moved the cursor, and lines dropped off the front by the bound
are counted in the header."""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from typing import Callable, Iterable

from textual.binding import Binding
from textual.cache import LRUCache
from textual.strip import Strip

from shopsim.contract.ids import shopper_index
from shopsim.contract.events import Event
from shopsim.simulation import Simulation
from shopsim.tui.messages import ExplainRequested, ShopperSelected
from shopsim.tui.widgets.feed_lines import (CHANNEL_CYCLE, IMPRESSION, OUTCOME_OF, SUPPRESSED, FeedLine,
                                            decision_line, stepped_line)
from shopsim.tui.widgets.feed_rows import FeedRows
from shopsim.tui.widgets.virtual_list import VirtualList



class LiveFeed(FeedRows, VirtualList):
    """Notification deliveries, deferrals, digests, suppressions and ad impressions of a running `sim`.

    The main screen calls `on_sim_events(events)` with each batch. Enter (or a double click) on a line posts
    `ShopperSelected` for its shopper, then `ExplainRequested` for its notification."""

    BINDINGS = [
        Binding("enter", "explain", "Why?"),
        Binding("c", "cycle_channel", "Channel"),
        Binding("s", "toggle_suppressed", "Suppressed"),
        Binding("f", "toggle_mine", "Only mine"),
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "follow", "Follow", show=False),
    ]
    COMPONENT_CLASSES = {"feed--header", "feed--time", "feed--muted", "feed--cursor",
                         "feed--delivered", "feed--deferred", "feed--digested", "feed--suppressed",
                         "feed--impression", "feed--stepped"}
    DEFAULT_CSS = """
    LiveFeed {
        background: $surface;
        color: $foreground;
        overflow-x: hidden;
        overflow-y: auto;
        & > .feed--header { background: $panel; color: $text-muted; text-style: bold; }
        & > .feed--time { color: $text-muted; }
        & > .feed--muted { color: $text-muted; }
        & > .feed--cursor { background: $block-cursor-blurred-background; }
        &:focus > .feed--cursor { background: $block-cursor-background; color: $block-cursor-foreground; }
        & > .feed--delivered { color: $text-success; }
        & > .feed--deferred { color: $text-warning; }
        & > .feed--digested { color: $text-accent; }
        & > .feed--suppressed { color: $text-error; text-style: bold; }
        & > .feed--impression { color: $text-muted; }
        & > .feed--stepped { color: $text-accent; text-style: bold; }
    }
    """

    def __init__(self, sim: Simulation, *, max_lines: int = 5000, refresh_every: float = 0.2,
                 name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.sim = sim
        self.max_lines = max_lines
        self.refresh_every = refresh_every
        self.start_epoch: int = sim.scenario.start_epoch
        self.lines: deque[FeedLine] = deque(maxlen=max_lines)  # every kept line, oldest first
        self.added = 0                  # lines ever added (the next serial)
        self.channels: frozenset[str] | None = None
        self.outcomes: frozenset[str] | None = None
        self.shopper: str | None = None
        self.selected_shopper: str | None = None  # what `f` ("only mine") filters on
        self.cursor: int | None = None  # serial of the line under the cursor
        self.following = True
        self._view: deque[FeedLine] = self.lines
        self._view_added = 0            # lines ever appended to a filtered view
        self._view_dropped_seen = 0     # view lines dropped at the last redraw
        self._dirty = False
        self._strips: LRUCache[tuple[int, bool, int], Strip] = LRUCache(1024)

    # --- feeding -----------------------------------------------------------------------------------

    def on_sim_events(self, events: Iterable[Event]) -> None:
        """Add the lines of a batch of events (cheap: no drawing happens here)."""
        lines, outcome_of, serial = self.lines, OUTCOME_OF, self.added
        view = None if self._view is lines else self._view
        for ev in events:
            outcome = outcome_of.get(ev.type)
            if outcome is None:
                continue
            line = decision_line(ev, outcome, serial)
            serial += 1
            lines.append(line)
            if view is not None and self._matches(line):
                view.append(line)
                self._view_added += 1
        if serial != self.added:
            self.added = serial
            self._dirty = True

    def show_step(self, events: Iterable[Event], since: int, describe: Callable[[Event], str]) -> None:
        """Mark what a step (`n`) reached, once `on_sim_events` has taken its batch (lines from serial `since`
        on are that batch's): an event that is not a decision gets a line of its own with `describe(event)`,
        and the cursor goes to the step's first line, so the feed stops following there."""
        for ev in events:
            if ev.type not in OUTCOME_OF:
                self._add(stepped_line(ev, self.added, describe))
        self.flush()
        first = next((i for i, ln in enumerate(self._view) if ln.serial >= since), None) if self._view else None
        if first is not None and self.is_mounted:
            self.call_after_refresh(self.move_cursor, first)  # once the view knows its new height

    def _add(self, line: FeedLine) -> None:
        """One line, to the kept lines and (if it passes the filter) the view; on_sim_events inlines this."""
        self.lines.append(line)
        self.added += 1
        if self._view is not self.lines and self._matches(line):
            self._view.append(line)
            self._view_added += 1

    def clear(self) -> None:
        """Forget every line (a new run)."""
        self.lines.clear()
        self.added = 0
        self.cursor = None
        self._rebuild_view()

    @property
    def dropped(self) -> int:
        """Lines dropped off the front by the bound."""
        return self.added - len(self.lines)

    @property
    def visible_lines(self) -> deque[FeedLine]:
        """The kept lines that pass the filter, oldest first."""
        return self._view

    # --- filters -----------------------------------------------------------------------------------

    def set_filter(self, channels: Iterable[str] | None = None, outcomes: Iterable[str] | None = None,
                   shopper: str | int | None = None) -> None:
        """Show only these channels ("email", "push", "sms", "in_app", "ads"), outcomes (`OUTCOMES` of
        feed_lines.py) and shopper (id or index); None shows all. Replaces the whole filter."""
        self.channels = None if channels is None else frozenset(channels)
        self.outcomes = None if outcomes is None else frozenset(outcomes)
        if isinstance(shopper, int):
            shopper = self.sim.shoppers[shopper].id
        self.shopper = shopper
        self._rebuild_view()

    def _matches(self, line: FeedLine) -> bool:
        return ((self.channels is None or line.channel in self.channels)
                and (self.outcomes is None or line.outcome in self.outcomes)
                and (self.shopper is None or line.shopper == self.shopper))

    def _rebuild_view(self) -> None:
        if self.channels is None and self.outcomes is None and self.shopper is None:
            self._view = self.lines
        else:
            self._view = deque((ln for ln in self.lines if self._matches(ln)), maxlen=self.max_lines)
        self._view_added = len(self._view)
        self._view_dropped_seen = self._view_dropped()
        at = self.cursor_row
        if at is None:
            self.cursor = None
        self.following = at is None
        self.flush()
        if at is not None and self.is_mounted:
            self.move_cursor(at)  # keep the line under the cursor in sight

    def _view_dropped(self) -> int:
        return self.dropped if self._view is self.lines else self._view_added - len(self._view)

    # --- drawing -----------------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.set_interval(self.refresh_every, self._tick)
        self.flush()

    def _tick(self) -> None:
        if self._dirty:
            self.flush()

    def flush(self) -> None:
        """Redraw now with every line added so far (the timer calls this when something changed)."""
        self._dirty = False
        dropped = self._view_dropped()
        gone, self._view_dropped_seen = dropped - self._view_dropped_seen, dropped
        self.update_virtual_size()
        if not self.is_mounted:
            return
        if self.following:
            # max_scroll_y follows the new virtual size only after the next layout: scroll then.
            self.call_after_refresh(self._follow)
        elif gone > 0:  # keep the lines the user is reading where they are
            self.scroll_to(y=max(0, self.scroll_offset.y - gone), animate=False)
            self.following = False
        self.refresh()

    def scroll_to_cursor(self) -> None:
        if self.following:  # no cursor: the newest line is what stays in sight
            self.call_after_refresh(self._follow)
        else:
            super().scroll_to_cursor()

    def _follow(self) -> None:
        if self.following:
            self.scroll_to(y=self.max_scroll_y, animate=False)
            self.following = True

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self.following = round(new_value) >= self.max_scroll_y and self.cursor is None

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    @property
    def row_count(self) -> int:
        return len(self._view)

    def head_strip(self, y: int, width: int) -> Strip:
        return self._header_strip(width)

    def row_strip(self, row: int, width: int) -> Strip:
        view = self._view
        if row >= len(view):
            return Strip.blank(width, self.rich_style)
        line = view[row]
        on_cursor = line.serial == self.cursor
        key = (line.serial, on_cursor, width)
        strip = self._strips.get(key)
        if strip is None:
            strip = self._strips[key] = self._line_strip(line, on_cursor, width)
        return strip

    # --- cursor and keys ---------------------------------------------------------------------------

    def _index_of(self, serial: int) -> int | None:
        view = self._view
        if not view:
            return None
        if view is self.lines:
            i = serial - view[0].serial
        else:
            i = bisect_left(view, serial, key=lambda ln: ln.serial)
        return i if 0 <= i < len(view) and view[i].serial == serial else None

    @property
    def cursor_row(self) -> int | None:
        return None if self.cursor is None else self._index_of(self.cursor)

    def place_cursor(self, row: int) -> None:
        self.cursor = self._view[row].serial
        self.following = False

    @property
    def cursor_line(self) -> FeedLine | None:
        """The line under the cursor, if any."""
        i = self.cursor_row
        return None if i is None else self._view[i]

    def action_cursor_down(self) -> None:
        if self.cursor is None or self._cursor_from() >= len(self._view) - 1:
            self.action_follow()
        else:
            super().action_cursor_down()

    def action_page_down(self) -> None:
        if self.cursor is not None:
            super().action_page_down()

    def action_follow(self) -> None:
        """Drop the cursor and follow the newest lines."""
        self.cursor = None
        self.following = True
        self.flush()

    def action_explain(self) -> None:
        line = self.cursor_line
        if line is None:
            self.app.bell()
            return
        self.explain(line)

    def explain(self, line: FeedLine) -> None:
        """Post ShopperSelected for the line's shopper, then ExplainRequested for its notification."""
        sid = line.shopper
        if sid is not None:
            self.selected_shopper = sid
            try:
                self.post_message(ShopperSelected(shopper_index(sid)))
            except KeyError:
                pass
        if line.outcome != IMPRESSION and line.nid:
            self.post_message(ExplainRequested(line.nid))

    def action_cycle_channel(self) -> None:
        now = None if self.channels is None or len(self.channels) != 1 else next(iter(self.channels))
        nxt = CHANNEL_CYCLE[(CHANNEL_CYCLE.index(now) + 1) % len(CHANNEL_CYCLE)] if now in CHANNEL_CYCLE else None
        self.set_filter(None if nxt is None else {nxt}, self.outcomes, self.shopper)

    def action_toggle_suppressed(self) -> None:
        self.set_filter(self.channels, None if self.outcomes == {SUPPRESSED} else {SUPPRESSED}, self.shopper)

    def action_toggle_mine(self) -> None:
        if self.shopper is None and self.selected_shopper is None:
            self.notify("Select a shopper first", severity="warning")
            return
        self.set_filter(self.channels, self.outcomes, None if self.shopper is not None else self.selected_shopper)

    def row_clicked(self, row: int, chain: int) -> None:
        self.move_cursor(row)
        if chain >= 2:
            self.explain(self._view[row])
