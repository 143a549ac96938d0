"""`shopsim` (bare) and `shopsim run SCENARIO`: open the terminal app."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import IO

import click

from shopsim.cli.common import EXIT_BAD_INPUT, fail
from shopsim.scenario.shipped import find_scenario


def open_app(scenario: str | None, seed: int | None = None, play: bool = False, presenter: bool = False,
             log: str | None = None, db: str | None = None) -> None:
    # The outputs first: a bad path fails before anything else, with nothing written.
    outputs = plan_outputs(scenario, seed, log, db) if log is not None or db is not None else None
    served = "TEXTUAL_DRIVER" in os.environ  # textual-serve runs the app on pipes, with its own driver
    if not served and (not sys.stdin.isatty() or not sys.stdout.isatty()):
        if outputs is not None:
            outputs.claim.abandon()
        click.echo("shopsim: the terminal app needs a terminal; for a headless run use `shopsim replay`.",
                   err=True)
        sys.exit(2)
    if outputs is not None:
        open_outputs(outputs)
    from shopsim.tui.app import make_app  # Textual is imported only when the app opens

    path = find_scenario(scenario) if scenario is not None else None
    if not served:
        _leave_when_the_terminal_goes(sys.stdin.fileno())
    try:
        make_app(path, seed, autoplay=play, presenter=presenter, outputs=outputs).run()
    finally:
        if outputs is not None:
            from shopsim.textsafe import visible

            click.echo(f"shopsim: {visible(outputs.close())}.", err=True)
    if outputs is not None and outputs.problems:
        sys.exit(EXIT_BAD_INPUT)


def plan_outputs(scenario: str | None, seed: int | None, log: str | None, db: str | None):
    """Check and claim `--log` and `--db` as `shopsim replay` does (exit 2 with one line, nothing written):
    the RunOutputs, not yet opened."""
    from shopsim.cli.common import load_or_exit
    from shopsim.cli.outputs import claim_outputs, database_url, distinct_outputs, writable_file
    from shopsim.scenario.compiled import compile_scenario
    from shopsim.store.outputs import Claim
    from shopsim.tui.recording import RunOutputs

    if scenario is None:
        fail("--log and --db record the run of a scenario: give one (e.g. shopsim run default --log run.jsonl)")
    for value, option in ((log, "--log"), (db, "--db")):
        if value is not None and not value.strip():
            fail(f"{option} needs a path")
        if value is not None and value.endswith(os.sep) and "://" not in value:
            fail(f"{option} {value} names a folder; give a file name")
    if log == "-":
        fail("--log - would write the event log over the app's own screen; give a file (or use shopsim replay)")
    path, model = load_or_exit(scenario)
    log_path = Path(log) if log is not None else None
    db_url, db_path = database_url(db) if db is not None else (None, None)
    distinct_outputs(path, log_path, db_path)
    if log_path is not None:
        writable_file(log_path, "event log")
    if db_path is not None:
        writable_file(db_path, "database")
    cs = compile_scenario(model, seed)
    claim = Claim()
    claim_outputs(claim, log_path, db_path, db_url)
    return RunOutputs(cs, claim, log_path, db_url, db, _open_log)


def open_outputs(outputs) -> None:
    """Open the claimed outputs (the database first, as replay does); exit 2 with one line if one cannot be."""
    from shopsim.cli.outputs import one_line

    try:
        outputs.open()
    except OSError as e:
        outputs.claim.abandon()
        fail(f"cannot write event log {outputs.log_path}: {e.strerror or e}; nothing was recorded")
    except Exception as e:  # a bad URL, a missing driver, a file that is not a database: user input
        outputs.claim.abandon()
        fail(f"cannot open database {outputs.db_label}: {one_line(e)}; nothing was recorded")


def _open_log(path: Path) -> IO[bytes]:
    from shopsim.cli.outputs import GzipLog

    f = open(path, "wb", buffering=1 << 20)
    return GzipLog(f) if path.name.endswith(".gz") else f


def _leave_when_the_terminal_goes(fd: int) -> None:
    """Exit (129, as for SIGHUP) once `fd` is no longer a terminal.

    A closed terminal does not always deliver SIGHUP: `make run` in a tmux pane that is killed leaves make to
    take it. Textual then spins on end-of-input in its input thread, and once a write to the dead terminal
    has failed its main loop blocks on a full output queue: a stray process burning a core for ever. So a
    watcher thread checks the terminal once a second. It exits at once, as there is no terminal left to
    restore; files recorded with --log/--db are left as a killed replay leaves its own (no run.finished, the
    database marked 'running')."""
    def watch() -> None:
        while True:
            time.sleep(1.0)
            try:
                alive = os.isatty(fd)
            except OSError:
                alive = False
            if not alive:
                os._exit(129)

    threading.Thread(target=watch, name="terminal-watch", daemon=True).start()


@click.command("run")
@click.argument("scenario", required=False)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="root seed (default: the scenario's)")
@click.option("--play", is_flag=True, help="start playing at once")
@click.option("--presenter", is_flag=True, help="a larger, calmer layout for a projector")
@click.option("--log", "log", metavar="PATH",
              help="record the run to this event log as it plays (gzip if PATH ends in .gz)")
@click.option("--db", metavar="PATH|URL", help="record the run to this SQLite file or SQLAlchemy URL as it plays")
def run_cmd(scenario: str | None, seed: int | None, play: bool, presenter: bool, log: str | None,
            db: str | None) -> None:
    """Open the terminal app on SCENARIO (a file or a shipped scenario's name); without one, the picker.

    \b
    With --log and/or --db the app records its run from the start, settings
    changed and messages opened by hand included, as `shopsim replay --log/--db`
    writes them; `shopsim report`, `inbox`, `explain` and `diff` read the files.
    When the app quits they end with run.finished at the virtual time reached:
    quitting mid-run leaves a clean log of the run up to that time (as
    `shopsim replay --until` would), not a cut one. Restarting the run (ctrl+r)
    starts the files over; opening another scenario ends them there. A path
    that cannot be written fails before the app opens (exit 2), nothing written.

    \b
    At any moment, "Save this run…" in the command palette (ctrl+p) writes the
    run so far, as an event log and optionally a database beside it."""
    open_app(scenario, seed, play, presenter, log, db)
