"""Restarting the terminal app's run, and keeping it: "Save this run…" and `shopsim run --log/--db`.

A run played in the app, with its settings changed and messages opened by hand, is saved as a log (and a
database) that `report`, `inbox`, `explain` and `diff` read as they read a replay's; a run nobody touched
saves to the bytes `shopsim replay --until` writes. Pilot tests wait on the app's state, never on time."""

from __future__ import annotations

import asyncio
import errno
import os
import sqlite3
from pathlib import Path
from typing import Callable

import orjson
import pytest
from click.testing import CliRunner
from helpers.scenarios import PROMO_STORY as STORY, promo_story as story
from helpers.tui import DEFAULT, SIZE, new_app, wait_until as wait_for
from textual.command import CommandList, CommandPalette
from textual.widgets import Checkbox, Input, Static

from shopsim.cli import main
from shopsim.cli.tui import open_outputs, plan_outputs
from shopsim.store.runfile import open_run
from shopsim.scenario.compiled import compile_scenario
from shopsim.validate import load_scenario
from shopsim.contract import events as E
from shopsim.contract.clock import DAY, HOUR
from shopsim.simulation import Simulation
from shopsim.store.outputs import Claim
from shopsim.tui.app import ShopsimApp
from shopsim.tui.recording import Recording, RunOutputs, SaveError, plan_save, save
from shopsim.tui.screens.main import MainScreen
from shopsim.tui.screens.save import SaveScreen
from shopsim.tui.widgets.inbox import InboxPane

LIMIT_S = 60  # a bound on any one wait, far above what it takes: a hang fails instead of blocking the run


def run(coro) -> None:
    asyncio.run(coro)


def cli(*args) -> object:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


async def wait_until(pilot, cond: Callable[[], object], what: str) -> None:
    await wait_for(pilot, cond, what, LIMIT_S)  # saving and restarting take longer than the shared bound allows


async def open_main(app: ShopsimApp, pilot, old: MainScreen | None = None) -> MainScreen:
    """The main screen of the loaded run (a new one after a restart: not `old`), narration quietened."""
    await wait_until(pilot, lambda: isinstance(app.screen, MainScreen) and app.screen is app.main_screen
                     and app.screen is not old, "the main screen")
    await pilot.pause()
    narrator = app.driver.narrator
    narrator.fired.update(range(len(narrator.steps)))
    return app.main_screen


async def settle(app: ShopsimApp, pilot) -> None:
    await wait_until(pilot, lambda: not app.driver.busy, "the jump to finish")
    await pilot.pause()


async def palette(app: ShopsimApp, pilot, query: str, title: str) -> None:
    """Run a command from the palette (ctrl+p), typed as a user would."""
    await pilot.press("ctrl+p")
    await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
    commands = app.screen.query_one(CommandList)
    await pilot.press(*query)

    def gathered() -> bool:
        return commands.option_count > 0 and not any(
            w.group == CommandPalette._GATHER_COMMANDS_GROUP and not w.is_finished for w in app.workers)

    await wait_until(pilot, gathered, "the palette's hits")
    assert str(commands.get_option_at_index(commands.highlighted).hit.text) == title
    await pilot.press("enter")


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


# --- restart ------------------------------------------------------------------------------------------


