"""Golden logs for `shopsim replay --golden FILE [--update-golden]`.

A golden log is a stored event log (`.jsonl`, or gzip-compressed `.jsonl.gz`) that a replay must reproduce.
`--golden FILE` compares the run's log with it once the run has finished: the same → exit 0; different →
the first difference (shopsim.qa.logdiff) on stderr and exit 1. `run.started.version` is not compared,
so a golden keeps passing across shopsim upgrades that do not change the engine's behaviour.
`--update-golden` writes the run's log to FILE instead (atomically; gzip when FILE ends in `.gz`).

Everything that can be checked before the run is (a missing or foreign golden exits 2 with nothing
written). A log that goes to stdout (`--log -`) is copied into an anonymous temporary file as it is written,
for the comparison; the file is gone when shopsim exits.
"""

from __future__ import annotations

import gzip
import os
import sys
import tempfile
from pathlib import Path
from typing import IO, Iterator

import click

from shopsim.cli.common import fail
from shopsim.qa.logdiff import first_divergence, format_divergence
from shopsim.store.runfile import RunFileError, open_run

_CHUNK = 1 << 20
_LOG_SUFFIXES = (".jsonl", ".jsonl.gz")

__all__ = ["Golden"]


class Golden:
    """One replay's golden check: prepare() before the run, capture() the log stream, conclude() after."""

    def __init__(self, path: Path, update: bool):
        self.path = path
        self.update = update
        self._copy: _Tee | None = None

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
            try:
                kind = open_run(path).kind
                problem = None if kind == "log" else (f"{path} is a run database, not an event log; a golden "
                                                      "log is a .jsonl or .jsonl.gz file")
            except RunFileError as e:
                problem = str(e)
            if problem is not None and not (update and path.name.endswith(_LOG_SUFFIXES)):
                fail(problem if not update else f"{problem}; refusing to replace it")
        if update:
            _check_writable_dir(path)
        return cls(path, update)

    def capture(self, out: IO[bytes]) -> IO[bytes]:
        """The stream the replay should write its log to: `out` itself for a log file (compared once it is
        closed), or, for stdout, a tee that also keeps a temporary copy."""
        if out is not sys.stdout.buffer:
            return out
        self._copy = _Tee(out)
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
            golden = open_run(self.path)
            counted = _Counted(self._new_lines(log_path))
            d = first_divergence(golden.lines(), counted)
            if d is None:
                if not quiet:
                    click.echo(f"golden: matches {self.path} ({counted.n:,} events)", err=True)
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

    # --- internals -----------------------------------------------------------------------------------

    def _new_source(self, log_path: Path | None) -> IO[bytes]:
        if self._copy is not None:
            f = self._copy.file
            f.seek(0)
            return f
        return gzip.open(log_path, "rb") if open_run(log_path).gzip else open(log_path, "rb")  # --log x.jsonl.gz

    def _new_lines(self, log_path: Path | None) -> Iterator[bytes]:
        if self._copy is None:
            return open_run(log_path).lines()
        return _split_lines(self._new_source(log_path))

    def _update(self, log_path: Path | None, quiet: bool) -> None:
        differs_at = None
        if self.path.exists():
            try:
                old = open_run(self.path)
                if old.kind == "log":
                    d = first_divergence(old.lines(), self._new_lines(log_path), context=0)
                    if d is None:
                        if not quiet:
                            click.echo(f"golden: {self.path} already matches this run; left as it is", err=True)
                        return
                    differs_at = d.line_a
            except RunFileError:
                pass  # a damaged golden (prepare() allowed replacing it): write the new one
        existed = self.path.exists()
        n = self._write(log_path)
        if not quiet:
            verb = "updated" if existed else "created"
            where = f"; it first differed at line {differs_at:,}" if differs_at else ""
            click.echo(f"golden: {verb} {self.path} ({n:,} events{where})", err=True)

    def _write(self, log_path: Path | None) -> int:
        """Write the new log to the golden path through a temporary file in the same directory (os.replace,
        so a reader never sees half a file). gzip when the name ends in .gz, reproducibly (no name, no
        time stamp in the gzip header). Returns the number of lines."""
        target = self.path
        parent = target.parent if str(target.parent) else Path(".")
        try:
            parent.mkdir(parents=True, exist_ok=True)
            mode = target.stat().st_mode & 0o777 if target.exists() else _default_mode()
            fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{target.name}.", suffix=".tmp")
        except OSError as e:
            fail(f"cannot write the golden log {target}: {e.strerror or e}")
        n = 0
        try:
            src = self._new_source(log_path)
            try:
                with os.fdopen(fd, "wb") as raw:
                    dst = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) \
                        if target.name.endswith(".gz") else raw
                    while chunk := src.read(_CHUNK):
                        n += chunk.count(b"\n")
                        dst.write(chunk)
                    if dst is not raw:
                        dst.close()
            finally:
                if src is not getattr(self._copy, "file", None):
                    src.close()
            os.chmod(tmp, mode)
            os.replace(tmp, target)
        except OSError as e:
            _remove(tmp)
            fail(f"cannot write the golden log {target}: {e.strerror or e}")
        except BaseException:
            _remove(tmp)
            raise
        return n


class _Tee:
    """A binary stream that writes to stdout and to an anonymous temporary file. close() leaves stdout
    open (the replay never closes stdout). A failure of the copy is kept (reported by conclude), never
    raised: the log on stdout goes on."""

    def __init__(self, out: IO[bytes]):
        self.out = out
        self.file = tempfile.TemporaryFile(prefix="shopsim-golden-")
        self.error: str | None = None

    def write(self, chunk: bytes) -> int:
        n = self.out.write(chunk)
        if self.error is None:
            try:
                self.file.write(chunk)
            except OSError as e:
                self.error = e.strerror or str(e)
        return n

    def flush(self) -> None:
        self.out.flush()

    def close(self) -> None:
        if self.error is None:
            try:
                self.file.flush()
            except OSError as e:
                self.error = e.strerror or str(e)


class _Counted:
    """An iterator that counts what it yields."""

    def __init__(self, it: Iterator[bytes]):
        self.it, self.n = it, 0

    def __iter__(self) -> Iterator[bytes]:
        for line in self.it:
            self.n += 1
            yield line


def _split_lines(f: IO[bytes]) -> Iterator[bytes]:
    """The lines of a binary stream, without their newlines (as RunFile.lines())."""
    rest = b""
    while chunk := f.read(_CHUNK):
        parts = (rest + chunk).split(b"\n")
        rest = parts.pop()
        yield from parts
    if rest:
        yield rest


def _check_writable_dir(path: Path) -> None:
    probe = path.parent if str(path.parent) else Path(".")
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        fail(f"cannot write the golden log {path}: {probe} is not a writable directory")


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass

