"""Invariants of flows (docs/notifications.md#flows): each step of each run is asked for when it is due,
void once the run has exited, and held back when its `when` condition fails.

Runs are rebuilt from the log: a trigger (`cart.abandoned`, `browse.abandoned`) starts a run of every flow
it triggers; the exits the flow lists end it (the first one names the rule). A run is forgotten once it can
ask for no more steps and none of its messages is still undecided, or waiting in a digest.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from shopsim.qa.invariants_base import DIGEST, Check, RunState, clock
from shopsim.notify.windows import next_outside
from shopsim.contract.units import parse_duration
from shopsim.contract import events as E

if TYPE_CHECKING:
    from shopsim.contract.events import Event

EXITS = "flows_exit_on_purchase"
CONDITIONS = "flow_conditions_respected"
SCHEDULE = "flow_steps_on_schedule"
EARLY_STEPS = {"reachable", "consent", "preferences"}   # the pipeline's steps before flow state
OUTCOMES = (E.NOTIFICATION_DEFERRED, E.NOTIFICATION_DELIVERED, E.NOTIFICATION_DIGESTED, E.NOTIFICATION_SUPPRESSED)


class _Run:
    __slots__ = ("flow", "ref", "value", "next", "due", "exit", "watch", "opened", "clicked", "pending")

    def __init__(self, flow: str, ref: str, value: float, due: int):
        self.flow, self.ref, self.value, self.due = flow, ref, value, due
        self.next = 0                      # index of the step it asks for next
        self.exit: str | None = None       # the first exit that ended it
        self.watch: str | None = None      # the previous step's message, whose open or click `when` reads
        self.opened = self.clicked = False
        self.pending = 0                   # its messages not decided yet (a digested one: until its digest is)


class Flows(Check):
    INVARIANTS = {
        EXITS: "a flow step is void once its run has ended, by the order for its cart or another exit the flow "
               "lists: it is suppressed as flow_exited naming the first exit, never delivered, and a digest drops it",
        CONDITIONS: "a flow step whose `when` condition fails (previous step opened or clicked, segment, cart "
                    "value) is suppressed as flow_condition; one whose condition holds is not",
        SCHEDULE: "each step of a flow run is asked for once, in order, when it is due (its `after` past the "
                  "previous step, then its send window), about the run's cart or visit, on the step's channel",
    }

    def __init__(self, state: RunState, report):
        super().__init__(state, report)
        self.defs = dict(state.cs.model.flows)
        self.after = {n: [parse_duration(s.after) for s in f.steps] for n, f in self.defs.items()}
        self.windows = {n: [(clock(s.send_window.end), clock(s.send_window.start)) if s.send_window else None
                            for s in f.steps] for n, f in self.defs.items()}
        self.cart_flows = [n for n, f in self.defs.items() if f.trigger == E.CART_ABANDONED]
        self.browse_flows = [(n, f.min_views) for n, f in self.defs.items() if f.trigger == E.BROWSE_ABANDONED]
        self.runs: dict[str, list[_Run]] = {}                   # shopper -> her runs still of interest
        self.notes: dict[str, tuple[_Run, int, set[str]]] = {}  # step message -> (run, step index, failing rules)
        self.watch: dict[str, _Run] = {}                        # message -> the run whose next step reads it
        self.members: dict[str, list[str]] = {}                 # digest id -> step messages waiting in it

    def routes(self):
        if not self.defs:
            return {E.NOTIFICATION_REQUESTED: self.requested}
        return {E.CART_ABANDONED: self.cart_abandoned, E.BROWSE_ABANDONED: self.browse_abandoned,
                E.ORDER_PLACED: self.order_placed, E.CART_EMPTIED: self.cart_emptied,
                E.SESSION_STARTED: self.session, E.SETTINGS_CHANGED: self.settings,
                E.NOTIFICATION_REQUESTED: self.requested, E.NOTIFICATION_OPENED: self.engaged,
                E.NOTIFICATION_CLICKED: self.engaged, **{t: self.outcome for t in OUTCOMES}}

    # --- runs: triggers and exits -------------------------------------------------------------------

    def live(self, sid: str, now: int) -> list[_Run]:
        """The shopper's runs, without those that can no longer matter (all steps asked for, or a step that
        was due and never asked for, e.g. for a shopper an experiment keeps out of the flow)."""
        runs = self.runs.get(sid)
        if runs is None:
            runs = self.runs[sid] = []
        keep = [r for r in runs if r.pending or (r.next < len(self.after[r.flow]) and r.due >= now)]
        if len(keep) != len(runs):
            for r in runs:
                if r not in keep and r.watch is not None:
                    self.watch.pop(r.watch, None)
            runs[:] = keep
        return runs

    def start(self, ev: Event, name: str, ref: str, value: float) -> None:
        runs = self.live(ev.shopper, ev.t)
        if "retriggered" in self.defs[name].exit:
            for r in runs:
                if r.flow == name:
                    r.exit = r.exit or "retriggered"
        runs.append(_Run(name, ref, value, self.due(ev.shopper, name, 0, ev.t)))

    def due(self, sid: str, name: str, i: int, t: int) -> int:
        t += self.after[name][i]
        w = self.windows[name][i]
        if w is not None:  # wait for the step's own window: outside [end, start) is inside the window
            epoch = self.state.start
            t = next_outside(self.state.zone[sid], epoch + t, w[0], w[1]) - epoch
        return t

    def cart_abandoned(self, ev: Event) -> None:
        for name in self.cart_flows:
            self.start(ev, name, ev.data["cart"], ev.data["value"])

    def browse_abandoned(self, ev: Event) -> None:
        for name, min_views in self.browse_flows:
            if ev.data["views"] >= min_views:
                self.start(ev, name, ev.data["session"], 0.0)

    def exit(self, ev: Event, why: str, cart: str | None = None) -> None:
        for r in self.runs.get(ev.shopper, ()):
            f = self.defs[r.flow]
            if r.exit is not None or why not in f.exit:
                continue
            # A browse flow is about a visit, not a cart: any order ends it.
            if cart is not None and r.ref != cart and not (why == "order_placed" and f.trigger == E.BROWSE_ABANDONED):
                continue
            r.exit = why

    def order_placed(self, ev: Event) -> None:
        self.exit(ev, "order_placed", ev.data["cart"])

    def cart_emptied(self, ev: Event) -> None:
        self.exit(ev, "cart_emptied", ev.data["cart"])

    def session(self, ev: Event) -> None:
        if not ev.data["source"].startswith("click:"):  # coming back through a message is not leaving the flow
            self.exit(ev, "visited")

    def settings(self, ev: Event) -> None:
        if ev.data.get("source") == "unsubscribe":
            self.exit(ev, "unsubscribed")

    def engaged(self, ev: Event) -> None:
        run = self.watch.get(ev.data["id"])
        if run is not None:
            if ev.type == E.NOTIFICATION_OPENED:
                run.opened = True
            else:
                run.clicked = True

    # --- steps --------------------------------------------------------------------------------------

    def requested(self, ev: Event) -> None:
        d, sid = ev.data, ev.shopper
        if not d["source"].startswith("flow:"):
            return
        m = re.fullmatch(r"flow:(.+):(\d+)", d["source"])
        flow = self.defs.get(m.group(1)) if m else None
        if flow is None or not 0 < int(m.group(2)) <= len(flow.steps):
            return self.report(SCHEDULE, ev.seq, f"{d['id']} requested by {d['source']}, which is no step of a flow")
        name, i = m.group(1), int(m.group(2)) - 1
        due = [r for r in self.live(sid, ev.t) if r.flow == name and r.next == i and r.due == ev.t]
        if not due:
            return self.report(SCHEDULE, ev.seq, f"{d['id']}: step {i + 1} of {name} requested for {d['ref']} at "
                                                 f"{self.state.iso(ev.t)}, with no run of {name} due for it then")
        run = next((r for r in due if r.ref == d["ref"]), due[0])
        step = flow.steps[i]
        if (d["ref"], d["category"], d["channel"]) != (run.ref, flow.category, step.channel):
            self.report(SCHEDULE, ev.seq, f"{d['id']}: step {i + 1} of {name} is about {d['ref']} ({d['category']}, "
                                          f"{d['channel']}); the run is about {run.ref}, the step sends "
                                          f"{flow.category} on {step.channel}")
        failing = self.failing(name, step.when, i, run, sid)
        if run.watch is not None:
            self.watch.pop(run.watch, None)
        run.watch, run.opened, run.clicked = None, False, False
        run.next += 1
        run.pending += 1
        if run.next < len(flow.steps):
            run.due = self.due(sid, name, run.next, ev.t)
            run.watch = d["id"]
            self.watch[d["id"]] = run
        self.notes[d["id"]] = (run, i, failing)

    def failing(self, name: str, w: Any, i: int, run: _Run, sid: str) -> set[str]:
        """The rules of step i's `when` that do not hold (every condition given must hold)."""
        if w is None:
            return set()
        rule, out = f"flows.{name}.steps[{i}].when", set()
        if w.opened is not None and w.opened != run.opened:
            out.add(f"{rule}.opened")
        if w.clicked is not None and w.clicked != run.clicked:
            out.add(f"{rule}.clicked")
        if w.segments is not None and self.state.segment.get(sid) not in w.segments:
            out.add(f"{rule}.segments")
        if w.min_value is not None and run.value < w.min_value:
            out.add(f"{rule}.min_value")
        if w.max_value is not None and run.value > w.max_value:
            out.add(f"{rule}.max_value")
        return out

    def outcome(self, ev: Event) -> None:
        d, nid = ev.data, ev.data["id"]
        if d["category"] == DIGEST:
            return self.digest_decided(ev)
        entry = self.notes.get(nid)
        if entry is None:
            return
        run, i, failing = entry
        word = ev.type.split(".")[1]
        suppressed = ev.type == E.NOTIFICATION_SUPPRESSED
        trace = d.get("trace") or []
        verdict = next((v for v in trace if v.get("step") == "flow_state"), None)
        what = f"{nid} (step {i + 1} of {run.flow} for {run.ref})"
        said = f"{word} as {d['reason']} ({d['rule']})" if suppressed else word
        if verdict is None:
            if not (suppressed and trace and trace[-1].get("step") in EARLY_STEPS):
                self.report(EXITS, ev.seq, f"{what} {said} without passing the flow-state check")
        elif run.exit is not None:
            if not (suppressed and (d["reason"], d["rule"]) == ("flow_exited", f"flow.exit.{run.exit}")):
                self.report(EXITS, ev.seq, f"{what} {said} after its run ended ({run.exit})")
        elif failing:
            if not (suppressed and d["reason"] == "flow_condition" and d["rule"] in failing):
                self.report(CONDITIONS, ev.seq, f"{what} {said} though its condition fails "
                                                f"({', '.join(sorted(failing))})")
        elif verdict.get("outcome") != "pass":
            name = EXITS if verdict.get("reason") == "flow_exited" else CONDITIONS
            self.report(name, ev.seq, f"{what} {said}, but its run goes on and its condition holds")
        if ev.type == E.NOTIFICATION_DIGESTED:
            self.members.setdefault(d["digest"], []).append(nid)
        elif ev.type != E.NOTIFICATION_DEFERRED:
            self.settle(nid)

    def digest_decided(self, ev: Event) -> None:
        if ev.type == E.NOTIFICATION_DEFERRED:
            return
        members = self.members.pop(ev.data["id"], ())
        carried = set(ev.data.get("digest_of") or ()) if ev.type == E.NOTIFICATION_DELIVERED else set()
        for nid in members:
            run, i, _ = self.notes[nid]
            if nid in carried and run.exit is not None:
                self.report(EXITS, ev.seq, f"digest {ev.data['id']} carries {nid} (step {i + 1} of {run.flow} for "
                                           f"{run.ref}), whose run ended ({run.exit})")
            self.settle(nid)

    def settle(self, nid: str) -> None:
        run = self.notes.pop(nid)[0]
        run.pending -= 1
