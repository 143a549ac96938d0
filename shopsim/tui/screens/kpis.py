"""The KPI screen: the run's headline numbers (Baymard cart abandonment, recovery after a reminder click with
organic and incremental recovery beside it), the cart funnel with its abandonment and recovery branches, the
devices, messages per hour by channel, the suppression reasons and, for a scenario with experiments, the
arms side by side: while the run plays an interim look on always-valid intervals (tui/interim.py), and the
verdicts once it has ended. Every label is in words; differences of rates are in pp.

Everything comes from the app's one `Metrics` (`metrics.result()`, docs/metrics.md), at most twice a second
and only while this screen is the active one. The layout follows the terminal's width: tiles wrap to fewer
columns and the side-by-side boxes stack below 110 columns."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from rich.console import Group
from rich.text import Text
from textual.renderables.digits import Digits
from textual.widgets import Footer, Static

from shopsim.metrics.kpis import Metrics
from shopsim.report.funnel import MAIN, cart_funnel, recovery_split
from shopsim.report.labels import channel_words, device_words, pp
from shopsim.report.svg import CHANNEL_COLORS, FUNNEL_COLORS
from shopsim.report.tables import count, metric_words, money, number, rate
from shopsim.simulation import Simulation
from shopsim.tui.clocktext import day_text
from shopsim.tui.interim import as_shown, is_final
from shopsim.tui.widgets.charts import BarsChart, SeriesChart, TableChart, VariantsChart
from shopsim.tui.widgets.variants_chart import verdicts_text

__all__ = ["KpiScreen", "HEADLINES", "headline_values", "funnel_bars", "device_rows", "suppression_bars"]

SERIES_HOURS = 48
NARROW = 110  # below this many columns the boxes stack instead of standing side by side
STACK_EXPERIMENTS = 150  # below this, an experiment's verdicts stand under its arms, not beside them
# (tile id, label): how headline_values names its tiles, in order. WIDE tiles take two columns when there are
# four or more; MINOR ones are left out on a small terminal (under 100 columns or 40 rows).
HEADLINES: tuple[tuple[str, str], ...] = (
    ("recovery", "attributed recovery"), ("abandonment_rate", "cart abandonment"),
    ("orders", "orders"), ("revenue", "revenue"), ("carts", "carts created"),
    ("recovered_revenue", "recovered revenue"), ("discount_cost", "discount cost"),
    ("delivered", "messages delivered"), ("suppressed", "messages suppressed"),
    ("human_open_rate", "open rate, people"), ("click_rate", "click rate"), ("complaint_rate", "spam complaints"),
)
WIDE = ("recovery", "abandonment_rate")
MINOR = ("recovered_revenue", "discount_cost", "suppressed", "complaint_rate")


def counted(n: Any, one: str, many: str) -> str:
    """"1 coupon redeemed", "2 coupons redeemed"."""
    return f"{count(n)} {one if n == 1 else many}"


def _recovery_note(c: dict[str, Any]) -> str:
    """Organic and (with a holdout) incremental recovery, beside the attributed headline."""
    note = f"organic {rate(c.get('organic_recovery_rate'))}"
    if c.get("incremental_recovery_rate") is not None:
        note += f" · incremental {pp(c['incremental_recovery_rate'])}"
    return note


def headline_values(result: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Tile id -> (value, small print) from a `Metrics.result()`."""
    c, m, cur = result["commerce"], result["messages"], result["commerce"].get("currency")
    share = lambda a, b: rate(a / b) if b else "—"  # noqa: E731
    return {
        "abandonment_rate": (rate(c.get("abandonment_rate")), "Baymard: 1 − orders ÷ carts created"),
        "recovery": (rate(c.get("attributed_recovery_rate")), _recovery_note(c)),
        "orders": (count(c["orders"]), f"conversion {rate(c['conversion_rate'])}"),
        "revenue": (money(c["revenue"], cur), f"refunded {money(c['refunded'], cur)}"),
        "carts": (count(c["carts"]), f"of {counted(c['visits'], 'visit', 'visits')}"),
        "recovered_revenue": (money(c["recovered_revenue"], cur),
                              f"{share(c['recovered_revenue'], c['revenue'])} of revenue"),
        "discount_cost": (money(c["discount_cost"], cur),
                          counted(c["coupons_redeemed"], "coupon redeemed", "coupons redeemed")),
        "delivered": (count(m["delivered"]), f"{number(m['per_shopper_per_day'], 3)} /shopper/day"),
        "suppressed": (count(m["suppressed"]), f"{rate(m['suppression_rate'])} of requests"),
        "human_open_rate": (rate(m.get("human_open_rate")), f"reported {rate(m['open_rate'])}"),
        "click_rate": (rate(m["click_rate"]), f"{count(m['clicked'])} clicked"),
        "complaint_rate": (rate(m.get("complaint_rate")), f"{count(m.get('complained'))} marked as spam"),
    }


