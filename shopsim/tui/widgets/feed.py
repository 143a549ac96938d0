"""The live feed: every notification decision (and ad impression) as one line, at any speed.

A Line API view (like toolong's log lines): the lines are compact tuples in a bounded deque, and only the
rows on screen become Strips, built on demand and cached by line. `on_sim_events` is O(events) and never
redraws; a 0.2 s timer does, when something changed. The view follows the bottom unless the user has
scrolled up or moved the cursor, and lines dropped off the front by the bound are counted in the header."""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from datetime import datetime
from typing import Iterable

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.cache import LRUCache
from textual.events import Click
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from shopsim.contract.ids import shopper_index
from shopsim.report.labels import ad_reason_words, category_words, channel_words, decision_words
from shopsim.report.svg import CHANNEL_COLORS
from shopsim.contract import events as E
from shopsim.contract.clock import DAY, HOUR, MINUTE
from shopsim.simulation import Simulation
from shopsim.contract.events import Event
from shopsim.tui.messages import ExplainRequested, ShopperSelected

__all__ = ["LiveFeed", "OUTCOMES", "CHANNEL_CYCLE"]

# What a line says happened. "impression" is an ad (its channel is "ads").
DELIVERED, DEFERRED, DIGESTED, SUPPRESSED, IMPRESSION = "delivered", "deferred", "digested", "suppressed", "impression"
OUTCOMES = (DELIVERED, DEFERRED, DIGESTED, SUPPRESSED, IMPRESSION)
STEPPED = "stepped"  # an event `n` stepped to that is not a decision: a line of its own, in words
_OUTCOME_OF = {E.NOTIFICATION_DELIVERED: DELIVERED, E.NOTIFICATION_DEFERRED: DEFERRED,
               E.NOTIFICATION_DIGESTED: DIGESTED, E.NOTIFICATION_SUPPRESSED: SUPPRESSED}
CHANNEL_CYCLE = (None, "email", "push", "sms", "in_app", "ads")  # what `c` steps through
_OUTCOME_WORDS = {IMPRESSION: "ad shown", STEPPED: "▶ next"}  # the others are words already
_CHANNEL_STYLES = {c: Style(color=hex_) for c, hex_ in CHANNEL_COLORS.items()}

# A line: (serial, t, outcome, shopper, channel, category, a, b, id). `a`/`b` depend on the outcome:
# delivered (title, extra) · deferred (until, reason) · digested (digest id, at) · suppressed (reason, rule)
# · impression (reason, ref). `serial` counts every line ever added: it identifies a line in the cache.
SERIAL, T, OUTCOME, SHOPPER, CHANNEL, CATEGORY, A, B, NID = range(9)
Line = tuple


def _clock(t: int) -> str:
    """Virtual ms -> 'd2 07:05' (run day, UTC time of day at a start on midnight)."""
    return f"d{t // DAY + 1} {t % DAY // HOUR:02d}:{t % HOUR // MINUTE:02d}"


def _fit(text: str, width: int) -> str:
    """`text` padded or cut (with an ellipsis) to exactly `width` cells."""
    n = len(text) if text.isascii() else cell_len(text)
    if n > width:
        return set_cell_size(text, width - 1) + "…"
    return text + " " * (width - n)


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else many or one + 's'}"


def _channel_order(channel: str) -> tuple[int, str]:
    return (CHANNEL_CYCLE.index(channel) if channel in CHANNEL_CYCLE else len(CHANNEL_CYCLE), channel)


def _first_line(body: str | None) -> str:
    """An SMS has no title: its text stands in (first line, at most 120 characters)."""
    if not body:
        return ""
    line = body.strip().split("\n", 1)[0]
    return line if len(line) <= 120 else line[:119] + "…"


