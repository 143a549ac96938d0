"""The KPI screen at every terminal size: 80×24, 100×30 and 160×48 show the headline tiles and the funnel
on the first screen, in words, with differences in pp and never a signed zero."""

from __future__ import annotations

import re

import pytest

from shopsim.tui.screens.kpis import KpiTile, funnel_bars
from shopsim.tui.widgets.charts import BarsChart, SeriesChart, TableChart

from helpers.tui_harnesses import KpiApp, drive, experiment_run


def test_funnel_bars_narrow_along_the_main_path_and_branches_add_up():
    result = experiment_run().metrics.result()
    c = result["commerce"]
    bars = funnel_bars(result)
    main = [value for label, value, _, colour in bars if colour is None and value is not None]
    assert len(main) == 3 and main == sorted(main, reverse=True) and main[0] == c["carts"]
    split = bars[-4:]
    assert sum(value for _, value, _, _ in split) == c["carts_abandoned"]
    assert all("of abandoned" in note for _, _, note, _ in split)


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (160, 48)])
def test_kpi_screen_fits_every_terminal_size_in_words(size):
    run = experiment_run()
    app = KpiApp(run)

    async def body(pilot):
        screen = app.screen
        shown = [tile for tile in screen.query(KpiTile) if tile.display]
        assert shown[0].id == "kpi-recovery" and shown[1].id == "kpi-abandonment-rate"
        assert all(tile.region.right <= size[0] for tile in shown)
        if size[0] < 100:
            assert len(shown) < len(screen.query(KpiTile))  # the minor tiles make room for the funnel
        funnel = screen.query_one("#kpi-funnel", BarsChart)
        assert funnel.region.y < size[1] - 2  # the funnel starts on the first screen
        text = "\n".join([funnel.plain, screen.query_one("#kpi-devices", TableChart).plain,
                          screen.query_one("#kpi-reasons", BarsChart).plain,
                          screen.query_one("#kpi-hourly", SeriesChart).plain,
                          *(f"{t.label} {t.value} {t.note}" for t in shown)])
        for width_line in (funnel.plain.splitlines()):
            assert len(width_line) <= funnel.size.width
        assert not re.search(r"\b[a-z]+_[a-z_]+\b", text), re.findall(r"\b[a-z]+_[a-z_]+\b", text)
        assert "-0.0" not in text and "−0.0" not in text

    drive(app, body, size=size)
