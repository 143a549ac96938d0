"""Golden logs: `shopsim replay --golden FILE [--update-golden]`, and the first-divergence diff behind it."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from helpers.scenarios import tiny_scenario
from shopsim.cli import main
from shopsim.qa.logdiff import Divergence, first_divergence, format_divergence

LOG = Path("runs") / "tiny-seed1.jsonl"


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.yaml").write_text(tiny_scenario(size=10, duration="2d", as_text=True))
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, ["replay", *(str(a) for a in args)], catch_exceptions=False)

    return invoke


def _golden(run, name="golden.jsonl") -> Path:
    res = run("tiny.yaml", "--no-db", "--golden", name, "--update-golden")
    assert res.exit_code == 0, res.output
    assert f"golden: created {name} (" in res.stderr
    return Path(name)


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines()


# --- the command line ----------------------------------------------------------------------------------

def test_create_then_match(run):
    golden = _golden(run)
    assert golden.read_bytes() == LOG.read_bytes()
    n = len(_lines(golden.read_bytes()))
    res = run("tiny.yaml", "--no-db", "--golden", golden)
    assert res.exit_code == 0, res.output
    assert f"golden: matches golden.jsonl ({n:,} events)" in res.stderr
    res = run("tiny.yaml", "--golden", golden, "-q")  # with the database too; quiet says nothing
    assert res.exit_code == 0 and res.output == ""


def test_a_different_seed_fails_with_the_first_difference(run):
    _golden(run)
    res = run("tiny.yaml", "--no-db", "--seed", "9", "--golden", "golden.jsonl", "-q")
    assert res.exit_code == 1
    err = res.stderr
    assert err.startswith("first difference at line 1 (2026-03-02T00:00:00.000Z): field seed differs\n")
    assert "--- golden.jsonl (golden)\n+++ runs/tiny-seed9.jsonl\n" in err
    assert '\n- {"description":"","duration":"2d","scenario":"tiny","schema_version":1,"seed":1,' in err
    assert '\n+ {"description":"","duration":"2d","scenario":"tiny","schema_version":1,"seed":9,' in err
    assert "\nseed: 1 -> 9\n" in err
    assert sum(line.startswith("- ") for line in err.splitlines()) == 4  # the line and 3 after it
    assert "run again with --update-golden" in err.splitlines()[-1]


def test_a_later_difference_shows_the_common_lines_before_it(run, tmp_path):
    _golden(run)
    (tmp_path / "tiny.yaml").write_text(tiny_scenario(
        size=10, duration="2d", as_text=True, events=[{"at": "1d", "shopper": "s000003", "session": True}]))
    res = run("tiny.yaml", "--no-db", "--golden", "golden.jsonl", "-q")
    assert res.exit_code == 1
    first = res.stderr.splitlines()[0]
    golden = _lines(Path("golden.jsonl").read_bytes())
    new = _lines(LOG.read_bytes())
    d = first_divergence(golden, new)
    assert d is not None and d.line_a > 11
    assert first.startswith(f"first difference at line {d.line_a} (")
    lines = res.stderr.splitlines()
    assert lines[3] == f"@@ line {d.line_a - 3} @@"
    for shown, line in zip(lines[4:7], golden[d.line_a - 4:d.line_a - 1]):
        assert line.decode().startswith(shown[2:].split("…")[0])
    assert all(x.startswith("  ") for x in lines[4:7]) and lines[7].startswith("- ")


def test_missing_golden_exits_2_before_the_run(run, tmp_path):
    res = run("tiny.yaml", "--golden", "nope.jsonl")
    assert res.exit_code == 2
    assert res.output == "shopsim: no golden log at nope.jsonl; run again with --update-golden to create it\n"
    assert not (tmp_path / "runs").exists() and not (tmp_path / "nope.jsonl").exists()


@pytest.mark.parametrize("content", [b"hello\n", b"", b"\x1f\x8b\x08\x00broken"])
def test_foreign_golden_exits_2_before_the_run(run, tmp_path, content):
    (tmp_path / "notes.txt").write_bytes(content)
    res = run("tiny.yaml", "--golden", "notes.txt")
    assert res.exit_code == 2
    assert res.output.count("\n") == 1 and res.output.startswith("shopsim: notes.txt ")
    assert not (tmp_path / "runs").exists()
    # --update-golden does not replace a file that is not a log, unless it is named like one
    res = run("tiny.yaml", "--golden", "notes.txt", "--update-golden")
    assert res.exit_code == 2 and "refusing to replace it" in res.output
    assert (tmp_path / "notes.txt").read_bytes() == content


def test_a_damaged_jsonl_golden_can_be_replaced(run, tmp_path):
    (tmp_path / "golden.jsonl").write_bytes(b"<<<<<<< HEAD\n")
    res = run("tiny.yaml", "--no-db", "--golden", "golden.jsonl", "--update-golden")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "golden.jsonl").read_bytes() == LOG.read_bytes()


@pytest.mark.parametrize("args, fragment", [
    (["--update-golden"], "--update-golden needs --golden FILE"),
    (["--golden", ""], "--golden needs a path"),
    (["--golden", "."], "is a directory"),
    (["--golden", "tiny.yaml", "--update-golden"], "is the scenario file"),
    (["--golden", "runs/tiny-seed1.jsonl", "--update-golden"], "is the event log this run writes"),
    (["--golden", "x.jsonl", "--log", "x.jsonl", "--update-golden"], "is the event log this run writes"),
])
def test_bad_golden_options_exit_2(run, tmp_path, args, fragment):
    res = run("tiny.yaml", *args)
    assert res.exit_code == 2
    assert fragment in res.output and res.output.count("\n") == 1
    assert not (tmp_path / "runs").exists() and not (tmp_path / "x.jsonl").exists()


def test_update_rewrites_the_golden(run):
    golden = _golden(run)
    res = run("tiny.yaml", "--no-db", "--seed", "4", "--golden", golden, "--update-golden")
    assert res.exit_code == 0, res.output
    assert "golden: updated golden.jsonl (" in res.stderr and "it first differed at line 1)" in res.stderr
    assert golden.read_bytes() == Path("runs/tiny-seed4.jsonl").read_bytes()
    assert run("tiny.yaml", "--no-db", "--seed", "4", "--golden", golden).exit_code == 0
    assert run("tiny.yaml", "--no-db", "--golden", golden, "-q").exit_code == 1
    # Updating with a matching run leaves the file alone.
    res = run("tiny.yaml", "--no-db", "--seed", "4", "--golden", golden, "--update-golden")
    assert res.exit_code == 0 and "already matches" in res.stderr


def test_gzip_golden(run, tmp_path):
    golden = _golden(run, "golden.jsonl.gz")
    data = golden.read_bytes()
    assert data[:2] == b"\x1f\x8b" and gzip.decompress(data) == LOG.read_bytes()
    res = run("tiny.yaml", "--no-db", "--golden", golden)
    assert res.exit_code == 0 and "golden: matches golden.jsonl.gz" in res.stderr
    assert run("tiny.yaml", "--no-db", "--seed", "2", "--golden", golden, "-q").exit_code == 1
    # The same log gives the same gzip bytes (no time stamp in the header): goldens do not churn.
    golden.unlink()
    _golden(run, "golden.jsonl.gz")
    assert golden.read_bytes() == data
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_a_golden_from_another_shopsim_version_still_matches(run):
    golden = _golden(run)
    lines = golden.read_bytes().split(b"\n", 1)
    head = orjson.loads(lines[0])
    assert head["version"]
    head["version"] = "0.0.1-old"
    golden.write_bytes(orjson.dumps(head, option=orjson.OPT_SORT_KEYS) + b"\n" + lines[1])
    res = run("tiny.yaml", "--no-db", "--golden", golden)
    assert res.exit_code == 0, res.output
    # Anything else in that line still counts.
    head["description"] = "edited"
    golden.write_bytes(orjson.dumps(head, option=orjson.OPT_SORT_KEYS) + b"\n" + lines[1])
    res = run("tiny.yaml", "--no-db", "--golden", golden)
    assert res.exit_code == 1 and "field description differs" in res.stderr


def test_log_on_stdout(run, tmp_path):
    golden = _golden(run)
    expected = golden.read_bytes()
    LOG.unlink()
    res = run("tiny.yaml", "--no-db", "--log", "-", "--golden", golden)
    assert res.exit_code == 0, res.stderr
    assert res.stdout_bytes == expected
    assert "golden: matches golden.jsonl" in res.stderr
    assert not LOG.exists()
    res = run("tiny.yaml", "--no-db", "--log", "-", "--seed", "3", "--golden", golden, "-q")
    assert res.exit_code == 1 and "+++ this run's log (stdout)" in res.stderr
    # --update-golden from stdout too
    res = run("tiny.yaml", "--no-db", "--log", "-", "--seed", "3", "--golden", "g3.jsonl.gz", "--update-golden")
    assert res.exit_code == 0
    assert gzip.decompress((tmp_path / "g3.jsonl.gz").read_bytes()) == res.stdout_bytes


def test_an_until_run_is_not_the_full_golden(run):
    _golden(run)
    res = run("tiny.yaml", "--no-db", "--until", "1d", "--golden", "golden.jsonl", "-q")
    assert res.exit_code == 1
    assert "field" in res.stderr.splitlines()[0]  # its own run.finished replaces a line of the full run


# --- first_divergence -------------------------------------------------------------------------------------

def _rec(seq: int, t: str = "2026-03-02T08:00:00.000Z", **fields) -> bytes:
    return orjson.dumps({"seq": seq, "t": t, "type": "x.happened", "shopper": "s000001", **fields},
                        option=orjson.OPT_SORT_KEYS)


def _log(n: int) -> list[bytes]:
    head = orjson.dumps({"seq": 1, "t": "2026-03-02T00:00:00.000Z", "type": "run.started", "shopper": None,
                         "version": "0.1.0", "seed": 1}, option=orjson.OPT_SORT_KEYS)
    return [head] + [_rec(i, f"2026-03-02T08:00:{i:02d}.000Z", n=i) for i in range(2, n + 1)]


def test_identical_logs_have_no_divergence():
    assert first_divergence(_log(20), _log(20)) is None
    assert first_divergence(iter(_log(20)), (line for line in _log(20)), context=0) is None
    assert first_divergence([], []) is None


def test_one_changed_field():
    a, b = _log(20), _log(20)
    b[9] = _rec(10, "2026-03-02T08:00:10.000Z", n=10, reason="quiet_hours", rule="r1")
    a[9] = _rec(10, "2026-03-02T08:00:10.000Z", n=10, reason="cap", rule="r2")
    d = first_divergence(a, b)
    assert isinstance(d, Divergence)
    assert (d.line_a, d.line_b, d.a, d.b) == (10, 10, a[9], b[9])
    assert d.before == tuple(a[6:9]) and d.after_a == tuple(a[10:13]) and d.after_b == tuple(b[10:13])
    assert d.fields == ["reason", "rule"] and not d.ended_early and d.shape == "changed"
    b[9] = _rec(10, "2026-03-02T08:00:11.000Z", n=10, reason="cap", rule="r2")
    assert first_divergence(a, b).fields == ["t"]
    text = format_divergence(first_divergence(a, b), "gold.jsonl", "new.jsonl")
    assert text.splitlines()[0] == "first difference at line 10 (2026-03-02T08:00:10.000Z, s000001): field t differs"
    assert text.splitlines()[1:4] == ["--- gold.jsonl", "+++ new.jsonl", "@@ line 7 @@"]
    assert '\nt: "2026-03-02T08:00:10.000Z" -> "2026-03-02T08:00:11.000Z"' in text


def test_a_number_written_differently_is_a_difference():
    a, b = _log(5), _log(5)
    a[2], b[2] = _rec(3, value=12), _rec(3, value=12.0)
    assert first_divergence(a, b).fields == ["value"]


def test_prefix_ends_early_both_ways():
    full, cut = _log(20), _log(12)
    d = first_divergence(full, cut)
    assert (d.line_a, d.a, d.b, d.ended_early, d.shape) == (13, full[12], None, True, "ended")
    assert d.after_a == tuple(full[13:16]) and d.after_b == () and d.fields == []
    assert "new ends after line 12 without a run.finished line" in format_divergence(d, "gold", "new")
    d = first_divergence(cut, full, context=1)
    assert (d.line_b, d.a, d.b, d.ended_early) == (13, None, full[12], True)
    assert d.before == (cut[-1],) and d.after_b == (full[13],)
    assert "gold ends after line 12; new goes on" in format_divergence(d, "gold", "new")


def test_run_started_version_is_ignored_and_nothing_else():
    a, b = _log(5), _log(5)
    b[0] = b[0].replace(b'"version":"0.1.0"', b'"version":"9.9.9"')
    assert a[0] != b[0] and first_divergence(a, b) is None
    b[0] = b[0].replace(b'"seed":1', b'"seed":2')
    d = first_divergence(a, b)
    assert d.line_a == 1 and d.fields == ["seed"]
    # `version` on another type is an ordinary field
    a, b = _log(5), _log(5)
    a[3], b[3] = _rec(4, version="1"), _rec(4, version="2")
    assert first_divergence(a, b).fields == ["version"]


def test_ignore_seq_reports_an_inserted_event():
    a = _log(20)
    extra = _rec(0, "2026-03-02T08:00:09.500Z", n=99)
    b_recs = [orjson.loads(x) for x in a[:9]] + [orjson.loads(extra)] + [orjson.loads(x) for x in a[9:]]
    b = [orjson.dumps({**r, "seq": i}, option=orjson.OPT_SORT_KEYS) for i, r in enumerate(b_recs, 1)]
    plain = first_divergence(a, b)
    assert plain.line_a == 10 and plain.shape == "changed"
    d = first_divergence(a, b, context=3, ignore=("seq",))
    assert (d.line_a, d.line_b, d.a, d.b, d.shape) == (10, 10, a[9], b[9], "inserted")
    assert "seq" not in d.fields and "t" in d.fields
    text = format_divergence(d, "a", "b")
    assert text.splitlines()[0] == ("first difference at line 10 (2026-03-02T08:00:09.500Z, s000001): "
                                    "b has an extra x.happened line")
    assert [line[:2] for line in text.splitlines()[4:]] == ["  "] * 3 + ["+ "] + ["  "] * 3
    # and the other way round, a removed one
    d = first_divergence(b, a, ignore=("seq",))
    assert d.shape == "removed" and d.a == b[9]
    # logs equal apart from seq are the same under ignore=("seq",)
    shifted = [orjson.dumps({**orjson.loads(x), "seq": orjson.loads(x)["seq"] + 5}, option=orjson.OPT_SORT_KEYS)
               for x in a]
    assert first_divergence(a, shifted, ignore=("seq",)) is None
    assert first_divergence(a, shifted).fields == ["seq"]


def test_non_json_lines_and_long_lines():
    d = first_divergence([b"a", b"b", b"c"], [b"a", b"x", b"c"])
    assert d.fields == [] and d.line_a == 2
    assert format_divergence(d, "A", "B").splitlines()[0] == "first difference at line 2: the lines differ"
    long_a = _rec(2, payload="x" * 5000 + "A" + "y" * 3000)
    long_b = _rec(2, payload="x" * 5000 + "B" + "y" * 3000)
    text = format_divergence(first_divergence([long_a], [long_b]), "A", "B")
    minus = next(line for line in text.splitlines() if line.startswith("- "))
    plus = next(line for line in text.splitlines() if line.startswith("+ "))
    assert len(minus) < 250 and "xA" in minus and "xB" in plus and minus.startswith("- …")
    assert all(len(line) < 250 for line in text.splitlines())
