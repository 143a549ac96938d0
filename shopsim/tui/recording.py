"""What the terminal app records of the run it shows: for "Save this run…", and for `shopsim run --log/--db`.

Every event of the app's run goes through `shopsim replay`'s own `Recorder`: serialised once into its log
line (microseconds an event), then appended

- always, to a spool: a temporary file on disk, so the app never holds the run's events in memory however
  long it plays. "Save this run…" copies it;
- with `shopsim run --log/--db`, to those files too (`RunOutputs`), as replay writes them: the database by
  the same child process, which does its work on the other core.

A saved log is what the readers (`report`, `inbox`, `explain`, `diff`, `export`) take from replay: lines with
seq 1..n and no gap (they refuse a log with a line missing) and, last, `run.finished` at the virtual time of
the save. The readers do not require that line (a log without it reads as incomplete: "figures cover up to
..."), but a saved run is a run that ended there, not one cut short, so it gets the line the engine writes
when a run is finished at that time (`Simulation.finish()`). A saved log is therefore the log of
`shopsim replay --until` that time, byte for byte, for a run nobody touched. Saving does not finish the
app's run: it plays on.

Nothing here imports Textual: the app calls it, and the tests drive it headless. The database writer
(SQLAlchemy: a third of a second to import) is imported only when a database is written. A save's files
(their paths checked, the snapshot it copies, the log and database written whole) are save_files.py's."""

from __future__ import annotations

import io
import os
import tempfile
import threading
from pathlib import Path
from typing import IO, Callable

from shopsim.scenario.compiled import CompiledScenario
from shopsim.simulation import Simulation
from shopsim.contract.events import RUN_FINISHED, Event
from shopsim.store.outputs import Claim, OutputError
from shopsim.store.recorder import Recorder
from shopsim.tui.save_files import (CHUNK, SaveError, Snapshot, Target, check_save, temp_beside, why, write_db,
                                    write_log)

Tell = Callable[[str], None]  # how a recording tells the user that a copy of the run could not be written


def _ignore(_text: str) -> None:
    pass


def finished_line(sim: Simulation) -> bytes:
    """The `run.finished` line `sim.finish()` would log now, without finishing the run."""
    n = sim.emitted + 1
    ev = Event(n, sim.now, RUN_FINISHED, None, {"events": n, "counts": dict(sorted(sim.counts.items())),
                                                "shoppers": len(sim.shoppers)})
    buf = io.BytesIO()
    Recorder(sim.scenario.start_epoch, buf)([ev])
    return buf.getvalue()


# --- the app's current run ---------------------------------------------------------------------------


