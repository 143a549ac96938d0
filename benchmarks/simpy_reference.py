"""shopsim's engine against an idiomatic SimPy model of the same workload, in CPU seconds.

The SimPy model is written as a SimPy user would write it: one process per shopper drawing organic visits
by local hour (thinning), a process per visit stepping through product views, carts that are abandoned
or ordered, an order lifecycle of timeouts, a cart-reminder flow that is a process interrupted when the
cart is ordered, and each message decided by a plain policy function (marketing consent, quiet hours, a
daily cap) before engagement may bring the shopper back. It draws its times and counts from the same
compiled scenario (the same distributions, the same population), emits the same kinds of events as dicts,
and keeps them in a list, as shopsim's engine does with no observer. It renders no template, keeps no
decision trace and runs no campaign, ads, digests or experiments: shopsim does all of these, so the ratio
is shopsim's cost of its fuller model, not of the loop alone.

Each run is its own process; engine and SimPy runs alternate (A B A B ...) so that a drift in the machine's
speed falls on both. The figure is CPU seconds of the run itself (population built beforehand, for both).

    python benchmarks/simpy_reference.py [--shoppers 5000] [--runs 5] [--scenario scenarios/default.yaml]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from bisect import bisect
from pathlib import Path
from random import Random

sys.path.insert(0, str(Path(__file__).resolve().parent))
from table import Row, show  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
GOAL = 1.5  # shopsim's engine at least 1.5x SimPy's speed per event, in CPU seconds of the run
REPLAY_GOAL = 1.0  # the whole `shopsim replay` process, start-up and log included, at least SimPy's run's speed


def _compiled(path: str, shoppers: int):
    from shopsim.scenario.compiled import compile_scenario
    from shopsim.validate import load_scenario

    sc = load_scenario(path)
    sc = sc.model_copy(update={"population": sc.population.model_copy(update={"size": shoppers})})
    return compile_scenario(sc)


def run_engine(cs) -> tuple[int, float]:
    from shopsim.simulation import Simulation

    sim = Simulation(cs, keep_messages=False)
    t0 = time.process_time()
    sim.run()
    return sim.emitted, time.process_time() - t0


# --- the SimPy model ------------------------------------------------------------------------------------

class _State:
    __slots__ = ("sh", "rng", "visiting", "cart", "token", "flow", "sent_day", "sent_n", "n_visit", "n_cart", "n_order")

    def __init__(self, sh, seed: int):
        self.sh, self.rng = sh, Random(f"{seed}|{sh.id}")
        self.visiting, self.cart, self.token, self.flow = False, None, 0, None
        self.sent_day = self.sent_n = self.n_visit = self.n_cart = self.n_order = 0


def run_simpy(cs) -> tuple[int, float]:
    import simpy

    from shopsim.scenario.compiled import abandon_probability
    from shopsim.sim.population import PopulationBuilder

    shoppers = PopulationBuilder(cs).build_all()
    env = simpy.Environment()
    log: list[tuple] = []
    end = cs.duration
    steps = [(int(s.after_ms), s.channel) for s in _reminder_steps(cs)]
    quiet = (22, 8)
    daily_cap = 3
    HOUR, DAY = 3_600_000, 86_400_000

    def emit(kind: str, sh, data: dict) -> None:
        log.append((len(log) + 1, env.now, kind, sh.id, data))

    def decide(st: _State, category: str, channel: str, marketing: bool) -> str:
        """A policy decision as a function call: consent, quiet hours for push, a daily cap on marketing."""
        s = st.sh.settings
        if marketing and not s.get("marketing_consent"):
            return "suppressed"
        if channel == "push" and marketing:
            hour = st.sh.clock.hour(env.now)
            if hour >= quiet[0] or hour < quiet[1]:
                return "deferred"
        if marketing:
            day = env.now // DAY
            if day != st.sent_day:
                st.sent_day, st.sent_n = day, 0
            if st.sent_n >= daily_cap:
                return "suppressed"
            st.sent_n += 1
        return "delivered"

    def notify(st: _State, category: str, channel: str, marketing: bool, about: str) -> None:
        nid = f"{st.sh.id}-n{len(log)}"
        emit("notification.requested", st.sh, {"id": nid, "category": category, "channel": channel, "ref": about})
        outcome = decide(st, category, channel, marketing)
        emit(f"notification.{outcome}", st.sh, {"id": nid, "category": category, "channel": channel})
        if outcome == "delivered" and marketing and st.rng.random() < 0.2:
            env.process(engage(st, nid))

    def engage(st: _State, nid: str):
        yield env.timeout(int(st.rng.expovariate(1 / HOUR)) + 1)
        emit("notification.opened", st.sh, {"id": nid})
        if st.rng.random() < 0.3:
            emit("notification.clicked", st.sh, {"id": nid})
            if not st.visiting:
                env.process(visit(st, "click"))

    def reminders(st: _State, cart: str):
        try:
            last = 0
            for i, (after, channel) in enumerate(steps):
                yield env.timeout(after - last)
                last = after
                notify(st, "cart_reminders", channel, True, cart)
        except simpy.Interrupt:
            emit("flow.exited", st.sh, {"cart": cart, "reason": "order_placed"})

    def order(st: _State, oid: str):
        rng = st.rng
        for kind, delay in (("payment.confirmed", cs.payment_delay), ("order.processing", cs.processing),
                            ("order.shipped", cs.handling), ("order.delivered", cs.handling)):
            yield env.timeout(delay(rng))
            emit(kind, st.sh, {"order": oid})
            notify(st, "order_updates", "email", False, oid)

    def visit(st: _State, source: str):
        sh, rng = st.sh, st.rng
        st.visiting, st.n_visit = True, st.n_visit + 1
        st.token += 1
        sid = f"{sh.id}-v{st.n_visit}"
        emit("session.started", sh, {"session": sid, "source": source})
        touched = st.cart is not None and rng.random() < cs.resume_cart
        for _ in range(max(1, round(sh.segment.views(rng)))):
            p = cs.products[min(len(cs.product_cum) - 1, bisect(cs.product_cum, rng.random() * cs.product_cum[-1]))]
            emit("product.viewed", sh, {"session": sid, "product": p.id, "price": p.price})
            if rng.random() < sh.segment.add_to_cart:
                if st.cart is None:
                    st.n_cart += 1
                    st.cart = f"{sh.id}-c{st.n_cart}"
                emit("cart.item_added", sh, {"cart": st.cart, "product": p.id})
                touched = True
            yield env.timeout(cs.view_time(rng))
        st.visiting = False
        if not (touched and st.cart):
            return
        cart, token = st.cart, st.token
        p_abandon, _ = abandon_probability(cs, sh.segment, "desktop", False, 1.0)
        if rng.random() < p_abandon:
            yield env.timeout(cs.detect_after)
            if token == st.token and st.cart == cart:
                emit("cart.abandoned", sh, {"cart": cart})
                if steps and st.flow is None:
                    st.flow = env.process(reminders(st, cart))
            return
        emit("checkout.started", sh, {"cart": cart})
        yield env.timeout(cs.checkout_time(rng))
        if st.cart != cart:
            return
        st.n_order += 1
        oid = f"{sh.id}-o{st.n_order}"
        emit("order.placed", sh, {"order": oid, "cart": cart})
        st.cart = None
        if st.flow is not None and st.flow.is_alive:
            st.flow.interrupt()
        st.flow = None
        env.process(order(st, oid))

    def shopper(st: _State):
        rate, weights, wmax = st.sh.segment.arrival_rate, cs.hour_weights, cs.hour_max
        rng, hour = st.rng, st.sh.clock.hour
        while True:
            gap = int(rng.expovariate(rate)) + 1 if rate > 0 else end
            if env.now + gap > end:
                return
            yield env.timeout(gap)
            if rng.random() * wmax < weights[hour(env.now)] and not st.visiting:
                env.process(visit(st, "organic"))

    for sh in shoppers:
        emit("shopper.created", sh, {"segment": sh.segment.name})
        env.process(shopper(_State(sh, cs.seed)))
    t0 = time.process_time()
    env.run(until=end)
    return len(log), time.process_time() - t0


def _reminder_steps(cs):
    """The scenario's cart-reminder flow steps, with their delays in ms (none if it has no such flow)."""
    from shopsim.contract.units import parse_duration

    class Step:
        def __init__(self, after: str, channel: str):
            self.after_ms, self.channel = parse_duration(after), channel

    for flow in cs.model.flows.values():
        if flow.trigger == "cart.abandoned":
            return [Step(s.after, s.channel) for s in flow.steps]
    return []


