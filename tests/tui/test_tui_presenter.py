"""Presenter mode, for a projector: a big clock, a high-contrast theme, fewer blocks, and narration callouts
that never cover the inbox or the preview of the message they talk about."""

from __future__ import annotations

import asyncio

import pytest
from helpers.tui import DEFAULT, new_app, open_main, wait_until
from textual.color import Color
from textual.widgets import Digits

from shopsim.tui.screens.narration import NarrationScreen
from shopsim.tui.themes import PROJECTOR
from shopsim.tui.widgets.bigclock import BigClock


def run(coro) -> None:
    asyncio.run(coro)


def luminance(color: Color) -> float:
    """WCAG 2 relative luminance."""
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    return 0.2126 * channel(color.r) + 0.7152 * channel(color.g) + 0.0722 * channel(color.b)


def contrast(a: Color, b: Color) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_the_projector_theme_has_aaa_contrast() -> None:
    """Every colour text is drawn in against every background it is drawn on: at least 7:1 (WCAG AAA)."""
    text = [PROJECTOR.foreground, PROJECTOR.accent, PROJECTOR.primary, PROJECTOR.secondary, PROJECTOR.success,
            PROJECTOR.warning, PROJECTOR.error, PROJECTOR.variables["text-muted"]]
    for background in (PROJECTOR.background, PROJECTOR.surface, PROJECTOR.panel):
        for colour in text:
            ratio = contrast(Color.parse(colour), Color.parse(background))
            assert ratio >= 7, f"{colour} on {background}: {ratio:.1f}:1"
    cursor = contrast(Color.parse(PROJECTOR.variables["block-cursor-foreground"]),
                      Color.parse(PROJECTOR.variables["block-cursor-background"]))
    assert cursor >= 7


def test_presenter_mode_from_the_palette_shows_the_big_clock_and_the_projector_theme() -> None:
    async def body() -> None:
        app = new_app(DEFAULT)
        async with app.run_test(size=(160, 48)) as pilot:
            main = await open_main(app, pilot)
            big = main.query_one(BigClock)
            assert not big.display and app.theme == "textual-dark"
            await pilot.press("ctrl+p", *"presenter", "enter")
            await wait_until(pilot, lambda: app.presenter and big.display, "presenter mode")
            await pilot.pause()
            assert app.theme == PROJECTOR.name
            assert big.region.height == 3 and big.region.width > 100
            assert main.query_one("#shopper-search").display is False
            assert str(big.query_one(Digits).value) == "00:00"
            app.driver.narrator.enabled = False
            await pilot.press("h")
            await wait_until(pilot, lambda: str(big.query_one(Digits).value) == "01:00", "the big clock at 01:00")
            await pilot.press("ctrl+p", *"presenter", "enter")
            await wait_until(pilot, lambda: not app.presenter, "presenter mode off")
            await pilot.pause()
            assert app.theme == "textual-dark" and not big.display

    run(body())


@pytest.mark.parametrize("size", [(100, 30), (160, 48)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_callout_never_covers_the_inbox_it_talks_about(size) -> None:
    async def body() -> None:
        app = new_app(DEFAULT, presenter=True)
        async with app.run_test(size=size) as pilot:
            main = await open_main(app, pilot)
            fired = 0
            while fired < 3:  # the first steps of the default lesson, those about a shopper's messages too
                await pilot.press("space")
                await wait_until(pilot, lambda: isinstance(app.screen, NarrationScreen), "a callout")
                await pilot.pause()
                callout = app.screen.query_one("#callout").region
                for selector in ("#shopper-tabs", "#inbox-list", "#inbox-preview"):
                    pane = main.query_one(selector).region
                    assert not callout.overlaps(pane), f"the callout {callout} covers {selector} {pane}"
                await pilot.press("escape")
                await wait_until(pilot, lambda: app.screen is main, "the main screen")
                fired += 1

    run(body())


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (160, 48)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_outside_presenter_mode_too_a_callout_leaves_the_inbox_in_sight(size) -> None:
    async def body() -> None:
        app = new_app(DEFAULT)
        async with app.run_test(size=size) as pilot:
            main = await open_main(app, pilot)
            await pilot.press("2", "z")  # zoomed on the inbox: a step brings the shoppers list back to stand on
            await pilot.press("space")
            await wait_until(pilot, lambda: isinstance(app.screen, NarrationScreen), "a callout")
            await pilot.pause()
            assert main.zoomed is None
            callout = app.screen.query_one("#callout").region
            inbox = main.query_one("#shopper-tabs").region
            assert not callout.overlaps(inbox) and callout.width >= 24
            assert callout.bottom <= size[1] - 1  # the footer stays

    run(body())


def test_presenter_kpi_tiles_are_large_type() -> None:
    from shopsim.tui.screens.kpis import KpiScreen, KpiTile

    async def body() -> None:
        app = new_app(DEFAULT, presenter=True)
        async with app.run_test(size=(160, 48)) as pilot:
            await open_main(app, pilot)
            app.driver.narrator.enabled = False
            await pilot.press("d")
            await wait_until(pilot, lambda: not app.driver.busy, "the day's jump")
            await pilot.press("k")
            await wait_until(pilot, lambda: isinstance(app.screen, KpiScreen) and app.screen.result is not None,
                             "the KPI screen")
            await pilot.pause()
            shown = [t for t in app.screen.query(KpiTile) if t.display]
            assert shown and all(t.large for t in shown), [(t.id, t.large) for t in shown]
            assert all(t.region.height == 5 for t in shown), [(t.id, t.region) for t in shown]
            assert len(shown) < len(app.screen.query(KpiTile))  # fewer, larger: the minor tiles go
            tile = app.screen.query_one("#kpi-abandonment-rate", KpiTile)
            lines = [strip.text for strip in tile.render_lines(tile.region.reset_offset)]
            assert any("╺━┓" in line or "┏━┓" in line or "━" in line for line in lines[1:4])  # drawn in digits
            await pilot.press("escape")
            await pilot.press("ctrl+p", *"presenter", "enter")
            await wait_until(pilot, lambda: not app.presenter, "presenter off")
            await pilot.press("k")
            await wait_until(pilot, lambda: isinstance(app.screen, KpiScreen) and app.screen.result is not None,
                             "the KPI screen again")
            await pilot.pause()
            assert not app.screen.query_one("#kpi-abandonment-rate", KpiTile).large

    run(body())
