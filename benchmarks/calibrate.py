"""Calibration benchmark: `make bench` (or `python benchmarks/calibrate.py [--scenario S] [--seeds N]`).

Times `shopsim calibrate default --seeds 20` as a user runs it (a fresh process, JSON output, no
storage), with every core and then with one worker, and prints each figure as "today | goal":
  wall, every core     the command end to end on all cores          goal <= 20 s on 2 cores
  speed-up             one worker's wall / every core's wall        goal >= 80% of the cores
  peak RSS             the largest process (parent or worker)       goal <= 512 MB
It also checks that both runs printed the same figures (they must not depend on --workers).
An exit status of 1 (a scenario off its anchors) is a result, not a failure of the benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

GOAL_WALL_S_2_CORES = 20.0
GOAL_EFFICIENCY = 0.8
GOAL_RSS_MB = 512


def _phase(scenario: str, seeds: int, workers: int) -> dict:
    """Run the command once, in a child, and report its wall time, exit code, output and peak RSS."""
    cmd = [sys.executable, "-m", "shopsim", "calibrate", scenario, "--seeds", str(seeds), "--workers", str(workers),
           "--format", "json"]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    if res.returncode not in (0, 1):
        print(res.stderr, file=sys.stderr)
        sys.exit(res.returncode)
    doc = json.loads(res.stdout)
    return {"wall_s": wall, "exit": res.returncode, "output": res.stdout,
            "inside": sum(a["inside"] for a in doc["anchors"]), "anchors": len(doc["anchors"]),
            # every process of the command has been waited for: the largest one's peak
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def run_phase(scenario: str, seeds: int, workers: int) -> dict:
    """One phase in a fresh process, so its peak RSS is its own."""
    res = subprocess.run([sys.executable, __file__, "--phase", str(workers), "--scenario", scenario,
                          "--seeds", str(seeds)], capture_output=True, text=True)
    if res.returncode:
        print(res.stderr, file=sys.stderr)
        sys.exit(res.returncode)
    return json.loads(res.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", default="default")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--phase", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        print(json.dumps(_phase(args.scenario, args.seeds, args.phase)))
        return
    cores = os.cpu_count() or 1
    print(f"shopsim calibrate benchmark: {args.scenario} x {args.seeds} seeds, {cores} cores, "
          f"Python {sys.version.split()[0]}")
    every = run_phase(args.scenario, args.seeds, cores)
    one = run_phase(args.scenario, args.seeds, 1)
    speedup = one["wall_s"] / every["wall_s"]
    wall_goal = GOAL_WALL_S_2_CORES * 2 / cores if cores >= 2 else GOAL_WALL_S_2_CORES * 2
    rss = max(every["peak_rss_mb"], one["peak_rss_mb"])
    rows = [
        ("", "today", "goal"),
        (f"wall, {cores} workers", f"{every['wall_s']:.1f} s", f"<= {wall_goal:.0f} s"),
        ("wall, 1 worker", f"{one['wall_s']:.1f} s ({one['wall_s'] / args.seeds:.2f} s a seed)", "-"),
        ("speed-up", f"{speedup:.2f}x on {cores} cores ({speedup / cores:.0%})",
         f">= {GOAL_EFFICIENCY * cores:.1f}x ({GOAL_EFFICIENCY:.0%})"),
        ("peak RSS, largest process", f"{rss:,.0f} MB", f"<= {GOAL_RSS_MB} MB"),
        ("same figures, 1 vs all workers", "yes" if one["output"] == every["output"] else "NO", "yes"),
        ("anchors inside their bands", f"{every['inside']} of {every['anchors']} (exit {every['exit']})", "all"),
    ]
    width = max(len(r[0]) for r in rows)
    today = max(len(r[1]) for r in rows)
    for name, now, goal in rows:
        print(f"  {name:<{width}}  {now:<{today}} | {goal}")


if __name__ == "__main__":
    main()
