"""Engine benchmark: `make bench` (or `python benchmarks/engine.py [--shoppers N] [--days D]`).

Phases run in separate processes so each reports its own peak RSS:
  identities  build the population (Faker pools + per-shopper draws), in CPU seconds, against plain Faker making
              the same identities (name, email, phone and city, as many per locale) in the same process
  engine      play the scenario with storage off (events are built and handed to no observer)
  log         engine + JSON Lines serialisation to /dev/null
  end-to-end  engine + SQLite store + JSONL log on disk, as `shopsim replay` does (the store is written
              by a second process fed with the log's lines)
Targets (2 cores): >= 300k events/s with storage off; 100k x 30d end to end <= 60 s and <= 1 GiB;
100k identities <= 2 s and >= 6x plain Faker.
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
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from population import large  # noqa: E402


def _phase(name: str, shoppers: int, days: int) -> dict:
    cs = large(shoppers, days)
    from shopsim.simulation import Simulation

    out: dict = {"phase": name}
    t0 = time.perf_counter()
    if name == "identities":
        from shopsim.sim.population import PopulationBuilder

        cpu = time.process_time()
        shoppers = PopulationBuilder(cs).build_all()
        out["cpu_s"] = time.process_time() - cpu
        out["seconds"] = time.perf_counter() - t0
        out["faker_cpu_s"] = _plain_faker(sorted(Counter(sh.locale for sh in shoppers).items()))
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


def _plain_faker(per_locale: list[tuple[str, int]]) -> float:
    """CPU seconds for Faker itself to make the same identities: for each locale, one seeded Faker of it making
    name, email, phone number and city that many times."""
    from faker import Faker

    cpu = time.process_time()
    for locale, n in per_locale:
        fake = Faker(locale)
        fake.seed_instance(1)
        for _ in range(n):
            fake.name(), fake.email(), fake.phone_number(), fake.city()
    return time.process_time() - cpu


def _identities(script: str, shoppers: int, days: int, runs: int) -> None:
    """The identities row: `runs` fresh processes, min and median, the ratio to Faker taken run by run."""
    from statistics import median

    from table import Row, show

    rs = [run_phase(script, "identities", shoppers, days) for _ in range(runs)]
    cpu = sorted(r["cpu_s"] for r in rs)
    faker = sorted(r["faker_cpu_s"] for r in rs)
    ratio = sorted(r["faker_cpu_s"] / r["cpu_s"] for r in rs)
    full = shoppers == 100_000
    show("identities", [
        Row(f"{shoppers:,} identities (the population, CPU s)", "2.3-2.5 s" if full else "-",
            f"{cpu[0]:.2f} / {median(cpu):.2f} s", "<= 2 s", median(cpu) <= 2.0 if full else None),
        Row("  plain Faker, the same identities, same runs", "-", f"{faker[0]:.1f} / {median(faker):.1f} s", "-"),
        Row("  against plain Faker", "4.6x" if full else "-", f"{ratio[0]:.1f}x / {median(ratio):.1f}x", ">= 6x",
            median(ratio) >= 6 if full else None),
    ], f"min / median of {runs} fresh processes; peak RSS {max(r['peak_rss_mb'] for r in rs):,.0f} MB")


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
    ap.add_argument("--identity-runs", type=int, default=3, help="fresh processes for the identities figure")
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        print(json.dumps(_phase(args.phase, args.shoppers, args.days)))
        return
    print(f"shopsim engine benchmark: {args.shoppers:,} shoppers x {args.days} days, Python {sys.version.split()[0]}")
    for phase in args.phases.split(","):
        if phase == "identities":
            _identities(__file__, args.shoppers, args.days, args.identity_runs)
            continue
        r = run_phase(__file__, phase, args.shoppers, args.days)
        rss = f"peak RSS {r['peak_rss_mb']:,.0f} MB"
        if phase in ("engine", "log"):
            label = "storage off" if phase == "engine" else "JSONL only "
            print(f"  {label}  {r['events']:,} events in {r['run_s']:.1f} s = {r['events_per_s']:,.0f} events/s "
                  f"(+{r['build_s']:.1f} s set-up)   {rss}" + ("   target >= 300k/s" if phase == "engine" else ""))
        else:
            print(f"  end to end   {r['events']:,} events, {r['rows']:,} rows in {r['seconds']:.1f} s "
                  f"({r['rows_per_s']:,.0f} rows/s; db {r['db_mb']:,.0f} MB, log {r['log_mb']:,.0f} MB)   {rss} "
                  f"+ store process {r['child_rss_mb']:,.0f} MB   target <= 60 s, <= 1 GiB")


if __name__ == "__main__":
    main()
