"""The picker, errors and help screens, the command palette provider, and `shopsim serve`.

Pilot tests run in `asyncio.run` (no pytest-asyncio here); each drives a small harness app."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.command import CommandPalette
from textual.screen import Screen
from textual.widgets import Input, OptionList, Static

from helpers.paths import ROOT
from helpers.scenarios import tiny_scenario
from helpers.tui import SIZE
from shopsim.cli import main
from shopsim.validate import load_scenario
from shopsim.scenario.problems import ScenarioError
from shopsim.simulation import Simulation
from shopsim.tui.commands import ShopsimCommands
from shopsim.tui.messages import ShopperSelected
from shopsim.tui.screens.errors import ErrorsScreen, OpenPicker
from shopsim.tui.screens.help import HelpScreen, binding_groups
from shopsim.tui.screens.narration import NarrationScreen
from shopsim.tui.narrator import Hit
from shopsim.scenario.teaching import NarrationStep
from shopsim.tui.screens.picker import PickerScreen, ScenarioChosen, scenario_entries

SCENARIOS = ROOT / "scenarios"
UNKNOWN_KEY = Path("tests/fixtures/invalid/unknown_key.yaml")


def run(coro) -> None:
    asyncio.run(coro)


def plain(widget: Static) -> str:
    return str(widget.content)


# --- harness apps --------------------------------------------------------------------------------------


class PickerApp(App):
    def __init__(self, dirs: list[Path] | None = None) -> None:
        super().__init__()
        self.dirs = dirs
        self.chosen: list[Path] = []

    def on_mount(self) -> None:
        self.push_screen(PickerScreen(self.dirs))

    def on_scenario_chosen(self, message: ScenarioChosen) -> None:
        self.chosen.append(message.path)


def errors_for(path: Path) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return info.value


class ErrorsApp(App):
    def __init__(self, error: ScenarioError, path: Path) -> None:
        super().__init__()
        self.error, self.path = error, path
        self.opened = 0
        self.chosen: list[Path] = []

    def on_mount(self) -> None:
        self.push_screen(ErrorsScreen(self.error, self.path))

    def on_open_picker(self, _message: OpenPicker) -> None:
        self.opened += 1

    def on_scenario_chosen(self, message: ScenarioChosen) -> None:
        self.chosen.append(message.path)


class Pane(Static, can_focus=True):
    BINDINGS = [Binding("w", "why", "Why this message?"), Binding("r", "mark_read", "Mark as read")]


class Main(Screen):
    BINDINGS = [Binding("space", "app.toggle_play", "Play/pause"), Binding("n", "app.step", "Next event"),
                Binding("plus,equals_sign", "app.faster", "Faster", key_display="+")]
    HELP = "The main screen: shoppers on the left, the inbox in the middle."

    def compose(self) -> ComposeResult:
        yield Pane("inbox")


class HarnessApp(App):
    """An app with a few bindings, the command list and a small simulation, like the real one."""

    COMMANDS = App.COMMANDS | {ShopsimCommands}
    BINDINGS = [Binding("question_mark", "help", "Help", key_display="?"), Binding("q", "quit", "Quit")]
    COMMANDS_LIST = [("Play / pause", "Start or stop the virtual clock", "toggle_play"),
                     ("Jump one day", "Advance the clock by a day", "jump_day"),
                     ("Show KPIs", "The KPI screen", "kpis")]

    def __init__(self, sim: Simulation | None = None) -> None:
        super().__init__()
        self.sim = sim
        self.ran: list[str] = []
        self.selected: list[int] = []

    def on_mount(self) -> None:
        self.push_screen(Main())

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_toggle_play(self) -> None:
        self.ran.append("toggle_play")

    def action_jump_day(self) -> None:
        self.ran.append("jump_day")

    def action_kpis(self) -> None:
        self.ran.append("kpis")

    def on_shopper_selected(self, message: ShopperSelected) -> None:
        self.selected.append(message.index)


async def settle(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    from textual.widgets import Input

    for box in pilot.app.screen.query(Input):  # a blinking cursor would be caught on or off at random
        box.cursor_blink = False
    await pilot.pause()


# --- the picker ----------------------------------------------------------------------------------------


def test_scenario_entries_list_shipped_scenarios_and_mark_invalid_files(tmp_path) -> None:
    (tmp_path / "default.yaml").write_text((ROOT / "tests/fixtures/minimal.yaml").read_text())
    (tmp_path / "broken.yaml").write_text((ROOT / UNKNOWN_KEY).read_text())
    entries = scenario_entries([tmp_path, SCENARIOS])
    by_file = {(e.path.parent, e.path.name): e for e in entries}
    # A file in the first folder hides the shipped file of the same name, as `shopsim scenarios` does.
    assert (tmp_path, "default.yaml") in by_file and (SCENARIOS, "default.yaml") not in by_file
    broken = by_file[(tmp_path, "broken.yaml")]
    assert not broken.valid and broken.problems == 1
    assert broken.first_problem == "run.duraton: unknown key 'duraton'; did you mean 'duration'?"
    quiet = by_file[(SCENARIOS, "quiet_hours.yaml")]
    assert quiet.valid and quiet.size == 60 and quiet.duration == "4d" and "time zones" in quiet.description


def test_picker_lists_filters_and_chooses() -> None:
    async def body() -> None:
        app = PickerApp([SCENARIOS])
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, PickerScreen)
            names = [e.name for e in screen.shown]
            assert {"default", "quiet_hours", "flash_sale"} <= set(names)
            text = "\n".join(str(screen.option_list.get_option_at_index(i).prompt)
                             for i in range(screen.option_list.option_count))
            assert "One week of a 2,000-shopper cross-border marketplace" in text
            assert screen.highlighted_entry.name == "default"  # the default is highlighted first

            await pilot.press(*"quiet_")
            assert [e.name for e in screen.shown] == ["quiet_hours"]
            assert "1 of " in plain(screen.query_one("#picker-status", Static))
            await pilot.press("enter")
            await pilot.pause()
            assert app.chosen == [SCENARIOS / "quiet_hours.yaml"]

            await pilot.press("escape")  # clears the filter
            assert screen.query_one(Input).value == "" and len(screen.shown) == len(names)
            await pilot.press(*"zzzz")
            assert screen.shown == [] and "No scenario matches" in plain(screen.query_one("#picker-status"))
    run(body())


def test_picker_arrow_keys_move_and_an_invalid_file_can_be_chosen(tmp_path) -> None:
    (tmp_path / "a_good.yaml").write_text((ROOT / "tests/fixtures/minimal.yaml").read_text())
    (tmp_path / "b_broken.yaml").write_text((ROOT / UNKNOWN_KEY).read_text())

    async def body() -> None:
        app = PickerApp([tmp_path])
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            screen = app.screen
            assert [e.path.name for e in screen.shown] == ["a_good.yaml", "b_broken.yaml"]
            prompt = str(screen.option_list.get_option_at_index(1).prompt)
            assert "invalid" in prompt and "unknown key 'duraton'" in prompt
            await pilot.press("down", "enter")
            await pilot.pause()
            assert app.chosen == [tmp_path / "b_broken.yaml"]  # the app then shows its problems
    run(body())


def test_picker_snapshot(snap_compare, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)  # files are shown relative to the current folder
    assert snap_compare(PickerApp([SCENARIOS]), terminal_size=SIZE, run_before=settle)


# --- the narration callout -----------------------------------------------------------------------------


class CalloutApp(App):
    """A long narration step over an empty screen, as the main screen pushes it."""

    def __init__(self, words: int = 237) -> None:  # 237 words: 1,193 characters, about the longest text allowed
        super().__init__()
        self.step = NarrationStep(at="1h", title="{carts} carts", text=" ".join(["word"] * words) + " THE END.")
        self.dismissed: list[bool | None] = []
        self.animation_level = "none"  # 'end' scrolls at once: a smooth scroll would race the assertion under load

    def on_mount(self) -> None:
        hit = Hit(0, self.step, 3_600_000, None, None)
        self.push_screen(NarrationScreen(hit, 1, 3, "Mon 2 Mar, 01:00 · someone", title="1,405 carts",
                                         text=self.step.text), self.dismissed.append)


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (160, 48)])
def test_a_long_narration_step_fits_the_terminal_and_scrolls(size) -> None:
    async def body() -> None:
        app = CalloutApp()
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, NarrationScreen)
            callout, hint = screen.query_one("#callout"), screen.query_one("#hint", Static)
            # The filled-in title is shown, not the step as written; the hint and the footer row stay in sight.
            assert plain(screen.query_one("#title", Static)) == "1,405 carts"
            assert callout.region.y >= 3 and callout.region.bottom <= size[1] - 1
            assert hint.region.bottom <= callout.region.bottom and hint.region.height > 0
            assert plain(hint).startswith("step 1 of 3")
            if size[1] < 48:  # the longest text does not fit: it scrolls under the hint
                assert callout.max_scroll_y > 0
                await pilot.press("end")
                await pilot.pause()
                assert callout.scroll_y == callout.max_scroll_y
            else:
                assert callout.max_scroll_y == 0
            await pilot.press("space")  # space still carries on
            assert app.dismissed == [True]
    run(body())


def test_q_quits_from_the_narration_callout() -> None:
    async def body() -> None:
        app = CalloutApp(words=5)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, NarrationScreen)
            assert app.screen.query_one("#callout").max_scroll_y == 0  # a short step does not scroll
            await pilot.press("q")
            await pilot.pause()
            assert not app.is_running
    run(body())


# --- the errors screen ---------------------------------------------------------------------------------


def test_errors_screen_lists_every_problem_like_validate() -> None:
    err = errors_for(UNKNOWN_KEY)

    async def body() -> None:
        app = ErrorsApp(err, UNKNOWN_KEY)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, ErrorsScreen)
            assert plain(screen.query_one("#errors-title", Static)) == "This scenario has 1 problem"
            lines = [plain(s) for s in screen.query(".problem").results(Static)]
            assert lines == [str(p) for p in err.problems] == screen.lines
            assert lines[0].endswith("unknown_key.yaml:5:3: run.duraton: unknown key 'duraton'; "
                                     "did you mean 'duration'?")
            await pilot.press("o")
            await pilot.press("enter")
            await pilot.press("r")
            await pilot.pause()
            assert app.opened == 2 and app.chosen == [UNKNOWN_KEY]
            await pilot.press("q")
        assert app.return_code == 0  # q quits cleanly
    run(body())


def test_errors_screen_counts_many_problems() -> None:
    err = errors_for(ROOT / "tests/fixtures/invalid/shares_not_one.yaml")
    n = len(err.problems)
    from shopsim.tui.screens.errors import problems_title
    assert problems_title(err) == f"This scenario has {n} problem{'s' if n != 1 else ''}"


def test_errors_snapshot(snap_compare, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    path = Path("tests/fixtures/invalid/unknown_key.yaml")
    err = ScenarioError(errors_for(path).problems + errors_for(Path("tests/fixtures/invalid/unknown_reason.yaml"))
                        .problems)
    assert snap_compare(ErrorsApp(err, path), terminal_size=SIZE)


# --- help ----------------------------------------------------------------------------------------------


def test_help_lists_the_bindings_of_the_screen_its_widgets_and_the_app() -> None:
    async def body() -> None:
        app = HarnessApp()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            groups = dict(binding_groups(app.screen, app))
            assert groups["Main"] == [("space", "Play/pause"), ("n", "Next event"), ("+", "Faster")]
            assert groups["Pane"] == [("w", "Why this message?"), ("r", "Mark as read")]
            everywhere = dict((text, keys) for keys, text in groups["Everywhere"])
            assert everywhere["Help"] == "?" and everywhere["Quit"].split() == ["^q", "q"]
            assert "Command palette: every command by name" in everywhere

            await pilot.press("question_mark")
            help_screen = app.screen
            assert isinstance(help_screen, HelpScreen)
            text = "\n".join(plain(s) for s in help_screen.query(Static).results(Static))
            for expected in ("Main", "Play/pause", "Why this message?", "Everywhere", "Faster",
                             "The main screen: shoppers on the left"):
                assert expected in text
            await pilot.press("question_mark")
            assert isinstance(app.screen, Main)
            await pilot.press("question_mark")
            await pilot.press("escape")
            assert isinstance(app.screen, Main)
    run(body())


# --- the command palette -------------------------------------------------------------------------------


async def palette(pilot, text: str) -> None:
    await pilot.press("ctrl+p")
    assert isinstance(pilot.app.screen, CommandPalette)
    await pilot.press(*text)
    await pilot.app.workers.wait_for_complete()
    await pilot.press("down", "enter")
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_palette_runs_an_app_action_found_by_fuzzy_text() -> None:
    async def body() -> None:
        app = HarnessApp()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await palette(pilot, "jmp day")
            assert app.ran == ["jump_day"]
            await palette(pilot, "kpis")
            assert app.ran == ["jump_day", "kpis"]
            assert not isinstance(app.screen, CommandPalette)
    run(body())


def test_palette_selects_a_shopper_by_name_or_id() -> None:
    sim = Simulation(tiny_scenario(size=30))

    async def body() -> None:
        app = HarnessApp(sim)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            target = sim.shoppers[17]
            await palette(pilot, target.name)
            assert app.selected == [17]
            await palette(pilot, "s000005")
            assert app.selected == [17, 4]
    run(body())


def test_palette_provider_without_a_simulation_or_a_command_list() -> None:
    class Bare(App):
        COMMANDS = {ShopsimCommands}

    async def body() -> None:
        app = Bare()
        async with app.run_test() as pilot:
            provider = ShopsimCommands(app.screen)
            assert [h async for h in provider.search("anything")] == []
            assert [h async for h in provider.discover()] == []
            await pilot.pause()
    run(body())


# --- shopsim serve -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_serves_the_app_page_on_localhost() -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "shopsim", "serve", "quiet_hours", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120  # a bound on waiting (a busy machine starts it slowly), not a timing test
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    status, page = response.status, response.read().decode()
                break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None, proc.stdout.read().decode()
                assert time.monotonic() < deadline, "the server never answered"
                time.sleep(0.1)
        assert status == 200
        assert "<html" in page.lower() and f"ws://127.0.0.1:{port}/ws" in page
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def test_serve_rejects_a_bad_scenario_before_serving() -> None:
    result = CliRunner().invoke(main, ["serve", str(ROOT / UNKNOWN_KEY), "--port", str(free_port())])
    assert result.exit_code == 2
    assert "unknown_key.yaml:5:3: run.duraton: unknown key 'duraton'; did you mean 'duration'?" in result.output
    assert "Serving" not in result.output


def test_serve_app_command_runs_shopsim_run_with_this_python() -> None:
    from shopsim.cli.serve import app_command
    cmd = app_command("/tmp/my scenarios/x.yaml", seed=3)
    assert cmd.startswith(sys.executable) and "-m shopsim run" in cmd and "--seed 3" in cmd
    assert "'/tmp/my scenarios/x.yaml'" in cmd or '"/tmp/my scenarios/x.yaml"' in cmd
