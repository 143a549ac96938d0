"""Policies that contradict each other, found before anything runs (`shopsim lint`, and `validate` as warnings).

A scenario can be valid field by field and still ask for something that cannot happen: a send window that
only opens during quiet hours, a cap too small for a flow's own steps, a flash sale whose pushes are held
until after it ends. Each rule reads the compiled scenario (segments' merged settings and consent, the
locales' time zones) and returns findings placed at the line that causes them, with a one-line fix.

"Night" below is 22:00–08:00 local, the quiet hours every shipped scenario uses; it is a convention of
this check, not a published figure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterator
from zoneinfo import ZoneInfo

from shopsim.contract.units import parse_duration
from shopsim.scenario.compiled import CompiledScenario
from shopsim.scenario.problems import Path, Positions, format_path, locate
from shopsim.scenario.schema import Scenario

ERROR, WARNING = "error", "warning"
NIGHT = ("22:00", "08:00")
DAY_MIN = 24 * 60


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    col: int
    path: str
    severity: str
    rule: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.path}: {self.severity} {self.rule}: {self.message} (fix: {self.fix})"


def _min(clock: str) -> int:
    h, m = clock.split(":")
    return int(h) * 60 + int(m)


def _inside(window: tuple[str, str], minute: int) -> bool:
    """Whether local minute-of-day `minute` is inside [start, end) of a window that may wrap midnight."""
    a, b = _min(window[0]), _min(window[1])
    return a <= minute < b if a <= b else minute >= a or minute < b


def _covered(inner: tuple[str, str], outer: tuple[str, str]) -> bool:
    """Whether every minute of `inner` lies inside `outer`."""
    a, b = _min(inner[0]), _min(inner[1])
    length = (b - a) % DAY_MIN or DAY_MIN
    return all(_inside(outer, (a + k) % DAY_MIN) for k in range(0, length))


def _quiet(seg_settings: dict[str, Any]) -> tuple[str, str] | None:
    q = seg_settings.get("quiet_hours")
    return (q["start"], q["end"]) if q else None


class _Linter:
    def __init__(self, sc: Scenario, cs: CompiledScenario, positions: Positions, filename: str) -> None:
        self.sc, self.cs, self.positions, self.filename = sc, cs, positions, filename
        self.found: list[Finding] = []

    def add(self, path: Path, severity: str, rule: str, message: str, fix: str) -> None:
        line, col = locate(self.positions, path)
        self.found.append(Finding(self.filename, line, col, format_path(path), severity, rule, message, fix))

    def segments(self) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
        for seg in self.cs.segments:
            yield seg.name, seg.settings, seg.consent

    def zones(self) -> list[str]:
        return sorted({tz for tzs, _ in self.cs.zones.values() for tz in tzs})

    # --- the rules -----------------------------------------------------------------------------------------

    def policy_sets(self, field: str) -> Iterator[tuple[Path, str, list[Any]]]:
        """The run's caps or send windows (`field`), then each set a policies.changes entry brings in: its path,
        how the rule is named, the list."""
        pol = self.sc.policies
        yield ("policies", field), "", getattr(pol, field)
        for i, change in enumerate(pol.changes):
            got = getattr(change, field)
            if got is not None:
                yield ("policies", "changes", i, field), f"changes[{i}].", got

    def windows_inside_quiet_hours(self) -> None:
        for path, _, windows in self.policy_sets("send_windows"):
            for i, w in enumerate(windows):
                for name, settings, _ in self.segments():
                    q = _quiet(settings)
                    if q and _covered((w.start, w.end), q):
                        self.add((*path, i), ERROR, "window-inside-quiet-hours",
                                 f"the {w.channel} send window {w.start}–{w.end} lies inside {name}'s quiet hours "
                                 f"{q[0]}–{q[1]}: its {w.channel} messages never go out",
                                 "move the window into the day, or shorten the quiet hours")
                        break
        for fname, flow in self.sc.flows.items():
            for j, step in enumerate(flow.steps):
                if step.send_window is None or step.channel not in ("push", "sms"):
                    continue
                for name, settings, _ in self.segments():
                    q = _quiet(settings)
                    if q and _covered((step.send_window.start, step.send_window.end), q):
                        self.add(("flows", fname, "steps", j, "send_window"), ERROR, "window-inside-quiet-hours",
                                 f"step {j + 1} may go out only {step.send_window.start}–{step.send_window.end}, "
                                 f"inside {name}'s quiet hours {q[0]}–{q[1]}: it never reaches them",
                                 "send the step by email, or move its window into the day")
                        break

    def caps_shorter_than_flows(self) -> None:
        for fname, flow in self.sc.flows.items():
            at, offsets = 0, []
            for step in flow.steps:
                at += parse_duration(step.after)
                offsets.append(at)
            caps = [(prefix, k, cap) for _, prefix, got in self.policy_sets("caps") for k, cap in enumerate(got)]
            for prefix, k, cap in caps:
                if cap.category is not None and cap.category != flow.category:
                    continue
                per = parse_duration(cap.per)
                steps = [j for j, s in enumerate(flow.steps) if s.channel == cap.channel]
                for n, j in enumerate(steps):
                    within = [x for x in steps[n:] if offsets[x] - offsets[j] < per]
                    if len(within) > cap.max:
                        late = within[cap.max]
                        rule = cap.name or f"{prefix}caps[{k}]"
                        self.add(("flows", fname, "steps", late), WARNING, "cap-shorter-than-flow",
                                 f"{rule} lets {cap.max} {cap.channel} message{'s' * (cap.max != 1)} through per "
                                 f"{cap.per}, and this flow sends {len(within)} within {cap.per}: step {late + 1} "
                                 f"is capped whenever the steps before it went out",
                                 f"space the steps at least {cap.per} apart, use another channel, or raise the cap")
                        break

    def flash_sales_held_past_their_end(self) -> None:
        for cname, camp in self.sc.campaigns.items():
            if camp.ends is None or not {"push", "sms"} & set(camp.channels):
                continue
            lasts = parse_duration(camp.ends)
            held = []
            for name, settings, _ in self.segments():
                q = _quiet(settings)
                if not q:
                    continue
                for tz in self.zones():
                    local = self._local_send(camp, tz)
                    if local is None:
                        continue
                    minute = local.hour * 60 + local.minute
                    if _inside(q, minute):
                        wait = (_min(q[1]) - minute) % DAY_MIN
                        if wait * 60_000 >= lasts:
                            held.append(f"{name} in {tz}")
            if held:
                self.add(("campaigns", cname, "ends"), WARNING, "offer-ends-in-quiet-hours",
                         f"the offer lasts {camp.ends}, but its push and SMS reach {_some(held)} during their quiet "
                         "hours and wait past its end: the coupon has expired when it arrives",
                         "send it at a local time in the day (local_time), or let the offer last longer")

    def _local_send(self, camp: Any, tz: str) -> datetime | None:
        try:
            start = datetime.fromisoformat(self.sc.run.start.replace("Z", "+00:00"))
            at = start + timedelta(milliseconds=parse_duration(str(camp.at)))
        except (ValueError, TypeError):
            return None
        local = at.astimezone(ZoneInfo(tz))
        if camp.local_time:
            h, m = camp.local_time.split(":")
            local = local.replace(hour=int(h), minute=int(m))
        return local

    def recommendations_without_consent(self) -> None:
        for cname, camp in self.sc.campaigns.items():
            if camp.kind != "recommendations":
                continue
            wanted = set(camp.audience.segments or [s.name for s in self.cs.segments])
            if all(c.get("personalization", 0) == 0 or c.get("marketing_consent", 0) == 0
                   for name, _, c in self.segments() if name in wanted):
                self.add(("campaigns", cname), ERROR, "no-personalization-consent",
                         "recommendations need personalization and marketing consent, and no shopper in its "
                         "audience has both: every one of them is suppressed",
                         "give the audience's segments consent.personalization above 0, or drop the campaign")
        for fname, flow in self.sc.flows.items():
            if flow.category == "recommendations" and all(c.get("personalization", 0) == 0
                                                           for _, _, c in self.segments()):
                self.add(("flows", fname, "category"), ERROR, "no-personalization-consent",
                         "this flow's messages are recommendations, and no shopper has personalization consent",
                         "give population.consent.personalization a share above 0, or another category")

    def digest_in_quiet_hours(self) -> None:
        for name, settings, _ in self.segments():
            q, d = _quiet(settings), settings.get("digest") or {}
            if q and d.get("time") and _inside(q, _min(d["time"])):
                self.add(("population", "settings", "digest"), WARNING, "digest-in-quiet-hours",
                         f"{name}'s digests are due at {d['time']}, inside their quiet hours {q[0]}–{q[1]}: "
                         f"push and SMS digests wait until {q[1]}",
                         f"set the digest time after {q[1]}")
                return

    def exits_that_never_happen(self) -> None:
        for fname, flow in self.sc.flows.items():
            if flow.trigger == "browse.abandoned" and "cart_emptied" in flow.exit:
                self.add(("flows", fname, "exit"), WARNING, "exit-never-happens",
                         "a browse flow is about a visit, not a cart: cart_emptied never ends it",
                         "remove cart_emptied from exit")
            first = flow.steps[0].when
            if first is not None and (first.opened is not None or first.clicked is not None):
                self.add(("flows", fname, "steps", 0, "when"), WARNING, "condition-without-previous-step",
                         "opened and clicked read the previous step's message, and the first step has none",
                         "move the condition to a later step, or drop it")

    def marketing_at_night(self) -> None:
        unquiet = [name for name, settings, _ in self.segments() if not _quiet(settings)]
        if not unquiet:
            return
        late: list[str] = []
        zones: list[str] = []
        for cname, camp in self.sc.campaigns.items():
            if not {"push", "sms"} & set(camp.channels):
                continue
            night = [tz for tz in self.zones() if (t := self._local_send(camp, tz)) is not None
                     and _inside(NIGHT, t.hour * 60 + t.minute)]
            if night:
                late.append(cname)
                zones += night
        if late:  # one finding for them all, at the first: forty of the same line would hide the rest
            camp = self.sc.campaigns[late[0]]
            who = (f"{late[0]}'s push/SMS go" if len(late) == 1
                   else f"{len(late)} campaigns' push/SMS ({_some(late)}) go")
            self.add(("campaigns", late[0], "local_time" if camp.local_time else "at"), WARNING, "push-at-night",
                     f"{who} out at night ({NIGHT[0]}–{NIGHT[1]} local) in {_some(zones)}, to shoppers with no quiet "
                     f"hours (segment {_some(unquiet)}): they interrupt them in bed",
                     'give population.settings quiet_hours (e.g. {start: "22:00", end: "08:00"}), or send '
                     "them in the day")
        pushy = [f for f, flow in self.sc.flows.items() if any(s.channel == "push" and s.send_window is None
                                                              for s in flow.steps)]
        if pushy and not any(w.channel == "push" for w in self.sc.policies.send_windows):
            self.add(("flows", pushy[0]), WARNING, "no-quiet-hours",
                     f"shoppers of segment {_some(unquiet)} have no quiet hours and no send window holds push: "
                     "this flow's pushes go out at any hour of the night",
                     'give population.settings quiet_hours, or a send_window on the push steps')


def _some(items: list[str], n: int = 3) -> str:
    items = list(dict.fromkeys(items))
    return ", ".join(items[:n]) + (f" and {len(items) - n} more" if len(items) > n else "")


RULES = ("windows_inside_quiet_hours", "caps_shorter_than_flows", "flash_sales_held_past_their_end",
         "recommendations_without_consent", "digest_in_quiet_hours", "exits_that_never_happen", "marketing_at_night")


def lint(sc: Scenario, cs: CompiledScenario, positions: Positions, filename: str) -> list[Finding]:
    """Every finding of every rule, errors first, then in file order."""
    linter = _Linter(sc, cs, positions, filename)
    for rule in RULES:
        getattr(linter, rule)()
    return sorted(dict.fromkeys(linter.found), key=lambda f: (f.severity != ERROR, f.line, f.col, f.rule))


__all__ = ["ERROR", "Finding", "WARNING", "lint"]
