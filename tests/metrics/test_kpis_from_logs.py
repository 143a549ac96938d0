"""KPIs computed live during a run equal those computed from its log, read in full or with the lines no KPI
reads left unparsed; for shipped scenarios, experiment arms included."""

from __future__ import annotations

import io

import pytest

from shopsim.contract.clock import DAY
from shopsim.metrics.kpis import UNREAD, Metrics
from shopsim.simulation import Simulation
from shopsim.store.recorder import Recorder
from shopsim.store.runfile import open_run
from shopsim.validate import load_scenario

# Flows, coupons and deferrals; digests; experiment arms (one with a holdout); reroutes and complaints.
SCENARIOS = ("cart_recovery", "digests", "experiment", "heavy_promotion", "global_marketplace")


def _arms(m: Metrics) -> dict:
    out = {}
    for key, arm in sorted(m.arms.items()):
        arm.end_t = m.end_t
        out[key] = arm.result()
    return out


@pytest.fixture(scope="module", params=SCENARIOS)
def played(request, tmp_path_factory):
    """A shipped scenario played for two days with a live Metrics, and its log."""
    sim = Simulation(load_scenario(f"scenarios/{request.param}.yaml"), keep_messages=False)
    live = Metrics()
    buf = io.BytesIO()
    sim.subscribe(live)
    sim.subscribe(Recorder(sim.scenario.start_epoch, buf))
    sim.run_until(2 * DAY)
    sim.finish()
    path = tmp_path_factory.mktemp("log") / f"{request.param}.jsonl"
    path.write_bytes(buf.getvalue())
    return live, path


def test_live_kpis_equal_the_kpis_of_the_log(played) -> None:
    live, path = played
    full = Metrics.of(open_run(path).events())
    fast = Metrics.of_run(open_run(path))
    assert fast.result() == full.result() == live.result()
    assert _arms(fast) == _arms(full) == _arms(live)


def test_the_unread_lines_are_counted_not_parsed(played) -> None:
    live, path = played
    counted: dict[str, int] = {}
    events = list(open_run(path).events(unread=set(UNREAD), counted=counted))
    assert counted and not set(counted) - UNREAD
    assert {ev.type for ev in events[:-1]}.isdisjoint(UNREAD)
    assert events[-1].type == "run.finished"
    assert len(events) + sum(counted.values()) == live.events


def test_arms_empty_the_unread_types_at_the_first_assignment(played) -> None:
    live, path = played
    m = Metrics.of_run(open_run(path))
    assert (m.unread == set()) == bool(live.arms)