# --- the driver -------------------------------------------------------------------------------------------

def _one(which: str, scenario: str, shoppers: int) -> None:
    cs = _compiled(scenario, shoppers)
    events, cpu = (run_engine if which == "engine" else run_simpy)(cs)
    print(json.dumps({"events": events, "cpu": cpu}))


# A user's shopsim, installed by pip, imports from bytecode caches: a machine that sets PYTHONDONTWRITEBYTECODE
# would make every timed replay compile its imports again. The caches are written once, before any timing.
_AS_INSTALLED = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _write_bytecode_caches() -> None:
    import compileall

    compileall.compile_dir(str(ROOT / "shopsim"), quiet=1)


def _replay(scenario: str, shoppers: int) -> dict:
    """`shopsim replay` of the same scenario with its log, as a user runs it: the whole process's CPU seconds
    (start-up, identity pools and log writing included) and the events it logged."""
    import re
    import resource
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        text = re.sub(r"(?m)^  size: \d+", f"  size: {shoppers}", Path(scenario).read_text(), count=1)
        path, log = Path(d) / Path(scenario).name, Path(d) / "run.jsonl"
        path.write_text(text)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([str(Path(sys.executable).with_name("shopsim")), "replay", str(path), "--quiet", "--no-db",
                        "--log", str(log)], check=True, env=_AS_INSTALLED)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        events = sum(1 for _ in open(log, "rb"))
    return {"events": events, "cpu": after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shoppers", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "default.yaml"))
    ap.add_argument("--one", choices=("engine", "simpy"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        _one(a.one, a.scenario, a.shoppers)
        return
    try:
        import simpy  # noqa: F401
    except ImportError:
        sys.exit("the SimPy reference needs simpy: pip install -e '.[bench]'")
    _write_bytecode_caches()
    got: dict[str, list[dict]] = {"engine": [], "simpy": [], "replay": []}
    for _ in range(a.runs):
        for which in ("engine", "simpy", "replay"):
            if which == "replay":
                got[which].append(_replay(a.scenario, a.shoppers))
                continue
            out = subprocess.run([sys.executable, __file__, "--one", which, "--scenario", a.scenario,
                                  "--shoppers", str(a.shoppers)], capture_output=True, text=True, check=True,
                                 env=_AS_INSTALLED)
            got[which].append(json.loads(out.stdout))
    days = _compiled(a.scenario, 1).duration / 86_400_000
    print(f"shopsim engine vs an idiomatic SimPy model: {Path(a.scenario).name}, {a.shoppers:,} shoppers x "
          f"{days:g} days, {a.runs} interleaved runs each, CPU seconds; imports from bytecode caches, as installed")
    for which, rows in got.items():
        cpu = [r["cpu"] for r in rows]
        ev = rows[0]["events"]
        what = {"engine": "engine (the run)", "simpy": "SimPy (the run)", "replay": "replay (whole process)"}[which]
        print(f"  {what:<23} {ev:>9,} events ({ev / a.shoppers / days:.2f} per shopper-day)   CPU min "
              f"{min(cpu):.2f} s, median {statistics.median(cpu):.2f} s   "
              f"{ev / statistics.median(cpu):,.0f} events/s")

    # Speed per event, paired run by run: the two models make different numbers of events.
    def ratios(which: str) -> list[float]:
        return sorted((s["cpu"] / s["events"]) / (e["cpu"] / e["events"]) for e, s in zip(got[which], got["simpy"]))

    engine, replay = ratios("engine"), ratios("replay")
    size = f"{a.shoppers:,} x {days:g} d"
    show("speed per event against SimPy (its run's CPU seconds; paired runs, min / median)", [
        Row(f"engine, storage off, {size}", "0.58x median (5k x 7 d)",
            f"{engine[0]:.2f}x / {statistics.median(engine):.2f}x", f">= {GOAL}x", statistics.median(engine) >= GOAL),
        Row(f"shopsim replay with its log, {size}", "0.4x",
            f"{replay[0]:.2f}x / {statistics.median(replay):.2f}x", f">= {REPLAY_GOAL}x",
            statistics.median(replay) >= REPLAY_GOAL),
    ])


if __name__ == "__main__":
    main()
