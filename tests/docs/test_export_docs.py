"""docs/exports.md documents every column `shopsim export` writes, in order and with its type, for every
table and every format: the two cannot drift apart."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from helpers.paths import ROOT
from helpers.scenarios import tiny_scenario
from shopsim.cli import main
from shopsim.store.tables import EXPORT, EXPORT_TABLES
from shopsim.metrics.kpis import Metrics

DOC = ROOT / "docs" / "exports.md"
FORMATS = ("csv", "jsonl", "parquet")


def documented() -> dict[str, list[tuple[str, str]]]:
    """Table -> [(column, type)] from the `column | type | meaning` table under each '### `table`'."""
    out: dict[str, list[tuple[str, str]]] = {}
    table = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^### `([a-z_]+)`\s*$", line)
        if m:
            table = m.group(1)
            out[table] = []
            continue
        if line.startswith("## "):
            table = None
        if table is None or not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        names = re.findall(r"`([a-z0-9_]+)`", cells[0])
        assert names and len(cells) == 3, line
        out[table] += [(name, cells[1]) for name in names]
    return out


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict[str, Path]:
    """A small run in which every table has rows (surveys, ads, an experiment, a settings change)."""
    d = tmp_path_factory.mktemp("export-docs")
    (d / "s.yaml").write_text(tiny_scenario(
        size=20, duration="2d", seed=5, as_text=True,
        behaviour={"sessions": {"per_day": 2.0}, "add_to_cart": 0.3,
                   "abandonment": {"survey": {"on_site": True, "stages": ["cart", "checkout"],
                                              "response_rate": 1.0}}},
        flows={"recovery": {"trigger": "cart.abandoned", "category": "cart_reminders", "steps": [
            {"after": "1h", "channel": "email",
             "incentive": {"type": "percent", "value": 10, "valid": "48h", "prefix": "CART"}}]}},
        ads={"enabled": True},
        experiments={"reminders": {"control": "holdout", "variants": {
            "holdout": {"holdout": True}, "on": {"weight": 3, "flows": ["recovery"]}}}},
        events=[{"at": "10h", "shopper": "s000001", "settings": {"marketing_consent": False}}]))
    log = d / "s.jsonl"
    runner = CliRunner()
    assert runner.invoke(main, ["replay", str(d / "s.yaml"), "--log", str(log), "--no-db", "-q"]).exit_code == 0
    out = {}
    for fmt in FORMATS:
        res = runner.invoke(main, ["export", str(log), "--format", fmt, "--out", str(d / fmt)])
        assert res.exit_code == 0, res.output
        out[fmt] = d / fmt
    return out


def written_columns(folder: Path, fmt: str, table: str) -> list[str]:
    path = folder / f"{table}.{fmt}"
    if fmt == "csv":
        with open(path, newline="", encoding="utf-8") as f:
            return next(csv.reader(f))
    if fmt == "parquet":
        return pq.read_schema(path).names
    lines = path.read_bytes().splitlines()
    assert lines, f"{table} has no rows: the run must fill every table"
    return list(json.loads(lines[0]))


def test_every_table_is_documented_and_nothing_else():
    assert list(documented()) == list(EXPORT_TABLES)


@pytest.mark.parametrize("fmt", FORMATS)
def test_documented_columns_are_the_columns_written(exported, fmt):
    docs = documented()
    for table in EXPORT_TABLES:
        assert written_columns(exported[fmt], fmt, table) == [c for c, _ in docs[table]], (table, fmt)


def test_documented_types_are_the_schema_kinds():
    docs = documented()
    daily = Metrics().series()["day"]
    for table in EXPORT_TABLES:
        kinds = dict(EXPORT[table])
        if table == "kpis_daily":
            kinds.update({name: "float" if name == "revenue" else "int" for name in daily})
        assert dict(docs[table]) == kinds, table


def test_the_time_series_recovered_cohort_is_documented():
    text = DOC.read_text(encoding="utf-8")
    assert "| `recovered_cohort` | int |" in text and "first abandoned" in text


def test_the_row_counts_docs_exports_md_shows_are_a_fresh_runs(tmp_path, monkeypatch):
    """The example output at the top of docs/exports.md is what its two commands print today."""
    import re

    from click.testing import CliRunner

    from shopsim.cli import main

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["replay", "cart_recovery", "-q"]).exit_code == 0
    got = runner.invoke(main, ["export", "runs/cart_recovery-seed21.db", "--format", "parquet", "--out", "out"])
    assert got.exit_code == 0, got.output
    shown = re.search(r"```\n(run +1 row.*?)```", DOC.read_text(encoding="utf-8"), re.S).group(1)
    assert [line.split() for line in got.output.splitlines() if "rows" in line or " row " in line] == \
        [line.split() for line in shown.splitlines()]
