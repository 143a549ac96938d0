"""Headless runs of a scenario: its JSONL log as bytes, its events, and the log read back."""

from __future__ import annotations

import io

import orjson

from shopsim.contract.events import Event
from shopsim.scenario.schema import Scenario
from shopsim.simulation import Simulation
from shopsim.store.recorder import Recorder
from shopsim.validate import load_scenario_text


def as_scenario(scenario_or_text: Scenario | str | dict) -> Scenario:
    if isinstance(scenario_or_text, Scenario):
        return scenario_or_text
    if isinstance(scenario_or_text, dict):
        return Scenario.model_validate(scenario_or_text)
    return load_scenario_text(scenario_or_text)


def replay_lines(scenario_or_text: Scenario | str | dict, seed: int | None = None) -> bytes:
    """The whole JSONL event log of one headless run, as bytes."""
    sim = Simulation(as_scenario(scenario_or_text), seed)
    buf = io.BytesIO()
    sim.subscribe(Recorder(sim.scenario.start_epoch, buf))
    sim.run()
    return buf.getvalue()


def play(scenario_or_text: Scenario | str | dict, seed: int | None = None,
         keep: bool = True) -> tuple[Simulation, list[Event]]:
    """One headless run: the finished Simulation (for explain and inboxes) and every Event, in order."""
    sim = Simulation(as_scenario(scenario_or_text), seed, keep_messages=keep)
    out: list[Event] = []
    sim.subscribe(out.extend)
    sim.run()
    return sim, out


def replay_events(scenario_or_text: Scenario | str | dict, seed: int | None = None) -> list[Event]:
    """Every Event of one headless run, in order."""
    return play(scenario_or_text, seed)[1]


def parse_log(log: bytes) -> list[dict]:
    return [orjson.loads(line) for line in log.splitlines()]


def play_with_changes(data: dict, plan) -> tuple[Simulation, list, int | None]:
    """Run with the settings changes (and a read of each changed shopper's oldest unread message) applied
    at their instants; returns the run, its events and the seq of the first event a change caused."""
    sim = Simulation(Scenario.model_validate(data))
    events: list = []
    sim.subscribe(events.extend)
    first = None
    for frac, who, patch in sorted(plan, key=lambda c: c[0]):
        sim.run_until(int(frac * sim.end))
        first = first or sim.emitted + 1
        sh = sim.shopper(who % len(sim.shoppers))
        unread = [m for m in sim.inbox(sh.id) if not m.read]
        if unread:
            sim.mark_read(unread[0].id)
        sim.apply_settings_change(sh.id, patch)
    sim.run()
    return sim, events, first
