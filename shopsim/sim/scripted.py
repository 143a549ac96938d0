"""Scripted scenario events: a shopper changes a setting, visits or signs in, or the platform sends a
message, at a given time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shopsim.sim.engine import PRIO_SCRIPT

if TYPE_CHECKING:
    from shopsim.scenario.compiled import ScriptedDef
    from shopsim.sim.engine import Simulation
    from shopsim.sim.population import Shopper


class Scripted:
    def __init__(self, sim: Simulation):
        self.sim = sim
        self.k_event = sim.register(self._event)

    def start(self) -> None:
        # Scripted events run before anything else due at the same instant.
        for ev in self.sim.scenario.scripted:
            self.sim.schedule(ev.t, self.k_event, ev.shopper, ev, prio=PRIO_SCRIPT)

    def _event(self, sh: Shopper | None, ev: ScriptedDef) -> None:
        # A settings change comes first: a message scripted at the same instant already sees it.
        if sh is not None and ev.settings is not None:
            self.sim.apply_settings_change(sh.id, ev.settings, source="scenario")
        if ev.notify is not None:
            m = ev.notify
            # Without a text, the title is the message: templates always have something to say.
            data = {"offer": {"title": m.title, "text": m.text or m.title, "code": m.code, "ends_local": None}}
            source = f"scenario:events[{ev.index}]"
            for target in self.sim.shoppers if sh is None else (sh,):
                self.sim.notify.request(target, m.category, m.channels, "message", source, None, data, key=source)
        if sh is None:
            return
        if ev.signin:
            self.sim.account.trigger(sh, "signin")
        if ev.password_change:
            self.sim.account.trigger(sh, "password")
        if ev.session:
            self.sim.commerce.start_visit(sh, "scenario")
