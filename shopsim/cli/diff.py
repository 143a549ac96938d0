"""`shopsim diff RUN_A RUN_B`: how two runs differ, in their KPIs, their experiments' uplifts (each comparison
of arms in A and in B) and their first differing event.

Each RUN is an event log or a run database (any mix). The KPI table compares every metric of
shopsim.metrics.catalog that is not experiment-only; the behavioural comparison reads both logs line by line,
ignoring `seq`. When the `run.started` lines differ (another seed or scenario), that is reported on its own
and the comparison starts at line 2, so it shows where the shoppers first act differently. It is a report:
the exit code is 0 whether or not the runs differ, 2 for bad input."""

from __future__ import annotations

import io
import itertools
import json
import sys
from typing import Any

import click

from shopsim.cli.common import fail
from shopsim.cli.report import compute
from shopsim.cli.runarg import open_or_fail
from shopsim.metrics.catalog import METRICS, format_value
from shopsim.qa.logdiff import Divergence, first_divergence, format_divergence
from shopsim.store.runfile import RunFile, RunFileError
from shopsim.report.compare import (device_rows, device_table, experiment_rows, experiment_table, headline_rows,
                                    headline_table, kpi_table, metric_rows, signed_value)

signed = signed_value  # B − A in a metric's unit (kept under its old name)

FORMATS = ("text", "md", "json")
SAME = "no behavioural difference: the logs are the same event for event"
# run.started fields that say nothing about behaviour (seq is the line number; version is reported apart).
_HEADER_SKIP = {"seq", "version", "type"}


def header_differences(a: RunFile, b: RunFile) -> list[str]:
    """The run.started fields whose values differ (not seq, t or version)."""
    keys = (a.header.keys() | b.header.keys()) - _HEADER_SKIP - {"t"}
    return sorted(k for k in keys if a.header.get(k) != b.header.get(k))


def divergence(a: RunFile, b: RunFile, context: int, skip_header: bool) -> Divergence | None:
    """The first behavioural difference, `seq` ignored (and run.started's version). When the run.started
    lines differ (`skip_header`: another seed or scenario, reported apart), the comparison starts at line 2,
    so it finds where the shoppers first differ; line numbers are still those of the files."""
    skip = 1 if skip_header else 0
    try:
        d = first_divergence(itertools.islice(a.lines(), skip, None), itertools.islice(b.lines(), skip, None),
                             context=context, ignore=("seq",))
    except RunFileError as e:
        fail(str(e))
    if d is None or not skip:
        return d
    return d._replace(line_a=d.line_a + skip, line_b=d.line_b + skip)


def _run_line(run: RunFile, result: dict[str, Any]) -> str:
    from shopsim.report.tables import instant, run_period

    r = result["run"]
    state = "complete" if r["complete"] else f"incomplete, up to {instant(r, r['elapsed_ms'])}"
    return (f"{r.get('scenario')} (seed {r.get('seed')}), {format_value(r.get('shoppers'), 'count')} "
            f"shoppers, {run_period(r)}, {format_value(r.get('events'), 'count')} events, {state}")


def _header_note(a: RunFile, b: RunFile, fields: list[str]) -> list[str]:
    out = []
    if fields:
        def show(v: Any) -> str:
            text = json.dumps(v, ensure_ascii=False)
            return text if len(text) <= 40 else text[:39] + "…"
        changes = "; ".join(f"{k} {show(a.header.get(k))} → {show(b.header.get(k))}" for k in fields)
        out.append(f"run.started differs: {changes}.")
        if {"scenario", "seed"} & set(fields):
            out.append("They are different scenarios or seeds: every difference below may follow from that.")
    va, vb = a.header.get("version"), b.header.get("version")
    if va != vb:
        out.append(f"Written by different shopsim versions ({va} and {vb}).")
    return out


