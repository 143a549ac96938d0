"""Experiments: which arm each shopper is in, and so which of the governed flows, campaigns and ads she gets.

Assignment hashes (experiment name, shopper id) and never touches a random stream: a shopper's own
behaviour draws are the same whichever arm she is in, so arms differ only in policy (and in what the
messages themselves make the shopper do)."""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from typing import TYPE_CHECKING

from shopsim.contract import events as E

if TYPE_CHECKING:
    from shopsim.scenario.qa import Experiment
    from shopsim.scenario.compiled import CompiledScenario
    from shopsim.sim.kernel import Kernel
    from shopsim.sim.population import Shopper


def bucket(experiment: str, shopper: str) -> float:
    """A uniform number in [0, 1) fixed by the pair: the same on every machine, seed and population."""
    digest = hashlib.blake2b(f"{experiment}\x00{shopper}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2 ** 64


def assign(experiment: str, ex: "Experiment", shopper: str) -> str:
    names = list(ex.variants)
    total = sum(v.weight for v in ex.variants.values())
    edges, acc = [], 0.0
    for v in ex.variants.values():
        acc += v.weight / total
        edges.append(acc)
    return names[min(bisect_right(edges, bucket(experiment, shopper)), len(names) - 1)]


def control_of(ex: "Experiment") -> str:
    return ex.control_arm


class Experiments:
    def __init__(self, kernel: Kernel, cs: CompiledScenario, shoppers: list[Shopper]):
        self.kernel = kernel
        self.shoppers = shoppers
        self.defs = dict(cs.model.experiments)
        # (kind, name) -> (experiment, {variant: allowed}) for every flow, campaign and "ads" under test.
        self.governed: dict[tuple[str, str], tuple[str, dict[str, bool]]] = {}
        for ename, ex in self.defs.items():
            scope = {("flows", n) for v in ex.variants.values() for n in v.flows}
            scope |= {("campaigns", n) for v in ex.variants.values() for n in v.campaigns}
            if any(v.ads is not None for v in ex.variants.values()):
                scope.add(("ads", ""))
            for kind, name in scope:
                allowed = {vn: (not v.holdout and (v.ads is not False if kind == "ads" else name in getattr(v, kind)))
                           for vn, v in ex.variants.items()}
                self.governed[(kind, name)] = (ename, allowed)
        # shopper index -> {experiment: variant}, for the shoppers this run plays
        self.arm: dict[int, dict[str, str]] = {
            sh.index: {ename: assign(ename, ex, sh.id) for ename, ex in self.defs.items()} for sh in shoppers
        } if self.defs else {}

    def allows(self, sh: "Shopper", kind: str, name: str = "") -> bool:
        """Whether shopper `sh` gets flow/campaign `name` (kind 'flows', 'campaigns') or ads (kind 'ads')."""
        g = self.governed.get((kind, name))
        if g is None:
            return True
        ename, allowed = g
        return allowed[self.arm[sh.index][ename]]

    def start(self) -> None:
        """At time 0, after the shoppers: each experiment, then every shopper's arm, in id order."""
        for ename, ex in self.defs.items():
            self.kernel.emit(E.EXPERIMENT_STARTED, None, {
                "experiment": ename, "description": ex.description, "metric": ex.metric,
                "control": control_of(ex),
                "variants": [{"name": vn, "weight": v.weight, "holdout": v.holdout, "flows": list(v.flows),
                              "campaigns": list(v.campaigns), "ads": v.ads} for vn, v in ex.variants.items()],
                # only when named, so that the logs of experiments without named pairs keep their bytes
                **({"compare": [{"variant": c.variant, "against": c.against} for c in ex.compare]}
                   if ex.compare else {}),
            })
        k = self.kernel
        for sh in self.shoppers:
            for ename in self.defs:
                k.emit(E.EXPERIMENT_ASSIGNED, sh.id, {"experiment": ename, "variant": self.arm[sh.index][ename]})
            k.flush_if_full()
