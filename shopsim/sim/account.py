"""Account events (new-device sign-ins, password changes): rare, so drawn for the whole run at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shopsim.contract import events as E
from shopsim.contract.rng import stream

if TYPE_CHECKING:
    from shopsim.scenario.compiled import CompiledScenario
    from shopsim.sim.kernel import Kernel
    from shopsim.sim.population import Shopper

DEVICES = ("Chrome on Windows", "Safari on iPhone", "Chrome on Android", "Firefox on Linux",
           "Edge on Windows", "Safari on macOS", "AliExpress app on Android", "AliExpress app on iOS")


class Account:
    def __init__(self, kernel: Kernel, cs: CompiledScenario):
        self.kernel = kernel
        self.cs = cs
        self.k_event = kernel.register(self._event)

    def start(self, sh: Shopper) -> None:
        cs = self.cs
        if cs.signin_rate <= 0 and cs.password_rate <= 0:
            return
        rng = stream(cs.seed, sh.id, "account")
        for what, rate in (("signin", cs.signin_rate), ("password", cs.password_rate)):
            if rate <= 0:
                continue
            t = 0
            while True:
                gap = rng.expovariate(rate)  # may be inf for a vanishing rate: compare before int()
                if t + gap > self.kernel.end:
                    break
                t += int(gap) + 1
                detail = rng.choice(DEVICES) if what == "signin" else rng.choice(("user", "reset_link"))
                self.kernel.schedule(t, self.k_event, sh.index, (what, detail))

    def _event(self, sh: Shopper, payload: tuple[str, str]) -> None:
        what, detail = payload
        if what == "signin":
            self.kernel.emit(E.ACCOUNT_NEW_SIGNIN, sh.id, {"device": detail, "city": sh.city, "country": sh.country})
        else:
            self.kernel.emit(E.ACCOUNT_PASSWORD_CHANGED, sh.id, {"method": detail})

    def trigger(self, sh: Shopper, what: str) -> None:
        self._event(sh, (what, DEVICES[0] if what == "signin" else "user"))
