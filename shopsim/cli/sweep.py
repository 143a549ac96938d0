"""`shopsim sweep`: a scenario over a grid of `--set` overrides × seeds, and which differences hold."""

from __future__ import annotations

import io
import os
import signal
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import click

from shopsim.cli.common import EXIT_BAD_INPUT, fail, load_or_exit, report_problems
from shopsim.cli.progress import Progress

FORMATS = ("table", "md", "json", "csv", "parquet")
EXIT_SIGINT, EXIT_SIGTERM = 130, 143


class _Terminated(Exception):
    pass


def _raise_terminated(_signum, _frame):
    raise _Terminated()


@click.command("sweep", epilog="Statistics: docs/sweeps.md. A Dask cluster: pip install 'shopsim[dask]'.")
@click.argument("scenario")
@click.option("--seeds", "n_seeds", type=click.IntRange(1, 10_000), default=10, show_default=True,
              help="play the seeds run.seed, run.seed+1, ..., run.seed+N-1 at every point of the grid")
@click.option("--set", "sets", multiple=True, metavar="PATH=V1,V2,...",
              help="an axis of the grid: a value of the scenario, in its own paths, and the values to try, e.g. "
                   "flows.reminder.steps[0].after=1h,4h,24h (repeatable; the grid is every combination)")
@click.option("--metric", "metric_opts", multiple=True, metavar="NAME[,NAME...]",
              help="the KPIs to summarise (`shopsim report --metrics` lists them; with an experiment also "
                   "recovery, conversion, unsubscribe, revenue_per_shopper per arm). Default: the experiment's "
                   "metric, or recovery_rate, conversion_rate, revenue and delivered")
@click.option("--workers", type=click.IntRange(1, 4096), metavar="W",
              help="processes playing runs in parallel (default: every core); the results do not depend on it")
@click.option("--cluster", metavar="tcp://HOST:8786", help="play the runs on this Dask scheduler's workers instead")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="table: for a terminal; md: the summary in Markdown; json: the summary and every run; "
                   "csv, parquet: the tidy per-run table (one row per run, arm and metric)")
@click.option("--out", "out", metavar="PATH", help="write the --format output to PATH (needed for parquet)")
@click.option("--html", "html_path", metavar="PATH", help="also write a self-contained page with band charts")
@click.option("--cache", "cache_dir", metavar="DIR",
              help="where finished runs are kept (default: $SHOPSIM_CACHE or ~/.cache/shopsim/sweep)")
