"""`shopsim export RUN --format csv|parquet|jsonl --out DIR`: a finished run as tidy tables for analysts.

The tables are built by shopsim.store.export_rows (one pass over the run's events; a log or a database
gives the same tables) with the columns of shopsim.store.tables; docs/exports.md describes each one.
This module only reads the arguments and writes the files.

Times are UTC: ISO strings (`2026-03-02T08:00:00.000Z`) in CSV and JSON Lines, `timestamp[ms, tz=UTC]` in
Parquet; `*_ms` columns give the same instant as milliseconds since the run's start. Money is a float in
the run's currency. Lists and objects (`favourites`, `products`, `change`) are JSON text.
"""

from __future__ import annotations

import csv
import os
from itertools import islice
from pathlib import Path
from typing import Any

import click
import orjson

from shopsim.cli.common import fail
from shopsim.cli.runarg import reading, run_argument
from shopsim.store.export_rows import Table, build_tables
from shopsim.store.tables import B, D, F, I, J, S, T
from shopsim.contract.clock import iso

FORMATS = ("csv", "parquet", "jsonl")
ROW_GROUP = 1024 * 1024  # pyarrow's default rows per Parquet row group


# --- writing -----------------------------------------------------------------------------------------------

def _json_text(v: Any) -> str | None:
    return None if v is None else orjson.dumps(v, option=orjson.OPT_SORT_KEYS).decode()


def _plain(kind: str, start: int):
    """Value -> what CSV and JSON Lines hold (None stays None)."""
    if kind == T:
        return lambda v: None if v is None else iso(start + v)
    if kind == D:
        return lambda v: None if v is None else v.isoformat()
    if kind == J:
        return _json_text
    if kind == F:
        return lambda v: None if v is None else float(v)
    return lambda v: v


def write_csv(table: Table, path: Path, start: int) -> None:
    conv = [_plain(k, start) for _, k in table.columns]
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow([c for c, _ in table.columns])
        for row in table.rows:
            out = []
            for c, v in zip(conv, row):
                v = c(v)
                out.append("" if v is None else "true" if v is True else "false" if v is False else v)
            w.writerow(out)


def write_jsonl(table: Table, path: Path, start: int) -> None:
    conv = [_plain(k, start) for _, k in table.columns]
    names = [c for c, _ in table.columns]
    with open(path, "wb") as f:
        for row in table.rows:
            f.write(orjson.dumps({n: c(v) for n, c, v in zip(names, conv, row)}) + b"\n")


def write_parquet(table: Table, path: Path, start: int) -> None:
    """Row group by row group, as many rows as pyarrow's own write_table puts in one (so the file is the same
    bytes as writing the whole table at once), so only one group's rows are in memory."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {S: pa.string(), I: pa.int64(), F: pa.float64(), B: pa.bool_(), T: pa.timestamp("ms", tz="UTC"),
             D: pa.date32(), J: pa.string()}
    schema = pa.schema([pa.field(name, types[kind]) for name, kind in table.columns])
    conv = [_parquet_value(kind, start) for _, kind in table.columns]
    rows = table.rows
    with pq.ParquetWriter(path, schema) as out:
        group = list(islice(rows, ROW_GROUP))
        while True:
            arrays = [pa.array([c(r[i]) for r in group] if c else [r[i] for r in group], type=types[kind])
                      for i, ((_, kind), c) in enumerate(zip(table.columns, conv))]
            out.write_table(pa.Table.from_arrays(arrays, schema=schema))
            if len(group) < ROW_GROUP:
                break
            group = list(islice(rows, ROW_GROUP))
            if not group:
                break


def _parquet_value(kind: str, start: int):
    """Value -> what a Parquet column of that kind takes, or None when it takes the value as it is."""
    if kind == T:
        return lambda v: None if v is None else start + v
    if kind == J:
        return _json_text
    if kind == F:
        return lambda v: None if v is None else float(v)
    return None


WRITERS = {"csv": write_csv, "jsonl": write_jsonl, "parquet": write_parquet}


def write_tables(tables: dict[str, Table], out: Path, fmt: str, start: int) -> list[tuple[str, int, Path]]:
    """Write every table to OUT/NAME.FMT: first all to temporary names, then each renamed over its final
    name, so a failure leaves the earlier tables of OUT as they were and no half-written file."""
    done: list[tuple[str, Path, Path]] = []
    try:
        for name, table in tables.items():
            final = out / f"{name}.{fmt}"
            tmp = out / f".{name}.{fmt}.{os.getpid()}.tmp"
            done.append((name, tmp, final))
            WRITERS[fmt](table, tmp, start)
    except BaseException:
        for _, tmp, _ in done:
            tmp.unlink(missing_ok=True)
        raise
    for _, tmp, final in done:
        os.replace(tmp, final)
    return [(name, len(tables[name]), final) for name, _, final in done]


@click.command("export")
@run_argument
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True,
              help="file format of the tables")
@click.option("--out", "out", required=True, metavar="DIR", help="folder for the tables (created if missing)")
def export_cmd(run: str, fmt: str, out: str) -> None:
    """Write RUN (an event log or a run's database) as tidy tables, one file per table in DIR: run,
    shoppers, experiment_assignments, sessions, carts, orders, order_items, notifications, coupons, ads,
    settings_changes, surveys and kpis_daily (docs/exports.md)."""
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
            import pyarrow.parquet  # noqa: F401
        except ImportError:
            fail("parquet needs pyarrow: pip install 'shopsim[parquet]'")
    dest = Path(out)
    if not out.strip():
        fail("--out needs a folder")
    try:  # a name too long makes even this question fail
        if dest.exists() and not dest.is_dir():
            fail(f"--out {dest} is a file; give a folder")
    except OSError as e:
        fail(f"cannot write to {dest}: {e.strerror or e}")
    with reading(run) as rf:
        tables = build_tables(rf)
    try:
        dest.mkdir(parents=True, exist_ok=True)
        written = write_tables(tables, dest, fmt, rf.start_epoch)
    except OSError as e:
        fail(f"cannot write to {dest}: {e.strerror or e}")
    width = max(len(n) for n, _, _ in written)
    for name, rows, path in written:
        click.echo(f"{name:<{width}}  {rows:>8,} row{'' if rows == 1 else 's'}  {path}")
