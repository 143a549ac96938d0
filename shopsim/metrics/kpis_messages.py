"""Message KPIs: the counters of all messages, of each channel, each category and each (category, channel).

A mixin of `Metrics` (kpis.py): the handlers of the `notification.*` events and the reading of the
counters. Definitions: docs/metrics.md, section Messages."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from shopsim.metrics.kpis_base import PROXY, UNSUBSCRIBED, by_count, declare, grow, kpi, ordered, ratio
from shopsim.contract.clock import HOUR
from shopsim.contract.taxonomy import CHANNELS

NOTE_FIELDS = ("requested", "delivered", "deferred", "digested", "suppressed", "opened", "human_opened",
               "machine_opened", "clicked", "dismissed", "unsubscribed", "complained", "orders", "recipients",
               "recipients_opened", "recipients_clicked")
# Per recipient: bit 3·scope + k of a shopper's mask says she was delivered (k = 0), opened (1) or clicked (2)
# at least one message of that scope; its counter goes up when the bit is first set.
_REACH = ("recipients", "recipients_opened", "recipients_clicked")
# What a (category, channel) scope counts that the wider scopes sum: all but the recipients.
_SUMMED = tuple(f for f in NOTE_FIELDS if f not in _REACH)
# notification.opened: what the opened-ids mask records.
_OPEN_ANY, _OPEN_HUMAN, _OPEN_MACHINE = 1, 2, 4


# Message KPIs by name (what `expect:` checks, `report` prints, `diff` compares); narrow them with a channel or a category.
MESSAGE_KPIS = declare({
    "requested": kpi("messages", "count", "notifications requested"),
    "delivered": kpi("messages", "count", "notifications delivered (a digest counts once)"),
    "deferred": kpi("messages", "count", "notifications deferred at least once"),
    "digested": kpi("messages", "count", "notifications batched into a digest"),
    "suppressed": kpi("messages", "count", "notifications suppressed"),
    "opened": kpi("messages", "count", "delivered notifications opened, machine opens included (reported opens)"),
    "human_opened": kpi("messages", "count", "delivered notifications opened by a person"),
    "machine_opened": kpi("messages", "count", "delivered notifications opened by a mail privacy proxy"),
    "clicked": kpi("messages", "count", "delivered notifications clicked"),
    "dismissed": kpi("messages", "count", "pushes dismissed unopened"),
    "unsubscribed": kpi("messages", "count", "unsubscribes from a message"),
    "complained": kpi("messages", "count", "emails marked as spam"),
    "recipients": kpi("messages", "count", "shoppers delivered at least one message"),
    "recipients_opened": kpi("messages", "count", "recipients with at least one reported open"),
    "recipients_clicked": kpi("messages", "count", "recipients with at least one click"),
    "delivery_rate": kpi("messages", "rate", "delivered / requested"),
    "suppression_rate": kpi("messages", "rate", "suppressed / requested"),
    "deferral_rate": kpi("messages", "rate", "deferred / requested"),
    "digest_rate": kpi("messages", "rate", "digested / requested"),
    "open_rate": kpi("messages", "rate", "opened / delivered (reported: machine opens included)"),
    "human_open_rate": kpi("messages", "rate", "opened by a person / delivered"),
    "click_rate": kpi("messages", "rate", "clicked / delivered"),
    "click_to_open_rate": kpi("messages", "rate", "clicked / opened"),
    "order_rate": kpi("messages", "rate", "attributed orders / delivered"),
    "unsubscribe_rate": kpi("messages", "rate", "unsubscribes / delivered"),
    "complaint_rate": kpi("messages", "rate", "spam complaints / delivered"),
    "recipient_open_rate": kpi("messages", "rate", "recipients with an open / recipients"),
    "recipient_click_rate": kpi("messages", "rate", "recipients with a click / recipients"),
    "messages_per_shopper_per_day": kpi("messages", "number", "delivered / shoppers / days", "per_shopper_per_day"),
})


class _Notes:
    """Counters of one scope: all messages, a channel, a category or a category on one channel."""
    __slots__ = NOTE_FIELDS + ("reasons", "methods", "index")

    def __init__(self, index: int = 0) -> None:
        for f in NOTE_FIELDS:
            setattr(self, f, 0)
        self.reasons: Counter[str] = Counter()   # suppressed, by reason
        self.methods: Counter[str] = Counter()   # unsubscribed, by method
        self.index = index                       # which bits of a shopper's reach mask are this scope's

    def as_dict(self, shoppers: int, days: float) -> dict[str, Any]:
        d: dict[str, Any] = {f: getattr(self, f) for f in NOTE_FIELDS}
        delivered, requested, recipients = self.delivered, self.requested, self.recipients
        d["suppressed_by_reason"] = by_count(self.reasons)
        d["unsubscribed_by_method"] = by_count(self.methods)
        d["delivery_rate"] = ratio(delivered, requested)
        d["suppression_rate"] = ratio(self.suppressed, requested)
        d["deferral_rate"] = ratio(self.deferred, requested)
        d["digest_rate"] = ratio(self.digested, requested)
        d["open_rate"] = ratio(self.opened, delivered)
        d["human_open_rate"] = ratio(self.human_opened, delivered)
        d["click_rate"] = ratio(self.clicked, delivered)
        d["click_to_open_rate"] = ratio(self.clicked, self.opened)
        d["recipient_open_rate"] = ratio(self.recipients_opened, recipients)
        d["recipient_click_rate"] = ratio(self.recipients_clicked, recipients)
        d["order_rate"] = ratio(self.orders, delivered)
        d["unsubscribe_rate"] = ratio(self.unsubscribed, delivered)
        d["complaint_rate"] = ratio(self.complained, delivered)
        d["per_shopper_per_day"] = delivered / shoppers / days if shoppers and days else None
        return d


class MessageKPIs:
    """The message half of `Metrics`.

    An event counts once, in its (category, channel) scope; the channel, category and total scopes are those
    sums, made when they are read (`_settled`). Only the recipients, distinct shoppers, are counted in every
    scope as they come, through each shopper's reach mask."""

    def _init_messages(self) -> None:
        self._scopes_made = 0
        self._total = self._new_notes()
        self.channels: dict[str, _Notes] = defaultdict(self._new_notes)
        self.categories: dict[str, _Notes] = defaultdict(self._new_notes)
        self.cross: dict[tuple[str, str], _Notes] = defaultdict(self._new_notes)  # (category, channel)
        # (channel, category) -> its four scopes and the union of their reach bits (k = 0), made once
        self._scope_cache: dict[tuple[str, str], tuple[tuple[_Notes, ...], int]] = {}
        self._cross_of: dict[tuple[str, str], _Notes] = {}  # (channel, category) -> its cross scope
        self.deferred_ids: set[str] = set()
        self.open_state: dict[str, int] = {}            # notification id -> _OPEN_* bits
        self.clicked: dict[str, tuple[str, str]] = {}   # notification id -> (channel, category)
        self.reach: dict[str, int] = {}                 # shopper -> reach mask (see _REACH)
        self.delivered_of: Counter[str] = Counter()

    @property
    def total(self) -> _Notes:
        return self._settled()

    def _new_notes(self) -> _Notes:
        n = _Notes(self._scopes_made)
        self._scopes_made += 1
        return n

    def _scoped(self, channel: str, category: str) -> tuple[tuple[_Notes, ...], int]:
        hit = self._scope_cache.get((channel, category))
        if hit is None:
            scopes = (self.channels[channel], self.categories[category], self.cross[(category, channel)], self._total)
            hit = self._scope_cache[(channel, category)] = (scopes, sum(1 << (3 * n.index) for n in scopes))
            self._cross_of[(channel, category)] = scopes[2]
        return hit

    def _cell(self, d: dict[str, Any]) -> _Notes:
        """The (category, channel) scope a notification event counts in."""
        key = d["channel"], d["category"]
        cell = self._cross_of.get(key)
        return cell if cell is not None else self._scoped(*key)[0][2]

    def _settled(self) -> _Notes:
        """The channel, category and total scopes' counts made again as sums of their (category, channel)
        scopes; returns the total."""
        scopes = [self._total, *self.channels.values(), *self.categories.values()]
        for notes in scopes:
            for f in _SUMMED:
                setattr(notes, f, 0)
            notes.reasons.clear()
            notes.methods.clear()
        for (category, channel), cell in self.cross.items():
            for notes in (self.channels[channel], self.categories[category], self._total):
                for f in _SUMMED:
                    setattr(notes, f, getattr(notes, f) + getattr(cell, f))
                notes.reasons.update(cell.reasons)
                notes.methods.update(cell.methods)
        return self._total

    def _count_note(self, field: str, t, d, n: int = 1) -> _Notes:
        cell = self._cell(d)
        setattr(cell, field, getattr(cell, field) + n)
        col = self.hourly.get(field)
        if col is not None:
            h = t // HOUR
            try:
                col[h] += n
            except IndexError:
                grow(col, h, n)
        return cell

    def _reached(self, sid: str | None, d: dict[str, Any], k: int) -> None:
        """Shopper `sid` was delivered (k = 0), opened (1) or clicked (2) a message of each scope of `d`."""
        if sid is None:
            return
        scopes, bits = self._scoped(d["channel"], d["category"])
        old = self.reach.get(sid, 0)
        if old & (bits << k) == bits << k:  # counted in every scope already (the usual case)
            return
        mask = old
        field = _REACH[k]
        for notes in scopes:
            bit = 1 << (3 * notes.index + k)
            if not old & bit:
                mask |= bit
                setattr(notes, field, getattr(notes, field) + 1)
        self.reach[sid] = mask

    def _credit_order(self, channel: str, category: str) -> None:
        """An order attributed to a click on a message of this channel and category."""
        self._scoped(channel, category)[0][2].orders += 1

    # --- handlers ----------------------------------------------------------------------------------------
    # Those with `n` may be handed n events at once that differ in nothing they read (kpis_log.BULK): each
    # of them reads t only for its hour, and counts nothing that depends on the order of events.

    def _requested(self, t, d, sid, n: int = 1) -> None:
        self._cell(d).requested += n
        col, h = self._hourly_requested, t // HOUR
        try:
            col[h] += n
        except IndexError:
            grow(col, h, n)

    def _delivered(self, t, d, sid, n: int = 1) -> None:
        moved = d.get("rerouted_from")
        if moved is not None:  # a critical message that went elsewhere counts as a request of where it went
            self.channels[moved]  # the scope exists from now on, as the channel that was asked for
            self.cross[(d["category"], moved)].requested -= n
            self.cross[(d["category"], d["channel"])].requested += n
        self._cell(d).delivered += n
        h = t // HOUR
        for col in (self._hourly_delivered, self.hourly[f"delivered_{d['channel']}"]):
            try:
                col[h] += n
            except IndexError:
                grow(col, h, n)
        if sid is not None:
            self.delivered_of[sid] += n
            self._reached(sid, d, 0)

    def _delivered_to(self, sids: list[str], ds: list[dict[str, Any]]) -> None:
        """_delivered's part that is about the shopper, for a reader that hands it the counts without her
        (sid None): for each i, a message of the channel and category of ds[i] delivered to sids[i]. ds holds
        one dict per channel and category, shared."""
        self.delivered_of.update(sids)
        reach, reached, wants = self.reach, self._reached, {}
        for sid, d in zip(sids, ds):
            want = wants.get(id(d))
            if want is None:
                want = wants[id(d)] = self._scoped(d["channel"], d["category"])[1]
            if reach.get(sid, 0) & want != want:  # not yet counted in every scope of d (the rare case)
                reached(sid, d, 0)

    def _deferred(self, t, d, sid) -> None:
        if d["id"] not in self.deferred_ids:  # a notification deferred twice counts once
            self.deferred_ids.add(d["id"])
            self._count_note("deferred", t, d)

    def _digested(self, t, d, sid) -> None:
        self._count_note("digested", t, d)

    def _suppressed(self, t, d, sid, n: int = 1) -> None:
        cell = self._count_note("suppressed", t, d, n)
        cell.reasons[d["reason"]] += n

    def _opened(self, t, d, sid) -> None:
        nid = d["id"]
        state = self.open_state.get(nid, 0)
        machine = d.get("source") == PROXY  # shopper, user (HUMAN_SOURCES) or none (an old log): a person
        new = state | _OPEN_ANY | (_OPEN_MACHINE if machine else _OPEN_HUMAN)
        if new == state:  # opened again the same way: nothing new
            return
        self.open_state[nid] = new
        if not state & _OPEN_ANY:  # the first open of any kind: what a platform reports
            cell = self._count_note("opened", t, d)
            self._reached(sid, d, 1)
        else:
            cell = self._cell(d)
        if machine:
            cell.machine_opened += 1
        else:
            cell.human_opened += 1

    def _clicked(self, t, d, sid) -> None:
        if d["id"] not in self.clicked:
            self.clicked[d["id"]] = (d["channel"], d["category"])
            self._count_note("clicked", t, d)
            self._reached(sid, d, 2)

    def _dismissed(self, t, d, sid, n: int = 1) -> None:
        self._count_note("dismissed", t, d, n)

    def _unsubscribed(self, t, d, sid) -> None:
        self._count_note("unsubscribed", t, d).methods[d.get("method") or "link"] += 1
        self.flags[sid] |= UNSUBSCRIBED

    def _complained(self, t, d, sid) -> None:
        self._count_note("complained", t, d)

    # --- reading -----------------------------------------------------------------------------------------

    def _messages_result(self, shoppers: int, days: float) -> dict[str, Any]:
        self._settled()
        cross: dict[str, dict[str, Any]] = {}
        for (category, channel) in sorted(self.cross, key=lambda k: (k[0], _channel_rank(k[1]))):
            cross.setdefault(category, {})[channel] = self.cross[(category, channel)].as_dict(shoppers, days)
        return {"messages": self._total.as_dict(shoppers, days),
                "channels": {c: self.channels[c].as_dict(shoppers, days) for c in ordered(self.channels, CHANNELS)},
                "categories": {c: n.as_dict(shoppers, days) for c, n in sorted(self.categories.items())},
                "category_channels": cross}


def _channel_rank(channel: str) -> tuple[int, str]:
    return (CHANNELS.index(channel), "") if channel in CHANNELS else (len(CHANNELS), channel)
