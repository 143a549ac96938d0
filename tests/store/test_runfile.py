"""Opening a finished run: an event log (plain or gzip) or a replay's database, with one-line errors."""

from __future__ import annotations

import gzip
import os
import sqlite3
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from helpers.runs import replay_events
from helpers.scenarios import tiny_scenario
from shopsim.cli import main
from shopsim.store.runfile import RunFile, RunFileError, open_run

SCENARIO = tiny_scenario(size=12, duration="2d", seed=3, as_text=True)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """One replay through the command line: runs/tiny-seed3.jsonl and runs/tiny-seed3.db, plus a gzip copy."""
    d = tmp_path_factory.mktemp("run")
    (d / "tiny.yaml").write_text(SCENARIO)
    old = os.getcwd()
    os.chdir(d)
    try:
        res = CliRunner().invoke(main, ["replay", "tiny.yaml", "-q"], catch_exceptions=False)
    finally:
        os.chdir(old)
    assert res.exit_code == 0, res.output
    log = d / "runs" / "tiny-seed3.jsonl"
    (d / "runs" / "tiny-seed3.jsonl.gz").write_bytes(gzip.compress(log.read_bytes()))
    return d / "runs"


@pytest.fixture
def log_bytes(run_dir) -> bytes:
    return (run_dir / "tiny-seed3.jsonl").read_bytes()


def _error(path) -> str:
    with pytest.raises(RunFileError) as e:
        run = open_run(path)
        list(run.records())
    msg = str(e.value)
    assert "\n" not in msg and msg.strip() == msg and "Traceback" not in msg
    return msg


# --- the three kinds -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name, kind", [("tiny-seed3.jsonl", "log"), ("tiny-seed3.jsonl.gz", "log"),
                                        ("tiny-seed3.db", "db")])
def test_every_kind_yields_the_logs_exact_lines(run_dir, log_bytes, name, kind):
    run = open_run(run_dir / name)
    assert isinstance(run, RunFile)
    assert run.kind == kind and run.path == run_dir / name
    assert run.header["type"] == "run.started" and run.header["seed"] == 3 and run.header["scenario"] == "tiny"
    assert run.start_epoch == 1772409600000  # 2026-03-02T00:00:00.000Z
    assert list(run.lines()) == log_bytes.splitlines()
    assert list(run.records()) == [orjson.loads(line) for line in log_bytes.splitlines()]
    assert run.complete is True
    assert list(run.lines()) == log_bytes.splitlines()  # each call reads from the start again


def test_events_match_the_engines(run_dir):
    engine = replay_events(SCENARIO)
    for name in ("tiny-seed3.jsonl", "tiny-seed3.db"):
        read = list(open_run(run_dir / name).events())
        assert len(read) == len(engine)
        for got, want in zip(read, engine):
            assert (got.seq, got.t, got.type, got.shopper) == (want.seq, want.t, want.type, want.shopper)
            assert got.data == orjson.loads(orjson.dumps(want.data))
            assert not {"seq", "t", "type", "shopper"} & got.data.keys()
    assert read[-1].t == 2 * 86_400_000


def test_gzip_is_recognised_by_its_bytes_not_its_name(tmp_path, log_bytes):
    (tmp_path / "packed.jsonl").write_bytes(gzip.compress(log_bytes))
    (tmp_path / "plain.jsonl.gz").write_bytes(log_bytes)
    packed, plain = open_run(tmp_path / "packed.jsonl"), open_run(str(tmp_path / "plain.jsonl.gz"))
    assert packed.gzip and not plain.gzip
    assert list(packed.lines()) == list(plain.lines()) == log_bytes.splitlines()
    assert packed.complete and plain.complete


def test_a_database_is_recognised_by_its_header_and_left_untouched(run_dir, tmp_path, log_bytes):
    copy = tmp_path / "whatever.jsonl"
    copy.write_bytes((run_dir / "tiny-seed3.db").read_bytes())
    run = open_run(copy)
    assert run.kind == "db" and list(run.lines()) == log_bytes.splitlines()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["whatever.jsonl"]  # no -wal / -shm left behind


