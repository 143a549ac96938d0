"""The sweep figures docs/sweeps.md quotes are what `shopsim sweep` prints today."""

from __future__ import annotations

import re

from click.testing import CliRunner

from helpers.paths import ROOT
from shopsim.cli import main

DOC = ROOT / "docs" / "sweeps.md"


def _quoted_table(heading: str) -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index(heading):]
    return [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| row")
            and not line.startswith("| compared")][:9]  # the means, then the six differences


def test_the_coupon_example_is_what_20_seeds_give(tmp_path):
    lines = _quoted_table("### Example: the coupon against the plain reminder")
    assert len(lines) == 9
    r = CliRunner().invoke(main, ["sweep", "experiment", "--seeds", "20", "--format", "md", "--cache", str(tmp_path)],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    printed = set(r.stdout.splitlines())
    for line in lines:
        assert line in printed, f"docs/sweeps.md quotes {line!r}; the sweep prints otherwise"
    assert re.search(r"\| ★ reminder → reminder_discount \| recovery \| -0\.51 pp \|", r.stdout)
