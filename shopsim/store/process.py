"""Write the store in a second process, fed with the event log's lines through a pipe.

Building rows and SQLite's own work take about as long as the engine does; in a forked child they run
on the second core while the engine goes on. The pipe gives back-pressure (the engine waits when the
child falls behind). The child ignores Ctrl-C (the terminal sends it to both) and waits for the parent to
say how the run ended; if the parent dies outright, the child sees the pipe close and leaves the run
marked `running`. Ctrl-C and SIGTERM are held back while a message is on the wire, so a signal can never
leave half a message in the pipe.
"""

from __future__ import annotations

import gc
import multiprocessing
import signal
from typing import Any

from shopsim.scenario.compiled import CompiledScenario
from shopsim.store.writer import StoreWriter



_HELD = {signal.SIGINT, signal.SIGTERM}


def _child(url: str, cs: CompiledScenario, conn: Any, parent_end: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The fork copied the parent's end of the pipe; holding it would hide the parent's death from us.
    parent_end.close()
    # The child inherits the parent's whole heap; collections would walk it (and copy its pages) over and
    # over while the writer makes millions of small acyclic objects. Nothing here makes cycles.
    gc.freeze()
    gc.disable()
    try:
        writer = StoreWriter(url, cs)
    except Exception as e:
        conn.send(("error", f"{e.__class__.__name__}: {str(e).splitlines()[0] if str(e) else ''}"))
        return
    writer.start_thread()  # keep reading the pipe while SQLite commits, so the engine never waits on it
    conn.send(("ready", None))
    try:
        while True:
            kind, a, b = conn.recv()
            if kind == "lines":
                writer.write(a, b)
            else:
                conn.send(("done", writer.close(a, b)))
                return
    except EOFError:  # the parent is gone: leave the run as it is, 'running', never complete
        return
    except Exception as e:
        conn.send(("error", f"{e.__class__.__name__}: {e}"))


class StoreProcess:
    """The same interface as StoreWriter (`write(chunk, meta)`, `close(status, until_ms)`), in a child."""

    def __init__(self, url: str, cs: CompiledScenario):
        ctx = multiprocessing.get_context("fork")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_child, args=(url, cs, child, self._conn), name="shopsim-store",
                                 daemon=True)
        self._proc.start()
        child.close()
        kind, detail = self._conn.recv()
        if kind == "error":
            self._proc.join()
            raise RuntimeError(detail)

    def write(self, chunk: bytes, meta: list[tuple[int, int, str, str | None]] | None = None) -> None:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
        try:
            self._conn.send(("lines", chunk, meta))
        except (BrokenPipeError, ConnectionResetError):
            self._fail()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

    def close(self, status: str, until_ms: int) -> int:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
        try:
            self._conn.send(("close", status, until_ms))
            kind, detail = self._conn.recv()
        except (BrokenPipeError, ConnectionResetError, EOFError):
            self._fail()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
        self._proc.join()
        if kind == "error":
            raise RuntimeError(f"writing the database failed: {detail}")
        return detail

    def _fail(self):
        detail = "the store process ended unexpectedly"
        if self._conn.poll():
            kind, text = self._conn.recv()
            if kind == "error":
                detail = text
        raise RuntimeError(f"writing the database failed: {detail}")


def open_store(url: str, cs: CompiledScenario):
    """A store writer in a child process where fork is available, else in this process."""
    if "fork" in multiprocessing.get_all_start_methods():
        return StoreProcess(url, cs)
    return StoreWriter(url, cs)
