"""`shopsim lint`: policies that contradict each other, found before anything runs (scenario/lint.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from shopsim.cli.common import EXIT_BAD_INPUT, EXIT_EXPECTATIONS
from shopsim.textsafe import visible


def findings_for(path: Path, model) -> list:
    """The lint findings of a scenario already validated from `path`."""
    from shopsim.scenario.compiled import compile_scenario
    from shopsim.scenario.lint import lint
    from shopsim.scenario.yamlpos import load_yaml

    doc = load_yaml(path.read_bytes().decode("utf-8-sig"), str(path))
    return lint(model, compile_scenario(model), doc.positions, str(path))


@click.command("lint")
@click.argument("scenarios", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def lint_cmd(scenarios: tuple[str, ...], fmt: str) -> None:
    """Find policies that contradict each other in SCENARIO files (or shipped names), before anything runs:
    a send window that only opens during quiet hours, a cap smaller than a flow's own steps, an offer whose
    pushes are held past its end, recommendations to shoppers without personalization consent, a digest due
    in quiet hours, an exit or condition that can never happen, pushes at night to shoppers with no quiet
    hours. Each finding names the file, line and rule, with a one-line fix.

    Exit 1 when any finding is an error, 0 with only warnings (or none), 2 for a file that is not a valid
    scenario. `shopsim validate` prints the same findings without failing on them."""
    from shopsim.scenario.problems import ScenarioError
    from shopsim.scenario.shipped import find_scenario
    from shopsim.validate import load_scenario

    found, invalid = [], 0
    for name in scenarios:
        path = find_scenario(name)
        try:
            model = load_scenario(path)
        except ScenarioError as err:
            invalid += 1
            for problem in err.problems:
                click.echo(visible(str(problem)), err=True)
            continue
        found += findings_for(path, model)
    errors = sum(f.severity == "error" for f in found)
    if fmt == "json":
        click.echo(json.dumps([f.__dict__ for f in found], indent=2, ensure_ascii=False))
    else:
        for f in found:
            click.echo(visible(str(f)))
        n = len(scenarios) - invalid
        click.echo(f"{errors} error{'s' * (errors != 1)}, {len(found) - errors} warning"
                   f"{'s' * (len(found) - errors != 1)} in {n} scenario{'s' * (n != 1)}.")
    if invalid:
        sys.exit(EXIT_BAD_INPUT)
    if errors:
        sys.exit(EXIT_EXPECTATIONS)