def test_restart_brings_the_clock_back_to_zero_with_her_inbox_empty_and_her_settings_as_written(tmp_path):
    async def body() -> None:
        app = new_app(story(tmp_path), presenter=True)
        async with app.run_test(size=SIZE) as pilot:
            main = await open_main(app, pilot)
            her = app.sim.shoppers[0]
            written = her.settings
            app.action_toggle_narration()  # off: a restart keeps it off
            app.driver.speed_index = 5
            await pilot.press("h", "h", "h")
            await settle(app, pilot)
            app.sim.apply_settings_change(her.id, {"categories": {"promotions": {"push": False}}})
            inbox = main.query_one(InboxPane)
            inbox.flush_updates()
            assert app.sim.now == 3 * HOUR and [e.title for e in inbox.entries] == ["Deal 1"]

            await pilot.press("ctrl+r")
            main = await open_main(app, pilot, old=main)
            assert app.sim.now == 0 and app.sim is not her and app.sim.shoppers[0].settings == written
            inbox = main.query_one(InboxPane)
            inbox.flush_updates()
            assert inbox.entries == [] and main.selected == 0
            assert not app.driver.narrator.enabled and app.driver.speed_index == 5 and app.presenter
            assert not app.driver.busy
            # The same seed: stepping again gives the same first message.
            await pilot.press("h", "h", "h")
            await settle(app, pilot)
            inbox.flush_updates()
            assert [e.title for e in inbox.entries] == ["Deal 1"]
    run(body())


# --- Save this run… -----------------------------------------------------------------------------------


def test_a_run_saved_from_the_palette_with_hand_made_changes_reads_in_report_inbox_explain_and_diff(tmp_path):
    saved, db = tmp_path / "out" / "mine.jsonl", tmp_path / "out" / "mine.db"

    async def body() -> dict:
        app = new_app(DEFAULT)
        async with app.run_test(size=SIZE) as pilot:
            main = await open_main(app, pilot)
            sim = app.sim
            await pilot.press("h", "h", "h", "h")
            await settle(app, pilot)
            # A setting changed by hand: s000001 switches promotions by push off, on the settings tab.
            await pilot.press("e")
            await wait_until(pilot, lambda: main.query("#cat-promotions-push"), "the settings tab")
            await pilot.click("#cat-promotions-push")
            await wait_until(pilot, lambda: not sim.shoppers[0].settings["categories"]["promotions"]["push"],
                             "the change")
            await pilot.press("h", "h")
            await settle(app, pilot)
            # A message opened by hand: the first unread one of someone who has one.
            who = next(sh.index for sh in sim.shoppers if any(not m.read for m in sim.inbox(sh.index)))
            main.select(who)
            await pilot.press("i")
            inbox = main.query_one(InboxPane)
            inbox.flush_updates()
            row = next(i for i, e in enumerate(inbox.entries) if not e.read)
            target = inbox.entries[row]
            inbox.option_list.focus()
            inbox.option_list.highlighted = row
            await pilot.press("enter")
            await wait_until(pilot, lambda: target.read, "the message to open")

            await palette(app, pilot, "save this", "Save this run…")
            await wait_until(pilot, lambda: isinstance(app.screen, SaveScreen) and app.screen.query(Input),
                             "the save dialog")
            dialog = app.screen
            assert dialog.query_one(Input).value == "runs/default-seed27-played.jsonl"
            dialog.query_one(Input).value = str(saved)
            await pilot.click("#save-db")
            assert dialog.query_one(Checkbox).value
            await pilot.click("#save")
            await wait_until(pilot, lambda: any("Saved" in n.title for n in app._notifications), "the save")
            note = next(n for n in app._notifications if "Saved" in n.title)
            assert str(saved) in note.message and str(db) in note.message and "Mon 2 Mar 06:00 UTC" in note.message
            assert app.screen is main and sim.now == 6 * HOUR and not sim.finished  # the run plays on
            return {"nid": target.id, "shopper": sim.shoppers[who].id}

    seen = asyncio.run(body())
    records = [orjson.loads(line) for line in lines_of(saved)]
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    assert records[-1]["type"] == E.RUN_FINISHED and records[-1]["t"] == "2026-03-02T06:00:00.000Z"
    assert [(r["shopper"], r["source"]) for r in records if r["type"] == E.SETTINGS_CHANGED] == [("s000001", "user")]
    assert [r["id"] for r in records if r["type"] == E.NOTIFICATION_OPENED and r["source"] == "user"] == [seen["nid"]]
    assert not list(saved.parent.glob("*.tmp")) and not list(saved.parent.glob("*.lock"))

    for run_file in (saved, db):
        res = cli("report", run_file)
        assert res.exit_code == 0, res.output
        words = " ".join(res.output.split())
        assert "complete yes" in words and "2026-03-02 00:00 → 2026-03-02 06:00 UTC" in words, res.output
        res = cli("inbox", run_file, "--shopper", seen["shopper"], "--format", "json")
        assert res.exit_code == 0, res.output
        entry = next(e for e in orjson.loads(res.output) if e["id"] == seen["nid"])
        assert entry["read"] is True
        res = cli("explain", run_file, seen["nid"])
        assert res.exit_code == 0 and seen["nid"] in res.output, res.output
    replayed = tmp_path / "replay.jsonl"
    assert cli("replay", DEFAULT, "--until", "6h", "--log", replayed, "--no-db", "-q").exit_code == 0
    res = cli("diff", replayed, saved)
    assert res.exit_code == 0, res.output
    assert "has an extra settings.changed line" in res.output
    assert len(lines_of(saved)) == len(lines_of(replayed)) + 2  # her change, and the message opened


