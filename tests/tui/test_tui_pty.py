"""`shopsim` in a real pseudo-terminal of a given size (no tmux): it draws the app and quits cleanly on q."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time
from fcntl import ioctl

import pytest

from helpers.paths import ROOT



# Escape sequences (CSI, OSC, two-byte ESC codes), taken out to read what the app wrote as text.
ESCAPES = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[ -/]*[0-~]")
CURSOR_TO = re.compile(rb"\x1b\[(\d+);(\d+)H")  # the app places each line it draws: row;column, from 1


def plain_text(out: bytes) -> str:
    return ESCAPES.sub(b"", out).decode("utf-8", "replace")


def _read_until(fd: int, done, limit_s: float) -> bytes:
    """Read the terminal's output until `done(output)` holds (a bound on waiting, not a timing assertion)."""
    out = b""
    end = time.monotonic() + limit_s
    while not done(out) and time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                out += os.read(fd, 65536)
            except OSError:
                break
    return out


def _open_app(tmp_path, rows: int, cols: int, args: tuple[str, ...] = (), ignore_hangup: bool = False,
              drawn=lambda out: b"default" in out) -> tuple[int, int, bytes]:
    """`shopsim ARGS` (bare by default, as a user starts it) in a new pseudo-terminal of rows × cols, once
    `drawn(output so far)` holds: (child pid, the terminal's master fd, what it wrote so far)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the terminal app
        # The terminal's size is set before the app starts and asks for it; COLUMNS and LINES would
        # override it (the test runner's own terminal may export them).
        ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        os.chdir(tmp_path)
        if ignore_hangup:  # inherited through exec, as when make takes the signal
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        env.update(TERM="xterm-256color", PYTHONPATH=str(ROOT))
        os.execvpe(sys.executable, [sys.executable, "-m", "shopsim", *args], env)
    shown = _read_until(fd, drawn, 60)
    assert drawn(shown), shown[-2000:]
    return pid, fd, shown


def _exit_status(pid: int, fd: int, limit_s: float = 30) -> tuple[int | None, bytes]:
    """The child's wait status once it exits (None if it is still running after `limit_s`, a bound on
    waiting), and what it wrote meanwhile on its terminal when there still is one (fd >= 0)."""
    out = b""
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            if fd >= 0:  # what it wrote last, a traceback say, may still wait in the terminal
                out += _read_until(fd, lambda _: False, 0.2)
            return status, out
        if fd >= 0:
            out += _read_until(fd, lambda _: False, 0.2)
        else:
            select.select([], [], [], 0.2)
    return None, out


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
    pid, fd, _ = _open_app(tmp_path, 48, 160)
    try:
        os.write(fd, b"q")
        status, _ = _exit_status(pid, fd)
        assert status is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    finally:
        _end(pid, fd)


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_run_default_in_80x24_draws_the_top_bar_in_the_terminal_and_quits_cleanly(tmp_path) -> None:
    """The smallest terminal the app is made for: the top bar shows, everything is drawn inside 80×24,
    q quits with exit code 0 and nothing (no traceback) is printed on the way out."""
    def drawn(out: bytes) -> bool:  # the top bar, and the whole frame it is in: down to the last row
        return ("+1d" in plain_text(out) and "day 1/" in plain_text(out)
                and any(int(row) == 24 for row, _ in CURSOR_TO.findall(out)))

    pid, fd, shown = _open_app(tmp_path, 24, 80, ("run", "default"), drawn=drawn)
    try:
        places = [(int(row), int(col)) for row, col in CURSOR_TO.findall(shown)]
        assert places and max(r for r, _ in places) == 24 and max(c for _, c in places) <= 80, places
        os.write(fd, b"q")
        status, rest = _exit_status(pid, fd)
        assert status is not None, "q did not quit the app"
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
        everything = shown + rest
        assert "Traceback" not in plain_text(everything), plain_text(everything)[-2000:]
        left_screen = everything.rfind(b"\x1b[?1049l")  # back from the app's own screen to the shell's
        assert left_screen >= 0 and not plain_text(everything[left_screen:]).strip(), everything[left_screen:]
    finally:
        _end(pid, fd)


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_the_app_leaves_when_its_terminal_is_gone_even_without_a_hangup_signal(tmp_path) -> None:
    """`make run` in a tmux pane that is killed: make takes the SIGHUP and the app never sees it. Its
    terminal is gone all the same, and the app must leave rather than spin on end-of-input for ever (a
    stray process burning a core). The child ignores SIGHUP to play that case."""
    pid, fd, _ = _open_app(tmp_path, 30, 100, ignore_hangup=True)
    try:
        os.close(fd)  # the terminal window closes
        fd = -1
        status, _ = _exit_status(pid, fd)
        assert status is not None, "the app outlived its terminal"
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 129, status  # 128 + SIGHUP
    finally:
        _end(pid, fd)
