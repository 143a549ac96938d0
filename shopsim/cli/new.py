"""`shopsim new`: a commented scenario that validates and replays, to start from."""

from __future__ import annotations

import json
import os
import re
from importlib import resources
from pathlib import Path

import click

from shopsim.cli.common import fail

SCHEMA_FILE = "scenario.schema.json"
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # run.name's own rule: it ends up in file names
_SCHEMA_LINE = re.compile(r"^# yaml-language-server: \$schema=\S*$", re.M)


@click.command("new")
@click.argument("name")
@click.option("--from", "source", metavar="SCENARIO",
              help="start from this scenario (a file, or a shipped scenario's name) instead of the starter")
@click.option("--out", metavar="PATH", help="where to write it (default: scenarios/NAME.yaml if ./scenarios is a "
                                            "folder, else NAME.yaml)")
@click.option("--force", is_flag=True, help="replace a file that is already there")
def new_cmd(name: str, source: str | None, out: str | None, force: bool) -> None:
    """Write a new scenario NAME: a small commented starter (a week of 500 shoppers, a two-step cart-recovery
    flow, a promotion, a push cap and two checks), or with --from a copy of another scenario under the new
    name. It validates and replays as written, says what to change first, and carries the schema line that
    lets editors complete and check it (writing scenario.schema.json beside it when it is not there)."""
    from shopsim.scenario.problems import ScenarioError
    from shopsim.scenario.schema import json_schema
    from shopsim.validate import load_scenario_text

    if not _NAME.fullmatch(name):
        fail(f"{name!r} is not a scenario name: use letters, digits, '_', '.' and '-' (at most 64); it becomes "
             "run.name and the default file names of its runs")
    target = Path(out) if out else (Path("scenarios") if Path("scenarios").is_dir() else Path(".")) / f"{name}.yaml"
    if out is not None and (not out.strip() or out.endswith(os.sep) or target.is_dir()):
        fail(f"--out {out} names a folder; give a file name such as {name}.yaml")
    if target.exists() and not force:
        fail(f"{target} already exists; give another name, --out PATH, or --force to replace it")
    text = _from(source, name) if source else _starter(name, target.name)
    try:
        load_scenario_text(text, str(target))
    except ScenarioError as err:  # a --from scenario that does not validate: say so rather than copy it
        fail(f"{source} does not validate, so it was not copied: {err.problems[0]}")
    schema = target.parent / SCHEMA_FILE
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        wrote_schema = not schema.exists()
        if wrote_schema:
            schema.write_text(json.dumps(json_schema(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    except OSError as e:
        fail(f"cannot write {target}: {e.strerror or e}")
    click.echo(f"wrote {target}" + (f" (and {schema}, which editors use to complete and check it)" if wrote_schema
                                    else ""))
    click.echo("next:")
    click.echo(f"  shopsim validate {target}")
    click.echo(f"  shopsim replay {target} --check")
    click.echo(f"  shopsim run {target}")
    click.echo("change first: run.description and the population (who your shoppers are), then flows and "
               "campaigns (what the platform sends), then expect: (what must hold); every field is in "
               "docs/scenario-format.md")


def _starter(name: str, file_name: str) -> str:
    text = resources.files("shopsim.scenario").joinpath("starters/starter.yaml").read_text(encoding="utf-8")
    return text.replace("__NAME__", name).replace("__FILE__", file_name)


def _from(source: str, name: str) -> str:
    """The source scenario's text with run.name set to `name`, the schema line pointing beside it, and a first
    comment saying where it came from; comments and layout are kept."""
    from shopsim.cli.common import load_or_exit
    from shopsim.scenario.yamlpos import load_yaml

    path, _ = load_or_exit(source)  # a bad source is reported with its own problems, exit 2
    text = path.read_bytes().decode("utf-8-sig")
    doc = load_yaml(text, str(path))
    line, _ = doc.positions[("run", "name")]  # the key's place; the value follows it on its line
    lines = text.splitlines(keepends=True)
    m = re.match(r"(\s*name\s*:\s*)(['\"]?)[A-Za-z0-9_.-]+\2", lines[line - 1])
    if m is None:  # written another way ({name: x} in flow style): say so rather than guess
        fail(f"{path}:{line}: run.name is not written as `name: VALUE` on its own line; copy the file by hand")
    lines[line - 1] = m.group(1) + name + lines[line - 1][m.end():]
    text = "".join(lines)
    note = f"# Made by `shopsim new {name} --from {source}` from {path.name}.\n"
    if _SCHEMA_LINE.search(text):
        text = _SCHEMA_LINE.sub(f"# yaml-language-server: $schema={SCHEMA_FILE}", text, count=1)
        first, _, rest = text.partition("\n")
        return f"{first}\n{note}{rest}"
    return f"# yaml-language-server: $schema={SCHEMA_FILE}\n{note}{text}"