def test_a_saved_untouched_run_is_the_replay_log_of_the_same_seed_byte_for_byte(tmp_path):
    saved = tmp_path / "day.jsonl"

    async def body() -> None:
        app = new_app(DEFAULT)
        async with app.run_test(size=SIZE) as pilot:
            await open_main(app, pilot)
            await pilot.press("d")
            await settle(app, pilot)
            assert app.sim.now == DAY
            save(app.recording.snapshot(), plan_save(str(saved), with_db=False))
    run(body())
    whole = tmp_path / "whole.jsonl"
    assert cli("replay", DEFAULT, "--log", whole, "--no-db", "-q").exit_code == 0
    mine, theirs = lines_of(saved), lines_of(whole)
    assert len(mine) > 5000 and mine[:-1] == theirs[:len(mine) - 1]  # the engine's run, line for line
    until = tmp_path / "until.jsonl"
    assert cli("replay", DEFAULT, "--until", "1d", "--log", until, "--no-db", "-q").exit_code == 0
    assert saved.read_bytes() == until.read_bytes()  # run.finished included


def test_the_save_dialog_refuses_a_folder_and_asks_before_replacing_a_file(tmp_path):
    existing = tmp_path / "old.jsonl"
    existing.write_text("not a run\n")

    async def body() -> None:
        app = new_app(story(tmp_path))
        async with app.run_test(size=SIZE) as pilot:
            main = await open_main(app, pilot)
            await pilot.press("h")
            await settle(app, pilot)
            app.action_save_run()
            await wait_until(pilot, lambda: isinstance(app.screen, SaveScreen) and app.screen.query(Input),
                             "the save dialog")
            dialog = app.screen
            field, problem = dialog.query_one(Input), dialog.query_one("#save-problem", Static)
            for text, said in ((str(tmp_path), "is a folder"), (f"{tmp_path}/", "names a folder"),
                               ("  ", "give a file name"), (str(tmp_path / "run.db"), ".jsonl name"),
                               (str(story(tmp_path)), "the scenario file itself")):
                field.value = text
                await pilot.press("enter")
                assert app.screen is dialog and said in str(problem.render()), text
            field.value = str(existing)
            await pilot.press("enter")
            assert app.screen is dialog and "Save again to replace it" in str(problem.render())
            assert existing.read_text() == "not a run\n"
            await pilot.press("enter")
            await wait_until(pilot, lambda: existing.read_bytes().startswith(b'{"description"'), "the save")
            assert app.screen is main
            assert open_run(existing).complete
    run(body())


