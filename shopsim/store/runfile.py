"""Open a finished run, whichever form it was kept in: its event log or its database.

A RUN argument (`report`, `diff`, `inbox`, `explain`, `export`, golden logs) is one of

- an event log, `.jsonl`, or gzip-compressed (`.jsonl.gz`): recognised by gzip's magic bytes, not by the
  file name;
- the SQLite database that `shopsim replay` writes: recognised by its 16-byte header `SQLite format 3\\0`.
  Its `events` table holds every event (seq, t_ms, type, shopper, and `data`, the line's other fields but
  those another table keeps), and each line is made again as the log writes it (`store.dblines`: its fields
  with sorted keys, `t` the instant of the run's start plus t_ms), so both forms yield the same lines, byte
  for byte.

One database holds one run: `shopsim replay` drops and recreates every table when it writes a database,
and the `events` table has no run column. (Should a `runs` table ever hold several rows, the events are
still those of the one run written last.)

Every problem raises `RunFileError`, whose message is one line naming the file (and the line, for a bad
line): the commands print it as is. A gap in `seq` (a line missing) or a line repeated is such a problem: the
figures of a run with a line missing would be silently wrong, so it is refused rather than read. A database
is opened read-only, so a wrong path never creates a file.

    run = open_run("runs/default-seed27.db")
    run.header["seed"], run.complete
    for ev in run.events(): ...
"""

from __future__ import annotations

import gzip
import os
import sqlite3
import zlib
from datetime import datetime
from functools import cached_property
from itertools import chain, islice
from pathlib import Path
from typing import IO, Container, Iterator
from urllib.parse import quote

import orjson

from shopsim.contract.clock import epoch_ms
from shopsim.contract.events import RUN_FINISHED, RUN_STARTED, Event
from shopsim.store.dblines import EVENT_COLUMNS, DbLines, MissingRow, db_line

__all__ = ["RunFileError", "RunFile", "open_run"]

GZIP_MAGIC = b"\x1f\x8b"
SQLITE_MAGIC = b"SQLite format 3\x00"
_CHUNK = 1 << 20
_HEADER_LIMIT = 1 << 20  # a run.started line is well under 1 KB; a longer first "line" is not a log
_GZIP_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error)


class RunFileError(Exception):
    """A run file that cannot be read as a shopsim run. `str(e)` is one line naming the file."""


def open_run(path: str | os.PathLike) -> RunFile:
    """Open an event log (plain or gzip) or a run's database, and read its run.started header."""
    p = Path(path)
    try:
        if p.is_dir():
            raise RunFileError(f"{p} is a directory")
        if not p.exists():
            raise RunFileError(f"no run file at {p}")
        with open(p, "rb") as f:
            head = f.read(len(SQLITE_MAGIC))
    except OSError as e:
        raise RunFileError(f"cannot read {p}: {e.strerror or e}") from None
    if not head:
        raise RunFileError(f"{p} is empty")
    if head.startswith(SQLITE_MAGIC):
        return RunFile(p, "db", _db_header(p))
    gz = head.startswith(GZIP_MAGIC)
    return RunFile(p, "log", _log_header(p, gz), gz=gz)


