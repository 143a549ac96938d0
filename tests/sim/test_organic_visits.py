"""What the README promises about organic visits under a policy change, exactly.

Each shopper's organic visits fall due at instants drawn from her own stream (sim/commerce.py), whatever
the policies: a reminder flow, its clicks and the visits they bring do not move them. A visit that falls
due while she is already visiting or paying is skipped, so the organic visits that happen are a subset of
those due, and which are skipped may differ between policies.
"""

from __future__ import annotations

import pytest

from helpers.paths import ROOT
from helpers.scenarios import EMAIL_REACHABLE, tiny_scenario
from shopsim.contract import events as E
from shopsim.sim.commerce import Commerce
from shopsim.simulation import Simulation

_ARRIVAL = Commerce._arrival
FLOW = {"nudge": {"trigger": "cart.abandoned", "category": "cart_reminders",
                  "steps": [{"after": "10m", "channel": "email"}, {"after": "2h", "channel": "email"}]}}


def _play(monkeypatch, flows: dict) -> tuple[list[tuple[str, int]], list[tuple[str, int]], int]:
    """(every organic visit that fell due, every organic visit that started, as (shopper, ms); visits
    brought by clicks)."""
    due: list[tuple[str, int]] = []

    def arrival(self, sh, k):
        due.append((sh.id, self.kernel.now))
        _ARRIVAL(self, sh, k)

    monkeypatch.setattr(Commerce, "_arrival", arrival)
    sc = tiny_scenario(size=120, duration="4d", seed=7, flows=flows,
                       population=EMAIL_REACHABLE,
                       behaviour={"sessions": {"per_day": 3.0}, "add_to_cart": 0.4},
                       engagement={"open": {"email": 1.0}, "click": {"email": 0.9}}, policies={"caps": []})
    sim = Simulation(sc)
    events: list = []
    sim.subscribe(events.extend)
    sim.run()
    started = [(e.shopper, e.t) for e in events if e.type == E.SESSION_STARTED and e.data["source"] == "organic"]
    clicks = sum(1 for e in events if e.type == E.SESSION_STARTED and e.data["source"].startswith("click:"))
    return due, started, clicks


def test_a_policy_never_moves_an_organic_visit_and_only_an_overlap_skips_one(monkeypatch):
    due_plain, started_plain, clicks_plain = _play(monkeypatch, {})
    due_flow, started_flow, clicks_flow = _play(monkeypatch, FLOW)
    assert clicks_flow > clicks_plain + 50                 # the flow brings many visits of its own
    assert due_flow == due_plain                            # ... and the organic ones fall due at the same instants
    for due, started in ((due_plain, started_plain), (due_flow, started_flow)):
        assert set(started) <= set(due) and len(started) < len(due)  # some fell inside a visit or a checkout
    assert set(started_plain) != set(started_flow)          # which ones: that is what a policy can change


def test_the_readme_promises_exactly_that():
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert "leaves unchanged the instants at which each shopper's organic visits fall due" in readme
    assert "A visit that falls due while she is already visiting or paying is skipped" in readme
