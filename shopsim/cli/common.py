"""Helpers shared by the commands: error output, exit codes, finding scenarios."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click

from shopsim.scenario.problems import ScenarioError

EXIT_OK, EXIT_EXPECTATIONS, EXIT_BAD_INPUT = 0, 1, 2
# In a checkout the shipped scenarios sit beside the package; an installed shopsim has them as data files.
SHIPPED = (Path(__file__).resolve().parent.parent.parent / "scenarios",
           Path(sys.prefix) / "share" / "shopsim" / "scenarios")


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    click.echo(f"shopsim: {message}", err=True)
    sys.exit(code)


def report_problems(err: ScenarioError) -> None:
    for problem in err.problems:
        click.echo(str(problem), err=True)
    n = len(err.problems)
    click.echo(f"{n} problem{'s' if n != 1 else ''} found; nothing was written.", err=True)


def scenario_dirs() -> list[Path]:
    """Where `shopsim scenarios` looks: ./scenarios, then the scenarios shipped beside the package."""
    out: list[Path] = []
    for d in (Path.cwd() / "scenarios", *SHIPPED):
        if d.is_dir() and d.resolve() not in [o.resolve() for o in out]:
            out.append(d)
    return out


def find_scenario(name: str) -> Path:
    """A scenario path as typed, or a shipped scenario's name ('default')."""
    p = Path(name)
    if p.exists() or p.suffix in (".yaml", ".yml") or "/" in name:
        return p
    for d in scenario_dirs():
        for cand in (d / f"{name}.yaml", d / f"{name}.yml"):
            if cand.exists():
                return cand
    return p
