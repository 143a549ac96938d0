"""`make bench`: every benchmark, then one table of every figure as what | today | now | goal.

    python benchmarks/all.py            # the goals' sizes (100k x 30 d, 1M x 7 d...): about an hour on 2 cores
    python benchmarks/all.py --quick    # smaller runs of the same rows, a few minutes (not comparable with goals)
    python benchmarks/all.py --only scale,simpy

Each benchmark runs in its own process and prints its own section as it finishes; the rows are collected
through BENCH_JSON (benchmarks/table.py) and printed together at the end, with the machine they ran on.
On a shared machine, CPU seconds and ratios of runs made side by side are the figures to trust.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from table import Row, render  # noqa: E402

# name -> (script, arguments at the goals' sizes, arguments of a quick run)
BENCHMARKS = {
    "simpy": ("simpy_reference.py", ["--shoppers", "5000", "--runs", "5"], ["--shoppers", "1000", "--runs", "2"]),
    "store": ("store.py", [], ["--shoppers", "1000", "--days", "7", "--runs", "1"]),
    "analysis": ("analysis.py", [], ["--shoppers", "2000", "--days", "7"]),
    "tui": ("tui.py", [], ["--shoppers", "20000", "--runs", "1", "--seconds", "3"]),
    "identities": ("engine.py", ["--phases", "identities"], ["--phases", "identities"]),
    "scale": ("scale.py", [], ["--quick"]),
    "calibrate": ("calibrate.py", [], ["--seeds", "4"]),
    "peeking": ("peeking.py", [], ["--quick"]),
}


def _machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown CPU") \
        if Path("/proc/cpuinfo").exists() else platform.processor()
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {platform.system()}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", help=f"comma-separated, of: {', '.join(BENCHMARKS)}")
    args = ap.parse_args()
    chosen = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = [c for c in chosen if c not in BENCHMARKS]
    if unknown:
        sys.exit(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    with tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False) as f:
        rows_file = f.name
    env = {**os.environ, "BENCH_JSON": rows_file}
    failed = []
    for name in chosen:
        script, full, quick = BENCHMARKS[name]
        print(f"\n== {name}: benchmarks/{script} {' '.join(quick if args.quick else full)}", flush=True)
        res = subprocess.run([sys.executable, str(HERE / script), *(quick if args.quick else full)], env=env)
        if res.returncode:
            failed.append(name)
    rows: dict[str, list[Row]] = {}
    for line in Path(rows_file).read_text().splitlines():
        r = json.loads(line)
        rows.setdefault(r.pop("title"), []).append(Row(**r))
    os.unlink(rows_file)
    print(f"\n== every figure{' (quick sizes: not comparable with the goals)' if args.quick else ''}; "
          f"{_machine()}")
    for title, rs in rows.items():
        print(render(title, rs))
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
