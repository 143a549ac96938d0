"""The `shopsim` command line (click). Exit codes: 0 ok, 1 expectations failed, 2 bad input."""

from __future__ import annotations

import importlib

import click

from shopsim import __version__

# name -> (module, attribute): a command's module is imported when that command runs, so `shopsim replay`
# does not pay for the terminal app, the report's charts or the database layer it was not asked for.
COMMANDS = {
    "run": ("shopsim.cli.tui", "run_cmd"),
    "replay": ("shopsim.cli.replay", "replay_cmd"),
    "validate": ("shopsim.cli.info", "validate_cmd"),
    "scenarios": ("shopsim.cli.info", "scenarios_cmd"),
    "presets": ("shopsim.cli.presets", "presets_cmd"),
    "schema": ("shopsim.cli.info", "schema_cmd"),
    "report": ("shopsim.cli.report", "report_cmd"),
    "explain": ("shopsim.cli.explain", "explain_cmd"),
    "inbox": ("shopsim.cli.inbox", "inbox_cmd"),
    "diff": ("shopsim.cli.diff", "diff_cmd"),
    "export": ("shopsim.cli.export", "export_cmd"),
    "serve": ("shopsim.cli.serve", "serve_cmd"),
    "calibrate": ("shopsim.cli.calibrate", "calibrate_cmd"),
    "sweep": ("shopsim.cli.sweep", "sweep_cmd"),
    "new": ("shopsim.cli.new", "new_cmd"),
    "graph": ("shopsim.cli.graph", "graph_cmd"),
    "lint": ("shopsim.cli.lint", "lint_cmd"),
    "coverage": ("shopsim.cli.coverage", "coverage_cmd"),
    "power": ("shopsim.cli.power", "power_cmd"),
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in COMMANDS:
            module, attr = COMMANDS[name]
            self.add_command(getattr(importlib.import_module(module), attr), name)
        return self.commands.get(name)


@click.group(cls=LazyGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="shopsim")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Simulate what marketplace shoppers receive: order and shipping updates, cart reminders,
    promotions, on email, push, SMS and in-app, under their settings and the platform's policies.

    Without a command, opens the terminal app on the default scenario."""
    if ctx.invoked_subcommand is None:
        from shopsim.cli.tui import open_app

        open_app("default")
