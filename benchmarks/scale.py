"""Scale benchmark: `shopsim replay` end to end, as a user runs it, on the benchmark population.

    python benchmarks/scale.py                 # 100k x 30 d (one process, then --workers 2), 1M x 7 d --workers 2
    python benchmarks/scale.py --quick         # 10k x 7 d and 100k x 2 d: a few minutes, same rows
    python benchmarks/scale.py --only 1m       # one row: e2e, e2e-workers or 1m

Each run is the real command in a fresh process (`shopsim replay benchmarks/large.yaml` with the size and the
duration written into a temporary copy), with its log and SQLite database on disk. Figures: wall seconds,
CPU seconds of every process (the replay, its store process and its workers), the peak of the summed RSS of
the whole process tree (sampled from /proc every 0.2 s), and the sizes of the database and the log.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from table import Row, show  # noqa: E402

SHOPSIM = Path(sys.executable).with_name("shopsim")
GIB = 2**30


def _scenario(folder: Path, shoppers: int, days: int) -> Path:
    """benchmarks/large.yaml with this size and duration (and without the weekly campaigns after its end, which
    validation would refuse as never sent)."""
    import yaml

    data = yaml.safe_load((HERE / "large.yaml").read_text())
    data["population"]["size"] = shoppers
    data["run"]["duration"] = f"{days}d"
    data["campaigns"] = {name: c for name, c in data.get("campaigns", {}).items()
                         if int(re.match(r"\d+", str(c["at"])).group()) < days}
    path = folder / "scale.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _tree_rss(root: int) -> int:
    """Bytes resident in `root` and all its descendants now."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            pid, ppid, pages = int(entry), int(fields[1]), int(fields[21])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(pid)
        rss[pid] = pages * os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, ()))
    return total


def replay(shoppers: int, days: int, workers: int, db: bool) -> dict:
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as d:
        folder = Path(d)
        scenario = _scenario(folder, shoppers, days)
        log, dbfile = folder / "run.jsonl", folder / "run.db"
        cmd = [str(SHOPSIM), "replay", str(scenario), "--quiet", "--log", str(log), "--workers", str(workers)]
        cmd += ["--db", str(dbfile)] if db else ["--no-db"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, _tree_rss(proc.pid))
            time.sleep(0.2)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode:
            sys.exit(f"{' '.join(cmd)} failed: {proc.stderr.read().decode()}")
        lines = sum(1 for _ in open(log, "rb"))
        return {"wall": wall, "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
                "rss": peak, "events": lines, "log": log.stat().st_size,
                "db": dbfile.stat().st_size if db else 0}


def _gb(n: int) -> str:
    return f"{n / GIB:.2f} GB" if n >= GIB / 4 else f"{n / 2**20:.0f} MB"


def _figures(r: dict) -> str:
    s = f"{r['events'] / 1e6:.1f}M events: {r['wall']:.0f} s wall, {r['cpu']:.0f} CPU-s; peak RSS {_gb(r['rss'])}"
    s += f"; log {_gb(r['log'])}"
    return s + (f", db {_gb(r['db'])}" if r["db"] else "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small runs with the same rows (not the goals' sizes)")
    ap.add_argument("--only", choices=("e2e", "e2e-workers", "1m"), action="append")
    args = ap.parse_args()
    only = set(args.only or ("e2e", "e2e-workers", "1m"))
    full = not args.quick
    big, big_days = (100_000, 30) if full else (10_000, 7)
    huge, huge_days = (1_000_000, 7) if full else (100_000, 2)
    rows = []
    if "e2e" in only:
        r = replay(big, big_days, 1, db=True)
        rows.append(Row(f"end to end, {big // 1000}k x {big_days} d, log + db",
                        "473 s wall; 716 + 989 MB RSS; db 7.65 GB, log 4.0 GB",
                        _figures(r), "<= 120 s wall, <= 1 GiB RSS, db <= log",
                        (r["wall"] <= 120 and r["rss"] <= GIB and r["db"] <= r["log"]) if full else None))
    if "e2e-workers" in only:
        r = replay(big, big_days, 2, db=True)
        rows.append(Row(f"the same, --workers 2", "(no --workers)", _figures(r),
                        "<= 120 s wall, <= 1 GiB RSS, db <= log",
                        (r["wall"] <= 120 and r["rss"] <= GIB and r["db"] <= r["log"]) if full else None))
    if "1m" in only:
        r = replay(huge, huge_days, 2, db=False)
        rows.append(Row(f"{huge // 1000}k x {huge_days} d, --workers 2, log only",
                        "no way to split; 1M x 1 d: 76 s, 961 MB in one process",
                        _figures(r), "runs on this machine (2 cores); time and memory shown",
                        True if full else None))
    show(f"shopsim at scale (`shopsim replay`, benchmarks/large.yaml resized; {os.cpu_count()} cores)", rows)


if __name__ == "__main__":
    main()
