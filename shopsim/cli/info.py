"""`shopsim validate`, `shopsim scenarios` and `shopsim schema`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from shopsim.cli.common import EXIT_BAD_INPUT
from shopsim.contract.log_schema import log_json_schema
from shopsim.validate import load_scenario
from shopsim.scenario.problems import ScenarioError
from shopsim.scenario.schema import json_schema
from shopsim.scenario.shipped import scenario_dirs
from shopsim.textsafe import visible


@click.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=True, path_type=Path))
def validate_cmd(files: tuple[Path, ...]) -> None:
    """Check scenario files; report every problem as file:line:col: field: message. Policies that contradict
    each other (`shopsim lint`) are printed too, on stderr, without failing."""
    bad = 0
    for f in files:
        try:
            sc = load_scenario(f)
        except ScenarioError as err:
            bad += 1
            for problem in err.problems:
                click.echo(visible(str(problem)), err=True)
            continue
        click.echo(f"{f}: ok ({sc.run.name}: {sc.population.size} shoppers, {sc.run.duration})")
        from shopsim.cli.lint import findings_for  # policy conflicts: told, never a failure here (`shopsim lint`)

        for finding in findings_for(f, sc):
            click.echo(visible(str(finding)), err=True)
    if bad:
        click.echo(f"{bad} of {len(files)} file{'s' if len(files) != 1 else ''} invalid.", err=True)
        sys.exit(EXIT_BAD_INPUT)


@click.command("scenarios")
def scenarios_cmd() -> None:
    """List the shipped scenarios (and those in ./scenarios) with their descriptions."""
    rows = []
    seen: set[str] = set()
    for d in scenario_dirs():
        for f in sorted(d.glob("*.y*ml")):
            if f.name in seen:  # ./scenarios comes first and hides a shipped file of the same name
                continue
            seen.add(f.name)
            try:
                sc = load_scenario(f)
                rows.append((sc.run.name, f"{sc.population.size}", sc.run.duration, sc.run.description, f))
            except ScenarioError as err:
                rows.append((f.stem, "-", "-", f"invalid: {err.problems[0].message}", f))
    if not rows:
        click.echo("No scenarios found in ./scenarios.")
        return
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        from rich.text import Text

        table = Table("name", "shoppers", "duration", "description", "file", box=None, header_style="bold")
        for name, size, dur, desc, f in rows:  # as Text: a description is shown as written, never read as markup
            table.add_row(*(Text(visible(str(x))) for x in (name, size, dur, desc, f)))
        Console().print(table)
    else:
        for name, size, dur, desc, f in rows:
            click.echo(visible(f"{name}\t{size}\t{dur}\t{desc}\t{f}"))


@click.command("schema")
@click.option("--out", type=click.Path(dir_okay=False, writable=True, path_type=Path), help="write to a file")
@click.option("--log", "log", is_flag=True, help="the event log's schema (one line of a log) instead")
def schema_cmd(out: Path | None, log: bool) -> None:
    """Print the scenario format's JSON Schema, or with --log the event log's (for editors and validators)."""
    text = json.dumps(log_json_schema() if log else json_schema(), indent=2, sort_keys=True) + "\n"
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        out.write_text(text)
    except OSError as e:
        click.echo(f"shopsim: cannot write {out}: {e.strerror}", err=True)
        sys.exit(EXIT_BAD_INPUT)
