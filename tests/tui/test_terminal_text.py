"""Text from a scenario reaches terminals shown, never obeyed.

A title, a body, a description or a key may hold ESC sequences (clear the screen, set the window title)
or C1 controls. Every command that prints such text (`inbox`, `explain`, `report`, `scenarios`,
`validate`) and the terminal app show them as visible stand-ins (ESC as ␛); the event log keeps the text
as rendered.
"""

from __future__ import annotations

import asyncio

import orjson
import pytest
from click.testing import CliRunner
from textual.app import App, ComposeResult

from shopsim.cli import main
from shopsim.scenario.compiled import compile_scenario
from shopsim.validate import load_scenario_text
from shopsim.simulation import Simulation
from shopsim.textsafe import visible

HOSTILE = "\x1b]0;PWNED\x07\x1b[2J\x9b31m\x7f"  # set the title, clear the screen, a C1 CSI, DEL
SCENARIO = f"""schema_version: 1
run: {{name: esc, seed: 1, duration: 1d, description: "Sale {HOSTILE} today"}}
population: {{size: 2, locales: {{en_US: {{share: 1.0}}}}, consent: {{marketing_consent: 1.0}},
             reach: {{email_verified: 1.0}}}}
catalogue: {{products: 10, stores: 2}}
events:
  - {{at: 10h, shopper: s000001, notify: {{category: promotions, channels: [email, in_app],
      title: "Hi {HOSTILE} there", text: "body {HOSTILE} end"}}}}
""".encode("unicode_escape").decode("ascii").replace("\\n", "\n")  # YAML double quotes read \x1b back


def _clean(out: str) -> None:
    assert "\x1b" not in out and "\x9b" not in out and "\x07" not in out and "\x7f" not in out, repr(out[:300])


def test_visible_keeps_layout_and_shows_every_control():
    assert visible("a\tb\nc") == "a\tb\nc"
    assert visible("\x1b[2J") == "␛[2J" and visible("\x07\x7f\r") == "␇␡␍" and visible("\x9b") == "\ufffd"
    assert visible("Grüße ✓ 東京") == "Grüße ✓ 東京"


