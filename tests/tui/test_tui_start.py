"""The terminal app's start: the main screen comes at once over a preview of the run, whose shoppers are built
when first read, and then takes the run without losing what the user did meanwhile.

The build of the run is held (`hold_build`) while a test looks at the preview, so nothing races it; a shopper
the preview shows is compared with one built on its own by the population's builder, and with the run's."""

from __future__ import annotations

import asyncio
from pathlib import Path

import yaml
from textual.widgets import Checkbox, Static, TabbedContent

from shopsim.scenario.compiled import compile_scenario
from shopsim.sim.population import PopulationBuilder
from shopsim.tui.screens.main import MainScreen
from shopsim.tui.widgets.inbox import InboxPane
from shopsim.tui.widgets.settings import SettingsPane
from shopsim.tui.widgets.shopper_list import ShopperList, ShopperSearch
from shopsim.tui.widgets.shoppers import ShopperTable
from shopsim.tui.widgets.transport import Clock
from shopsim.validate import load_scenario

from helpers.tui import DEFAULT, SIZE, hold_build, new_app, wait_until

FAR = 99_876  # a shopper far down a list of 100k: no frame before a search or a jump draws her


def resized(tmp_path: Path, size: int) -> Path:
    data = yaml.safe_load(DEFAULT.read_text())
    data["population"]["size"] = size
    path = tmp_path / f"default-{size}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def on_its_own(path: Path, index: int):
    """Shopper `index` of the scenario at `path`, built by itself."""
    return PopulationBuilder(compile_scenario(load_scenario(path))).build(index)


async def preview_of(app, pilot) -> MainScreen:
    await wait_until(pilot, lambda: isinstance(app.screen, MainScreen) and app.screen.query(ShopperList),
                     "the main screen")
    await pilot.pause()
    main = app.screen
    assert main.preparing and app.main_screen is None and app.sim is None
    return main


def row_text(table: ShopperTable, row: int) -> str:
    return table.row_strip(row, 100, table.view).text


def test_a_large_population_shows_its_main_screen_with_only_the_rows_in_view_built(tmp_path) -> None:
    path = resized(tmp_path, 100_000)

    async def body() -> None:
        app = new_app(path)
        hold_build(app)
        async with app.run_test(size=SIZE) as pilot:
            main = await preview_of(app, pilot)
            table = main.query_one(ShopperTable)
            assert len(table.rows) == 100_000
            assert "100,000 shoppers" in table.footer_strip(100, table.view).text
            assert main.sim.shoppers.built < 200  # those drawn, not the population
            first = on_its_own(path, 0)
            assert first.name in row_text(table, 0)
            assert first.name in str(main.query_one("#inbox-title", Static).render())
            assert "loading" in main.query_one(Clock).text
    asyncio.run(body())


def test_a_shopper_far_down_the_preview_is_shown_and_selected_with_her_real_name(tmp_path) -> None:
    path = resized(tmp_path, 100_000)
    far = on_its_own(path, FAR)

    async def body() -> None:
        app = new_app(path)
        hold_build(app)
        async with app.run_test(size=SIZE) as pilot:
            main = await preview_of(app, pilot)
            table = main.query_one(ShopperTable)
            table.move_cursor(FAR)
            await pilot.pause()
            assert far.name in row_text(table, FAR)
            await pilot.press("enter")
            await wait_until(pilot, lambda: main.selected == FAR, "the far shopper to be selected")
            title = str(main.query_one("#inbox-title", Static).render())
            assert far.name in title and far.id in title and "0 messages" in title
            assert far.tz in main.query_one(Clock).text
            assert main.sim.shoppers.built < 300  # still only those drawn
    asyncio.run(body())


def test_search_finds_a_shopper_of_the_preview_by_name_and_by_id(tmp_path) -> None:
    path = resized(tmp_path, 100_000)
    far = on_its_own(path, FAR)

    async def body() -> None:
        app = new_app(path)
        hold_build(app)
        async with app.run_test(size=SIZE) as pilot:
            main = await preview_of(app, pilot)
            table = main.query_one(ShopperTable)
            await pilot.press("slash", *far.id)
            await wait_until(pilot, lambda: list(table.rows) == [FAR], "the search to find her by id")
            assert far.name in row_text(table, 0)
            await pilot.press("enter")
            await wait_until(pilot, lambda: main.selected == FAR, "her to be selected")
            assert far.name in str(main.query_one("#inbox-title", Static).render())
            # Her name, as the search reads it, is the one she was built with.
            assert table.apply_query(far.name) >= 1 and FAR in table.rows
    asyncio.run(body())


def test_the_run_arrives_under_what_the_user_did_meanwhile(tmp_path) -> None:
    async def body() -> None:
        app = new_app(DEFAULT)
        build = hold_build(app)
        async with app.run_test(size=SIZE) as pilot:
            main = await preview_of(app, pilot)
            preview = main.sim
            table = main.query_one(ShopperTable)
            await pilot.press("slash", *"s000242", "enter")
            await wait_until(pilot, lambda: main.selected == 241, "s000242 to be selected")
            await pilot.press("e")  # the settings tab, built from the preview's shopper
            settings = main.query_one(SettingsPane)
            await wait_until(pilot, lambda: settings.query("#flag-marketing_consent"), "the settings' controls")
            box = settings.query_one("#flag-marketing_consent", Checkbox)
            before = box.value
            box.value = not before  # a change the preview refuses, in words
            await wait_until(pilot, lambda: any("still being prepared" in n.message for n in app._notifications),
                             "the refusal")
            await wait_until(pilot, lambda: box.value == before, "the box to show the truth again")
            await pilot.press("d")  # a jump has to wait for the run
            assert any(n.message.startswith("Not yet") for n in app._notifications)
            await pilot.press("space")  # ...but play is remembered
            assert main.driver.playing and "loading" in main.query_one(Clock).text
            names = {i: preview.shoppers[i].name for i in (0, 1, 241)}
            built_241 = preview.shoppers[241]

            build()
            # The same screen, now the run's (playing, it may already be under the first narration callout).
            await wait_until(pilot, lambda: app.main_screen is main, "the run")
            sim = app.sim
            assert not main.preparing and main.sim is sim and main.driver is app.driver
            await wait_until(pilot, lambda: sim.now > 0, "the run to play, as space asked")
            assert main.selected == 241 and list(table.rows) == [241]
            assert main.query_one(ShopperSearch).value == "s000242"
            assert main.query_one("#shopper-tabs", TabbedContent).active == "tab-settings"
            assert {i: sim.shoppers[i].name for i in names} == names
            assert sim.shoppers[241].describe() == built_241.describe()
            assert preview.shoppers[5] is sim.shoppers[5]  # the preview reads the run's population once it exists
            for widget in main.walk_children():
                assert getattr(widget, "sim", sim) is sim, widget
                assert getattr(widget, "driver", app.driver) is app.driver, widget
            assert main.query_one(InboxPane).sim is sim and table.shoppers is sim.shoppers
    asyncio.run(body())