def test_incomplete_runs(tmp_path, log_bytes, run_dir):
    lines = log_bytes.splitlines(keepends=True)
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(b"".join(lines[:40]))
    run = open_run(cut)
    assert run.complete is False
    assert len(list(run.events())) == 40
    gz = tmp_path / "cut.jsonl.gz"
    gz.write_bytes(gzip.compress(b"".join(lines[:40])))
    assert open_run(gz).complete is False

    # A killed run: the last line stops half way.
    killed = tmp_path / "killed.jsonl"
    killed.write_bytes(b"".join(lines[:40]) + lines[40][:25])
    run = open_run(killed)
    assert run.complete is False
    assert list(run.lines())[-1] == lines[40][:25]
    msg = _error(killed)
    assert msg.startswith(f"{killed}:41: ") and "cut short" in msg

    # A database whose run stopped: no run.finished row.
    db = tmp_path / "stopped.db"
    db.write_bytes((run_dir / "tiny-seed3.db").read_bytes())
    con = sqlite3.connect(db)
    con.execute("DELETE FROM events WHERE seq = (SELECT max(seq) FROM events)")
    con.execute("UPDATE runs SET status = 'interrupted'")
    con.commit()
    con.close()
    assert open_run(db).complete is False


def test_a_log_without_its_final_newline_is_not_complete(tmp_path, log_bytes):
    p = tmp_path / "x.jsonl"
    p.write_bytes(log_bytes[:-1])
    assert open_run(p).complete is False
    assert list(open_run(p).lines()) == log_bytes.splitlines()


# --- errors: one line each, naming the file ------------------------------------------------------------

def test_missing_file_and_directory(tmp_path):
    assert _error(tmp_path / "nope.jsonl") == f"no run file at {tmp_path / 'nope.jsonl'}"
    assert _error(tmp_path) == f"{tmp_path} is a directory"
    assert not (tmp_path / "nope.jsonl").exists()


def test_missing_database_is_not_created(tmp_path):
    _error(tmp_path / "nope.db")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("content, fragment", [
    (b"", "is empty"),
    (gzip.compress(b"", mtime=0), "is empty"),
    (b"hello\nworld\n", "is not a shopsim event log (its first line is not run.started)"),
    (b'{"type":"shopper.created","seq":1}\n', "is not a shopsim event log (its first line is not run.started)"),
    (b"[1, 2]\n", "is not a shopsim event log"),
    (b"\x00\x01\x02binary", "is not a shopsim event log"),
    (b"\x1f\x8b\x08\x00garbage that is not deflate", "gzip"),
    (b'{"seq":1,"start":"yesterday","t":"2026-03-02T00:00:00.000Z","type":"run.started"}\n', "no valid start"),
], ids=["empty", "empty-gzip", "text", "other-type", "array", "binary", "bad-gzip", "bad-start"])
def test_foreign_files(tmp_path, content, fragment):
    p = tmp_path / "notes.txt"
    p.write_bytes(content)
    msg = _error(p)
    assert fragment in msg and str(p) in msg


def test_a_bad_line_is_named(tmp_path, log_bytes):
    lines = log_bytes.splitlines(keepends=True)
    p = tmp_path / "x.jsonl"
    p.write_bytes(b"".join(lines[:16]) + b"not json\n" + b"".join(lines[16:]))
    assert _error(p) == f"{p}:17: not a JSON object"
    p.write_bytes(b"".join(lines[:16]) + b"[1]\n" + b"".join(lines[16:]))
    assert _error(p) == f"{p}:17: not a JSON object"
    p.write_bytes(b"".join(lines[:5]) + lines[5].replace(b'"t":"2026-03-02T', b'"t":"2026-13-02T'))
    with pytest.raises(RunFileError, match=rf"^{p}:6: t is not a UTC instant"):
        list(open_run(p).events())
    # A day already seen, with an hour, a minute or a separator that is not one (its midnight is cached).
    t = orjson.loads(lines[5])["t"].encode()
    for bad in (t[:11] + b"24" + t[13:], t[:14] + b"60" + t[16:], t[:13] + b"-" + t[14:], t[:10] + b" " + t[11:]):
        p.write_bytes(b"".join(lines[:5]) + lines[5].replace(t, bad))
        with pytest.raises(RunFileError, match=rf"^{p}:6: t is not a UTC instant"):
            list(open_run(p).events())


