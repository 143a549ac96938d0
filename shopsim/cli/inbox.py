"""`shopsim inbox RUN --shopper ID`: a shopper's messages as she saw them, from a finished run.

One pass over the run's events (a log or a database reads the same): the messages delivered to her, with
the title, body and link of `notification.delivered`, whether she opened them, the coupons they carried and,
for a digest, what it gathered. `--all` adds the attempts that never reached her.
"""

from __future__ import annotations

import json
import textwrap
from typing import Any

import click

from shopsim.cli.common import fail
from shopsim.cli.runarg import SHOPPER_ID, local_dt, local_iso, parse_iso, reading, run_argument
from shopsim.store.runfile import RunFile
from shopsim.textsafe import visible
from shopsim.contract.taxonomy import CHANNELS
from shopsim.contract import events as E
from shopsim.contract.clock import iso

SENDER = "shop.example"
_NOTE_TYPES = frozenset({E.NOTIFICATION_REQUESTED, E.NOTIFICATION_DEFERRED, *E.NOTIFICATION_OUTCOMES})


class _Shopper:
    """What one pass over the run keeps about one shopper."""

    def __init__(self) -> None:
        self.created: dict[str, Any] | None = None
        self.first = self.last = None       # the run's first and last shopper ids
        self.requested: dict[str, tuple[int, dict]] = {}
        self.final: dict[str, tuple[int, int, str, dict]] = {}   # id -> (t, seq, type, data) of its last line
        self.held: dict[str, tuple[int, dict]] = {}    # id -> (t, data) of its first deferral
        self.opened: dict[str, int] = {}
        self.clicked: set[str] = set()
        self.coupons: dict[str, dict] = {}
        self.redeemed: dict[str, str] = {}


def read_shopper(run: RunFile, sid: str) -> _Shopper:
    me = _Shopper()
    creating = False
    for ev in run.events():
        typ = ev.type
        if typ == E.SHOPPER_CREATED:
            creating = True
            me.first = me.first or ev.shopper
            me.last = ev.shopper
            if ev.shopper == sid:
                me.created = ev.data
            continue
        if creating and me.created is None:
            break  # every shopper is created at the start: she is not one of them
        if ev.shopper != sid:
            continue
        d = ev.data
        if typ in _NOTE_TYPES:
            if typ == E.NOTIFICATION_REQUESTED:
                me.requested[d["id"]] = (ev.t, d)
            else:
                me.final[d["id"]] = (ev.t, ev.seq, typ, d)
                if typ == E.NOTIFICATION_DEFERRED:
                    me.held.setdefault(d["id"], (ev.t, d))
        elif typ == E.NOTIFICATION_OPENED and d.get("source") != "proxy":  # a proxy's fetch is not a read
            me.opened.setdefault(d["id"], ev.t)
        elif typ == E.NOTIFICATION_CLICKED:
            me.clicked.add(d["id"])
        elif typ == E.COUPON_ISSUED:
            me.coupons[d["coupon"]] = d
        elif typ == E.COUPON_REDEEMED:
            me.redeemed[d["coupon"]] = d["order"]
    return me


def inbox_entries(me: _Shopper, start: int, channel: str | None = None, everything: bool = False
                  ) -> list[dict[str, Any]]:
    """The shopper's messages, oldest first (log order at equal times), as dicts; with `everything`, also
    the attempts that did not arrive (suppressed, digested, still deferred when the run ended)."""
    tz = me.created["tz"]
    out = []
    for nid, (t, seq, typ, d) in sorted(me.final.items(), key=lambda kv: kv[1][1]):
        if channel is not None and d["channel"] != channel:
            continue
        outcome = typ[len("notification."):]
        if outcome != "delivered" and not everything:
            continue
        req_t, req = me.requested.get(nid, (None, {}))
        coupon = d.get("coupon")
        held = me.held.get(nid)
        out.append({
            "id": nid, "t": iso(start + t), "local_time": local_iso(start + t, tz), "channel": d["channel"],
            "category": d["category"], "kind": req.get("kind"), "source": req.get("source"),
            "ref": req.get("ref"),  # what it is about (a cart, an order): how `diff --shopper` matches messages
            "outcome": outcome, "title": d.get("title"), "body": d.get("body"), "link": d.get("link"),
            "read": nid in me.opened, "clicked": nid in me.clicked, "coupon": coupon,
            "digest_of": d.get("digest_of"), "rerouted_from": d.get("rerouted_from"),
            "requested": iso(start + req_t) if req_t is not None else None,
            "reason": d.get("reason") if outcome != "digested" else None,
            "rule": d.get("rule") if outcome != "digested" else None,
            "digest": d.get("digest"), "until": d.get("until") or d.get("at"),
            "_coupon": me.coupons.get(coupon) if coupon else None,
            "_redeemed": me.redeemed.get(coupon) if coupon else None,
            "_held": held, "_dropped": d.get("dropped"),
        })
    return out


