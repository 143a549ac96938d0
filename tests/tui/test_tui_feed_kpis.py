"""The live feed, the charts and the KPI screen of the terminal app, driven by real scenarios.

Simulations are run once per module (cart_recovery for three days, experiment to its end) and replayed into
harness apps. Pilot tests check behaviour; two snapshots check the look (160×48)."""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache

from textual.app import App, ComposeResult
from textual.screen import Screen

from shopsim.metrics.kpis import Metrics
from shopsim.report.tables import rate
from shopsim.contract import events as E
from shopsim.contract.clock import DAY
from shopsim.simulation import Simulation
from shopsim.contract.events import Event
from shopsim.contract.ids import shopper_index
from shopsim.tui.messages import ExplainRequested, ShopperSelected
from shopsim.report.labels import category_words, decision_words, device_words
from shopsim.tui.screens.kpis import KpiScreen, KpiTile
from shopsim.tui.widgets.charts import BarsChart, SeriesChart, TableChart, VariantsChart, blocks, uplift_text
from shopsim.tui.widgets.feed import LiveFeed

from helpers.tui import SIZE
from helpers.tui_harnesses import KpiApp, Run, drive, experiment_run, played


@lru_cache(maxsize=None)
def cart_run() -> Run:
    """cart_recovery, three days (deferrals start on day 2); messages kept so explain() works."""
    return played("cart_recovery", 3 * DAY)


def _outcomes(events, *types):
    return [ev for ev in events if ev.type in types]


class FeedApp(App):
    def __init__(self, sim: Simulation, events: list[Event], max_lines: int = 5000):
        super().__init__()
        self.sim, self.events, self.max_lines = sim, events, max_lines
        self.posted: list = []

    def compose(self) -> ComposeResult:
        yield LiveFeed(self.sim, max_lines=self.max_lines)

    def on_mount(self) -> None:
        feed = self.query_one(LiveFeed)
        feed.on_sim_events(self.events)
        feed.flush()
        feed.focus()

    def on_shopper_selected(self, message: ShopperSelected) -> None:
        self.posted.append(message)

    def on_explain_requested(self, message: ExplainRequested) -> None:
        self.posted.append(message)


# --- the feed ------------------------------------------------------------------------------------------

def test_feed_shows_deliveries_deferrals_and_suppressions_with_reasons():
    run = cart_run()
    app = FeedApp(run.sim, run.events)

    async def body(pilot):
        feed = app.query_one(LiveFeed)
        decided = _outcomes(run.events, E.NOTIFICATION_DELIVERED, E.NOTIFICATION_DEFERRED,
                            E.NOTIFICATION_DIGESTED, E.NOTIFICATION_SUPPRESSED, E.AD_IMPRESSION)
        assert len(feed.lines) == len(decided) and feed.dropped == 0
        text = {ln[-1]: feed.line_text(ln) for ln in feed.lines}
        delivered = next(ev for ev in decided if ev.type == E.NOTIFICATION_DELIVERED)
        assert delivered.data["title"] in text[delivered.data["id"]]
        assert "delivered" in text[delivered.data["id"]] and delivered.shopper in text[delivered.data["id"]]
        sup = next(ev for ev in decided if ev.type == E.NOTIFICATION_SUPPRESSED)
        line = text[sup.data["id"]]
        assert "suppressed" in line and decision_words(sup.data["reason"], sup.data["rule"]) in line
        deferred = next(ev for ev in decided if ev.type == E.NOTIFICATION_DEFERRED)
        line = [feed.line_text(ln) for ln in feed.lines if ln[-1] == deferred.data["id"]][0]
        until = datetime.fromisoformat(deferred.data["until"].replace("Z", "+00:00")).timestamp() * 1000
        ms = int(until) - run.sim.scenario.start_epoch
        clock = f"d{ms // DAY + 1} {ms % DAY // 3_600_000:02d}:{ms % 3_600_000 // 60_000:02d}"  # e.g. d2 07:00
        assert "deferred" in line and decision_words(deferred.data["reason"]) in line and f"until {clock}" in line
        # The screen shows the newest lines: the last row on screen is the last decision.
        assert feed.following
        rows = [feed.render_line(y).text for y in range(feed.size.height)]
        assert "Live feed" in rows[0] and "0 dropped" in rows[0]
        last = decided[-1]
        assert any(last.shopper in r and category_words(last.data["category"]) in r for r in rows[-3:])

    drive(app, body)


