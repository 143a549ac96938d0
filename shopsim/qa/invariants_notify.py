"""Invariants of the notification pipeline (docs/notifications.md), judged from the log alone.

Every decision is judged against the settings in effect at its instant: RunState rebuilds them from
`shopper.created` and `settings.changed` as the log goes, so a change applies from its line on, not before.
A notification's state is kept from its request to its final outcome and then forgotten (an IdSet
remembers, for a bit each, which ids were decided); a digest's items until the digest is decided.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from shopsim.qa.invariants_base import DIGEST, Check, IdSet, RunState
from shopsim.qa.invariants_timing import (CAPS, DIGESTS, INTERRUPTIVE, QUIET, WINDOWS, CapChecks,
                                                LocalTimeChecks)
from shopsim.contract.taxonomy import CATEGORY_CLASS, CHANNELS, CRITICAL, MARKETING
from shopsim.contract import events as E

if TYPE_CHECKING:
    from shopsim.contract.events import Event

ONE = "one_outcome_per_request"
SETTINGS = "settings_respected"
CRIT = "critical_always_sent"


def unreachable(channel: str, s: dict[str, Any], reach: dict[str, bool]) -> str | None:
    """The rule that keeps a channel from reaching the shopper, or None when it reaches her."""
    if channel == "push":
        return "reach.app" if not reach["app"] else None if s["push_os_permission"] else "push_os_permission"
    if channel == "sms":
        return "reach.phone" if not reach["phone"] else None if s["sms_opt_in"] else "sms_opt_in"
    if channel == "email":
        return None if reach["email"] else "reach.email"
    return None


def no_consent(category: str, s: dict[str, Any]) -> str | None:
    if CATEGORY_CLASS[category] != MARKETING:
        return None
    if not s["marketing_consent"]:
        return "marketing_consent"
    return "personalization" if category == "recommendations" and not s["personalization"] else None


def switched_off(channel: str, category: str, s: dict[str, Any]) -> str | None:
    if not s["channels"][channel]:
        return f"channels.{channel}"
    prefs = s["categories"][category]
    if not prefs[channel]:
        return f"categories.{category}.{channel}"
    return f"categories.{category}.frequency" if prefs["frequency"] == "off" else None


# What a suppression's reason claims about the settings, as a test of them.
CLAIMS = {
    "no_marketing_consent": lambda ch, cat, s, r: not s["marketing_consent"],
    "no_personalization_consent": lambda ch, cat, s, r: not s["personalization"],
    "channel_off": lambda ch, cat, s, r: not s["channels"][ch],
    "category_channel_off": lambda ch, cat, s, r: not s["categories"][cat][ch],
    "frequency_off": lambda ch, cat, s, r: s["categories"][cat]["frequency"] == "off",
    "unreachable": lambda ch, cat, s, r: unreachable(ch, s, r) is not None,
}


class _Note:
    __slots__ = ("shopper", "category", "channel", "kind", "source", "t", "seq", "until")

    def __init__(self, ev: Event):
        d = ev.data
        self.shopper, self.category, self.channel = ev.shopper, d["category"], d["channel"]
        self.kind, self.source, self.t, self.seq = d["kind"], d["source"], ev.t, ev.seq
        self.until: int | None = None   # set while deferred


class _Group:
    """The critical messages one account event asked for (one per channel), decided at one instant."""
    __slots__ = ("key", "requested", "delivered", "rerouted", "suppressed")

    def __init__(self, key: tuple):
        self.key = key
        self.requested: list[str] = []
        self.delivered: list[str] = []
        self.rerouted: list[str] = []
        self.suppressed: list[tuple[str, int, set[str], set[str]]] = []


class Notifications(LocalTimeChecks, CapChecks, Check):
    INVARIANTS = {
        ONE: "every requested notification gets exactly one final outcome (delivered, digested or suppressed) "
             "at its request, or after waiting until its deferral's end, or is still deferred past the run's end",
        SETTINGS: "every decision follows the settings in effect at its instant: reachable channel, channel and "
                  "category switches, frequency off, marketing and personalization consent; a suppression's "
                  "reason is true of them",
        QUIET: "no push or SMS (critical alerts aside) is delivered inside the shopper's quiet hours, and none "
               "is held by them when they do not apply or past their end; judged on instants in her local time: "
               "they begin the first time their start comes each day and end the first time their end comes "
               "after it (on the day clocks fall back, the repeated hour after the end is outside)",
        WINDOWS: "no push or SMS is delivered outside a platform send window for its class, nor held for one while "
                 "every window is open; judged on instants in local time, like quiet hours",
        CAPS: "marketing deliveries stay within every frequency cap in every rolling window, and a message "
              "suppressed by a cap met a full one",
        DIGESTS: "daily and weekly categories join digests due at the shopper's digest time; each digest goes "
                 "out when due and carries or drops exactly what joined it",
        CRIT: "account-security alerts are never deferred and only suppressed when no channel can carry them; "
              "only they are rerouted, each to a channel the alert does not already use",
    }

    def __init__(self, state: RunState, report):
        super().__init__(state, report)
        cs = state.cs
        self.pending: dict[str, _Note] = {}
        self.decided = IdSet()
        self.joined: dict[str, list[tuple[str, str]]] = {}    # digest id -> (item id, category) that joined
        self.due: dict[str, tuple[int, int]] = {}              # digest id -> (when due, seq of its first item)
        self.sent: dict[tuple[str, str], deque] = {}           # (shopper, channel) -> (t, category, id) kept for caps
        self.caps = {ch: [r for r in cs.caps if r.channel == ch] for ch in CHANNELS}
        # Deliveries are kept as long as any cap of the run, before or after a policy change, looks back.
        every = [r for rules in (cs.caps, *(p.caps for p in cs.policy_changes)) for r in rules]
        self.horizon = {ch: max((r.per_ms for r in every if r.channel == ch), default=0) for ch in CHANNELS}
        self.windows = cs.send_windows
        self.phases = {p.name: p for p in cs.policy_changes}
        self.groups: dict[str, _Group] = {}

    def routes(self):
        return {E.NOTIFICATION_REQUESTED: self.requested, E.NOTIFICATION_DEFERRED: self.outcome,
                E.NOTIFICATION_DELIVERED: self.outcome, E.NOTIFICATION_DIGESTED: self.outcome,
                E.NOTIFICATION_SUPPRESSED: self.outcome, E.POLICY_CHANGED: self.policy_changed}

    def policy_changed(self, ev: Event) -> None:
        """From a policy change on, deliveries are judged by the caps and send windows it put in force."""
        phase = self.phases.get(ev.data["policy"])
        if phase is not None:
            self.caps = {ch: [r for r in phase.caps if r.channel == ch] for ch in CHANNELS}
            self.windows = phase.send_windows

    # --- requests and outcomes ----------------------------------------------------------------------

    def requested(self, ev: Event) -> None:
        nid = ev.data["id"]
        if nid in self.pending or nid in self.decided:
            return self.report(ONE, ev.seq, f"{nid} requested a second time")
        note = self.pending[nid] = _Note(ev)
        if note.category == DIGEST:
            if note.kind != DIGEST:
                self.report(DIGESTS, ev.seq, f"digest {nid} requested with kind {note.kind}")
            if not self.joined.get(nid):
                self.report(DIGESTS, ev.seq, f"digest {nid} requested, but nothing joined it")
            due = self.due.pop(nid, None)
            if due is not None and due[0] != ev.t:
                self.report(DIGESTS, ev.seq, f"digest {nid} went out at {self.state.iso(ev.t)}, due at "
                                             f"{self.state.iso(due[0])}")
        elif CATEGORY_CLASS[note.category] == CRITICAL:
            key = (note.kind, note.source, ev.t)
            g = self.groups.get(ev.shopper)
            if g is None or g.key != key:
                if g is not None:
                    self.close(ev.shopper, g)
                g = self.groups[ev.shopper] = _Group(key)
            g.requested.append(note.channel)

    def outcome(self, ev: Event) -> None:
        d, nid, type_ = ev.data, ev.data["id"], ev.type
        word = type_.split(".")[1]
        note = self.pending.get(nid)
        if note is None:
            why = "after its final outcome" if nid in self.decided else "without a request before it"
            return self.report(ONE, ev.seq, f"{nid} {word} {why}")
        if (ev.shopper, d["category"]) != (note.shopper, note.category):
            self.report(ONE, ev.seq, f"{nid} {word} for {ev.shopper} ({d['category']}), but it was requested for "
                                     f"{note.shopper} ({note.category})")
        rerouted = type_ == E.NOTIFICATION_DELIVERED and d.get("rerouted_from") is not None
        if d["channel"] != note.channel and not rerouted:
            self.report(ONE, ev.seq, f"{nid} {word} on {d['channel']}, but it was requested on {note.channel}")
        if note.until is None and ev.t != note.t:
            self.report(ONE, ev.seq, f"{nid} {word} at {self.state.iso(ev.t)}; it was requested at "
                                     f"{self.state.iso(note.t)} and not deferred")
        elif note.until is not None and ev.t != note.until:
            self.report(ONE, ev.seq, f"{nid} {word} at {self.state.iso(ev.t)}, not when its deferral ended "
                                     f"({self.state.iso(note.until)})")
        note.seq = ev.seq
        if type_ == E.NOTIFICATION_DEFERRED:
            return self.deferred(ev, note)
        del self.pending[nid]
        self.decided.add(nid)
        s = self.state.settings.get(ev.shopper)
        if s is not None:
            if type_ == E.NOTIFICATION_DELIVERED:
                self.delivered(ev, note, s)
            elif type_ == E.NOTIFICATION_DIGESTED:
                self.digested(ev, note, s)
            else:
                self.suppressed(ev, note, s)
        if note.category == DIGEST:
            self.joined.pop(nid, None)

    def deferred(self, ev: Event, note: _Note) -> None:
        nid, until = ev.data["id"], self.state.instant(ev.data["until"])
        if until <= ev.t:
            self.report(ONE, ev.seq, f"{nid} deferred until {ev.data['until']}, which is not later")
        if note.channel not in INTERRUPTIVE:
            self.report(ONE, ev.seq, f"{nid} deferred on {note.channel}; only push and SMS wait")
        if note.category != DIGEST and CATEGORY_CLASS[note.category] == CRITICAL:
            self.report(CRIT, ev.seq, f"{nid} ({note.category}) deferred; security alerts never wait")
        self.check_held(ev, note, until)
        note.until = until

    def delivered(self, ev: Event, note: _Note, s: dict[str, Any]) -> None:
        d, nid, sid = ev.data, ev.data["id"], ev.shopper
        channel, category = d["channel"], d["category"]
        rule = unreachable(channel, s, self.state.reach[sid])
        if rule is not None:
            self.report(SETTINGS, ev.seq, f"{nid} delivered on {channel}, which cannot reach {sid} ({rule})")
        if category == DIGEST:
            return self.digest_delivered(ev, s)
        cls = CATEGORY_CLASS[category]
        if d.get("digest_of") is not None:
            self.report(DIGESTS, ev.seq, f"{nid} ({category}) lists digest_of, but it is no digest")
        rerouted = d.get("rerouted_from")
        if rerouted is not None and (cls != CRITICAL or rerouted != note.channel or rerouted == channel):
            self.report(CRIT, ev.seq, f"{nid} ({category}) rerouted from {rerouted} to {channel}; only a security "
                                      f"alert is rerouted, from the channel it asked for ({note.channel})")
        if cls == CRITICAL:
            return self.critical_delivered(ev, channel, rerouted)
        off = switched_off(channel, category, s)
        if off is not None:
            self.report(SETTINGS, ev.seq, f"{nid} ({category}) delivered on {channel}, which {sid} switched off "
                                          f"({off})")
        if cls == MARKETING:
            why = no_consent(category, s)
            if why is not None:
                self.report(SETTINGS, ev.seq, f"{nid} ({category}) delivered to {sid} without {why}")
            freq = s["categories"][category]["frequency"]
            if freq != "realtime":
                self.report(SETTINGS, ev.seq, f"{nid} ({category}) delivered on its own while {sid} gets it "
                                              f"{freq}")
            self.count_cap(ev, sid, channel, category)
        self.check_windows(ev, channel, cls, s)

    def digested(self, ev: Event, note: _Note, s: dict[str, Any]) -> None:
        d, nid, sid, category = ev.data, ev.data["id"], ev.shopper, ev.data["category"]
        if CATEGORY_CLASS[category] != MARKETING:
            self.report(DIGESTS, ev.seq, f"{nid} ({category}) digested; only marketing categories are")
        why = no_consent(category, s) or switched_off(d["channel"], category, s)
        if why is not None:
            self.report(SETTINGS, ev.seq, f"{nid} ({category}) digested for {sid} against her settings ({why})")
        freq = s["categories"][category]["frequency"]
        if freq not in ("daily", "weekly"):
            self.report(SETTINGS, ev.seq, f"{nid} ({category}) digested while {sid} gets it {freq}")
        did, at = d["digest"], self.state.instant(d["at"])
        if did in self.pending or did in self.decided:
            self.report(DIGESTS, ev.seq, f"{nid} joined digest {did} after it went out")
        if at < ev.t:  # at the very instant it is due, an open digest still takes items (scripted work runs first)
            self.report(DIGESTS, ev.seq, f"{nid} joined digest {did} due at {d['at']}, which is already past")
        if did in self.due:
            if self.due[did][0] != at:
                self.report(DIGESTS, ev.seq, f"{nid} joined digest {did} due at {d['at']}; its first item said "
                                             f"{self.state.iso(self.due[did][0])}")
        elif did not in self.pending and did not in self.decided:
            self.due[did] = (at, ev.seq)
            if freq in ("daily", "weekly"):
                self.check_due(ev, did, freq, at, s)
        self.joined.setdefault(did, []).append((nid, category))

    def suppressed(self, ev: Event, note: _Note, s: dict[str, Any]) -> None:
        d, nid, sid = ev.data, ev.data["id"], ev.shopper
        reason, channel, category = d["reason"], d["channel"], d["category"]
        claim = CLAIMS.get(reason)
        if claim is not None and (category != DIGEST or reason in ("unreachable", "channel_off")):
            if not claim(channel, category, s, self.state.reach[sid]):
                self.report(SETTINGS, ev.seq, f"{nid} ({category}) suppressed as {reason} ({d.get('rule')}), but "
                                              f"{sid}'s settings allow it")
        if reason == "frequency_cap" and category != DIGEST:
            self.cap_was_full(ev, sid, channel, category, d.get("rule"))
        if category != DIGEST and CATEGORY_CLASS[category] == CRITICAL:
            if reason != "unreachable":
                self.report(CRIT, ev.seq, f"{nid} ({category}) suppressed as {reason}; a security alert may only "
                                          "be unreachable")
            g = self.groups.get(sid)
            if g is not None:
                reach = self.state.reach[sid]
                can = {c for c in CHANNELS if unreachable(c, s, reach) is None}
                g.suppressed.append((nid, ev.seq, can, set(g.rerouted)))

    # --- critical alerts ----------------------------------------------------------------------------

    def critical_delivered(self, ev: Event, channel: str, rerouted: str | None) -> None:
        g = self.groups.get(ev.shopper)
        if g is None:
            return
        if channel in g.delivered:
            self.report(CRIT, ev.seq, f"{ev.data['id']}: the alert already went to {ev.shopper} on {channel}; "
                                      "a reroute never doubles a channel")
        g.delivered.append(channel)
        if rerouted is not None:
            g.rerouted.append(channel)

    def close(self, sid: str, g: _Group) -> None:
        """Once all of an alert's channels are known: a suppressed copy had no channel left to go to."""
        for nid, seq, can, rerouted_before in g.suppressed:
            left = can - set(g.requested) - rerouted_before
            if left:
                self.report(CRIT, seq, f"{nid} suppressed as unreachable, though {', '.join(sorted(left))} could "
                                       f"still carry it to {sid}")

    def tick(self, t: int) -> None:
        if self.groups:
            for sid, g in self.groups.items():
                self.close(sid, g)
            self.groups = {}

    def digest_delivered(self, ev: Event, s: dict[str, Any]) -> None:
        d, did, sid, channel = ev.data, ev.data["id"], ev.shopper, ev.data["channel"]
        items = list(d.get("digest_of") or ())
        dropped = [x["id"] for x in d.get("dropped") or ()]
        joined = self.joined.get(did, [])
        if not items:
            self.report(DIGESTS, ev.seq, f"digest {did} delivered with nothing in it")
        if sorted(items + dropped) != sorted(i for i, _ in joined) or set(items) & set(dropped):
            self.report(DIGESTS, ev.seq, f"digest {did} carries {items} and drops {dropped}, but "
                                         f"{[i for i, _ in joined]} joined it")
        if not s["channels"][channel]:
            self.report(SETTINGS, ev.seq, f"digest {did} delivered on {channel}, which {sid} switched off")
        category = dict(joined)
        for item in items:
            cat = category.get(item)
            if cat is None:
                continue
            why = no_consent(cat, s) or switched_off(channel, cat, s)
            if why is not None:
                self.report(SETTINGS, ev.seq, f"digest {did} carries {item} ({cat}), which {sid}'s settings no "
                                              f"longer allow ({why})")
        self.check_windows(ev, channel, MARKETING, s)

    # --- the end ------------------------------------------------------------------------------------

    def finish(self) -> None:
        self.tick(self.state.end + 1)
        end = self.state.end
        for nid, note in self.pending.items():
            if note.until is None or note.until <= end:
                last = "its request" if note.until is None else f"a deferral until {self.state.iso(note.until)}"
                self.report(ONE, note.seq, f"{nid} has no final outcome; its last line is {last}")
        for did, (at, seq) in self.due.items():
            if at <= end:
                self.report(DIGESTS, seq, f"digest {did} was due at {self.state.iso(at)}, within the run, and never "
                                          "went out")
