"""Invariants of what shoppers do with what reaches them: engagement, attribution of orders, retargeting ads."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from shopsim.qa.invariants_base import Check, IdSet, RunState, is_marketing
from shopsim.contract.taxonomy import MARKETING_CATEGORIES
from shopsim.contract.units import format_duration, parse_duration
from shopsim.contract import events as E

if TYPE_CHECKING:
    from shopsim.contract.events import Event

OPENED, ANSWERED, CLICKED, READ = 1, 2, 4, 8   # what happened to a delivered message so far (bits)
# OPENED counts any open, a privacy proxy's machine open included; READ only hers, which marks it read in her inbox.
RESPONSES = (E.NOTIFICATION_OPENED, E.NOTIFICATION_CLICKED, E.NOTIFICATION_DISMISSED, E.NOTIFICATION_UNSUBSCRIBED,
             E.NOTIFICATION_COMPLAINED)
# Ways to leave without opening: the unsubscribe button of a mail app (List-Unsubscribe), push switched off in the
# phone's settings. A spam complaint needs no open either.
UNOPENED_METHODS = {"list_unsubscribe": "email", "os_settings": "push"}


class Engagement(Check):
    INVARIANTS = {
        "engagement_follows_delivery": "opens, clicks, dismissals, unsubscribes and complaints answer a message "
                                       "delivered to the same shopper: a click, or an unsubscribe through the "
                                       "message's link, after an open; one response of each kind; dismissals on "
                                       "push only; an unsubscribe without opening only by a mail app's button "
                                       "(email) or the phone's settings (push); complaints on email only; an "
                                       "unsubscribe or complaint changes her settings at once; an ad click "
                                       "follows its impression",
    }
    NAME = "engagement_follows_delivery"

    def __init__(self, state: RunState, report):
        super().__init__(state, report)
        self.enabled = state.cs.model.engagement.enabled
        # id -> [t, category, channel, bits]: kept from delivery until a click or unsubscribe ends what she
        # can still do with it (a front end cannot reopen a message once it is read).
        self.delivered: dict[str, list] = {}
        self.done = IdSet()
        # Left unread when she unsubscribed without opening it (the mail app's button, the phone's settings):
        # the message is still in her inbox, and a front end may open it later for her.
        self.left_unread: set[str] = set()
        self.unsub: Event | None = None     # waiting for the settings.changed it causes, on the next line
        self.impression: dict[str, tuple[str, int]] = {}   # shopper -> (last ad shown, when)

    def routes(self):
        return {E.NOTIFICATION_DELIVERED: self.on_delivered, E.SETTINGS_CHANGED: self.on_settings,
                E.AD_IMPRESSION: self.on_impression, E.AD_CLICKED: self.on_ad_click,
                **{t: self.on_response for t in RESPONSES}}

    def bad(self, ev: Event, text: str) -> None:
        self.report(self.NAME, ev.seq, text)

    def on_delivered(self, ev: Event) -> None:
        d = ev.data
        self.delivered[d["id"]] = [ev.t, d["category"], d["channel"], 0]

    def on_response(self, ev: Event) -> None:
        d, nid, word = ev.data, ev.data["id"], ev.type.split(".")[1]
        by_shopper = ev.type != E.NOTIFICATION_OPENED or d.get("source") == "shopper"
        if not self.enabled and by_shopper:
            self.bad(ev, f"{nid} {word} by {ev.shopper}, but engagement is off in this scenario")
        rec = self.delivered.get(nid)
        if rec is None and d.get("source") == "proxy" and nid in self.done:
            return  # a proxy fetching a message she already answered is not an answer of hers
        if rec is None and ev.type == E.NOTIFICATION_OPENED and d.get("source") == "user" and nid in self.left_unread:
            self.left_unread.discard(nid)
            return
        if rec is None:
            why = "after she had clicked it or unsubscribed through it" if nid in self.done else "never delivered"
            return self.bad(ev, f"{nid} {word}, {why}")
        t, category, channel, bits = rec
        if not nid.startswith(f"{ev.shopper}-"):
            self.bad(ev, f"{nid} {word} by {ev.shopper}, who did not receive it")
        if ev.t < t or (d["category"], d["channel"]) != (category, channel):
            self.bad(ev, f"{nid} {word} ({d['category']}, {d['channel']}) at {self.state.iso(ev.t)}; it was "
                         f"delivered ({category}, {channel}) at {self.state.iso(t)}")
        if ev.type == E.NOTIFICATION_OPENED:
            if by_shopper:
                if bits & ANSWERED:
                    self.bad(ev, f"{nid} opened by {ev.shopper} after she had already opened or dismissed it")
                bits |= ANSWERED | READ
            elif d.get("source") == "user":  # a front end opened it for her
                bits |= READ
            bits |= OPENED
        elif ev.type == E.NOTIFICATION_DISMISSED:
            if channel != "push":
                self.bad(ev, f"{nid} dismissed on {channel}; only a push is dismissed")
            if bits & ANSWERED:
                self.bad(ev, f"{nid} dismissed after she had already opened or dismissed it")
            bits |= ANSWERED
        else:
            method = d.get("method", "link")
            unopened = ev.type == E.NOTIFICATION_COMPLAINED or method in UNOPENED_METHODS
            if not unopened and not bits & OPENED:
                self.bad(ev, f"{nid} {word} before it was opened")
            if method in UNOPENED_METHODS and UNOPENED_METHODS[method] != channel:
                self.bad(ev, f"{nid} unsubscribed by {method} on {channel}; that way exists on "
                             f"{UNOPENED_METHODS[method]} only")
            if ev.type == E.NOTIFICATION_COMPLAINED:
                if channel != "email" or not is_marketing(category):
                    self.bad(ev, f"{nid} ({category}, {channel}) marked as spam; complaints are about marketing email")
                self.expect_unsubscribe(ev)
            if ev.type == E.NOTIFICATION_UNSUBSCRIBED:
                if not is_marketing(category):
                    self.bad(ev, f"unsubscribed from {nid} ({category}); only marketing messages have the link")
                self.expect_unsubscribe(ev)
            del self.delivered[nid]
            self.done.add(nid)
            if unopened and not bits & READ:  # a proxy's fetch leaves it unread in her inbox
                self.left_unread.add(nid)
            return
        rec[3] = bits

    def expect_unsubscribe(self, ev: Event) -> None:
        if self.unsub is not None:
            self.missed()
        self.unsub = ev

    def missed(self) -> None:
        u = self.unsub
        self.unsub = None
        source = _source(u)
        self.bad(u, f"{u.data['id']} {u.type.split('.')[1]}, but settings.changed (source {source}) does not "
                    "follow at once")

    def on_settings(self, ev: Event) -> None:
        if ev.data.get("source") not in ("unsubscribe", "os_settings"):
            return
        u = self.unsub
        if u is None or u.seq != ev.seq - 1 or u.shopper != ev.shopper or _source(u) != ev.data["source"]:
            if u is not None:
                self.missed()
            return self.bad(ev, f"{ev.shopper}'s settings changed by {ev.data['source']}, with no "
                                "notification.unsubscribed or notification.complained on the line before")
        self.unsub = None
        settings = ev.data["settings"]
        if u.type == E.NOTIFICATION_COMPLAINED:
            still = [c for c in MARKETING_CATEGORIES if settings["categories"][c]["email"] is not False]
            if still:
                self.bad(ev, f"a spam complaint about {u.data['id']} left {', '.join(still)} on email switched on")
            return
        if u.data.get("method") == "os_settings":
            if settings.get("push_os_permission") is not False:
                self.bad(ev, f"push turned off in the phone's settings ({u.data['id']}), but push_os_permission "
                             "is still on")
            return
        category, channel = u.data["category"], u.data["channel"]
        cats = MARKETING_CATEGORIES if category == "digest" else (category,)
        still = [c for c in cats if settings["categories"][c][channel] is not False]
        if still:
            self.bad(ev, f"unsubscribing from {u.data['id']} left {', '.join(still)} on {channel} switched on")

    def tick(self, t: int) -> None:
        if self.unsub is not None:
            self.missed()

    def on_impression(self, ev: Event) -> None:
        self.impression[ev.shopper] = (ev.data["ad"], ev.t)

    def on_ad_click(self, ev: Event) -> None:
        if self.impression.get(ev.shopper) != (ev.data["ad"], ev.t):
            self.bad(ev, f"ad {ev.data['ad']} clicked by {ev.shopper} without being shown to her at that instant")

    def finish(self) -> None:
        if self.unsub is not None:
            self.missed()


class Attribution(Check):
    INVARIANTS = {
        "attribution_valid": "an order's attributed_to is the shopper's last click on a marketing message or ad "
                             "within the attribution window before it, one order per click, and null only when "
                             "there is none",
    }
    NAME = "attribution_valid"

    def __init__(self, state: RunState, report):
        super().__init__(state, report)
        self.window = state.cs.attribution_window
        self.last: dict[str, tuple[str, int]] = {}   # shopper -> (id, t) of her last attributable click

    def routes(self):
        return {E.NOTIFICATION_CLICKED: self.on_click, E.AD_CLICKED: self.on_ad_click, E.ORDER_PLACED: self.on_order}

    def on_click(self, ev: Event) -> None:
        if is_marketing(ev.data["category"]):  # order and shipping updates bring visits, never orders' credit
            self.last[ev.shopper] = (ev.data["id"], ev.t)

    def on_ad_click(self, ev: Event) -> None:
        self.last[ev.shopper] = (ev.data["ad"], ev.t)

    def on_order(self, ev: Event) -> None:
        d = ev.data
        got, last = d["attributed_to"], self.last.pop(ev.shopper, None)  # an order uses up the click before it
        window = format_duration(self.window)
        if last is not None and ev.t - last[1] > self.window:
            last = None
        if got is None:
            if last is not None:
                self.report(self.NAME, ev.seq, f"{d['order']} is attributed to nothing, though {ev.shopper} clicked "
                                               f"{last[0]} within {window} before it")
        elif last is None:
            self.report(self.NAME, ev.seq, f"{d['order']} is attributed to {got}, but {ev.shopper} has no marketing "
                                           f"or ad click within {window} before it that no earlier order used")
        elif got != last[0]:
            self.report(self.NAME, ev.seq, f"{d['order']} is attributed to {got}, but {ev.shopper}'s last marketing "
                                           f"or ad click before it was {last[0]}")


class Ads(Check):
    INVARIANTS = {
        "ads_need_personalization": "a retargeting ad is shown only to a shopper who consents to personalization "
                                    "at that instant",
        "ads_under_cap": "no shopper sees more retargeting ads than the ads cap allows in any rolling window",
    }

    def __init__(self, state: RunState, report):
        super().__init__(state, report)
        cap = state.cs.model.ads.cap
        self.max, self.per = cap.max, parse_duration(cap.per)
        self.shown: dict[str, deque] = {}

    def routes(self):
        return {E.AD_IMPRESSION: self.on_impression}

    def on_impression(self, ev: Event) -> None:
        sid, ad = ev.shopper, ev.data["ad"]
        s = self.state.settings.get(sid)
        if s is not None and not s["personalization"]:
            self.report("ads_need_personalization", ev.seq, f"ad {ad} shown to {sid}, who does not consent to "
                                                            "personalization")
        times = self.shown.setdefault(sid, deque())
        while times and times[0] <= ev.t - self.per:
            times.popleft()
        times.append(ev.t)
        if len(times) > self.max:
            self.report("ads_under_cap", ev.seq, f"{sid} was shown {len(times)} ads within {format_duration(self.per)} "
                                                 f"(the last {ad}); the ads cap allows {self.max}")


def _source(ev: Event) -> str:
    """The settings.changed source an unsubscribe or a complaint causes."""
    return "os_settings" if ev.data.get("method") == "os_settings" else "unsubscribe"
