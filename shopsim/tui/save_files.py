"""A saved run's files ("Save this run…"): where a save may go, checked without writing anything; the
snapshot of the app's spool it copies; the log and its database, each written whole through a temporary
name beside it. recording.py takes the snapshot, claims the target and runs the save.

Nothing here imports Textual. The database writer (SQLAlchemy: a third of a second to import) is imported
only when a database is written."""

from __future__ import annotations

import gzip
import os
import stat
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from shopsim.scenario.compiled import CompiledScenario
from shopsim.store.outputs import Claim

CHUNK = 1 << 20  # the spool's buffer, and what a save reads at a time


class SaveError(Exception):
    """A save that cannot be done; `str(e)` is one line for the user."""


def why(e: BaseException) -> str:
    """An error in a few words for the user: an OSError's own text without its number."""
    return (e.strerror or str(e)) if isinstance(e, OSError) else str(e) or e.__class__.__name__


@dataclass
class Snapshot:
    """What a save copies, taken between two slices of the run (`Recording.snapshot`)."""

    fd: int               # a duplicate of the spool's descriptor: save() reads it with pread, then closes it
    length: int           # the spool's bytes at the time of the snapshot
    tail: bytes           # the run.finished line that ends the saved log (empty once the run has finished)
    cs: CompiledScenario
    now: int              # virtual ms
    events: int           # lines of the saved log

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def lines(self):
        """The saved log's bytes, in chunks that end at a line's end."""
        at, rest = 0, b""
        while at < self.length:
            data = os.pread(self.fd, min(CHUNK, self.length - at), at)
            if not data:
                raise OSError(0, "the run's temporary copy is shorter than expected")
            at += len(data)
            data = rest + data
            cut = data.rfind(b"\n") + 1
            rest = data[cut:]
            if cut:
                yield data[:cut]
        if rest:
            yield rest
        if self.tail:
            yield self.tail


@dataclass
class Target:
    """Where a save goes, claimed (locked, its folders made) before anything is written."""
    log: Path
    db: Path | None
    claim: Claim

    def give_up(self) -> None:
        self.claim.abandon()


def when(cs: CompiledScenario, t: int) -> str:
    """A virtual time as the user reads it: 'Mon 2 Mar 06:30 UTC'."""
    d = datetime.fromtimestamp((cs.start_epoch + t) / 1000, timezone.utc)
    return f"{d:%a} {d.day} {d:%b %H:%M} UTC"


def db_beside(log: Path) -> Path:
    """run.jsonl (or run.jsonl.gz) -> run.db"""
    name = log.name
    for suffix in (".jsonl.gz", ".jsonl", ".gz"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return log.with_name(name[:-len(suffix)] + ".db")
    return log.with_name(name + ".db")


def save_paths(text: str, with_db: bool) -> tuple[Path, Path | None]:
    """The log (and database) paths for what the user typed; SaveError for one that names no file."""
    text = text.strip()
    if not text:
        raise SaveError("give a file name for the event log, e.g. runs/my-run.jsonl")
    if text.endswith(("/", os.sep)):
        raise SaveError(f"{text} names a folder; give a file name")
    log = Path(text).expanduser()
    if log.name.endswith(".db"):
        raise SaveError(f"the event log is JSON Lines: give {log.name} a .jsonl name (tick the box for a database "
                        "beside it)")
    return log, db_beside(log) if with_db else None


def check_save(text: str, with_db: bool, keep_off: tuple[Path | None, ...] = ()) -> tuple[Path, Path | None]:
    """The log (and database) paths for what the user typed, checked without writing anything; SaveError with
    one line if they cannot be written. `keep_off`: files a save must not replace (the scenario, the app's own
    --log/--db files)."""
    log, db = save_paths(text, with_db)
    for path, what in ((log, "event log"), (db, "database")):
        if path is None:
            continue
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            mode = None
        except OSError as e:
            raise SaveError(f"cannot write {what} {path}: {why(e)}") from None
        if mode is not None and stat.S_ISDIR(mode):
            raise SaveError(f"{path} is a folder; give a file name")
        if mode is not None and not stat.S_ISREG(mode):
            raise SaveError(f"{path} is not a regular file; give another name")
        for other in keep_off:
            if other is not None and _same(path, other):
                raise SaveError(f"{path} is {_whose(other, keep_off)}; give another name")
    return log, db


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == Path(b).resolve()
    except OSError:
        return False


def _whose(path: Path, keep_off: tuple[Path | None, ...]) -> str:
    return "the scenario file itself" if path == keep_off[0] else "being recorded by this app (--log or --db)"


def temp_beside(path: Path, made: list[Path]) -> Path:
    """A new empty file beside `path`, with its permissions, to be renamed over it once whole; listed in
    `made` for the clean-up of a save that fails."""
    fd, name = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.",
                                suffix=".tmp")
    made.append(Path(name))
    try:
        # The claim made the file (through the umask) if it was not there: the new one gets its permissions.
        os.fchmod(fd, stat.S_IMODE(os.stat(path).st_mode))
    finally:
        os.close(fd)
    return Path(name)


def write_log(snap: Snapshot, path: Path, gz: bool) -> None:
    """The snapshot's lines into `path`, gzipped if `gz`."""
    with open(path, "wb", buffering=CHUNK) as raw:
        # No file name and no time stamp in a gzip header: the same run saves to the same bytes.
        out = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) if gz else raw
        for chunk in snap.lines():
            out.write(chunk)
        if out is not raw:
            out.close()


def write_db(snap: Snapshot, path: Path) -> None:
    """The snapshot's lines into a new SQLite database at `path`, as the replay's writer makes it."""
    from shopsim.store.errors import StoreError
    from shopsim.store.writer import StoreWriter, reason

    writer = StoreWriter(f"sqlite:///{path}", snap.cs)
    try:
        for chunk in snap.lines():
            writer.write(chunk)
        writer.close("finished", snap.now)
    except StoreError:
        raise
    except Exception as e:  # SQLAlchemy's own errors: one line, as the replay's writer gives them
        raise StoreError(reason(e)) from e
    finally:
        writer.engine.dispose()
