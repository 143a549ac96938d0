"""Analysis benchmark: `python benchmarks/analysis.py [--shoppers N] [--days D] [--runs R]` (`make bench` runs it).

What QA and analysts wait for, on the same marketing-heavy scenario as the engine benchmark
(benchmarks/large.yaml, 20k shoppers x 30 days by default):
  kpis-log     Metrics from a finished run's event log (what `shopsim report` and `diff` do), in events/s
  kpis-live    the engine with a Metrics observer against the engine alone: R interleaved pairs, each run in
               its own process, CPU seconds of the run
  export       `shopsim export --format csv` of the run and of one a quarter its size: peak RSS must not grow
  invariants   every named invariant checked on the run (what `replay --check` adds with invariants)
Every figure is CPU seconds of the work itself (start-up and building the population left out), measured in a
fresh process, min and median of R runs; peak RSS is the process's own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from table import Row, show  # noqa: E402
from population import large  # noqa: E402

# Figures before the speed-and-scale work (issue 15), on this kind of machine.
TODAY_KPIS_LOG = 68_000          # events/s
TODAY_LIVE = 0.41                # live KPIs' cost over the engine alone
GOAL_KPIS_LOG = 500_000
GOAL_LIVE = 0.15


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _phase(name: str, shoppers: int, days: int, log: str | None) -> dict:

    from shopsim.metrics.kpis import Metrics
    from shopsim.simulation import Simulation

    out: dict = {"phase": name}
    if name == "log":  # writes the run's log for the phases that read one
        from shopsim.store.recorder import Recorder

        cs = large(shoppers, days)
        sim = Simulation(cs, keep_messages=False)
        with open(log, "wb", buffering=1 << 20) as f:  # type: ignore[arg-type]
            sim.subscribe(Recorder(cs.start_epoch, f))
            sim.run()
        out["events"] = sim.emitted
    elif name in ("engine", "engine+kpis"):
        sim = Simulation(large(shoppers, days), keep_messages=False)
        m, inside = None, [0.0]
        if name == "engine+kpis":
            m = Metrics()

            def observe(batch, clock=time.process_time) -> None:  # CPU inside Metrics, batch by batch
                t = clock()
                m(batch)  # type: ignore[misc]
                inside[0] += clock() - t
            sim.subscribe(observe)
        t0 = time.process_time()
        sim.run()
        if m is not None:
            t = time.process_time()
            m.result()
            inside[0] += time.process_time() - t
        out["cpu_s"] = time.process_time() - t0
        out["in_metrics_s"] = inside[0]
        out["events"] = sim.emitted
    elif name == "kpis-log":
        from shopsim.store.runfile import open_run

        t0 = time.process_time()
        m = Metrics.of_run(open_run(log))  # type: ignore[arg-type]
        m.result()
        out["cpu_s"] = time.process_time() - t0
        out["events"] = m.events
    elif name == "export":
        from shopsim.cli.export import write_tables
        from shopsim.store.export_rows import build_tables
        from shopsim.store.runfile import open_run

        t0 = time.process_time()
        run = open_run(log)  # type: ignore[arg-type]
        with tempfile.TemporaryDirectory() as d:
            written = write_tables(build_tables(run), Path(d), "csv", run.start_epoch)
            out["mb_written"] = sum(p.stat().st_size for _, _, p in written) / 2**20
        out["cpu_s"] = time.process_time() - t0
        out["rows"] = sum(n for _, n, _ in written)
    else:
        from shopsim.qa.invariants import INVARIANTS, InvariantChecker

        sim = Simulation(large(shoppers, days), keep_messages=False)
        checker = InvariantChecker(sim, list(INVARIANTS))
        sim.subscribe(checker)
        t0 = time.process_time()
        sim.run()
        found = checker.finish()
        out["cpu_s"] = time.process_time() - t0
        out["events"] = sim.emitted
        out["violations"] = sum(len(v) for v in found.values())
    out["peak_rss_mb"] = _rss_mb()
    return out


def _run(phase: str, shoppers: int, days: int, log: str | None = None) -> dict:
    """One phase in a fresh process, so its CPU and peak RSS are its own."""
    args = [sys.executable, __file__, "--phase", phase, "--shoppers", str(shoppers), "--days", str(days)]
    if log:
        args += ["--log", log]
    res = subprocess.run(args, capture_output=True, text=True)
    if res.returncode:
        print(res.stderr, file=sys.stderr)
        sys.exit(res.returncode)
    return json.loads(res.stdout)


def _min_med(xs: list[float]) -> tuple[float, float]:
    return min(xs), statistics.median(xs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shoppers", type=int, default=20_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--phases", default="kpis-log,kpis-live,export,invariants")
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("--log", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        print(json.dumps(_phase(args.phase, args.shoppers, args.days, args.log)))
        return
    n, days, runs = args.shoppers, args.days, args.runs
    phases = args.phases.split(",")
    size = f"{n:,} shoppers x {days} d"
    rows: list[Row] = []
    notes = []
    with tempfile.TemporaryDirectory() as d:
        log = os.path.join(d, "run.jsonl")
        if {"kpis-log", "export"} & set(phases):
            events = _run("log", n, days, log)["events"]
            notes.append(f"log of {size}: {events:,} events, {os.path.getsize(log) / 2**20:,.0f} MB")
        if "kpis-log" in phases:
            got = [_run("kpis-log", n, days, log) for _ in range(runs)]
            lo, med = _min_med([g["cpu_s"] for g in got])
            rate = got[0]["events"] / med
            rows.append(Row(f"KPIs from a finished log ({size})", f"{TODAY_KPIS_LOG / 1000:,.0f}k events/s",
                            f"{got[0]['events'] / lo / 1000:,.0f}k events/s best, {rate / 1000:,.0f}k median "
                            f"({lo:.1f} / {med:.1f} CPU-s, {got[0]['peak_rss_mb']:,.0f} MB)",
                            f">= {GOAL_KPIS_LOG / 1000:,.0f}k events/s", rate >= GOAL_KPIS_LOG))
        if "kpis-live" in phases:
            pairs = []
            for i in range(runs):  # alternating which goes first, so a machine growing busier favours neither
                first, second = ("engine", "engine+kpis") if i % 2 == 0 else ("engine+kpis", "engine")
                got = {first: _run(first, n, days), second: _run(second, n, days)}
                pairs.append((got["engine"], got["engine+kpis"]))
            cost = [k["cpu_s"] / e["cpu_s"] - 1 for e, k in pairs]
            lo, med = _min_med(cost)
            eng = _min_med([e["cpu_s"] for e, _ in pairs])
            kp = _min_med([k["cpu_s"] for _, k in pairs])
            # The same cost read inside one run: Metrics' own CPU against the rest of that run.
            own = _min_med([k["in_metrics_s"] / (k["cpu_s"] - k["in_metrics_s"]) for _, k in pairs])
            rows.append(Row(f"live KPIs over the engine ({size})", f"+{TODAY_LIVE:.0%}",
                            f"{lo:+.1%} min, {med:+.1%} median of {runs} pairs (engine {eng[0]:.1f} / {eng[1]:.1f} "
                            f"CPU-s, with Metrics {kp[0]:.1f} / {kp[1]:.1f}); inside the run Metrics takes "
                            f"{own[0]:+.1%} / {own[1]:+.1%}", f"<= +{GOAL_LIVE:.0%}", med <= GOAL_LIVE))
        if "export" in phases:
            small_log = os.path.join(d, "small.jsonl")
            small_n = max(1, n // 4)
            _run("log", small_n, days, small_log)
            small = [_run("export", small_n, days, small_log) for _ in range(runs)]
            big = [_run("export", n, days, log) for _ in range(runs)]
            rss_small = min(g["peak_rss_mb"] for g in small)
            rss_big = min(g["peak_rss_mb"] for g in big)
            cpu = _min_med([g["cpu_s"] for g in big])
            rows.append(Row("export --format csv, peak RSS at two run sizes",
                            "every table in memory (several GB at 100k x 30 d)",
                            f"{rss_small:,.0f} MB at {small_n:,} x {days} d, {rss_big:,.0f} MB at {size} "
                            f"({big[0]['rows']:,} rows, {cpu[0]:.0f} / {cpu[1]:.0f} CPU-s)",
                            "streams, bounded memory (no growth with the run)", rss_big <= rss_small * 1.25))
        if "invariants" in phases:
            base = _run("engine", n, days)
            inv = _run("invariants", n, days)
            rows.append(Row(f"every invariant checked live ({size})", "+40%",
                            f"{inv['cpu_s'] / base['cpu_s'] - 1:+.0%} ({inv['violations']} violations, "
                            f"{inv['peak_rss_mb']:,.0f} MB)", "-", None))
    show(f"shopsim analysis benchmark: {size}, Python {sys.version.split()[0]}, {runs} runs each", rows,
         "; ".join(notes))


if __name__ == "__main__":
    main()
