"""A shopper's settings change from now on: logged as `settings.changed`, whoever asks (a user in a front
end, the scenario's script, the shopper unsubscribing or turning push off in her phone)."""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING, Any, Iterable

from shopsim.contract import events as E
from shopsim.scenario.settings import apply_patch, validate_patch

if TYPE_CHECKING:
    from shopsim.contract.events import Event
    from shopsim.sim.kernel import Kernel
    from shopsim.sim.population import Shopper


class SettingsChanges:
    def __init__(self, kernel: Kernel):
        self.kernel = kernel

    def change(self, sh: Shopper, change: dict[str, Any], source: str) -> Event:
        """Validate `change` (pydantic.ValidationError if bad) and apply it to one shopper."""
        return self.apply(sh, validate_patch(change), source)

    def apply(self, sh: Shopper, patch: dict[str, Any], source: str) -> Event:
        """Apply a validated patch to one shopper."""
        sh.settings = apply_patch(sh.settings, patch)
        return self.kernel.emit(E.SETTINGS_CHANGED, sh.id, {"settings": sh.settings, "source": source, "change": patch})

    def apply_many(self, targets: Iterable[Shopper], patch: dict[str, Any], source: str) -> list[Event]:
        """Apply a validated patch to many shoppers, in the order given, a `settings.changed` each.

        Settings dicts are immutable and shared (shoppers with the same draws hold one), so each distinct
        dict is merged once and its holders share the result: a segment of 100k costs a few dozen merges."""
        merged: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}  # id(old) -> (old kept alive, new)
        emit, out = self.kernel.emit, []
        gc_was_on = gc.isenabled()
        gc.disable()  # as in the kernel's loop: many small acyclic objects, and nothing for the collector to find
        try:
            for sh in targets:
                old = sh.settings
                pair = merged.get(id(old))
                if pair is None:
                    pair = merged[id(old)] = (old, apply_patch(old, patch))
                sh.settings = pair[1]
                out.append(emit(E.SETTINGS_CHANGED, sh.id, {"settings": sh.settings, "source": source, "change": patch}))
        finally:
            if gc_was_on:
                gc.enable()
        return out
