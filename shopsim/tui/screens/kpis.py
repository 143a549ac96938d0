"""The KPI screen: the run's headline numbers, the recovery funnel, messages per hour by channel, the
suppression reasons and, for a scenario with experiments, the arms side by side with their verdicts.

Everything comes from the app's one `Metrics` (`metrics.result()`, docs/metrics.md), at most twice a second
and only while this screen is the active one."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from shopsim.metrics.kpis import Metrics
from shopsim.report.svg import CHANNEL_COLORS
from shopsim.report.tables import count, metric_words, money, number, rate
from shopsim.sim.engine import Simulation
from shopsim.tui.widgets.charts import BarsChart, SeriesChart, VariantsChart, uplift_text, verdict_word

__all__ = ["KpiScreen", "HEADLINES"]

SERIES_HOURS = 48
# (tile id, label, how to read it from result() and format it)
HEADLINES: tuple[tuple[str, str], ...] = (
    ("visits", "visits"), ("carts", "carts"), ("abandonment_rate", "abandonment rate"),
    ("recovery_rate", "recovery rate"), ("orders", "orders"), ("revenue", "revenue"),
    ("recovered_revenue", "recovered revenue"), ("discount_cost", "discount cost"),
    ("delivered", "messages delivered"), ("suppressed", "messages suppressed"), ("open_rate", "open rate"),
    ("click_rate", "click rate"), ("per_shopper_per_day", "messages / shopper"),
)


def headline_values(result: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Tile id -> (value, small print) from a `Metrics.result()`."""
    c, m, cur = result["commerce"], result["messages"], result["commerce"].get("currency")
    share = lambda a, b: rate(a / b) if b else "—"  # noqa: E731
    return {
        "visits": (count(c["visits"]), f"{count(c['product_views'])} views"),
        "carts": (count(c["carts"]), f"{count(c['checkouts'])} to checkout"),
        "abandonment_rate": (rate(c["abandonment_rate"]), f"{count(c['carts_abandoned'])} abandoned"),
        "recovery_rate": (rate(c["recovery_rate"]), f"attributed {rate(c['attributed_recovery_rate'])}"),
        "orders": (count(c["orders"]), f"{count(c['paid_orders'])} paid"),
        "revenue": (money(c["revenue"], cur), f"refunded {money(c['refunded'], cur)}"),
        "recovered_revenue": (money(c["recovered_revenue"], cur),
                              f"{share(c['recovered_revenue'], c['revenue'])} of revenue"),
        "discount_cost": (money(c["discount_cost"], cur), f"{count(c['coupons_redeemed'])} coupons redeemed"),
        "delivered": (count(m["delivered"]), f"of {count(m['requested'])} requested"),
        "suppressed": (count(m["suppressed"]), f"{rate(m['suppression_rate'])} of requests"),
        "open_rate": (rate(m["open_rate"]), f"{count(m['opened'])} opened"),
        "click_rate": (rate(m["click_rate"]), f"{count(m['clicked'])} clicked"),
        "per_shopper_per_day": (number(m["per_shopper_per_day"], 3), "per day"),
    }


def funnel_bars(result: dict[str, Any]) -> list[tuple[str, float, str]]:
    """The abandonment → recovery funnel as bars (label, carts, share). "by an ad" shows when ads ran."""
    c = result["commerce"]
    ab = c["carts_abandoned"]
    of = lambda x: f"{x / ab:.1%} of abandoned" if ab else ""  # noqa: E731
    bars = [("carts", c["carts"], ""), ("reached checkout", c["checkouts"], ""),
            ("abandoned", ab, f"{rate(c['abandonment_rate'])} of carts"),
            ("recovered", c["carts_recovered"], of(c["carts_recovered"])),
            ("  by a notification", c["recovered_by_notification"], of(c["recovered_by_notification"]))]
    if c["recovered_by_ad"] or result["ads"]["impressions"]:
        bars.append(("  by an ad", c["recovered_by_ad"], of(c["recovered_by_ad"])))
    bars.append(("  on their own", c["recovered_unattributed"], of(c["recovered_unattributed"])))
    return bars


