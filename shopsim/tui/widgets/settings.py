"""The settings pane: one shopper's notification settings, changed live through the simulation.

Every control maps to one field of the settings dict (its id says which: `cat-promotions-push`,
`chan-sms`, `freq-flash_sales`, `flag-marketing_consent`, `qh-on`, `qh-start`, `digest-time`, ...). A change
goes straight to `sim.apply_settings_change(shopper, minimal_patch, source="user")`; a rejected one is
reported and the control reverts. The pane redraws from `shopper.settings` (the truth) when the simulation
changes them (a scripted change, an unsubscribe), with the controls' messages held back so a redraw never
posts a change of its own.

"Apply to" widens a change from the shown shopper to her whole segment or to everyone, to see a policy's
effect on a population: the same patch goes through `sim.apply_settings_change_many`, one engine call that
logs a change per shopper, in shopper order.

Every switch shows its state as a glyph (✓ on, ✗ off), so it reads without colour and under the focus
highlight (`OnOff`, onoff.py). How a change from the user is applied is settings_changes.py's.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.widgets import Checkbox, Input, Label, Select, Static

from shopsim.contract.taxonomy import CATEGORIES, CATEGORY_CLASS, CHANNELS, CRITICAL, MARKETING
from shopsim.report.labels import words
from shopsim.contract import events as E
from shopsim.simulation import Simulation
from shopsim.contract.events import Event
from shopsim.tui.widgets.onoff import OFF, ON, OnOff
from shopsim.tui.widgets.settings_changes import SettingsChanges
from shopsim.tui.widgets.settings_labels import CATEGORY_LABELS, CHANNEL_LABELS, FLAG_LABELS, shoppers_text

FLAG_TIPS = {
    "marketing_consent": "Without it no marketing message is sent on any channel.",
    "personalization": "Recommendations and retargeting ads need it.",
    "push_os_permission": "The phone's own permission: without it no push reaches the shopper.",
    "sms_opt_in": "Without it no SMS reaches the shopper, not even shipping updates.",
}
CRITICAL_TIP = ("Account security alerts are critical: they cannot be switched off. They ignore these switches, "
                "quiet hours and digests, and go by any channel that reaches the shopper.")
FREQUENCY_OPTIONS = {
    MARKETING: ("realtime", "daily", "weekly", "off"),
    "transactional": ("realtime", "off"),
}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# The controls' own messages: held back while the pane redraws them from the settings.
_CONTROL_MESSAGES = (Checkbox.Changed, Select.Changed, Input.Changed)
LEGEND = f"{ON} on · {OFF} off · dimmed: its channel or its frequency is off"
SCOPES = ("shopper", "segment", "all")


def _row_tip(cat: str) -> str:
    cls = CATEGORY_CLASS[cat]
    if cls == CRITICAL:
        return CRITICAL_TIP
    if cls == MARKETING:
        extra = " Recommendations also need personalization." if cat == "recommendations" else ""
        return (f"Marketing: needs marketing consent, may be capped, and may come as a daily or weekly digest."
                f"{extra}")
    return "Transactional: always sent unless switched off; push and SMS wait for quiet hours."


class SettingsPane(SettingsChanges, VerticalScroll):
    """The notification settings of the selected shopper, editable; each change applies at once."""

    DEFAULT_CSS = """
    SettingsPane {
        height: 1fr;
        width: 1fr;
        padding: 0 1;
        #settings-title { text-style: bold; }
        #settings-reach { color: $text-muted; }
        #scope-line { margin-bottom: 1; }
        #scope-line.-group > Label { color: $text-warning; text-style: bold; }
        #settings-legend { color: $text-muted; }
        Grid { height: auto; }
        #settings-grid {
            grid-size: 6;
            grid-columns: 18 7 7 7 7 12;
            grid-rows: 1;
        }
        .head { text-style: bold; color: $text-accent; }
        .head-channel { padding-left: 1; }
        #master-label { text-style: italic; }
        .category-label { width: 1fr; }
        .cell { margin-left: 2; text-overflow: clip; }
        .muted { opacity: 50%; }
        .freq-fixed { color: $text-muted; }
        Select { width: 12; }
        .section { text-style: bold; color: $text-accent; margin-top: 1; }
        /* The light theme's orange text is 3:1 on white: its primary text colour there. */
        &:light .head, &:light .section { color: $text-primary; }
        &:light #scope-line.-group > Label { color: $text-error; }
        #flags-grid { grid-size: 2; grid-columns: 30 30; grid-rows: 1; }
        .line { height: 1; }
        .line Label { padding: 0 1; }
        Input { width: 7; }
        #digest-weekday { width: 9; }
        Checkbox:focus > .toggle--label { text-style: bold; }
    }
    """

    def __init__(self, sim: Simulation, index: int = 0, *, lazy: bool = False, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        """`lazy`: build the controls when the pane is first shown rather than when it is mounted."""
        super().__init__(name=name, id=id, classes=classes)
        self.sim = sim
        self.index = index
        self._qh_draft = {"start": "22:00", "end": "08:00"}  # the window shown while quiet hours are off
        self._built = not lazy  # whether compose() yields the controls
        self._ready = False     # built and mounted: sync() may draw them
        self._scope = "shopper"  # whom a change applies to: one of SCOPES
        self._segments: dict[str, list[int]] | None = None  # segment name -> shopper indices, made once
        self._scope_options: list[tuple[str, str]] = []

    # --- public API -----------------------------------------------------------------------------------

    @property
    def shopper(self):
        return self.sim.shoppers[self.index]

    def show_shopper(self, index: int) -> None:
        """Show (and edit) the settings of shopper `index` (0-based index into `sim.shoppers`)."""
        if not 0 <= index < len(self.sim.shoppers):
            raise IndexError(f"no shopper at index {index}")
        changed = index != self.index
        self.index = index
        if changed:
            self._qh_draft = {"start": "22:00", "end": "08:00"}
        self.sync(force_inputs=True)

    @property
    def scope(self) -> str:
        """Whom a change applies to: "shopper" (the one shown), "segment" (hers) or "all"."""
        return self._scope

    def set_scope(self, scope: str) -> None:
        if scope not in SCOPES:
            raise ValueError(f"unknown scope {scope!r}; scopes: {', '.join(SCOPES)}")
        self._scope = scope
        self.sync()

    def targets(self, scope: str | None = None) -> list[int] | range:
        """The shopper indices a change reaches in `scope` (the current one by default), in shopper order."""
        scope = scope or self._scope
        if scope == "all":
            return range(len(self.sim.shoppers))
        if scope == "segment":
            if self._segments is None:  # one pass: a shopper's segment never changes
                self._segments = {}
                for sh in self.sim.shoppers:
                    self._segments.setdefault(sh.segment.name, []).append(sh.index)
            return self._segments[self.shopper.segment.name]
        return [self.index]

    def on_sim_events(self, events: list[Event]) -> None:
        """A batch of new simulation events: redraw if the shown shopper's settings changed."""
        sid = self.shopper.id
        for ev in events:
            if ev.type == E.SETTINGS_CHANGED and ev.shopper == sid:
                self.sync()
                return

    def sync(self, force_inputs: bool = False) -> None:
        """Redraw every control from the shopper's current settings without posting any change. Inputs
        being edited keep their text unless `force_inputs`."""
        if not self._ready:
            return
        sh, s = self.shopper, self.shopper.settings
        with self.prevent(*_CONTROL_MESSAGES):
            self.query_one("#settings-title", Static).update(
                f"Settings · {sh.name} ({sh.id}) · {sh.tz} · {words(sh.segment.name)}")
            self.query_one("#settings-reach", Static).update(self._reach_text())
            self._sync_scope()
            for ch in CHANNELS:
                self._set_checkbox(f"chan-{ch}", s["channels"][ch])
            for cat in CATEGORIES:
                prefs = s["categories"][cat]
                critical = CATEGORY_CLASS[cat] == CRITICAL
                freq_off = prefs.get("frequency") == "off" and not critical
                for ch in CHANNELS:
                    cb = self._set_checkbox(f"cat-{cat}-{ch}", True if critical else prefs[ch])
                    cb.set_class((not s["channels"][ch] or freq_off) and not critical, "muted")
                if not critical:
                    self.query_one(f"#freq-{cat}", Select).value = prefs.get("frequency", "realtime")
            for flag in FLAG_LABELS:
                self._set_checkbox(f"flag-{flag}", s[flag])
            qh = s.get("quiet_hours")
            if qh is not None:
                self._qh_draft = {"start": qh["start"], "end": qh["end"]}
            self._set_checkbox("qh-on", qh is not None)
            for part in ("start", "end"):
                self._set_input(f"qh-{part}", self._qh_draft[part], force_inputs)
                self.query_one(f"#qh-{part}", Input).set_class(qh is None, "muted")
            digest = s.get("digest") or {}
            self._set_input("digest-time", digest.get("time", "09:00"), force_inputs)
            self.query_one("#digest-weekday", Select).value = digest.get("weekday", "mon")

    # --- building --------------------------------------------------------------------------------------
    #
    # A lazy pane (the main screen's) builds its sixty-odd controls the first time it is shown: built with the
    # main screen they took about a third of its first frame, for a tab that opens behind the inbox.

    def on_mount(self) -> None:
        if self._built:
            self._ready = True
            self.sync(force_inputs=True)

    async def on_show(self) -> None:
        if self._built:
            return
        self._built = True
        await self.recompose()
        self._ready = True
        self.sync(force_inputs=True)

    def compose(self) -> ComposeResult:
        if not self._built:
            return
        yield Static(id="settings-title")
        yield Static(id="settings-reach")
        with Horizontal(id="scope-line", classes="line"):
            yield Label("Apply to")
            yield Select([("this shopper", "shopper")], id="apply-scope", allow_blank=False, compact=True,
                         value="shopper", tooltip="A change here can apply to her alone, to every shopper of "
                         "her segment, or to everyone: one logged change per shopper.")
        with Grid(id="settings-grid"):
            yield Label("Category", classes="head")
            for ch in CHANNELS:
                yield Label(CHANNEL_LABELS[ch], classes="head head-channel")
            yield Label("frequency", classes="head head-channel")
            yield Label("Whole channel", id="master-label").with_tooltip(
                "Master switch: off stops every category on that channel (security alerts excepted).")
            for ch in CHANNELS:
                yield OnOff(id=f"chan-{ch}", compact=True, classes="cell",
                               tooltip=f"{CHANNEL_LABELS[ch]} on or off for every category")
            yield Label("")
            for cat in CATEGORIES:
                critical = CATEGORY_CLASS[cat] == CRITICAL
                tip = _row_tip(cat)
                yield Label(CATEGORY_LABELS[cat], classes="category-label").with_tooltip(tip)
                for ch in CHANNELS:
                    yield OnOff(id=f"cat-{cat}-{ch}", compact=True, classes="cell", disabled=critical,
                                   tooltip=tip if critical else f"{CATEGORY_LABELS[cat]} by {CHANNEL_LABELS[ch]}")
                if critical:
                    yield Label("always on", classes="freq-fixed").with_tooltip(tip)
                else:
                    options = FREQUENCY_OPTIONS[CATEGORY_CLASS[cat]]
                    yield Select([(o, o) for o in options], id=f"freq-{cat}", allow_blank=False, compact=True,
                                 value="realtime", tooltip=tip)
        yield Static(LEGEND, id="settings-legend")
        yield Label("Consent and permissions", classes="section")
        with Grid(id="flags-grid"):
            for flag, label in FLAG_LABELS.items():
                yield OnOff(label, id=f"flag-{flag}", compact=True, tooltip=FLAG_TIPS[flag])
        yield Label("Timing", classes="section")
        with Horizontal(classes="line"):
            yield OnOff("Quiet hours", id="qh-on", compact=True,
                           tooltip="Push and SMS wait until the quiet hours end (local time).")
            yield Label("from")
            yield Input(id="qh-start", compact=True, max_length=5, restrict=r"[0-9:]*", placeholder="HH:MM")
            yield Label("to")
            yield Input(id="qh-end", compact=True, max_length=5, restrict=r"[0-9:]*", placeholder="HH:MM")
        with Horizontal(classes="line"):
            yield Label("Digests at").with_tooltip("Local time at which daily and weekly digests go out.")
            yield Input(id="digest-time", compact=True, max_length=5, restrict=r"[0-9:]*", placeholder="HH:MM")
            yield Label("weekly on")
            yield Select([(d.capitalize(), d) for d in WEEKDAYS], id="digest-weekday", allow_blank=False,
                         compact=True, value="mon")

    def _sync_scope(self) -> None:
        sh, n = self.shopper, len(self.sim.shoppers)
        labels = {"shopper": "this shopper",
                  "segment": f"her segment, {sh.segment.name} ({shoppers_text(len(self.targets('segment')))})",
                  "all": f"everyone ({shoppers_text(n)})"}
        select = self.query_one("#apply-scope", Select)
        options = [(labels[k], k) for k in SCOPES]
        if options != self._scope_options:  # new labels (another shopper): set_options resets the value
            self._scope_options = options
            select.set_options(options)
            select.styles.width = max(len(label) for label, _ in options) + 4  # the longest, and its ▼
        select.value = self._scope
        self.query_one("#scope-line").set_class(self._scope != "shopper", "-group")

    def _reach_text(self) -> str:
        sh = self.shopper
        app = f"app ✓ {sh.platform}" if sh.has_app else f"app ✗ ({sh.platform})"
        email = "email ✓" if sh.email_verified else "email ✗"
        phone = "phone ✓" if sh.phone is not None else "phone ✗"
        return f"Reach: {app} · {email} · {phone}"

    def _set_checkbox(self, wid: str, value: bool) -> Checkbox:
        cb = self.query_one(f"#{wid}", Checkbox)
        cb.value = bool(value)
        return cb

    def _set_input(self, wid: str, value: str, force: bool) -> None:
        inp = self.query_one(f"#{wid}", Input)
        if force or not inp.has_focus:
            inp.value = value


__all__ = ["SettingsPane"]
