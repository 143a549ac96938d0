"""What a run exercised of its scenario's policies, and what it never did (`shopsim coverage`).

The scenario says what could happen: each flow step, each branch of a step's condition, each exit, each
cap and send window, quiet hours, digests, each campaign and experiment arm. One pass over the run's events
says what did. Every item is a coverage point, exercised or not; an unexercised one says what would
exercise it. The category × channel cells the run asked for are points too (a cell asked for and never
delivered is a gap), and the extremes name the shoppers a reviewer should look at first: the most
messages in a local day, the most interruptions at night, the most capped, the longest silence.

"Night" is 22:00–08:00 local, the quiet hours every shipped scenario uses (a convention, not a figure)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from shopsim.contract import events as E

NIGHT = (22, 8)


@dataclass(frozen=True)
class Point:
    group: str          # flows, conditions, exits, caps, send windows, quiet hours, digests, campaigns, arms, cells
    name: str
    hits: int
    hint: str           # what would exercise it (shown when hits == 0)
    where: tuple = ()   # its place in the scenario file, for `lint --simulate` (empty: the run's, not the file's)

    @property
    def covered(self) -> bool:
        return self.hits > 0


class _Tally:
    def __init__(self) -> None:
        self.requested: Counter = Counter()       # source -> requests
        self.delivered: Counter = Counter()       # source -> deliveries
        self.rules: Counter = Counter()           # (reason, rule) -> suppressions or deferrals
        self.cells_req: Counter = Counter()       # (category, channel) -> requests
        self.cells_del: Counter = Counter()       # (category, channel) -> deliveries
        self.source_of: dict[str, str] = {}       # notification id -> source
        self.flow_quiet: Counter = Counter()      # segment -> deferrals by quiet hours
        self.arms: Counter = Counter()
        self.shoppers: dict[str, tuple[str, str]] = {}   # id -> (tz, segment)
        self.day_counts: Counter = Counter()      # (shopper, local date) -> deliveries
        self.night: Counter = Counter()           # shopper -> push/SMS deliveries at night
        self.capped: Counter = Counter()          # shopper -> frequency-cap suppressions
        self.last: dict[str, int] = {}            # shopper -> last delivery (ms)
        self.gap: dict[str, int] = {}             # shopper -> longest time without a delivery (ms)
        self.start = 0
        self.end = 0


def tally(start_epoch: int) -> tuple[_Tally, Any]:
    """An empty tally and the function that adds a batch of events to it (a Simulation observer, or a
    reader's loop: `feed(batch)`)."""
    t = _Tally()
    zones: dict[str, ZoneInfo] = {}

    def feed(batch: Iterable[Any]) -> None:
        for ev in batch:
            _add(t, ev, zones, start_epoch)
    return t, feed


def _add(t: _Tally, ev: Any, zones: dict[str, ZoneInfo], start_epoch: int) -> None:
    typ, d = ev.type, ev.data
    if typ == E.SHOPPER_CREATED:
        t.shoppers[ev.shopper] = (d.get("tz") or "UTC", d.get("segment") or "")
        t.last[ev.shopper] = 0
    elif typ == E.NOTIFICATION_REQUESTED:
        src = d.get("source") or ""
        t.requested[src] += 1
        t.source_of[d["id"]] = src
        t.cells_req[(d["category"], d["channel"])] += 1
    elif typ == E.NOTIFICATION_DELIVERED:
        src = t.source_of.get(d["id"], "")
        t.delivered[src] += 1
        t.cells_del[(d["category"], d["channel"])] += 1
        sid = ev.shopper
        tz_name = t.shoppers.get(sid, ("UTC", ""))[0]
        zone = zones.get(tz_name) or zones.setdefault(tz_name, ZoneInfo(tz_name))
        local = datetime.fromtimestamp((start_epoch + ev.t) / 1000, timezone.utc).astimezone(zone)
        t.day_counts[(sid, local.date().isoformat())] += 1
        if d["channel"] in ("push", "sms") and (local.hour >= NIGHT[0] or local.hour < NIGHT[1]):
            t.night[sid] += 1
        t.gap[sid] = max(t.gap.get(sid, 0), ev.t - t.last.get(sid, 0))
        t.last[sid] = ev.t
    elif typ in (E.NOTIFICATION_SUPPRESSED, E.NOTIFICATION_DEFERRED):
        t.rules[(d.get("reason"), d.get("rule"))] += 1
        src = t.source_of.get(d["id"], "")
        t.rules[("source", src, d.get("reason"), d.get("rule"))] += 1
        if d.get("reason") == "frequency_cap":
            t.capped[ev.shopper] += 1
        if d.get("reason") == "quiet_hours":
            t.flow_quiet[t.shoppers.get(ev.shopper, ("", ""))[1]] += 1
    elif typ == E.EXPERIMENT_ASSIGNED:
        t.arms[(d.get("experiment"), d.get("variant"))] += 1
    t.end = max(t.end, ev.t)


def _rule_hits(t: _Tally, reason: str, rule: str) -> int:
    return t.rules.get((reason, rule), 0)


def coverage(sc: Any, cs: Any, events: Iterable[Any] | _Tally,
             start_epoch: int) -> tuple[list[Point], dict[str, Any]]:
    """Every coverage point of scenario `sc` (compiled as `cs`) in the run whose events are `events` (or
    already counted in a `tally`), and the extremes."""
    if isinstance(events, _Tally):
        t = events
    else:
        t, feed = tally(start_epoch)
        feed(events)
    for sid, last in t.last.items():  # the silence after the last message counts too
        t.gap[sid] = max(t.gap.get(sid, 0), t.end - last)
    pts: list[Point] = []
    for fname, flow in sc.flows.items():
        for i, step in enumerate(flow.steps, 1):
            src = f"flow:{fname}:{i}"
            pts.append(Point("flow steps", f"{fname} step {i} ({step.channel})", t.delivered[src],
                             f"a {flow.trigger} that lives {step.after} past step {i - 1 or 'the trigger'} without "
                             "an exit" if i > 1 else f"a {flow.trigger} in the run", ("flows", fname, "steps", i - 1)))
            if step.when is not None:
                base = f"flows.{fname}.steps[{i - 1}].when"
                failed = sum(n for (kind, *rest), n in t.rules.items()
                             if kind == "source" and rest[0] == src and str(rest[2] or "").startswith(base))
                held = t.requested[src] - failed
                at = ("flows", fname, "steps", i - 1, "when")
                pts.append(Point("conditions", f"{fname} step {i}: condition holds", max(0, held),
                                 "a shopper for whom the condition is true when the step is due", at))
                pts.append(Point("conditions", f"{fname} step {i}: condition fails", failed,
                                 "a shopper for whom it is false (e.g. one who clicked the previous message)", at))
        for why in flow.exit:
            hits = sum(n for (kind, *rest), n in t.rules.items() if kind == "source"
                       and rest[0].startswith(f"flow:{fname}:") and rest[2] == f"flow.exit.{why}")
            pts.append(Point("flow exits", f"{fname} ends on {why}", hits,
                             f"a shopper who does it ({why.replace('_', ' ')}) while a step is still due",
                             ("flows", fname, "exit")))
    for k, cap in enumerate(sc.policies.caps):
        name = cap.name or f"caps[{k}]"
        pts.append(Point("caps", f"{name} ({cap.channel}{'/' + cap.category if cap.category else ''}: {cap.max} "
                                 f"per {cap.per})", _rule_hits(t, "frequency_cap", name),
                         f"a shopper sent more than {cap.max} marketing {cap.channel} within {cap.per}"))
    for i, change in enumerate(getattr(sc.policies, "changes", None) or []):  # caps that come in mid-run
        for k, cap in enumerate(change.caps or []):
            name = cap.name or f"caps[{k}]"
            pts.append(Point("caps", f"{name} from {getattr(change, 'from_', None) or f'changes[{i}]'} "
                                     f"({cap.channel}: {cap.max} per {cap.per})", _rule_hits(t, "frequency_cap", name),
                             f"a shopper sent more than {cap.max} marketing {cap.channel} within {cap.per} after "
                             "the change", ("policies", "changes", i, "caps", k)))
    for k, w in enumerate(sc.policies.send_windows):
        name = f"send_windows[{k}]"
        pts.append(Point("send windows", f"{name} ({w.channel} {w.start}–{w.end})",
                         _rule_hits(t, "send_window", name),
                         f"a {w.channel} message due outside {w.start}–{w.end} local"))
    for seg in cs.segments:
        q = seg.settings.get("quiet_hours")
        if q:
            pts.append(Point("quiet hours", f"{seg.name}: {q['start']}–{q['end']}", t.flow_quiet[seg.name],
                             f"a push or SMS due between {q['start']} and {q['end']} in a {seg.name} shopper's zone"))
        else:  # a gap of the scenario itself: nothing holds this segment's pushes at night
            night = sum(n for sid, n in t.night.items() if t.shoppers.get(sid, ("", ""))[1] == seg.name)
            pts.append(Point("quiet hours", f"{seg.name}: none", 0,
                             f"quiet hours in its settings: {night:,} push/SMS reached its shoppers at night "
                             f"({NIGHT[0]}:00–0{NIGHT[1]}:00 local) unheld"))
    frequencies = {c.get("frequency") for seg in cs.segments
                   for c in (seg.settings.get("categories") or {}).values() if isinstance(c, dict)}
    for freq in ("daily", "weekly"):
        if freq in frequencies:
            pts.append(Point("digests", f"{freq} digest", t.delivered[f"digest:{freq}"],
                             f"a {freq} category with something in it when its digest is due"))
    for cname in sc.campaigns:
        pts.append(Point("campaigns", cname, t.delivered[f"campaign:{cname}"],
                         "a shopper in its audience who can receive it, before the run ends", ("campaigns", cname)))
    for ename, exp in sc.experiments.items():
        for arm in exp.variants:
            pts.append(Point("arms", f"{ename}/{arm}", t.arms[(ename, arm)], "shoppers enough to fill every arm"))
    # Cells asked for, or reached by rerouting (a push to a shopper without the app goes in-app).
    for cat, ch in sorted(t.cells_req.keys() | t.cells_del.keys()):  # `shopsim report` says why, by cell
        pts.append(Point("category × channel", f"{cat} by {ch}", t.cells_del[(cat, ch)],
                         f"asked for {t.cells_req[(cat, ch)]:,} times, never delivered: a shopper who can receive it"))
    order = list(dict.fromkeys(p.group for p in pts))  # each group together, in the order first met
    return sorted(pts, key=lambda p: order.index(p.group)), _extremes(t)


def _extremes(t: _Tally, n: int = 3) -> dict[str, Any]:
    days = defaultdict(int)
    for (sid, day), k in t.day_counts.items():
        if k > days.get(sid, 0):
            days[sid] = k
    def top(counter: dict[str, int]) -> list[tuple[str, int]]:
        return sorted(((s, v) for s, v in counter.items() if v), key=lambda x: (-x[1], x[0]))[:n]
    return {"most_in_a_day": top(days), "most_at_night": top(t.night), "most_capped": top(t.capped),
            "longest_silence_ms": top(t.gap)}


def percent(points: list[Point]) -> float:
    return 100.0 * sum(p.covered for p in points) / len(points) if points else 100.0


def silence_text(ms: int) -> str:
    return str(timedelta(milliseconds=ms)).split(".")[0].replace(" days, ", "d ").replace(" day, ", "d ")
