"""Metrics.of_run reads a finished run mostly from the bytes of its lines (metrics/kpis_log.py); the KPIs must be
those of the plain read, every line parsed and fed event by event, for shipped scenarios in both forms a run is
kept in (log and database), and a damaged log must be refused with the message the plain read gives."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from shopsim.cli import main
from shopsim.metrics.kpis import _HANDLERS, Metrics
from shopsim.metrics.kpis_log import Doubt, read_run
from shopsim.store.runfile import RunFileError, open_run

# Retargeting ads and campaigns; reroutes, complaints and time zones; digests; unsubscribes; quiet hours;
# policies that change; an experiment (its arms need every event: read event by event from its assignments
# on). test_kpis_from_logs.py compares the logs of more against live KPIs.
SCENARIOS = ("flash_sale", "global_marketplace", "digests", "opt_out", "quiet_hours", "cap_added", "experiment")


def _replay(scenario: str, out: Path, *args: str, until: str = "2d") -> tuple[Path, Path]:
    log, db = out / f"{Path(scenario).stem}.jsonl", out / f"{Path(scenario).stem}.db"
    res = CliRunner().invoke(main, ["replay", scenario, "-q", "--until", until, "--log", str(log), "--db", str(db),
                                    *args], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return log, db


@pytest.fixture(scope="module", params=SCENARIOS)
def runs(request, tmp_path_factory) -> tuple[str, Path, Path, Path]:
    """A shipped scenario replayed for two days: its log, its database and the log gzip-compressed."""
    log, db = _replay(f"scenarios/{request.param}.yaml", tmp_path_factory.mktemp("run"))
    gz = log.with_suffix(".jsonl.gz")
    gz.write_bytes(gzip.compress(log.read_bytes()))
    return request.param, log, db, gz


def _plain(path: Path) -> Metrics:
    """The reference: every line parsed, every event through the handlers one at a time."""
    return Metrics.of(open_run(path).events())


def _kpis(m: Metrics) -> str:
    """Every figure, arms included, in the order the result gives them (json.dumps keeps it)."""
    arms = {f"{e}/{v}": arm.result() for (e, v), arm in m.arms.items()}
    return json.dumps([m.result(), arms])


@pytest.mark.parametrize("form", [0, 1, 2], ids=["log", "db", "gz"])
def test_the_kpis_of_a_run_are_those_of_the_plain_read(runs, form) -> None:
    name, *paths = runs
    path = paths[form]
    assert _kpis(Metrics.of_run(open_run(path))) == _kpis(_plain(path))
    m = Metrics()
    read_run(m, open_run(path), _HANDLERS, m.unread)  # without doubt: the run was not read a second time
    assert _kpis(m) == _kpis(_plain(path))
    assert bool(m.arms) == (name == "experiment")  # from its first assignment on, event by event


def test_a_run_that_starts_within_an_hour_is_read_event_by_event(tmp_path) -> None:
    text = Path("scenarios/cart_recovery.yaml").read_text()
    assert "start: 2026-03-02T00:00:00Z" in text
    (tmp_path / "late.yaml").write_text(text.replace("start: 2026-03-02T00:00:00Z", "start: 2026-03-02T00:30:00Z"))
    log, _ = _replay(str(tmp_path / "late.yaml"), tmp_path, "--no-db")
    with pytest.raises(Doubt, match="hour"):
        read_run(Metrics(), open_run(log), _HANDLERS, set())
    assert _kpis(Metrics.of_run(open_run(log))) == _kpis(_plain(log))


# --- lines not as the log writes them ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def lines(tmp_path_factory) -> list[bytes]:
    """A day of flash_sale, which has every type read from bytes, ads included."""
    log, _ = _replay("scenarios/flash_sale.yaml", tmp_path_factory.mktemp("flash"), "--no-db", until="1d")
    return log.read_bytes().splitlines(keepends=True)


def _at(lines: list[bytes], typ: str, has: bytes = b"") -> int:
    """The 0-based index of a line of type typ (that has those bytes), well inside the log."""
    found = [i for i, line in enumerate(lines) if line.endswith(b'"type":"' + typ.encode() + b'"}\n') and has in line]
    return found[len(found) // 3]


def _write(tmp_path: Path, lines: list[bytes], name: str = "odd.jsonl") -> Path:
    p = tmp_path / name
    p.write_bytes(b"".join(lines))
    return p


def test_a_valid_line_written_otherwise_gives_the_same_kpis(tmp_path, lines) -> None:
    odd = list(lines)
    i = _at(odd, "notification.requested")
    rec = orjson.loads(odd[i])
    odd[i] = json.dumps(rec).encode() + b"\n"                               # spaces after : and ,
    j = _at(odd, "notification.delivered", b'"channel":"email"')
    odd[j] = odd[j].replace(b'"channel":"email"', b'"channel":"\\u0065mail"', 1)  # an escape in a value read
    k = _at(odd, "session.started")
    odd[k] = orjson.dumps(dict(reversed(orjson.loads(odd[k]).items()))) + b"\n"  # keys in another order
    assert b"\\u0065mail" in odd[j]
    p = _write(tmp_path, odd)
    assert _kpis(Metrics.of_run(open_run(p))) == _kpis(_plain(p))


def _refused(p: Path) -> str:
    """The error of Metrics.of_run, which must be the plain read's."""
    with pytest.raises(RunFileError) as fast:
        Metrics.of_run(open_run(p))
    with pytest.raises(RunFileError) as plain:
        _plain(p)
    assert str(fast.value) == str(plain.value)
    return str(fast.value)


