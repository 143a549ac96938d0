"""Engine benchmark: `make bench` (or `python benchmarks/engine.py [--shoppers N] [--days D]`).

Phases run in separate processes so each reports its own peak RSS:
  identities  build the population (Faker pools + per-shopper draws)
  engine      play the scenario with storage off (events are built and handed to no observer)
  log         engine + JSON Lines serialisation to /dev/null
  end-to-end  engine + SQLite store + JSONL log on disk, as `shopsim replay` does (the store is written
              by a second process fed with the log's lines)
Targets (2 cores): >= 300k events/s with storage off; 100k x 30d end to end <= 60 s and <= 1 GiB;
100k identities <= 3 s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def _scenario(shoppers: int, days: int):
    from shopsim.scenario.compiled import compile_scenario
    from shopsim.validate import load_scenario
    from shopsim.scenario.schema import Scenario

    data = load_scenario(HERE / "large.yaml").model_dump(exclude_unset=True)
    data["population"]["size"] = shoppers
    data["run"]["duration"] = f"{days}d"
    return compile_scenario(Scenario.model_validate(data))


def _phase(name: str, shoppers: int, days: int) -> dict:
    cs = _scenario(shoppers, days)
    from shopsim.simulation import Simulation

    out: dict = {"phase": name}
    t0 = time.perf_counter()
    if name == "identities":
        from shopsim.sim.population import PopulationBuilder

        PopulationBuilder(cs).build_all()
        out["seconds"] = time.perf_counter() - t0
    elif name in ("engine", "log"):
        sim = Simulation(cs, keep_messages=False)  # as `shopsim replay` does: the log keeps the messages
        out["build_s"] = time.perf_counter() - t0
        if name == "log":
            from shopsim.store.recorder import Recorder

            sink = open(os.devnull, "wb")
            sim.subscribe(Recorder(cs.start_epoch, sink))
        t1 = time.perf_counter()
        sim.run()
        out["run_s"] = time.perf_counter() - t1
        out["events"] = sim.emitted
        out["events_per_s"] = sim.emitted / out["run_s"]
    else:
        from shopsim.store.process import open_store
        from shopsim.store.recorder import Recorder

        with tempfile.TemporaryDirectory() as d:
            sim = Simulation(cs, keep_messages=False)  # as `shopsim replay` does: the log keeps the messages
            store = open_store(f"sqlite:///{d}/run.db", cs)
            with open(f"{d}/events.jsonl", "wb", buffering=1 << 20) as log:
                sim.subscribe(Recorder(cs.start_epoch, log, store))
                sim.run()
            rows = store.close("finished", sim.now)
            out["seconds"] = time.perf_counter() - t0
            out["events"] = sim.emitted
            out["rows"] = rows
            out["rows_per_s"] = rows / out["seconds"]
            out["db_mb"] = os.path.getsize(f"{d}/run.db") / 2**20
            out["log_mb"] = os.path.getsize(f"{d}/events.jsonl") / 2**20
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # The store's own process (end to end): its peak counts against the memory target too.
    out["child_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return out


def run_phase(script: str, phase: str, shoppers: int, days: int) -> dict:
    """Run one phase of `script` in a fresh process (so its peak RSS is its own) and return its figures."""
    res = subprocess.run([sys.executable, script, "--phase", phase, "--shoppers", str(shoppers),
                          "--days", str(days)], capture_output=True, text=True)
    if res.returncode:
        print(res.stderr, file=sys.stderr)
        sys.exit(res.returncode)
    return json.loads(res.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shoppers", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--phases", default="identities,engine,log,end-to-end")
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        print(json.dumps(_phase(args.phase, args.shoppers, args.days)))
        return
    print(f"shopsim engine benchmark: {args.shoppers:,} shoppers x {args.days} days, Python {sys.version.split()[0]}")
    for phase in args.phases.split(","):
        r = run_phase(__file__, phase, args.shoppers, args.days)
        rss = f"peak RSS {r['peak_rss_mb']:,.0f} MB"
        if phase == "identities":
            print(f"  identities   {args.shoppers:,} in {r['seconds']:.2f} s "
                  f"({args.shoppers / r['seconds']:,.0f}/s)   {rss}   target <= 3 s per 100k")
        elif phase in ("engine", "log"):
            label = "storage off" if phase == "engine" else "JSONL only "
            print(f"  {label}  {r['events']:,} events in {r['run_s']:.1f} s = {r['events_per_s']:,.0f} events/s "
                  f"(+{r['build_s']:.1f} s set-up)   {rss}" + ("   target >= 300k/s" if phase == "engine" else ""))
        else:
            print(f"  end to end   {r['events']:,} events, {r['rows']:,} rows in {r['seconds']:.1f} s "
                  f"({r['rows_per_s']:,.0f} rows/s; db {r['db_mb']:,.0f} MB, log {r['log_mb']:,.0f} MB)   {rss} "
                  f"+ store process {r['child_rss_mb']:,.0f} MB   target <= 60 s, <= 1 GiB")


if __name__ == "__main__":
    main()
