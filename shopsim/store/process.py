"""Write the store in a second process, fed with the event log's lines through a pipe.

Building rows and SQLite's own work take about as long as the engine does; in a forked child they run
on the second core while the engine goes on. Only the lines cross the pipe: the child parses each one once
anyway, so the recorder's (seq, t, type, shopper) per line would only cost pickling on both sides. The pipe
gives back-pressure (the engine waits when the child falls behind). A thread of the child drains the pipe into
a small queue, so the engine does not wait while SQLite commits; the rows are built and committed on the
child's main thread. (Committing on a second thread instead costs a handover of the GIL around every row's
insert: about 8% more CPU, and twice the wall time on a busy machine.)

Only the parent decides how a run ends. A signal sent to the whole process group (Ctrl-C on a terminal;
`timeout`, systemd or a CI runner cancelling a job) reaches the child too, so the child ignores SIGINT and
SIGTERM (they are blocked across the fork, so none can slip in before that) and waits for the parent to say
how the run ended. If the parent dies outright, the child sees the pipe close and leaves the run marked
`running`. Ctrl-C and SIGTERM are held back while a message is on the wire, so a signal can never leave half
a message in the pipe.

When a write fails (a full disk), the child tries to mark the run `failed`, reports it and stops; the
parent raises StoreError at its next write (or at close) with the reason and whether the run could be marked.
"""

from __future__ import annotations

import gc
import multiprocessing
import queue
import signal
import threading
from typing import Any

from shopsim.scenario.compiled import CompiledScenario
from shopsim.store.errors import StoreError
from shopsim.store.writer import StoreWriter, reason

_HELD = {signal.SIGINT, signal.SIGTERM}
_GONE = (BrokenPipeError, ConnectionResetError, EOFError)
_AHEAD = 4  # chunks of lines read from the pipe ahead of the writer (the recorder's, about 1 MB each)


def _drain(conn: Any, into: queue.Queue) -> None:
    """The parent's messages, in order, until the one that ends the run; a closed pipe as ("gone", error)."""
    try:
        while True:
            message = conn.recv()
            into.put(message)
            if message[0] != "lines":
                return
    except _GONE as e:
        into.put(("gone", e, None))


def _child(url: str, cs: CompiledScenario, conn: Any, parent_end: Any) -> None:
    for sig in _HELD:
        signal.signal(sig, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _HELD)  # a signal that came meanwhile is dropped, not acted on
    # The fork copied the parent's end of the pipe; holding it would hide the parent's death from us.
    parent_end.close()
    # The child inherits the parent's whole heap; collections would walk it (and copy its pages) over and
    # over while the writer makes millions of small acyclic objects. Nothing here makes cycles.
    gc.freeze()
    gc.disable()
    try:
        try:
            writer = StoreWriter(url, cs)
        except Exception as e:
            conn.send(("error", reason(e), False))
            return
        conn.send(("ready", None, None))
        messages: queue.Queue = queue.Queue(maxsize=_AHEAD)
        threading.Thread(target=_drain, args=(conn, messages), name="shopsim-store-pipe", daemon=True).start()
        try:
            while True:
                kind, a, b = messages.get()
                if kind == "lines":
                    writer.write(a)
                elif kind == "gone":
                    raise a
                else:
                    conn.send(("done", writer.close(a, b), None))
                    return
        except _GONE:
            raise
        except Exception as e:  # a full disk; or a bug, which must not leave the run looking alive either
            failed = writer.give_up(e)
            conn.send(("error", str(failed), failed.marked))
    except _GONE:  # the parent is gone: leave the run as it is, 'running', never complete
        return


class StoreProcess:
    """The same interface as StoreWriter (`write(chunk)`, `close(status, until_ms)`, `failed`), in a
    child process."""

    def __init__(self, url: str, cs: CompiledScenario):
        ctx = multiprocessing.get_context("fork")
        self.failed: StoreError | None = None
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_child, args=(url, cs, child, self._conn), name="shopsim-store",
                                 daemon=True)
        old = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
        try:
            self._proc.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
        child.close()
        try:
            kind, detail, _ = self._conn.recv()
        except BaseException:  # interrupted while the database was being opened, or the child died
            self._conn.close()
            self._proc.kill()
            self._proc.join()
            raise
        if kind == "error":
            self._conn.close()
            self._proc.join()
            raise StoreError(detail)

    def write(self, chunk: bytes) -> None:
        """Send a chunk of lines to the child."""
        if self.failed is not None:
            raise self.failed
        old = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
        try:
            if self._conn.poll():  # the child only speaks first to report a failure
                self._fail(self._conn.recv())
            self._conn.send(("lines", chunk, None))
        except _GONE:
            self._fail(None)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

    def close(self, status: str, until_ms: int) -> int:
        """Have the child finish and mark the run `status`; the number of rows written. Raises StoreError
        when that fails; after an earlier StoreError it does nothing."""
        if self.failed is not None:
            return 0
        old = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
        try:
            self._conn.send(("close", status, until_ms))
            message = self._conn.recv()
        except _GONE:
            message = None
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
        if message is None or message[0] != "done":
            self._fail(message)
        self._shut()
        return message[1]

    def _fail(self, message: tuple | None) -> None:
        """Raise (and keep) the child's StoreError; without its report, the child died."""
        if message is None:
            try:
                message = self._conn.recv() if self._conn.poll() else None
            except (*_GONE, OSError):
                message = None
        if message is not None and message[0] == "error":
            self.failed = StoreError(message[1], bool(message[2]))
        else:
            self.failed = StoreError("the database writer process ended unexpectedly")
        self._shut()
        raise self.failed

    def _shut(self) -> None:
        self._conn.close()
        self._proc.join()


def open_store(url: str, cs: CompiledScenario):
    """A store writer in a child process where fork is available, else in this process."""
    if "fork" in multiprocessing.get_all_start_methods():
        return StoreProcess(url, cs)
    return StoreWriter(url, cs)