_TUI_WORDS = {"carts": "carts created", "abandoned_before_checkout": "↳ abandoned before checkout",
              "checkouts": "reached checkout", "abandoned_at_checkout": "↳ abandoned at checkout",
              "carts_ordered": "ordered", "recovered_attributed": "↳ reminder click (attributed)",
              "recovered_organic": "↳ on their own (organic)", "recovered_other": "↳ other message or ad",
              "never_ordered": "↳ never ordered", "carts_open": "still open (no decision yet)"}


def funnel_bars(result: dict[str, Any]) -> list[tuple[str, float, str, str | None]]:
    """The cart funnel as bars (label, carts, share, colour): created → reached checkout → ordered, the
    abandonment branches under the step they leave, then what became of the abandoned carts."""
    c = result["commerce"]
    bars: list[tuple[str, float, str, str | None]] = []
    for r in cart_funnel(c):
        note = "" if r.key == "carts" else f"{rate(r.share)} {r.of.replace('carts that ', '')}"
        bars.append((_TUI_WORDS[r.key], r.value or 0, note, None if r.kind == MAIN else FUNNEL_COLORS[r.kind]))
    abandoned = c.get("carts_abandoned")
    what = "the cart abandoned" if abandoned == 1 else f"the {count(abandoned)} carts abandoned"
    bars.append((f"what became of {what}:", None, "", None))
    for r in recovery_split(c):
        bars.append((_TUI_WORDS[r.key], r.value or 0, f"{rate(r.share)} of abandoned", FUNNEL_COLORS[r.kind]))
    return bars


def device_rows(result: dict[str, Any]) -> list[list[str]]:
    """Per device: visits, carts, carts ordered, cart abandonment, conversion."""
    return [[device_words(d), count(v.get("visits")), count(v.get("carts")), count(v.get("orders")),
             rate(v.get("abandonment_rate")), rate(v.get("conversion_rate"))]
            for d, v in (result["commerce"].get("by_device") or {}).items()]


DEVICE_HEADERS = ["device", "visits", "carts", "ordered", "abandonment", "conversion"]
DEVICE_NOTE = "abandonment: 1 − ordered ÷ carts · conversion: orders ÷ visits"


def suppression_bars(result: dict[str, Any], top: int = 7) -> list[tuple[str, float, str]]:
    reasons = result["messages"]["suppressed_by_reason"]
    total = sum(reasons.values())
    items = list(reasons.items())
    bars = [(r.replace("_", " "), n, f"{n / total:.0%}") for r, n in items[:top]]
    if len(items) > top:
        rest = sum(n for _, n in items[top:])
        bars.append((counted(len(items) - top, "other reason", "other reasons"), rest, f"{rest / total:.0%}"))
    return bars


def hourly_by_channel(result: dict[str, Any], hours: int = SERIES_HOURS) -> tuple[dict[str, list[float]], int]:
    """Deliveries per hour of each channel (and ad impressions) over the last `hours`, and the first hour."""
    hour = result["series"]["hour"]
    n = len(hour.get("delivered", ()))
    first = max(0, n - hours)
    out = {}
    for channel in CHANNEL_COLORS:
        key = "ad_impressions" if channel == "ads" else f"delivered_{channel}"
        col = hour.get(key)
        if col is not None and (channel != "ads" or any(col)):
            out[channel] = col[first:]
    return out, first