class Recording:
    """One run of the app, from its first event: the spool, and the `--log/--db` files when given."""

    def __init__(self, cs: CompiledScenario, outputs: RunOutputs | None = None, tell: Tell = _ignore):
        self.cs = cs
        self.outputs = outputs
        self.tell = tell
        self.sim: Simulation | None = None
        self.spool: IO[bytes] | None = tempfile.TemporaryFile(prefix="shopsim-run-", buffering=CHUNK)
        self.spool_error: str | None = None
        self.closed = False
        self.lock = threading.Lock()  # the first step (in the thread that builds the run) against a close
        self._head: list[list[Event]] | None = None  # the start's events, until write_start() writes them
        self._pending: list[bytes] = []              # lines logged meanwhile
        self._waiting = threading.Lock()
        self._started = threading.Event()            # set once the start is in the spool
        has_store = outputs is not None and outputs.store is not None
        self.recorder = Recorder(cs.start_epoch, _Lines(self), _StoreLines(self) if has_store else None)

    def start(self, sim: Simulation) -> None:
        """Subscribe to `sim` and take its first step (the run's start), in the thread that builds it. A close
        meanwhile waits for that step; one before it leaves the run unrecorded.

        Without --log/--db files, the start's events (a line for every shopper: a second's work at 100k) are
        only kept here, and written by `write_start()` once the interface has the run."""
        with self.lock:
            if self.closed:
                sim.step()
                return
            self.sim = sim
            if self.outputs is not None:
                self.outputs.adopt(sim, self.lock)
                sim.subscribe(self.recorder)
                sim.step()
                return
            head: list[list[Event]] = []
            stop = sim.subscribe(head.append)
            sim.step()
            stop()
            self._head = head
            sim.subscribe(self.recorder)

    def write_start(self) -> None:
        """Write the run's start to the spool, in the thread that built the run while the interface draws it;
        what the run logs meanwhile waits in memory behind it."""
        head = self._head
        if head is None:
            return
        try:
            write = Recorder(self.cs.start_epoch, self.spool)
            for i, batch in enumerate(head):
                write(batch)
                head[i] = []  # its events can go
        except (OSError, ValueError) as e:  # ValueError: the spool was closed meanwhile (the run was left)
            if not self.closed:
                self._spool_failed(e)
        finally:
            head.clear()
            with self._waiting:
                try:
                    if self.spool is not None and self.spool_error is None:
                        for chunk in self._pending:
                            self.spool.write(chunk)
                except (OSError, ValueError) as e:
                    if not self.closed:
                        self._spool_failed(e)
                self._pending.clear()
                self._head = None
            self._started.set()

    def drop(self) -> None:
        """Stop recording (the run is left, or started over): the spool goes, the files stay open for the
        next run (a restart) or as they are."""
        with self.lock:
            self.closed = True
            self.outputs = None
            if self.spool is not None:
                self.spool.close()
                self.spool = None

    def close(self, status: str = "finished") -> str | None:
        """End the files too, the run `status` ("finished" at the current time, or "failed"): what they
        hold, in one line, or None without files."""
        outputs = self.outputs
        text = outputs.close(status) if outputs is not None else None  # run.finished still reaches them
        self.drop()
        return text

    # --- saving --------------------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """What a save writes, taken on the thread that plays the run (between two slices): the spool's lines
        so far, and the run.finished line that ends them unless the run has finished already."""
        sim, spool = self.sim, self.spool
        if sim is None or spool is None:
            raise SaveError("this run is not recorded (it was left or started over)")
        if self._head is not None and not self._started.wait(30):
            raise SaveError("the run's start is still being recorded; try again in a moment")
        if self.spool_error is not None:
            raise SaveError(f"the run's temporary copy could not be written ({self.spool_error}); it cannot be saved")
        sim.flush()  # what the user did since the last slice (a settings change, a message opened)
        try:
            spool.flush()
            length = spool.tell()
            fd = os.dup(spool.fileno())  # the copy reads on while the spool is written, or closed
        except OSError as e:
            raise SaveError(f"the run's temporary copy could not be read ({why(e)})") from None
        tail = b"" if sim.finished else finished_line(sim)
        return Snapshot(fd, length, tail, self.cs, sim.now, sim.emitted + (0 if sim.finished else 1))

    # --- the Recorder's sinks ------------------------------------------------------------------------

    def _write(self, chunk: bytes) -> None:
        if self._head is not None:  # the start is still being written: wait behind it
            with self._waiting:
                if self._head is not None:
                    self._pending.append(chunk)
                    return
        spool = self.spool
        if spool is not None and self.spool_error is None:
            try:
                spool.write(chunk)
            except OSError as e:
                self._spool_failed(e)
        if self.outputs is not None:
            self.outputs.write_log(chunk, self.tell)

    def _spool_failed(self, e: BaseException) -> None:
        self.spool_error = why(e)
        self.tell(f"The run's temporary copy could not be written ({self.spool_error}): it can no longer be "
                  "saved from the palette; it plays on.")


class _Lines:
    """The Recorder's log: the spool, and the --log file. A copy that cannot be written is given up with one
    word to the user; the run itself goes on."""

    __slots__ = ("rec",)

    def __init__(self, rec: Recording):
        self.rec = rec

    def write(self, chunk: bytes) -> None:
        self.rec._write(chunk)


class _StoreLines:
    __slots__ = ("rec",)

    def __init__(self, rec: Recording):
        self.rec = rec

    def write(self, chunk: bytes) -> None:
        if self.rec.outputs is not None:
            self.rec.outputs.write_store(chunk, self.rec.tell)


# --- shopsim run --log/--db --------------------------------------------------------------------------


class RunOutputs:
    """The files of `shopsim run --log/--db`, claimed (locked) and opened before the app opens, then written
    with every event of the app's run of that scenario. A restart starts them over; leaving the scenario (or
    quitting) ends them with run.finished at the virtual time reached, as `shopsim replay --until` would."""

    def __init__(self, cs: CompiledScenario, claim: Claim, log_path: Path | None, db_url: str | None,
                 db_label: str | None, open_log: Callable[[Path], IO[bytes]]):
        self.cs, self.claim, self.open_log = cs, claim, open_log
        self.log_path, self.db_url, self.db_label = log_path, db_url, db_label
        self.log: IO[bytes] | None = None
        self.store = None
        self.sim: Simulation | None = None
        self.lock: threading.Lock | None = None
        self.problems: list[str] = []
        self.summary: str | None = None

    @property
    def names(self) -> str:
        return " and ".join(str(p) for p in (self.log_path, self.db_label) if p is not None)

    def open(self) -> None:
        """Open the database (a child process writes it) and the log, both from scratch. Raises StoreError, or
        OSError for the log."""
        from shopsim.store.process import open_store

        if self.db_url is not None:
            self.store = open_store(self.db_url, self.cs)
        if self.log_path is not None:
            try:
                self.log = self.open_log(self.log_path)
            except OSError:
                self._shut("failed")
                raise
        self.claim.keep()

    def adopt(self, sim: Simulation, lock: threading.Lock) -> None:
        self.sim, self.lock = sim, lock

    def start_over(self) -> None:
        """The run restarts: what the files hold is replaced by the new run, from its first event."""
        self._shut("interrupted")
        self.sim = None
        self.problems.clear()
        self.open()

    def close(self, status: str = "finished") -> str:
        """Finish the run at its current virtual time ("finished"), or leave it as it stopped ("failed"), and
        close the files; one line saying what they hold. Safe to call again (the same line)."""
        if self.summary is not None:
            return self.summary
        sim = self.sim
        if self.lock is not None:
            with self.lock:  # a run still taking its first step in its thread
                if sim is not None and status == "finished":
                    sim.finish()
        elif sim is not None and status == "finished":
            sim.finish()
        self._shut(status)
        self.claim.release()
        self.summary = self._describe(status)
        return self.summary

    def _describe(self, status: str) -> str:
        sim = self.sim
        if sim is None:
            return f"the app closed before the run started: {self.names} hold no run"
        where = f"the run of {self.cs.name} (seed {self.cs.seed}) up to {sim.iso()}, {sim.emitted:,} events"
        if status == "finished":
            text = f"{where}, is in {self.names}"
            if sim.now < sim.end:
                text += " (before the scenario's end: the log ends there, with run.finished)"
        else:
            text = f"{where}: the run stopped there; {self.names} hold it without run.finished"
        if self.problems:
            text += "; but " + "; ".join(self.problems)
        return text

    def _shut(self, status: str) -> None:
        log, self.log = self.log, None
        if log is not None:
            try:
                log.close()
            except OSError as e:
                self._problem(f"cannot write the event log {self.log_path}: {why(e)}")
        store, self.store = self.store, None
        if store is not None:
            from shopsim.store.errors import StoreError

            try:
                store.close(status, self.sim.now if self.sim is not None else 0)
            except StoreError as e:
                self._problem(f"cannot write the database {self.db_label}: {e}")

    def _problem(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)

    # --- what the Recording writes ---------------------------------------------------------------------

    def write_log(self, chunk: bytes, tell: Tell) -> None:
        if self.log is None:
            return
        try:
            self.log.write(chunk)
        except OSError as e:
            text = f"cannot write the event log {self.log_path}: {why(e)}"
            self._problem(text + " (it stops there)")
            try:
                self.log.close()
            except OSError:
                pass
            self.log = None
            tell(f"Recording: {text}. The run plays on; the log stops there.")

    def write_store(self, chunk: bytes, tell: Tell) -> None:
        if self.store is None:
            return
        from shopsim.store.errors import StoreError

        try:
            self.store.write(chunk)
        except StoreError as e:
            text = f"cannot write the database {self.db_label}: {e}"
            self._problem(text + (" (it is marked 'failed')" if e.marked else ""))
            self.store = None
            tell(f"Recording: {text}. The run plays on without it.")


# --- Save this run… ----------------------------------------------------------------------------------


def default_save_path(cs: CompiledScenario) -> str:
    """The path the save dialog offers: named as `shopsim replay` names its outputs, with "-played" so that
    accepting it never replaces a replay's log of the same scenario and seed."""
    return f"runs/{cs.name}-seed{cs.seed}-played.jsonl"


