"""`shopsim coverage RUN`: what a run exercised of its scenario's policies, and what it never did."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from shopsim.cli.common import EXIT_EXPECTATIONS, fail, load_or_exit
from shopsim.cli.runarg import reading, run_argument
from shopsim.textsafe import visible


@click.command("coverage")
@run_argument
@click.option("--scenario", metavar="FILE", help="the scenario the run played (default: the shipped scenario of "
                                                  "the run's name)")
@click.option("--fail-under", type=click.FloatRange(0, 100), metavar="PERCENT",
              help="exit 1 when fewer than this share of the points were exercised (a CI check)")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--junit", metavar="FILE", help="also write one JUnit test case per point (unexercised ones fail)")
def coverage_cmd(run: str, scenario: str | None, fail_under: float | None, fmt: str, junit: str | None) -> None:
    """What RUN (an event log or a run's database) exercised of its scenario: each flow step, each branch
    of a step's condition, each exit, cap, send window, quiet hours, digest, campaign and experiment arm,
    and the category × channel cells it asked for; for each one never exercised, what would. Then the
    shoppers to look at first: the most messages in a local day, the most pushes at night, the most
    capped, the longest without any message.

    Exit 0, or 1 with --fail-under when the share exercised is below it; 2 for bad input."""
    from shopsim.qa.coverage import coverage, percent, silence_text
    from shopsim.scenario.compiled import compile_scenario

    with reading(run) as rf:
        name = scenario or rf.header.get("scenario") or ""
        path, model = load_or_exit(name)
        if model.run.name != rf.header.get("scenario"):
            fail(f"{path} is scenario {model.run.name!r}, and {run} played {rf.header.get('scenario')!r}: give "
                 "--scenario with the file it played")
        points, extremes = coverage(model, compile_scenario(model), rf.events(), rf.start_epoch)
    share = percent(points)
    if junit:
        _junit(Path(junit), points, model.run.name)
    if fmt == "json":
        click.echo(json.dumps({"scenario": model.run.name, "percent": share,
                               "points": [{**p.__dict__, "covered": p.covered} for p in points],
                               "extremes": extremes}, indent=2, ensure_ascii=False))
    else:
        group = None
        for p in points:
            if p.group != group:
                group = p.group
                click.echo(f"{group}:")
            mark = "✓" if p.covered else "✗"
            tail = f"{p.hits:,}" if p.covered else f"never — needs {p.hint}"
            click.echo(visible(f"  {mark} {p.name}: {tail}"))
        click.echo("extremes:")
        words = {"most_in_a_day": "most messages in one local day", "most_at_night": "most push/SMS at night "
                 "(22:00–08:00 local)", "most_capped": "most capped", "longest_silence_ms": "longest without a message"}
        for key, label in words.items():
            rows = extremes[key]
            shown = ", ".join(f"{s} ({silence_text(v) if key.endswith('_ms') else f'{v:,}'})" for s, v in rows)
            click.echo(f"  {label}: {shown or 'none'}")
        covered = sum(p.covered for p in points)
        click.echo(f"{covered} of {len(points)} points exercised ({share:.1f}%).")
    if fail_under is not None and share < fail_under:
        click.echo(f"shopsim: coverage {share:.1f}% is under --fail-under {fail_under:g}%", err=True)
        sys.exit(EXIT_EXPECTATIONS)


def _junit(path: Path, points, name: str) -> None:
    from xml.sax.saxutils import escape, quoteattr

    failures = sum(not p.covered for p in points)
    out = ['<?xml version="1.0" encoding="utf-8"?>',
           f'<testsuite name={quoteattr("coverage of " + name)} tests="{len(points)}" failures="{failures}">']
    for p in points:
        case = f'  <testcase classname={quoteattr(p.group)} name={quoteattr(p.name)}'
        if p.covered:
            out.append(case + "/>")
        else:
            out.append(case + f'><failure message={quoteattr("never exercised")}>{escape("needs " + p.hint)}'
                       "</failure></testcase>")
    out.append("</testsuite>")
    try:
        path.write_text("\n".join(out) + "\n", encoding="utf-8")
    except OSError as e:
        fail(f"cannot write JUnit file {path}: {e.strerror or e}")
