"""What collects a scenario's cross-field problems, each placed at the key it is about (checks.py and
checks_qa.py report through it, and so do the checks the layers above contribute: `LayerCheck`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from shopsim.scenario.problems import Path, Positions, Problem, problem_at

SHARE_TOLERANCE = 1e-6
_NAME = re.compile(r"^[a-z0-9_]+$")


class Checker:
    """Collects the problems of one scenario, each placed at the key it is about."""

    def __init__(self, positions: Positions, filename: str):
        self.positions = positions
        self.filename = filename
        self.problems: list[Problem] = []

    def report(self, path: Path, message: str) -> None:
        self.problems.append(problem_at(self.filename, self.positions, path, message))

    def shares(self, path: Path, shares: Mapping[str, float]) -> None:
        if not shares:
            self.report(path, "needs at least one entry")
            return
        total = sum(shares.values())
        if abs(total - 1) > SHARE_TOLERANCE:
            self.report(path, f"shares sum to {format(round(total, 9), '.9g')}, they must sum to 1")

    def names(self, path: Path, names: list[str], what: str) -> None:
        for name in names:
            if not _NAME.match(name):
                self.report(path + (name,), f"{what} name {name!r} may only contain a-z, 0-9 and _")


@dataclass(frozen=True)
class LayerCheck:
    """A check that needs a layer above the scenario (its templates, KPI names, invariant names), handed in by
    shopsim/validate.py so the scenario package imports nothing above itself. `run(checker, scenario)` reports
    through the checker like the scenario's own checks. `needs` names the sections it reads: it then also runs
    on a file whose other sections are malformed, given just those; None runs it on a whole valid scenario only."""

    run: Callable[[Checker, Any], None]
    needs: tuple[str, ...] | None = None
