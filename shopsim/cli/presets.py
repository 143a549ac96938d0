"""`shopsim presets [NAME]`: the policy presets a scenario can start from (`policies: {preset: NAME}`), each with
the documentation it comes from; with a name, the policy fields it stands for, as a scenario would write them."""

from __future__ import annotations

import click

from shopsim.cli.common import fail
from shopsim.scenario.presets import PRESETS, unknown_preset
from shopsim.textsafe import visible


@click.command("presets")
@click.argument("name", required=False)
def presets_cmd(name: str | None) -> None:
    """List the policy presets (a platform's documented defaults) with their sources; with NAME, print the
    policies it sets as YAML, ready to paste under `policies:` (docs/sources.md cites every value)."""
    if name is None:
        for p in PRESETS.values():
            click.echo(visible(f"{p.name}\t{p.summary}\tsource: {p.source}"))
        return
    if name not in PRESETS:
        fail(unknown_preset(name))
    p = PRESETS[name]
    click.echo(f"# {p.name}: {p.summary}\n# source: {p.source}")
    for field, items in p.fields.items():
        click.echo(f"{field}:")
        for item in items:
            click.echo("  - {" + ", ".join(f"{k}: {_scalar(v)}" for k, v in item.items()) + "}")


def _scalar(v: object) -> str:
    """A value as the shipped scenarios write it: clock times in quotes (YAML 1.1 would read 21:00 as a number)."""
    if isinstance(v, list):
        return "[" + ", ".join(map(_scalar, v)) + "]"
    if isinstance(v, str) and ":" in v:
        return f'"{v}"'
    return str(v)
