"""Terminal app start-up and responsiveness: `python benchmarks/tui.py [--shoppers N] [--runs R] [--seconds S]`.

Every run is a fresh process, as a user's start is: it imports what the `shopsim` command imports, makes the
app and runs it headless (Textual's test driver, 160x48), on scenarios/default.yaml and on a copy of it with
population.size N (100,000 by default) written to a temporary folder. Min and median of R runs of each:

  first usable frame  from make_app() to the main screen drawing its shoppers list (the keys work from then
                      on: browsing, searching and selecting shoppers). The imports made before the app is made
                      are not in it: the figure the goal was set on.
  from launch         the same moment counted from the process's start: the interpreter, every import of
                      `shopsim run` (the command line's own included) and the first frame.
  run ready           from make_app() to the run built and started in the background: play can begin.
  loop lag            then S seconds of play at full speed with narration off: how late the event loop wakes a
                      10 ms timer (what a keypress waits), p99.

`--source DIR` measures another checkout of shopsim with this same script (e.g. a `git worktree` of an older
commit), for before/after figures taken side by side. Whether Python may write bytecode caches
(PYTHONDONTWRITEBYTECODE) changes every figure: without them each process compiles what it imports.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from table import Row, show  # noqa: E402

DEFAULT = HERE.parent / "scenarios" / "default.yaml"
TODAY = {"default": "1.36-1.59 s", "large": "9-10 s to the main screen"}  # issue 15, before this work
GOAL = {"default": 1.0, "large": 2.0}
SIZE = (160, 48)


async def _measure(path: Path, seconds: float, spawned: float) -> dict:
    """In the child: one start of the app on `path`, then `seconds` of play at full speed."""
    import shopsim.cli.tui  # noqa: F401  what `shopsim run` has imported when it opens the app
    from shopsim.tui.app import make_app
    from shopsim.tui.driver import SPEEDS
    from shopsim.tui.screens.main import MainScreen
    from shopsim.tui.widgets.shopper_list import ShopperList

    drawn: list[tuple[float, float, float]] = []  # (perf_counter, wall clock, CPU seconds) of the list's first line
    draw_line = ShopperList.render_line

    def render_line(self, y: int):
        if not drawn:
            usage = resource.getrusage(resource.RUSAGE_SELF)
            drawn.append((time.perf_counter(), time.time(), usage.ru_utime + usage.ru_stime))
        return draw_line(self, y)

    ShopperList.render_line = render_line
    out: dict = {}
    t0 = time.perf_counter()
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        while not (drawn and isinstance(app.screen, MainScreen)):
            await asyncio.sleep(0.002)
        out["first_frame_s"] = drawn[0][0] - t0
        out["launch_s"] = drawn[0][1] - spawned
        out["first_frame_cpu_s"] = drawn[0][2]
        while app.main_screen is None or app.driver is None:
            await asyncio.sleep(0.002)
        out["ready_s"] = time.perf_counter() - t0
        await pilot.pause()
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
        lags.sort()
        out["lag_p99_ms"] = lags[min(len(lags) - 1, int(len(lags) * 0.99))] if lags else 0.0
    return out


def _resized(scenario: Path, shoppers: int, folder: Path) -> Path:
    """A copy of `scenario` with `shoppers` shoppers, in `folder`."""
    import yaml

    data = yaml.safe_load(scenario.read_text())
    data["population"]["size"] = shoppers
    path = folder / f"{scenario.stem}-{shoppers}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _run(source: Path, scenario: Path, seconds: float) -> dict:
    """One start in a fresh process, measuring the checkout at `source`."""
    spawned = time.time()
    res = subprocess.run([sys.executable, __file__, "--child", str(scenario), "--seconds", str(seconds),
                          "--spawned", repr(spawned), "--source", str(source)], capture_output=True, text=True)
    if res.returncode:
        sys.exit(f"benchmarks/tui.py: a run on {scenario} failed:\n{res.stderr}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def _mm(runs: list[dict], key: str, unit: str = "s", spec: str = ".2f") -> str:
    vals = sorted(r[key] for r in runs)
    return f"{vals[0]:{spec}} / {statistics.median(vals):{spec}} {unit}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shoppers", type=int, default=100_000, help="size of the large copy of default (0 to skip it)")
    ap.add_argument("--runs", type=int, default=3, help="fresh processes per scenario: min and median are reported")
    ap.add_argument("--seconds", type=float, default=5.0, help="wall seconds of play after each start")
    ap.add_argument("--source", type=Path, default=HERE.parent, help="the shopsim checkout to measure")
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--spawned", type=float, help=argparse.SUPPRESS)
    args = ap.parse_args()
    sys.path.insert(0, str(args.source.resolve()))
    if args.child:
        print(json.dumps(asyncio.run(_measure(args.child, args.seconds, args.spawned))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        cases = [("default", "default (2,000 shoppers)", DEFAULT)]
        if args.shoppers:
            large = _resized(DEFAULT, args.shoppers, Path(tmp))
            cases.append(("large", f"default at {args.shoppers:,} shoppers", large))
        rows = []
        for key, name, path in cases:
            runs = [_run(args.source, path, args.seconds) for _ in range(args.runs)]
            median = statistics.median(r["first_frame_s"] for r in runs)
            comparable = key == "default" or args.shoppers == 100_000
            rows += [
                Row(f"first usable frame, {name}", TODAY[key] if comparable else "-", _mm(runs, "first_frame_s"),
                    f"<= {GOAL[key]:g} s", median <= GOAL[key] if comparable else None),
                Row("  from launch, `shopsim run`'s imports included", "-", _mm(runs, "launch_s"), "-"),
                Row("  CPU seconds of the process by then", "-", _mm(runs, "first_frame_cpu_s"), "-"),
                Row("  run ready to play", "-", _mm(runs, "ready_s"), "-"),
                Row(f"  loop lag p99, {args.seconds:g} s at full speed", "-", _mm(runs, "lag_p99_ms", "ms", ".1f"),
                    "<= 50 ms", statistics.median(r["lag_p99_ms"] for r in runs) <= 50),
            ]
    caches = "no bytecode caches written (PYTHONDONTWRITEBYTECODE)" if sys.dont_write_bytecode else "bytecode caches"
    show("terminal app", rows, f"min / median of {args.runs} fresh processes each, 160x48 headless, {caches}; "
                               f"{args.source}")


if __name__ == "__main__":
    main()