@click.option("--no-cache", is_flag=True, help="play every run and keep none")
def sweep_cmd(scenario: str, n_seeds: int, sets: tuple[str, ...], metric_opts: tuple[str, ...], workers: int | None,
              cluster: str | None, fmt: str, out: str | None, html_path: str | None, cache_dir: str | None,
              no_cache: bool) -> None:
    """Play SCENARIO (a file, or a shipped scenario's name) at every point of the --set grid with N seeds,
    headless, each run exactly as `shopsim replay --set ... --seed S` would play it, and print each point's
    (and each experiment arm's) mean with its 95% interval over seeds, then every difference between points
    taken seed by seed, with Holm-adjusted p-values and whether it holds.

    Finished runs are kept in a cache keyed by the scenario's bytes, the overrides, the seed and shopsim's
    code, so re-running with more seeds plays only the new ones. Ctrl-C stops at once and keeps the runs that
    finished. Exit 0, 2 for bad input, 130 when interrupted."""
    from shopsim.calibrate.runner import seeds_of
    from shopsim.scenario.overrides import OverrideError
    from shopsim.scenario.problems import ScenarioError
    from shopsim.sweep.cache import Cache, default_dir
    from shopsim.notify.templates import TemplateLimitError
    from shopsim.scenario.loader import problem_in_file
    from shopsim.sweep.execute import ClusterError, Interrupted, check_address, default_workers, run_sweep
    from shopsim.sweep.grid import MAX_RUNS, axes_of, points_of
    from shopsim.validate import load_scenario_text

    path, model = load_or_exit(scenario)
    try:
        axes = axes_of(sets)
    except OverrideError as e:
        fail(f"--set: {e}")
    points = points_of(axes)
    if len(points) * n_seeds > MAX_RUNS:
        fail(f"{len(points):,} points × {n_seeds:,} seeds is {len(points) * n_seeds:,} runs; at most {MAX_RUNS:,}")
    try:
        seeds = seeds_of(model, n_seeds)
    except ValueError as e:
        fail(f"--seeds: {e}")
    metrics = _metrics(metric_opts, model)
    if cluster is not None:
        try:
            check_address(cluster)
        except ClusterError as e:
            fail(str(e))
    _check_outputs(fmt, out, html_path)
    text = path.read_bytes().decode("utf-8-sig")
    for p in points:  # every point is judged like a file before any run starts
        try:
            load_scenario_text(text, str(path), p.settings)
        except ScenarioError as err:
            report_problems(err)
            sys.exit(EXIT_BAD_INPUT)
    cache = Cache(None if no_cache else Path(cache_dir) if cache_dir else default_dir())
    workers = workers or default_workers()
    total = len(points) * len(seeds)

    previous = {sig: signal.signal(sig, _raise_terminated if sig == signal.SIGTERM else signal.default_int_handler)
                for sig in (signal.SIGTERM, signal.SIGINT)}
    wall = time.perf_counter()
    try:
        with Progress(f"sweeping {model.run.name}: runs", total, show=sys.stderr.isatty()) as tick:
            outcome = run_sweep(text, str(path), points, seeds, workers=workers, cache=cache, cluster=cluster,
                                on_done=tick)
    except Interrupted as e:
        got = len(e.outcome.results)
        kept = (f"; the {got:,} finished are kept in {cache.root}: run the same command again to go on"
                if cache.root is not None and got and not e.outcome.cache_problem else "")
        what = "terminated" if isinstance(e.cause, _Terminated) else "interrupted (Ctrl-C)"
        click.echo(f"\nshopsim: {what} after {got:,} of {total:,} runs{kept}; nothing was printed.", err=True)
        sys.exit(EXIT_SIGTERM if isinstance(e.cause, _Terminated) else EXIT_SIGINT)
    except ClusterError as e:
        fail(str(e))
    except TemplateLimitError as e:  # the scenario's own template, on a real message: its input, located
        fail(f"{problem_in_file(path, e.path, e.message)}; nothing was printed")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    wall = time.perf_counter() - wall
    if outcome.cache_problem:
        click.echo(f"shopsim: {outcome.cache_problem}; the runs were played but not kept.", err=True)
    _write(fmt, out, html_path, model, path, axes, points, seeds, metrics, outcome, wall,
           "on the cluster" if cluster else _workers_text(min(workers, max(1, outcome.played))))


def _workers_text(n: int) -> str:
    return f"{n} worker{'s' * (n != 1)}"


def _metrics(opts: tuple[str, ...], model) -> tuple[str, ...]:
    from shopsim.metrics.catalog import METRICS, suggest
    from shopsim.metrics.variants import EXPERIMENT_METRICS

    names = [n.strip() for opt in opts for n in opt.split(",") if n.strip()]
    experiments = list(model.experiments)
    if not names:
        if experiments:
            metric = model.experiments[experiments[0]].metric
            return (metric,) if metric == "revenue_per_shopper" else (metric, "revenue_per_shopper")
        return ("recovery_rate", "conversion_rate", "revenue", "delivered")
    for n in names:
        if n in EXPERIMENT_METRICS:
            if not experiments:
                fail(f"--metric {n}: an experiment arm's metric, and {model.run.name} has no experiment; "
                     "use recovery_rate or conversion_rate")
        elif n not in METRICS:
            fail(f"--metric: unknown metric {n!r}" + suggest(n))
        elif METRICS[n].section == "experiment":
            fail(f"--metric {n}: a comparison inside one run; a sweep compares rows seed by seed itself "
                 "(ask for the metric being compared, e.g. recovery)")
    return tuple(dict.fromkeys(names))


def _check_outputs(fmt: str, out: str | None, html_path: str | None) -> None:
    from shopsim.cli.outputs import writable_file

    if fmt == "parquet":
        if out is None:
            fail("--format parquet writes a file: give --out PATH")
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            fail("--format parquet needs pyarrow: pip install 'shopsim[parquet]'")
    for value, what in ((out, "--out"), (html_path, "--html")):
        if value is not None:
            if not value.strip() or value.endswith(os.sep):
                fail(f"{what} needs a file name")
            writable_file(Path(value), what)
    if out and html_path and Path(out).resolve() == Path(html_path).resolve():
        fail("--out and --html name the same file")