def test_a_save_that_cannot_be_written_leaves_nothing_and_says_why(tmp_path, monkeypatch):
    cs = compile_scenario(load_scenario(story(tmp_path)), None)
    sim = Simulation(cs)
    rec = Recording(cs)
    rec.start(sim)
    rec.write_start()
    sim.run_until(HOUR)
    target = plan_save(str(tmp_path / "new" / "run.jsonl"), with_db=True)
    assert (tmp_path / "new").is_dir()

    def full(*_a, **_k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("shopsim.store.writer.StoreWriter", full)
    with pytest.raises(SaveError, match="run.db: No space left on device; nothing was written"):
        save(rec.snapshot(), target)
    assert not (tmp_path / "new").exists()  # the folder the claim made is gone too


# --- shopsim run --log/--db ---------------------------------------------------------------------------


def test_run_with_log_and_db_records_the_run_and_a_restart_starts_the_files_over(tmp_path):
    log, db = tmp_path / "rec" / "run.jsonl", tmp_path / "rec" / "run.db"
    outputs = plan_outputs(str(story(tmp_path)), None, str(log), str(db))
    open_outputs(outputs)

    async def body() -> None:
        app = new_app(story(tmp_path), outputs=outputs)
        async with app.run_test(size=SIZE) as pilot:
            main = await open_main(app, pilot)
            await pilot.press("h", "h", "h")
            await settle(app, pilot)
            app.sim.apply_settings_change("s000001", {"categories": {"promotions": {"push": False}}})
            await pilot.press("h")
            await settle(app, pilot)
            await palette(app, pilot, "restart", "Restart the run")  # the files start over, without that change
            await open_main(app, pilot, old=main)
            await pilot.press("h", "h")
            await settle(app, pilot)
            app.sim.apply_settings_change("s000002", {"channels": {"sms": False}})
            await pilot.press("h")
            await settle(app, pilot)
            assert app.sim.now == 3 * HOUR
            await pilot.press("q")
    run(body())
    summary = outputs.close()
    assert "up to 2026-03-02T03:00:00.000Z" in summary and "before the scenario's end" in summary
    assert not outputs.problems and not list(log.parent.glob("*.lock"))
    for run_file in (log, db):
        rf = open_run(run_file)
        records = list(rf.records())
        assert rf.complete and records[-1]["t"] == "2026-03-02T03:00:00.000Z"
        assert [r["shopper"] for r in records if r["type"] == E.SETTINGS_CHANGED] == ["s000002"]
        assert cli("report", run_file).exit_code == 0
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT status, end_ms FROM runs").fetchall() == [("finished", 3 * HOUR)]
    # The same as a save at that time would have been: the untouched part is the engine's own run.
    until = tmp_path / "until.jsonl"
    assert cli("replay", story(tmp_path), "--until", "2h", "--log", until, "--no-db", "-q").exit_code == 0
    assert lines_of(log)[:len(lines_of(until)) - 1] == lines_of(until)[:-1]


def test_a_log_that_cannot_be_written_mid_run_is_said_and_the_run_plays_on(tmp_path):
    cs = compile_scenario(load_scenario(story(tmp_path)), None)

    class Full:
        def write(self, _chunk):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def close(self):
            pass

    outputs = RunOutputs(cs, Claim(), tmp_path / "run.jsonl", None, None, lambda _p: Full())
    outputs.open()
    told: list[str] = []
    sim = Simulation(cs)
    Recording(cs, outputs, told.append).start(sim)
    sim.run_until(6 * HOUR)
    assert sim.now == 6 * HOUR
    assert len(told) == 1 and "No space left on device" in told[0] and "plays on" in told[0]
    assert "cannot write the event log" in outputs.close() and outputs.problems


@pytest.mark.parametrize("args, said", [
    (["--log", "{tmp}"], "is a directory"),
    (["--log", "{tmp}/a-file/run.jsonl"], "cannot write event log"),
    (["--log", "{tmp}/x.jsonl", "--db", "{tmp}/x.jsonl"], "are the same file"),
    (["--log", "{scenario}"], "is the scenario file itself"),
    (["--log", "-"], "over the app's own screen"),
    (["--log", ""], "--log needs a path"),
    (["--db", "{tmp}/sub/"], "names a folder"),
])
def test_run_refuses_bad_outputs_before_the_app_opens_and_writes_nothing(tmp_path, args, said):
    (tmp_path / "a-file").write_text("x")
    scenario = story(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    res = cli("run", scenario, *[a.format(tmp=tmp_path, scenario=scenario) for a in args])
    assert res.exit_code == 2 and said in res.output, res.output
    assert len(res.output.strip().splitlines()) == 1 and "Traceback" not in res.output
    assert sorted(tmp_path.rglob("*")) == before


def test_run_outputs_need_a_scenario_and_a_terminal_and_a_bad_database_fails_before_the_app(tmp_path, capsys):
    res = cli("run", "--log", tmp_path / "x.jsonl")
    assert res.exit_code == 2 and "give one" in res.output
    res = cli("run", story(tmp_path), "--log", tmp_path / "x.jsonl", "--db", tmp_path / "x.db")
    assert res.exit_code == 2 and "needs a terminal" in res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["promo_story.yaml"]  # nothing left behind

    outputs = plan_outputs(str(story(tmp_path)), None, str(tmp_path / "y.jsonl"), "nosuchdb://nowhere")
    with pytest.raises(SystemExit) as ended:
        open_outputs(outputs)
    assert ended.value.code == 2
    err = capsys.readouterr().err
    assert "cannot open database nosuchdb://nowhere" in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["promo_story.yaml"]


def test_run_help_says_how_a_run_is_recorded():
    res = cli("run", "--help")
    text = " ".join(res.output.split())
    assert "--log" in text and "--db" in text and "run.finished" in text and "Save this run" in text
    assert "quitting mid-run" in text


def test_opening_another_scenario_ends_the_recorded_files_there_and_the_next_run_is_not_in_them(tmp_path):
    from shopsim.tui.screens.picker import ScenarioChosen

    log = tmp_path / "run.jsonl"
    outputs = plan_outputs(str(story(tmp_path)), None, str(log), None)
    open_outputs(outputs)
    other = tmp_path / "other.yaml"
    other.write_text(STORY.replace("promo_story", "other_story"))

    async def body() -> None:
        app = new_app(story(tmp_path), outputs=outputs)
        async with app.run_test(size=SIZE) as pilot:
            main = await open_main(app, pilot)
            await pilot.press("h", "h")
            await settle(app, pilot)
            app.post_message(ScenarioChosen(other))
            await open_main(app, pilot, old=main)
            assert app.sim.scenario.name == "other_story" and app.outputs is None
            assert any(n.message.startswith("Recorded the run of promo_story") for n in app._notifications)
            await pilot.press("h")
            await settle(app, pilot)
            save(app.recording.snapshot(), plan_save(str(tmp_path / "other.jsonl"), with_db=False))
    run(body())
    assert outputs.summary is not None and outputs.close() == outputs.summary
    rf = open_run(log)
    assert rf.complete and rf.header["scenario"] == "promo_story"
    assert list(rf.records())[-1]["t"] == "2026-03-02T02:00:00.000Z"
    assert open_run(tmp_path / "other.jsonl").header["scenario"] == "other_story"


def test_the_offered_path_never_is_the_replays_own_log() -> None:
    """Accepting the save dialog's path must not replace `shopsim replay`'s log of the same scenario and seed."""
    from shopsim.scenario.compiled import compile_scenario
    from shopsim.validate import load_scenario
    from shopsim.tui.recording import default_save_path

    cs = compile_scenario(load_scenario(DEFAULT))
    offered = default_save_path(cs)
    assert offered.startswith(f"runs/{cs.name}-seed{cs.seed}") and offered != f"runs/{cs.name}-seed{cs.seed}.jsonl"
