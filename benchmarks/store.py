"""Store benchmark: the database writer against raw sqlite3 on the same rows (`python benchmarks/store.py`).

A realistic event stream is played once per size (benchmarks/large.yaml with fewer shoppers and days) and
kept as a log file. Then, each in a fresh process, several runs of
  writer  StoreWriter fed with the log's lines in the kernel's batches (4,096 lines, with their
          (seq, t, type, shopper) as the recorder hands them over), as the store process is fed, closed
          as `finished`
  raw     the same rows (read back from the writer's database) inserted with sqlite3's own executemany
          into the same tables, 50k rows per transaction, with the same indexes built after the load,
          pragmas set for a bulk load: the limit the writer is measured against
and one run that streams the log file into the writer, for its peak RSS (the process holds nothing else).
Times are CPU seconds of the process (the writer's commit thread included); rows/s are rows per CPU second.
With two sizes (the default: 14 and 42 days), the peak RSS shows whether memory stays flat as the run grows
(it includes SQLite's page cache, 64 MiB at most, which the first few hundred thousand rows fill).

Recorded (2-core machine shared with other work, load 1-2; each tree with PYTHONPATH=<tree>, two full runs of
this script each, in turn), 3,000 shoppers x 42 d, writer CPU s min/median of 3 runs:
  7d59f22 (lines parsed one by one, one row per INSERT)   3.24/3.30 and 3.31/3.38 s: 209k and 205k rows/s
  now (parts of a chunk parsed as one array, 100-row INSERT OR FAIL, None bound through an adapter,
       first reads written with their inbox row)          2.76/2.78 and 2.65/2.69 s: 249k and 257k rows/s
raw sqlite3 on the same rows 1.39-1.44 s median in all four; peak RSS 139 -> 162 MB before, 135 -> 158 MB now
(the growth is SQLite's page cache filling: with cache_size=-16384 it is 108 -> 109 MB).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Appended, so that PYTHONPATH=<another checkout> measures that tree side by side.
sys.path.append(str(HERE.parent))
sys.path.insert(0, str(HERE))

from table import Row, show  # noqa: E402
from population import large  # noqa: E402

CHUNK_LINES = 4096  # the kernel's FLUSH_EVERY: what the recorder hands the store at a time
RAW_BATCH = 50_000


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def make_log(path: Path, shoppers: int, days: int) -> None:
    from shopsim.simulation import Simulation
    from shopsim.store.recorder import Recorder

    cs = large(shoppers, days)
    sim = Simulation(cs, keep_messages=False)
    with open(path, "wb", buffering=1 << 20) as log:
        sim.subscribe(Recorder(cs.start_epoch, log))
        sim.run()
        sim.finish()


def _chunks(log: Path):
    """The log's lines in the recorder's batches."""
    lines = []
    with open(log, "rb") as f:
        for line in f:
            lines.append(line)
            if len(lines) == CHUNK_LINES:
                yield b"".join(lines)
                lines = []
    if lines:
        yield b"".join(lines)


def phase_writer(log: Path, db: Path, shoppers: int, days: int, stream: bool) -> dict:
    from shopsim.store.writer import StoreWriter

    cs = large(shoppers, days)
    if stream:  # nothing held but what the writer holds: its peak RSS is the figure
        def feed():
            with open(log, "rb") as f:
                while True:
                    chunk = f.readlines(CHUNK_LINES * 300)
                    if not chunk:
                        return
                    yield b"".join(chunk)
        batches = feed()
    else:
        batches = list(_chunks(log))
    # As the store process runs it: no cyclic GC (which would walk the batches held here over and over), and
    # commits on the thread that builds the rows (a tree measured side by side that committed on a thread of
    # its own, StoreWriter.start_thread, is run that way).
    gc.collect()
    gc.freeze()
    gc.disable()
    wall, cpu = time.perf_counter(), _cpu()
    writer = StoreWriter(f"sqlite:///{db}", cs)
    if hasattr(writer, "start_thread"):
        writer.start_thread()
    for chunk in batches:
        writer.write(chunk)
    writer.close("finished", cs.duration)
    cpu, wall = _cpu() - cpu, time.perf_counter() - wall
    return {"rows": _rows(db), "cpu": cpu, "wall": wall, "db_bytes": _size(db),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _rows(db: Path) -> int:
    """The rows the database holds (a writer may also count a cart or order each time it merges it)."""
    con = sqlite3.connect(db)
    try:
        names = [n for (n,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return sum(con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names)
    finally:
        con.close()


def _size(db: Path) -> int:
    return sum(os.path.getsize(p) for p in (db, Path(f"{db}-wal")) if p.exists())


def phase_raw(source: Path, db: Path) -> dict:
    """The writer's rows, table by table, into the same schema with plain sqlite3."""
    src = sqlite3.connect(source)
    tables = src.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
    indexes = [sql for (sql,) in src.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")]
    rows = {name: src.execute(f'SELECT * FROM "{name}"').fetchall() for name, _ in tables}
    src.close()
    wall, cpu = time.perf_counter(), _cpu()
    con = sqlite3.connect(db, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=OFF", "cache_size=-65536", "temp_store=MEMORY"):
        con.execute(f"PRAGMA {pragma}")
    for _, sql in tables:
        con.execute(sql)
    n = 0
    for name, _ in tables:
        table = rows[name]
        if not table:
            continue
        insert = f'INSERT INTO "{name}" VALUES ({", ".join("?" * len(table[0]))})'
        for i in range(0, len(table), RAW_BATCH):
            con.execute("BEGIN")
            con.executemany(insert, table[i:i + RAW_BATCH])
            con.execute("COMMIT")
        n += len(table)
    con.execute("BEGIN")
    for sql in indexes:
        con.execute(sql)
    con.execute("COMMIT")
    con.execute("PRAGMA synchronous=FULL")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return {"rows": n, "cpu": _cpu() - cpu, "wall": time.perf_counter() - wall}


def _run(*args: str) -> dict:
    res = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if res.returncode:
        print(res.stderr, file=sys.stderr)
        sys.exit(res.returncode)
    return json.loads(res.stdout)


def _k(x: float) -> str:
    return f"{x / 1000:,.0f}k"


def measure(tmp: Path, shoppers: int, days: int, runs: int) -> dict:
    log = tmp / f"s{shoppers}-d{days}.jsonl"
    make_log(log, shoppers, days)
    db, raw_db = tmp / "writer.db", tmp / "raw.db"
    size_args = ["--shoppers", str(shoppers), "--days", str(days)]
    writer, raw = [], []
    for _ in range(runs):  # interleaved, each in a fresh process
        for p in (db, raw_db):
            for f in (p, Path(f"{p}-wal"), Path(f"{p}-shm")):
                f.unlink(missing_ok=True)
        writer.append(_run("--phase", "writer", "--log", str(log), "--db", str(db), *size_args))
        raw.append(_run("--phase", "raw", "--source", str(db), "--db", str(raw_db)))
    db.unlink()
    streamed = _run("--phase", "writer", "--log", str(log), "--db", str(db), "--stream", *size_args)
    return {"shoppers": shoppers, "days": days, "rows": writer[0]["rows"], "events": sum(1 for _ in open(log, "rb")),
            "writer_cpu": [w["cpu"] for w in writer], "raw_cpu": [r["cpu"] for r in raw],
            "writer_wall": [w["wall"] for w in writer], "db_bytes": writer[0]["db_bytes"],
            "log_bytes": log.stat().st_size, "peak_rss_mb": streamed["peak_rss_mb"]}


def report(results: list[dict]) -> None:
    big = results[-1]
    rows = big["rows"]
    w_min, w_med = min(big["writer_cpu"]), statistics.median(big["writer_cpu"])
    r_min, r_med = min(big["raw_cpu"]), statistics.median(big["raw_cpu"])
    writer_rate, raw_rate = rows / w_med, rows / r_med
    ratio = big["db_bytes"] / big["log_bytes"]
    rss = " -> ".join(f"{r['peak_rss_mb']:,.0f} MB ({r['days']} d)" for r in results)
    grew = results[-1]["peak_rss_mb"] / results[0]["peak_rss_mb"]
    note = (f"{big['events']:,} events, {rows:,} rows ({big['shoppers']:,} shoppers x {big['days']} d); CPU s of "
            f"{len(big['writer_cpu'])} runs, min/median: writer {w_min:.2f}/{w_med:.2f}, raw {r_min:.2f}/{r_med:.2f}; "
            f"writer wall median {statistics.median(big['writer_wall']):.2f} s; rows/s from the medians "
            f"(best: writer {_k(rows / w_min)}, raw {_k(rows / r_min)})")
    show("store writer (benchmarks/store.py)", [
        Row("writer, rows per CPU s", "140k rows/s", f"{_k(writer_rate)} rows/s", ">= 250k rows/s",
            writer_rate >= 250_000),
        Row("raw sqlite3 executemany, same rows, schema, indexes", "254k rows/s", f"{_k(raw_rate)} rows/s",
            "the limit", None),
        Row("writer / raw", "0.55x", f"{writer_rate / raw_rate:.2f}x", "near 1x", None),
        Row("database / log size", "1.93x (7.65 GB / 3.96 GB)",
            f"{ratio:.2f}x ({big['db_bytes'] / 2**20:,.0f} MB / {big['log_bytes'] / 2**20:,.0f} MB)", "<= 1x",
            ratio <= 1.0),
        Row("writer peak RSS as the run grows", "989 MB store process at 100k x 30 d; grows with carts and orders",
            f"{rss} ({grew:.2f}x)" if len(results) > 1 else rss, "flat",
            grew <= 1.15 if len(results) > 1 else None),
    ], note)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shoppers", type=int, default=3000)
    ap.add_argument("--days", default="14,42", help="one or more run lengths, comma-separated")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("--log", help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    ap.add_argument("--source", help=argparse.SUPPRESS)
    ap.add_argument("--stream", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase == "writer":
        print(json.dumps(phase_writer(Path(args.log), Path(args.db), args.shoppers, int(args.days), args.stream)))
        return
    if args.phase == "raw":
        print(json.dumps(phase_raw(Path(args.source), Path(args.db))))
        return
    results = []
    with tempfile.TemporaryDirectory(prefix="shopsim-store-bench-") as tmp:
        for days in (int(d) for d in args.days.split(",")):
            results.append(measure(Path(tmp), args.shoppers, days, args.runs))
    if os.environ.get("STORE_BENCH_JSON"):
        Path(os.environ["STORE_BENCH_JSON"]).write_text(json.dumps(results))
    report(results)


if __name__ == "__main__":
    main()