def _write(fmt, out, html_path, model, path, axes, points, seeds, metrics, outcome, wall, where) -> None:
    from shopsim.sweep import output
    from shopsim.sweep.summary import summarise

    controls = [f"{name}/{arm}" for name, e in model.experiments.items()
                if (arm := getattr(e, "control_arm", None) or e.control)]
    named = [(f"{name}/{pair.against}", f"{name}/{pair.variant}") for name, e in model.experiments.items()
             for pair in getattr(e, "compare", None) or ()]
    summary = summarise(points, seeds, metrics, outcome.results, controls, named)
    rows = list(output.tidy(axes, points, seeds, metrics, outcome.results))
    currency = model.catalogue.currency
    title = f"Sweep of {model.run.name}: {len(points)} point{'s' * (len(points) != 1)} × {len(seeds)} seeds"
    note = (f"{len(points) * len(seeds):,} runs, seeds {seeds[0]}–{seeds[-1]}"
            + "".join(f"; {a.where} = {', '.join(o.text for o in a.values)}" for a in axes))
    if html_path:
        from shopsim.sweep.html import page
        _save(Path(html_path), page(title, note, summary, axes, currency).encode("utf-8"))
    if fmt == "parquet":
        tmp = _tmp_beside(Path(out))
        try:
            output.to_parquet(axes, rows, tmp)
            os.replace(tmp, out)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return
    if fmt == "csv":
        text = output.to_csv(axes, rows)
    elif fmt == "json":
        header = {"scenario": model.run.name, "file": str(path), "axes": [{"path": a.where, "values": [
            o.value for o in a.values]} for a in axes], "seeds": list(seeds), "metrics": list(metrics),
            "cached": outcome.cached}
        text = output.to_json(header, summary, rows)
    elif fmt == "md":
        text = output.markdown(title, note, summary, currency)
    else:
        text = _table_text(title, note, summary, currency, out is None and sys.stdout.isatty())
    if out:
        _save(Path(out), text.encode("utf-8"))
    else:
        click.echo(text, nl=False)
    if sys.stderr.isatty():  # how long it took is for the person watching, not for a pipe or a file
        click.echo(f"({len(points) * len(seeds):,} runs, {outcome.cached:,} from the cache, {wall:.1f} s, {where})",
                   err=True)


def _tmp_beside(path: Path) -> str:
    """A temporary file beside `path`, with the permissions a plain open() would give (mkstemp's are 0600)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=".sweep-", suffix=".tmp")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    return tmp


def _save(path: Path, data: bytes) -> None:
    tmp = _tmp_beside(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as e:
        fail(f"cannot write {path}: {e.strerror or e}")
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _table_text(title, note, summary, currency, to_terminal: bool) -> str:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from shopsim.sweep.output import method, summary_tables

    buffer = io.StringIO()
    console = Console(file=buffer, highlight=False, soft_wrap=False, emoji=False, markup=False,
                      width=max(100, _terminal_width()) if to_terminal else 240)
    head, body, chead, cbody = summary_tables(summary, currency)
    console.print(title, style="bold")
    console.print(note)
    t = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False, show_edge=False)
    for i, h in enumerate(head):
        t.add_column(h, justify="left" if i == 0 else "right", no_wrap=i == 0)
    for r in body:
        t.add_row(*r)
    console.print(t)
    if cbody:
        console.print(("Every pair of rows" if summary.all_pairs else
                       "Pairs of rows that differ in one setting or in the arm") + ", seed by seed:", style="bold")
        c = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False, show_edge=False)
        for i, h in enumerate(chead):
            c.add_column(h, justify="left" if i < 2 else "right", no_wrap=i != 0 or not to_terminal)
        for r in cbody:
            c.add_row(*r)
        console.print(c)
        click_width = min(100, console.width)
        console.print("\n".join(textwrap.wrap(method(summary), click_width)))
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


def _terminal_width() -> int:
    try:
        return os.get_terminal_size(sys.stdout.fileno()).columns
    except (OSError, ValueError):
        return 120
