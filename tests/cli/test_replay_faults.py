"""Faults a replay must survive with a clear word and a truthful database (issue 12, "Faults").

Real processes and real signals where it matters. Nothing here sleeps or reads the clock: a test waits for
a condition (the first log line, the progress bar on a pseudo-terminal), always with a generous bound.
"""

from __future__ import annotations

import gzip
import json
import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from shopsim.cli import main
from shopsim.store.runfile import RunFileError, open_run
from shopsim.store import queries

from helpers.paths import ROOT

MINIMAL = ROOT / "tests" / "fixtures" / "minimal.yaml"
BOUND = 180  # seconds: an upper bound on waiting for a condition, never a delay


def scenario(tmp_path: Path, size: int = 20, duration: str = "2d", name: str | None = None) -> Path:
    text = MINIMAL.read_text().replace("size: 20\n", f"size: {size}\n").replace("duration: 2d", f"duration: {duration}")
    if name is not None:
        text = text.replace("name: minimal", f"name: {name}")
    path = tmp_path / f"s{size}-{duration}.yaml"
    path.write_text(text)
    return path


def shopsim(*args, **kw) -> list[str]:
    return [sys.executable, "-m", "shopsim", *(str(a) for a in args)]


ENV = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}


def run_status(db: Path) -> str:
    return queries.run(db)["status"]


def read_until(fd: int, marker: bytes, limit: int = BOUND) -> bytes:
    """Read a pseudo-terminal (or pipe) until `marker` shows; fail after `limit` seconds without it."""
    seen = b""
    while marker not in seen:
        ready, _, _ = select.select([fd], [], [], limit)
        assert ready, f"no {marker!r} within {limit}s; got {seen[-2000:]!r}"
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        assert data, f"the process closed its output before {marker!r}: {seen[-2000:]!r}"
        seen += data
    return seen


def drain(fd: int) -> bytes:
    out = b""
    while True:
        ready, _, _ = select.select([fd], [], [], BOUND)
        assert ready, "the process did not end"
        try:
            data = os.read(fd, 65536)
        except OSError:  # a pseudo-terminal reports EIO once the other side is closed
            break
        if not data:
            break
        out += data
    return out


# --- signals sent to the whole process group -------------------------------------------------------

