"""`shopsim serve` as its users meet it. In a real browser: headless Chromium (Debian's `chromium` and
`chromium-driver`), driven through Selenium, opens the page; the app draws in the page's terminal, a key and a
click on the top bar reach it, two tabs play two separate runs, and stopping the server closes both pages at
once. Without a browser: a bad scenario is refused before anything is served, in words that fit serving.

The page's terminal (xterm.js) draws on a canvas, so the text is read from xterm's own buffer through its
public API (`buffer.active.getLine(y).getCell(x)`). textual-serve keeps its Terminal in a local object; a
script that runs before the page's own catches it as that object stores it (`this.terminal = ...`).

Nothing here touches the network: Chromium is told to resolve no name but the loopback address (the page
asks for a web font) and to skip its own background requests."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from shopsim.cli import main

from helpers.paths import ROOT

try:
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # the browser test says so and skips
    webdriver = None

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

needs_a_browser = pytest.mark.skipif(
    sys.platform == "win32" or webdriver is None
    or not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)),
    reason="needs selenium (pip install -e '.[test]') and Debian's chromium and chromedriver "
           "(apt-get install chromium chromium-driver; .ci/run installs them)")

WINDOW = (1200, 800)  # a terminal of about 130 × 36 cells
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage",
                  # the page links a web font: every name but the loopback fails at once, offline or not
                  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")

# Keeps the first xterm Terminal stored as `x.terminal = ...` in window.__shopsimTerminal, then steps aside.
CATCH_TERMINAL = """
Object.defineProperty(Object.prototype, 'terminal', {
  configurable: true,
  get() { return undefined; },
  set(value) {
    Object.defineProperty(this, 'terminal', {value, writable: true, configurable: true, enumerable: true});
    if (value && value.buffer && value.buffer.active && typeof value.write === 'function') {
      window.__shopsimTerminal = value;
      delete Object.prototype.terminal;
    }
  },
});
"""

# The terminal's screen, one string per cell (the right half of a wide character is "").
READ_SCREEN = """
const t = window.__shopsimTerminal;
if (!t) return null;
const buffer = t.buffer.active, rows = [];
for (let y = 0; y < t.rows; y++) {
  const line = buffer.getLine(buffer.viewportY + y), cells = [];
  for (let x = 0; x < t.cols; x++) {
    const cell = line && line.getCell(x);
    cells.push(!cell ? ' ' : cell.getWidth() === 0 ? '' : (cell.getChars() || ' '));
  }
  rows.push(cells);
}
const box = t.element.querySelector('.xterm-screen').getBoundingClientRect();
return {rows, box: [box.left, box.top, box.width, box.height]};
"""

# "day 1/7 · Mon 02 Mar 00:00 UTC", or shorter while the bar is narrow: the day and the virtual time.
CLOCK = re.compile(r"day (\d+)/\d+.*?(\d\d:\d\d)")
CALLOUT = re.compile(r"step \d+ of \d+")  # the narration callout's hint: the run paused at a step of the story
START_S, REACT_S = 90, 45  # bounds on waiting (a loaded machine starts the app slowly), not timing assertions
STOP_S = 15  # but this one is the point: aiohttp alone waits 20 s and more for open pages to close by themselves


class Screen:
    def __init__(self, rows: list[list[str]], box: list[float]) -> None:
        self.rows, self.box = rows, box
        self.lines = ["".join(cells) for cells in rows]

    @property
    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.lines)

    @property
    def clock(self) -> tuple[int, str] | None:
        """(day, "HH:MM") from the top bar, however much of the clock line fits."""
        found = CLOCK.search(self.lines[0]) if self.lines else None
        return (int(found.group(1)), found.group(2)) if found else None

    @property
    def callout(self) -> bool:
        return CALLOUT.search(self.text) is not None

    def cell_of(self, text: str) -> tuple[int, int]:
        """(column, row) of the first cell of `text` on the screen."""
        for y, line in enumerate(self.lines):
            at = line.find(text)
            if at >= 0:
                x, seen = 0, 0
                while seen < at:
                    seen += len(self.rows[y][x])
                    x += 1
                return x, y
        raise AssertionError(f"{text!r} is not on the screen:\n{self.text}")


class Tab:
    """One browser window on the served page."""

    def __init__(self, driver, url: str, name: str, *, new_window: bool) -> None:
        self.driver, self.name = driver, name
        if new_window:
            driver.switch_to.new_window("window")
        self.handle = driver.current_window_handle
        driver.set_window_size(*WINDOW)  # the same terminal size in every tab, wide enough for the whole top bar
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": CATCH_TERMINAL})
        driver.get(url)

    def _here(self):
        if self.driver.current_window_handle != self.handle:
            self.driver.switch_to.window(self.handle)
        return self.driver

    def screen(self) -> Screen | None:
        got = self._here().execute_script(READ_SCREEN)
        return Screen(got["rows"], got["box"]) if got else None

    def wait_for(self, what: str, ok, limit_s: float = REACT_S) -> Screen:
        """The screen once `ok(screen)` holds; fails, showing the screen, if it does not within `limit_s`."""
        last: list[Screen | None] = [None]

        def check(_driver) -> Screen | bool:
            last[0] = self.screen()
            return last[0] if last[0] is not None and ok(last[0]) else False

        try:
            return WebDriverWait(self.driver, limit_s, poll_frequency=0.1).until(check)
        except TimeoutException:
            shown = last[0].text if last[0] is not None else "(no terminal on the page)"
            pytest.fail(f"{self.name}: {what} (waited {limit_s} s); the page's terminal shows:\n{shown}")

    def wait_until(self, what: str, ok, limit_s: float = REACT_S) -> None:
        self._here()
        try:
            WebDriverWait(self.driver, limit_s, poll_frequency=0.1).until(ok)
        except TimeoutException:
            pytest.fail(f"{self.name}: {what} (waited {limit_s} s)")

    def press(self, key: str) -> None:
        driver = self._here()
        driver.execute_script("window.__shopsimTerminal.focus()")
        ActionChains(driver).send_keys(key).perform()

    def click(self, text: str) -> None:
        """A real mouse click in the middle of `text` as drawn in the page's terminal."""
        screen = self.screen()
        x, y = screen.cell_of(text)
        left, top, width, height = screen.box
        cell_w, cell_h = width / len(screen.rows[0]), height / len(screen.rows)
        action = ActionBuilder(self._here())
        action.pointer_action.move_to_location(int(left + (x + len(text) / 2) * cell_w),
                                               int(top + (y + 0.5) * cell_h))
        action.pointer_action.click()
        action.perform()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def _group_members(pgid: int) -> list[int]:
    """The live processes (zombies aside) of process group `pgid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if fields[0] != "Z" and int(fields[2]) == pgid:
                found.append(int(entry.name))
    return found


def _stop_group(proc: subprocess.Popen) -> None:
    """The server, then whatever is left of its process group (the apps it started for each browser)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=STOP_S + 15)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _kill_processes_using(marker: str) -> None:
    """Any process left whose command line names `marker` (this test's own Chromium profile)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            try:
                os.kill(int(entry.name), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


@dataclass
class Served:
    url: str
    proc: subprocess.Popen  # `shopsim serve`, leading its own process group (its apps are in it)
    log: Path  # what it printed

    def stops_on(self, sig: int) -> int:
        """Send `sig` to the server alone: its exit code, once it has exited."""
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=STOP_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"shopsim serve was still running {STOP_S} s after signal {sig}:\n{self.log.read_text()}")


@pytest.fixture
def served(tmp_path):
    """`shopsim serve default` on a free port, once it answers. Stopped with everything it started."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    log_path = tmp_path / "serve.log"
    for _attempt in range(3):  # another process may take the free port first
        port = _free_port()
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([sys.executable, "-m", "shopsim", "serve", "default", "--port", str(port)],
                                    cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            tries = int(START_S / 0.1)  # a bound on waiting, never an assertion on speed
            while not _answers(port):
                try:
                    proc.wait(timeout=0.1)  # the pause between tries, and an early exit seen at once
                except subprocess.TimeoutExpired:
                    tries -= 1
                    assert tries > 0, f"shopsim serve never answered on port {port}:\n{log_path.read_text()}"
                    continue
                output = log_path.read_text()
                if "cannot listen" in output:
                    break
                pytest.fail(f"shopsim serve exited with {proc.returncode}:\n{output}")
            else:
                yield Served(f"http://127.0.0.1:{port}/", proc, log_path)
                return
        finally:
            _stop_group(proc)
    pytest.fail(f"no free port for shopsim serve:\n{log_path.read_text()}")


@pytest.fixture
def browser(tmp_path):
    profile = tmp_path / "chromium-profile"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    # A driver path given: Selenium uses it and never looks for (or downloads) a driver of its own.
    service = Service(CHROMEDRIVER, log_output=subprocess.DEVNULL)
    driver = None
    try:
        driver = webdriver.Chrome(options=options, service=service)
        driver.set_page_load_timeout(START_S)
        driver.set_script_timeout(REACT_S)
        yield driver
    finally:
        try:
            if driver is not None:
                driver.quit()
        finally:
            service.stop()
            _kill_processes_using(str(profile))


@needs_a_browser
def test_serve_in_a_browser_draws_the_app_takes_keys_and_clicks_and_gives_each_tab_its_own_run(served, browser):
    first = Tab(browser, served.url, "first tab", new_window=False)
    second = Tab(browser, served.url, "second tab", new_window=True)  # both apps start at once

    drawn = lambda s: "default" in s.lines[0] and "+1d" in s.lines[0] and s.clock is not None  # noqa: E731
    start = first.wait_for("the app never drew its top bar", drawn, START_S).clock
    assert start == (1, "00:00"), start
    assert second.wait_for("the app never drew its top bar", drawn, START_S).clock == start

    # A key: d jumps a day, and the story's first narration step (at 30m) stops it there with its callout.
    first.press("d")
    first.wait_for("d did not move the clock to the story's first step",
                   lambda s: s.clock != start and s.callout)
    first.press(Keys.ESCAPE)
    after_key = first.wait_for("the narration callout did not close on escape",
                               lambda s: not s.callout and "paused" in s.lines[0]).clock
    assert after_key != start

    # A click on the top bar's +1d button: a jump again (to the next step of the story, or a day on).
    first.click("+1d")
    first.wait_for("a click on +1d did not move the clock", lambda s: s.clock != after_key)
    clicked = first.wait_for("the clock did not stop after the click's jump", lambda s: "paused" in s.lines[0]).clock

    # Two tabs, two runs: the second never moved, and moving it leaves the first where it was.
    assert second.screen().clock == start
    second.press("h")
    second.wait_for("h did not move the second tab's clock", lambda s: s.clock != start)
    assert first.screen().clock == clicked

    # Stopped as `kill` or a service manager stops it (Ctrl-C in its terminal reaches its apps too), the
    # server quits both apps and closes both pages ("Session ended.") at once, and says so.
    assert served.stops_on(signal.SIGTERM) == 0
    assert "the server stopped; no run is left open in a browser." in served.log.read_text()
    for tab in (first, second):
        tab.wait_until("the page did not show its session ended", lambda d: d.execute_script(
            "return document.body.classList.contains('-closed')"))
    first.wait_until("an app outlived the server", lambda _: not _group_members(served.proc.pid))


def test_serve_refuses_a_bad_scenario_saying_that_nothing_was_served(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema_version: 1\nrun: {name: x, duraton: 3d}\n")
    result = CliRunner().invoke(main, ["serve", str(bad), "--port", str(_free_port())])
    assert result.exit_code == 2
    assert f"{bad}:2:16: run.duraton: unknown key 'duraton'" in result.output
    assert result.output.rstrip().endswith("2 problems found; the server was not started.")
    assert "written" not in result.output and "Traceback" not in result.output
    missing = CliRunner().invoke(main, ["serve", str(tmp_path / "nowhere.yaml")])
    assert missing.exit_code == 2 and "1 problem found; the server was not started." in missing.output
