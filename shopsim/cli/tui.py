"""`shopsim` (bare) and `shopsim run SCENARIO`: open the terminal app."""

from __future__ import annotations

import os
import sys

import click

from shopsim.cli.common import find_scenario


def open_app(scenario: str | None, seed: int | None = None, play: bool = False, presenter: bool = False) -> None:
    served = "TEXTUAL_DRIVER" in os.environ  # textual-serve runs the app on pipes, with its own driver
    if not served and (not sys.stdin.isatty() or not sys.stdout.isatty()):
        click.echo("shopsim: the terminal app needs a terminal; for a headless run use `shopsim replay`.",
                   err=True)
        sys.exit(2)
    from shopsim.tui.app import make_app  # Textual is imported only when the app opens

    path = find_scenario(scenario) if scenario is not None else None
    make_app(path, seed, autoplay=play, presenter=presenter).run()


@click.command("run")
@click.argument("scenario", required=False)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="root seed (default: the scenario's)")
@click.option("--play", is_flag=True, help="start playing at once")
@click.option("--presenter", is_flag=True, help="a larger, calmer layout for a projector")
def run_cmd(scenario: str | None, seed: int | None, play: bool, presenter: bool) -> None:
    """Open the terminal app on SCENARIO (a file or a shipped scenario's name); without one, the picker."""
    open_app(scenario, seed, play, presenter)
