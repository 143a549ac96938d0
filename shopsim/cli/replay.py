"""`shopsim replay`: play a scenario headless, writing the event log and the run's database."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import IO

import click

from shopsim.cli.common import EXIT_BAD_INPUT, EXIT_EXPECTATIONS, fail, load_or_exit
from shopsim.cli.golden import Golden
from shopsim.cli.summary import Tally, print_summary
from shopsim.scenario.compiled import compile_scenario
from shopsim.scenario.units import parse_duration
from shopsim.sim.clock import HOUR
from shopsim.sim.engine import Simulation
from shopsim.store.recorder import Recorder

RUNS_DIR = Path("runs")


class _Terminated(Exception):
    pass


def _duration_arg(_ctx, _param, value):
    if value is None:
        return None
    try:
        ms = parse_duration(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    if ms <= 0:
        raise click.BadParameter("must be a positive duration")
    return ms


def _writable_file(path: Path, what: str) -> None:
    """Fail before anything is written if `path` cannot be created."""
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        fail(f"{what} {path} is a directory; give a file name")
    probe = parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK):
        fail(f"cannot write {what} {path}: {probe} is not a writable directory")
    if path.exists() and not os.access(path, os.W_OK):
        fail(f"cannot write {what} {path}: permission denied")


def _db_url(db: str) -> tuple[str, Path | None]:
    if "://" in db:
        return db, None
    return f"sqlite:///{Path(db)}", Path(db)


@click.command("replay")
@click.argument("scenario")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="root seed (default: the scenario's)")
@click.option("--until", "until_ms", callback=_duration_arg, metavar="DURATION",
              help="stop after this much virtual time, e.g. 3d (default: the scenario's duration)")
@click.option("--db", metavar="PATH|URL", help="SQLite file or SQLAlchemy URL (default: runs/NAME-seedN.db)")
@click.option("--no-db", is_flag=True, help="do not write a database")
@click.option("--log", "log", metavar="PATH|-", help="event log, '-' for stdout (default: runs/NAME-seedN.jsonl)")
@click.option("--quiet", "-q", is_flag=True, help="no progress bar and no summary")
@click.option("--golden", metavar="FILE",
              help="after the run, compare its event log with FILE (.jsonl or .jsonl.gz; run.started's version "
                   "is not compared): exit 1 and print the first difference if they differ")
@click.option("--update-golden", is_flag=True,
              help="write the run's event log to the --golden FILE instead (gzip if FILE ends in .gz)")
@click.option("--check", is_flag=True,
              help="evaluate the scenario's expect: section; print a pass/fail table and exit 1 on any failure")
@click.option("--junit", metavar="FILE", help="also write the checks as JUnit XML to FILE (implies --check)")
def replay_cmd(scenario: str, seed: int | None, until_ms: int | None, db: str | None, no_db: bool,
               log: str | None, quiet: bool, golden: str | None = None, update_golden: bool = False,
               check: bool = False, junit: str | None = None) -> None:
    """Play SCENARIO (a file, or a shipped scenario's name) headless and record every event."""
    path, model = load_or_exit(scenario)
    for value, option in ((log, "--log"), (db, "--db")):
        if value is not None and not value.strip():
            fail(f"{option} needs a path (or leave it out for the default)")
    cs = compile_scenario(model, seed)
    stem = f"{cs.name}-seed{cs.seed}"
    log_path = None if log == "-" else Path(log) if log else RUNS_DIR / f"{stem}.jsonl"
    db_url, db_path = (None, None) if no_db else _db_url(db or str(RUNS_DIR / f"{stem}.db"))
    _distinct_outputs(path, log_path, db_path)
    if log_path is not None:
        _writable_file(log_path, "event log")
    if db_path is not None:
        _writable_file(db_path, "database")
    gold = Golden.prepare(golden, update_golden, path, log_path, db_path)  # exits 2 before the run
    check = check or junit is not None
    if junit is not None:
        if not junit.strip():
            fail("--junit needs a file name")
        _writable_file(Path(junit), "JUnit file")
    until = cs.duration if until_ms is None else min(until_ms, cs.duration)
    if until_ms is not None and until_ms > cs.duration and not quiet:
        click.echo(f"shopsim: --until is past the scenario's end; the run stops at {cs.model.run.duration}.",
                   err=True)

    wall = time.perf_counter()
    previous = {sig: signal.signal(sig, _raise_terminated if sig == signal.SIGTERM else signal.default_int_handler)
                for sig in (signal.SIGTERM, signal.SIGINT)}
    sim = store = out = None
    status, exit_code = "failed", 0
    tally = Tally()
    try:
        sim = Simulation(cs, keep_messages=False)  # the log and the store keep every message
        if db_url is not None:
            store = _open_store(db_url, db, db_path, cs)
        # Only now is an earlier log at that path replaced: a replay that cannot start leaves it alone.
        out = _open_log(log_path)
        if gold is not None:
            out = gold.capture(out)  # a log on stdout is also copied, for the comparison
        sim.subscribe(Recorder(cs.start_epoch, out, store))
        sim.subscribe(tally)
        if check:
            from shopsim.metrics.expect import Expectations
            expectations = Expectations(sim)
            sim.subscribe(expectations)
        _play(sim, until, show_progress=not quiet and sys.stderr.isatty())
        sim.finish()
        status = "finished"
    except (KeyboardInterrupt, _Terminated) as e:
        status, exit_code = "interrupted", 130
        what = "interrupted (Ctrl-C)" if isinstance(e, KeyboardInterrupt) else "terminated"
        marked = " and the database is marked 'interrupted'" if store is not None else ""
        when = f"at virtual time {sim.iso()}" if sim is not None else "before the run started"
        click.echo(f"\nshopsim: {what} {when}; the event log has no run.finished line{marked}.", err=True)
    except BrokenPipeError:
        # The reader of `--log -` went away (e.g. `| head`): stop quietly, as command-line tools do.
        status, exit_code = "interrupted", 141
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except OSError as e:
        status, exit_code = "failed", EXIT_BAD_INPUT
        click.echo(f"shopsim: cannot write the event log {log_path or 'to stdout'}: {e.strerror or e}; "
                   "the run stopped and the database is marked 'failed'.", err=True)
    finally:
        # Finishing must not be cut in half by a second Ctrl-C: the files would disagree.
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        try:
            if out is not None and out is not sys.stdout.buffer:
                try:
                    out.close()  # the last buffered lines are written here: a full disk shows up now
                except OSError as e:
                    status, exit_code = "failed", EXIT_BAD_INPUT
                    click.echo(f"shopsim: cannot write the event log {log_path}: {e.strerror or e}; "
                               "the database is marked 'failed'.", err=True)
            if store is not None:
                store.close(status, sim.now if sim is not None else 0)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    if exit_code:
        sys.exit(exit_code)
    if not quiet:
        print_summary(sim, tally, log_path, db_url and db, db_path, time.perf_counter() - wall,
                      to_stderr=log_path is None)
    failed = False
    if check:
        from shopsim.cli.check import junit_xml, print_outcomes, write_junit
        outcomes = expectations.finish()
        print_outcomes(outcomes, cs.name, to_stderr=log_path is None)
        if junit is not None:
            write_junit(Path(junit), junit_xml(outcomes, cs.name, cs.seed))
        failed = any(not o.passed for o in outcomes)
    if gold is not None:
        failed = not gold.conclude(log_path, quiet) or failed
    if failed:
        sys.exit(EXIT_EXPECTATIONS)


def _distinct_outputs(scenario: Path, log: Path | None, db: Path | None) -> None:
    """Refuse to write over the scenario being replayed, or the log and the database over each other."""
    def same(a: Path | None, b: Path | None) -> bool:
        return a is not None and b is not None and a.resolve() == b.resolve()

    for out, what in ((log, "event log"), (db, "database")):
        if same(out, scenario):
            fail(f"the {what} {out} is the scenario file itself; choose another path")
    if same(log, db):
        fail(f"the event log and the database are the same file ({log}); give them different paths")


def _open_store(url: str, db: str | None, db_path: Path | None, cs):
    from shopsim.store.process import open_store

    if db_path is not None:
        db_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return open_store(url, cs)
    except Exception as e:  # a bad URL, a missing driver, a file that is not a database: user input
        fail(f"cannot open database {db or url}: {_one_line(e)}")


def _open_log(log_path: Path | None) -> IO[bytes]:
    if log_path is None:
        return sys.stdout.buffer
    try:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        return open(log_path, "wb", buffering=1 << 20)
    except OSError as e:  # the caller's finally marks the database 'failed'
        fail(f"cannot write event log {log_path}: {e.strerror or e}")


def _one_line(e: Exception) -> str:
    text = str(e).splitlines()[0] if str(e) else e.__class__.__name__
    text = text.replace("(sqlite3.OperationalError) ", "").replace("(sqlite3.DatabaseError) ", "")
    if isinstance(e, ModuleNotFoundError):
        return f"{text}; install the database's driver (e.g. pip install psycopg) into shopsim's environment"
    return text


def _raise_terminated(_signum, _frame):
    raise _Terminated()


def _play(sim: Simulation, until: int, show_progress: bool) -> None:
    step = max(HOUR, until // 400)
    if not show_progress:
        sim.run_until(until) if until < sim.end else sim.run()
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[clock]}"),
               TextColumn("{task.fields[events]:>10,} events"), TimeElapsedColumn())
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task(sim.scenario.name, total=until, clock="", events=0)
        while sim.now < until:
            sim.run_until(min(until, sim.now + step))
            bar.update(task, completed=sim.now, clock=sim.iso()[:16].replace("T", " "),
                       events=sim.emitted)