@pytest.mark.parametrize("typ", ["notification.requested", "notification.delivered", "ad.impression",
                                 "product.viewed"])
def test_a_damaged_log_is_refused_with_the_plain_reads_message(tmp_path, lines, typ) -> None:
    i = _at(lines, typ)
    n = i + 1  # its line number
    p = _write(tmp_path, lines[:i] + lines[i + 1:], "missing.jsonl")
    assert _refused(p).startswith(f"{p}:{n}: seq {n + 1} where {n} was expected: line {n} is missing")
    p = _write(tmp_path, lines[:i + 1] + lines[i:], "twice.jsonl")
    assert _refused(p).startswith(f"{p}:{n + 1}: seq {n} where {n + 1} was expected: seq {n} appears twice")
    p = _write(tmp_path, lines[:i] + [lines[i][:len(lines[i]) // 2] + b"\n"] + lines[i + 1:], "cut.jsonl")
    assert _refused(p) == f"{p}:{n}: not a JSON object"
    p = _write(tmp_path, lines[:i] + [b"not json\n"] + lines[i + 1:], "garbage.jsonl")
    assert _refused(p) == f"{p}:{n}: not a JSON object"
    p = _write(tmp_path, lines[:i] + [lines[i][:-40]], "killed.jsonl")  # the run was killed mid-line
    assert _refused(p) == f"{p}:{n}: the last line is cut short (no newline): the run was stopped while writing it"


@pytest.mark.parametrize("damage", [
    (b'"body":"', b'"body":"\\q'),          # an escape JSON does not have, in a field no KPI reads
    (b'"body":"', b'"body":"\xff'),          # a byte that is not UTF-8
    (b'"body":"', b'"body":"\t'),            # a control character left unescaped
    (b'"body":"', b'"body":"x","x":"'),     # still one object: a field no KPI reads, and JSON
])
def test_a_line_damaged_where_no_kpi_reads_is_still_refused(tmp_path, lines, damage) -> None:
    i = _at(lines, "notification.delivered", b'"body":"')
    n = i + 1
    old, new = damage
    p = _write(tmp_path, lines[:i] + [lines[i].replace(old, new, 1)] + lines[i + 1:])
    if new.startswith(b'"body":"x"'):  # valid JSON: read as the plain read reads it
        assert _kpis(Metrics.of_run(open_run(p))) == _kpis(_plain(p))
        return
    assert _refused(p) == f"{p}:{n}: not a JSON object"


def test_two_objects_on_one_line_are_refused(tmp_path, lines) -> None:
    i = _at(lines, "product.viewed")
    p = _write(tmp_path, lines[:i] + [lines[i].rstrip(b"\n") + b"," + lines[i + 1]] + lines[i + 2:])
    assert _refused(p) == f"{p}:{i + 1}: not a JSON object"


def test_report_names_the_bad_line_and_exits_2(tmp_path, lines) -> None:
    i = _at(lines, "notification.requested")
    p = _write(tmp_path, lines[:i] + lines[i + 1:])
    res = CliRunner().invoke(main, ["report", str(p)])
    assert res.exit_code == 2
    assert f"{p}:{i + 1}: seq {i + 2} where {i + 1} was expected" in res.output
