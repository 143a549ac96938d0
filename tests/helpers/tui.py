"""Driving the whole terminal app with Textual's pilot: make it, wait through the loading screen, wait for a
state without sleeping, and bring it to a known picture (day one, Arnaude Devaux's messages selected).

Nothing waits a fixed time: `wait_until` polls the app's state with `await pilot.pause()` (which waits for the
app to go idle) within a generous bound, and fails with what it was waiting for. Pilot tests run in
`asyncio.run` (no pytest-asyncio here)."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Awaitable, Callable

from textual.widgets import Static

from helpers.paths import SCENARIOS
from shopsim.tui.app import ShopsimApp, make_app
from shopsim.tui.messages import ShopperSelected
from shopsim.tui.screens.main import MainScreen
from shopsim.tui.widgets.feed import LiveFeed
from shopsim.tui.widgets.inbox import InboxPane
from shopsim.tui.widgets.shoppers import ShopperTable
from shopsim.tui.widgets.transport import Clock

DEFAULT = SCENARIOS / "default.yaml"
SIZE = (160, 48)
LIMIT_S = 120  # a bound on any one wait, far above what it takes even on a loaded CI machine: a hang fails instead of blocking the run
ARNAUDE = 241  # s000242, Arnaude Devaux in Paris: an order, its emails and in-app messages, a cart reminder by day 1


def pilot_test(fn: Callable[[], Awaitable[None]]) -> Callable[[], None]:
    """Run an async pilot test on its own event loop (no async plugin needed)."""
    def test() -> None:
        asyncio.run(fn())
    test.__name__, test.__doc__ = fn.__name__, fn.__doc__
    return test


def new_app(scenario: Path | None, **kwargs) -> ShopsimApp:
    app = make_app(scenario, **kwargs)
    app.animation_level = "none"  # no tab underline glides: the pilot would wait for them
    return app


def hold_build(app: ShopsimApp) -> Callable[[], None]:
    """Keep `app` from building its run: its main screen stays on the preview (nothing races the test). The
    function returned starts the build the app asked for."""
    asked: list[tuple] = []
    app._build = lambda *args: asked.append(args)  # shadows the worker method, on this instance only

    def release() -> None:
        del app._build
        assert asked, "the app never asked for its run"
        app._build(*asked[-1])
    return release


async def wait_until(pilot, cond: Callable[[], object], what: str, limit_s: float = LIMIT_S) -> None:
    """Poll `cond` between pauses (each waits for the app to go idle) until it holds; fail after `limit_s`."""
    deadline = time.monotonic() + limit_s
    while not cond():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        await pilot.pause()


async def open_main(app: ShopsimApp, pilot) -> MainScreen:
    """Wait through the preview of the run for the MainScreen of the loaded scenario, showing its run."""
    await wait_until(pilot, lambda: isinstance(app.screen, MainScreen) and app.screen is app.main_screen,
                     "the main screen")
    await pilot.pause()
    return app.main_screen


def quiet_narration(app: ShopsimApp) -> None:
    """Mark every `narration:` step as shown: the run never stops for a callout."""
    narrator = app.driver.narrator
    narrator.fired.update(range(len(narrator.steps)))


def clock_text(app: ShopsimApp) -> str:
    return app.main_screen.query_one(Clock).text


def utc_label(app: ShopsimApp) -> str:
    """What the clock shows for the simulation's virtual time, e.g. 'Mon 02 Mar 00:09 UTC'."""
    sim = app.sim
    utc = datetime.fromtimestamp((sim.scenario.start_epoch + sim.now) / 1000, timezone.utc)
    return f"{utc:%a %d %b %H:%M} UTC"


async def settle(app: ShopsimApp, pilot) -> None:
    """Wait until a jump or step is done and the main screen has caught up: the clock shows the final time."""
    await wait_until(pilot, lambda: not app.driver.busy and utc_label(app) in clock_text(app)
                     and ("paused" in clock_text(app) or "finished" in clock_text(app)),
                     "the work to finish and the clock to show it")


def flush_panes(main: MainScreen) -> None:
    """Draw what the panes' timers would draw within a quarter of a second."""
    main.query_one(ShopperTable).flush_updates()
    main.query_one(InboxPane).flush_updates()
    main.query_one(LiveFeed).flush()


def texts(screen) -> str:
    return "\n".join(str(w.render()) for w in screen.query(Static))


async def day_one_with_arnaude(pilot) -> None:
    """The default scenario after `d` (narration off), paused, with s000242 (Arnaude Devaux, messages) selected."""
    app = pilot.app
    main = await open_main(app, pilot)
    quiet_narration(app)
    await pilot.press("d")
    await settle(app, pilot)
    main.post_message(ShopperSelected(ARNAUDE))
    await wait_until(pilot, lambda: main.selected == ARNAUDE, "s000242 to be selected")
    flush_panes(main)
    await pilot.pause()
    assert not app.driver.busy and "paused" in clock_text(app)
