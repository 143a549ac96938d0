"""`shopsim report RUN`: every KPI of a finished run, as terminal tables, Markdown, JSON or an HTML page.

RUN is an event log (`.jsonl`, `.jsonl.gz`) or a run's database. The figures are `Metrics.result()`
(docs/metrics.md defines each one); `--format json` prints that dictionary as it is, the machine interface.
`shopsim report --metrics` lists the metric names `expect:` checks and `diff` compares."""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from shopsim.cli.common import fail
from shopsim.cli.runarg import open_or_fail
from shopsim.metrics.catalog import METRICS
from shopsim.metrics.kpis import Metrics
from shopsim.store.runfile import RunFile, RunFileError

FORMATS = ("text", "md", "json", "html")


def compute(run: RunFile) -> dict[str, Any]:
    """Metrics.of_run(run).result(), failing (exit 2, one line) on a damaged or foreign log: a bad line,
    or a line whose fields are not what its type should have."""
    try:
        m = Metrics.of_run(run)
    except RunFileError as e:
        fail(str(e))
    except _DATA_ERRORS:
        _fail_at_the_line(run)
    try:
        return m.result()
    except _DATA_ERRORS as e:
        fail(f"{run.path}: cannot compute its KPIs ({_why(e)}); is it a shopsim event log?")


def _fail_at_the_line(run: RunFile) -> None:
    """Read the run again, every line parsed and one event at a time, to name the line the KPIs cannot read
    (the fast read does not say which it was)."""
    m = Metrics()
    n, ev = 0, None
    try:
        for n, ev in enumerate(run.events(), 1):
            m.add(ev)
    except RunFileError as e:
        fail(str(e))
    except _DATA_ERRORS as e:
        fail(f"{run.path}:{n}: cannot read this {ev.type if ev is not None else ''} line ({_why(e)}); "
             "is it a shopsim event log?")
    fail(f"{run.path}: cannot compute its KPIs; is it a shopsim event log?")


_DATA_ERRORS = (KeyError, TypeError, ValueError, AttributeError, ZeroDivisionError)


def _why(e: Exception) -> str:
    if isinstance(e, KeyError) and e.args:
        return f"no {e.args[0]} field"
    text = str(e).splitlines()
    return text[0] if text else type(e).__name__


def write_output(out: str | None, text: str, default: Path | None) -> Path | None:
    """Write `text` to `out` ('-' or None without a default: stdout). Files are written whole or not at all."""
    if out == "-" or (out is None and default is None):
        click.echo(text, nl=False)
        return None
    path = Path(out) if out is not None else default
    assert path is not None
    parent = path.parent if str(path.parent) else Path(".")
    try:  # a name too long makes even these questions fail
        if path.is_dir():
            fail(f"cannot write {path}: it is a directory; give a file name")
        if not parent.is_dir():
            fail(f"cannot write {path}: no folder {parent}")
    except OSError as e:
        fail(f"cannot write {path}: {e.strerror or e}")
    try:
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
                f.write(text)
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it 0600; a report is an ordinary file
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as e:
        fail(f"cannot write {path}: {e.strerror or e}")
    return path


def metrics_listing(fmt: str) -> str:
    """Every metric `expect:` can check, with its kind and description."""
    rows = [(name, d.section, d.kind, d.text) for name, d in METRICS.items()]
    if fmt == "json":
        return json.dumps([{"name": n, "section": s, "kind": k, "description": t} for n, s, k, t in rows],
                          indent=2, ensure_ascii=False) + "\n"
    notes = ["Message metrics (section messages) can be narrowed to one channel or category, and any metric "
             "read for one variant of an experiment; the experiment metrics need a variant and compare it "
             "with the control on the experiment's metric. Definitions: docs/metrics.md."]
    from shopsim.report.tables import Table

    table = Table("", ["metric", "section", "kind", "description"], [list(r) for r in rows], align="llll", wrap=(3,))
    if fmt == "md":
        from shopsim.report.render import markdown_table
        return markdown_table(table) + "\n\n" + notes[0] + "\n"
    from shopsim.report.render import console, plain, print_table

    buf = io.StringIO()
    con = console(buf)
    print_table(con, table)
    con.print()
    con.print(notes[0])
    return plain(buf.getvalue())


@click.command("report")
@click.argument("run", required=False)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text: tables for the terminal; md: Markdown tables; json: every KPI (the machine interface); "
                   "html: one self-contained page with charts.")
@click.option("--out", "out", metavar="FILE",
              help="Where to write ('-': stdout). Default: stdout, or for html "
                   "SCENARIO-seedN.report.html in the current folder.")
@click.option("--metrics", "list_metrics", is_flag=True,
              help="List every metric name with its kind and description (what expect: can check), then exit.")
def report_cmd(run: str | None, fmt: str, out: str | None, list_metrics: bool) -> None:
    """Every KPI of a finished run, in words: the shoppers, the cart funnel (created → reached checkout →
    ordered) with abandonment and recovery, devices, why carts were abandoned (and what the exit survey says),
    time to recovery, messages per channel and category (reported and human opens), suppression reasons, ads
    and experiments (uplifts in percentage points, coupon return).

    RUN is an event log (.jsonl or .jsonl.gz) or a run database (.db) written by `shopsim replay`."""
    if list_metrics:
        if run is not None:
            fail("--metrics lists the metric names and takes no RUN")
        if fmt == "html":
            fail("--metrics prints text, md or json")
        write_output(out, metrics_listing(fmt), None)
        return
    if run is None:
        fail("report needs a RUN: an event log (.jsonl, .jsonl.gz) or a run database (.db); "
             "`shopsim report --metrics` lists the metrics")
    rf = open_or_fail(run)
    result = compute(rf)
    from shopsim.report.tables import build_report, incomplete_warning

    if fmt == "json":
        warn = incomplete_warning(result)
        if warn:
            click.echo(f"shopsim: warning: {warn}", err=True)
        write_output(out, json.dumps(result, sort_keys=True, indent=2, ensure_ascii=False) + "\n", None)
        return
    report = build_report(result, charts=fmt == "html", source=str(rf.path))
    if fmt == "md":
        from shopsim.report.render import to_markdown
        write_output(out, to_markdown(report), None)
    elif fmt == "html":
        from shopsim.report.render import to_html
        r = result["run"]
        default = Path(f"{r.get('scenario') or rf.path.name.split('.')[0]}-seed{r.get('seed')}.report.html")
        path = write_output(out, to_html(report), default)
        if path is not None:
            click.echo(f"report: {path}", err=True)
    else:
        from shopsim.report.render import console, plain, print_text, text_report
        if out is None or out == "-":
            text = text_report(report, sys.stdout)  # colours on a terminal
            if text is not None:
                click.echo(text, nl=False)
        else:
            buf = io.StringIO()
            print_text(report, console(buf))
            write_output(out, plain(buf.getvalue()), None)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
