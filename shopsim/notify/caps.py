"""Frequency caps: at most `max` marketing messages per channel (optionally per category) in any rolling
window. Several rules may apply at once (e.g. 1 push per 4h and 3 per day): every one must hold, and a
suppression names the first full one in the scenario's order."""

from __future__ import annotations

from bisect import bisect_right

from shopsim.notify.policy import SUPPRESSED, Verdict, shared
from shopsim.scenario.compiled import CapRule


class CapTracker:
    """Delivery times per shopper and (channel, category-or-None); a check looks back one window per rule."""

    def __init__(self, rules: list[CapRule]):
        self.rules = rules
        # The rules deliveries are kept for: those of every policy of the run (notify/policy_changes.py), so a
        # cap added mid-run counts what went out in its window before it.
        self.tracked = rules
        self.policy: str | None = None  # the policy change in force (changes[i]); None: the scenario's own caps
        self._sent: dict[tuple[int, str, str | None], list[int]] = {}

    def check(self, shopper: int, channel: str, category: str, t: int) -> Verdict:
        for rule in self.rules:
            if not rule.applies(channel, category):
                continue
            times = self._sent.get((shopper, *rule.key(channel, category)), ())
            # Deliveries in (t - per, t]: a message at exactly t - per has left the window.
            recent = len(times) - bisect_right(times, t - rule.per_ms)
            if recent >= rule.max:
                params = {"max": rule.max, "per_ms": rule.per_ms, "recent": recent, "category": rule.category}
                if self.policy is not None:
                    params["policy"] = self.policy
                return Verdict("caps", SUPPRESSED, "frequency_cap", rule.name or f"caps.{channel}", params)
        return shared("caps") if self.policy is None else shared("caps", policy=self.policy)

    def record(self, shopper: int, channel: str, category: str, t: int) -> None:
        """Count a delivery (times arrive in order: the engine's clock never goes back)."""
        horizon: dict[tuple, int] = {}
        for rule in self.tracked:
            if rule.applies(channel, category):
                key = (shopper, *rule.key(channel, category))
                horizon[key] = max(horizon.get(key, 0), rule.per_ms)
        for key, per in horizon.items():
            times = self._sent.setdefault(key, [])
            times.append(t)
            # Forget deliveries no window can see any more: a long run keeps only what the caps look at.
            old = bisect_right(times, t - per)
            if old:
                del times[:old]
