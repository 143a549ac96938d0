"""The selected shopper's inbox: channel tabs over one list (newest first) and a preview of the message.

Messages come from `sim.inbox` (a shopper holds tens to hundreds, so a plain OptionList is fine); ad
impressions are not messages, so they are collected from `ad.impression` / `ad.clicked` events. New
deliveries for the shown shopper mark the list dirty; a timer rebuilds it a few times a second at most.
Selecting a message (enter or click) opens it: it becomes read (`sim.mark_read`). `w` asks "why?".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, OptionList, Static, Tab, Tabs
from textual.widgets.option_list import Option

from shopsim.notify.state import Message
from shopsim.contract import events as E
from shopsim.contract.events import Event
from shopsim.tui.messages import ExplainRequested
from shopsim.tui.widgets.preview import (CHANNEL_ICONS, CHANNEL_LABELS, AdImpression, Entry, MessagePreview, accent,
                                         product, short_time)

if TYPE_CHECKING:
    from shopsim.simulation import Simulation

REFRESH_S = 0.25
TABS = (("all", "All"), ("email", "Email"), ("push", "Push"), ("sms", "SMS"), ("in_app", "In-app"), ("ads", "Ads"))
_WATCH = frozenset((E.NOTIFICATION_DELIVERED, E.NOTIFICATION_OPENED, E.AD_IMPRESSION, E.AD_CLICKED))


class InboxPane(Vertical):
    """Inbox of one shopper (`show_shopper`), with tabs All, Email, Push, SMS, In-app, Ads and a preview."""

    DEFAULT_CSS = """
    InboxPane {
        height: 1fr;
        #inbox-title { height: 1; padding: 0 1; background: $panel; }
        #inbox-tabs { height: 2; }
        #inbox-list {
            height: 1fr; min-height: 4; border: none; padding: 0;
            text-wrap: nowrap; text-overflow: ellipsis;
        }
        #inbox-list:focus { border: none; }
        #inbox-bar { height: 1; background: $panel; }
        #inbox-hint { width: 1fr; color: $text-muted; padding: 0 1; }
        #inbox-why { min-width: 8; }
        MessagePreview { height: 2fr; }
    }
    """
    BINDINGS = [
        Binding("w", "why", "Why?"),
        Binding("left", "channel(-1)", "Prev channel", show=False),
        Binding("right", "channel(1)", "Next channel", show=False),
    ]

    def __init__(self, sim: Simulation, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.sim = sim
        self.shopper_index: int | None = None
        self.channel = "all"
        self.entries: list[Entry] = []           # the rows shown, newest first
        self._ads: dict[str, list[AdImpression]] = {}  # shopper id -> impressions, oldest first
        self._ad_seq = 0
        self._dirty = False

    def compose(self) -> ComposeResult:
        yield Static(id="inbox-title")
        tabs = Tabs(*(Tab(label, id=tid) for tid, label in TABS), id="inbox-tabs")
        tabs.can_focus = False  # left/right switch channels from the list
        yield tabs
        yield OptionList(id="inbox-list")
        with Horizontal(id="inbox-bar"):
            yield Static("enter open · w why? · ←/→ channel", id="inbox-hint")
            why = Button("why?", id="inbox-why", compact=True)
            why.can_focus = False
            yield why
        yield MessagePreview(self.sim, id="inbox-preview")

    def on_mount(self) -> None:
        self.set_interval(REFRESH_S, self.flush_updates)
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._reload())  # the unread colour
        self._reload()

    @property
    def preview(self) -> MessagePreview:
        return self.query_one(MessagePreview)

    @property
    def option_list(self) -> OptionList:
        return self.query_one("#inbox-list", OptionList)

    @property
    def highlighted_entry(self) -> Entry | None:
        i = self.option_list.highlighted if self.is_mounted and self.query("#inbox-list") else None
        return self.entries[i] if i is not None and i < len(self.entries) else None

    def ads_of(self, shopper_id: str) -> list[AdImpression]:
        """The ad impressions a shopper has seen so far, oldest first."""
        return self._ads.get(shopper_id, [])

    def adopt(self, sim: Simulation) -> None:
        """Show `sim`'s inboxes in place of the preview's (empty) ones, for the same shopper."""
        self.sim = sim
        if self.query(MessagePreview):
            self.preview.sim = sim
        self._reload()

    # --- the simulation's events ----------------------------------------------------------------------

    def on_sim_events(self, events: list[Event]) -> None:
        """Collect ad impressions (every shopper's) and note changes to the shown shopper. O(events)."""
        sid = self.sim.shoppers[self.shopper_index].id if self.shopper_index is not None else None
        dirty = False
        for ev in events:
            typ = ev.type
            if typ == E.AD_IMPRESSION or typ == E.AD_CLICKED:
                if ev.seq <= self._ad_seq:
                    continue  # a batch seen before
                self._ad_seq = ev.seq
                d = ev.data
                ads = self._ads.setdefault(ev.shopper, [])
                if typ == E.AD_IMPRESSION:
                    ads.append(AdImpression(d["ad"], ev.shopper, ev.t, d["reason"], d["ref"], tuple(d["products"])))
                else:
                    for a in reversed(ads):
                        if a.id == d["ad"]:
                            a.clicked = True
                            break
            if ev.shopper == sid and typ in _WATCH:
                dirty = True
        if dirty:
            self._dirty = True

    def flush_updates(self) -> None:
        """Rebuild the list if events changed it since the last tick (a timer calls it; call it to see
        changes at once)."""
        if self._dirty:
            self._dirty = False
            self._reload()

    # --- what is shown --------------------------------------------------------------------------------

    def show_shopper(self, index: int) -> None:
        """Show shopper `index`'s inbox, newest first, highlighting the newest message."""
        if index != self.shopper_index:
            self.shopper_index = index
            self.entries = []
            self._reload(keep=None)

    def set_channel(self, channel: str) -> None:
        """Show one channel: all, email, push, sms, in_app or ads."""
        if channel not in dict(TABS):
            raise ValueError(f"unknown channel {channel!r}")
        if channel != self.channel:
            self.channel = channel
            if self.is_mounted:
                self.query_one(Tabs).active = channel
                self._reload()

    def focus_message(self, notification_id: str) -> bool:
        """Highlight, preview and focus one message (switching to All if its tab hides it). False if the
        shown shopper has no such message (e.g. it was suppressed)."""
        if self.shopper_index is None:
            return False
        if all(e.id != notification_id for e in self.entries) and self.channel != "all":
            self.channel = "all"
            self.query_one(Tabs).active = "all"
        self._reload(keep=notification_id)
        for i, e in enumerate(self.entries):
            if e.id == notification_id:
                self.option_list.highlighted = i
                self.preview.show(e)
                self.option_list.focus()
                return True
        return False

    def _collect(self) -> tuple[list[Entry], dict[str, int]]:
        sh = self.sim.shoppers[self.shopper_index]
        msgs = self.sim.inbox(self.shopper_index)
        ads = self.ads_of(sh.id)
        counts = {"all": len(msgs) + len(ads), "ads": len(ads)}
        for m in msgs:
            counts[m.channel] = counts.get(m.channel, 0) + 1
        ch = self.channel
        if ch == "ads":
            rows: list[Entry] = list(ads)
        elif ch == "all":
            rows = list(msgs) + list(ads)
        else:
            rows = [m for m in msgs if m.channel == ch]
        # Newest first; among equal times, the later delivered first.
        rows.reverse()
        rows.sort(key=lambda e: e.t, reverse=True)
        return rows, counts

    def _reload(self, keep: str | None | bool = True) -> None:
        """Rebuild the rows, keeping the highlighted one (`keep=True`), another id, or none (the newest)."""
        if not self.is_mounted or not self.query("#inbox-list"):  # children not composed yet, or being removed
            self._dirty = True  # the next tick rebuilds it, once there is something to rebuild
            return
        ol = self.option_list
        if self.shopper_index is None:
            self.entries = []
            ol.clear_options()
            self.query_one("#inbox-title", Static).update(Content.styled("No shopper selected", "$text-muted"))
            self.preview.clear("Select a shopper to see her inbox.")
            return
        if keep is True:
            current = self.highlighted_entry
            keep = current.id if current is not None else None
        old_top, old_row = ol.scroll_y, ol.highlighted
        self.entries, counts = self._collect()
        tz = self.sim.shoppers[self.shopper_index].tz
        ol.set_options(Option(self._prompt(e, tz), id=e.id) for e in self.entries)
        self._relabel(counts)
        self._update_title()
        if not self.entries:
            self.preview.clear("Nothing here yet." if self.channel != "ads" else "No ads shown to her yet.")
            return
        row = next((i for i, e in enumerate(self.entries) if e.id == keep), None) if keep else None
        if row is not None and old_row == 0 and row > 0 and self.app.focused is not ol:
            row = None  # she was on the newest and not reading the list: the newest it is, as a mail app does
        if row is None:
            ol.highlighted = 0
            ol.scroll_to(y=0, animate=False)
            self.preview.show(self.entries[0])
        else:
            ol.highlighted = row
            if row < max(1, ol.size.height - 1):  # it fits below the newer ones: show them above it
                ol.scroll_to(y=0, animate=False)
            elif old_row is not None:  # the highlighted row stays where it was on screen
                ol.scroll_to(y=max(0, old_top + row - old_row), animate=False)
            self.preview.show(self.entries[row])

    def _relabel(self, counts: dict[str, int]) -> None:
        tabs = self.query_one(Tabs)
        for tid, label in TABS:
            n = counts.get(tid, 0)
            text = f"{label} {n}" if n else label
            tab = tabs.get_tab(tid)
            if tab is not None and tab.label_text != text:
                tab.label = text

    def _update_title(self) -> None:
        sh = self.sim.shoppers[self.shopper_index]
        msgs = self.sim.inbox(self.shopper_index)
        unread = sum(1 for m in msgs if not m.read)
        # The counts before the id and zone: a narrow pane cuts the end of the line.
        self.query_one("#inbox-title", Static).update(Content.assemble(
            (sh.name, "bold"), ("  ·  ", "$text-muted"), f"{len(msgs)} message{'' if len(msgs) == 1 else 's'}, ",
            (f"{unread} unread", f"bold {accent(self)}" if unread else "$text-muted"),
            (f"  ·  {sh.id} · {sh.tz}", "$text-muted"),
        ))

    def _prompt(self, e: Entry, tz: str) -> Content:
        """One row: unread dot, local time, channel, category, title."""
        unread = isinstance(e, Message) and not e.read
        if isinstance(e, AdImpression):
            category = f"retarget {e.reason}"
            names = [getattr(product(self.sim, pid), "name", pid) for pid in e.products]
            title = "Sponsored: " + ", ".join(names) + (" · clicked" if e.clicked else "")
        else:
            category = e.category.replace("_", " ")
            title = e.title or e.body.split("\n", 1)[0]
        when = short_time(self.sim.scenario.start_epoch + e.t, tz)
        return Content.assemble(
            # The dot and the channel have no colour of their own: the highlighted row's background would
            # swallow it (orange or navy on blue).
            ("● " if unread else "  ", "bold"),
            (f"{when:<18}", "" if unread else "$text-muted"),
            (f"{CHANNEL_ICONS[e.channel]} {CHANNEL_LABELS[e.channel]:<7}", ""),
            (f"{category[:16]:<17}", "$text-muted"),
            (title, "bold" if unread else ""),
        )

    # --- user actions ---------------------------------------------------------------------------------

    def on_tabs_tab_activated(self, event: Tabs.TabActivated) -> None:
        event.stop()
        if event.tab.id is not None and event.tab.id != self.channel:
            self.channel = event.tab.id
            self._reload()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if event.option_index < len(self.entries):
            self.preview.show(self.entries[event.option_index])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option_index < len(self.entries):
            self.open_entry(self.entries[event.option_index])

    def open_entry(self, entry: Entry) -> None:
        """Show an entry in the preview and, for an unread message, open it (`sim.mark_read`)."""
        self.preview.show(entry)
        if not isinstance(entry, Message) or entry.read or self.sim.finished:
            return
        # Logs `notification.opened`; the driver's next slice flushes it to every widget (the unread counts).
        self.sim.mark_read(entry.id, source="user")
        i = next((i for i, e in enumerate(self.entries) if e is entry), None)
        if i is not None:
            tz = self.sim.shoppers[self.shopper_index].tz
            self.option_list.replace_option_prompt_at_index(i, self._prompt(entry, tz))
        self._update_title()
        self.preview.show(entry)

    def action_channel(self, delta: int) -> None:
        ids = [t for t, _ in TABS]
        self.set_channel(ids[(ids.index(self.channel) + delta) % len(ids)])

    def action_why(self) -> None:
        """Ask why the highlighted message reached the shopper (posts `ExplainRequested`)."""
        entry = self.highlighted_entry
        if isinstance(entry, Message):
            self.post_message(ExplainRequested(entry.id))
        elif entry is not None:
            self.notify("An ad impression is not a notification: it has no decision trace.", severity="warning")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "inbox-why":
            event.stop()
            self.action_why()
