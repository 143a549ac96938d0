"""Helpers shared by the commands: error output, exit codes, loading a scenario or exiting."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, Sequence

import click

from shopsim.scenario.problems import ScenarioError
from shopsim.scenario.shipped import find_scenario
from shopsim.textsafe import visible

if TYPE_CHECKING:
    from shopsim.scenario.overrides import Override
    from shopsim.scenario.schema import Scenario

EXIT_OK, EXIT_EXPECTATIONS, EXIT_BAD_INPUT = 0, 1, 2


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    click.echo(f"shopsim: {visible(message)}", err=True)
    sys.exit(code)


def report_problems(err: ScenarioError) -> None:
    for problem in err.problems:
        click.echo(visible(str(problem)), err=True)  # a key or a path may hold control characters
    n = err.total  # the list stops at MAX_PROBLEMS
    click.echo(f"{n:,} problem{'s' if n != 1 else ''} found; nothing was written.", err=True)


def load_or_exit(name: str, overrides: Sequence[Override] = ()) -> tuple[Path, Scenario]:
    """A scenario by path or shipped name, validated (with `--set` overrides applied); every problem printed
    and exit 2 if it is bad."""
    from shopsim.validate import load_scenario  # the commands that never read a scenario skip pydantic

    path = find_scenario(name)
    try:
        return path, load_scenario(path, overrides)
    except ScenarioError as err:
        report_problems(err)
        sys.exit(EXIT_BAD_INPUT)




def overrides_or_exit(specs: Sequence[str]) -> list[Override]:
    """`--set PATH=VALUE` options (one value each), read; exit 2 naming the bad one."""
    from shopsim.scenario.overrides import OverrideError, parse

    out: list[Override] = []
    for spec in specs:
        try:
            out += parse(spec, many=False)
        except OverrideError as e:
            fail(f"--set: {e}")
    seen = [o.where for o in out]
    for w in seen:
        if seen.count(w) > 1:
            fail(f"--set: {w} is set twice")
    return out
