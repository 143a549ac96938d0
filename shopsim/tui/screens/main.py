"""The main screen: clock and transport, shoppers, the selected shopper's inbox and settings, the live feed.

The screen routes each `SimAdvanced` batch to its widgets and keeps the selection; the app owns the
simulation and its driver. It first shows a preview of the run while the app builds it (run_preview.py),
then takes the run in its place (`adopt`)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, TabbedContent, TabPane

from shopsim.contract.ids import shopper_index
from shopsim.metrics.kpis import Metrics
from shopsim.contract import events as E
from shopsim.simulation import Simulation
from shopsim.tui.clocktext import utc_text
from shopsim.tui.driver import OUTCOMES, SimDriver
from shopsim.tui.messages import ExplainRequested, NarrationReached, PreviewShown, ShopperSelected, SimAdvanced
from shopsim.tui.run_preview import Preparing, RunPreview
from shopsim.tui.widgets.bigclock import BigClock
from shopsim.tui.widgets.feed import LiveFeed
from shopsim.tui.widgets.inbox import InboxPane
from shopsim.tui.widgets.settings import SettingsPane
from shopsim.tui.widgets.shoppers import ShopperTable
from shopsim.tui.widgets.transport import TransportBar


# Feed heights the `v` key cycles through: the size the layout gives it, a tall one, hidden.
FEED_SIZES = ("", "-feed-tall", "-feed-hidden")
PANES = {"shoppers": "#shoppers", "inbox": "#shopper-tabs", "feed": "#feed"}


class MainScreen(Screen):
    # The layout follows the terminal: classes on the screen that app.tcss keys the panes' sizes to.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-medium"), (140, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-mid"), (40, "-tall")]
    BINDINGS = [
        Binding("space", "app.toggle_play", "Play/pause"),
        Binding("n", "step_event", "Next event"),
        Binding("m", "step_notification", "Next message"),
        Binding("h", "app.jump_hour", "+1h"),
        Binding("d", "app.jump_day", "+1d"),
        Binding("plus,equals_sign", "app.faster", "Faster", key_display="+"),
        Binding("minus", "app.slower", "Slower", key_display="-"),
        Binding("k", "app.kpis", "KPIs"),
        Binding("slash", "search", "Search", key_display="/"),
        Binding("w", "why", "Why?"),
        Binding("i", "show_tab('tab-inbox')", "Inbox"),
        Binding("e", "show_tab('tab-settings')", "Settings"),
        Binding("1", "focus_pane('shoppers')", "Focus the shoppers", show=False),
        Binding("2", "focus_pane('inbox')", "Focus the inbox or settings", show=False),
        Binding("3", "focus_pane('feed')", "Focus the feed", show=False),
        Binding("z", "zoom", "Zoom", tooltip="the focused pane fills the screen; z again brings the others back"),
        Binding("v", "feed_size", "Feed size", tooltip="the feed: its usual size, tall, hidden"),
    ]

    def __init__(self, sim: Simulation | RunPreview, driver: SimDriver | Preparing, metrics: Metrics | None) -> None:
        """A `RunPreview` with its `Preparing` (and no metrics) until the run is built, then `adopt` the run."""
        super().__init__()
        self.sim, self.driver, self.metrics = sim, driver, metrics
        self._handed_over = True  # every pane shows self.sim (the panes are composed with it)
        self.selected: int | None = None
        self.zoomed: str | None = None   # the pane filling the screen (z), if any
        self.feed_size = 0               # index into FEED_SIZES
        self._stepped_after: int | None = None  # `n` was pressed: events past this seq are what it reached
        self._seeking_message = False           # `m` was pressed: say which decision it reached
        self._step_marked = False               # the feed's cursor sits on a step's line (following stopped)

    def compose(self) -> ComposeResult:
        yield TransportBar(self.driver, id="transport")
        yield BigClock(self.driver, id="big-clock")
        with Horizontal(id="panes"):
            yield ShopperTable(self.sim, id="shoppers")
            with TabbedContent(id="shopper-tabs"):
                with TabPane("Inbox", id="tab-inbox"):
                    yield InboxPane(self.sim, id="inbox")
                with TabPane("Settings", id="tab-settings"):
                    yield SettingsPane(self.sim, lazy=True, id="settings")  # built when first shown
        yield LiveFeed(self.sim, id="feed")
        yield Footer()

    def on_mount(self) -> None:
        self.select(0)
        self.query_one(ShopperTable).view.focus()  # arrows move through shoppers from the start
        if not self._handed_over:
            self._hand_over()
        if self.preparing:
            self.call_after_refresh(self.post_message, PreviewShown(self))

    @property
    def preparing(self) -> bool:
        """Whether it still shows a preview of its run."""
        return isinstance(self.sim, RunPreview)

    def adopt(self, sim: Simulation, driver: SimDriver, metrics: Metrics) -> None:
        """Show `sim`, the run this screen previewed while it was built: the same shoppers at time 0, with its
        driver. What the user did meanwhile (the selection, a search, the tab, the zoom, the focus) stays."""
        self.sim, self.driver, self.metrics = sim, driver, metrics
        self._handed_over = False
        self._hand_over()

    def _hand_over(self) -> None:
        """Give every pane the screen's run and driver (now, or once composed if it is not yet)."""
        if not self._composed():
            return  # on_mount does it: panes composed from here on take self.sim
        sim, driver = self.sim, self.driver
        self.query_one(ShopperTable).adopt(sim)
        self.query_one(InboxPane).adopt(sim)
        settings = self.query_one(SettingsPane)
        settings.sim = sim
        settings.sync()
        self.query_one(LiveFeed).sim = sim
        for clock in (self.query_one(TransportBar), self.query_one(BigClock)):
            clock.driver = driver
            clock.update_clock()
        self._handed_over = True

    # --- the simulation's batches -------------------------------------------------------------------

    def _composed(self) -> bool:
        """Whether its panes are there: not while it is being composed, nor while it is removed (a run stopped
        by a template, a new scenario), when a busy machine may still deliver a batch or a key to it."""
        return all(self.query(kind) for kind in (ShopperTable, InboxPane, SettingsPane, LiveFeed, TransportBar))

    def on_sim_advanced(self, message: SimAdvanced) -> None:
        if not self._composed():
            return
        events = message.events
        feed = self.query_one(LiveFeed)
        since = feed.added
        for widget in (self.query_one(ShopperTable), self.query_one(InboxPane), self.query_one(SettingsPane), feed):
            widget.on_sim_events(events)
        if self._stepped_after is not None:
            self._show_step([ev for ev in events if ev.seq > self._stepped_after], since)
        elif self._seeking_message and not self.driver.until_notification:
            self._seeking_message = False
            lines_before = 0  # the feed lines this batch added before the decision: its line is the next
            for ev in events:
                if ev.type in OUTCOMES:
                    self._show_step([ev], since + lines_before, title="Next message")
                    break
                lines_before += ev.type == E.AD_IMPRESSION
        elif self._step_marked and events and not self._seeking_message:
            # Playing on after a step: the feed follows the run again rather than staying on the old line.
            self._step_marked = False
            feed.action_follow()
        self.query_one(TransportBar).update_clock()
        self.query_one(BigClock).update_clock()
        top = self.app.screen
        if top is not self and hasattr(top, "on_sim_events"):  # an open "why?" or KPI screen follows too
            top.on_sim_events(events)

    # --- selection and "why?" ---------------------------------------------------------------------

    def on_shopper_selected(self, message: ShopperSelected) -> None:
        self.select(message.index)

    def select(self, index: int) -> None:
        if not self.sim.shoppers or not self._composed():
            return
        self.selected = index
        sh = self.sim.shoppers[index]
        self.query_one(ShopperTable).show_shopper(index)
        self.query_one(InboxPane).show_shopper(index)
        self.query_one(SettingsPane).show_shopper(index)
        self.query_one(TransportBar).show_zone(sh.tz)
        self.query_one(LiveFeed).selected_shopper = sh.id

    # --- stepping ------------------------------------------------------------------------------------

    def action_step_event(self) -> None:
        """`n`: step to the next event, then say what it was (in words, in a notice) and mark it in the feed."""
        self._seeking_message = False
        self._stepped_after = self.sim.emitted
        self.app.action_step_event()

    def action_step_notification(self) -> None:
        """`m`: run to the next decision about a message, then say which, as `n` does."""
        self._stepped_after = None
        self._seeking_message = True
        self.app.action_step_notification()

    def _show_step(self, stepped: list, since: int, title: str = "Next event") -> None:
        self._stepped_after = None
        if not stepped:
            return
        from shopsim.tui.event_words import event_words

        currency = self.sim.scenario.model.catalogue.currency

        feed = self.query_one(LiveFeed)
        if feed.display:
            feed.show_step(stepped, since, lambda ev: event_words(ev, who=False, currency=currency))
            self._step_marked = True
        first = stepped[0]
        lead = event_words(first, self.sim.shopper(first.shopper).name if first.shopper else None, currency=currency)
        more = f" (and {len(stepped) - 1} more at the same instant)" if len(stepped) > 1 else ""
        self.notify(lead + more, title=f"{title} · {utc_text(self.sim.scenario.start_epoch, stepped[0].t)}", timeout=6,
                    markup=False)

    def on_explain_requested(self, message: ExplainRequested) -> None:
        from shopsim.tui.screens.explain import ExplainScreen
        self.app.push_screen(ExplainScreen(self.sim, message.notification_id))

    def on_narration_reached(self, message: NarrationReached) -> None:
        from shopsim.tui.narrator import highlight, step_texts, unmet
        from shopsim.tui.screens.narration import NarrationScreen, describe

        hit = message.hit
        if not self._composed():
            return
        self._unzoom()  # the callout stands over the shoppers list, beside the inbox it talks about
        if hit.shopper is not None:
            self.select(shopper_index(hit.shopper))
            note = highlight(hit, self.sim)  # the message the step is about, if it is in her inbox now
            if note is not None:
                self.query_one(InboxPane).focus_message(note)
        self.refresh_transport()

        def carry_on(go: bool | None) -> None:
            if go:
                self.app.action_toggle_play()

        narrator = self.driver.narrator
        # The numbers the step quotes are this run's, now: the live Metrics has seen every event emitted so far.
        title, text = step_texts(hit.step, self.metrics.result(), self.sim.scenario.model.catalogue.currency)
        self.app.push_screen(NarrationScreen(hit, len(narrator.fired), len(narrator.steps), describe(hit, self.sim),
                                             title=title, text=text, caveats=unmet(hit, self.sim)), carry_on)

    def action_why(self) -> None:
        """"Why?" about the message highlighted in the inbox, wherever the focus is."""
        self.query_one("#shopper-tabs", TabbedContent).active = "tab-inbox"
        self.query_one(InboxPane).action_why()

    def action_show_tab(self, tab: str) -> None:
        """Show the inbox or the settings and move the focus into it, so the keys act there at once and the
        tab stays shown when a palette, help or KPI screen closes (Textual gives the focus back to the widget
        that had it, and a tabbed content shows the pane that holds the focus)."""
        if not self._composed():
            return
        tabs = self.query_one("#shopper-tabs", TabbedContent)
        if self.zoomed not in (None, "inbox"):
            self._unzoom()
        tabs.active = tab
        if tab == "tab-settings":
            self.query_one(SettingsPane).focus()  # the pane scrolls; tab moves into its controls
        else:
            self.query_one(InboxPane).option_list.focus()

    def action_focus_pane(self, pane: str) -> None:
        if not self._composed():
            return
        if self.zoomed not in (None, pane):
            self._unzoom()
        if pane == "shoppers":
            self.query_one(ShopperTable).view.focus()
        elif pane == "feed":
            if self.feed_size == FEED_SIZES.index("-feed-hidden"):
                self._set_feed_size(0)
            self.query_one(LiveFeed).focus()
        else:
            tabs = self.query_one("#shopper-tabs", TabbedContent)
            self.action_show_tab(tabs.active or "tab-inbox")

    def _focused_pane(self) -> str:
        focused = self.focused
        for pane, selector in PANES.items():
            node = self.query_one(selector)
            if focused is not None and (focused is node or node in focused.ancestors):
                return pane
        return "shoppers"

    def action_zoom(self) -> None:
        if not self._composed():
            return
        if self.zoomed is not None:
            self._unzoom()
            return
        self.zoomed = self._focused_pane()
        self.add_class(f"-zoom-{self.zoomed}")
        self.notify("z brings the other panes back", timeout=2)

    def _unzoom(self) -> None:
        if self.zoomed is not None:
            self.remove_class(f"-zoom-{self.zoomed}")
            self.zoomed = None

    def action_feed_size(self) -> None:
        self._set_feed_size((self.feed_size + 1) % len(FEED_SIZES))

    def _set_feed_size(self, size: int) -> None:
        for cls in FEED_SIZES:
            if cls:
                self.remove_class(cls)
        self.feed_size = size
        if FEED_SIZES[size]:
            self.add_class(FEED_SIZES[size])
        feed = self.query_one(LiveFeed)
        if size == FEED_SIZES.index("-feed-hidden") and (self.focused is feed):
            self.query_one(ShopperTable).view.focus()

    def action_search(self) -> None:
        self.query_one(ShopperTable).focus_search()

    def refresh_transport(self) -> None:
        if self._composed():
            self.query_one(TransportBar).update_clock()
            self.query_one(BigClock).update_clock()
