"""One run of a sweep: a point's overrides and a seed, played as `shopsim replay --set ... --seed S` plays it.

The run keeps no storage and reads its KPIs live (as `calibrate` does); every KPI of the catalogue is kept,
for the whole population and for each experiment arm, so a cached run answers any `--metric` later. What
leaves a worker is a small dict of numbers, the same whether it was played here, in a pool or on a cluster."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from importlib import resources
from typing import Any, Sequence

from shopsim import __version__
from shopsim.metrics.catalog import METRICS, lookup
from shopsim.metrics.kpis import Metrics
from shopsim.metrics.variants import EXPERIMENT_METRICS
from shopsim.report.experiments import arm_value
from shopsim.scenario.compiled import compile_scenario
from shopsim.scenario.overrides import Override, read_text_with
from shopsim.simulation import Simulation

Record = dict[str, Any]  # {"kpis": {name: value}, "arms": {"experiment/arm": {name: value}}, "events": n}
# Packages whose code cannot change what a run measures: a change to them keeps the cache.
_PRESENTATION = ("cli", "tui", "report", "sweep")


def play(text: str, filename: str, settings: Sequence[Override], seed: int) -> Record:
    """Play the scenario `text` with `settings` and `seed`. The caller has already judged these very bytes
    and overrides with every check (shopsim.validate); the scenario's own are enough to read them again."""
    model = read_text_with(text, filename, settings, checks=())
    sim = Simulation(compile_scenario(model, seed), keep_messages=False)
    metrics = Metrics()
    sim.subscribe(metrics, texts=False)  # KPIs never read a message's text: a sweep renders none
    sim.run()
    sim.finish()
    return measure(metrics, sim.emitted)


def measure(metrics: Metrics, events: int) -> Record:
    result = metrics.result()
    arms: dict[str, dict[str, Any]] = {}
    for name, exp in (result.get("experiments") or {}).items():
        for variant, row in (exp.get("variants") or {}).items():
            arm = metrics.arms.get((name, variant))
            values: dict[str, Any] = {}
            if arm is not None:
                arm.end_t = metrics.end_t
                values = _catalogue(arm.result())
            for key in EXPERIMENT_METRICS:  # shopper-level, as the experiment's own comparison counts them
                values[key] = arm_value(row, key) if isinstance(row, dict) else None
            arms[f"{name}/{variant}"] = values
    return {"kpis": _catalogue(result), "arms": arms, "events": events}


def _catalogue(result: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, d in METRICS.items():
        if d.section == "experiment":
            continue  # a comparison inside one run; a sweep compares across seeds itself
        try:
            value = lookup(result, name)
        except (KeyError, TypeError, IndexError):
            value = None
        out[name] = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    return out


@lru_cache(maxsize=1)
def fingerprint() -> str:
    """A digest of the code that makes a run's numbers (every module and template of shopsim except the
    front ends and the report's words), so a cached run is never reused by a shopsim that would play it
    differently, even at the same version number."""
    h = hashlib.blake2b(__version__.encode(), digest_size=16)
    root = resources.files("shopsim")
    stack = [root]
    files = []
    while stack:
        node = stack.pop()
        for child in node.iterdir():
            if child.is_dir():
                if child.name not in _PRESENTATION and child.name != "__pycache__":
                    stack.append(child)
            elif child.name.endswith((".py", ".yaml")):
                files.append(child)
    for f in sorted(files, key=lambda c: str(c)):
        h.update(str(f).removeprefix(str(root)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


@lru_cache(maxsize=4)
def _digest(scenario_bytes: bytes) -> str:
    """The scenario's digest, worked out once per sweep rather than once per (point, seed)."""
    return hashlib.blake2b(scenario_bytes, digest_size=16).hexdigest()


def run_key(scenario_bytes: bytes, settings: Sequence[Override], seed: int) -> str:
    """The cache key of one run: the engine's code, the scenario's bytes, the overrides' values and the seed."""
    doc = [fingerprint(), _digest(scenario_bytes),
           sorted([o.where, json.dumps(o.value, sort_keys=True, ensure_ascii=False)] for o in settings), seed]
    return hashlib.blake2b(json.dumps(doc).encode(), digest_size=20).hexdigest()
