"""Golden logs: a stored event log (`.jsonl`, or gzip-compressed `.jsonl.gz`) that a replay must reproduce.

What a golden check does, without the command line around it (shopsim/cli/golden.py parses the options and
says what happened): whether a file can serve as a golden, comparing a finished run's log with it (the first
difference, from logdiff; `run.started.version` is not compared, so a golden keeps passing across upgrades
that do not change the engine's behaviour), and writing a new one atomically and reproducibly. A log written
to stdout reaches the comparison through a `Tee`, which keeps an anonymous temporary copy as it is written.
"""

from __future__ import annotations

import gzip
import os
import tempfile
from pathlib import Path
from typing import IO, Callable, Iterator

from shopsim.qa.logdiff import Divergence, first_divergence
from shopsim.store.runfile import RunFileError, open_run

_CHUNK = 1 << 20
LOG_SUFFIXES = (".jsonl", ".jsonl.gz")


def golden_problem(path: Path) -> str | None:
    """Why the existing file at `path` cannot serve as a golden log (a run database, not a run at all), or None."""
    try:
        kind = open_run(path).kind
    except RunFileError as e:
        return str(e)
    return None if kind == "log" else (f"{path} is a run database, not an event log; a golden log is a .jsonl or "
                                       ".jsonl.gz file")


def unwritable_dir(path: Path) -> Path | None:
    """The nearest existing directory above `path` when a golden cannot be written there, else None."""
    probe = path.parent if str(path.parent) else Path(".")
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        return probe
    return None


class Tee:
    """A binary stream that writes to stdout and to an anonymous temporary file. close() leaves stdout
    open (the replay never closes stdout). A failure of the copy is kept in `error`, never raised: the log
    on stdout goes on."""

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


class NewLog:
    """The log a replay has just written: its file at `path`, or the copy a `Tee` kept of stdout."""

    def __init__(self, path: Path | None, copy: Tee | None):
        self.path, self.copy = path, copy

    def open(self) -> IO[bytes]:
        """The log as a stream from its start; `release` it after."""
        if self.copy is not None:
            f = self.copy.file
            f.seek(0)
            return f
        return gzip.open(self.path, "rb") if open_run(self.path).gzip else open(self.path, "rb")  # x.jsonl.gz

    def release(self, stream: IO[bytes]) -> None:
        if stream is not getattr(self.copy, "file", None):  # the copy lives as long as the replay
            stream.close()

    def lines(self) -> Iterator[bytes]:
        if self.copy is None:
            return open_run(self.path).lines()
        return _split_lines(self.open())


class Counted:
    """An iterator that counts what it yields."""

    def __init__(self, it: Iterator[bytes]):
        self.it, self.n = it, 0

    def __iter__(self) -> Iterator[bytes]:
        for line in self.it:
            self.n += 1
            yield line


def compare(golden: Path, new: Callable[[], Iterator[bytes]]) -> tuple[Divergence | None, int]:
    """The first difference between the golden log and the new one's lines (None when they match), and how
    many lines of the new log were read. The golden is opened first: a damaged golden is what gets reported."""
    old = open_run(golden)
    counted = Counted(new())
    return first_divergence(old.lines(), counted), counted.n


def needs_update(golden: Path, new: Callable[[], Iterator[bytes]]) -> tuple[bool, int | None]:
    """Whether the golden must be (re)written for the new log, and the line of the golden it first differs
    at: (False, None) when it already holds this log; (True, None) when it is missing, not a log or damaged."""
    if not golden.exists():
        return True, None
    try:
        old = open_run(golden)
        if old.kind == "log":
            d = first_divergence(old.lines(), new(), context=0)
            if d is None:
                return False, None
            return True, d.line_a
    except RunFileError:
        pass  # a damaged golden: write the new one
    return True, None


def write_golden(target: Path, log: NewLog) -> int:
    """Write the new log to `target` through a temporary file in the same directory (os.replace, so a reader
    never sees half a file); gzip when the name ends in .gz, reproducibly (no name, no time stamp in the gzip
    header). Keeps the file's mode when it exists. Returns the number of lines; raises OSError, leaving no
    temporary file behind."""
    parent = target.parent if str(target.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    mode = target.stat().st_mode & 0o777 if target.exists() else _default_mode()
    fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{target.name}.", suffix=".tmp")
    n = 0
    try:
        src = log.open()
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
            log.release(src)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        _remove(tmp)
        raise
    return n


def _split_lines(f: IO[bytes]) -> Iterator[bytes]:
    """The lines of a binary stream, without their newlines (as RunFile.lines())."""
    rest = b""
    while chunk := f.read(_CHUNK):
        parts = (rest + chunk).split(b"\n")
        rest = parts.pop()
        yield from parts
    if rest:
        yield rest


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
