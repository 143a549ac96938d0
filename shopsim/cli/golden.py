"""Golden logs for `shopsim replay --golden FILE [--update-golden]`: the options and what the command says.

`--golden FILE` compares the run's log with it once the run has finished: the same → exit 0; different →
the first difference on stderr and exit 1. `--update-golden` writes the run's log to FILE instead
(atomically; gzip when FILE ends in `.gz`). How a golden is compared and written is shopsim/qa/golden.py.

Everything that can be checked before the run is (a missing or foreign golden exits 2 with nothing
written). A log that goes to stdout (`--log -`) is copied into an anonymous temporary file as it is written,
for the comparison; the file is gone when shopsim exits.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO

import click

from shopsim.cli.common import fail
from shopsim.qa.golden import (LOG_SUFFIXES, NewLog, Tee, compare, golden_problem, needs_update, unwritable_dir,
                               write_golden)
from shopsim.qa.logdiff import format_divergence
from shopsim.store.runfile import RunFileError

__all__ = ["Golden"]


class Golden:
    """One replay's golden check: prepare() before the run, capture() the log stream, conclude() after."""

    def __init__(self, path: Path, update: bool):
        self.path = path
        self.update = update
        self._copy: Tee | None = None

    @classmethod
    def prepare(cls, golden: str | None, update: bool, scenario: Path, log_path: Path | None,
                db_path: Path | None) -> Golden | None:
        """Check the options and the golden file before anything runs; exits 2 (nothing written) on a
        problem. None when no golden is asked for."""
        if golden is None:
            if update:
                fail("--update-golden needs --golden FILE (the golden log to write)")
            return None
        if not golden.strip():
            fail("--golden needs a path")
        path = Path(golden)
        for other, what in ((scenario, "the scenario file"), (log_path, "the event log this run writes"),
                            (db_path, "the database this run writes")):
            if other is not None and path.resolve() == other.resolve():
                fail(f"the golden log {path} is {what}; give a different path")
        if path.is_dir():
            fail(f"the golden log {path} is a directory; give a file name")
        if not path.exists():
            if not update:
                fail(f"no golden log at {path}; run again with --update-golden to create it")
        else:
            problem = golden_problem(path)
            if problem is not None and not (update and path.name.endswith(LOG_SUFFIXES)):
                fail(problem if not update else f"{problem}; refusing to replace it")
        if update:
            probe = unwritable_dir(path)
            if probe is not None:
                fail(f"cannot write the golden log {path}: {probe} is not a writable directory")
        return cls(path, update)

    def capture(self, out: IO[bytes]) -> IO[bytes]:
        """The stream the replay should write its log to: `out` itself for a log file (compared once it is
        closed), or, for stdout, a tee that also keeps a temporary copy."""
        if out is not sys.stdout.buffer:
            return out
        self._copy = Tee(out)
        return self._copy  # type: ignore[return-value]

    def conclude(self, log_path: Path | None, quiet: bool) -> bool:
        """After a finished run: compare or update the golden. False when the log differs (the caller exits 1,
        after its other checks have been reported too)."""
        try:
            if self._copy is not None and self._copy.error is not None:
                fail(f"cannot keep a copy of the event log for the golden comparison: {self._copy.error}")
            name = str(log_path) if log_path is not None else "this run's log (stdout)"
            if self.update:
                self._update(log_path, quiet)
                return True
            d, n = compare(self.path, NewLog(log_path, self._copy).lines)
            if d is None:
                if not quiet:
                    click.echo(f"golden: matches {self.path} ({n:,} events)", err=True)
                return True
            click.echo(format_divergence(d, f"{self.path} (golden)", name), err=True)
            click.echo(f"golden: the event log differs from {self.path}; if the change is intended, run again "
                       "with --update-golden", err=True)
            return False
        except RunFileError as e:
            fail(str(e))
        except KeyboardInterrupt:
            click.echo("\nshopsim: interrupted while comparing with the golden log.", err=True)
            sys.exit(130)

    def _update(self, log_path: Path | None, quiet: bool) -> None:
        new = NewLog(log_path, self._copy)
        needed, differs_at = needs_update(self.path, new.lines)
        if not needed:
            if not quiet:
                click.echo(f"golden: {self.path} already matches this run; left as it is", err=True)
            return
        existed = self.path.exists()
        try:
            n = write_golden(self.path, new)
        except OSError as e:
            fail(f"cannot write the golden log {self.path}: {e.strerror or e}")
        if not quiet:
            verb = "updated" if existed else "created"
            where = f"; it first differed at line {differs_at:,}" if differs_at else ""
            click.echo(f"golden: {verb} {self.path} ({n:,} events{where})", err=True)
