"""The notification layer: turns domain events into notifications and runs each through the policy pipeline.

One place decides whether a notification is delivered: `_evaluate`, which runs DESIGN.md's steps in order
(reachable, consent, preferences, flow state, dedupe, caps, digest, quiet hours and send windows, render)
and stops at the first step that does not pass. Each step's Verdict goes into the notification's trace and
into the log line of its outcome, so every decision can be explained from the log alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable
from zoneinfo import ZoneInfo

from shopsim.contract.ids import index_of
from shopsim.notify.caps import CapTracker
from shopsim.notify.context import build_context, order_summary
from shopsim.notify.policy import (
    DEFERRED, DIGESTED, PASS, REROUTED, SUPPRESSED, Verdict, consent, dedupe, digest, flow_state, preferences,
    SHARED_IDS, quiet_hours, reachable, send_windows, shared,
)
from shopsim.notify.policy_changes import PolicyChanges
from shopsim.notify.state import Message, Note, ShopperNotes
from shopsim.notify.templates import Templates
from shopsim.notify.windows import next_local_time
from shopsim.contract.taxonomy import CATEGORY_CLASS, CRITICAL, DIGEST, EVENT_CATEGORY, MARKETING
from shopsim.contract.units import parse_clock
from shopsim.contract import events as E
from shopsim.contract.clock import iso

if TYPE_CHECKING:
    from shopsim.scenario.compiled import CompiledScenario
    from shopsim.sim.kernel import Kernel
    from shopsim.contract.events import Event
    from shopsim.sim.population import Shopper

DELIVERED = "delivered"


def trace_record(verdicts: list[Verdict], start_epoch: int) -> list[dict[str, Any]]:
    """Verdicts as the log writes them: step and outcome always; reason, rule and params when set."""
    key = tuple(map(id, verdicts))
    out = _TRACES.get(key)
    if out is not None:  # every verdict a shared constant: so is the record (nothing downstream changes it)
        return out
    out = []
    shared_only = True
    for v in verdicts:
        rec = _RECORDS.get(id(v))
        if rec is None:
            rec = _record(v)
            if id(v) in SHARED_IDS:  # a shared constant: its record can be shared too
                _RECORDS[id(v)] = rec
            else:
                shared_only = False
        out.append(rec)
    if shared_only:
        _TRACES[key] = out
    return out


_RECORDS: dict[int, dict[str, Any]] = {}
_TRACES: dict[tuple[int, ...], list[dict[str, Any]]] = {}  # the records of a trace made of shared verdicts only


def _record(v: Verdict) -> dict[str, Any]:
    rec: dict[str, Any] = {"step": v.step, "outcome": v.outcome}
    if v.reason is not None:
        rec["reason"] = v.reason
    if v.rule is not None:
        rec["rule"] = v.rule
    if v.params:
        params = dict(v.params)
        for k in ("until", "at"):  # instants (epoch ms) in verdicts; ISO in the log
            if isinstance(params.get(k), int):
                params[k] = iso(params[k])
        rec["params"] = params
    return rec


class Notifier:
    def __init__(self, kernel: Kernel, cs: CompiledScenario, keep: bool = True):
        self.kernel = kernel
        self.cs = cs
        self.keep = keep  # remember notes and inboxes for explain() and inbox(); headless replays need neither
        self.templates = Templates.load(cs.policies.templates or None)
        self.caps = CapTracker(list(cs.caps))
        self.send_windows = cs.send_windows  # policies.changes replace them (and the caps) mid-run
        self.products = {p.id: p for p in cs.products}
        self.placed: dict[str, dict[str, Any]] = {}   # order id -> the order as templates see it
        self.notes: dict[str, Note] = {}
        # (category, channel) pairs with a part of the scenario's own: rendered at delivery, always
        self._own = frozenset((cat, ch) for cat, ch, _ in self.templates.overridden)
        self._rendered: dict[tuple[str, str], Verdict] = {}  # (category, channel) -> its render verdict
        self.k_retry = kernel.register(self._retry)
        self.k_digest = kernel.register(self._digest_due)
        kernel.on(E.ORDER_PLACED, self._remember_order)
        for type_, channels in cs.transactional.items():
            if channels:
                kernel.on(type_, self._on_event)
        if cs.policy_changes:
            PolicyChanges(kernel, cs, self)

    # --- requests ---------------------------------------------------------------------------------

    def _remember_order(self, ev: Event) -> None:
        # The order as templates show it, made once: every message about the order reuses it.
        self.placed[ev.data["order"]] = order_summary(ev.data, self.products)

    def forget_order(self, oid: str) -> None:
        """The order's last event is past (orders call this): a message still waiting for it keeps its own copy."""
        self.placed.pop(oid, None)

    def _on_event(self, ev: Event) -> None:
        sh = self.kernel.shoppers[index_of(ev.shopper)]
        source = "account" if ev.type.startswith("account.") else "order"
        # kind + ref name the triggering event (seq would tie a shopper's lines to everyone else's).
        self.request(sh, EVENT_CATEGORY[ev.type], self.cs.transactional[ev.type], ev.type, source,
                     ev.data.get("order"), ev.data)

    def request(self, sh: Shopper, category: str, channels, kind: str, source: str, ref: str | None = None,
                data: dict[str, Any] | None = None, *, exit: Callable[[], str | None] | None = None,
                key: str | None = None, extra: Callable[[], dict[str, Any]] | None = None) -> list[Note]:
        """Ask for a message on each of `channels`; each becomes a notification with its own outcome.
        `exit` (flows) returns why the message is void, or None; `key` dedupes the same logical message;
        `extra` is called once, if the message is delivered, for what only a delivery makes (a coupon)."""
        st = sh.notes
        if st is None:
            st = sh.notes = ShopperNotes()
        taken = list(channels)  # a critical fallback goes to a channel the message does not already use
        out = []
        kernel, sid, cls = self.kernel, sh.id, CATEGORY_CLASS[category]
        if data is None:
            data = {}
        for channel in channels:
            st.n += 1
            nid = f"{sid}-n{st.n}"
            note = Note(nid, sh, category, cls, channel, kind, source, ref, data, exit, key, taken, kernel.now)
            note.extra = extra
            kernel.emit(E.NOTIFICATION_REQUESTED, sid, {
                "id": nid, "category": category, "channel": channel, "kind": kind, "source": source, "ref": ref})
            if self.keep:
                self.notes[note.id] = note
            self._evaluate(note)
            out.append(note)
        return out

    # --- the pipeline -----------------------------------------------------------------------------

    def _evaluate(self, note: Note) -> None:
        sh, now, cls = note.sh, self.kernel.now, note.cls
        s, st = sh.settings, sh.notes
        trace: list[Verdict] = []
        note.evaluations.append((now, trace))

        v = reachable(note.channel, note.category, s, sh.reach, note.taken)
        trace.append(v)
        if v.outcome == SUPPRESSED:
            return self._suppress(note, v)
        if v.outcome == REROUTED:
            note.channel = v.params["to"]
            note.taken.append(note.channel)
        if cls == CRITICAL:  # security messages skip preferences through quiet hours
            return self._deliver(note)
        channel = note.channel
        if cls == MARKETING:
            v = consent(note.category, s)
            trace.append(v)
            if not v.passed:
                return self._suppress(note, v)
        v = preferences(channel, note.category, s)
        trace.append(v)
        if not v.passed:
            return self._suppress(note, v)
        frequency = v.params["frequency"]
        if note.exit is not None:
            v = flow_state(note.exit())
            trace.append(v)
            if not v.passed:
                return self._suppress(note, v)

        ckey = (channel, note.category, note.ref) if note.ref is not None else None
        newer = None
        if note.outcome == DEFERRED:
            newer = note.newer.id if note.newer is not None else None
        elif ckey is not None and st.deferred:
            older = st.deferred.pop(ckey, None)
            if older is not None:
                older.newer = note  # the older one collapses into this one when its turn comes
        # A deferred note claimed its key on its first pass: on its retry only a newer note can void it.
        first_pass = note.outcome is None
        key = f"{channel}:{note.key}" if cls == MARKETING and note.key is not None and first_pass else None
        v = dedupe(key, st.seen, newer)
        trace.append(v)
        if not v.passed:
            return self._suppress(note, v)
        if key is not None:
            if st.seen is None:
                st.seen = set()
            st.seen.add(key)

        zone = ZoneInfo(sh.tz)
        epoch = self.cs.start_epoch + now
        if cls == MARKETING:
            v = self.caps.check(sh.index, channel, note.category, now)
            trace.append(v)
            if not v.passed:
                return self._suppress(note, v)
            if frequency in ("daily", "weekly"):
                return self._join_digest(note, frequency, zone, epoch, trace)
            trace.append(digest(frequency, None, None))
        for v in (quiet_hours(channel, s, zone, epoch), send_windows(channel, cls, self.send_windows, zone, epoch)):
            trace.append(v)
            if v.outcome == DEFERRED:
                return self._defer(note, v, ckey)
        self._deliver(note)

    def _retry(self, sh: Shopper, note: Note) -> None:
        if note.items is not None:
            self._evaluate_digest(note)
        else:
            self._evaluate(note)

    # --- outcomes ---------------------------------------------------------------------------------

    def _emit(self, type_: str, note: Note, **fields: Any) -> None:
        data = {"id": note.id, "category": note.category, "channel": note.channel,
                "trace": trace_record(note.evaluations[-1][1], self.cs.start_epoch)}
        data.update(fields)
        self.kernel.emit(type_, note.sh.id, data)

    def _settle(self, note: Note, outcome: str) -> None:
        note.outcome = outcome
        if outcome != DIGESTED and note.items is None:
            note.exit = note.data = None  # decided: what it was made from is not needed any more
        st = note.sh.notes
        if st.deferred and note.ref is not None:
            ckey = (note.channel, note.category, note.ref)
            if st.deferred.get(ckey) is note:
                del st.deferred[ckey]

    def _suppress(self, note: Note, v: Verdict) -> None:
        self._settle(note, SUPPRESSED)
        self._emit(E.NOTIFICATION_SUPPRESSED, note, reason=v.reason, rule=v.rule)

    def _defer(self, note: Note, v: Verdict, ckey) -> None:
        note.outcome = DEFERRED
        note.until = v.params["until"] - self.cs.start_epoch
        if note.order is None and note.ref is not None:
            note.order = self.placed.get(note.ref)  # the order may be over (and forgotten) when it goes out
        if ckey is not None:
            note.sh.notes.deferred[ckey] = note
        self._emit(E.NOTIFICATION_DEFERRED, note, until=iso(v.params["until"]), reason=v.reason, rule=v.rule)
        # Past the run's end the note stays deferred: the log shows it waiting, never a made-up outcome.
        self.kernel.schedule(note.until, self.k_retry, note.sh.index, note)

    def _deliver(self, note: Note, extra: dict[str, Any] | None = None) -> None:
        sh, now = note.sh, self.kernel.now
        order = note.order
        if order is None and note.ref is not None:
            order = self.placed.get(note.ref)
        ctx = build_context(note, self.cs.currency, order)
        coupon = None
        if note.extra is not None:
            more = note.extra()
            coupon = more.pop("coupon_code", None)
            ctx.update(more)
            note.extra = None
        category, channel = note.category, note.channel
        # A message's text is made only if someone receives the event: kept inboxes need it now, and a
        # scenario's own template renders now so that one over a limit stops every run alike; the shipped
        # templates cannot fail, so theirs waits for the batch to reach an observer (a run that only counts
        # never renders). The context is this moment's copy, so rendering later gives the same text.
        deferred = not self.keep and (category, channel) not in self._own
        if deferred:
            title = body = None
        else:
            title, body = self.templates.render(category, channel, ctx)
        trace = note.evaluations[-1][1]
        rendered = self._rendered.get((category, channel))
        if rendered is None:
            rendered = self._rendered[(category, channel)] = shared("render", template=f"{category}.{channel}")
        trace.append(rendered)
        self._settle(note, DELIVERED)
        items = note.items
        if note.cls == MARKETING and items is None:
            self.caps.record(sh.index, channel, category, now)
        digest_of = tuple(i.id for i in items) if items is not None else ()
        data = {
            "id": note.id, "category": category, "channel": channel,
            "trace": trace_record(trace, self.cs.start_epoch), "title": title, "body": body, "link": ctx["link"],
            "rerouted_from": note.requested_channel if channel != note.requested_channel else None,
            "digest_of": list(digest_of) if items is not None else None,
            "dropped": extra.get("dropped") if extra else None, "coupon": coupon,
            "coupons": (extra.get("coupons") or None) if extra else None}
        self.kernel.emit(E.NOTIFICATION_DELIVERED, sh.id, data)
        if deferred:
            self.kernel.later((self._render_into, data, category, channel, ctx))
        if self.keep:
            msg = Message(note.id, sh.id, now, note.channel, note.category, note.kind, title, body, ctx["link"],
                          digest_of)
            note.message = msg
            sh.notes.inbox.append(msg)

    def _render_into(self, data: dict[str, Any], category: str, channel: str, ctx: dict[str, Any]) -> None:
        data["title"], data["body"] = self.templates.render(category, channel, ctx)

    # --- digests ----------------------------------------------------------------------------------

    def _join_digest(self, note: Note, period: str, zone: ZoneInfo, epoch: int, trace: list[Verdict]) -> None:
        sh = note.sh
        st = sh.notes
        d = st.digests.get((note.channel, period))
        if d is None:
            prefs = sh.settings["digest"]
            at = next_local_time(zone, epoch, parse_clock(prefs["time"]), prefs["weekday"] if period == "weekly" else None)
            st.n += 1
            d = Note(f"{sh.id}-n{st.n}", sh, DIGEST, MARKETING, note.channel, DIGEST, f"digest:{period}", None,
                     {}, None, None, [note.channel], at - self.cs.start_epoch)
            d.period, d.items, d.until = period, [], at - self.cs.start_epoch
            st.digests[(note.channel, period)] = d
            if self.keep:
                self.notes[d.id] = d
            self.kernel.schedule(d.until, self.k_digest, sh.index, d)
        d.items.append(note)
        note.digest = d
        trace.append(digest(period, self.cs.start_epoch + d.until, d.id))
        self._settle(note, DIGESTED)
        self._emit(E.NOTIFICATION_DIGESTED, note, digest=d.id, at=iso(self.cs.start_epoch + d.until))

    def _digest_due(self, sh: Shopper, d: Note) -> None:
        st = sh.notes
        if st.digests.get((d.channel, d.period)) is d:
            del st.digests[(d.channel, d.period)]
        d.t = self.kernel.now
        self.kernel.emit(E.NOTIFICATION_REQUESTED, sh.id, {
            "id": d.id, "category": DIGEST, "channel": d.channel, "kind": DIGEST, "source": d.source,
            "ref": None})
        self._evaluate_digest(d)

    def _evaluate_digest(self, d: Note) -> None:
        """A digest re-checks each item against the settings of the moment it goes out: one the shopper has
        since switched off is dropped from it (listed in `dropped`), so a change applies from its instant."""
        sh, now = d.sh, self.kernel.now
        s = sh.settings
        trace: list[Verdict] = []
        d.evaluations.append((now, trace))
        v = reachable(d.channel, DIGEST, s, sh.reach)
        trace.append(v)
        if not v.passed:
            return self._suppress(d, v)
        if not s["channels"][d.channel]:
            v = Verdict("preferences", SUPPRESSED, "channel_off", f"channels.{d.channel}")
            trace.append(v)
            return self._suppress(d, v)
        kept, dropped = [], d.data.setdefault("dropped", [])  # drops accumulate over deferred passes
        for item in d.items:
            checks = [consent(item.category, s), preferences(d.channel, item.category, s)]
            if item.exit is not None:  # a reminder for a cart bought since has no place in the digest
                checks.append(flow_state(item.exit()))
            for v in checks:
                if not v.passed:
                    dropped.append({"id": item.id, "reason": v.reason, "rule": v.rule})
                    break
            else:
                kept.append(item)
        v = Verdict("digest", PASS if kept else SUPPRESSED, None if kept else "digest_empty",
                    None if kept else "digest", {"items": len(kept), "dropped": [x["id"] for x in dropped]})
        trace.append(v)
        if not kept:
            return self._suppress(d, v)
        d.items = kept
        zone = ZoneInfo(sh.tz)
        epoch = self.cs.start_epoch + now
        for v in (quiet_hours(d.channel, s, zone, epoch),
                  send_windows(d.channel, MARKETING, self.send_windows, zone, epoch)):
            trace.append(v)
            if v.outcome == DEFERRED:
                return self._defer(d, v, None)
        lines, codes = [], []
        for item in kept:
            ctx = build_context(item, self.cs.currency, None)
            if item.extra is not None:  # an item's coupon is issued when the digest carrying it goes out
                more = item.extra()
                code = more.pop("coupon_code", None)
                if code is not None:
                    codes.append(code)  # she learns it by reading the digest
                ctx.update(more)
                item.extra = None
            title, body = self.templates.render(item.category, "in_app", ctx)
            lines.append({"category": item.category, "title": title, "body": body, "link": ctx["link"]})
        d.data["digest"] = {"period": d.period, "items": lines, "count": len(lines)}
        self._deliver(d, {"dropped": dropped, "coupons": codes})  # the ids it carries and those it no longer does

    # --- queries ----------------------------------------------------------------------------------

    def note(self, nid: str) -> Note:
        if not self.keep:
            raise LookupError("this simulation does not keep notifications (keep_messages=False)")
        try:
            return self.notes[nid]
        except KeyError:
            raise KeyError(f"no notification {nid!r}") from None

    def open(self, nid: str, sh: Shopper, category: str, channel: str, source: str) -> Event:
        """She opens a delivered message: the inbox's copy becomes read and `notification.opened` is logged
        (engagement calls it for the shopper's own opens, the front ends for a user's)."""
        note = self.notes.get(nid) if self.keep else None
        if note is not None and note.message is not None:
            note.message.read = True
        return self.kernel.emit(E.NOTIFICATION_OPENED, sh.id, {"id": nid, "category": category, "channel": channel,
                                                               "source": source})