def test_a_gzip_log_cut_short(tmp_path, log_bytes):
    packed = gzip.compress(log_bytes)
    p = tmp_path / "x.jsonl.gz"
    p.write_bytes(packed[: len(packed) // 2])
    run = open_run(p)  # the header is readable
    msg = _error(p)
    assert msg.startswith(f"{p}: the gzip data is cut short")
    assert run.kind == "log"


def test_foreign_and_empty_databases(tmp_path, run_dir):
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE notes (x)")
    con.commit()
    con.close()
    assert _error(other) == f"{other} is not a shopsim run (it has no events table)"

    bare = tmp_path / "bare.db"
    sqlite3.connect(bare).execute("CREATE TABLE t (x)").connection.execute("DROP TABLE t")
    assert "is not a shopsim run" in _error(bare)

    empty = tmp_path / "empty.db"
    empty.write_bytes((run_dir / "tiny-seed3.db").read_bytes())
    con = sqlite3.connect(empty)
    con.execute("DELETE FROM events")
    con.commit()
    con.close()
    assert _error(empty) == f"{empty} is empty (its events table has no rows)"

    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200)
    msg = _error(corrupt)
    assert str(corrupt) in msg


def test_a_database_whose_events_are_not_a_runs(tmp_path, run_dir):
    """An events table of an earlier shopsim (whole lines) is named as such; a row whose data is not JSON
    (an edited database) is named by its seq, not read as a wrong line."""
    old = tmp_path / "old.db"
    con = sqlite3.connect(old)
    con.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY, t_ms INTEGER, type TEXT, shopper TEXT, line TEXT)")
    con.commit()
    con.close()
    assert _error(old) == (f"{old} was written by an earlier shopsim (its events table keeps whole lines); "
                           "replay the scenario again to read it")

    edited = tmp_path / "edited.db"
    edited.write_bytes((run_dir / "tiny-seed3.db").read_bytes())
    con = sqlite3.connect(edited)
    con.execute("UPDATE events SET data = 'not json' WHERE seq = 7")
    con.commit()
    con.close()
    assert _error(edited) == f"{edited}: event 7 has no valid data (the database was edited or damaged)"


def test_gzip_compressed_database(tmp_path, run_dir):
    p = tmp_path / "run.db.gz"
    p.write_bytes(gzip.compress((run_dir / "tiny-seed3.db").read_bytes()))
    assert _error(p) == f"{p} is a gzip-compressed database; decompress it first"


def test_unreadable_file(tmp_path, log_bytes):
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    p = tmp_path / "x.jsonl"
    p.write_bytes(log_bytes)
    p.chmod(0)
    assert _error(p).startswith(f"cannot read {p}")


# --- reading with unread types: lines counted, not parsed ------------------------------------------------

UNREAD_TYPES = {"product.viewed", "browse.abandoned", "coupon.expired", "order.processing"}


def _read(path, unread=UNREAD_TYPES) -> tuple[list, dict]:
    counted: dict[str, int] = {}
    return list(open_run(path).events(unread=set(unread), counted=counted)), counted


def _unread_at(lines: list[bytes]) -> list[int]:
    """Line numbers (1-based) of the lines of an unread type, the last line excepted."""
    return [n for n, line in enumerate(lines[:-1], 1) if orjson.loads(line)["type"] in UNREAD_TYPES]


def test_unread_lines_are_counted_and_the_others_read_as_in_full(log_bytes, run_dir):
    every = list(open_run(run_dir / "tiny-seed3.jsonl").events())
    for name in ("tiny-seed3.jsonl", "tiny-seed3.jsonl.gz", "tiny-seed3.db"):
        events, counted = _read(run_dir / name)
        assert events == [ev for ev in every if ev.type not in UNREAD_TYPES]
        want = {t: sum(1 for ev in every if ev.type == t) for t in UNREAD_TYPES}
        assert counted == {t: k for t, k in want.items() if k} and len(counted) >= 2