class KpiTile(Static):
    """One headline number: a label, the value, a line of small print. In presenter mode (the app's `presenter`)
    the value is drawn in digits three rows high, to be read from the back of a room (app.tcss gives it the
    height: a widget's own CSS is scoped to it and cannot see the app's class)."""

    DEFAULT_CSS = """
    KpiTile { height: 3; padding: 0 1; background: $boost; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, label: str, *, id: str, classes: str = "") -> None:
        super().__init__(id=id, classes=classes)
        self.label = label
        self.value = "—"
        self.note = ""
        self.large = False

    def set_value(self, value: str, note: str = "", large: bool | None = None) -> None:
        large = self.large if large is None else large
        if (value, note, large) != (self.value, self.note, self.large):
            self.value, self.note, self.large = value, note, large
            self.update(self._text())

    def _text(self) -> Content | Group:
        if self.large:
            accent = self.app.current_theme.accent or "yellow"
            # Large digits draw 0-9, A-F and a few signs: "17,910.58 USD" would draw its D as a digit. The
            # number goes large, its unit beside the label.
            number, _, unit = self.value.partition(" ")
            label = f"{self.label} ({unit})" if unit else self.label
            return Group(Text(label, style="dim", no_wrap=True, overflow="ellipsis"),
                         Digits(number, style=f"bold {accent}"),
                         Text(self.note, style="dim", no_wrap=True, overflow="ellipsis"))
        return Content.assemble((self.label, "$text-muted"), "\n", (self.value, "bold"), "\n",
                                (self.note, "$text-muted"))

    def on_mount(self) -> None:
        self.large = bool(getattr(self.app, "presenter", False))
        self.update(self._text())


class KpiScreen(Screen):
    """KPIs of the running simulation, updated live (≤ 2×/s) while this screen is shown."""

    BINDINGS = [Binding("escape", "back", "Back"), Binding("k", "back", "Back", show=False),
                Binding("space", "toggle_play", "Play/pause")]
    DEFAULT_CSS = """
    KpiScreen { background: $background; }
    KpiScreen #kpi-title { height: 1; padding: 0 1; background: $panel; color: $text; text-style: bold;
                           text-wrap: nowrap; text-overflow: ellipsis; }
    KpiScreen #kpi-body { padding: 0 1; }
    KpiScreen #kpi-tiles { grid-size: 7; grid-gutter: 1 1; height: auto; grid-rows: 3; margin: 1 0 0 0; }
    KpiScreen #kpi-tiles > KpiTile.wide { column-span: 2; }
    KpiScreen #kpi-tiles.small { grid-gutter: 0 1; margin: 0; }
    KpiScreen #kpi-tiles.small > KpiTile.minor { display: none; }
    KpiScreen #kpi-tiles.three > #kpi-abandonment-rate { column-span: 1; }
    KpiScreen .kpi-box { border: round $border-blurred; border-title-color: $text-accent; padding: 0 1; height: auto; }
    KpiScreen #kpi-row { height: auto; }
    KpiScreen #kpi-row > .kpi-box, KpiScreen #kpi-row > #kpi-side { width: 1fr; }
    KpiScreen #kpi-row.narrow { layout: vertical; }
    KpiScreen #kpi-row.narrow > .kpi-box, KpiScreen #kpi-row.narrow > #kpi-side { width: 100%; }
    KpiScreen #kpi-side { height: auto; }
    KpiScreen #kpi-experiments { height: auto; }
    KpiScreen .kpi-experiment { height: auto; }
    KpiScreen .kpi-experiment > VariantsChart { width: auto; max-width: 60%; }
    KpiScreen .kpi-verdicts { width: 1fr; min-width: 30; padding: 0 0 0 2; color: $text; }
    KpiScreen #kpi-experiments.stacked .kpi-experiment { layout: vertical; }
    KpiScreen #kpi-experiments.stacked .kpi-experiment > VariantsChart { width: 100%; max-width: 100%; }
    KpiScreen #kpi-experiments.stacked .kpi-verdicts { width: 100%; padding: 1 0 0 0; }
    """

    def __init__(self, sim: Simulation, metrics: Metrics, *, refresh_every: float = 0.5,
                 name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.sim = sim
        self.metrics = metrics
        self.refresh_every = max(0.5, refresh_every)  # result() costs O(series): twice a second at most
        self.result: dict[str, Any] | None = None
        self._seen_events = -1
        self._timer = None
        self.live = False  # refreshing on a timer (only while this is the active screen)
        self._title = ""

    def compose(self) -> ComposeResult:
        yield Static("KPIs", id="kpi-title")
        with VerticalScroll(id="kpi-body"):
            with Grid(id="kpi-tiles"):
                for key, label in HEADLINES:
                    kind = "wide" if key in WIDE else "minor" if key in MINOR else ""
                    yield KpiTile(label, id=f"kpi-{key.replace('_', '-')}", classes=kind)
            with Horizontal(id="kpi-row"):
                with Vertical(classes="kpi-box", id="kpi-funnel-box") as box:
                    box.border_title = "Cart funnel: created → checkout → ordered"
                    yield BarsChart(id="kpi-funnel", max_label=30)
                with Vertical(id="kpi-side"):
                    with Vertical(classes="kpi-box", id="kpi-devices-box") as box:
                        box.border_title = "By device"
                        yield TableChart(id="kpi-devices")
                    with Vertical(classes="kpi-box", id="kpi-reasons-box") as box:
                        box.border_title = "Suppressed, by reason"
                        yield BarsChart(id="kpi-reasons")
            with Vertical(classes="kpi-box", id="kpi-hourly-box") as box:
                box.border_title = "Messages per hour by channel"
                yield SeriesChart(id="kpi-hourly")
            yield Vertical(id="kpi-experiments")
        yield Footer()

    def on_resize(self) -> None:
        self._fit(self.size.width, self.size.height)

    def _fit(self, width: int, height: int) -> None:
        """Tiles in as many columns as fit (at least 21 cells each), the minor ones left out on a small
        terminal; the boxes side by side from NARROW columns, stacked below."""
        if not width:
            return
        tiles = self.query_one("#kpi-tiles", Grid)
        large = bool(getattr(self.app, "presenter", False))  # digits three rows high need wider tiles
        columns = max(2, min(7, (width - 2) // (30 if large else 21)))
        tiles.styles.grid_size_columns = columns
        tiles.styles.grid_rows = "5" if large else "3"
        tiles.set_class(width < 100 or height < 40 or large, "small")  # presenter: the headline numbers only
        tiles.set_class(columns == 3, "three")
        self.query_one("#kpi-row", Horizontal).set_class(width < NARROW, "narrow")
        # An arm's table needs its columns side by side: the verdicts go below it unless there is room for both.
        self.query_one("#kpi-experiments", Vertical).set_class(width < STACK_EXPERIMENTS, "stacked")

    def on_mount(self) -> None:
        self._fit(self.app.size.width, self.app.size.height)
        self.live = self.is_active
        self._timer = self.set_interval(self.refresh_every, self._tick, pause=not self.live)
        self.refresh_kpis()

    def on_screen_resume(self) -> None:
        self._tick()
        self.live = True
        if self._timer is not None:
            self._timer.resume()

    def on_screen_suspend(self) -> None:
        self.live = False
        if self._timer is not None:
            self._timer.pause()

    def _tick(self) -> None:
        self.refresh_transport()  # the clock moves even when nothing happens
        self.refresh_kpis()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_play":
            return getattr(self.app, "driver", None) is not None  # an app that plays the run
        return True

    def action_toggle_play(self) -> None:
        """Space plays and pauses here too; the app asks this screen to redraw its clock line."""
        toggle = getattr(self.app, "action_toggle_play", None)
        if toggle is None:
            return
        toggle()
        # The top bar under this screen says so too: paused, no batch of events would come to redraw it.
        under = getattr(self.app, "main_screen", None)
        if under is not None and under is not self and hasattr(under, "refresh_transport"):
            under.refresh_transport()

    def refresh_transport(self) -> None:
        """The title line: where the run is, and whether it is playing."""
        if not self.is_mounted:
            return
        sim, run = self.sim, (self.result or {}).get("run", {})
        driver = getattr(self.app, "driver", None)
        driver = driver if driver is not None and driver.sim is sim else None
        parts = ["KPIs", run.get("scenario") or sim.scenario.name,
                 f"{day_text(sim.now, sim.end)} ({min(1.0, sim.now / (sim.end or 1)):.0%})"]
        if driver is not None:
            parts += [driver.state, driver.speed_label]
        elif sim.finished:
            parts.append("finished")
        if run:
            parts += [counted(run["shoppers"], "shopper", "shoppers"), counted(run["events"], "event", "events")]
        title = " · ".join(parts)
        if title != self._title:
            self._title = title
            self.query_one("#kpi-title", Static).update(Content(title), layout=False)  # one line, always

    def action_back(self) -> None:
        if self.app.screen is self and len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def refresh_kpis(self, force: bool = False) -> None:
        """Recompute `metrics.result()` (when events arrived since the last time) and update the widgets."""
        if not self.is_mounted or (not force and self.metrics.events == self._seen_events):
            return
        self._seen_events = self.metrics.events
        self.result = result = self.metrics.result()
        self._show(result)

    def _show(self, result: dict[str, Any]) -> None:
        self.refresh_transport()
        large = bool(getattr(self.app, "presenter", False))
        for key, (value, note) in headline_values(result).items():
            self.query_one(f"#kpi-{key.replace('_', '-')}", KpiTile).set_value(value, note, large)
        funnel = funnel_bars(result) if result["commerce"]["carts"] else []
        self.query_one("#kpi-funnel", BarsChart).update_data(funnel, empty="no carts yet")
        self.query_one("#kpi-devices", TableChart).update_data(DEVICE_HEADERS, device_rows(result), note=DEVICE_NOTE,
                                                               empty="no visits yet")
        self.query_one("#kpi-reasons", BarsChart).update_data(suppression_bars(result), empty="nothing suppressed yet")
        series, first = hourly_by_channel(result)
        self.query_one("#kpi-hourly", SeriesChart).update_data(series, first_hour=first,
                                                                start_ms=self.sim.scenario.start_epoch,
                                                                labels={k: channel_words(k) for k in series})
        self._show_experiments(result)

    def _show_experiments(self, result: dict[str, Any]) -> None:
        experiments = result.get("experiments") or {}
        box = self.query_one("#kpi-experiments", Vertical)
        currency = result["commerce"].get("currency")
        final = is_final(result, self.sim.end)
        when = None if final else day_text(result["run"].get("elapsed_ms") or 0, self.sim.end)
        for i, (name, exp) in enumerate(experiments.items()):
            exp = as_shown(exp, final)
            title = (f"Experiment {name}: {metric_words(exp['metric'])} against {exp['control']}"
                     + ("" if final else f" · interim look, {when}"))
            wid = f"kpi-exp-{i}"
            found = box.query(f"#{wid}")
            if found:
                section = found.first()
                section.query_one(VariantsChart).update_data(
                    exp["comparisons"], exp["variants"], metric=exp["metric"], control=exp["control"],
                    currency=currency)
                section.query_one(".kpi-verdicts", Static).update(verdicts_text(exp, currency, when))
                section.border_title = title
                continue
            chart = VariantsChart.from_experiment(exp, currency)
            section = Horizontal(chart, Static(verdicts_text(exp, currency, when), classes="kpi-verdicts"),
                                 id=wid, classes="kpi-box kpi-experiment")
            section.border_title = title
            box.mount(section)