class LiveFeed(ScrollView, can_focus=True):
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
        self.lines: deque[Line] = deque(maxlen=max_lines)  # every kept line, oldest first
        self.added = 0                  # lines ever added (the next serial)
        self.channels: frozenset[str] | None = None
        self.outcomes: frozenset[str] | None = None
        self.shopper: str | None = None
        self.selected_shopper: str | None = None  # what `f` ("only mine") filters on
        self.cursor: int | None = None  # serial of the line under the cursor
        self.following = True
        self._view: deque[Line] = self.lines
        self._view_added = 0            # lines ever appended to a filtered view
        self._view_dropped_seen = 0     # view lines dropped at the last redraw
        self._dirty = False
        self._strips: LRUCache[tuple[int, bool, int], Strip] = LRUCache(1024)

    # --- feeding -----------------------------------------------------------------------------------

    def on_sim_events(self, events: Iterable[Event]) -> None:
        """Add the lines of a batch of events (cheap: no drawing happens here)."""
        lines, outcome_of, serial = self.lines, _OUTCOME_OF, self.added
        view = None if self._view is lines else self._view
        for ev in events:
            typ = ev.type
            outcome = outcome_of.get(typ)
            if outcome is None:
                if typ != E.AD_IMPRESSION:
                    continue
                d = ev.data
                line = (serial, ev.t, IMPRESSION, ev.shopper, "ads", "retargeting", d.get("reason"), d.get("ref"),
                        d.get("ad"))
            else:
                d = ev.data
                if outcome == DELIVERED:
                    digest = d.get("digest_of")
                    extra = (f"digest of {_plural(len(digest), 'message')}" if digest else
                             f"rerouted from {channel_words(d['rerouted_from'])}" if d.get("rerouted_from") else None)
                    a, b = d.get("title") or _first_line(d.get("body")), extra
                elif outcome == SUPPRESSED:
                    a, b = d.get("reason"), d.get("rule")
                elif outcome == DEFERRED:
                    a, b = d.get("until"), d.get("reason")
                else:
                    a, b = d.get("digest"), d.get("at")
                line = (serial, ev.t, outcome, ev.shopper, d.get("channel"), d.get("category"), a, b, d.get("id"))
            serial += 1
            lines.append(line)
            if view is not None and self._matches(line):
                view.append(line)
                self._view_added += 1
        if serial != self.added:
            self.added = serial
            self._dirty = True

    def show_step(self, events: Iterable[Event], since: int, describe) -> None:
        """Mark what a step (`n`) reached, once `on_sim_events` has taken its batch (lines from serial `since`
        on are that batch's): an event that is not a decision gets a line of its own with `describe(event)`,
        and the cursor goes to the step's first line, so the feed stops following there."""
        for ev in events:
            if ev.type in _OUTCOME_OF or ev.type == E.AD_IMPRESSION:
                continue
            d = ev.data
            note = ev.type.startswith("notification.")  # elsewhere `category` is a product's, not a message's
            self._add((self.added, ev.t, STEPPED, ev.shopper, d.get("channel") if note else None,
                       d.get("category") if note else None, describe(ev), ev.type, d.get("id") if note else None))
        self.flush()
        first = next((i for i, ln in enumerate(self._view) if ln[SERIAL] >= since), None) if self._view else None
        if first is not None and self.is_mounted:
            self.call_after_refresh(self.move_cursor, first)  # once the view knows its new height

    def _add(self, line: Line) -> None:
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
    def visible_lines(self) -> deque[Line]:
        """The kept lines that pass the filter, oldest first."""
        return self._view

    # --- filters -----------------------------------------------------------------------------------

    def set_filter(self, channels: Iterable[str] | None = None, outcomes: Iterable[str] | None = None,
                   shopper: str | int | None = None) -> None:
        """Show only these channels ("email", "push", "sms", "in_app", "ads"), outcomes (`OUTCOMES`) and
        shopper (id or index); None shows all. Replaces the whole filter."""
        self.channels = None if channels is None else frozenset(channels)
        self.outcomes = None if outcomes is None else frozenset(outcomes)
        if isinstance(shopper, int):
            shopper = self.sim.shoppers[shopper].id
        self.shopper = shopper
        self._rebuild_view()

    def _matches(self, line: Line) -> bool:
        return ((self.channels is None or line[CHANNEL] in self.channels)
                and (self.outcomes is None or line[OUTCOME] in self.outcomes)
                and (self.shopper is None or line[SHOPPER] == self.shopper))

    def _rebuild_view(self) -> None:
        if self.channels is None and self.outcomes is None and self.shopper is None:
            self._view = self.lines
        else:
            self._view = deque((ln for ln in self.lines if self._matches(ln)), maxlen=self.max_lines)
        self._view_added = len(self._view)
        self._view_dropped_seen = self._view_dropped()
        at = None if self.cursor is None else self._index_of(self.cursor)
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
        super().on_mount()
        self.set_interval(self.refresh_every, self._tick)
        self.flush()

    def on_resize(self) -> None:
        if self.following:
            # max_scroll_y follows the new virtual size only after the next layout: scroll then.
            self.call_after_refresh(self._follow)

    def _tick(self) -> None:
        if self._dirty:
            self.flush()

    def flush(self) -> None:
        """Redraw now with every line added so far (the timer calls this when something changed)."""
        self._dirty = False
        view = self._view
        dropped = self._view_dropped()
        gone, self._view_dropped_seen = dropped - self._view_dropped_seen, dropped
        self.virtual_size = Size(0, len(view) + 1)
        if not self.is_mounted:
            return
        if self.following:
            # max_scroll_y follows the new virtual size only after the next layout: scroll then.
            self.call_after_refresh(self._follow)
        elif gone > 0:  # keep the lines the user is reading where they are
            self.scroll_to(y=max(0, self.scroll_offset.y - gone), animate=False, immediate=True)
            self.following = False
        self.refresh()

    def _follow(self) -> None:
        if self.following:
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)
            self.following = True

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self.following = round(new_value) >= self.max_scroll_y and self.cursor is None

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            return self._header_strip(width)
        i = self.scroll_offset.y + y - 1
        view = self._view
        if i >= len(view):
            return Strip.blank(width, self.rich_style)
        line = view[i]
        on_cursor = line[SERIAL] == self.cursor
        key = (line[SERIAL], on_cursor, width)
        strip = self._strips.get(key)
        if strip is None:
            strip = self._strips[key] = self._line_strip(line, on_cursor, width)
        return strip

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name)

    def _line_strip(self, line: Line, on_cursor: bool, width: int) -> Strip:
        base = self.rich_style
        cursor = self._style("feed--cursor") if on_cursor else Style()
        segments = [Segment(text, base + style + cursor) for text, style in self._parts(line)]
        return Strip(segments).crop_extend(0, width, base + cursor)

    def _parts(self, line: Line) -> list[tuple[str, Style]]:
        outcome, channel, category = line[OUTCOME], line[CHANNEL], line[CATEGORY]
        parts: list[tuple[str, Style]] = [
            (" " + _clock(line[T]) + "  ", self._style("feed--time")),
            (f"{line[SHOPPER] or '—':<8} ", Style()),
            (_fit(channel_words(channel) if channel else "—", 7) + " ", _CHANNEL_STYLES.get(channel, Style())),
            (_fit(category_words(category) if category else "—", 18) + " ", Style()),
            (f"{_OUTCOME_WORDS.get(outcome, outcome):<10} ", self._style(f"feed--{outcome}")),
        ]
        parts.extend(self._details(line, self._style("feed--muted")))
        return parts

    def line_text(self, line: Line) -> str:
        """A line as plain text (what the row shows, uncropped)."""
        return "".join(text for text, _ in self._parts(line)).rstrip()

    def _details(self, line: Line, muted: Style) -> list[tuple[str, Style]]:
        outcome, a, b = line[OUTCOME], line[A], line[B]
        if outcome == DELIVERED:  # a digest or a rerouted message says so first
            return [(f"{b} · ", muted) if b else ("", muted), (a or "(no text)", Style())]
        if outcome == SUPPRESSED:
            return [(decision_words(a, b) if a else "?", Style(bold=True))]
        if outcome == DEFERRED:
            return [(f"until {self._when(a)}", Style()), (f"  {decision_words(b)}" if b else "", muted)]
        if outcome == DIGESTED:
            return [(f"into {a or '?'}", Style()), (f"  goes out {self._when(b)}" if b else "", muted)]
        if outcome == STEPPED:
            return [(a or "?", Style(bold=True))]
        return [(f"after {ad_reason_words(a)}" if a else "?", Style()),
                (f"  {b or ''}{' · ' if b and line[NID] else ''}{line[NID] or ''}", muted)]

    def _when(self, iso_time: str | None) -> str:
        if not iso_time:
            return "?"
        try:
            at = datetime.fromisoformat(iso_time)
        except ValueError:
            return iso_time
        return _clock(int(at.timestamp() * 1000) - self.start_epoch)

    def _header_strip(self, width: int) -> Strip:
        style = self.rich_style + self._style("feed--header")
        shown = len(self._view)
        if self._view is self.lines:
            left = f" Live feed · {_plural(shown, 'line')}"
        else:
            left = f" Live feed · {shown:,} of {_plural(len(self.lines), 'line')}"
        left += f" · {self.dropped:,} dropped (keeps the last {self.max_lines:,})"
        filters = self.describe_filter()
        if filters:
            left += f" · only {filters}"
        left += " · following" if self.following else " · paused (End follows)"
        right = "⏎ why? · c channel · s suppressed · f mine "
        pad = width - len(left) - len(right)
        text = left + " " * pad + right if pad >= 2 else left
        return Strip([Segment(text, style)]).crop_extend(0, width, style)

    def describe_filter(self) -> str:
        """The filter in words ('' when everything shows)."""
        said: list[str] = []
        if self.channels is not None:
            said.append("/".join(channel_words(c) for c in sorted(self.channels, key=_channel_order)))
        if self.outcomes is not None:
            said.append("/".join(_OUTCOME_WORDS.get(o, o) for o in OUTCOMES if o in self.outcomes))
        if self.shopper is not None:
            said.append(self.shopper)
        return ", ".join(said)

    # --- cursor and keys ---------------------------------------------------------------------------

    def _index_of(self, serial: int) -> int | None:
        view = self._view
        if not view:
            return None
        if view is self.lines:
            i = serial - view[0][SERIAL]
        else:
            i = bisect_left(view, serial, key=lambda ln: ln[SERIAL])
        return i if 0 <= i < len(view) and view[i][SERIAL] == serial else None

    @property
    def cursor_line(self) -> Line | None:
        """The line under the cursor, if any."""
        i = None if self.cursor is None else self._index_of(self.cursor)
        return None if i is None else self._view[i]

    def move_cursor(self, index: int) -> None:
        """Put the cursor on row `index` of the (filtered) view and scroll it into sight; following stops."""
        view = self._view
        if not view:
            return
        index = max(0, min(len(view) - 1, index))
        self.cursor = view[index][SERIAL]
        rows = max(1, self.size.height - 1)
        top = self.scroll_offset.y
        if index < top:
            self.scroll_to(y=index, animate=False, immediate=True)
        elif index >= top + rows:
            self.scroll_to(y=index - rows + 1, animate=False, immediate=True)
        self.following = False
        self.refresh()

    def _cursor_index(self) -> int:
        i = None if self.cursor is None else self._index_of(self.cursor)
        if i is None:  # start from the last line on screen
            i = min(len(self._view), self.scroll_offset.y + max(1, self.size.height - 1))
        return i

    def action_cursor_up(self) -> None:
        self.move_cursor(self._cursor_index() - 1)

    def action_cursor_down(self) -> None:
        i = self._cursor_index()
        if self.cursor is None or i >= len(self._view) - 1:
            self.action_follow()
        else:
            self.move_cursor(i + 1)

    def action_page_up(self) -> None:
        self.move_cursor(self._cursor_index() - max(1, self.size.height - 2))

    def action_page_down(self) -> None:
        if self.cursor is None:
            return
        self.move_cursor(self._cursor_index() + max(1, self.size.height - 2))

    def action_first(self) -> None:
        self.move_cursor(0)

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

    def explain(self, line: Line) -> None:
        """Post ShopperSelected for the line's shopper, then ExplainRequested for its notification."""
        sid = line[SHOPPER]
        if sid is not None:
            self.selected_shopper = sid
            try:
                self.post_message(ShopperSelected(shopper_index(sid)))
            except KeyError:
                pass
        if line[OUTCOME] != IMPRESSION and line[NID]:
            self.post_message(ExplainRequested(line[NID]))

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

    def on_click(self, event: Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        i = self.scroll_offset.y + offset.y - 1
        if i < len(self._view):
            self.move_cursor(i)
            if event.chain >= 2:
                self.explain(self._view[i])