def test_feed_bound_drops_old_lines_and_counts_them():
    run = cart_run()
    app = FeedApp(run.sim, run.events, max_lines=100)

    async def body(pilot):
        feed = app.query_one(LiveFeed)
        total = feed.added
        assert total > 300 and len(feed.lines) == 100 and feed.dropped == total - 100
        assert feed.lines[0][0] == total - 100  # the oldest lines went first
        assert f"{total - 100:,} dropped" in feed.render_line(0).text
        # Scrolled up, the lines being read stay on screen while the bound drops lines above them.
        feed.move_cursor(50)
        await pilot.pause()
        top, serial = feed.scroll_offset.y, feed.cursor_line[0]
        assert top == 50 and not feed.following
        feed.on_sim_events(_deliveries(20))
        feed.flush()
        await pilot.pause()
        assert feed.dropped == total - 80 and feed.cursor_line[0] == serial
        assert feed.scroll_offset.y == top - 20 and not feed.following
        assert serial == feed.visible_lines[30][0]  # it moved up by 20 rows, and so did the view:
        assert feed.render_line(1).text[:60] == feed.line_text(feed.cursor_line)[:60]  # still the first row

    drive(app, body)


def test_feed_filters():
    run = cart_run()
    app = FeedApp(run.sim, run.events)

    async def body(pilot):
        feed = app.query_one(LiveFeed)
        everything = len(feed.visible_lines)
        feed.set_filter(channels={"push"})
        assert feed.visible_lines and {ln[4] for ln in feed.visible_lines} == {"push"}
        feed.set_filter(outcomes={"suppressed"})
        n_sup = len(_outcomes(run.events, E.NOTIFICATION_SUPPRESSED))
        assert len(feed.visible_lines) == n_sup and "only suppressed" in feed.render_line(0).text
        sid = feed.lines[-1][3]
        feed.set_filter(shopper=shopper_index(sid))  # by index, as ShopperSelected carries it
        assert feed.visible_lines and {ln[3] for ln in feed.visible_lines} == {sid}
        feed.set_filter()
        assert len(feed.visible_lines) == everything
        # Keys: s toggles "only suppressions", c steps through the channels, f "only mine".
        await pilot.press("s")
        assert feed.outcomes == {"suppressed"} and len(feed.visible_lines) == n_sup
        await pilot.press("s", "c")
        assert feed.outcomes is None and feed.channels == {"email"}
        feed.selected_shopper = sid
        await pilot.press("f")
        assert feed.shopper == sid and all(ln[3] == sid and ln[4] == "email" for ln in feed.visible_lines)
        # New events go into a filtered view as they arrive.
        feed.set_filter(outcomes={"suppressed"})
        more = [Event(10**9 + i, 3 * DAY + i, E.NOTIFICATION_SUPPRESSED, "s000001",
                      {"id": f"s000001-n{900 + i}", "category": "promotions", "channel": "sms",
                       "reason": "frequency_cap", "rule": "caps.sms"}) for i in range(3)]
        feed.on_sim_events(more)
        assert len(feed.visible_lines) == n_sup + 3 and feed.visible_lines[-1][-1] == "s000001-n902"

    drive(app, body)


def test_enter_posts_shopper_selected_and_explain_requested():
    run = cart_run()
    app = FeedApp(run.sim, run.events)

    async def body(pilot):
        feed = app.query_one(LiveFeed)
        await pilot.press("up")  # the cursor lands on the newest line on screen
        line = feed.cursor_line
        assert line is not None and line is feed.visible_lines[-1] and not feed.following
        await pilot.press("up", "enter")
        await pilot.pause()
        line = feed.cursor_line
        assert line is feed.visible_lines[-2]
        selected, explain = app.posted
        assert isinstance(selected, ShopperSelected) and selected.index == shopper_index(line[3])
        assert isinstance(explain, ExplainRequested) and explain.notification_id == line[-1]
        assert run.sim.explain(explain.notification_id)["summary"]  # an id the engine can explain
        await pilot.press("end")
        assert feed.cursor is None and feed.following
        # The mouse: a click puts the cursor on the row (row 0 is the header), a double click explains it.
        app.posted.clear()
        await pilot.click(LiveFeed, offset=(10, 3), times=2)
        await pilot.pause()
        line = feed.visible_lines[feed.scroll_offset.y + 2]
        assert feed.cursor_line is line
        assert [type(m) for m in app.posted] == [ShopperSelected, ExplainRequested]
        assert app.posted[-1].notification_id == line[-1]

    drive(app, body)


