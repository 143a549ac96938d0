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


def simulated_findings(path: Path, model) -> list:
    """Play the scenario and turn what its run never exercised into warnings at their lines."""
    from shopsim.qa.coverage import coverage, tally
    from shopsim.scenario.compiled import compile_scenario
    from shopsim.scenario.lint import WARNING, Finding
    from shopsim.scenario.problems import format_path, locate
    from shopsim.scenario.yamlpos import load_yaml
    from shopsim.simulation import Simulation

    cs = compile_scenario(model)
    counted, feed = tally(cs.start_epoch)
    sim = Simulation(cs, keep_messages=False)
    sim.subscribe(feed)  # counted as it plays: a long run is never held in memory
    sim.run()
    sim.finish()
    positions = load_yaml(path.read_bytes().decode("utf-8-sig"), str(path)).positions
    points, _ = coverage(model, cs, counted, cs.start_epoch)
    out = []
    for p in points:
        if p.covered or not p.where:
            continue
        line, col = locate(positions, p.where)
        out.append(Finding(str(path), line, col, format_path(p.where), WARNING, "never-exercised",
                           f"the run (seed {cs.seed}) never exercised {p.name}", f"it needs {p.hint}"))
    return out


@click.command("lint")
@click.argument("scenarios", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--simulate", is_flag=True,
              help="also play each scenario (headless, no files) and report the flow steps, conditions, exits and "
                   "campaigns the run never exercised, at their lines")
def lint_cmd(scenarios: tuple[str, ...], fmt: str, simulate: bool = False) -> None:
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
        if simulate:
            found += simulated_findings(path, model)
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