@pytest.mark.parametrize("sig, code, words", [
    (signal.SIGTERM, 143, b"terminated at virtual time"),
    (signal.SIGINT, 130, b"interrupted (Ctrl-C) at virtual time"),
])
def test_a_signal_to_the_process_group_interrupts_the_run_cleanly(tmp_path, sig, code, words):
    """`timeout`, systemd and CI cancel a job by signalling its whole process group, the database writer
    child included. Only the parent may act on it."""
    big = scenario(tmp_path, size=20000, duration="30d")
    db = tmp_path / "big.db"
    proc = subprocess.Popen(shopsim("replay", big, "--db", db, "--log", "-"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=tmp_path, env=ENV, start_new_session=True)
    try:
        first = proc.stdout.readline()  # the store is open and the run is writing
        assert json.loads(first)["type"] == "run.started"
        os.killpg(proc.pid, sig)
        rest, err = proc.communicate(timeout=BOUND)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = err.decode()
    assert proc.returncode == code, text
    assert "Traceback" not in text and "Aborted!" not in text, text
    assert words in err and b"marked 'interrupted'" in err, text
    assert b'"type":"run.finished"' not in rest
    assert run_status(db) == "interrupted"


# --- a full disk under the database ----------------------------------------------------------------

def _limit_file_size(limit: int):
    def preexec():
        import resource
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return preexec


@pytest.mark.parametrize("size, where", [(20000, "mid-run"), (500, "at the end")])
def test_a_database_that_cannot_grow_fails_the_run_with_exit_2(tmp_path, size, where):
    """RLIMIT_FSIZE stands in for a full disk: no file of the replay may grow past the limit. The log goes
    to stdout (not limited), so only the database hits it: mid-run (the first batches already overflow it)
    or only when the last rows and the indexes are written at the end."""
    s = scenario(tmp_path, size=size, duration="2d")
    db = tmp_path / "full.db"
    limit = 3 << 20 if where == "mid-run" else 1 << 20  # the finished database of 500 shoppers: 1.3 MB
    proc = subprocess.run(shopsim("replay", s, "--db", db, "--log", "-"), stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, cwd=tmp_path, env=ENV, preexec_fn=_limit_file_size(limit),
                          timeout=BOUND)
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert "Traceback" not in err, err
    assert f"cannot write the database {db}" in err, err
    status = run_status(db)
    assert status == "failed", err
    assert "marked 'failed'" in err


# --- two replays, one set of outputs ---------------------------------------------------------------

def test_two_replays_cannot_write_the_same_outputs(tmp_path):
    """The first replay owns its log and its database while it runs; a second one aimed at either exits 2,
    names the first (its pid) and touches nothing."""
    big = scenario(tmp_path, size=20000, duration="30d")
    log, db = tmp_path / "shared.jsonl", tmp_path / "shared.db"
    master, slave = os.openpty()  # a terminal, so the first replay draws its progress bar once it runs
    first = subprocess.Popen(shopsim("replay", big, "--log", log, "--db", db), stdin=subprocess.DEVNULL,
                             stdout=slave, stderr=slave, cwd=tmp_path, env=ENV)
    os.close(slave)
    try:
        read_until(master, b"events")
        for args, taken in ((("--log", log, "--db", tmp_path / "other.db"), log),
                            (("--log", tmp_path / "other.jsonl", "--db", db), db),
                            # an hour is enough to show it starts (the whole 30 days would take a minute)
                            (("--log", tmp_path / "other.jsonl", "--no-db", "--golden", log, "--until", "1h"),
                             None)):
            second = subprocess.run(shopsim("replay", big, *args), capture_output=True, cwd=tmp_path, env=ENV,
                                    timeout=BOUND)
            err = second.stderr.decode()
            if taken is None:  # reading the first run's log as a golden is fine; it is only read
                assert "is being written" not in err
                continue
            assert second.returncode == 2, err
            assert "Traceback" not in err
            assert f"{taken} is being written by another replay (pid {first.pid}" in err, err
            assert not (tmp_path / "other.jsonl").exists() and not (tmp_path / "other.db").exists()
        first.send_signal(signal.SIGINT)
        drain(master)
        assert first.wait(timeout=BOUND) == 130
    finally:
        if first.poll() is None:
            first.kill()
        os.close(master)
    lines = log.read_bytes().splitlines()
    assert [orjson.loads(line)["seq"] for line in lines] == list(range(1, len(lines) + 1))
    assert run_status(db) == "interrupted"
    assert not Path(f"{log}.lock").exists() and not Path(f"{db}.lock").exists()


def test_a_lock_left_by_a_killed_replay_does_not_block_the_next(tmp_path):
    s = scenario(tmp_path)
    log = tmp_path / "r.jsonl"
    Path(f"{log}.lock").write_text("12345\nshopsim replay (killed)\n")  # nobody holds it
    res = subprocess.run(shopsim("replay", s, "--log", log, "--no-db", "-q"), capture_output=True,
                         cwd=tmp_path, env=ENV, timeout=BOUND)
    assert res.returncode == 0, res.stderr.decode()
    assert not Path(f"{log}.lock").exists()


# --- outputs that cannot be created ------------------------------------------------------------------

@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    return lambda *args: runner.invoke(main, [str(a) for a in args], catch_exceptions=False)


LONG = "x" * 250


@pytest.mark.parametrize("args, names", [
    ((), ["-seed1.jsonl", "-seed1.db"]),                 # run.name makes the default names too long
    (("--no-db",), ["-seed1.jsonl"]),
    (("--log", "ok.jsonl"), ["-seed1.db"]),
])
def test_an_overlong_default_output_name_is_a_clear_exit_2(cli, tmp_path, args, names):
    """The issue's example. (Once the scenario format caps run.name, validation refuses the name first, with
    its own located message; either way: exit 2, one clear line, nothing written.)"""
    s = scenario(tmp_path, name=LONG)
    res = cli("replay", s, *args)
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    assert ("File name too long" in res.output and any(n in res.output for n in names)
            or f"{s}:4:3: run.name:" in res.output), res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [s.name], "nothing may be written"


@pytest.mark.parametrize("make, what", [
    (lambda t: ("--log", t / ("y" * 300) / "e.jsonl", "--no-db"), "event log"),
    (lambda t: ("--log", t / "e.jsonl", "--db", t / ("y" * 300) / "r.db"), "database"),
    (lambda t: ("--log", t / ("y" * 260 + ".jsonl"), "--no-db"), "event log"),
    (lambda t: ("--log", t / "e.jsonl", "--db", t / ("y" * 260 + ".db")), "database"),
    (lambda t: ("--log", t / "e.jsonl", "--no-db", "--junit", t / ("y" * 260 + ".xml")), "JUnit file"),
    (lambda t: ("--log", t / "e.jsonl", "--db", (t / "adir").mkdir() or t / "adir"), "database"),
    (lambda t: ("--log", t / "e.jsonl", "--db", f"{t / 'adir'}/"), "--db"),
])
def test_any_output_that_cannot_be_created_is_named_and_nothing_is_written(cli, tmp_path, make, what):
    s = scenario(tmp_path)
    args = make(tmp_path)
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    res = cli("replay", s, *args)
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    assert f"{what} " in res.output, res.output
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before, "nothing may be written"


def test_a_permission_denied_output_is_a_clear_exit_2(cli, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root may write anywhere")
    locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        res = cli("replay", scenario(tmp_path), "--log", locked / "e.jsonl", "--no-db")
        assert res.exit_code == 2 and "event log" in res.output and "Traceback" not in res.output
    finally:
        locked.chmod(0o700)


# --- gzip logs and gaps ------------------------------------------------------------------------------------

def test_a_gz_log_is_gzip_and_byte_identical_run_to_run(cli, tmp_path):
    s = scenario(tmp_path)
    assert cli("replay", s, "--no-db", "-q", "--log", "plain.jsonl").exit_code == 0
    assert cli("replay", s, "--no-db", "-q", "--log", "a.jsonl.gz").exit_code == 0
    assert cli("replay", s, "--no-db", "-q", "--log", "b.jsonl.gz").exit_code == 0
    a, b = (tmp_path / "a.jsonl.gz").read_bytes(), (tmp_path / "b.jsonl.gz").read_bytes()
    assert a[:2] == b"\x1f\x8b", "not gzip"
    assert a == b, "the same run must give the same bytes"
    assert a[3] & 0x08 == 0 and a[4:8] == b"\0\0\0\0", "no file name and no time stamp in the header"
    assert gzip.decompress(a) == (tmp_path / "plain.jsonl").read_bytes()
    assert open_run(tmp_path / "a.jsonl.gz").complete


def test_a_gz_log_works_with_golden_and_an_interrupted_run_is_still_readable(cli, tmp_path, monkeypatch):
    s = scenario(tmp_path)
    assert cli("replay", s, "--no-db", "-q", "--log", "a.jsonl.gz", "--golden", "g.jsonl",
               "--update-golden").exit_code == 0
    assert (tmp_path / "g.jsonl").read_bytes() == gzip.decompress((tmp_path / "a.jsonl.gz").read_bytes())
    res = cli("replay", s, "--no-db", "-q", "--log", "a.jsonl.gz", "--golden", "g.jsonl")
    assert res.exit_code == 0, res.output

    from shopsim.simulation import Simulation
    real = Simulation.run_until
    calls = {"n": 0}

    def interrupted(self, t, *a, **k):
        calls["n"] += 1
        if calls["n"] > 1:
            raise KeyboardInterrupt
        return real(self, min(t, 6 * 3_600_000), *a, **k)

    monkeypatch.setattr(Simulation, "run_until", interrupted)
    monkeypatch.setattr("shopsim.cli.replay._play", lambda sim, until, show_progress: (
        sim.run_until(until), sim.run_until(until)))
    res = cli("replay", s, "--no-db", "--log", "cut.jsonl.gz")
    assert res.exit_code == 130
    run = open_run(tmp_path / "cut.jsonl.gz")
    assert run.gzip and not run.complete
    assert len(list(run.events())) > 1


def _drop_line(src: Path, dst: Path, n: int) -> None:
    lines = src.read_bytes().splitlines(keepends=True)
    dst.write_bytes(b"".join(lines[:n - 1] + lines[n:]))


@pytest.mark.parametrize("command", [
    ("report",), ("report", "--format", "json"), ("export", "--out", "exp"), ("inbox", "--shopper", "s000001"),
    ("explain", "s000001-n1"),
])
def test_readers_refuse_a_log_with_a_missing_line(cli, tmp_path, command):
    s = scenario(tmp_path)
    assert cli("replay", s, "--no-db", "-q", "--log", "full.jsonl").exit_code == 0
    _drop_line(tmp_path / "full.jsonl", tmp_path / "gap.jsonl", 50)
    res = cli(command[0], "gap.jsonl", *command[1:])
    assert res.exit_code == 2, res.output
    assert "gap.jsonl:50:" in res.output and "seq 51" in res.output and "missing" in res.output, res.output
    assert "Traceback" not in res.output


def test_diff_refuses_a_log_with_a_missing_line(cli, tmp_path):
    s = scenario(tmp_path)
    assert cli("replay", s, "--no-db", "-q", "--log", "full.jsonl").exit_code == 0
    _drop_line(tmp_path / "full.jsonl", tmp_path / "gap.jsonl", 50)
    res = cli("diff", "full.jsonl", "gap.jsonl")
    assert res.exit_code == 2 and "gap.jsonl:50:" in res.output, res.output


def test_runfile_refuses_gaps_and_repeats_in_logs_gzip_logs_and_databases(cli, tmp_path):
    import sqlite3

    s = scenario(tmp_path)
    assert cli("replay", s, "-q", "--log", "full.jsonl", "--db", "full.db").exit_code == 0
    lines = (tmp_path / "full.jsonl").read_bytes().splitlines(keepends=True)
    (tmp_path / "gap.jsonl.gz").write_bytes(gzip.compress(b"".join(lines[:9] + lines[10:]), mtime=0))
    (tmp_path / "twice.jsonl").write_bytes(b"".join(lines[:10] + lines[9:]))
    db = tmp_path / "gap.db"
    db.write_bytes((tmp_path / "full.db").read_bytes())
    con = sqlite3.connect(db)
    con.execute("DELETE FROM events WHERE seq = 10")
    con.commit()
    con.close()
    for name, n, seq in (("gap.jsonl.gz", 10, 11), ("twice.jsonl", 11, 10), ("gap.db", 10, 11)):
        with pytest.raises(RunFileError, match=rf"{name}:{n}: seq {seq} where {n} was expected"):
            list(open_run(tmp_path / name).events())
    assert len(list(open_run(tmp_path / "full.db").events())) == len(lines)


# --- stdout that cannot be written ------------------------------------------------------------------------

@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_log_on_a_full_stdout_without_a_database_does_not_talk_of_one(tmp_path):
    s = scenario(tmp_path)
    with open("/dev/full", "wb") as full:
        res = subprocess.run(shopsim("replay", s, "--no-db", "--log", "-"), stdout=full, stderr=subprocess.PIPE,
                             cwd=tmp_path, env=ENV, timeout=BOUND)
    err = res.stderr.decode()
    assert res.returncode == 2, err
    assert "No space left on device" in err and "stdout" in err, err
    assert "database" not in err, err
    assert "Traceback" not in err


# --- interrupted outside the run itself --------------------------------------------------------------------

@pytest.mark.parametrize("signalled, code", [(KeyboardInterrupt, 130), ("terminated", 143)])
def test_an_interrupt_before_the_run_writes_nothing_and_after_it_keeps_the_outputs(cli, tmp_path, monkeypatch,
                                                                                    signalled, code):
    """Ctrl-C while the scenario is being compiled used to end in click's 'Aborted!' and exit 1."""
    from shopsim.cli import replay

    exc = replay._Terminated if signalled == "terminated" else signalled
    s = scenario(tmp_path)

    def boom(*_a, **_k):
        raise exc()

    with monkeypatch.context() as m:
        m.setattr(replay, "compile_scenario", boom)
        res = cli("replay", s)
    assert res.exit_code == code, res.output
    assert "Aborted!" not in res.output and "before the run started; nothing was written" in res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [s.name]

    monkeypatch.setattr(replay, "print_summary", boom)
    res = cli("replay", s)
    assert res.exit_code == code, res.output
    assert "Aborted!" not in res.output and "after the run finished (its outputs are complete)" in res.output
    assert run_status(tmp_path / "runs" / "minimal-seed1.db") == "finished"
    assert open_run(tmp_path / "runs" / "minimal-seed1.jsonl").complete
    assert not list((tmp_path / "runs").glob("*.lock"))


def test_log_and_database_may_not_be_one_file_even_through_a_sqlite_url(cli, tmp_path):
    s = scenario(tmp_path)
    res = cli("replay", s, "--log", tmp_path / "x", "--db", f"sqlite:///{tmp_path / 'x'}")
    assert res.exit_code == 2 and "also another output of this replay" in res.output, res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [s.name]


def test_an_output_named_like_a_lock_file_is_refused(cli, tmp_path):
    res = cli("replay", scenario(tmp_path), "--no-db", "--log", tmp_path / "x.lock")
    assert res.exit_code == 2 and "ends in .lock" in res.output and not (tmp_path / "x.lock").exists()


@pytest.mark.parametrize("command", [("report", "--out", "y" * 260 + ".txt"),
                                     ("report", "--format", "html", "--out", "y" * 260 + ".html"),
                                     ("export", "--out", "y" * 260)])
def test_report_and_export_outputs_with_a_name_too_long_are_a_clear_exit_2(cli, tmp_path, command):
    """The same class of fault in the other commands that write files."""
    assert cli("replay", scenario(tmp_path), "--no-db", "-q", "--log", "r.jsonl").exit_code == 0
    res = cli(command[0], "r.jsonl", *command[1:])
    assert res.exit_code == 2 and "File name too long" in res.output, res.output
    assert "Traceback" not in res.output
