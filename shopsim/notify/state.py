"""What the notification layer remembers: requested notifications, inbox messages, per-shopper state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from shopsim.notify.policy import Verdict

if TYPE_CHECKING:
    from shopsim.sim.population import Shopper


class Note:
    """One requested notification on one channel, from request to its final outcome."""

    __slots__ = ("id", "sh", "category", "cls", "channel", "requested_channel", "kind", "source", "ref", "data",
                 "exit", "key", "taken", "t", "evaluations", "outcome", "until", "digest", "period", "items",
                 "message", "newer", "extra", "order")

    def __init__(self, nid: str, sh: Shopper, category: str, cls: str, channel: str, kind: str, source: str,
                 ref: str | None, data: dict[str, Any], exit: Callable[[], str | None] | None,
                 key: str | None, taken: tuple[str, ...], t: int):
        self.id, self.sh, self.category, self.cls = nid, sh, category, cls
        self.channel = self.requested_channel = channel
        self.kind, self.source, self.ref, self.data = kind, source, ref, data
        self.exit, self.key, self.taken, self.t = exit, key, taken, t
        # One (virtual time, verdicts) pair per pass through the pipeline: a deferral makes a second pass.
        self.evaluations: list[tuple[int, list[Verdict]]] = []
        self.outcome: str | None = None   # delivered, digested, suppressed; deferred while waiting
        self.until: int | None = None     # when a deferred note is evaluated again
        self.digest: Note | None = None   # the digest a digested note joined
        self.period: str | None = None    # daily or weekly, for a digest
        self.items: list[Note] | None = None  # what a digest carries
        self.message: Message | None = None
        self.newer: Note | None = None    # a later note about the same thing that replaces this deferred one
        self.extra: Callable[[], dict[str, Any]] | None = None  # what only a delivery makes (a coupon)
        self.order: dict[str, Any] | None = None  # the order it is about, as templates see it, kept while deferred


@dataclass(slots=True)
class Message:
    """A delivered notification as the shopper's inbox holds it."""

    id: str
    shopper: str
    t: int
    channel: str
    category: str
    kind: str
    title: str | None
    body: str
    link: str
    digest_of: tuple[str, ...] = ()
    read: bool = False


@dataclass(slots=True)
class ShopperNotes:
    """Per-shopper notification state, made on the shopper's first notification."""

    n: int = 0                                                     # notification id counter
    seen: set[str] | None = None                                   # dedupe keys already sent
    digests: dict[tuple[str, str], Note] = field(default_factory=dict)  # (channel, period) -> open digest
    deferred: dict[tuple, Note] = field(default_factory=dict)      # collapse key -> latest deferred note
    inbox: list[Message] = field(default_factory=list)
