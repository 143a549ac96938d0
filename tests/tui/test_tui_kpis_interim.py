"""The KPI screen's experiments while the run plays and once it has ended.

While it plays, each comparison is an interim look: the always-valid interval (shopsim/metrics/sequential.py),
labelled interim, with no ✓ or ✗ and no "higher" or "lower". The fixed-horizon 95% interval and its verdict
appear only when the run has reached its end. How often a daily look would "win" an A/A test is measured in
benchmarks/peeking.py."""

from __future__ import annotations

from pathlib import Path

from helpers.tui import DEFAULT, SIZE, new_app, open_main, quiet_narration, wait_until
from helpers.tui_harnesses import KpiApp, drive, experiment_run

from shopsim.contract.clock import DAY
from shopsim.metrics import sequential
from shopsim.metrics.kpis import Metrics
from shopsim.tui.clocktext import day_text
from shopsim.tui.interim import as_shown, interim_sentence, interim_word, is_final
from shopsim.tui.screens.kpis import KpiScreen
from shopsim.tui.widgets.charts import VariantsChart

EXPERIMENT = Path(DEFAULT).parent / "experiment.yaml"
NAME = "cart_incentive"


def _verdicts(screen) -> str:
    return str(screen.query_one(".kpi-verdicts").render())


def _primary(exp):
    return [c for c in exp["comparisons"] if c["primary"]]


def _interval(c) -> str:
    return f"{c['diff'] * 100:+.1f} pp [{c['low'] * 100:+.1f}, {c['high'] * 100:+.1f}]"


def _assert_interim(screen, metrics: Metrics, end: int) -> None:
    result = metrics.result()
    day = day_text(result["run"]["elapsed_ms"], end)  # the day of the latest event the KPIs have seen
    exp = sequential.interim_experiment(result["experiments"][NAME])
    verdicts, chart = _verdicts(screen), screen.query_one(VariantsChart)
    assert "✓" not in verdicts and "✗" not in verdicts
    for c in _primary(exp):
        assert f"Interim look, {day}:" in verdicts and "always-valid 95% interval" in verdicts
        assert _interval(c) in chart.plain  # the always-valid interval, not the fixed one
        assert c["fixed_verdict"] not in verdicts
    assert "always-valid 95% intervals (interim)" in chart.plain and ", 95% intervals" not in chart.plain
    for word in ("higher", "lower", "no difference"):
        assert f"  {word}" not in chart.plain and f"  {word}" not in verdicts
    assert f"interim look, {day}" in screen.query_one(".kpi-experiment").border_title


def _assert_final(screen, metrics: Metrics) -> None:
    exp = metrics.result()["experiments"][NAME]
    verdicts, chart = _verdicts(screen), screen.query_one(VariantsChart)
    assert "Interim" not in verdicts and "interim" not in chart.plain
    for c in _primary(exp):
        assert c["significant"] and c["diff"] > 0  # seed 7: both reminder arms beat the holdout at the end
        assert "✓ " + c["verdict"] in verdicts and _interval(c) in chart.plain
    assert "interim" not in screen.query_one(".kpi-experiment").border_title


def test_before_the_end_the_screen_shows_an_interim_look_and_the_verdict_once_the_run_has_ended():
    run = experiment_run()
    metrics = Metrics()
    cut = next(i for i, ev in enumerate(run.events) if ev.t > 5 * DAY)
    metrics(run.events[:cut])
    app = KpiApp(run, metrics)

    async def body(pilot):
        screen = app.screen
        assert not is_final(metrics.result(), run.sim.end)
        _assert_interim(screen, metrics, run.sim.end)
        metrics(run.events[cut:])  # the rest of the run, run.finished included
        screen.refresh_kpis()
        await pilot.pause()
        assert is_final(metrics.result(), run.sim.end)
        _assert_final(screen, metrics)
        await pilot.press("k")  # and back
        assert app.screen is not screen

    drive(app, body, size=SIZE)


def test_a_run_that_ended_before_its_planned_end_is_still_interim():
    run = experiment_run()
    result = dict(run.metrics.result())
    assert is_final(result, run.sim.end)
    result["run"] = {**result["run"], "elapsed_ms": run.sim.end - DAY}
    assert not is_final(result, run.sim.end)
    exp = as_shown(result["experiments"][NAME], final=False)
    assert all(c["interim"] for c in exp["comparisons"] + exp.get("pairs", []))


def test_interim_words_never_say_higher_or_lower():
    base = {"metric": "recovery", "variant": "b", "control_name": "a", "enough": True, "interim": True}
    ahead = {**base, "diff": 0.08, "low": 0.01, "high": 0.15, "significant": True}
    level = {**base, "diff": 0.01, "low": -0.05, "high": 0.07, "significant": False}
    few = {**base, "diff": 0.2, "low": -0.5, "high": 0.9, "enough": False, "significant": False}
    assert [interim_word(c) for c in (ahead, level, few)] == ["above so far", "interim", "too few"]
    assert interim_sentence(ahead, "day 3/14") == (
        "Interim look, day 3/14: b's recovery is +8.0 pp above a's so far, and even the always-valid 95% "
        "interval +1.0 pp to +15.0 pp leaves out 0. The verdict comes when the run ends.")
    assert interim_sentence(level, "day 3/14").endswith(
        "(always-valid 95% interval -5.0 pp to +7.0 pp). No verdict before the run ends.")
    assert "too few shoppers yet" in interim_sentence(few, "day 1/14")
    money = {**level, "metric": "revenue_per_shopper", "diff": 0.5, "low": -1.25, "high": 2.25}
    assert "+0.50 USD against a's (always-valid 95% interval -1.25 USD to +2.25 USD)" in interim_sentence(
        money, "day 2/14", "USD")


def test_playing_the_experiment_the_kpi_screen_is_interim_until_the_last_day():
    """The whole app, by its keys: two days' jumps, the KPI screen (k), back to the run (Back, clicked), to
    the end of the run day by day, and the KPI screen again."""
    import asyncio

    async def body() -> None:
        app = new_app(EXPERIMENT)
        async with app.run_test(size=SIZE) as pilot:
            await open_main(app, pilot)
            quiet_narration(app)

            async def jump_day() -> None:
                await pilot.press("d")
                await wait_until(pilot, lambda: not app.driver.busy, "a day's jump", 120)

            for _ in range(2):
                await jump_day()
            await pilot.press("k")
            await wait_until(pilot, lambda: isinstance(app.screen, KpiScreen) and app.screen.result is not None
                             and app.screen.query(VariantsChart), "the KPI screen with its experiment")
            await pilot.pause()
            _assert_interim(app.screen, app.metrics, app.sim.end)
            await pilot.click("FooterKey")  # the footer's first key: Back
            await wait_until(pilot, lambda: app.screen is app.main_screen, "the main screen again")
            while not app.sim.finished:
                await jump_day()
            await pilot.press("k")
            await wait_until(pilot, lambda: isinstance(app.screen, KpiScreen) and app.screen.result is not None
                             and app.screen.query(VariantsChart), "the KPI screen at the end")
            await pilot.pause()
            _assert_final(app.screen, app.metrics)

    asyncio.run(body())


def test_snapshot_kpi_screen_of_the_experiment_mid_run(snap_compare):
    run = experiment_run()
    metrics = Metrics()
    metrics([ev for ev in run.events if ev.t <= 5 * DAY])
    assert snap_compare(KpiApp(run, metrics), terminal_size=SIZE)
