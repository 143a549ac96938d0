"""Terminal app responsiveness: `python benchmarks/tui.py [--shoppers N] [--seconds S]`.

Runs the app headless (Textual's test driver, 160×48), plays at full speed with narration off, and
measures how late the event loop wakes a 10 ms timer (the lag a keypress would see), plus the time from
launch to the first usable frame: the main screen mounted with its shoppers, inbox and feed (the settings
tab builds its controls when first opened). Each scenario runs in this one process, in order, so the first
also pays for the imports the app makes lazily (Faker, Jinja2); without a bytecode cache
(PYTHONDONTWRITEBYTECODE) every run also compiles shopsim's sources.
Targets: lag p99 <= 50 ms; first usable frame <= 1 s (on the default scenario).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


async def measure(path: Path, seconds: float) -> dict:
    from shopsim.tui.app import make_app
    from shopsim.tui.driver import SPEEDS
    from shopsim.tui.screens.main import MainScreen

    t0 = time.perf_counter()
    app = make_app(path)
    out: dict = {}
    async with app.run_test(size=(160, 48)) as pilot:
        while not isinstance(app.screen, MainScreen):
            await pilot.pause(0.005)
        await pilot.pause()
        out["first_frame_s"] = time.perf_counter() - t0
        driver = app.driver
        driver.narrator.fired.update(range(len(driver.narrator.steps)))  # no callouts in a benchmark
        driver.speed_index = len(SPEEDS) - 1
        driver.toggle()
        lags, start_events = [], driver.sim.emitted
        end = time.perf_counter() + seconds
        while time.perf_counter() < end and not driver.finished:
            t = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append((time.perf_counter() - t - 0.01) * 1000)
        out["events"] = driver.sim.emitted - start_events
        out["virtual_h"] = driver.sim.now / 3_600_000
        lags.sort()
        out["lag_p50_ms"] = statistics.median(lags)
        out["lag_p99_ms"] = lags[min(len(lags) - 1, int(len(lags) * 0.99))]
        out["samples"] = len(lags)
    return out


def _resized(scenario: Path, shoppers: int) -> Path:
    """A copy of `scenario` with `shoppers` shoppers."""
    import yaml

    data = yaml.safe_load(scenario.read_text())
    data["population"]["size"] = shoppers
    path = Path(tempfile.mkdtemp()) / scenario.name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shoppers", type=int, default=100_000, help="size of the large run (0 to skip it)")
    ap.add_argument("--seconds", type=float, default=10.0, help="wall seconds of play per scenario")
    ap.add_argument("--runs", type=int, default=3, help="runs per scenario: min and median are reported")
    ap.add_argument("--default-size", type=int, action="append", default=[], metavar="N",
                    help="also run the default scenario with N shoppers (repeatable), to see what its size costs")
    args = ap.parse_args()
    default = HERE.parent / "scenarios" / "default.yaml"
    runs = [("default", default)]
    runs += [(f"default at {n:,}", _resized(default, n)) for n in args.default_size]
    if args.shoppers:
        runs.append((f"{args.shoppers:,} shoppers", _resized(HERE / "large.yaml", args.shoppers)))
    print(f"shopsim terminal app benchmark: full speed for {args.seconds:g} s, {args.runs} runs per scenario, "
          f"Python {sys.version.split()[0]}; min / median of the runs (today | goal)")
    for name, path in runs:
        rs = [asyncio.run(measure(path, args.seconds)) for _ in range(args.runs)]

        def mm(key: str, unit: str, spec: str = ".1f") -> str:
            vals = sorted(r[key] for r in rs)
            return f"{vals[0]:{spec}} / {statistics.median(vals):{spec}} {unit}"

        events = statistics.median(r["events"] for r in rs)
        print(f"  {name:<18} loop lag p99 {mm('lag_p99_ms', 'ms')} | <= 50 ms    "
              f"p50 {mm('lag_p50_ms', 'ms')}    first usable frame {mm('first_frame_s', 's', '.2f')} | <= 1 s"
              f"    {events:,.0f} events in {args.seconds:g} s (median)")

if __name__ == "__main__":
    main()