def suppression_bars(result: dict[str, Any], top: int = 7) -> list[tuple[str, float, str]]:
    reasons = result["messages"]["suppressed_by_reason"]
    total = sum(reasons.values())
    items = list(reasons.items())
    bars = [(r, n, f"{n / total:.0%}") for r, n in items[:top]]
    if len(items) > top:
        rest = sum(n for _, n in items[top:])
        bars.append((f"{len(items) - top} other reasons", rest, f"{rest / total:.0%}"))
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
    """One headline number: a label, the value, a line of small print."""

    DEFAULT_CSS = """
    KpiTile { height: 3; padding: 0 1; background: $boost; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, label: str, *, id: str) -> None:
        super().__init__(id=id)
        self.label = label
        self.value = "—"
        self.note = ""

    def set_value(self, value: str, note: str = "") -> None:
        if (value, note) != (self.value, self.note):
            self.value, self.note = value, note
            self.update(self._text())

    def _text(self) -> Content:
        return Content.assemble((self.label, "$text-muted"), "\n", (self.value, "bold"), "\n",
                                (self.note, "$text-muted"))

    def on_mount(self) -> None:
        self.update(self._text())


class KpiScreen(Screen):
    """KPIs of the running simulation, updated live (≤ 2×/s) while this screen is shown."""

    BINDINGS = [Binding("escape", "back", "Back"), Binding("k", "back", "Back", show=False)]
    DEFAULT_CSS = """
    KpiScreen { background: $background; }
    KpiScreen #kpi-title { height: 1; padding: 0 1; background: $panel; color: $text; text-style: bold; }
    KpiScreen #kpi-body { padding: 0 1; }
    KpiScreen #kpi-tiles { grid-size: 7; grid-gutter: 1 1; height: auto; grid-rows: 3; margin: 1 0 0 0; }
    KpiScreen .kpi-box { border: round $border-blurred; border-title-color: $text-accent; padding: 0 1; height: auto; }
    KpiScreen #kpi-row { height: auto; }
    KpiScreen #kpi-row > .kpi-box { width: 1fr; }
    KpiScreen #kpi-experiments { height: auto; }
    KpiScreen .kpi-experiment { height: auto; }
    KpiScreen .kpi-experiment > VariantsChart { width: auto; max-width: 60%; }
    KpiScreen .kpi-verdicts { width: 1fr; min-width: 30; padding: 0 0 0 2; color: $text; }
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

    def compose(self) -> ComposeResult:
        yield Static("KPIs", id="kpi-title")
        with VerticalScroll(id="kpi-body"):
            with Grid(id="kpi-tiles"):
                for key, label in HEADLINES:
                    yield KpiTile(label, id=f"kpi-{key.replace('_', '-')}")
            with Horizontal(id="kpi-row"):
                with Vertical(classes="kpi-box", id="kpi-funnel-box") as box:
                    box.border_title = "Abandonment → recovery (carts)"
                    yield BarsChart(id="kpi-funnel")
                with Vertical(classes="kpi-box", id="kpi-reasons-box") as box:
                    box.border_title = "Suppressed, by reason"
                    yield BarsChart(id="kpi-reasons")
            with Vertical(classes="kpi-box", id="kpi-hourly-box") as box:
                box.border_title = "Messages per hour by channel"
                yield SeriesChart(id="kpi-hourly")
            yield Vertical(id="kpi-experiments")
        yield Footer()

    def on_mount(self) -> None:
        self.live = self.is_active
        self._timer = self.set_interval(self.refresh_every, self.refresh_kpis, pause=not self.live)
        self.refresh_kpis()

    def on_screen_resume(self) -> None:
        self.refresh_kpis()
        self.live = True
        if self._timer is not None:
            self._timer.resume()

    def on_screen_suspend(self) -> None:
        self.live = False
        if self._timer is not None:
            self._timer.pause()

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
        run = result["run"]
        end = self.sim.end or 1
        title = (f"KPIs · {run['scenario'] or self.sim.scenario.name} · day {run['days']:.1f} of {end / 86_400_000:g}"
                 f" ({min(1.0, run['elapsed_ms'] / end):.0%}) · {count(run['shoppers'])} shoppers · "
                 f"{count(run['events'])} events" + (" · finished" if run["complete"] else ""))
        self.query_one("#kpi-title", Static).update(Content(title))
        for key, (value, note) in headline_values(result).items():
            self.query_one(f"#kpi-{key.replace('_', '-')}", KpiTile).set_value(value, note)
        self.query_one("#kpi-funnel", BarsChart).update_data(funnel_bars(result), empty="no carts yet")
        self.query_one("#kpi-reasons", BarsChart).update_data(suppression_bars(result), empty="nothing suppressed yet")
        series, first = hourly_by_channel(result)
        self.query_one("#kpi-hourly", SeriesChart).update_data(series, first_hour=first,
                                                                start_ms=self.sim.scenario.start_epoch)
        self._show_experiments(result)

    def _show_experiments(self, result: dict[str, Any]) -> None:
        experiments = result.get("experiments") or {}
        box = self.query_one("#kpi-experiments", Vertical)
        currency = result["commerce"].get("currency")
        for i, (name, exp) in enumerate(experiments.items()):
            wid = f"kpi-exp-{i}"
            found = box.query(f"#{wid}")
            if found:
                section = found.first()
                section.query_one(VariantsChart).update_data(
                    exp["comparisons"], exp["variants"], metric=exp["metric"], control=exp["control"],
                    currency=currency)
                section.query_one(".kpi-verdicts", Static).update(verdicts_text(exp, currency))
                continue
            chart = VariantsChart.from_experiment(exp, currency)
            section = Horizontal(chart, Static(verdicts_text(exp, currency), classes="kpi-verdicts"), id=wid,
                                 classes="kpi-box kpi-experiment")
            section.border_title = f"Experiment {name}: {metric_words(exp['metric'])} against {exp['control']}"
            box.mount(section)


def verdicts_text(exp: dict[str, Any], currency: str | None = None) -> Content:
    """The verdict sentences of the experiment's own metric, then one line per other comparison."""
    parts: list[Any] = []
    for c in (c for c in exp["comparisons"] if c.get("primary")):
        mark = (("✓ ", "$text-success bold") if c.get("significant") and c["diff"] > 0 else
                ("✗ ", "$text-error bold") if c.get("significant") else ("· ", "bold"))
        parts += [mark, c["verdict"], "\n\n"]
    others = [c for c in exp["comparisons"] if not c.get("primary")]
    if others:
        parts.append((f"Other metrics, against {exp['control']} (95% interval)", "bold"))
        for variant in dict.fromkeys(c["variant"] for c in others):
            parts.append((f"\n{variant}", "bold"))
            rows = [c for c in others if c["variant"] == variant]
            width = max(len(metric_words(c["metric"])) for c in rows)
            for c in rows:
                word = verdict_word(c)
                style = "$text-success" if word == "higher" else "$text-error" if word == "lower" else "$text-muted"
                parts += [(f"\n  {metric_words(c['metric']):<{width}}  ", "$text-muted"), uplift_text(c, currency),
                          "  ", (word, style)]
    return Content.assemble(*parts).rstrip()