_PUBLIC = ("id", "t", "local_time", "channel", "category", "kind", "source", "outcome", "title", "body", "link",
           "read", "clicked", "coupon", "digest_of", "rerouted_from", "requested", "reason", "rule", "digest",
           "until")


@click.command("inbox")
@run_argument
@click.option("--shopper", "shopper", required=True, metavar="ID", help="the shopper, e.g. s000051")
@click.option("--channel", type=click.Choice(CHANNELS), help="only this channel")
@click.option("--all", "everything", is_flag=True,
              help="also list the messages that did not arrive (suppressed, digested, still deferred)")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def inbox_cmd(run: str, shopper: str, channel: str | None, everything: bool, fmt: str) -> None:
    """A shopper's inbox in RUN (an event log or a run's database), oldest first: each email, push, SMS
    and in-app message as she saw it, read or unread, with its coupon; a digest with what it gathers."""
    with reading(run) as rf:
        me = read_shopper(rf, shopper if SHOPPER_ID.fullmatch(shopper) else "")
    if me.created is None:
        hint = f" (ids run from {me.first} to {me.last})" if me.first else ""
        fail(f"no shopper {shopper!r} in {run}{hint}")
    entries = inbox_entries(me, rf.start_epoch, channel, everything)
    if fmt == "json":
        click.echo(json.dumps([{k: e[k] for k in _PUBLIC} for e in entries], indent=2, ensure_ascii=False))
        return
    _print_text(me, entries, rf, shopper, channel, everything)


# --- text --------------------------------------------------------------------------------------------------

def _print_text(me: _Shopper, entries: list[dict], rf: RunFile, sid: str, channel: str | None,
                everything: bool) -> None:
    from rich import box
    from rich.console import Console, Group
    from rich.panel import Panel
    from rich.text import Text

    console = Console(highlight=False)
    # Titles, bodies and links come from the scenario: a control character in them must not drive the terminal.
    me.created = _shown(me.created)
    entries = [_shown(e) for e in entries]
    c, tz, start = me.created, me.created["tz"], rf.start_epoch
    where = ", ".join(x for x in (c.get("city"), c.get("country")) if x)
    head = Text()
    head.append(f"{c.get('name')}", style="bold")
    head.append(f"  {sid}\n")
    head.append(f"{where} · {tz} · segment {c.get('segment')} · {c.get('platform')}\n", style="")
    head.append(f"{c.get('email')}" + (f" · {c['phone']}" if c.get("phone") else ""), style="dim")
    delivered = sum(1 for e in entries if e["outcome"] == "delivered")
    unread = sum(1 for e in entries if e["outcome"] == "delivered" and not e["read"])
    what = f"{delivered} message(s), {unread} unread" + (f" on {channel}" if channel else "")
    console.print(Panel(head, title=f"Inbox · {rf.header.get('scenario')} seed {rf.header.get('seed')}",
                        subtitle=what, box=box.DOUBLE, expand=False))
    if not entries:
        console.print(Text("Nothing here." if not everything else "Nothing was sent to this shopper.",
                           style="dim"))
    for e in entries:
        epoch = parse_iso(e["t"])
        d = local_dt(epoch, tz)
        arrived = e["outcome"] == "delivered"
        line = Text()
        if arrived:
            line.append("○ read   " if e["read"] else "● unread ", style="green" if e["read"] else "bold yellow")
        else:
            line.append("✗ ", style="dim")
        line.append(f"{d:%a} {d.day} {d:%b}, {d:%H:%M} {d.tzname()}", style="bold" if arrived else "dim")
        line.append(f" ({e['t'][11:16]} UTC) · {e['category']} · {e['id']}", style="" if arrived else "dim")
        if e["clicked"]:
            line.append(" · clicked", style="green")
        console.print()
        if not arrived:
            line.append(f"\n  {e['channel']} · " + _not_arrived(e, tz), style="dim italic")
            console.print(line)
            continue
        console.print(line)
        console.print(_card(e, me, tz, Text, Group, Panel, box, _notes(e, me, tz, start)))


def _shown(d: dict) -> dict:
    return {k: visible(v) if isinstance(v, str) else v for k, v in d.items()}


