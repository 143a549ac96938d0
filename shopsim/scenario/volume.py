"""How large a run a scenario asks for: an upper estimate of its events and of the work queued when it
begins, and the limits `shopsim validate` holds them to (docs/scenario-format.md, Limits)."""

from __future__ import annotations

from shopsim.scenario.schema import Scenario
from shopsim.contract.units import parse_duration

__all__ = ["MAX_EVENTS", "MAX_QUEUED", "MAX_VIEWS", "about", "volume"]

MAX_VIEWS = 1000           # product views in one visit
MAX_EVENTS = 1_000_000_000  # events a run may be estimated to play: hours of running, a log of hundreds of GB
MAX_QUEUED = 10_000_000     # work queued when the run begins (about 2 GB of memory)
# Events a visit brings besides its product views (start, carts, checkout, an order and its journey, the
# messages about them), and each of its views (the view, an add to cart, the ads it leads to): generous
# estimates, measured on the shipped scenarios.
_PER_VISIT, _PER_VIEW, _PER_MESSAGE = 10, 2, 4


def about(n: float) -> str:
    for size, word in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million")):
        if n >= size:
            return f"about {n / size:,.1f} {word}"
    return f"about {n:,.0f}"


def volume(s: Scenario) -> tuple[float, float]:
    """(events, queued): an upper estimate of the events a run of `s` plays, and of the work queued when it
    begins. Visits, views and ad opportunities come from the rates; each message is counted with what follows
    it (delivery, open, click)."""
    from shopsim.contract.clock import DAY

    size, days = s.population.size, parse_duration(s.run.duration) / DAY
    sessions = s.behaviour.sessions
    hours = sessions.by_local_hour
    peak = max(hours) / (sum(hours) / 24)  # visits are drawn as candidates at the busiest hour's rate
    visits = views = 0.0
    for seg in s.population.segments.values():
        rate = sessions.per_day * seg.traits.activity * seg.share
        visits += rate
        views += rate * sessions.views.average(seg.traits.views)
    steps = sum(len(f.steps) for f in s.flows.values())
    account = (s.account.new_signin_per_30d + s.account.password_change_per_30d) / 30
    per_day = (visits * (peak + _PER_VISIT + steps * _PER_MESSAGE) + views * _PER_VIEW + account * _PER_MESSAGE
               + (s.ads.per_day * 2 if s.ads.enabled else 0))
    broadcasts = sum(len(camp.channels) for camp in s.campaigns.values()) + sum(
        len(ev.notify.channels) for ev in s.events if ev.shopper == "all" and ev.notify is not None)
    events = size * (1 + days * per_day + broadcasts * _PER_MESSAGE) + len(s.events)
    local = sum(1 for camp in s.campaigns.values() if camp.local_time is not None)
    queued = size * (2 + days * account + local) + len(s.events) + len(s.campaigns)
    return events, queued
