"""The door-to-door times docs/sources.md and the scenarios' comments quote are what the order plan draws.

An order's journey (payment, processing, handling, pick-up, transit, last mile) is planned when it is
placed, from the order's own random stream (sim/orders.py `Orders._plan`). Planning many orders directly,
without playing a run, gives the median time from `order.placed` to `order.delivered` per carrier; the
docs quote it rounded to half a day. The numbers are deterministic (the streams are seeded by order id).
"""

from __future__ import annotations

import functools
import re
import statistics
from types import SimpleNamespace

import pytest

from shopsim.scenario.compiled import compile_scenario
from shopsim.validate import load_scenario, load_scenario_text
from shopsim.contract import events as E
from shopsim.sim.orders import Orders

from helpers.paths import ROOT

DAY = 86_400_000
SOURCES = (ROOT / "docs" / "sources.md").read_text(encoding="utf-8")
# The schema's own carriers: a scenario with no `orders:` section.
BARE = """schema_version: 1
run: {name: bare, seed: 1, duration: 1d}
population: {size: 5, locales: {en_US: {share: 1.0}}}
catalogue: {products: 10, stores: 2}
"""


def door_to_door(model, orders: int = 10_000) -> dict[str, float]:
    """Carrier name -> median days from order.placed to order.delivered, over `orders` planned orders per
    carrier (each carrier alone in turn, so a rare one is measured as closely as a common one; the same
    order ids, hence the same draws, every time)."""
    cs = compile_scenario(model)
    out: dict[str, float] = {}
    for carrier in cs.carriers:
        desk = SimpleNamespace(cs=SimpleNamespace(**{**vars(cs), "carriers": [carrier], "carrier_cum": [1.0]}))
        days = []
        for i in range(orders):
            plan = {typ: (t, data) for t, typ, data in Orders._plan(desk, f"plan-{i}", 0, 1000)}
            if E.ORDER_DELIVERED in plan:  # not an order cancelled for want of payment
                days.append(plan[E.ORDER_DELIVERED][0] / DAY)
        out[carrier.name] = statistics.median(days)
    return out


@functools.cache
def shipped(name: str) -> dict[str, float]:
    return door_to_door(load_scenario(ROOT / "scenarios" / f"{name}.yaml"))


def close(quoted: float, median: float) -> bool:
    """A quote to about half a day ('~10.5d'): within 0.3 days of the median (either neighbour of a median
    that falls between two half days)."""
    return abs(quoted - median) <= 0.3


def sources_row(name: str) -> list[float]:
    """The door-to-door cell of docs/sources.md's shipping table for the row starting `name`, in days."""
    row = next(line for line in SOURCES.splitlines() if line.startswith(f"| {name} |"))
    return [float(c.strip().removeprefix("~").removesuffix("d")) for c in row.strip("|").split("|")[-1].split("/")]


@pytest.mark.parametrize(("row", "medians", "carriers"), [
    ("schema default", lambda: door_to_door(load_scenario_text(BARE)),
     ["Cainiao Super Economy", "AliExpress Standard Shipping", "DHL Express"]),
    ("default, checkout_fixed", lambda: shipped("default"),
     ["AliExpress Choice Delivery", "AliExpress Standard Shipping", "Cainiao Super Economy", "DHL Express"]),
    ("global_marketplace", lambda: shipped("global_marketplace"),
     ["AliExpress Choice Delivery", "AliExpress Standard Shipping", "Cainiao Super Economy Global",
      "China Post Registered Air Mail", "DHL Express"]),
])
def test_sources_quotes_the_median_door_to_door_time_of_each_carrier(row, medians, carriers):
    medians = medians()
    assert sorted(medians) == sorted(carriers)
    quoted = sources_row(row)
    assert len(quoted) == len(carriers) and all(close(q, medians[c]) for q, c in zip(quoted, carriers)), medians


@pytest.mark.parametrize(("scenario", "names"), [
    ("default", ("Choice", "Standard", "Super Economy", "DHL")),
    ("checkout_fixed", ("Choice", "Standard", "Super Economy", "DHL")),
    ("global_marketplace", ("Choice", "Standard", "Super Economy", "China Post", "DHL")),
])
def test_the_scenario_comment_quotes_the_same_medians(scenario, names):
    """'door to door: Choice ~6 days, Standard ~10.5, ...' in the YAML comment above the carriers."""
    text = (ROOT / "scenarios" / f"{scenario}.yaml").read_text(encoding="utf-8")
    comment = " ".join(line.split("#", 1)[1] for line in text.splitlines() if "#" in line)
    medians = shipped(scenario)
    by_short = {short: next(v for k, v in medians.items() if short in k and not (short == "Standard" and "Choice" in k))
                for short in names}
    for short in names:
        m = re.search(rf"{short} ~(\d+(?:\.5)?)", comment)
        assert m, f"{scenario}.yaml no longer quotes {short}'s door-to-door median"
        assert close(float(m.group(1)), by_short[short]), (short, by_short[short])
