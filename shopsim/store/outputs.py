"""A replay's claim on the files it writes (the event log, the SQLite database), taken before it writes any.

`Claim.take(path, what)` makes sure the output can be created and that no other replay is writing it:

- its folder is created if need be (and removed again if the replay gives up before writing anything);
- a lock: an exclusive `flock` on `PATH.lock` beside it (beside the file a symbolic link points to), which
  holds the owner's pid and command line. A second replay aimed at the same path finds the lock held and
  names the first in its message. The lock belongs to the process: a replay that is killed leaves the file
  behind, unheld, and the next replay takes it over. It is removed when the replay ends;
- the file itself is opened for writing, created if it is not there but never truncated, so that any
  `OSError` (permission denied, a directory in the way, a name too long) shows up now, as one located
  line, before any output has been touched.

Only regular files (and paths not there yet) are locked: `/dev/null` or a FIFO are written as they are.
`abandon()` undoes what `take()` did (the files and folders it created, its locks); `release()` only drops
the locks, once the outputs are written. Both are safe to call more than once.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import sys
import tempfile
from pathlib import Path

LOCK_SUFFIX = ".lock"

__all__ = ["Claim", "OutputError", "LOCK_SUFFIX", "probe_new_file"]


class OutputError(Exception):
    """An output that cannot be claimed. `str(e)` is one line naming the file; `errno` as OSError's."""

    def __init__(self, message: str, errno_: int | None = None):
        super().__init__(message)
        self.errno = errno_


def describe(e: OSError) -> str:
    return e.strerror or str(e)


class Claim:
    def __init__(self) -> None:
        self._locks: list[tuple[Path, int]] = []
        self._files: list[Path] = []      # created by take(): removed by abandon()
        self._dirs: list[Path] = []       # likewise, deepest last
        self._claimed: set[str] = set()

    def take(self, path: Path, what: str) -> None:
        """Claim `path` for writing `what` ("event log", "database"); OutputError if it cannot be."""
        if path.name.endswith(LOCK_SUFFIX):
            raise OutputError(f"the {what} {path} ends in {LOCK_SUFFIX}, the name of shopsim's lock files; "
                              "give another name")
        try:
            self._make_dirs(path.parent)
            try:
                mode = os.stat(path).st_mode
            except FileNotFoundError:
                mode = None
            if mode is not None and stat.S_ISDIR(mode):
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
            regular = mode is None or stat.S_ISREG(mode)
            if regular:
                self._lock(path, what)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o666)
                os.close(fd)
                if mode is None:
                    self._files.append(path)
            elif not os.access(path, os.W_OK):  # a device or a FIFO: opening a FIFO would wait for a reader
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        except OSError as e:
            raise OutputError(f"cannot write {what} {path}: {describe(e)}", e.errno) from None

    def abandon(self) -> None:
        """Give up before writing: remove the files and folders take() created, and the locks."""
        for path in reversed(self._files):
            try:
                path.unlink()
            except OSError:
                pass
        self._files.clear()
        self.release()
        for d in reversed(self._dirs):
            try:
                d.rmdir()
            except OSError:
                pass
        self._dirs.clear()

    def release(self) -> None:
        """The outputs are written (or as written as they will be): remove the locks."""
        while self._locks:
            lock, fd = self._locks.pop()
            try:
                lock.unlink()  # while still holding it: a replay waiting on this file sees it is gone
            except OSError:
                pass
            os.close(fd)

    def keep(self) -> None:
        """Writing has begun: abandon() must not remove what was created any more."""
        self._files.clear()
        self._dirs.clear()

    # --- internals -----------------------------------------------------------------------------------

    def _make_dirs(self, d: Path) -> None:
        missing = []
        while not d.exists():
            missing.append(d)
            if d.parent == d:
                break
            d = d.parent
        for m in reversed(missing):
            m.mkdir()
            self._dirs.append(m)

    def _lock(self, path: Path, what: str) -> None:
        # Beside the file itself, so that two spellings of one path (or a symbolic link) share one lock.
        real = os.path.realpath(path)
        lock = Path(f"{real}{LOCK_SUFFIX}")
        if real in self._claimed:
            raise OutputError(f"the {what} {path} is also another output of this replay; give it its own path")
        while True:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = _read_owner(fd)
                os.close(fd)
                raise OutputError(f"{path} is being written by another replay ({owner}); wait for it to end, "
                                  f"stop it, or give another path (lock: {lock})") from None
            except BaseException:
                os.close(fd)
                raise
            # The previous owner may have removed the file between our open and our lock: then we hold the
            # lock of a file nobody else can see, and must take the one at the path instead.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(lock))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"pid {os.getpid()}: {_command()}\n".encode(errors="replace"))
        except OSError:
            pass  # the lock is held; who holds it is only a courtesy to the next replay
        self._locks.append((lock, fd))
        self._claimed.add(real)


def probe_new_file(path: Path, what: str) -> None:
    """Check that a file written at the end through a temporary name beside it (JUnit, a golden log) can be:
    create and remove that temporary file now, and any folder it needs. OutputError if it cannot."""
    claim = Claim()
    try:
        claim._make_dirs(path.parent if str(path.parent) else Path("."))
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        raise OutputError(f"cannot write {what} {path}: {describe(e)}", e.errno) from None
    finally:
        claim.abandon()


def _read_owner(fd: int) -> str:
    try:
        text = os.pread(fd, 4096, 0).decode(errors="replace").strip()
    except OSError:
        text = ""
    return text.splitlines()[0] if text else "its pid unknown"


def _command() -> str:
    text = " ".join(["shopsim", *sys.argv[1:]])
    return text if len(text) <= 300 else text[:299] + "…"
