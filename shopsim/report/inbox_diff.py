"""What changed in one shopper's inbox between two runs: the review artefact a designer approves.

Golden logs compare bytes and break on any change; this compares messages. A message is known by what it is
about, not by its id (ids count a shopper's messages, so one extra message renumbers every later one): its
source (a flow step, a campaign, a scripted event, an order update), its kind and what it refers to (a cart,
an order), and among equals, its place in time. Matched by that, on the same channel first, each pair is
then compared: it arrived in one run and not the other (gained, lost, now suppressed and why, now delivered),
it moved in time (in her local time), it changed channel, or its coupon changed.

Entries are the dicts `shopsim inbox --all` reads (`cli/inbox.py`'s `inbox_entries`)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any, Iterable
from zoneinfo import ZoneInfo

DELIVERED = "delivered"
KINDS = ("gained", "lost", "now_suppressed", "now_delivered", "moved", "channel", "coupon")
WORDS = {"gained": "gained", "lost": "lost", "now_suppressed": "now not delivered",
         "now_delivered": "now delivered", "moved": "moved", "channel": "changed channel",
         "coupon": "changed coupon"}


def _key(e: dict[str, Any]) -> tuple:
    return (e.get("source"), e.get("kind"), e.get("category"), e.get("ref") or _about(e))


def _about(e: dict[str, Any]) -> str | None:
    """What a message without a ref is about: a digest's first item, else nothing (its time orders it)."""
    items = e.get("digest_of")
    return f"digest:{items[0]}" if items else None


def _coupon(e: dict[str, Any]) -> str | None:
    c = e.get("_coupon")
    if not c:
        return None
    kind, value = c.get("kind"), c.get("value")  # coupon.issued's fields
    if kind == "percent" and isinstance(value, (int, float)):
        return f"{value:g}% off"
    if kind == "fixed" and isinstance(value, (int, float)):
        return f"{value:g} off"
    return "free shipping" if kind == "free_shipping" else str(kind or "a coupon")


def local_text(t_iso: str, tz: str) -> str:
    """'2026-03-03T14:00:00.000Z' -> 'Tue 3 Mar 09:00 EST'."""
    d = datetime.fromisoformat(t_iso.replace("Z", "+00:00")).astimezone(ZoneInfo(tz))
    return f"{d:%a} {d.day} {d:%b} {d:%H:%M} {d.tzname()}"


def _pairs(a: list[dict], b: list[dict]) -> tuple[list[tuple[dict, dict]], list[dict], list[dict]]:
    """Same key: pair by channel in time order, then the leftovers of either side in time order."""
    pairs, left_a, left_b = [], [], []
    by_ch_a: dict[str, list] = defaultdict(list)
    by_ch_b: dict[str, list] = defaultdict(list)
    for e in a:
        by_ch_a[e["channel"]].append(e)
    for e in b:
        by_ch_b[e["channel"]].append(e)
    for ch in sorted(by_ch_a.keys() | by_ch_b.keys()):
        xa, xb = by_ch_a.get(ch, []), by_ch_b.get(ch, [])
        pairs += list(zip(xa, xb))
        left_a += xa[len(xb):]
        left_b += xb[len(xa):]
    left_a.sort(key=_when)
    left_b.sort(key=_when)
    n = min(len(left_a), len(left_b))
    pairs += list(zip(left_a[:n], left_b[:n]))  # the same message on another channel
    return pairs, left_a[n:], left_b[n:]


def _when(e: dict[str, Any]) -> str:
    return e.get("requested") or e["t"]


def _why(e: dict[str, Any], tz: str) -> str:
    if e["outcome"] == "suppressed":
        return f"suppressed: {e.get('reason')} ({e.get('rule')})"
    if e["outcome"] == "digested":
        return f"gathered into a digest ({e.get('digest')})"
    if e["outcome"] == "deferred":
        until = e.get("until")
        return f"held ({e.get('reason')}) until {local_text(until, tz) if until else 'after the run'}"
    return e["outcome"]


def _what(e: dict[str, Any]) -> str:
    title = e.get("title") or e.get("kind") or e.get("category")
    return f"{e['category']} by {e['channel']}: {title!s}"


def inbox_changes(a: Iterable[dict], b: Iterable[dict], tz: str) -> list[dict[str, Any]]:
    """Every change from inbox A to inbox B (each given with `--all`'s entries), in B's time order (A's for
    what B lacks). Each change: kind (one of KINDS), the message in words, and before/after in words."""
    groups_a: dict[tuple, list] = defaultdict(list)
    groups_b: dict[tuple, list] = defaultdict(list)
    for e in a:
        groups_a[_key(e)].append(e)
    for e in b:
        groups_b[_key(e)].append(e)
    out: list[dict[str, Any]] = []

    def add(kind: str, e: dict, before: str | None, after: str | None, other: dict | None = None) -> None:
        shown = e if e.get("title") or other is None else other  # one that never arrived has no title
        out.append({"kind": kind, "what": _what(shown), "source": e.get("source"), "a_id": (other or {}).get("id")
                    if kind != "lost" else e["id"], "b_id": e["id"] if kind != "lost" else None,
                    "before": before, "after": after, "t": e["t"], "local_time": local_text(e["t"], tz)})

    for key in sorted(groups_a.keys() | groups_b.keys(), key=repr):
        xa = sorted(groups_a.get(key, []), key=_when)
        xb = sorted(groups_b.get(key, []), key=_when)
        pairs, only_a, only_b = _pairs(xa, xb)
        for e in only_a:
            if e["outcome"] == DELIVERED:
                add("lost", e, f"delivered {local_text(e['t'], tz)}", None)
        for e in only_b:
            if e["outcome"] == DELIVERED:
                add("gained", e, None, f"delivered {local_text(e['t'], tz)}")
        for ea, eb in pairs:
            da, db = ea["outcome"] == DELIVERED, eb["outcome"] == DELIVERED
            if da and not db:
                add("now_suppressed", eb, f"delivered {local_text(ea['t'], tz)}", _why(eb, tz), ea)
            elif db and not da:
                add("now_delivered", eb, _why(ea, tz), f"delivered {local_text(eb['t'], tz)}", ea)
            elif not da:
                continue  # it never arrived in either run
            else:
                if ea["channel"] != eb["channel"]:
                    add("channel", eb, ea["channel"], eb["channel"], ea)
                if ea["t"] != eb["t"]:
                    add("moved", eb, local_text(ea["t"], tz), local_text(eb["t"], tz), ea)
                ca, cb = _coupon(ea), _coupon(eb)
                if ca != cb:
                    add("coupon", eb, ca or "no coupon", cb or "no coupon", ea)
    out.sort(key=lambda c: (c["t"], KINDS.index(c["kind"]), c["what"]))
    return out


def summary(changes: list[dict[str, Any]]) -> str:
    if not changes:
        return "no change in her inbox"
    counts = defaultdict(int)
    for c in changes:
        counts[c["kind"]] += 1
    return ", ".join(f"{counts[k]} {WORDS[k]}" for k in KINDS if counts[k])


__all__ = ["KINDS", "WORDS", "inbox_changes", "local_text", "summary"]