def _json(a: RunFile, b: RunFile, ra: dict, rb: dict, rows: list, fields: list[str],
          d: Divergence | None) -> str:
    def text(line: bytes | None) -> str | None:
        return None if line is None else line.decode("utf-8", "replace")

    div = None
    if d is not None:
        div = {"line": d.line_a, "shape": d.shape, "fields": d.fields, "a": text(d.a), "b": text(d.b),
               "before": [text(x) for x in d.before], "after_a": [text(x) for x in d.after_a],
               "after_b": [text(x) for x in d.after_b],
               "text": format_divergence(d, str(a.path), str(b.path))}
    out = {"a": {"path": str(a.path), "kind": a.kind, **ra["run"]},
           "b": {"path": str(b.path), "kind": b.kind, **rb["run"]},
           "run_started_differs": fields, "headline": headline_rows(ra, rb), "by_device": device_rows(ra, rb),
           "metrics": rows, "experiments": experiment_rows(ra, rb), "divergence": div}
    return json.dumps(out, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def _markdown(a, b, ra, rb, rows, fields, d, every) -> str:
    from shopsim.report.render import markdown_table, md_text

    out = ["# shopsim diff", "", f"- **A** `{a.path}`: {md_text(_run_line(a, ra))}",
           f"- **B** `{b.path}`: {md_text(_run_line(b, rb))}", ""]
    out += [md_text(line) for line in _header_note(a, b, fields)]
    cur_a, cur_b = _currency(ra), _currency(rb)
    out += ["", "## Headline", "", markdown_table(headline_table(headline_rows(ra, rb), cur_a, cur_b)), ""]
    devices = device_rows(ra, rb)
    if devices:
        out += ["## By device", "", markdown_table(device_table(devices)), ""]
    exps = experiment_rows(ra, rb)
    if exps:
        out += ["## Experiments", "", markdown_table(experiment_table(exps, cur_a if cur_a == cur_b else "")), ""]
    out += ["## KPIs", ""]
    if rows:
        out += [markdown_table(kpi_table(rows, cur_a, cur_b)), ""]
    if not every:
        out += [md_text(_kpi_summary(rows)), ""]
    out += ["## First behavioural difference", ""]
    if d is None:
        out.append(SAME)
    else:
        # Every line of it starts with "- ", "+ ", "  ", "@@", "---", "+++", "first" or a field name, never
        # with a backtick, so the fence cannot be closed early.
        out += ["```diff", format_divergence(d, str(a.path), str(b.path)), "```"]
    return "\n".join(out).rstrip("\n") + "\n"


def _currency(result: dict[str, Any]) -> str:
    return result["commerce"].get("currency") or ""


def _kpi_summary(rows: list) -> str:
    n = sum(1 for name, d in METRICS.items() if d.section != "experiment")
    if not rows:
        return f"No KPI differs (of {n} compared)."
    return f"{len(rows)} of {n} KPIs differ; --all lists every one."


def _text(con, a, b, ra, rb, rows, fields, d, every) -> None:
    from rich.rule import Rule
    from rich.table import Table as RichTable
    from rich.text import Text

    from shopsim.report.render import print_table

    grid = RichTable.grid(padding=(0, 2))  # wrapped lines keep their indent
    grid.add_column(no_wrap=True)
    grid.add_column()
    for tag, run, result in (("A", a, ra), ("B", b, rb)):
        grid.add_row(Text(tag, style="bold"), Text(str(run.path)))
        grid.add_row("", Text(_run_line(run, result)))
    con.print(grid)
    for line in _header_note(a, b, fields):
        con.print(Text(line, style="yellow"))
    con.print()
    cur_a, cur_b = _currency(ra), _currency(rb)
    con.print(Rule(Text("Headline", style="bold"), align="left", characters="─"))
    print_table(con, headline_table(headline_rows(ra, rb), cur_a, cur_b))
    devices = device_rows(ra, rb)
    if devices:
        con.print()
        con.print(Rule(Text("By device", style="bold"), align="left", characters="─"))
        print_table(con, device_table(devices))
    exps = experiment_rows(ra, rb)
    if exps:
        con.print()
        con.print(Rule(Text("Experiments", style="bold"), align="left", characters="─"))
        print_table(con, experiment_table(exps, cur_a if cur_a == cur_b else ""))
    con.print()
    con.print(Rule(Text("KPIs", style="bold"), align="left", characters="─"))
    if rows:
        print_table(con, kpi_table(rows, cur_a, cur_b))
    if not every:
        con.print(_kpi_summary(rows))
    con.print()
    con.print(Rule(Text("First behavioural difference", style="bold"), align="left", characters="─"))
    if d is None:
        con.print(SAME)
        return
    for line in format_divergence(d, str(a.path), str(b.path)).split("\n"):
        style = ("red" if line.startswith("- ") else "green" if line.startswith("+ ")
                 else "cyan" if line.startswith("@@") else None)
        con.print(Text(line, style=style), soft_wrap=True)  # a log line is shown whole, never wrapped


@click.command("diff")
@click.argument("run_a")
@click.argument("run_b")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text: for the terminal; md: Markdown (for a pull request); json: for programs.")
@click.option("--context", type=click.IntRange(0, 1000), default=3, show_default=True, metavar="N",
              help="Lines of context around the first difference.")
@click.option("--all", "every", is_flag=True, help="List every KPI, not only those that differ.")
@click.option("--shopper", "shoppers", multiple=True, metavar="ID",
              help="Instead: what changed in this shopper's inbox, message by message (repeatable).")
@click.option("--personas", is_flag=True,
              help="Instead: the inboxes of the shoppers the scenario names as personas (personas: in the file).")
@click.option("--fail-on-change", is_flag=True, help="With --shopper or --personas: exit 1 when any inbox changed.")
def diff_cmd(run_a: str, run_b: str, fmt: str, context: int, every: bool, shoppers: tuple[str, ...] = (),
             fail_on_change: bool = False, personas: bool = False) -> None:
    """Compare two runs: the KPIs that differ (A, B, B − A, relative change) and the first event where the
    shoppers acted differently.

    RUN_A and RUN_B are event logs (.jsonl, .jsonl.gz) or run databases (.db), in any mix. Exit code 0
    whether or not they differ; 2 for a missing or unreadable run.

    With --shopper ID: her inbox in A against B, message by message: messages gained and lost, moved in time
    (in her local time), on another channel, with another coupon, now suppressed (and why) or now
    delivered. Messages are matched by what they are about (the flow step, campaign or order), not by id.
    Exit 0 whether or not it changed, or 1 with --fail-on-change when it did."""
    a, b = open_or_fail(run_a), open_or_fail(run_b)
    if fail_on_change and not (shoppers or personas):
        fail("--fail-on-change goes with --shopper or --personas: it judges inboxes, not KPIs")
    if shoppers or personas:
        from shopsim.cli.inbox_diff import persona_shoppers, shopper_changes, show

        named = persona_shoppers(b) if personas else {}
        wanted = list(dict.fromkeys([*shoppers, *named]))
        docs = [shopper_changes(a, b, run_a, run_b, sid, named.get(sid)) for sid in wanted]
        show(docs, fmt, run_a, run_b)
        if fail_on_change and any(d["changes"] for d in docs):
            sys.exit(1)
        return
    ra, rb = compute(a), compute(b)
    rows = metric_rows(ra, rb, every)
    fields = header_differences(a, b)
    d = divergence(a, b, context, skip_header=bool(fields))
    if fmt == "json":
        click.echo(_json(a, b, ra, rb, rows, fields, d), nl=False)
    elif fmt == "md":
        click.echo(_markdown(a, b, ra, rb, rows, fields, d, every), nl=False)
    else:
        from shopsim.report.render import console, plain

        probe = console(sys.stdout)
        if probe.is_terminal:
            _text(probe, a, b, ra, rb, rows, fields, d, every)
        else:
            buf = io.StringIO()
            _text(console(buf), a, b, ra, rb, rows, fields, d, every)
            click.echo(plain(buf.getvalue()), nl=False)
