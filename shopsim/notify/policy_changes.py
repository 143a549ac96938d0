"""Policies that change mid-run (`policies.changes`): at each change's instant the notifier's caps and send
windows become the change's, and `policy.changed` records what holds from then on.

A change is a run-wide queue item with the scripted events' priority, scheduled when the run is built, so it
applies before anything else due at its instant: a message requested at that very millisecond already meets
the new rules. Every part of a split run plays it, so each part's notifier changes at the same point.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shopsim.contract import events as E
from shopsim.contract.units import format_duration
from shopsim.sim.kernel import PRIO_SCRIPT

if TYPE_CHECKING:
    from shopsim.scenario.compiled import CompiledScenario, PolicyPhase
    from shopsim.sim.kernel import Kernel


class PolicyChanges:
    """`notifier` is the notify.notifier.Notifier that builds this (named, not imported: it imports this
    module): its `caps` (a CapTracker) and `send_windows` are what a change replaces."""

    def __init__(self, kernel: Kernel, cs: CompiledScenario, notifier: Any):
        self.kernel, self.notifier = kernel, notifier
        # Deliveries are kept for the rules of every phase: a cap that arrives later looks back over its whole
        # window, as a rolling cap does, not only over what was sent after it came in.
        every = [r for rules in (cs.caps, *(p.caps for p in cs.policy_changes)) for r in rules]
        notifier.caps.tracked = list(dict.fromkeys(every))
        kind = kernel.register(self._apply)
        for phase in cs.policy_changes:
            kernel.schedule(phase.t, kind, -1, phase, prio=PRIO_SCRIPT)

    def _apply(self, _: Any, phase: PolicyPhase) -> None:
        n = self.notifier
        n.caps.rules = list(phase.caps)
        n.caps.policy = phase.name
        n.send_windows = phase.send_windows
        self.kernel.emit(E.POLICY_CHANGED, None, changed_data(phase))


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def changed_data(phase: PolicyPhase) -> dict[str, Any]:
    """`policy.changed`'s fields: the whole policy in force from now on, not only what the change wrote."""
    return {
        "policy": phase.name, "from": phase.at, "preset": phase.preset, "changed": list(phase.changed),
        "caps": [{"name": r.name, "channel": r.channel, "max": r.max, "per": format_duration(r.per_ms),
                  "category": r.category} for r in phase.caps],
        "send_windows": [{"name": rule, "channel": ch, "start": _clock(start), "end": _clock(end),
                          "classes": sorted(classes)} for ch, start, end, classes, rule in phase.send_windows],
    }
