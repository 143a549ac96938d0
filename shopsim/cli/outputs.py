"""Where a run's outputs go, for `shopsim replay` and for the terminal app's `shopsim run --log/--db`: checks that
fail before anything is written (one line, exit 2), the database URL and its file, the event log's stream
(gzip when its name ends in .gz) and one-line messages for errors from a database driver."""

from __future__ import annotations

import errno
import gzip
import os
import sys
from pathlib import Path
from typing import IO, NoReturn

from shopsim.cli.common import fail
from shopsim.store.outputs import Claim, OutputError


def claim_outputs(claim: Claim, log_path: Path | None, db_path: Path | None, url: str | None,
                  default_names: bool = False) -> None:
    """Lock the log and the database file (a sqlite URL's too) and make sure each can be created; nothing is
    written yet. Exit 2 with one line, the claims given back, if one cannot be."""
    try:
        if log_path is not None:
            claim.take(log_path, "event log")
        db_file = db_path if db_path is not None else sqlite_file(url) if url is not None else None
        if db_file is not None:
            claim.take(db_file, "database")
    except OutputError as e:
        claim.abandon()
        fail_output(e, default_names)


def writable_file(path: Path, what: str, default_name: bool = False) -> None:
    """Fail before anything is written if `path` cannot be created (the friendlier messages; Claim.take
    then tries for real)."""
    try:
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
    except OSError as e:
        fail_output(OutputError(f"cannot write {what} {path}: {e.strerror or e}", e.errno), default_name)


def fail_output(e: OutputError, default_names: bool = False) -> NoReturn:
    hint = ""
    if e.errno == errno.ENAMETOOLONG:
        hint = " (a file name has at most 255 bytes on most systems"
        hint += ("; the default names come from the scenario's run.name: shorten it, or give --log and --db)"
                 if default_names else ")")
    fail(f"{e}{hint}; nothing was written")


def database_url(db: str) -> tuple[str, Path | None]:
    if "://" in db:
        return db, None
    return f"sqlite:///{Path(db)}", Path(db)


def sqlite_file(url: str) -> Path | None:
    """The file of a sqlite:/// URL, to claim it like a --db path."""
    try:
        from sqlalchemy.engine import make_url

        u = make_url(url)
    except Exception:
        return None
    if u.get_backend_name() != "sqlite" or u.database in (None, "", ":memory:") or u.database.startswith("file:"):
        return None
    return Path(u.database)


def distinct_outputs(scenario: Path, log: Path | None, db: Path | None) -> None:
    """Refuse to write over the scenario being replayed, or the log and the database over each other."""
    def same(a: Path | None, b: Path | None) -> bool:
        return a is not None and b is not None and a.resolve() == b.resolve()

    for out, what in ((log, "event log"), (db, "database")):
        if same(out, scenario):
            fail(f"the {what} {out} is the scenario file itself; choose another path")
    if same(log, db):
        fail(f"the event log and the database are the same file ({log}); give them different paths")


def open_log(log_path: Path | None, claim: Claim) -> IO[bytes]:
    if log_path is None:
        return sys.stdout.buffer
    try:
        f = open(log_path, "wb", buffering=1 << 20)
    except OSError as e:  # the caller's finally marks the database 'failed'
        fail(f"cannot write event log {log_path}: {e.strerror or e}")
    return GzipLog(f) if log_path.name.endswith(".gz") else f


class GzipLog:
    """A gzip event log that is the same bytes for the same run: no file name and no time stamp in its
    header, and the compressor always fed the same 1 MiB blocks, however the run was batched."""

    BLOCK = 1 << 20

    def __init__(self, raw: IO[bytes]):
        self.raw = raw
        self._gz = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6)
        self._buf = bytearray()

    def write(self, chunk: bytes) -> int:
        buf = self._buf
        buf += chunk
        if len(buf) >= self.BLOCK:
            view, n, at = memoryview(buf), len(buf), 0
            while n - at >= self.BLOCK:
                self._gz.write(view[at:at + self.BLOCK])
                at += self.BLOCK
            view.release()
            del buf[:at]
        return len(chunk)

    def flush(self) -> None:
        pass  # a gzip flush would change the bytes; close() writes everything

    def close(self) -> None:
        try:
            if self._buf:
                self._gz.write(bytes(self._buf))
                self._buf.clear()
            self._gz.close()
        finally:
            self.raw.close()


def one_line(e: Exception) -> str:
    text = str(e).splitlines()[0] if str(e) else e.__class__.__name__
    text = text.replace("(sqlite3.OperationalError) ", "").replace("(sqlite3.DatabaseError) ", "")
    return text