class RunFile:
    """A finished (or interrupted) run. Lines and records are read lazily, each call from the start."""

    path: Path
    kind: str             # "log" or "db"
    header: dict          # the parsed run.started record
    start_epoch: int      # header["start"] as epoch milliseconds
    gzip: bool            # a gzip-compressed log
    Error = RunFileError  # what its readers raise, for a caller that does not import the store

    def __init__(self, path: Path, kind: str, header: dict, *, gz: bool = False):
        self.path, self.kind, self.header, self.gzip = path, kind, header, gz
        self._minutes: dict[str, int] = {}  # t[:17] -> virtual ms of that minute
        self._days: dict[str, int] = {}     # t[:10] -> virtual ms of that day's midnight
        start = header.get("start")
        try:
            self.start_epoch = _epoch(start)
        except (TypeError, ValueError):
            raise RunFileError(f"{path}:1: run.started has no valid start (got {start!r})") from None

    def __repr__(self) -> str:
        return f"RunFile({str(self.path)!r}, kind={self.kind!r})"

    # --- lines ---------------------------------------------------------------------------------------

    def lines(self) -> Iterator[bytes]:
        """Each exact log line without its newline, in seq order. A log cut short mid-line (a killed run)
        yields that last partial line as it is; records() reports it."""
        return self._lines(None)

    def _lines(self, cut: list | None) -> Iterator[bytes]:
        """lines(); appends True to `cut` (before yielding it) when the last line has no newline."""
        return chain.from_iterable(self._line_lists(cut))

    def line_lists(self, cut: list | None = None) -> Iterator[list[bytes]]:
        """lines() a list at a time, so a reader walks each list without a generator's step per line; appends
        True to `cut` (before yielding the last list) when the last line has no newline."""
        return self._line_lists(cut)

    def _line_lists(self, cut: list | None) -> Iterator[list[bytes]]:
        if self.kind != "db":
            yield from self._log_line_lists(cut)
            return
        lines = self._db_lines()
        while part := list(islice(lines, 4096)):
            yield part

    def _log_line_lists(self, cut: list | None) -> Iterator[list[bytes]]:
        n = 0
        try:
            with self._open_log() as f:
                # read1: a gzip stream cut short still gives the lines before the cut, then the error.
                read = f.read1 if self.gzip else f.read
                rest = b""
                while True:
                    chunk = read(_CHUNK)
                    if not chunk:
                        break
                    parts = (rest + chunk).split(b"\n") if rest else chunk.split(b"\n")
                    rest = parts.pop()
                    n += len(parts)
                    yield parts
                if rest:
                    if cut is not None:
                        cut.append(True)
                    yield [rest]
        except _GZIP_ERRORS as e:
            raise RunFileError(f"{self.path}: the gzip data is cut short or damaged after line {n} "
                               f"({_one_line(e)})") from None
        except OSError as e:
            raise RunFileError(f"cannot read {self.path}: {e.strerror or e}") from None

    def _open_log(self) -> IO[bytes]:
        return gzip.open(self.path, "rb") if self.gzip else open(self.path, "rb", buffering=0)

    def _db_lines(self) -> Iterator[bytes]:
        con = _db_connect(self.path)
        make = DbLines(con, self.start_epoch).line
        try:
            cur = con.execute(f"SELECT {EVENT_COLUMNS} FROM events ORDER BY seq")
            while True:
                rows = cur.fetchmany(10_000)
                if not rows:
                    break
                for row in rows:
                    try:
                        line = make(row)
                    except (orjson.JSONDecodeError, TypeError, KeyError, IndexError, MissingRow):
                        raise RunFileError(f"{self.path}: event {row[0]} has no valid data (the database was "
                                           "edited or damaged)") from None
                    yield line
        except sqlite3.Error as e:
            raise RunFileError(f"cannot read database {self.path}: {_one_line(e)}") from None
        finally:
            con.close()

    # --- records and events --------------------------------------------------------------------------

    def records(self) -> Iterator[dict]:
        """Each line parsed (orjson). A line that is not a JSON object, or whose `seq` is not its line number
        (a line missing or repeated: the contract says line n has seq n), raises RunFileError("FILE:LINE: ...")."""
        loads, decode_error = orjson.loads, orjson.JSONDecodeError
        cut: list = []
        for n, line in enumerate(self._lines(cut), 1):
            try:
                rec = loads(line)
            except decode_error:
                rec = None
            if type(rec) is not dict:
                raise self._bad_line(n, bool(cut))
            if rec.get("seq") != n:
                raise self._bad_seq(n, rec.get("seq"))
            yield rec

    def _bad_seq(self, n: int, seq) -> RunFileError:
        where = f"{self.path}:{n}: seq {seq!r} where {n} was expected"
        if type(seq) is int and seq > n:
            missing = f"line {n} is missing" if seq == n + 1 else f"lines {n} to {seq - 1} are missing"
            return RunFileError(f"{where}: {missing} (the log was edited or damaged); refusing to read it")
        if type(seq) is int and 0 < seq < n:
            return RunFileError(f"{where}: seq {seq} appears twice (the log was edited or damaged); refusing to "
                                "read it")
        return RunFileError(f"{where}: not a shopsim event log line")

    def _bad_line(self, n: int, cut: bool) -> RunFileError:
        if cut:
            return RunFileError(f"{self.path}:{n}: the last line is cut short (no newline): the run was "
                                "stopped while writing it")
        return RunFileError(f"{self.path}:{n}: not a JSON object")

    def events(self, unread: Container[str] = (), counted: dict[str, int] | None = None,
               bare: Container[str] = ()) -> Iterator[Event]:
        """Each line as the engine's Event: t in virtual ms since start_epoch, data the type's own fields.

        Lines of the types a reader does not need whole are read from their bytes, without parsing them:
        - `unread`: the line is not yielded, `counted[type]` goes up instead;
        - `bare`: the line is yielded with its seq, t, type and shopper, and None for data.
        The type is the last `"type":"` key with nothing nested after it (the log's keys are sorted and no
        field after `type` holds an object); shopper and t, when they are the keys just before it, and seq
        give a bare event. A line that leaves any doubt is parsed (a bare one then comes with its data). An unread
        line is checked for its place only through the lines around it: the next parsed line's seq must be
        its line number, and the last line is always parsed and yielded, so a line missing or repeated is
        still refused, with the message a full read gives. `unread` is looked at on every line, so whoever reads may change it on the way (Metrics
        empties it once experiment arms need every event)."""
        minutes, path = self._minutes, self.path
        last_t, last_ms = None, 0
        new, loads, decode_error = tuple.__new__, orjson.loads, orjson.JSONDecodeError
        names: dict[bytes, str] = {}
        cut: list = []
        n = skipped = 0
        sniff = bool(unread or bare)
        held = held_name = None  # the line just counted unparsed, while it may be the last one
        for line in chain.from_iterable(chain(self._line_lists(cut), ([None],))):
            data = False  # not read yet
            if line is None:
                if held is None:
                    break
                line, held = held, None  # the last line was counted unparsed: it is read after all
                counted[held_name] -= 1  # type: ignore[index]
                if not counted[held_name]:  # type: ignore[index]
                    del counted[held_name]  # type: ignore[union-attr]
            else:
                n += 1
                held = None
                if sniff and not cut:
                    i = line.rfind(b'"type":"')
                    if i > 0:
                        j = line.find(b'"', i + 8)
                        raw = line[i + 8:j]
                        name = names.get(raw)
                        if name is None:
                            name = names[raw] = raw.decode("utf-8", "replace")
                        if j == len(line) - 2 or line.find(b"}", j) == len(line) - 1:  # nothing nested after
                            if name in unread:
                                counted[name] = counted.get(name, 0) + 1  # type: ignore[index]
                                held, held_name = line, name
                                skipped += 1
                                continue
                            if name in bare and line[i - 32:i - 26] == b',"t":"':
                                k = line.rfind(b',"shopper":', 0, i - 32)
                                who = line[k + 11:i - 32]
                                if ((who == b"null" or (who[:1] == b'"' and who.count(b'"') == 2))
                                        and line.find(b',"seq":%d,' % n, 0, k + 1) > 0):
                                    seq, t, typ, data = n, line[i - 26:i - 2].decode(), name, None
                                    shopper = None if who == b"null" else who[1:-1].decode()
            if data is False:
                try:
                    rec = loads(line)
                except decode_error:
                    rec = None
                if type(rec) is not dict:
                    raise self._earlier_error(n, skipped, self._bad_line(n, bool(cut)))
                if rec.get("seq") != n:
                    raise self._earlier_error(n, skipped, self._bad_seq(n, rec.get("seq")))
                try:
                    seq, t, typ, shopper = rec.pop("seq"), rec.pop("t"), rec.pop("type"), rec.pop("shopper")
                except KeyError as e:
                    raise self._earlier_error(n, skipped, RunFileError(f"{path}:{n}: no {e.args[0]} field")) from None
                data = rec
            if t != last_t:
                try:
                    if len(t) != 24 or t[23] != "Z":
                        raise ValueError(t)
                    minute = minutes.get(t[:17])
                    if minute is None:  # a new minute every few lines
                        minute = self._minute(t)
                    last_ms = minute + int(t[17:19]) * 1000 + int(t[20:23])
                except (TypeError, ValueError):
                    raise self._earlier_error(n, skipped, self._bad_t(n, t)) from None
                last_t = t
            yield new(Event, (seq, last_ms, typ, shopper, data))

    def ms(self, t) -> int:
        """An instant as the log writes it (2026-03-02T08:00:00.000Z) as virtual ms since the run's start, as
        events() reads `t`; ValueError or TypeError for anything else."""
        if len(t) != 24 or t[23] != "Z":
            raise ValueError(t)
        minute = self._minutes.get(t[:17])
        if minute is None:
            minute = self._minute(t)
        return minute + int(t[17:19]) * 1000 + int(t[20:23])

    def _minute(self, t: str) -> int:
        """The virtual ms of t's minute, remembered: a log has a new minute every few lines, and a new day's
        midnight is worked out once."""
        day = self._days.get(t[:10])
        if day is None:
            day = self._days[t[:10]] = _epoch(t[:10] + "T00:00:00.000Z") - self.start_epoch
        hour, mins = int(t[11:13]), int(t[14:16])
        if hour > 23 or mins > 59 or t[10] != "T" or t[13] != ":" or t[16] != ":":
            raise ValueError(t)
        minute = self._minutes[t[:17]] = day + hour * 3_600_000 + mins * 60_000
        return minute

    def _bad_t(self, n: int, t) -> RunFileError:
        return RunFileError(f"{self.path}:{n}: t is not a UTC instant like 2026-03-02T08:00:00.000Z (got {t!r})")

    def _earlier_error(self, n: int, skipped: int, error: RunFileError) -> RunFileError:
        """`error`, found at line n, unless a line before it that was counted unparsed is already wrong: a full
        read (records()) reports that one, as it would have stopped there."""
        if skipped:
            for k, _ in enumerate(self.records(), 1):
                if k >= n - 1:
                    break
        return error

    # --- completeness --------------------------------------------------------------------------------

    @cached_property
    def complete(self) -> bool:
        """True when the last line is run.finished (the run ran to its end). Cheap for a plain log (its
        tail is read) and a database (its last events row); a gzip log is decompressed once to its end."""
        try:
            if self.kind == "db":
                con = _db_connect(self.path)
                try:
                    row = con.execute("SELECT type FROM events ORDER BY seq DESC LIMIT 1").fetchone()
                finally:
                    con.close()
                return row is not None and row[0] == RUN_FINISHED
            if self.gzip:
                last, cut = None, []
                for last in self._lines(cut):
                    pass
                return last is not None and not cut and _is_finished(last)
            return _is_finished(_last_line(self.path))
        except sqlite3.Error as e:
            raise RunFileError(f"cannot read database {self.path}: {_one_line(e)}") from None
        except OSError as e:
            raise RunFileError(f"cannot read {self.path}: {e.strerror or e}") from None


