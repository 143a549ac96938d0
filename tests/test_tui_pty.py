"""`shopsim` in a real pseudo-terminal: it draws the app and quits cleanly on q."""

from __future__ import annotations

import os
import pty
import select
import signal
import struct
import sys
import termios
import time
from fcntl import ioctl
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _read_until(fd: int, needle: bytes, limit_s: float) -> bytes:
    """Read the terminal's output until `needle` shows up (a bound on waiting, not a timing assertion)."""
    out = b""
    end = time.monotonic() + limit_s
    while needle not in out and time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                out += os.read(fd, 65536)
            except OSError:
                break
    return out


def _open_app(tmp_path, rows: int, cols: int, ignore_hangup: bool = False) -> tuple[int, int]:
    """`shopsim` (bare, as a user starts it) in a new pseudo-terminal of rows × cols, once it has drawn the
    default scenario: (child pid, the terminal's master fd)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the terminal app
        os.chdir(tmp_path)
        if ignore_hangup:  # inherited through exec, as when make takes the signal
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
        env = dict(os.environ, TERM="xterm-256color", PYTHONPATH=str(ROOT), COLUMNS=str(cols), LINES=str(rows))
        os.execvpe(sys.executable, [sys.executable, "-m", "shopsim"], env)
    ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    shown = _read_until(fd, b"default", 60)
    assert b"default" in shown, shown[-2000:]
    return pid, fd


def _exit_status(pid: int, fd: int, limit_s: float = 30) -> int | None:
    """The child's wait status once it exits (None if it is still running after `limit_s`, a bound on
    waiting), draining its terminal meanwhile when there still is one (fd >= 0)."""
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if fd >= 0:
            _read_until(fd, b"\x00never", 0.2)
        else:
            select.select([], [], [], 0.2)
    return None


def _end(pid: int, fd: int) -> None:
    """Whatever happened: no child left behind, no terminal left open."""
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass
    if fd >= 0:
        os.close(fd)


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_bare_shopsim_opens_the_app_and_quits_cleanly(tmp_path) -> None:
    pid, fd = _open_app(tmp_path, 48, 160)
    try:
        os.write(fd, b"q")
        status = _exit_status(pid, fd)
        assert status is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    finally:
        _end(pid, fd)


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_the_app_leaves_when_its_terminal_is_gone_even_without_a_hangup_signal(tmp_path) -> None:
    """`make run` in a tmux pane that is killed: make takes the SIGHUP and the app never sees it. Its
    terminal is gone all the same, and the app must leave rather than spin on end-of-input for ever (a
    stray process burning a core). The child ignores SIGHUP to play that case."""
    pid, fd = _open_app(tmp_path, 30, 100, ignore_hangup=True)
    try:
        os.close(fd)  # the terminal window closes
        fd = -1
        status = _exit_status(pid, fd)
        assert status is not None, "the app outlived its terminal"
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 129, status  # 128 + SIGHUP
    finally:
        _end(pid, fd)
