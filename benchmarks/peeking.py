"""Peeking benchmark: how often an A/A test "wins" when it is looked at every day.

    python benchmarks/peeking.py                 # 200 seeds of benchmarks/peeking_aa.yaml, on every core
    python benchmarks/peeking.py --seeds 40
    python benchmarks/peeking.py --quick         # 16 seeds: a smoke run, too few for the 5% goal

The scenario is an A/A test: two arms of 3,000 shoppers that get the very same reminders over 14 days, so
any verdict between them is a false one. Each seed is played once; at the end of every day the arms are
compared on each experiment metric as the KPI screen compares them, with
  (a) the fixed 95% interval (what the screen showed while the run played), and
  (b) the always-valid interval of shopsim/metrics/sequential.py (what it shows now until the run ends).
A seed "wins" when any daily look's interval excludes 0 with enough shoppers (either direction: a ✓ or a
✗ on the screen). The goal is (b) <= 5% on the experiment's metric (recovery). The final look alone, with
the fixed interval, is printed beside them: the 5% a single look is built for. Fractions carry a Wilson
95% interval over the seeds. Same seeds, same figures: the runs are deterministic.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
from table import Row, show  # noqa: E402

SCENARIO = HERE / "peeking_aa.yaml"
GOAL = 0.05
TODAY = "20% (40 seeds)"  # the fixed interval checked daily, as measured when the problem was reported
METRICS = ("recovery", "conversion", "unsubscribe", "revenue_per_shopper")

_compiled = None


def _load():
    global _compiled
    if _compiled is None:
        from shopsim.scenario.compiled import compile_scenario
        from shopsim.validate import load_scenario
        _compiled = compile_scenario(load_scenario(SCENARIO))
    return _compiled


def play(seed: int) -> dict:
    """One seed: for each metric, the days whose fixed / always-valid interval excluded 0."""
    from shopsim.contract.clock import DAY
    from shopsim.metrics import sequential
    from shopsim.metrics.kpis import Metrics
    from shopsim.metrics.variants import experiments_result
    from shopsim.simulation import Simulation

    t0 = time.process_time()
    sim = Simulation(_load(), seed, keep_messages=False)
    m = Metrics()
    sim.subscribe(m)
    days = -(-sim.end // DAY)
    fixed = {k: [] for k in METRICS}
    valid = {k: [] for k in METRICS}
    width = None
    for day in range(1, days + 1):
        sim.run_until(min(day * DAY, sim.end))
        sim.flush()
        (exp,) = experiments_result(m).values()
        live = sequential.interim_experiment(exp)
        for c, v in zip(exp["comparisons"], live["comparisons"]):
            if c["significant"]:
                fixed[c["metric"]].append(day)
            if v["significant"]:
                valid[c["metric"]].append(day)
            if day == days and c["primary"] and c["high"] is not None and c["high"] > c["low"]:
                width = (v["high"] - v["low"]) / (c["high"] - c["low"])
    sim.run()
    return {"seed": seed, "fixed": fixed, "valid": valid, "days": days, "width": width,
            "cpu": time.process_time() - t0}


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    if not n:
        return 0.0, 1.0
    p = k / n
    mid = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, mid - half), min(1.0, mid + half)


def share(k: int, n: int) -> str:
    lo, hi = wilson(k, n)
    return f"{k}/{n} = {k / n:.1%} [{lo:.1%}, {hi:.1%}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=200)
    ap.add_argument("--first", type=int, default=1, help="the first seed (seeds are first, first + 1, ...)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--quick", action="store_true", help="16 seeds")
    args = ap.parse_args()
    seeds = list(range(args.first, args.first + (16 if args.quick else args.seeds)))
    print(f"peeking: A/A ({SCENARIO.name}) x {len(seeds)} seeds, daily looks, {args.workers} workers, "
          f"Python {sys.version.split()[0]}", flush=True)
    t0 = time.perf_counter()
    if args.workers > 1:
        with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
            runs = pool.map(play, seeds, chunksize=1)
    else:
        runs = [play(s) for s in seeds]
    wall = time.perf_counter() - t0
    n = len(runs)
    cpu = sorted(r["cpu"] for r in runs)
    days = runs[0]["days"]
    rows = []
    for metric in METRICS:
        daily_fixed = sum(1 for r in runs if r["fixed"][metric])
        daily_valid = sum(1 for r in runs if r["valid"][metric])
        final_fixed = sum(1 for r in runs if days in r["fixed"][metric])
        primary = metric == "recovery"
        rows.append(Row(f"A/A runs a daily look 'wins', {metric}{' (its metric)' if primary else ''}; "
                        "fixed 95% -> always-valid", share(daily_fixed, n), share(daily_valid, n),
                        f"<= {GOAL:.0%}", daily_valid <= GOAL * n if primary and not args.quick else None))
        if primary:
            rows.append(Row(f"  the last look alone (day {days}), fixed 95%", share(final_fixed, n),
                            share(final_fixed, n), "about 5%", None))
    widths = sorted(r["width"] for r in runs if r["width"] is not None)
    if widths:
        rows.append(Row("always-valid / fixed 95% interval's width, last day, recovery", "1",
                        f"{widths[0]:.2f}-{widths[-1]:.2f}x", "the price of looking daily", None))
    show("Peeking (benchmarks/peeking.py)", rows,
         note=(f"{n} seeds x {days} daily looks; {wall:.0f} s wall on {args.workers} workers, "
               f"{sum(cpu):.0f} CPU-s (a seed: min {cpu[0]:.2f}, median {cpu[n // 2]:.2f} CPU-s); "
               f"today: the fixed interval on the same runs (reported as {TODAY} before the change)"))


if __name__ == "__main__":
    main()