# --- internals ---------------------------------------------------------------------------------------

def _epoch(t) -> int:
    """'2026-03-02T08:00:00.000Z' -> epoch ms. Raises ValueError (or TypeError) on anything else."""
    if not isinstance(t, str) or len(t) != 24 or t[23] != "Z" or t[19] != ".":
        raise ValueError(t)
    return epoch_ms(datetime.fromisoformat(t[:16] + "+00:00")) + int(t[17:19]) * 1000 + int(t[20:23])


def _one_line(e: BaseException) -> str:
    lines = str(e).splitlines()
    return lines[0] if lines else e.__class__.__name__


def _parse_header(path: Path, first: bytes | str | None) -> dict:
    try:
        rec = orjson.loads(first) if first is not None else None
    except orjson.JSONDecodeError:
        rec = None
    if type(rec) is not dict:
        rec = {}
    if rec.get("type") != RUN_STARTED:
        raise RunFileError(f"{path} is not a shopsim event log (its first line is not run.started)")
    return rec


def _log_header(path: Path, gz: bool) -> dict:
    try:
        with (gzip.open(path, "rb") if gz else open(path, "rb")) as f:
            first = f.readline(_HEADER_LIMIT)
    except _GZIP_ERRORS as e:
        raise RunFileError(f"{path} is not a readable gzip file ({_one_line(e)})") from None
    except OSError as e:
        raise RunFileError(f"cannot read {path}: {e.strerror or e}") from None
    if not first:
        raise RunFileError(f"{path} is empty")  # a gzip file that holds nothing
    if gz and first.startswith(SQLITE_MAGIC):
        raise RunFileError(f"{path} is a gzip-compressed database; decompress it first")
    return _parse_header(path, first)


