"""`shopsim calibrate`: play a scenario over many seeds and compare its KPIs with published figures."""

from __future__ import annotations

import fnmatch
import io
import json
import signal
import sys
import time

import click

from shopsim.calibrate.anchors import ANCHORS, Anchor
from shopsim.cli.common import EXIT_EXPECTATIONS, fail, load_or_exit
from shopsim.cli.progress import Progress
from shopsim.scenario.problems import did_you_mean

FORMATS = ("table", "json", "md")


class _Terminated(Exception):
    pass


def _only_arg(_ctx, _param, value: str | None) -> tuple[Anchor, ...] | None:
    """ANCHOR,... (ids or shell-style patterns such as reason_*) -> those anchors, in the order of ANCHORS."""
    if value is None:
        return None  # the scenario's own `calibration:` list, or every anchor
    return _select(value.split(","))


def _select(names) -> tuple[Anchor, ...]:
    ids = [a.id for a in ANCHORS]
    wanted: set[str] = set()
    for item in (part.strip() for part in names):
        if not item:
            continue
        hits = fnmatch.filter(ids, item)
        if not hits:
            raise click.BadParameter(f"unknown anchor {item!r}{did_you_mean(item, ids, limit=30)}")
        wanted.update(hits)
    if not wanted:
        raise click.BadParameter("name at least one anchor (shopsim calibrate --help lists them)")
    return tuple(a for a in ANCHORS if a.id in wanted)


def _anchor_list() -> str:
    return ", ".join(a.id for a in ANCHORS)


@click.command("calibrate", epilog=f"Anchors: {_anchor_list()}. Definitions and sources: docs/calibration.md.")
@click.argument("scenario", default="default")
@click.option("--seeds", "n_seeds", type=click.IntRange(1, 100_000), default=20, show_default=True,
              help="play the seeds run.seed, run.seed+1, ..., run.seed+N-1")
@click.option("--workers", type=click.IntRange(1, 4096), metavar="W",
              help="processes playing seeds in parallel (default: every core); the figures do not depend on it")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="table: for a terminal; json: every seed's value and the statistics; md: a Markdown table")
@click.option("--only", "anchors", metavar="ANCHOR,...", callback=_only_arg,
              help="compare only these anchors (ids, or patterns such as 'reason_*')")
def calibrate_cmd(scenario: str, n_seeds: int, workers: int | None, fmt: str,
                  anchors: tuple[Anchor, ...] | None) -> None:
    """Play SCENARIO (a file, or a shipped scenario's name; default: default) over N seeds with no
    storage, and compare the mean of each KPI that has a published anchor (Baymard, Klaviyo, Airship, ...)
    with the anchor's tolerance band.

    Prints, per anchor that applies to the scenario, the mean ± sd over seeds, the 95% confidence interval
    of the mean, the published value, its band, its source, and ✓ (mean inside the band) or ✗. A scenario
    that lists its anchors (`calibration:`) is compared on those unless --only says otherwise. Exit 0 when
    every anchor is inside its band, 1 when any is outside, 2 for bad input, 130 when interrupted."""
    from shopsim.calibrate.runner import ScenarioChanged, calibrate, default_workers, seeds_of

    path, model = load_or_exit(scenario)
    try:
        seeds_of(model, n_seeds)
    except ValueError as e:
        fail(f"--seeds: {e}")
    workers = workers or default_workers()
    if anchors is None:  # validation checked the scenario's names
        anchors = _select(model.calibration) if model.calibration else ANCHORS

    wall = time.perf_counter()
    previous = {sig: signal.signal(sig, _raise_terminated if sig == signal.SIGTERM else signal.default_int_handler)
                for sig in (signal.SIGTERM, signal.SIGINT)}
    done = [0]
    try:
        with Progress(f"calibrating {model.run.name}: seeds", n_seeds, show=sys.stderr.isatty()) as tick:
            def on_seed(n: int) -> None:
                done[0] = n
                tick(n)
            result = calibrate(path, model, n_seeds, anchors, workers, on_seed)
    except (KeyboardInterrupt, _Terminated) as e:
        what = "interrupted (Ctrl-C)" if isinstance(e, KeyboardInterrupt) else "terminated"
        click.echo(f"\nshopsim: {what} after {done[0]} of {n_seeds} seeds; nothing was printed.", err=True)
        sys.exit(130 if isinstance(e, KeyboardInterrupt) else 143)  # 128 + the signal, as replay exits
    except ScenarioChanged as e:  # a worker could not read the file the calibration began with
        fail(f"{e}; nothing was printed. Run the calibration again.")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    wall = time.perf_counter() - wall

    if fmt == "json":
        from shopsim.calibrate.table import document
        click.echo(json.dumps(document(result), indent=2, ensure_ascii=False))
    elif fmt == "md":
        from shopsim.calibrate.table import markdown
        click.echo(markdown(result), nl=False)
    else:
        _print_table(result, wall, min(workers, n_seeds))
    if not result.inside:
        sys.exit(EXIT_EXPECTATIONS)


def _raise_terminated(_signum, _frame):
    raise _Terminated()


def _print_table(result, wall_s: float, workers: int) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from shopsim.calibrate.table import COLUMNS, cells, heading, not_applicable_line, verdict_line

    console = Console(highlight=False, soft_wrap=False, emoji=False, markup=False)
    buffer = None
    if not console.is_terminal:  # a pipe or a file: plain text, wide enough not to fold the cells
        buffer = io.StringIO()
        console = Console(file=buffer, highlight=False, soft_wrap=False, emoji=False, markup=False, width=160)
    console.print(Text(heading(result), style="bold"))
    if result.rows:
        table = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False, show_edge=False, padding=(0, 1))
        for i, name in enumerate(COLUMNS):
            table.add_column(name, justify="right" if 2 <= i <= 5 else "left",
                             no_wrap=i not in (1, 6), overflow="fold")
        for row in cells(result):
            mark = Text(row[0], style="bold green" if row[0] == "✓" else "bold red")
            table.add_row(mark, *row[1:])
        console.print(table)
    console.print(verdict_line(result) + f" ({wall_s:.1f} s on {workers} worker{'s' if workers != 1 else ''})")
    na = not_applicable_line(result)
    if na:
        console.print(Text(na, style="dim"))
    if buffer is not None:
        click.echo("".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines()), nl=False)
