"""Snapshots of the main screen and of presenter mode at the three sizes the app is designed for: 80×24 (a laptop
split), 100×30 and 160×48. The 160×48 main screen is the README's screenshot (its SVG is referenced there), so the
picture users see first is the app as it is."""

from __future__ import annotations

import pytest
from helpers.paths import ROOT
from helpers.tui import ARNAUDE, DEFAULT, day_one_with_arnaude, flush_panes, new_app, open_main, wait_until

from shopsim.tui.screens.narration import NarrationScreen

SIZES = [(80, 24), (100, 30), (160, 48)]


async def feed_at_its_end(pilot) -> None:
    """The feed scrolls to its last line after the next refresh: on a busy machine a picture could catch it
    before that."""
    from shopsim.tui.widgets.feed import LiveFeed

    feed = pilot.app.main_screen.query_one(LiveFeed)
    await wait_until(pilot, lambda: not feed.display or not feed.region.height or not feed.following
                     or feed.scroll_y == feed.max_scroll_y, "the feed's end")
    await pilot.pause()
ids = lambda s: f"{s[0]}x{s[1]}"  # noqa: E731


@pytest.mark.parametrize("size", SIZES, ids=ids)
def test_snapshot_main_screen(snap_compare, size) -> None:
    """Day one of the default scenario, paused, Arnaude Devaux (s000242) selected, her newest message previewed."""
    async def before(pilot) -> None:
        await day_one_with_arnaude(pilot)
        assert pilot.app.main_screen.selected == ARNAUDE
        await feed_at_its_end(pilot)

    assert snap_compare(new_app(DEFAULT), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=ids)
def test_snapshot_presenter_mode(snap_compare, size) -> None:
    """Presenter mode on the default lesson's first callout: the big clock, the projector theme, the callout
    standing over the shoppers list."""
    async def before(pilot) -> None:
        app = pilot.app
        await open_main(app, pilot)
        await pilot.press("space")
        await wait_until(pilot, lambda: isinstance(app.screen, NarrationScreen), "the first callout")
        flush_panes(app.main_screen)
        await pilot.pause()
        await feed_at_its_end(pilot)

    assert snap_compare(new_app(DEFAULT, presenter=True), terminal_size=size, run_before=before)


def test_the_readme_shows_this_snapshot_and_names_every_lesson() -> None:
    """The README's screenshot is the 160×48 snapshot above, and its list of lessons is the shipped one."""
    import re
    from urllib.parse import unquote

    import yaml

    root = ROOT
    readme = (root / "README.md").read_text()
    images = [unquote(m) for m in re.findall(r"!\[[^\]]*\]\(([^)]+\.svg)\)", readme)]
    assert "tests/tui/__snapshots__/test_tui_snapshots/test_snapshot_main_screen[160x48].svg" in images
    assert all((root / image).is_file() for image in images)
    lessons = sorted(p.stem for p in (root / "scenarios").glob("*.yaml")
                     if yaml.safe_load(p.read_text()).get("narration"))
    section = readme[readme.index("- **Lessons**"):readme.index("Transport:")]
    named = sorted(set(re.findall(r"`([a-z_]+)`", section)) & {p.stem for p in (root / "scenarios").glob("*.yaml")})
    assert named == lessons
    words = {6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten", 11: "eleven", 12: "twelve"}
    assert f"{words.get(len(lessons), len(lessons))} scenarios carry" in section
