"""Flows: message sequences a shopper's action starts (an abandoned cart, a browse without a cart).

A run of a flow is scheduled step by step from its trigger. Every step is requested when its time comes,
even after the run has exited (the order was placed, the cart emptied, the shopper unsubscribed, the flow
started again): the pipeline's flow-state step then suppresses it with reason `flow_exited`, so the log
shows each void reminder and why. A step whose `when` condition does not hold is suppressed with reason
`flow_condition`. A step's coupon is issued only when its message is delivered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from shopsim.contract.ids import index_of
from shopsim.notify.windows import next_outside
from shopsim.contract.units import parse_clock, parse_duration
from shopsim.contract import events as E

if TYPE_CHECKING:
    from shopsim.scenario.marketing import Flow, FlowStep
    from shopsim.marketing.coupons import Coupons
    from shopsim.marketing.experiments import Experiments
    from shopsim.notify.notifier import Notifier
    from shopsim.scenario.compiled import CompiledScenario
    from shopsim.sim.commerce import Commerce
    from shopsim.sim.kernel import Kernel
    from shopsim.contract.events import Event
    from shopsim.sim.population import Shopper


BROWSE_MIN_VIEWS = 3  # what counts as browsing for ads when no flow sets its own min_views


class FlowRun:
    """One flow started for one shopper about one thing (a cart, a visit)."""

    __slots__ = ("name", "ref", "n", "exited", "last", "opened", "clicked", "value", "cart", "products")

    def __init__(self, name: str, ref: str, n: int, value: float, cart: dict | None, products: list | None):
        self.name, self.ref, self.n, self.value, self.cart, self.products = name, ref, n, value, cart, products
        self.exited: str | None = None
        self.last: tuple[str, ...] = ()   # ids of the previous step's notifications
        self.opened = self.clicked = False


class Flows:
    def __init__(self, kernel: Kernel, cs: CompiledScenario, commerce: Commerce, coupons: Coupons,
                 experiments: Experiments, notify: Notifier):
        self.kernel = kernel
        self.cs = cs
        self.commerce, self.coupons, self.experiments, self.notify = commerce, coupons, experiments, notify
        self.defs: dict[str, Flow] = dict(cs.model.flows)
        self.after = {n: [parse_duration(s.after) for s in f.steps] for n, f in self.defs.items()}
        self.k_step = kernel.register(self._step)
        self.owner: dict[str, FlowRun] = {}  # notification id -> the run whose step it is (until engaged)
        self.surveys: dict[str, FlowRun] = {}  # survey message id -> its run: she may read it after the next step
        self.browse = {n: f for n, f in self.defs.items() if f.trigger == E.BROWSE_ABANDONED}
        self.browse_for_ads = cs.model.ads.enabled  # ads retarget browsers even without a browse flow
        if not self.defs:
            return
        kernel.on(E.CART_ABANDONED, self._cart_abandoned)
        kernel.on(E.ORDER_PLACED, lambda ev: self._exit(ev, "order_placed", ev.data["cart"]))
        kernel.on(E.CART_EMPTIED, lambda ev: self._exit(ev, "cart_emptied", ev.data["cart"]))
        kernel.on(E.SESSION_STARTED, lambda ev: self._exit(ev, "visited", None))
        kernel.on(E.SETTINGS_CHANGED, self._settings)
        kernel.on(E.NOTIFICATION_OPENED, self._engaged)
        kernel.on(E.NOTIFICATION_CLICKED, self._engaged)

    # --- triggers and exits -----------------------------------------------------------------------

    def _cart_abandoned(self, ev: Event) -> None:
        sh = self._shopper(ev)
        cart = self.commerce.cart_context(sh)
        allows = self.experiments.allows
        for name, f in self.defs.items():
            if f.trigger == E.CART_ABANDONED and allows(sh, "flows", name):
                self._start(sh, name, ev.data["cart"], ev.data["value"], cart, None)

    def browse_abandoned(self, sh: Shopper, session: str, viewed: list[int]) -> None:
        """Called by commerce at the end of a visit that viewed products and added none (when a browse flow
        or retargeting ads listen for it)."""
        allows = self.experiments.allows
        flows = [(n, f) for n, f in self.browse.items() if len(viewed) >= f.min_views and allows(sh, "flows", n)]
        if not flows and (not self.browse_for_ads or len(viewed) < BROWSE_MIN_VIEWS):
            return
        products = self.cs.products
        shown = [products[i] for i in list(dict.fromkeys(viewed))[:4]]
        self.kernel.emit(E.BROWSE_ABANDONED, sh.id, {"session": session, "views": len(viewed),
                                                  "products": [p.id for p in shown]})
        ctx = [{"name": p.name, "price": p.price, "old_price": None, "category": p.category} for p in shown]
        for name, _ in flows:
            self._start(sh, name, session, 0.0, None, ctx)

    def _start(self, sh: Shopper, name: str, ref: str, value: float, cart: dict | None, products) -> None:
        if sh.flows is None:
            sh.flows = {}
        runs = sh.flows.setdefault(name, [])  # this flow's runs still under way for the shopper
        n = runs[-1].n + 1 if runs else 1
        if "retriggered" in self.defs[name].exit:
            for old in runs:
                old.exited = old.exited or "retriggered"
        for old in [r for r in runs if r.exited is not None]:
            runs.remove(old)
            for nid in old.last:  # its last step's messages no longer steer anything
                self.owner.pop(nid, None)
        # Runs are numbered per shopper and flow: a cart abandoned again starts a new run whose reminders
        # are new messages, not duplicates of the first run's.
        run = FlowRun(name, ref, n, value, cart, products)
        runs.append(run)
        self._schedule(sh, run, 0, self.kernel.now)

    def _exit(self, ev: Event, why: str, cart: str | None) -> None:
        sh = self.kernel.shoppers[index_of(ev.shopper)]
        if not sh.flows:  # every visit asks: most shoppers have no flow under way
            return
        for run in self._active(sh):
            f = self.defs[run.name]
            if why not in f.exit:
                continue
            # A browse flow is about a visit, not a cart: any order ends it.
            if cart is not None and run.ref != cart and not (why == "order_placed" and f.trigger == E.BROWSE_ABANDONED):
                continue
            if why == "visited" and ev.data.get("source", "").startswith("click:"):
                continue  # coming back through the flow's own message is not leaving it
            run.exited = why

    def _settings(self, ev: Event) -> None:
        if ev.data["source"] != "unsubscribe":
            return
        sh = self._shopper(ev)
        for run in self._active(sh):
            if "unsubscribed" in self.defs[run.name].exit:
                run.exited = "unsubscribed"

    @staticmethod
    def _active(sh: Shopper) -> list[FlowRun]:
        return [r for runs in (sh.flows or {}).values() for r in runs if r.exited is None]

    def _engaged(self, ev: Event) -> None:
        # An open by a privacy proxy counts as opened here too: a platform cannot tell it from a human's.
        run = self.owner.get(ev.data["id"])
        if run is not None and ev.data["id"] in run.last:
            if ev.type == E.NOTIFICATION_OPENED:
                run.opened = True
            else:
                run.clicked = True
        if ev.type == E.NOTIFICATION_OPENED and ev.data.get("source") != "proxy" and self.surveys:
            asked = self.surveys.pop(ev.data["id"], None)
            if asked is not None:
                sh = self._shopper(ev)
                if sh.cart_id == asked.ref and sh.cart_state == "abandoned":  # she reads the question
                    self.commerce.survey(sh, ev.data["channel"], ev.data["id"])

    # --- steps ------------------------------------------------------------------------------------

    def _schedule(self, sh: Shopper, run: FlowRun, i: int, t: int) -> None:
        step = self.defs[run.name].steps[i]
        t += self.after[run.name][i]
        if step.send_window is not None:
            start, end = parse_clock(step.send_window.start), parse_clock(step.send_window.end)
            epoch = self.cs.start_epoch
            t = next_outside(ZoneInfo(sh.tz), epoch + t, end, start) - epoch
        self.kernel.schedule(t, self.k_step, sh.index, (run, i))

    def _step(self, sh: Shopper, payload: tuple[FlowRun, int]) -> None:
        run, i = payload
        f = self.defs[run.name]
        step = f.steps[i]
        source = f"flow:{run.name}:{i + 1}"
        kind = "cart_reminder" if f.trigger == E.CART_ABANDONED else "browse_reminder"
        data: dict[str, Any] = {
            "offer": {"title": step.title, "text": step.text, "code": None, "ends_local": None},
            "cart": run.cart, "products": run.products}
        coupons = self.coupons
        def issue_coupon(inc=step.incentive) -> dict[str, Any]:
            c = coupons.issue(sh, inc, source)
            return {"coupon": coupons.context(sh, c), "coupon_code": c.code}

        extra = issue_coupon if step.incentive is not None else None
        # The condition is judged now (it is about the previous step); an exit, whenever the pipeline asks
        # (a step held by quiet hours is void if the order is placed meanwhile).
        condition = self._condition(sh, run, step, i)
        notes = self.notify.request(sh, f.category, [step.channel], kind, source, run.ref, data,
                                        exit=lambda: run.exited or condition, key=f"{source}:{run.ref}:{run.n}",
                                        extra=extra)
        for n in list(run.last):
            self.owner.pop(n, None)
        run.last = tuple(n.id for n in notes)
        if step.survey:
            for n in notes:
                self.surveys[n.id] = run
        run.opened = run.clicked = False
        for n in notes:
            self.owner[n.id] = run
        if i + 1 < len(f.steps):
            self._schedule(sh, run, i + 1, self.kernel.now)
        else:
            run.cart = run.products = None  # the last message has its own copy: a finished run stays small

    def _condition(self, sh: Shopper, run: FlowRun, step: FlowStep, i: int) -> tuple[str, str] | None:
        w = step.when
        if w is None:
            return None
        rule = f"flows.{run.name}.steps[{i}].when"
        if w.opened is not None and w.opened != run.opened:
            return ("opened" if w.opened else "not opened", f"{rule}.opened")
        if w.clicked is not None and w.clicked != run.clicked:
            return ("clicked" if w.clicked else "not clicked", f"{rule}.clicked")
        if w.segments is not None and sh.segment.name not in w.segments:
            return (f"segment in {w.segments}", f"{rule}.segments")
        if w.min_value is not None and run.value < w.min_value:
            return (f"cart value >= {w.min_value:g}", f"{rule}.min_value")
        if w.max_value is not None and run.value > w.max_value:
            return (f"cart value <= {w.max_value:g}", f"{rule}.max_value")
        return None

    def _shopper(self, ev: Event) -> Shopper:
        return self.kernel.shoppers[index_of(ev.shopper)]

