"""The `shopsim` command line (click). Exit codes: 0 ok, 1 expectations failed, 2 bad input."""

from __future__ import annotations

import click

from shopsim import __version__
from shopsim.cli.calibrate import calibrate_cmd
from shopsim.cli.diff import diff_cmd
from shopsim.cli.explain import explain_cmd
from shopsim.cli.export import export_cmd
from shopsim.cli.inbox import inbox_cmd
from shopsim.cli.info import scenarios_cmd, schema_cmd, validate_cmd
from shopsim.cli.replay import replay_cmd
from shopsim.cli.report import report_cmd
from shopsim.cli.serve import serve_cmd
from shopsim.cli.tui import open_app, run_cmd


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="shopsim")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Simulate what marketplace shoppers receive: order and shipping updates, cart reminders,
    promotions, on email, push, SMS and in-app, under their settings and the platform's policies.

    Without a command, opens the terminal app on the default scenario."""
    if ctx.invoked_subcommand is None:
        open_app("default")


main.add_command(run_cmd)
main.add_command(replay_cmd)
main.add_command(validate_cmd)
main.add_command(scenarios_cmd)
main.add_command(schema_cmd)
main.add_command(report_cmd)
main.add_command(explain_cmd)
main.add_command(inbox_cmd)
main.add_command(diff_cmd)
main.add_command(export_cmd)
main.add_command(serve_cmd)
main.add_command(calibrate_cmd)
