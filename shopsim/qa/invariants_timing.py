"""The notification invariants judged on local time and counts (part of `Notifications`, in
invariants_notify.py): quiet hours and send windows, as deliveries meet them and as deferrals are held by
them; when a digest is due; rolling-window caps. Mixins: they read and write the state `Notifications` keeps
(`self.state`, `self.windows`, `self.caps`, `self.sent`, `self.horizon`) and report through it."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from shopsim.qa.invariants_base import DIGEST, clock, hhmm
from shopsim.notify.windows import next_outside, window_end
from shopsim.contract.taxonomy import CATEGORY_CLASS, MARKETING
from shopsim.contract.units import format_duration
from shopsim.contract.clock import DAY, HOUR

if TYPE_CHECKING:
    from shopsim.contract.events import Event

INTERRUPTIVE = ("push", "sms")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
QUIET = "quiet_hours_respected"
WINDOWS = "send_windows_respected"
CAPS = "caps_respected"
DIGESTS = "digests_consistent"


class LocalTimeChecks:
    """Quiet hours, send windows and digest times, in the shopper's own time zone."""

    def check_windows(self, ev: Event, channel: str, cls: str, s: dict[str, Any]) -> None:
        if channel not in INTERRUPTIVE:
            return
        zone, epoch = self.state.zone[ev.shopper], self.state.start + ev.t
        local = self.state.local(ev.t, ev.shopper)
        minute = local.hour * 60 + local.minute
        nid = ev.data["id"]
        q = s["quiet_hours"]
        if q and window_end(zone, epoch, clock(q["start"]), clock(q["end"])) is not None:
            self.report(QUIET, ev.seq, f"{nid}: {channel} delivered at {hhmm(minute)} local, inside quiet hours "
                                       f"{q['start']}–{q['end']} ({zone.key})")
        for ch, start, end, classes, rule in self.windows:
            # Outside a send window [start, end) is inside [end, start).
            if ch == channel and cls in classes and window_end(zone, epoch, end, start) is not None:
                self.report(WINDOWS, ev.seq, f"{nid} ({cls}): {channel} delivered at {hhmm(minute)} local, outside "
                                             f"the send window {hhmm(start)}–{hhmm(end)} ({rule}, {zone.key})")

    def check_held(self, ev: Event, note: Any, until: int) -> None:
        """A deferral by quiet hours or a send window happened while it applied, and quiet hours hold a message
        until the instant they end, not until their end time comes round again."""
        reason, s = ev.data.get("reason"), self.state.settings.get(ev.shopper)
        if s is None or note.channel not in INTERRUPTIVE:
            return
        zone, epoch = self.state.zone[ev.shopper], self.state.start + ev.t
        local = self.state.local(ev.t, ev.shopper)
        at = f"at {local:%H:%M} local ({self.state.iso(ev.t)}, {zone.key})"
        nid = ev.data["id"]
        if reason == "quiet_hours":
            q = s["quiet_hours"]
            if not q:
                return self.report(QUIET, ev.seq, f"{nid}: {note.channel} held by quiet hours {at}, but "
                                                  f"{ev.shopper} has none")
            start, end = clock(q["start"]), clock(q["end"])
            if window_end(zone, epoch, start, end) is None:
                return self.report(QUIET, ev.seq, f"{nid}: {note.channel} held by quiet hours {at}, outside quiet "
                                                  f"hours {q['start']}–{q['end']}: they end the first time "
                                                  f"{q['end']} comes")
            ends = next_outside(zone, epoch, start, end) - self.state.start
            if until != ends:
                self.report(QUIET, ev.seq, f"{nid}: {note.channel} held by quiet hours {q['start']}–{q['end']} "
                                           f"until {self.state.iso(until)}, but they end at {self.state.iso(ends)} "
                                           f"({zone.key})")
        elif reason == "send_window":
            cls = MARKETING if note.category == DIGEST else CATEGORY_CLASS[note.category]
            if not any(ch == note.channel and cls in classes and window_end(zone, epoch, end, start) is not None
                       for ch, start, end, classes, _ in self.windows):
                self.report(WINDOWS, ev.seq, f"{nid} ({cls}): {note.channel} held for a send window {at}, while "
                                             "every send window for it was open")

    def check_due(self, ev: Event, did: str, period: str, at: int, s: dict[str, Any]) -> None:
        """Due at the shopper's local digest time (on her weekday, weekly), within a period of joining."""
        prefs = s["digest"]
        local = self.state.local(at, ev.shopper)
        before = self.state.local(at - 2 * HOUR, ev.shopper)
        wrong = []
        if before.utcoffset() == local.utcoffset() and local.strftime("%H:%M") != prefs["time"]:
            wrong.append(f"at {local:%H:%M} local, not {prefs['time']}")  # near a clock change the time may move
        if period == "weekly" and WEEKDAYS[local.weekday()] != prefs["weekday"]:
            wrong.append(f"on a {WEEKDAYS[local.weekday()]}, not {prefs['weekday']}")
        if at - ev.t > (7 if period == "weekly" else 1) * DAY + HOUR:
            wrong.append(f"{(at - ev.t) / DAY:.1f} days after it")
        if wrong:
            self.report(DIGESTS, ev.seq, f"{period} digest {did} of {ev.data['id']} is due " + ", ".join(wrong)
                        + f" ({self.state.zone[ev.shopper].key})")


class CapChecks:
    """Rolling-window frequency caps: what a delivery adds to its window, and whether a cap said full was."""

    def window(self, sid: str, channel: str, t: int) -> deque:
        sent = self.sent.get((sid, channel))
        if sent is None:
            sent = self.sent[(sid, channel)] = deque()
        horizon = t - self.horizon[channel]
        while sent and sent[0][0] <= horizon:
            sent.popleft()
        return sent

    def count_cap(self, ev: Event, sid: str, channel: str, category: str) -> None:
        if not self.horizon[channel]:  # no cap on the channel at any time of the run
            return
        sent = self.window(sid, channel, ev.t)
        sent.append((ev.t, category, ev.data["id"]))
        for rule in self.caps[channel]:
            ids = [i for t, c, i in sent if t > ev.t - rule.per_ms and rule.category in (None, c)]
            if len(ids) > rule.max:
                self.report(CAPS, ev.seq, f"{sid}: {len(ids)} {rule.category or 'marketing'} {channel} messages "
                                          f"within {format_duration(rule.per_ms)} ({', '.join(ids)}); {rule.name} "
                                          f"allows {rule.max}")

    def cap_was_full(self, ev: Event, sid: str, channel: str, category: str, name: str | None) -> None:
        rule = next((r for r in self.caps.get(channel, ()) if r.name == name), None)
        if rule is None:
            return self.report(CAPS, ev.seq, f"{ev.data['id']} suppressed by cap {name}, which is no cap on {channel}")
        sent = self.window(sid, channel, ev.t)
        n = sum(1 for t, c, _ in sent if t > ev.t - rule.per_ms and rule.category in (None, c))
        if n < rule.max:
            self.report(CAPS, ev.seq, f"{ev.data['id']} suppressed by {name} ({rule.max} per "
                                      f"{format_duration(rule.per_ms)}) with {n} delivered in its window")
