"""The benchmark population: benchmarks/large.yaml at a given size and length, compiled (no file written)."""

from __future__ import annotations

from pathlib import Path

LARGE = Path(__file__).resolve().parent / "large.yaml"


def large(shoppers: int, days: int):
    from shopsim.scenario.compiled import compile_scenario
    from shopsim.scenario.schema import Scenario
    from shopsim.validate import load_scenario

    data = load_scenario(LARGE).model_dump(exclude_unset=True)
    data["population"]["size"] = shoppers
    data["run"]["duration"] = f"{days}d"
    return compile_scenario(Scenario.model_validate(data))