def plan_save(text: str, with_db: bool, keep_off: tuple[Path | None, ...] = ()) -> Target:
    """Check and claim where a save goes (lock it, make its folders), on the app's thread before any writing;
    SaveError with one line if it cannot be."""
    log, db = check_save(text, with_db, keep_off)
    claim = Claim()
    try:
        claim.take(log, "event log")
        if db is not None:
            claim.take(db, "database")
    except OutputError as e:
        claim.abandon()
        raise SaveError(str(e).replace("another replay", "another shopsim")) from None
    return Target(log, db, claim)


def save(snap: Snapshot, target: Target) -> str:
    """Write the snapshot to the target (in a worker thread): the log, then its database if asked, each
    through a temporary name beside it that replaces the file only once whole. Returns the files written, in
    words; raises SaveError (nothing written) if it fails."""
    errors: tuple[type[Exception], ...] = (OSError,)
    if target.db is not None:  # SQLAlchemy is imported only for a database: a log alone saves at once
        from shopsim.store.errors import StoreError

        errors = (OSError, StoreError)
    made: list[Path] = []
    where = target.log
    try:
        log_tmp = temp_beside(target.log, made)
        write_log(snap, log_tmp, gz=target.log.name.endswith(".gz"))
        db_tmp = None
        if target.db is not None:
            where = target.db
            db_tmp = temp_beside(target.db, made)
            write_db(snap, db_tmp)
            for stale in ("-wal", "-shm"):  # a killed replay's journal would be read into the new file
                Path(f"{target.db}{stale}").unlink(missing_ok=True)
        where = target.log
        os.replace(log_tmp, target.log)
        made.remove(log_tmp)
        if db_tmp is not None:
            where = target.db
            os.replace(db_tmp, target.db)
            made.remove(db_tmp)
    except errors as e:
        for tmp in made:
            tmp.unlink(missing_ok=True)
        target.give_up()
        raise SaveError(f"{where}: {why(e)}; nothing was written") from None
    finally:
        snap.close()
        target.claim.release()
    return str(target.log) + (f" and {target.db}" if target.db is not None else "")
