"""What a line of the live feed looks like: a decision's time, shopper, channel, category and outcome in
columns, then its details in words; the header with the counts, the filter and whether the feed follows.

`FeedRows` is mixed into `LiveFeed`, which holds the lines and the filter it draws (feed.py); this module
decides only how they read."""

from __future__ import annotations

from collections import deque
from datetime import datetime

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from shopsim.contract.clock import DAY, HOUR, MINUTE
from shopsim.report.labels import ad_reason_words, category_words, channel_words, decision_words
from shopsim.report.svg import CHANNEL_COLORS
from shopsim.tui.widgets.feed_lines import (CHANNEL_CYCLE, DEFERRED, DELIVERED, DIGESTED, IMPRESSION, OUTCOMES,
                                            STEPPED, SUPPRESSED, FeedLine, plural)

_OUTCOME_WORDS = {IMPRESSION: "ad shown", STEPPED: "▶ next"}  # the others are words already
_CHANNEL_STYLES = {c: Style(color=hex_) for c, hex_ in CHANNEL_COLORS.items()}


def _clock(t: int) -> str:
    """Virtual ms -> 'd2 07:05' (run day, UTC time of day at a start on midnight)."""
    return f"d{t // DAY + 1} {t % DAY // HOUR:02d}:{t % HOUR // MINUTE:02d}"


def _fit(text: str, width: int) -> str:
    """`text` padded or cut (with an ellipsis) to exactly `width` cells."""
    n = len(text) if text.isascii() else cell_len(text)
    if n > width:
        return set_cell_size(text, width - 1) + "…"
    return text + " " * (width - n)


def _channel_order(channel: str) -> tuple[int, str]:
    return (CHANNEL_CYCLE.index(channel) if channel in CHANNEL_CYCLE else len(CHANNEL_CYCLE), channel)


class FeedRows:
    """The drawing half of `LiveFeed` (see the module's docstring)."""

    # What it draws, held by the feed.
    lines: deque[FeedLine]
    max_lines: int
    start_epoch: int
    channels: frozenset[str] | None
    outcomes: frozenset[str] | None
    shopper: str | None
    following: bool
    _view: deque[FeedLine]

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name)

    def _line_strip(self, line: FeedLine, on_cursor: bool, width: int) -> Strip:
        base = self.rich_style
        cursor = self._style("feed--cursor") if on_cursor else Style()
        segments = [Segment(text, base + style + cursor) for text, style in self._parts(line)]
        return Strip(segments).crop_extend(0, width, base + cursor)

    def _parts(self, line: FeedLine) -> list[tuple[str, Style]]:
        outcome, channel, category = line.outcome, line.channel, line.category
        parts: list[tuple[str, Style]] = [
            (" " + _clock(line.t) + "  ", self._style("feed--time")),
            (f"{line.shopper or '—':<8} ", Style()),
            (_fit(channel_words(channel) if channel else "—", 7) + " ", _CHANNEL_STYLES.get(channel, Style())),
            (_fit(category_words(category) if category else "—", 18) + " ", Style()),
            (f"{_OUTCOME_WORDS.get(outcome, outcome):<10} ", self._style(f"feed--{outcome}")),
        ]
        parts.extend(self._details(line, self._style("feed--muted")))
        return parts

    def line_text(self, line: FeedLine) -> str:
        """A line as plain text (what the row shows, uncropped)."""
        return "".join(text for text, _ in self._parts(line)).rstrip()

    def _details(self, line: FeedLine, muted: Style) -> list[tuple[str, Style]]:
        outcome, a, b = line.outcome, line.detail, line.extra
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
        nid = line.nid
        return [(f"after {ad_reason_words(a)}" if a else "?", Style()),
                (f"  {b or ''}{' · ' if b and nid else ''}{nid or ''}", muted)]

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
            left = f" Live feed · {plural(shown, 'line')}"
        else:
            left = f" Live feed · {shown:,} of {plural(len(self.lines), 'line')}"
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
