"""`shopsim replay --check`: the pass/fail table of a scenario's expectations, and its JUnit XML."""

from __future__ import annotations

import os
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import click

from shopsim.qa.expect import Outcome
from shopsim.textsafe import visible


def print_outcomes(outcomes: list[Outcome], scenario: str, to_stderr: bool) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(stderr=to_stderr, highlight=False, soft_wrap=False)
    if not outcomes:
        console.print(f"{scenario}: nothing to check (the scenario has no expect: section)")
        return
    table = Table(title=f"expectations of {scenario}", title_justify="left", show_lines=False)
    table.add_column("", no_wrap=True)
    table.add_column("check", overflow="fold")
    table.add_column("expected", no_wrap=True)
    table.add_column("actual", no_wrap=True, justify="right")
    for o in outcomes:
        mark = "[green]PASS[/]" if o.passed else "[bold red]FAIL[/]"
        # An expectation's name is the scenario's text: shown as written (not markup), controls made visible.
        table.add_row(mark, Text(visible(o.label)), Text(visible(o.expected)), Text(visible(o.actual)))
    console.print(table)
    for o in outcomes:
        if not o.passed:
            console.print(Text.assemble(("FAIL", "bold red"), f" {visible(o.label)}: {visible(o.detail)}"),
                          highlight=False)
    failed = sum(not o.passed for o in outcomes)
    console.print(f"{len(outcomes) - failed} passed, {failed} failed")


def junit_xml(outcomes: list[Outcome], scenario: str, seed: int, extra: list[Outcome] = ()) -> bytes:
    """One <testsuite> per scenario; one <testcase> per expectation (classname: its kind). No timestamps,
    so the same run gives the same file."""
    cases = [*outcomes, *extra]
    failures = sum(not o.passed for o in cases)
    suites = ET.Element("testsuites", name="shopsim", tests=str(len(cases)), failures=str(failures), errors="0")
    suite = ET.SubElement(suites, "testsuite", name=f"{scenario} (seed {seed})", tests=str(len(cases)),
                          failures=str(failures), errors="0", skipped="0")
    for o in cases:
        # XML 1.0 forbids most control characters: a name that holds one would make the file unreadable.
        case = ET.SubElement(suite, "testcase", classname=f"shopsim.{scenario}.{o.kind}", name=visible(o.label))
        if not o.passed:
            fail = ET.SubElement(case, "failure", message=visible(f"expected {o.expected}, got {o.actual}"),
                                 type=o.kind)
            fail.text = visible(o.detail)
    ET.indent(suites)
    return ET.tostring(suites, encoding="utf-8", xml_declaration=True) + b"\n"


def write_junit(path: Path, data: bytes) -> None:
    """Atomically: a CI reading the file never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    click.echo(f"  JUnit XML: {path}", err=True)
