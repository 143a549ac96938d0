"""Decision traces in plain words: `Simulation.explain(id)` for a designer asking "why (not)?".

The same words serve a finished run: `logged_note(id, events, tz, start_epoch)` rebuilds a notification from
its log lines (the `trace` of each outcome line) as a `LoggedNote`, which has the attributes of a live `Note`
that `sentence`, `explain` and `_summary` read, so `explain(logged_note(...), start_epoch)` gives what
`Simulation.explain(id)` gave during the run (`shopsim explain RUN ID`).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from shopsim.notify.notifier import trace_record
from shopsim.contract.taxonomy import DIGEST
from shopsim.notify.policy import DEFERRED, DIGESTED, NO_PARAMS, REROUTED, SUPPRESSED, Verdict
from shopsim.notify.state import Note
from shopsim.contract.taxonomy import CATEGORY_CLASS, CRITICAL, MARKETING, TRANSACTIONAL
from shopsim.contract.units import format_duration
from shopsim.contract import events as E
from shopsim.contract.clock import epoch_ms, iso
from shopsim.contract.events import Event

_UNREACHABLE = {
    "reach.app": "they do not have the app",
    "push_os_permission": "they have not allowed notifications on their phone",
    "reach.phone": "there is no phone number on file",
    "sms_opt_in": "they have not opted in to SMS",
    "reach.email": "they have no verified email address",
}
_SKIPPED = {
    CRITICAL: "account security messages skip consent, preferences, flow state, dedupe, caps, digests, "
              "quiet hours and send windows",
    TRANSACTIONAL: "transactional messages skip consent, caps and digests",
}


def _local(epoch: int, tz: str) -> str:
    return datetime.fromtimestamp(epoch / 1000, timezone.utc).astimezone(ZoneInfo(tz)).strftime("%H:%M")


def _words(cat: str) -> str:
    return cat.replace("_", " ")


def sentence(v: Verdict, note: Note | LoggedNote, start_epoch: int) -> str:
    """One verdict as a sentence: what the step decided and which rule decided it."""
    p, tz = v.params, note.sh.tz
    if v.step == "reachable":
        if v.outcome == REROUTED:
            return (f"rerouted: {p['channel']} cannot reach the shopper ({_UNREACHABLE.get(v.rule, v.rule)}); "
                    f"this critical message goes by {p['to']} instead")
        if v.outcome == SUPPRESSED:
            return f"suppressed: {p['channel']} cannot reach the shopper ({_UNREACHABLE.get(v.rule, v.rule)})"
        return f"reachable: the shopper can receive {p['channel']}"
    if v.step == "consent":
        if v.outcome == SUPPRESSED:
            what = "marketing" if v.reason == "no_marketing_consent" else "personalised recommendations"
            return f"suppressed: the shopper has not consented to {what} ({v.rule})"
        return "consent: given" if p.get("class") == "marketing" else "consent: not needed"
    if v.step == "preferences":
        if v.reason == "channel_off":
            return f"suppressed: the shopper switched {note.channel} off ({v.rule})"
        if v.reason == "category_channel_off":
            return f"suppressed: the shopper switched {_words(note.category)} off on {note.channel} ({v.rule})"
        if v.reason == "frequency_off":
            return f"suppressed: the shopper set {_words(note.category)} to off ({v.rule})"
        if v.outcome == SUPPRESSED:
            return f"suppressed: {v.reason} ({v.rule})"
        if "items" in p:
            return "preferences: the channel is on"
        return f"preferences: {note.channel} is on for {_words(note.category)} ({p.get('frequency')})"
    if v.step == "flow_state":
        if v.reason == "flow_condition":
            return f"suppressed: the step's condition does not hold ({p['condition']}; {v.rule})"
        if v.outcome == SUPPRESSED:
            return f"suppressed: the flow is over ({p['exit'].replace('_', ' ')})"
        return "flow state: the flow still holds"
    if v.step == "dedupe":
        if v.reason == "superseded":
            return f"suppressed: a newer update about the same thing ({p['by']}) replaced this one while it waited"
        if v.reason == "duplicate":
            return f"suppressed: the same message was already sent ({p['key']})"
        return "dedupe: not sent before"
    if v.step == "caps":
        if v.outcome == SUPPRESSED:
            scope = f"{_words(p['category'])} " if p.get("category") else ""
            under = f" (the caps of policy {p['policy']})" if p.get("policy") else ""
            return (f"suppressed: frequency cap {v.rule}{under} allows {p['max']} {scope}{note.channel} message(s) "
                    f"per {format_duration(p['per_ms'])}, and {p['recent']} went out in that window")
        return f"caps: under every cap of policy {p['policy']}" if p.get("policy") else "caps: under every cap"
    if v.step == "digest":
        if v.outcome == DIGESTED:
            at = p["at"] if isinstance(p["at"], int) else None
            when = f" due at {_local(at, tz)} local ({tz})" if at is not None else ""
            return f"digested: {_words(note.category)} are {p['frequency']} for this shopper; batched into {p['digest']}{when}"
        if v.outcome == SUPPRESSED:
            return "suppressed: nothing left in the digest (every item was switched off since)"
        if "items" in p:
            dropped = f", dropped since they joined: {', '.join(p['dropped'])}" if p["dropped"] else ""
            return f"digest: carries {p['items']} item(s){dropped}"
        return f"digest: {p.get('frequency', 'realtime')}, sent on its own"
    if v.step in ("quiet_hours", "send_window"):
        if v.outcome == DEFERRED:
            what = "quiet hours" if v.step == "quiet_hours" else f"outside the {note.channel} send window"
            return (f"deferred: {what} {p['start']}–{p['end']} {p['tz']}, until {_local(p['until'], tz)} local "
                    f"({v.rule})" if v.step == "send_window" else
                    f"deferred: quiet hours {p['start']}–{p['end']} {p['tz']}, until {_local(p['until'], tz)} local")
        return f"{v.step.replace('_', ' ')}: none apply now"
    if v.step == "render":
        return f"rendered with the {p['template']} template"
    return f"{v.step}: {v.outcome}"


def explain(note: Note | LoggedNote, start_epoch: int) -> dict[str, Any]:
    tz = note.sh.tz
    passes, sentences = [], []
    if note.cls in _SKIPPED:
        sentences.append(_SKIPPED[note.cls])
    for t, verdicts in note.evaluations:
        passes.append({"t": iso(start_epoch + t), "local": _local(start_epoch + t, tz),
                       "steps": trace_record(verdicts, start_epoch)})
        sentences.extend(sentence(v, note, start_epoch) for v in verdicts)
    summary = _summary(note, start_epoch)
    sentences.append(summary)
    out = {"id": note.id, "shopper": note.sh.id, "category": note.category, "class": note.cls,
           "channel": note.channel, "requested_channel": note.requested_channel, "kind": note.kind,
           "source": note.source, "ref": note.ref, "requested_at": iso(start_epoch + note.t),
           "tz": tz, "outcome": note.outcome, "passes": passes, "sentences": sentences, "summary": summary}
    if note.items is not None:
        out["digest_of"] = [i.id for i in note.items]
    if note.digest is not None:
        out["digest"] = note.digest.id
    return out


def _final(note: Note | LoggedNote, start_epoch: int) -> str:
    tz = note.sh.tz
    if not note.evaluations:
        return "waiting"
    t, verdicts = note.evaluations[-1]
    last = verdicts[-1]
    when = f"{_local(start_epoch + t, tz)} local"
    if note.outcome == "delivered":
        return f"delivered at {when}"
    if note.outcome == SUPPRESSED:
        return sentence(last, note, start_epoch)
    if note.outcome == DIGESTED:
        d = note.digest
        text = f"batched into the {d.period} {d.channel} digest {d.id}"
        if d.outcome == "delivered":
            if note in d.items:
                return f"{text}, delivered at {_local(start_epoch + d.evaluations[-1][0], tz)} local"
            why = next((x for x in d.data.get("dropped", ()) if x["id"] == note.id), None)
            rule = f" ({why['rule']})" if why else ""
            return f"{text}, then dropped from it: the shopper's settings changed before it went out{rule}"
        if d.outcome == SUPPRESSED:
            return f"{text}, which was not sent ({d.evaluations[-1][1][-1].reason})"
        return f"{text}, due at {_local(start_epoch + d.until, tz)} local"
    if note.outcome == DEFERRED:
        return f"deferred until {_local(start_epoch + note.until, tz)} local"
    return note.outcome or "waiting"


def _summary(note: Note | LoggedNote, start_epoch: int) -> str:
    """"deferred: quiet hours 22:00–08:00 Europe/Berlin, delivered at 08:00 local"."""
    final = _final(note, start_epoch)
    waits = [v for _, verdicts in note.evaluations[:-1] for v in verdicts if v.outcome == DEFERRED]
    if note.kind == DIGEST and note.outcome == "delivered":
        final = f"{final}, carrying {len(note.items)} message(s)"
    if not waits:
        return final
    first = sentence(waits[0], note, start_epoch).split(", until")[0]
    return f"{first}, {final}"


# --- a notification rebuilt from the log ---------------------------------------------------------------

_STORY = frozenset({E.NOTIFICATION_REQUESTED, E.NOTIFICATION_DEFERRED, *E.NOTIFICATION_OUTCOMES})


class _Shopper:
    __slots__ = ("id", "tz")

    def __init__(self, sid: str, tz: str):
        self.id, self.tz = sid, tz


class LoggedNote:
    """A notification as its log lines tell it, with the attributes of a live `Note` that the functions above
    read. `evaluations` holds one (virtual time, verdicts) pair per outcome line, as the live note does."""

    __slots__ = ("id", "sh", "category", "cls", "channel", "requested_channel", "kind", "source", "ref", "t",
                 "evaluations", "outcome", "until", "digest", "period", "items", "data")

    def __init__(self, nid: str, sh: _Shopper, category: str, channel: str, kind: str, source: str,
                 ref: str | None, t: int):
        self.id, self.sh, self.category = nid, sh, category
        self.cls = CATEGORY_CLASS.get(category, MARKETING)  # a digest is marketing
        self.channel = self.requested_channel = channel
        self.kind, self.source, self.ref, self.t = kind, source, ref, t
        self.evaluations: list[tuple[int, list[Verdict]]] = []
        self.outcome: str | None = None
        self.until: int | None = None
        self.digest: LoggedNote | None = None
        self.period: str | None = None
        self.items: list[LoggedNote] | None = None
        self.data: dict[str, Any] = {}


def verdict_of(record: dict[str, Any]) -> Verdict:
    """A `trace` entry of the log back as the Verdict it was written from (`trace_record` in reverse): the
    instants `until` and `at`, ISO strings in the log, become epoch milliseconds again."""
    params = record.get("params")
    if params:
        params = dict(params)
        for k in ("until", "at"):
            if isinstance(params.get(k), str):
                params[k] = _epoch(params[k])
    return Verdict(record["step"], record["outcome"], record.get("reason"), record.get("rule"),
                   params or NO_PARAMS)


def _epoch(t: str) -> int:
    return epoch_ms(datetime.fromisoformat(t))


def logged_note(nid: str, events: list[Event], tz: str, start_epoch: int) -> LoggedNote | None:
    """Rebuild notification `nid` from `events`: the shopper's notification.requested, .deferred, .digested,
    .delivered and .suppressed events in log order (others are skipped). A digested message comes with its
    digest, a digest with the messages it carries. None when `nid` is in none of them."""
    story = [ev for ev in events if ev.type in _STORY]
    sid = nid.rsplit("-n", 1)[0]
    sh = _Shopper(sid, tz)
    note = _rebuild(nid, story, sh, start_epoch)
    if note is None:
        return None
    if note.kind == DIGEST:
        _digest_parts(note, story, own=note)
    elif note.outcome == DIGESTED:
        d = note.digest = _rebuild(note.digest, story, sh, start_epoch)  # type: ignore[arg-type]
        _digest_parts(d, story, own=note)
    return note


def _rebuild(nid: str, story: list[Event], sh: _Shopper, start_epoch: int) -> LoggedNote | None:
    """One notification's request and passes. A digest due after the run's end was never requested: it is
    rebuilt from the messages that joined it, waiting, as the live digest was."""
    note = None
    for ev in story:
        d = ev.data
        if d["id"] != nid:
            if note is None and ev.type == E.NOTIFICATION_DIGESTED and d["digest"] == nid:
                at = _epoch(d["at"]) - start_epoch
                note = LoggedNote(nid, sh, DIGEST, d["channel"], DIGEST, "", None, at)
                note.until = at
            continue
        if ev.type == E.NOTIFICATION_REQUESTED:
            note = LoggedNote(nid, sh, d["category"], d["channel"], d["kind"], d["source"], d["ref"], ev.t)
            continue
        if note is None:  # an outcome without its request: not a log this can explain
            return None
        note.channel = d["channel"]
        note.evaluations.append((ev.t, [verdict_of(r) for r in d["trace"]]))
        note.outcome = ev.type[len("notification."):]
        if ev.type == E.NOTIFICATION_DEFERRED:
            note.until = _epoch(d["until"]) - start_epoch
        elif ev.type == E.NOTIFICATION_DIGESTED:
            note.digest = d["digest"]  # an id until logged_note() rebuilds the digest
        elif ev.type == E.NOTIFICATION_DELIVERED and d.get("digest_of") is not None:
            note.data["dropped"] = d.get("dropped") or []
    return note


def _digest_parts(d: LoggedNote, story: list[Event], own: LoggedNote) -> None:
    """A digest's period and items as the live digest held them when the run ended: the messages that
    joined it, less those dropped at its passes (a delivered digest names them: digest_of)."""
    members = [ev.data for ev in story if ev.type == E.NOTIFICATION_DIGESTED and ev.data["digest"] == d.id]
    if members:
        d.period = members[0]["trace"][-1].get("params", {}).get("frequency")
    elif d.source.startswith("digest:"):
        d.period = d.source.split(":", 1)[1]
    if not d.source and d.period:
        d.source = f"digest:{d.period}"
    ids = [m["id"] for m in members]
    delivered = next((ev.data for ev in story if ev.type == E.NOTIFICATION_DELIVERED and ev.data["id"] == d.id),
                     None)
    if delivered is not None:
        ids = list(delivered["digest_of"])
    else:
        # The live digest keeps the messages left after its last pass that went past the digest step.
        dropped: list[str] = []
        for _, verdicts in d.evaluations:
            step = next((v for v in verdicts if v.step == "digest"), None)
            if step is not None and step.outcome != SUPPRESSED:
                dropped = list(step.params.get("dropped", ()))
        ids = [i for i in ids if i not in dropped]
    d.items = [own if i == own.id else LoggedNote(i, d.sh, "", d.channel, "", "", None, 0) for i in ids]
