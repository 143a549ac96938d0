"""Analysis benchmark: `python benchmarks/analysis.py [--shoppers N] [--days D]` (`make bench` runs it too).

What QA and analysts wait for, on the same marketing-heavy scenario as the engine benchmark
(benchmarks/large.yaml, 20k shoppers x 30 days by default):
  kpis-live    the engine with a Metrics observer, against the engine alone (the cost of live KPIs)
  kpis-log     Metrics from a finished run's event log (what `shopsim report` and `diff` do)
  invariants   every named invariant checked on the run (what `replay --check` adds with invariants)
Each phase runs in its own process and reports its peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))


def _phase(name: str, shoppers: int, days: int) -> dict:
    from engine import _scenario

    from shopsim.metrics.kpis import Metrics
    from shopsim.simulation import Simulation

    cs = _scenario(shoppers, days)
    out: dict = {"phase": name}
    if name == "kpis-live":
        sim = Simulation(cs, keep_messages=False)
        t0 = time.perf_counter()
        sim.run()
        out["engine_s"] = time.perf_counter() - t0
        sim = Simulation(cs, keep_messages=False)
        m = Metrics()
        sim.subscribe(m)
        t0 = time.perf_counter()
        sim.run()
        m.result()
        out["with_kpis_s"] = time.perf_counter() - t0
        out["events"] = sim.emitted
    elif name == "kpis-log":
        from shopsim.store.runfile import open_run
        from shopsim.store.recorder import Recorder

        with tempfile.TemporaryDirectory() as d:
            sim = Simulation(cs, keep_messages=False)
            with open(f"{d}/run.jsonl", "wb", buffering=1 << 20) as log:
                sim.subscribe(Recorder(cs.start_epoch, log))
                sim.run()
            out["events"] = sim.emitted
            out["log_mb"] = os.path.getsize(f"{d}/run.jsonl") / 2**20
            t0 = time.perf_counter()
            Metrics.of(open_run(f"{d}/run.jsonl").events()).result()
            out["seconds"] = time.perf_counter() - t0
    else:
        from shopsim.qa.invariants import INVARIANTS, InvariantChecker

        sim = Simulation(cs, keep_messages=False)
        checker = InvariantChecker(sim, list(INVARIANTS))
        sim.subscribe(checker)
        t0 = time.perf_counter()
        sim.run()
        found = checker.finish()
        out["with_invariants_s"] = time.perf_counter() - t0
        out["events"] = sim.emitted
        out["violations"] = sum(len(v) for v in found.values())
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shoppers", type=int, default=20_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--phases", default="kpis-live,kpis-log,invariants")
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        print(json.dumps(_phase(args.phase, args.shoppers, args.days)))
        return
    print(f"shopsim analysis benchmark: {args.shoppers:,} shoppers x {args.days} days, "
          f"Python {sys.version.split()[0]}")
    from engine import run_phase

    for phase in args.phases.split(","):
        r = run_phase(__file__, phase, args.shoppers, args.days)
        rss = f"peak RSS {r['peak_rss_mb']:,.0f} MB"
        if phase == "kpis-live":
            extra = r["with_kpis_s"] - r["engine_s"]
            cost = (f"+{extra / r['engine_s']:.0%}, {r['events'] / extra:,.0f} events/s for the KPIs" if extra > 0
                    else "within the machine's noise")
            print(f"  live KPIs    {r['events']:,} events: engine {r['engine_s']:.1f} s, with Metrics "
                  f"{r['with_kpis_s']:.1f} s ({cost})   {rss}")
        elif phase == "kpis-log":
            print(f"  KPIs of log  {r['events']:,} events ({r['log_mb']:,.0f} MB) in {r['seconds']:.1f} s = "
                  f"{r['events'] / r['seconds']:,.0f} events/s   {rss}")
        else:
            print(f"  invariants   engine with every invariant checked: {r['with_invariants_s']:.1f} s for "
                  f"{r['events']:,} events, {r['violations']} violations   {rss}")


if __name__ == "__main__":
    main()