@pytest.fixture(scope="module")
def played(tmp_path_factory):
    d = tmp_path_factory.mktemp("esc")
    (d / "scenarios").mkdir()
    (d / "scenarios" / "esc.yaml").write_text(SCENARIO, encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(main, ["replay", str(d / "scenarios" / "esc.yaml"), "--no-db", "-q",
                               "--log", str(d / "esc.jsonl")])
    assert res.exit_code == 0, res.output
    lines = [orjson.loads(line) for line in (d / "esc.jsonl").read_bytes().splitlines()]
    titles = [x["title"] for x in lines if x["type"] == "notification.delivered"]
    assert titles and all(HOSTILE in t for t in titles)  # the log keeps what was rendered
    return d


@pytest.mark.parametrize("args", [
    ["inbox", "{log}", "--shopper", "s000001", "--all"],
    ["explain", "{log}", "s000001-n1"],
    ["report", "{log}"],
    ["report", "{log}", "--format", "md"],
])
def test_commands_show_scenario_text_without_obeying_it(played, args, monkeypatch):
    monkeypatch.chdir(played)
    res = CliRunner().invoke(main, [a.format(log=played / "esc.jsonl") for a in args])
    assert res.exit_code == 0, res.output
    _clean(res.output)
    if args[0] in ("inbox", "report"):
        assert "␛" in res.output


def test_the_scenario_list_shows_descriptions_without_obeying_them(played, monkeypatch):
    monkeypatch.chdir(played)
    res = CliRunner().invoke(main, ["scenarios"])
    assert res.exit_code == 0
    _clean(res.output)
    assert "Sale ␛]0;PWNED" in res.output


def test_validation_messages_show_hostile_keys_without_obeying_them(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(SCENARIO.replace("catalogue:", '"cat\\e[2Jalogue":'), encoding="utf-8")
    res = CliRunner().invoke(main, ["validate", str(bad)])
    assert res.exit_code == 2
    _clean(res.output)
    assert "cat␛[2Jalogue" in res.output


def test_the_terminal_app_draws_a_hostile_title_as_visible_text():
    import shopsim.tui.app  # noqa: F401  (installs the neutralisation, as running the app does)
    from shopsim.tui.widgets.inbox import InboxPane

    sim = Simulation(compile_scenario(load_scenario_text(SCENARIO)))
    sim.run()

    class Harness(App):
        def compose(self) -> ComposeResult:
            yield InboxPane(sim, id="inbox")

    async def go():
        app = Harness()
        async with app.run_test(size=(100, 30)) as pilot:
            app.query_one(InboxPane).show_shopper(0)
            await pilot.pause()
            return app.export_screenshot()

    svg = asyncio.run(go())
    assert "Hi ␛]0;PWNED␇␛[2J" in svg.replace("&#160;", " ").replace("\xa0", " ")
    _clean(svg)


async def _until(pilot, ready, limit: int = 400) -> None:
    """Let the app run until `ready()` holds (a bound on waiting, not a timing assertion)."""
    for _ in range(limit):
        if ready():
            return
        await pilot.pause(0.05)
    raise AssertionError("the app never got there")


def test_a_file_name_that_looks_like_markup_loads(tmp_path):
    """'[b]' or '[@click=...]' in a file name is never read as Textual markup on the way to the run."""
    from shopsim.tui.app import make_app
    from shopsim.tui.screens.main import MainScreen

    path = tmp_path / "[b]x [@click=app.quit].yaml"
    path.write_text(SCENARIO, encoding="utf-8")

    async def go():
        app = make_app(path, None)
        async with app.run_test(size=(100, 30)) as pilot:
            await _until(pilot, lambda: isinstance(app.screen, MainScreen) and app.screen is app.main_screen)
            return app.sim.scenario.name

    assert asyncio.run(go()) == "esc"


def test_a_filter_that_looks_like_markup_is_shown_as_typed(tmp_path, monkeypatch):
    """Read as Textual markup, '[/nothing]' would raise: a closing tag with nothing open."""
    from textual.widgets import Input, Static

    from shopsim.tui.app import make_app
    from shopsim.tui.screens.picker import PickerScreen

    monkeypatch.chdir(tmp_path)

    async def go():
        app = make_app(None, None)  # no scenario: the picker opens
        async with app.run_test(size=(100, 30)) as pilot:
            await _until(pilot, lambda: isinstance(app.screen, PickerScreen) and app.screen.query(Input))
            app.screen.query_one(Input).value = "[/nothing]"
            status = app.screen.query_one("#picker-status", Static)
            await _until(pilot, lambda: "[/nothing]" in str(status.render()))
            return str(status.render())

    assert "No scenario matches" in asyncio.run(go())


def test_an_expectation_name_is_shown_as_written_and_its_junit_file_stays_xml(tmp_path):
    """`--check` prints the names (not as markup: '[b]' stays) and `--junit` writes XML a CI can parse."""
    import xml.dom.minidom

    text = SCENARIO.replace("events:", 'expect:\n  - {name: "bad \\e]0;T\\a [b]x", metric: orders, min: 0}\nevents:')
    (tmp_path / "s.yaml").write_text(text, encoding="utf-8")
    res = CliRunner().invoke(main, ["replay", str(tmp_path / "s.yaml"), "--no-db", "-q", "--check",
                                    "--log", str(tmp_path / "s.jsonl"), "--junit", str(tmp_path / "j.xml")])
    assert res.exit_code == 0, res.output
    _clean(res.output)
    assert "bad ␛]0;T␇ [b]x" in res.output
    case = xml.dom.minidom.parse(str(tmp_path / "j.xml")).getElementsByTagName("testcase")[0]
    assert case.getAttribute("name") == "bad ␛]0;T␇ [b]x"