def test_the_last_line_is_read_even_of_an_unread_type(tmp_path, log_bytes):
    lines = log_bytes.splitlines(keepends=True)
    last = _unread_at(lines)[-1]
    p = tmp_path / "cut.jsonl"
    p.write_bytes(b"".join(lines[:last]))
    events, counted = _read(p)
    assert events[-1] == list(open_run(p).events())[-1] and events[-1].seq == last
    assert len(events) + sum(counted.values()) == last


def test_a_line_missing_among_unread_lines_is_refused_as_in_a_full_read(tmp_path, log_bytes):
    lines = log_bytes.splitlines(keepends=True)
    n = _unread_at(lines)[3]
    p = tmp_path / "gap.jsonl"
    p.write_bytes(b"".join(lines[:n - 1] + lines[n:]))
    with pytest.raises(RunFileError) as full:
        list(open_run(p).events())
    assert str(full.value).startswith(f"{p}:{n}: seq {n + 1} where {n} was expected: line {n} is missing")
    with pytest.raises(RunFileError) as fast:
        _read(p)
    assert str(fast.value) == str(full.value)
    p.write_bytes(b"".join(lines[:n] + lines[n - 1:]))  # repeated
    with pytest.raises(RunFileError, match=f"seq {n} appears twice"):
        _read(p)


def test_a_gap_at_the_end_among_unread_lines_is_refused(tmp_path, log_bytes):
    lines = log_bytes.splitlines(keepends=True)
    last = _unread_at(lines)[-1]
    p = tmp_path / "gap.jsonl"
    p.write_bytes(b"".join(lines[:last - 2] + lines[last - 1:last]))
    with pytest.raises(RunFileError, match="missing"):
        _read(p)


def test_a_bad_line_before_an_error_is_the_one_named(tmp_path, log_bytes):
    lines = log_bytes.splitlines(keepends=True)
    n = _unread_at(lines)[2]
    bad = lines[n - 1].replace(b'"seq":', b'"seq":"x",', 1)  # still sniffed as its type: counted unparsed
    p = tmp_path / "bad.jsonl"
    p.write_bytes(b"".join(lines[:n - 1] + [bad] + lines[n:n + 3] + [b"not json\n"]))
    with pytest.raises(RunFileError) as full:
        list(open_run(p).events())
    with pytest.raises(RunFileError) as fast:
        _read(p)
    assert str(fast.value) == str(full.value) and str(full.value).startswith(f"{p}:{n}: ")


def test_a_line_whose_type_is_nested_is_parsed(tmp_path, log_bytes):
    lines = log_bytes.splitlines(keepends=True)
    n = _unread_at(lines)[0]
    rec = orjson.loads(lines[n - 1])
    rec["zz"] = {"type": "coupon.expired"}  # after `type`, an object whose own type must not be taken for it
    rec["type"] = "account.new_signin"
    odd = orjson.dumps(rec, option=orjson.OPT_SORT_KEYS) + b"\n"
    p = tmp_path / "odd.jsonl"
    p.write_bytes(b"".join(lines[:n - 1] + [odd] + lines[n:]))
    events, counted = _read(p)
    assert any(ev.seq == n and ev.type == "account.new_signin" for ev in events)


def test_bare_lines_come_without_data_and_the_rest_as_in_full(run_dir):
    every = list(open_run(run_dir / "tiny-seed3.jsonl").events())
    # session.started has `source` between shopper and t: its lines are parsed, and come whole
    bare = {"product.viewed", "session.started"}
    for name in ("tiny-seed3.jsonl", "tiny-seed3.db"):
        got = list(open_run(run_dir / name).events(bare=bare))
        assert [ev[:4] for ev in got] == [ev[:4] for ev in every]
        assert [ev.data is None for ev in got] == [ev.type == "product.viewed" for ev in every]
        assert [ev for ev in got if ev.data is not None] == [ev for ev in every if ev.type != "product.viewed"]