def _db_connect(path: Path) -> sqlite3.Connection:
    """Read-only: a path that is not there (say, removed meanwhile) must not become an empty database.

    The store writes in WAL mode. Opening such a file read-only makes SQLite create `-wal` and `-shm` files
    beside it, which it cannot remove afterwards; a finished run has no `-wal` file (the writer checkpoints
    it away when it closes), so that database is opened `immutable` and nothing is left behind. With a `-wal`
    file there (a killed run, or one still being written), the WAL is read as usual."""
    resolved = path.resolve()
    immutable = "" if Path(f"{resolved}-wal").exists() else "&immutable=1"
    return sqlite3.connect(f"file:{quote(str(resolved))}?mode=ro{immutable}", uri=True)


def _db_header(path: Path) -> dict:
    try:
        con = _db_connect(path)
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "events" not in tables:
                what = "no tables" if not tables else "no events table"
                raise RunFileError(f"{path} is not a shopsim run (it has {what})")
            columns = {r[1] for r in con.execute("PRAGMA table_info(events)")}
            if "line" in columns and "data" not in columns:
                raise RunFileError(f"{path} was written by an earlier shopsim (its events table keeps whole "
                                   "lines); replay the scenario again to read it")
            if not {"seq", "t_ms", "type", "shopper", "data"} <= columns:
                raise RunFileError(f"{path} is not a shopsim run (its events table has no seq, t_ms, type, "
                                   "shopper and data columns)")
            row = con.execute(f"SELECT {EVENT_COLUMNS} FROM events ORDER BY seq LIMIT 1").fetchone()
        finally:
            con.close()
    except sqlite3.Error as e:
        raise RunFileError(f"cannot read database {path}: {_one_line(e)}") from None
    if row is None:
        raise RunFileError(f"{path} is empty (its events table has no rows)")
    data = parse_record(row[4])
    try:
        # The first line's t is the run's start itself, which its own fields give.
        return _parse_header(path, db_line(row, _epoch((data or {}).get("start"))))
    except (RunFileError, TypeError, ValueError):
        raise RunFileError(f"{path} is not a shopsim run (its first event is not run.started)") from None


def _last_line(path: Path) -> bytes | None:
    """The last line of a plain file without its newline; None when the file is empty or does not end with
    a newline (cut short)."""
    with open(path, "rb") as f:
        end = f.seek(0, os.SEEK_END)
        if end == 0:
            return None
        f.seek(end - 1)
        if f.read(1) != b"\n":
            return None
        pos, buf = end - 1, b""
        while pos > 0:
            step = min(65536, pos)
            pos -= step
            f.seek(pos)
            buf = f.read(step) + buf
            i = buf.rfind(b"\n")
            if i >= 0:
                return buf[i + 1:]
        return buf


def parse_record(line: bytes | str | None) -> dict | None:
    """One log line as a dict, or None when it is missing or not a JSON object."""
    if line is None:
        return None
    try:
        rec = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    return rec if type(rec) is dict else None


def _is_finished(line: bytes | str | None) -> bool:
    rec = parse_record(line)
    return rec is not None and rec.get("type") == RUN_FINISHED