"""`shopsim` (bare) and `shopsim run SCENARIO`: open the terminal app."""

from __future__ import annotations

import os
import sys
import threading
import time

import click

from shopsim.scenario.shipped import find_scenario


def open_app(scenario: str | None, seed: int | None = None, play: bool = False, presenter: bool = False) -> None:
    served = "TEXTUAL_DRIVER" in os.environ  # textual-serve runs the app on pipes, with its own driver
    if not served and (not sys.stdin.isatty() or not sys.stdout.isatty()):
        click.echo("shopsim: the terminal app needs a terminal; for a headless run use `shopsim replay`.",
                   err=True)
        sys.exit(2)
    from shopsim.tui.app import make_app  # Textual is imported only when the app opens

    path = find_scenario(scenario) if scenario is not None else None
    if not served:
        _leave_when_the_terminal_goes(sys.stdin.fileno())
    make_app(path, seed, autoplay=play, presenter=presenter).run()


def _leave_when_the_terminal_goes(fd: int) -> None:
    """Exit (129, as for SIGHUP) once `fd` is no longer a terminal.

    A closed terminal does not always deliver SIGHUP: `make run` in a tmux pane that is killed leaves make to
    take it. Textual then spins on end-of-input in its input thread, and once a write to the dead terminal
    has failed its main loop blocks on a full output queue: a stray process burning a core for ever. So a
    watcher thread checks the terminal once a second. It exits at once: the app writes no files, and there
    is no terminal left to restore."""
    def watch() -> None:
        while True:
            time.sleep(1.0)
            try:
                alive = os.isatty(fd)
            except OSError:
                alive = False
            if not alive:
                os._exit(129)

    threading.Thread(target=watch, name="terminal-watch", daemon=True).start()


@click.command("run")
@click.argument("scenario", required=False)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="root seed (default: the scenario's)")
@click.option("--play", is_flag=True, help="start playing at once")
@click.option("--presenter", is_flag=True, help="a larger, calmer layout for a projector")
def run_cmd(scenario: str | None, seed: int | None, play: bool, presenter: bool) -> None:
    """Open the terminal app on SCENARIO (a file or a shipped scenario's name); without one, the picker."""
    open_app(scenario, seed, play, presenter)
