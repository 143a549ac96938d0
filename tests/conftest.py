"""Shared helpers: build tiny scenarios, replay them into JSONL bytes, read logs back."""

from __future__ import annotations

import os
import copy
import io
from typing import Any

import orjson
import yaml

from shopsim.validate import load_scenario_text
from shopsim.scenario.schema import Scenario
from shopsim.simulation import Simulation
from shopsim.contract.events import Event
from shopsim.store.recorder import Recorder


def _merge(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in extra.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def tiny_scenario(size: int = 20, duration: str = "2d", *, seed: int = 1, name: str = "tiny",
                  as_text: bool = False, **overrides: Any) -> Scenario | str:
    """A small valid scenario; `overrides` are top-level sections deep-merged onto the defaults
    (e.g. `orders={"payment": {"failure": 0.3}}`). Returns a validated Scenario, or YAML text."""
    data = {
        "schema_version": 1,
        "run": {"name": name, "seed": seed, "duration": duration},
        "population": {
            "size": size,
            "locales": {"en_US": {"share": 0.6}, "de_DE": {"share": 0.4}},
            "segments": {"bargain": {"share": 0.3, "traits": {"views": 0.7}}, "regular": {"share": 0.7}},
        },
        "catalogue": {"products": 120, "stores": 10},
        # Pinned so tests see enough activity whatever the shipped defaults become.
        "behaviour": {"sessions": {"per_day": 1.0}, "add_to_cart": 0.15},
    }
    data = _merge(data, overrides)
    if as_text:
        return yaml.safe_dump(data, sort_keys=False)
    return Scenario.model_validate(data)


def _scenario(scenario_or_text: Scenario | str | dict) -> Scenario:
    if isinstance(scenario_or_text, Scenario):
        return scenario_or_text
    if isinstance(scenario_or_text, dict):
        return Scenario.model_validate(scenario_or_text)
    return load_scenario_text(scenario_or_text)


def replay_lines(scenario_or_text: Scenario | str | dict, seed: int | None = None) -> bytes:
    """The whole JSONL event log of one headless run, as bytes."""
    sim = Simulation(_scenario(scenario_or_text), seed)
    buf = io.BytesIO()
    sim.subscribe(Recorder(sim.scenario.start_epoch, buf))
    sim.run()
    return buf.getvalue()


def play(scenario_or_text: Scenario | str | dict, seed: int | None = None,
         keep: bool = True) -> tuple[Simulation, list[Event]]:
    """One headless run: the finished Simulation (for explain and inboxes) and every Event, in order."""
    sim = Simulation(_scenario(scenario_or_text), seed, keep_messages=keep)
    out: list[Event] = []
    sim.subscribe(out.extend)
    sim.run()
    return sim, out


def replay_events(scenario_or_text: Scenario | str | dict, seed: int | None = None) -> list[Event]:
    """Every Event of one headless run, in order."""
    return play(scenario_or_text, seed)[1]


def parse_log(log: bytes) -> list[dict]:
    return [orjson.loads(line) for line in log.splitlines()]


# CI explores the same examples every run (a red build is reproducible); locally hypothesis explores freely.
from hypothesis import settings as _hyp_settings  # noqa: E402

_hyp_settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    _hyp_settings.load_profile("ci")


def berlin_promotions(name: str, duration: str, shopper: str, channels: str, hours: range, first: int = 0,
                      extra_events: str = "") -> str:
    """YAML of three Berlin shoppers who can receive everything, with engagement off and no caps (so every
    outcome is decided by their settings alone) and a scripted promotion to `shopper` at each of `hours`,
    titled "Deal N" from N = `first`. The terminal app's tests tell their settings stories with it."""
    events = "".join(
        f"  - {{at: {h}h, shopper: {shopper}, notify: {{category: promotions, channels: [{channels}], "
        f"title: Deal {i}, text: Ten percent off.}}}}\n" for i, h in enumerate(hours, first))
    return f"""
schema_version: 1
run: {{name: {name}, seed: 7, start: "2026-03-02T00:00:00Z", duration: {duration}}}
population:
  size: 3
  locales: {{de_DE: {{share: 1.0, time_zones: {{Europe/Berlin: 1.0}}}}}}
  platforms: {{android: 1.0}}
  reach: {{email_verified: 1.0, phone: 1.0}}
  consent: {{marketing_consent: 1.0, personalization: 1.0, sms_opt_in: 1.0, push_os_permission: {{android: 1.0}}}}
behaviour: {{sessions: {{per_day: 0.3}}}}
policies: {{caps: []}}
engagement: {{enabled: false}}
events:
{extra_events}{events}"""


# Terminal-app tests: no animations. A smooth scroll or a tab underline that glides is a race between the
# animation and the assertion after `pilot.pause()`, lost on a busy machine. Every App reads this constant
# when it is made (App.__init__), so setting it here reaches every test's app, the snapshot plugin's too.
try:
    from textual import constants as _textual_constants

    _textual_constants.TEXTUAL_ANIMATIONS = "none"
except ImportError:  # pragma: no cover - textual is a dependency
    pass
