"""Every console example the README marks as checked is what the command prints today.

A block preceded by `<!-- checked -->` holds `$ command` lines followed by their output. The commands run in
order, in one empty folder (so `runs/...` files one command writes are there for the next), and each
output must match its block line by line, except that a line `...` stands for any number of lines and a
trailing `…s` in a timing ("67,369 events in 4.4s") matches any time. So a number the README quotes from a
run is the number a fresh run gives.
"""

from __future__ import annotations

import re
import shlex

import pytest
from click.testing import CliRunner

from shopsim.cli import main

from helpers.paths import ROOT

README = ROOT / "README.md"
_BLOCK = re.compile(r"^( *)<!-- checked -->\n\1```console\n(.*?)\n\1```", re.S | re.M)
_TIME = re.compile(r"\d+(\.\d+)? ?s\b")


def _blocks() -> list[str]:
    """Each checked block's text, its indentation (inside a list item) removed."""
    out = []
    for indent, body in _BLOCK.findall(README.read_text(encoding="utf-8")):
        out.append("\n".join(line[len(indent):] if line.startswith(indent) else line for line in body.splitlines()))
    return out


def _steps(block: str) -> list[tuple[str, list[str]]]:
    steps: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
    return steps


def _matches(expected: list[str], actual: list[str]) -> tuple[bool, str]:
    """`expected` lines appear in `actual` in order; '...' skips any lines; times may differ."""
    norm = lambda s: _TIME.sub("Ns", s.rstrip())  # noqa: E731
    i = 0
    skipping = False
    for want in expected:
        if want.strip() == "...":
            skipping = True
            continue
        while i < len(actual) and skipping and norm(actual[i]) != norm(want):
            i += 1
        if i >= len(actual) or norm(actual[i]) != norm(want):
            got = actual[i] if i < len(actual) else "(end of output)"
            return False, f"expected {want!r}\n     got {got!r}"
        i += 1
        skipping = False
    if not skipping and i != len(actual):
        return False, f"unexpected extra output from line {i + 1}: {actual[i]!r}"
    return True, ""


def test_the_readme_has_checked_examples():
    assert len(_blocks()) >= 3


@pytest.mark.parametrize("index", range(len(_blocks())))
def test_readme_example_is_what_the_command_prints(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("SHOPSIM_CACHE", str(tmp_path / "sweep-cache"))  # a sweep keeps its runs here, not in ~
    runner = CliRunner()
    for command, expected in _steps(_blocks()[index]):
        args = shlex.split(command)
        assert args[0] == "shopsim", command
        result = runner.invoke(main, args[1:], catch_exceptions=False)
        ok, why = _matches(expected, result.output.splitlines())
        assert ok, f"README example `{command}` is stale: {why}"
