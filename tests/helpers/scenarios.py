"""Scenarios tests build: a tiny valid one with sections deep-merged onto it, one reachable shopper in Berlin,
the Berlin promotions the terminal app's settings stories use, and named sections (presets) several tests
share. Presets are read-only: spread them into a new dict (`{**IDLE_SHOP, ...}`), never change them."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from shopsim.scenario.schema import Scenario

# Reachable on every channel and consenting to everything, on iOS (push needs the app).
REACHABLE = {"platforms": {"ios": 1.0}, "reach": {"email_verified": 1.0, "phone": 1.0},
             "consent": {"marketing_consent": 1.0, "personalization": 1.0, "sms_opt_in": 1.0,
                         "push_os_permission": {"ios": 1.0}}}
# Reachable by marketing email only: a verified address and marketing consent.
EMAIL_REACHABLE = {"reach": {"email_verified": 1.0}, "consent": {"marketing_consent": 1.0}}
# Five cheap products, next to no browsing and no account events: the only notifications are scripted ones.
IDLE_SHOP = {
    "catalogue": {"products": 5, "stores": 2, "price": 9.99},
    "behaviour": {"sessions": {"per_day": 1e-6}},
    "account": {"new_signin_per_30d": 0.0, "password_change_per_30d": 0.0},
}
# IDLE_SHOP with fixed-value distributions (compiling a tabulated one costs milliseconds) and one carrier.
QUIET_SHOP = {
    "catalogue": {"products": 5, "stores": 2, "price": 9.99},
    "behaviour": {"sessions": {"per_day": 1e-6, "views": 1, "view_time": "40s"}, "checkout_time": "4m"},
    "orders": {"payment": {"delay": "20s", "retry_after": "25m"}, "processing": "6h", "handling": "2d",
               "carriers": {"only": {"share": 1.0, "name": "Only Post", "tracking_prefix": "OP",
                                     "in_transit_after": "14h", "transit": "2d", "last_mile": "5h"}},
               "disputes": {"after": "3d", "refund_after": "2d"}},
    "account": {"new_signin_per_30d": 0.0, "password_change_per_30d": 0.0},
}


def _merge(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in extra.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def tiny_scenario_data(size: int = 20, duration: str = "2d", *, seed: int = 1, name: str = "tiny",
                       **overrides: Any) -> dict:
    """The data of a small valid scenario, before validation; `overrides` are top-level sections deep-merged
    onto the defaults (e.g. `orders={"payment": {"failure": 0.3}}`)."""
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
    return _merge(data, overrides)


def tiny_scenario(size: int = 20, duration: str = "2d", *, seed: int = 1, name: str = "tiny",
                  as_text: bool = False, **overrides: Any) -> Scenario | str:
    """`tiny_scenario_data` validated as a Scenario, or as YAML text."""
    data = tiny_scenario_data(size, duration, seed=seed, name=name, **overrides)
    if as_text:
        return yaml.safe_dump(data, sort_keys=False)
    return Scenario.model_validate(data)


def berlin_shopper(events: list[dict], *, name: str = "plant", duration: str = "1d", settings: dict | None = None,
                   **sections: Any) -> dict:
    """One reachable, consenting shopper in Berlin in an idle shop, from 2026-03-02: she never visits on her
    own, so `events` (scripted) are all that happens; `sections` replace top-level sections whole."""
    data = {
        "schema_version": 1,
        "run": {"name": name, "seed": 2, "start": "2026-03-02T00:00:00Z", "duration": duration},
        "population": {"size": 1, "locales": {"de_DE": {"share": 1.0, "time_zones": {"Europe/Berlin": 1.0}}},
                       "settings": settings or {}, **REACHABLE},
        **IDLE_SHOP,
        "events": events,
    }
    data.update(sections)
    return copy.deepcopy(data)


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


# A designer's story: three Berlin shoppers who can receive everything, and a promotion by push to s000001
# every four hours from 02:00 UTC. Nobody opens, clicks or unsubscribes by chance (engagement off) and nothing
# is capped, so every outcome is decided by her settings alone.
PROMO_STORY = berlin_promotions("promo_story", "1d", "s000001", "push", range(2, 24, 4), first=1)


def promo_story(folder) -> Path:
    """PROMO_STORY written as promo_story.yaml in `folder`; its path."""
    path = Path(folder) / "promo_story.yaml"
    path.write_text(PROMO_STORY)
    return path