def _deliveries(n: int, t0: int = 4 * DAY) -> list[Event]:
    return [Event(10**8 + i, t0 + i, E.NOTIFICATION_DELIVERED, "s000002",
                  {"id": f"s000002-n{500 + i}", "channel": "in_app", "category": "promotions", "title": f"Extra {i}"})
            for i in range(n)]


def _synthetic(n: int) -> list[Event]:
    kinds = [(E.NOTIFICATION_DELIVERED, lambda i: {"id": f"s{i % 999 + 1:06d}-n{i}", "channel": "push",
                                                   "category": "promotions", "title": f"Offer number {i}"}),
             (E.PRODUCT_VIEWED, lambda i: {"product": "p00001"}),
             (E.NOTIFICATION_SUPPRESSED, lambda i: {"id": f"s{i % 999 + 1:06d}-n{i}", "channel": "email",
                                                    "category": "promotions", "reason": "frequency_cap",
                                                    "rule": "caps.email"}),
             (E.AD_IMPRESSION, lambda i: {"ad": f"s{i % 999 + 1:06d}-a{i}", "reason": "cart", "ref": "c1",
                                          "products": []})]
    out = []
    for i in range(n):
        typ, data = kinds[i % 4]
        out.append(Event(i + 1, i * 10, typ, f"s{i % 999 + 1:06d}", data(i)))
    out.append(Event(n + 1, n * 10, E.NOTIFICATION_DELIVERED, "s000007",
                     {"id": "s000007-n99999", "channel": "sms", "category": "shipping", "title": "The very last one"}))
    return out


def test_fifty_thousand_events_in_one_batch_make_no_widgets():
    run = cart_run()
    app = FeedApp(run.sim, [])

    async def body(pilot):
        feed = app.query_one(LiveFeed)
        feed.on_sim_events(_synthetic(50_000))
        await pilot.pause()  # nothing drawn yet: the timer (or flush) redraws
        feed.flush()
        await pilot.pause()
        assert len(feed.children) == 0 and not list(feed.query("*"))  # lines are not widgets
        assert feed.added == 37_501 and len(feed.lines) == 5000 and feed.dropped == 32_501
        assert feed.following and feed.scroll_offset.y == feed.max_scroll_y
        rows = feed.size.height
        assert "The very last one" in feed.render_line(rows - 1).text
        assert "32,501 dropped" in feed.render_line(0).text

    drive(app, body)


# --- charts ---------------------------------------------------------------------------------------------

def test_blocks_and_charts_from_plain_data():
    assert blocks(0, 10, 8) == "" and blocks(10, 10, 4) == "████" and blocks(5, 10, 3) == "█▌"
    assert blocks(0.001, 10, 8) == "▏"  # anything above zero shows
    bars = BarsChart([("carts", 120), ("abandoned", 60, "50.0%")])
    assert bars.plain.splitlines()[1].startswith("abandoned") and "50.0%" in bars.plain
    series = SeriesChart()
    series.update_data({"email": [0, 2, 4, 8], "push": [1, 0, 0, 0]}, first_hour=22, start_ms=0)
    text = series.plain
    assert "email" in text and "█" in text and "d2" in text and "peak 8" in text
    chart = VariantsChart()
    chart.update_data([{"metric": "recovery", "primary": True, "variant": "b", "control_name": "a", "diff": 0.05,
                        "low": 0.01, "high": 0.09, "enough": True, "significant": True, "verdict": "b wins"}],
                      {"a": {"shoppers": 10, "recovery_shoppers": 2, "recovery_of": 5},
                       "b": {"shoppers": 10, "recovery_shoppers": 3, "recovery_of": 5}}, control="a")
    text = chart.plain
    assert "+5.0 pp [+1.0, +9.0]  higher" in text and "a (control)" in text and "●" in text and "├" in text
    tiny = {"metric": "recovery", "diff": -0.0001, "low": -0.0004, "high": 0.0003}
    assert uplift_text(tiny) == "0.0 pp [0.0, 0.0]"
    table = TableChart()
    table.update_data(["device", "visits", "conversion"], [["App", "1,200", "12.5%"], ["Desktop", "30", "3.0%"]],
                      note="conversion: orders ÷ visits")
    lines = table.plain.splitlines()
    assert lines[0].split() == ["device", "visits", "conversion"] and lines[2].startswith("Desktop")
    assert lines[1].endswith("12.5%") and lines[-1] == "conversion: orders ÷ visits"
    narrow = TableChart()
    narrow.update_data(["device", "visits", "conversion"], [["Mobile web", "1,200", "12.5%"]])
    assert narrow.lines(20)[1].plain.strip() == "Mobile web   1,200"  # columns that do not fit are left out
    heading = BarsChart([("what became of them:", None), ("never ordered", 5, "50.0% of abandoned")])
    assert heading.plain.splitlines()[0] == "what became of them:"


