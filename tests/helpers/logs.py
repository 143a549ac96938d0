"""Event logs written by hand, line by line, for the KPIs: every expected value a test states is counted
from the lines it added."""

from __future__ import annotations

from typing import Any

from shopsim.contract.clock import HOUR
from shopsim.contract.events import Event
from shopsim.metrics.kpis import Metrics

H = HOUR


class Log:
    """A hand-built event log: `add(t, type, shopper, **fields)`; `run.started` is line 1."""

    def __init__(self, shoppers: int = 0) -> None:
        self.lines: list[tuple[int, str, str | None, dict[str, Any]]] = []
        self.add(0, "run.started", None, scenario="hand", description="", seed=1, version="0",
                 shoppers=shoppers, start="2026-03-02T00:00:00.000Z", duration="3d", schema_version=1)

    def add(self, t: int, typ: str, shopper: str | None = None, **data: Any) -> "Log":
        self.lines.append((t, typ, shopper, data))
        return self

    def events(self) -> list[Event]:
        return [Event(i + 1, t, typ, sid, data) for i, (t, typ, sid, data) in enumerate(self.lines)]

    def result(self) -> dict[str, Any]:
        return Metrics.of(self.events()).result()

    # shorthands for the lines every test needs
    def note(self, t: int, sid: str, nid: str, channel: str, category: str, **extra: Any) -> "Log":
        """A message requested and delivered at `t`."""
        self.add(t, "notification.requested", sid, id=nid, channel=channel, category=category)
        return self.add(t, "notification.delivered", sid, id=nid, channel=channel, category=category,
                        rerouted_from=extra.pop("rerouted_from", None), **extra)

    def nev(self, t: int, typ: str, sid: str, nid: str, channel: str, category: str, **extra: Any) -> "Log":
        return self.add(t, f"notification.{typ}", sid, id=nid, channel=channel, category=category, **extra)

    def order(self, t: int, sid: str, cart: str, by: str | None = None, **extra: Any) -> "Log":
        fields = {"order": cart.replace("-c", "-o"), "cart": cart, "discount": 0.0, "coupon": None,
                  "attributed_to": by, "currency": "USD"} | extra
        return self.add(t, "order.placed", sid, **fields)


def started(g: Log, name: str, arms: dict[str, bool], control: str, metric: str = "recovery") -> None:
    g.add(0, "experiment.started", None, experiment=name, description="", metric=metric, control=control,
          variants=[{"name": a, "weight": 1, "holdout": hold, "flows": [], "campaigns": [], "ads": None}
                    for a, hold in arms.items()])
