"""`shopsim replay`: play a scenario headless, writing the event log and the run's database."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import IO, Sequence

import click

from shopsim.cli.common import EXIT_BAD_INPUT, EXIT_EXPECTATIONS, fail, load_or_exit, overrides_or_exit
from shopsim.cli.golden import Golden
from shopsim.cli.outputs import (claim_outputs, database_url, distinct_outputs, fail_output, one_line, open_log,
                                 writable_file)
from shopsim.cli.summary import Tally, print_summary
from shopsim.notify.templates import TemplateLimitError
from shopsim.scenario.compiled import compile_scenario
from shopsim.scenario.loader import problem_in_file
from shopsim.scenario.overrides import Override
from shopsim.contract.units import parse_duration
from shopsim.contract.clock import HOUR
from shopsim.simulation import Simulation
from shopsim.store.outputs import Claim, OutputError, probe_new_file
from shopsim.store.recorder import Recorder
from shopsim.store.errors import StoreError
from shopsim.textsafe import visible
from shopsim.workers import SplitRun, WorkerLost, shared_state

RUNS_DIR = Path("runs")
# Exit codes of a run stopped by a signal: 128 + the signal's number, as shells report a process killed by it.
EXIT_SIGINT, EXIT_SIGTERM, EXIT_BROKEN_PIPE = 130, 143, 141


class _Terminated(BaseException):
    """SIGTERM, raised in the main thread as KeyboardInterrupt is for SIGINT (a BaseException, so that no
    `except Exception` on the way can take it for an error)."""


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


_SIGNALS = {signal.SIGINT: (EXIT_SIGINT, "interrupted (Ctrl-C)"), signal.SIGTERM: (EXIT_SIGTERM, "terminated")}


@click.command("replay")
@click.argument("scenario")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="root seed (default: the scenario's)")
@click.option("--set", "sets", multiple=True, metavar="PATH=VALUE",
              help="change one value of the scenario before it is checked, in the file's own paths, e.g. "
                   "flows.reminder.steps[0].after=4h (repeatable)")
@click.option("--until", "until_ms", callback=_duration_arg, metavar="DURATION",
              help="stop after this much virtual time, e.g. 3d (default: the scenario's duration)")
@click.option("--db", metavar="PATH|URL", help="SQLite file or SQLAlchemy URL (default: runs/NAME-seedN.db)")
@click.option("--no-db", is_flag=True, help="do not write a database")
@click.option("--log", "log", metavar="PATH|-",
              help="event log, '-' for stdout, gzip if PATH ends in .gz (default: runs/NAME-seedN.jsonl)")
@click.option("--quiet", "-q", is_flag=True, help="no progress bar and no summary")
@click.option("--golden", metavar="FILE",
              help="after the run, compare its event log with FILE (.jsonl or .jsonl.gz; run.started's version "
                   "is not compared): exit 1 and print the first difference if they differ")
@click.option("--update-golden", is_flag=True,
              help="write the run's event log to the --golden FILE instead (gzip if FILE ends in .gz)")
@click.option("--check", is_flag=True,
              help="evaluate the scenario's expect: section; print a pass/fail table and exit 1 on any failure")
@click.option("--junit", metavar="FILE", help="also write the checks as JUnit XML to FILE (implies --check)")
@click.option("--workers", type=click.IntRange(1, 256), default=1, show_default=True,
              help="play the population split by shopper across this many processes; the log is the same bytes")
def replay_cmd(scenario: str, seed: int | None, until_ms: int | None, db: str | None, no_db: bool,
               log: str | None, quiet: bool, golden: str | None = None, update_golden: bool = False,
               check: bool = False, junit: str | None = None, workers: int = 1, sets: tuple[str, ...] = ()) -> None:
    """Play SCENARIO (a file, or a shipped scenario's name) headless and record every event."""
    # From here to the end, SIGINT raises KeyboardInterrupt and SIGTERM _Terminated, whatever is running:
    # before the run nothing is written, during it the files are closed and marked, after it they are whole.
    previous = {sig: signal.signal(sig, _raise_terminated if sig == signal.SIGTERM else signal.default_int_handler)
                for sig in _SIGNALS}
    claim = Claim()
    stage = "before"
    try:
        plan = _Plan.prepare(scenario, seed, until_ms, db, no_db, log, golden, update_golden,
                             check or junit is not None, junit, workers, overrides_or_exit(sets))
        plan.claim(claim, quiet)
        stage = "run"
        wall = time.perf_counter()
        sim, tally, expectations = _run(plan.cs, plan.until, claim, plan.db_url, db, plan.db_path, plan.log_path,
                                        plan.gold, plan.check, quiet, plan.path, workers)
        stage = "after"
        if not quiet:
            print_summary(sim, tally, plan.log_path, plan.db_url and db, plan.db_path, time.perf_counter() - wall,
                          to_stderr=plan.log_path is None)
        if plan.judge(expectations, quiet):
            sys.exit(EXIT_EXPECTATIONS)
    except (KeyboardInterrupt, _Terminated) as e:
        _stopped_outside_the_run(e, stage, claim)
    except BrokenPipeError:  # the reader of the summary (or of the checks' table) went away
        _quiet_stdout()
        sys.exit(EXIT_BROKEN_PIPE)
    finally:
        claim.release()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _Plan:
    """What a replay's options come to, each checked before anything is written: the compiled scenario, where
    its outputs go, the golden comparison and the checks."""

    def __init__(self, path: Path, cs, log: str | None, log_path: Path | None, db: str | None, db_url: str | None,
                 db_path: Path | None, gold: Golden | None, check: bool, junit: str | None, until: int,
                 until_ms: int | None, no_db: bool):
        self.path, self.cs, self.log_path, self.db_url, self.db_path = path, cs, log_path, db_url, db_path
        self.gold, self.check, self.junit, self.until, self.until_ms = gold, check, junit, until, until_ms
        self.default_names = not log or (not no_db and not db)

    @classmethod
    def prepare(cls, scenario: str, seed: int | None, until_ms: int | None, db: str | None, no_db: bool,
                log: str | None, golden: str | None, update_golden: bool, check: bool, junit: str | None,
                workers: int = 1, overrides: Sequence[Override] = ()) -> "_Plan":
        path, model = load_or_exit(scenario, overrides)
        _no_folders(log, db, junit, golden)
        cs = compile_scenario(model, seed)
        if workers > 1:
            shared = shared_state(cs)
            if shared is not None:
                fail(visible(str(problem_in_file(path, shared.path, f"--workers {workers}: {shared.reason}"))))
        stem = f"{cs.name}-seed{cs.seed}"
        log_path = None if log == "-" else Path(log) if log else RUNS_DIR / f"{stem}.jsonl"
        db_url, db_path = (None, None) if no_db else database_url(db or str(RUNS_DIR / f"{stem}.db"))
        distinct_outputs(path, log_path, db_path)
        if log_path is not None:
            writable_file(log_path, "event log", default_name=not log)
        if db_path is not None:
            writable_file(db_path, "database", default_name=not db)
        if golden is not None and golden.strip():
            _readable_golden(Path(golden), update_golden)
        gold = Golden.prepare(golden, update_golden, path, log_path, db_path)  # exits 2 before the run
        if junit is not None:
            if not junit.strip():
                fail("--junit needs a file name")
            writable_file(Path(junit), "JUnit file")
        until = cs.duration if until_ms is None else min(until_ms, cs.duration)
        return cls(path, cs, log, log_path, db, db_url, db_path, gold, check, junit, until, until_ms, no_db)

    def claim(self, claim: Claim, quiet: bool) -> None:
        """Make sure the files only this run may create are new, then claim every output."""
        try:
            if self.gold is not None and self.gold.update:
                probe_new_file(self.gold.path, "the golden log")
            if self.junit is not None:
                probe_new_file(Path(self.junit), "JUnit file")
        except OutputError as e:
            claim.abandon()
            fail_output(e, self.default_names)
        claim_outputs(claim, self.log_path, self.db_path, self.db_url, self.default_names)
        if self.until_ms is not None and self.until_ms > self.cs.duration and not quiet:
            click.echo(f"shopsim: --until is past the scenario's end; the run stops at {self.cs.model.run.duration}.",
                       err=True)

    def judge(self, expectations, quiet: bool) -> bool:
        """After a complete run: the checks' table (and JUnit file) and the golden comparison; whether any failed."""
        failed = False
        if self.check:
            failed = _checks_failed(expectations, self.cs, self.junit, to_stderr=self.log_path is None)
        if self.gold is not None:
            failed = not self.gold.conclude(self.log_path, quiet) or failed
        return failed


def _no_folders(log: str | None, db: str | None, junit: str | None, golden: str | None) -> None:
    for value, option in ((log, "--log"), (db, "--db"), (junit, "--junit"), (golden, "--golden")):
        if value is not None and not value.strip() and option in ("--log", "--db"):
            fail(f"{option} needs a path (or leave it out for the default)")
        if value is not None and value.endswith(os.sep) and "://" not in value:
            fail(f"{option} {value} names a folder; give a file name")


def _checks_failed(expectations, cs, junit: str | None, to_stderr: bool) -> bool:
    from shopsim.cli.check import junit_xml, print_outcomes, write_junit
    outcomes = expectations.finish()
    print_outcomes(outcomes, cs.name, to_stderr=to_stderr)
    if junit is not None:
        try:
            write_junit(Path(junit), junit_xml(outcomes, cs.name, cs.seed))
        except OSError as e:
            fail(f"cannot write JUnit file {junit}: {e.strerror or e} (the run itself is complete)")
    return any(not o.passed for o in outcomes)


def _stopped_outside_the_run(e: BaseException, stage: str, claim: Claim) -> None:
    """A signal before the run (nothing was written) or after it (its outputs are whole): say so and exit."""
    code, what = _SIGNALS[signal.SIGTERM if isinstance(e, _Terminated) else signal.SIGINT]
    if stage == "before":
        claim.abandon()
        click.echo(f"\nshopsim: {what} before the run started; nothing was written.", err=True)
    else:  # "after": the run's own handler covers the run
        click.echo(f"\nshopsim: {what} after the run finished (its outputs are complete); the summary and "
                   "checks were cut short.", err=True)
    sys.exit(code)


def _run(cs, until: int, claim: Claim, db_url: str | None, db: str | None, db_path: Path | None,
         log_path: Path | None, gold: Golden | None, check: bool, quiet: bool, scenario_path: Path, workers: int = 1):
    """Play the run, writing its log and database; on any way it ends but success, say how and exit."""
    sim = store = out = None
    expectations = None
    status, exit_code, why = "failed", 0, None
    tally = Tally()
    store_error: StoreError | None = None
    opening = False
    try:
        # The log and the store keep every message; a split run is seen through the same API.
        sim = Simulation(cs, keep_messages=False) if workers == 1 else SplitRun(cs, workers, until)
        if db_url is not None:
            opening = True  # from here the database may be changed, even if opening it is cut short
            store = _open_store(db_url, db, cs, claim)
        # Only now is an earlier log at that path replaced: a replay that cannot start leaves it alone.
        out = open_log(log_path, claim)
        claim.keep()
        if gold is not None:
            out = gold.capture(out)  # a log on stdout is also copied, for the comparison
        sim.subscribe(Recorder(cs.start_epoch, _LogStream(out), store))
        sim.subscribe(tally)
        if check:
            from shopsim.qa.expect import Expectations
            expectations = Expectations(sim)
            sim.subscribe(expectations)
        _play(sim, until, show_progress=not quiet and sys.stderr.isatty())
        sim.finish()
        status = "finished"
    except (KeyboardInterrupt, _Terminated) as e:
        exit_code, what = _SIGNALS[signal.SIGTERM if isinstance(e, _Terminated) else signal.SIGINT]
        status = "interrupted"
        if store is None and out is None and not opening:
            claim.abandon()
            why = f"{what} before the run started; nothing was written."
        elif store is None and out is None:
            claim.keep()
            why = (f"{what} while the database was being opened, before the run started; the event log was not "
                   f"written and the database {db or db_url} holds no complete run.")
        else:
            why = f"{what} {_at(sim)}"
    except _LogError as e:
        if isinstance(e.error, BrokenPipeError) and log_path is None:
            # The reader of `--log -` went away (e.g. `| head`): stop quietly, as command-line tools do.
            status, exit_code = "interrupted", EXIT_BROKEN_PIPE
            _quiet_stdout()
        else:
            status, exit_code = "failed", EXIT_BAD_INPUT
            why = f"{_log_problem(log_path, e.error)}; the run stopped {_at(sim)}"
    except StoreError as e:
        status, exit_code, store_error = "failed", EXIT_BAD_INPUT, e
        why = f"the run stopped {_at(sim)}"
    except TemplateLimitError as e:  # the scenario's own template, on a real message: its input, located
        status, exit_code = "failed", EXIT_BAD_INPUT
        why = f"{visible(str(problem_in_file(scenario_path, e.path, e.message)))}; the run stopped {_at(sim)}"
    except WorkerLost as e:
        status, exit_code = "failed", EXIT_BAD_INPUT
        why = f"the run stopped {_at(sim)}: {e}"
    except OSError as e:  # neither the log nor the database: say what the system said
        status, exit_code = "failed", EXIT_BAD_INPUT
        why = f"the run stopped {_at(sim)}: {e.strerror or e}" + (f" ({e.filename})" if e.filename else "")
    finally:
        # Finishing must not be cut in half by a second Ctrl-C: the files would disagree.
        for sig in _SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        try:
            if out is not None and exit_code != EXIT_BROKEN_PIPE:
                try:
                    # The last buffered lines are written here: a full disk shows up now. stdout stays open.
                    if out is not sys.stdout.buffer:
                        out.close()
                    if log_path is None:
                        sys.stdout.buffer.flush()
                except OSError as e:
                    if isinstance(e, BrokenPipeError) and log_path is None:
                        status, exit_code = "interrupted", EXIT_BROKEN_PIPE
                        _quiet_stdout()
                    else:
                        problem = _log_problem(log_path, e)
                        why = problem if why is None else f"{why}; {problem}"
                        status, exit_code = "failed", EXIT_BAD_INPUT
            if store is not None and store_error is None:
                try:
                    store.close(status, sim.now)
                except StoreError as e:
                    store_error, exit_code = e, EXIT_BAD_INPUT
        finally:
            for sig, handler in ((signal.SIGINT, signal.default_int_handler), (signal.SIGTERM, _raise_terminated)):
                signal.signal(sig, handler)
    if exit_code == EXIT_BROKEN_PIPE:
        sys.exit(exit_code)
    if exit_code:
        click.echo(("\n" if status == "interrupted" else "") + "shopsim: "
                   + _ending(status, why, store, store_error, str(db_path) if db_path is not None else db or db_url),
                   err=True)
        sys.exit(exit_code)
    return sim, tally, expectations


def _ending(status: str, why: str | None, store, store_error: StoreError | None, db: str | None) -> str:
    """How a run that did not succeed ended, in one message: why, then what the log and the database say."""
    if why is not None and why.endswith(("nothing was written.", "holds no complete run.")):
        return why
    head = [f"cannot write the database {db}: {store_error}"] if store_error is not None else []
    if why is not None:
        head.append(why)
    log = "the event log is complete" if status == "finished" else "the event log has no run.finished line"
    if store is None:
        tail = log
    elif store_error is None:
        tail = f"{log} and the database is marked '{status}'"
    elif store_error.marked:
        tail = f"{log}{', but' if status == 'finished' else ' and'} the database is marked 'failed'"
    else:
        tail = f"{log}; the database could not even be marked 'failed', so it still says 'running' (never 'finished')"
    return "; ".join([*head, tail]) + "."


def _open_store(url: str, db: str | None, cs, claim: Claim):
    from shopsim.store.process import open_store

    try:
        return open_store(url, cs)
    except Exception as e:  # a bad URL, a missing driver, a file that is not a database: user input
        claim.abandon()
        fail(f"cannot open database {db or url}: {one_line(e)}")


class _LogError(Exception):
    """Writing the event log failed; `error` is the OSError (told apart from the other OSErrors of a run)."""

    def __init__(self, error: OSError):
        super().__init__(str(error))
        self.error = error


class _LogStream:
    """What the Recorder writes the log to: the log's stream, its errors raised as _LogError."""

    __slots__ = ("f",)

    def __init__(self, f: IO[bytes]):
        self.f = f

    def write(self, chunk: bytes) -> int:
        try:
            return self.f.write(chunk)
        except OSError as e:
            raise _LogError(e) from e


def _log_problem(log_path: Path | None, e: OSError) -> str:
    where = log_path if log_path is not None else "to stdout"
    return f"cannot write the event log {where}: {e.strerror or e}"


def _readable_golden(path: Path, update: bool) -> None:
    """A golden path the system refuses outright (a name too long, a folder that is a file) is a located
    message, before Golden.prepare looks at it."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError) as e:
        if isinstance(e, NotADirectoryError) and update:
            fail(f"cannot write the golden log {path}: {e.strerror}")
    except OSError as e:
        fail(f"cannot {'write' if update else 'read'} the golden log {path}: {e.strerror or e}")


def _at(sim: Simulation | None) -> str:
    return f"at virtual time {sim.iso()}" if sim is not None else "before the run started"


def _quiet_stdout() -> None:
    """The reader of stdout is gone: point stdout at /dev/null so the interpreter's last flush stays silent."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass


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
