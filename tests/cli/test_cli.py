"""The command line as a user runs it: exit codes, files written (or not), messages."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from shopsim.cli import main
from shopsim.simulation import Simulation
from shopsim.store.runfile import open_run

from helpers.paths import ROOT

MINIMAL = ROOT / "tests" / "fixtures" / "minimal.yaml"
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)

    return invoke


def test_replay_writes_log_and_finished_database_at_default_location(run, tmp_path):
    res = run("replay", MINIMAL)
    assert res.exit_code == 0, res.output
    log = tmp_path / "runs" / "minimal-seed1.jsonl"
    db = tmp_path / "runs" / "minimal-seed1.db"
    lines = log.read_bytes().splitlines()
    assert json.loads(lines[0])["type"] == "run.started"
    assert json.loads(lines[-1])["type"] == "run.finished"
    con = sqlite3.connect(db)
    assert con.execute("select status, events from runs").fetchone() == ("finished", len(lines))
    # The events table gives back the log's exact lines.
    assert list(open_run(db).lines()) == lines
    shoppers = con.execute("select count(*) from shoppers").fetchone()[0]
    assert shoppers == 20
    assert "cart abandonment" in res.output and "event log: runs/minimal-seed1.jsonl" in res.output


def test_replay_log_to_stdout_with_seed_and_until(run, tmp_path):
    res = run("replay", MINIMAL, "--seed", "5", "--until", "1d", "--no-db", "--log", "-", "--quiet")
    assert res.exit_code == 0
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    assert lines[0]["seed"] == 5
    assert lines[-1]["type"] == "run.finished" and lines[-1]["t"] == "2026-03-03T00:00:00.000Z"
    assert not (tmp_path / "runs").exists()


def test_db_accepts_a_sqlalchemy_url(run, tmp_path):
    res = run("replay", MINIMAL, "--db", f"sqlite:///{tmp_path}/x.db", "--log", tmp_path / "x.jsonl", "-q")
    assert res.exit_code == 0
    assert sqlite3.connect(tmp_path / "x.db").execute("select status from runs").fetchone() == ("finished",)


@pytest.mark.parametrize("args, fragment", [
    (["--seed", "-3"], "--seed"),
    (["--seed", "abc"], "--seed"),
    (["--until", "soon"], "not a duration"),
    (["--until", "0s"], "positive"),
])
def test_bad_arguments_exit_2_and_write_nothing(run, tmp_path, args, fragment):
    res = run("replay", MINIMAL, *args)
    assert res.exit_code == 2
    assert fragment in res.output
    assert "Traceback" not in res.output
    assert not (tmp_path / "runs").exists()


def test_invalid_scenario_exit_2_lists_problems_and_writes_nothing(run, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema_version: 1\nrun: {name: x, duraton: 3d}\npopulation: {size: 0, locales: {en_US: {share: 1}}}\n")
    res = run("replay", bad)
    assert res.exit_code == 2
    assert f"{bad}:2:" in res.output and "did you mean 'duration'" in res.output
    assert "population.size" in res.output
    assert "nothing was written" in res.output
    assert not (tmp_path / "runs").exists()


def test_missing_scenario_file_is_one_clean_line(run):
    res = run("replay", "nowhere.yaml")
    assert res.exit_code == 2
    assert "nowhere.yaml" in res.output and "Traceback" not in res.output


def test_unwritable_output_path_exit_2_before_running(run, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    res = run("replay", MINIMAL, "--log", blocker / "sub" / "e.jsonl", "--no-db")
    assert res.exit_code == 2
    assert "cannot write event log" in res.output and "Traceback" not in res.output
    res = run("replay", MINIMAL, "--db", blocker / "x.db")
    assert res.exit_code == 2 and "cannot write database" in res.output
    assert not (tmp_path / "runs").exists()


def test_log_path_that_is_a_directory(run, tmp_path):
    res = run("replay", MINIMAL, "--log", tmp_path, "--no-db")
    assert res.exit_code == 2 and "is a directory" in res.output


def test_interrupted_run_is_marked_and_has_no_run_finished(run, tmp_path, monkeypatch):
    calls = {"n": 0}
    real = Simulation.run_until

    def interrupted(self, t):
        calls["n"] += 1
        if calls["n"] > 1:
            raise KeyboardInterrupt
        real(self, min(t, 6 * 3_600_000))

    monkeypatch.setattr(Simulation, "run_until", interrupted)
    monkeypatch.setattr("shopsim.cli.replay._play", lambda sim, until, show_progress: (
        sim.run_until(until), sim.run_until(until)))
    res = run("replay", MINIMAL)
    assert res.exit_code == 130
    assert "interrupted" in res.output
    lines = (tmp_path / "runs" / "minimal-seed1.jsonl").read_bytes().splitlines()
    assert json.loads(lines[-1])["type"] != "run.finished"
    con = sqlite3.connect(tmp_path / "runs" / "minimal-seed1.db")
    assert con.execute("select status, end_ms from runs").fetchone() == ("interrupted", 6 * 3_600_000)


def test_a_killed_run_never_looks_complete(tmp_path):
    """A writer that never reaches close() (kill -9) leaves the run 'running'."""
    from shopsim.validate import load_scenario
    from shopsim.store.recorder import Recorder
    from shopsim.store.writer import StoreWriter

    sim = Simulation(load_scenario(MINIMAL))
    store = StoreWriter(f"sqlite:///{tmp_path}/k.db", sim.scenario)
    sim.subscribe(Recorder(sim.scenario.start_epoch, None, store))
    sim.run_until(12 * 3_600_000)
    store.flush()
    con = sqlite3.connect(tmp_path / "k.db")
    assert con.execute("select status from runs").fetchone() == ("running",)


def test_validate_reports_every_file(run, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema_version: 1\n")
    res = run("validate", MINIMAL, bad)
    assert res.exit_code == 2
    assert f"{MINIMAL}: ok" in res.output
    assert f"{bad}:" in res.output and "1 of 2 files invalid" in res.output


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_scenario_validates_and_declares_its_schema(run, path):
    assert run("validate", path).exit_code == 0
    assert path.read_text().splitlines()[0] == "# yaml-language-server: $schema=../docs/scenario.schema.json"


def test_scenarios_lists_shipped_ones_with_descriptions(run):
    res = run("scenarios")
    assert res.exit_code == 0
    for path in SHIPPED:
        assert path.stem in res.output
    assert "default" in res.output and "\t" in res.output


def test_replay_finds_a_shipped_scenario_by_name(run, tmp_path):
    res = run("replay", "account_security", "--no-db", "-q")
    assert res.exit_code == 0
    assert len(list((tmp_path / "runs").glob("account_security-seed*.jsonl"))) == 1


def test_schema_matches_the_shipped_schema_file(run):
    res = run("schema")
    assert res.exit_code == 0
    shipped = (ROOT / "docs" / "scenario.schema.json").read_text()
    assert json.loads(res.output) == json.loads(shipped), "run: shopsim schema --out docs/scenario.schema.json"
    assert res.output == shipped


def test_python_dash_m_and_version():
    out = subprocess.run([sys.executable, "-m", "shopsim", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and "shopsim" in out.stdout


def test_sigterm_mid_run_marks_the_database_interrupted(tmp_path):
    """A real process, a real signal: the first log line proves the run is under way (no sleeping)."""
    import signal

    big = tmp_path / "big.yaml"
    big.write_text(MINIMAL.read_text().replace("size: 20", "size: 20000").replace("duration: 2d", "duration: 30d"))
    assert "size: 20000" in big.read_text()
    db = tmp_path / "big.db"
    proc = subprocess.Popen([sys.executable, "-m", "shopsim", "replay", str(big), "--db", str(db), "--log", "-"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    first = proc.stdout.readline()
    assert json.loads(first)["type"] == "run.started"
    proc.send_signal(signal.SIGTERM)
    rest, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err.decode()  # 128 + SIGTERM, as documented
    assert b"terminated at virtual time" in err and b"marked 'interrupted'" in err
    assert b'"type":"run.finished"' not in rest
    assert sqlite3.connect(db).execute("select status from runs").fetchone() == ("interrupted",)


def test_progress_bar_on_a_terminal_and_summary(tmp_path):
    """In a pseudo-terminal the replay draws a progress bar; through a pipe (every other test) it does not."""
    import os
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # the child: a replay whose stdout and stderr are the terminal
        try:
            os.chdir(tmp_path)
            scenario = str(ROOT / "scenarios" / "global_marketplace.yaml")
            os.execv(sys.executable, [sys.executable, "-m", "shopsim", "replay", scenario, "--no-db", "--until", "7d"])
        finally:
            os._exit(127)  # never return into pytest from the forked child
    out = b""
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:  # the terminal closes when the child exits
            break
        if not data:
            break
        out += data
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, out.decode(errors="replace")
    text = out.decode(errors="replace")
    assert "━" in text and "events" in text, text[-2000:]
    assert "global_marketplace (seed" in text and "event log: runs/global_marketplace-seed" in text


def test_no_progress_bar_when_piped(tmp_path):
    out = subprocess.run([sys.executable, "-m", "shopsim", "replay", str(MINIMAL), "--no-db"],
                         capture_output=True, cwd=tmp_path)
    assert out.returncode == 0
    assert "━".encode() not in out.stdout + out.stderr
    assert b"minimal (seed 1)" in out.stdout


def test_a_failed_run_is_marked_failed_not_finished(run, tmp_path):
    if not Path("/dev/full").exists():
        pytest.skip("needs /dev/full")
    res = run("replay", MINIMAL, "--log", "/dev/full", "--db", tmp_path / "f.db")
    assert res.exit_code == 2 and "No space left" in res.output
    assert sqlite3.connect(tmp_path / "f.db").execute("select status from runs").fetchone() == ("failed",)


def test_a_replay_that_cannot_open_its_database_keeps_the_previous_log(run, tmp_path):
    assert run("replay", MINIMAL, "--no-db", "-q").exit_code == 0
    log = tmp_path / "runs" / "minimal-seed1.jsonl"
    before = log.read_bytes()
    res = run("replay", MINIMAL, "--db", "nope://x")
    assert res.exit_code == 2 and "cannot open database nope://x" in res.output
    assert log.read_bytes() == before


def test_outputs_may_not_overwrite_the_scenario_or_each_other(run, tmp_path):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(MINIMAL.read_text())
    res = run("replay", scenario, "--log", scenario, "--no-db")
    assert res.exit_code == 2 and "scenario file itself" in res.output
    assert scenario.read_text() == MINIMAL.read_text()
    res = run("replay", scenario, "--log", tmp_path / "same", "--db", tmp_path / "same")
    assert res.exit_code == 2 and "same file" in res.output


@pytest.mark.parametrize("edit, fragment", [
    (("size: 20", "size: true"), "should be a whole number, got True"),
    (("seed: 1", 'seed: "5"'), "should be a whole number, got '5'"),
    (("duration: 2d", "duration: 100000000d"), "longer than the longest run"),
    (("  name: minimal", "  name: minimal\n  start: 9999-12-30T00:00:00Z"), "outside the years"),
])
def test_values_that_used_to_slip_through(run, tmp_path, edit, fragment):
    bad = tmp_path / "bad.yaml"
    bad.write_text(MINIMAL.read_text().replace(*edit))
    assert edit[1] in bad.read_text()
    res = run("validate", bad)
    assert res.exit_code == 2 and fragment in res.output and "Traceback" not in res.output


def test_the_summary_counts_notifications_coupons_and_attribution_as_the_log_does(run, tmp_path):
    res = run("replay", "cart_recovery", "--no-db", "--log", "run.jsonl")
    assert res.exit_code == 0, res.output
    events = [orjson.loads(line) for line in (tmp_path / "run.jsonl").read_bytes().splitlines()]
    n = Counter(e["type"] for e in events)
    attributed = sum(1 for e in events if e["type"] == "order.placed" and e["attributed_to"])
    assert f"notifications {n['notification.requested']:,}: delivered {n['notification.delivered']:,}" in res.output
    assert f"orders attributed to a click {attributed:,}" in res.output
    assert f"coupons issued {n['coupon.issued']:,}, redeemed {n['coupon.redeemed']:,}" in res.output


def test_bare_shopsim_without_a_terminal_says_how_to_run_headless() -> None:
    from click.testing import CliRunner

    from shopsim.cli import main

    res = CliRunner().invoke(main, [])
    assert res.exit_code == 2
    assert "needs a terminal" in res.output and "shopsim replay" in res.output
    res = CliRunner().invoke(main, ["run", "default"])
    assert res.exit_code == 2 and "Traceback" not in res.output