def _not_arrived(e: dict, tz: str) -> str:
    if e["outcome"] == "suppressed":
        return f"suppressed: {e['reason']} ({e['rule']})"
    if e["outcome"] == "digested":
        return f"digested into {e['digest']}, due {_local_short(e['until'], tz)}"
    if e["outcome"] == "deferred":
        return f"deferred until {_local_short(e['until'], tz)} ({e['reason']}); the run ended first"
    return "not decided when the log ends"


def _local_short(t: str | int | None, tz: str) -> str:
    """'Tue 3 Mar, 08:00' from an ISO instant or epoch ms."""
    if t is None:
        return "?"
    d = local_dt(parse_iso(t) if isinstance(t, str) else t, tz)
    return f"{d:%a} {d.day} {d:%b}, {d:%H:%M}"


def _notes(e: dict, me: _Shopper, tz: str, start: int) -> list[str]:
    out = []
    if e["_held"] is not None:
        t, d = e["_held"]
        out.append(f"held from {_local_short(e['requested'], tz)} ({d['reason']})")
    if e["rerouted_from"]:
        out.append(f"asked for {e['rerouted_from']}, which cannot reach her: sent by {e['channel']}")
    if e["_coupon"] is not None:
        cp = e["_coupon"]
        off = {"percent": f"{cp['value']:g}% off", "fixed": f"{cp['value']:g} off",
               "free_shipping": "free shipping"}.get(cp["kind"], cp["kind"])
        minimum = f", on orders from {cp['min_order']:g}" if cp.get("min_order") else ""
        used = f"; used on order {e['_redeemed']}" if e["_redeemed"] else ""
        out.append(f"coupon {e['coupon']}: {off}{minimum}, until {_local_short(cp['expires'], tz)}{used}")
    elif e["coupon"]:
        out.append(f"coupon {e['coupon']}")
    if e["digest_of"] is not None:
        for i in e["digest_of"]:
            r = me.requested.get(i)
            what = f": {r[1]['category']} from {r[1]['source']}, {_local_short(start + r[0], tz)}" if r else ""
            out.append(f"carries {i}{what}")
        for x in e["_dropped"] or ():
            out.append(f"dropped {x['id']} ({x['reason']}, {x['rule']})")
    return out


def _card(e: dict, me: _Shopper, tz: str, Text, Group, Panel, box, notes: list[str]):
    c = me.created
    d = local_dt(parse_iso(e["t"]), tz)
    when = f"{d:%a} {d.day} {d:%b}, {d:%H:%M}"
    style = "" if e["read"] else "bold"
    foot = Text("\n".join(notes), style="cyan") if notes else None
    if e["channel"] == "email":
        head = Text()
        for k, v in (("From", f"{SENDER} <hello@{SENDER}>"), ("To", f"{c.get('name')} <{c.get('email')}>"),
                     ("Date", f"{d:%a} {d.day} {d:%b %Y} {d:%H:%M} {d.tzname()}"), ("Subject", e["title"] or "")):
            head.append(f"{k + ':':<9}", style="dim")
            head.append(f"{v}\n", style="bold" if k == "Subject" else "")
        head.rstrip()
        body = Text(_wrap(e["body"], 70) + ("\n\n" + e["link"] if e["link"] and e["link"] not in e["body"] else ""))
        parts = [head, Text("─" * 20, style="dim"), body] + ([Text(""), foot] if foot else [])
        return Panel(Group(*parts), title="email", title_align="left", box=box.ROUNDED, width=78)
    if e["channel"] == "push":
        top = Text()
        top.append(SENDER.upper(), style="dim")
        top.append(f"{when:>{38 - len(SENDER)}}\n", style="dim")
        top.append(f"{e['title'] or ''}\n", style=style)
        top.append(e["body"] or "")
        parts = [top] + ([Text(""), foot] if foot else [])
        return Panel(Group(*parts), title="push", title_align="left", box=box.ROUNDED, width=44,
                     subtitle=e["link"], subtitle_align="right")
    if e["channel"] == "sms":
        bubble = Panel(Text(e["body"] or "", style=style), box=box.ROUNDED, width=min(46, len(e["body"] or "") + 4),
                       subtitle=f"SMS · {when}", subtitle_align="left")
        return Group(bubble, foot) if foot else bubble
    # in-app: a card in the app's message centre
    inner = Text()
    inner.append(f"{e['title'] or ''}\n", style=style)
    inner.append(_wrap(e["body"] or "", 56))
    inner.append(f"\n→ {e['link']}", style="underline")
    parts = [inner] + ([Text(""), foot] if foot else [])
    return Panel(Group(*parts), title="in-app", title_align="left", box=box.SQUARE, width=62)


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.fill(p, width) if p else "" for p in (text or "").split("\n"))