# --- the KPI screen --------------------------------------------------------------------------------------

def test_kpi_screen_shows_what_metrics_result_has_and_updates():
    run = cart_run()
    metrics = Metrics()
    half = len(run.events) // 2
    metrics(run.events[:half])
    app = KpiApp(run, metrics)

    async def body(pilot):
        screen = app.screen
        assert isinstance(screen, KpiScreen) and screen.live
        tile = screen.query_one("#kpi-recovery", KpiTile)
        res = metrics.result()
        assert tile.label == "attributed recovery"
        assert tile.value == rate(res["commerce"]["attributed_recovery_rate"])
        assert tile.note.startswith(f"organic {rate(res['commerce']['organic_recovery_rate'])}")
        abandonment = screen.query_one("#kpi-abandonment-rate", KpiTile)
        assert abandonment.value == rate(res["commerce"]["abandonment_rate"]) and "Baymard" in abandonment.note
        funnel = screen.query_one("#kpi-funnel", BarsChart).plain
        assert f"{res['commerce']['carts_abandoned']:,} carts abandoned" in funnel
        assert "reminder click (attributed)" in funnel and "on their own (organic)" in funnel
        metrics(run.events[half:])
        screen.refresh_kpis()  # what the timer does twice a second
        await pilot.pause()
        full = run.metrics.result()
        assert tile.value == rate(full["commerce"]["attributed_recovery_rate"])
        assert screen.query_one("#kpi-delivered", KpiTile).value == f"{full['messages']['delivered']:,}"
        reasons = screen.query_one("#kpi-reasons", BarsChart).plain
        top_reason = next(iter(full["messages"]["suppressed_by_reason"]))
        assert top_reason.replace("_", " ") in reasons
        devices = screen.query_one("#kpi-devices", TableChart).plain
        for device, kpi in full["commerce"]["by_device"].items():
            assert re.search(rf"^{device_words(device)}\s+{kpi['visits']:,}\s+{kpi['carts']:,}", devices, re.M)
        hourly = screen.query_one("#kpi-hourly", SeriesChart)
        assert list(hourly.series) == ["email", "push", "sms", "in_app"] and len(hourly.series["email"]) == 48
        assert hourly.series["push"] == full["series"]["hour"]["delivered_push"][-48:]
        assert "In-app" in hourly.plain and "in_app" not in hourly.plain
        # Another screen on top pauses the refresh; Escape (or k) goes back.
        app.push_screen(Screen())
        await pilot.pause()
        assert not screen.live
        app.pop_screen()
        await pilot.pause()
        assert screen.live
        await pilot.press("escape")
        assert app.screen is not screen

    drive(app, body)


def test_kpi_screen_shows_the_experiment_arms_and_verdicts():
    run = experiment_run()
    app = KpiApp(run)

    async def body(pilot):
        exp = run.metrics.result()["experiments"]["cart_incentive"]
        chart = app.screen.query_one(VariantsChart)
        text = chart.plain
        for arm in exp["variants"]:
            assert arm in text
        assert "holdout (control)" in text
        primary = [c for c in exp["comparisons"] if c["primary"]]
        assert [c["variant"] for c in primary] == ["reminder", "reminder_discount"]
        for c in primary:
            assert f"{c['diff'] * 100:+.1f} pp [{c['low'] * 100:+.1f}, {c['high'] * 100:+.1f}]" in text
        verdicts = str(app.screen.query_one(".kpi-verdicts").render())
        for c in primary:
            assert c["verdict"] in verdicts

    drive(app, body, size=SIZE)


# --- snapshots --------------------------------------------------------------------------------------------

def test_snapshot_feed_after_a_day_of_cart_recovery(snap_compare):
    run = cart_run()
    day = [ev for ev in run.events if ev.t <= DAY]
    assert snap_compare(FeedApp(run.sim, day), terminal_size=SIZE)


def test_snapshot_kpi_screen_of_the_experiment(snap_compare):
    assert snap_compare(KpiApp(experiment_run()), terminal_size=SIZE)


