"""Scripted scenario events: a shopper changes a setting, visits or signs in, or the platform sends a
message, at a given time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from shopsim.sim.kernel import PRIO_SCRIPT

if TYPE_CHECKING:
    from shopsim.scenario.compiled import CompiledScenario, ScriptedDef
    from shopsim.sim.account import Account
    from shopsim.sim.commerce import Commerce
    from shopsim.sim.kernel import Kernel
    from shopsim.sim.population import Shopper
    from shopsim.sim.settings_change import SettingsChanges


class Requests(Protocol):
    """What a scripted message asks of the notification layer (notify/notifier.py)."""

    def request(self, sh: Shopper, category: str, channels: list[str], kind: str, source: str, ref: str | None,
                data: dict[str, Any], key: str | None = None) -> Any: ...


class Scripted:
    def __init__(self, kernel: Kernel, cs: CompiledScenario, account: Account, commerce: Commerce,
                 settings: SettingsChanges):
        self.kernel = kernel
        self.cs = cs
        self.account, self.commerce, self.settings = account, commerce, settings
        self.notify: Requests | None = None  # built after: the notification layer
        self.k_event = kernel.register(self._event)

    def start(self) -> None:
        # Scripted events run before anything else due at the same instant.
        shoppers = self.kernel.shoppers
        for ev in self.cs.scripted:
            if ev.shopper >= 0 and shoppers[ev.shopper] is None:
                continue  # another part of a split run plays this shopper
            self.kernel.schedule(ev.t, self.k_event, ev.shopper, ev, prio=PRIO_SCRIPT)

    def _event(self, sh: Shopper | None, ev: ScriptedDef) -> None:
        # A settings change comes first: a message scripted at the same instant already sees it.
        if sh is not None and ev.settings is not None:
            self.settings.change(sh, ev.settings, "scenario")
        if ev.notify is not None:
            m = ev.notify
            # Without a text, the title is the message: templates always have something to say.
            data = {"offer": {"title": m.title, "text": m.text or m.title, "code": m.code, "ends_local": None}}
            source = f"scenario:events[{ev.index}]"
            for target in self.kernel.members if sh is None else (sh,):
                self.notify.request(target, m.category, m.channels, "message", source, None, data, key=source)
        if sh is None:
            return
        if ev.signin:
            self.account.trigger(sh, "signin")
        if ev.password_change:
            self.account.trigger(sh, "password")
        if ev.session:
            self.commerce.start_visit(sh, "scenario")
