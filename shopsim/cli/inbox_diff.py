"""`shopsim diff A B --shopper ID`: what changed in her inbox, message by message (report/inbox_diff.py)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from shopsim.cli.common import fail
from shopsim.cli.inbox import inbox_entries, read_shopper
from shopsim.cli.runarg import SHOPPER_ID
from shopsim.report.inbox_diff import WORDS, inbox_changes, summary
from shopsim.store.runfile import RunFile
from shopsim.textsafe import visible

_PUBLIC = ("kind", "what", "source", "a_id", "b_id", "before", "after", "t", "local_time")


def persona_shoppers(run: RunFile) -> dict[str, str]:
    """shopper id -> "persona NAME: description", from the scenario the run played (by its name)."""
    from shopsim.cli.common import load_or_exit

    name = run.header.get("scenario") or ""
    _, model = load_or_exit(name)  # a run of a scenario that is not shipped names none it could find
    if not model.personas:
        fail(f"scenario {name!r} names no personas (personas: {{NAME: {{shopper: s000001}}}}); give --shopper ID")
    return {p.shopper: f"persona {n}" + (f": {p.description}" if p.description else "")
            for n, p in model.personas.items()}


def shopper_changes(a: RunFile, b: RunFile, run_a: str, run_b: str, sid: str,
                    persona: str | None = None) -> dict[str, Any]:
    found = []
    for rf, name in ((a, run_a), (b, run_b)):
        me = read_shopper(rf, sid if SHOPPER_ID.fullmatch(sid) else "")
        if me.created is None:
            hint = f" (ids run from {me.first} to {me.last})" if me.first else ""
            fail(f"no shopper {sid!r} in {name}{hint}")
        found.append((me, inbox_entries(me, rf.start_epoch, None, everything=True)))
    (me_a, ea), (me_b, eb) = found
    tz = me_b.created["tz"]
    changes = inbox_changes(ea, eb, tz)
    return {"shopper": sid, "name": me_b.created.get("name"), "tz": tz, "persona": persona,
            "summary": summary(changes),
            "delivered": [sum(e["outcome"] == "delivered" for e in ea), sum(e["outcome"] == "delivered" for e in eb)],
            "changes": [{k: c[k] for k in _PUBLIC} for c in changes]}


def show(docs: list[dict[str, Any]], fmt: str, run_a: str, run_b: str) -> None:
    if fmt == "json":
        click.echo(json.dumps({"a": run_a, "b": run_b, "shoppers": docs}, indent=2, ensure_ascii=False))
        return
    md = fmt == "md"
    out = [f"# Inbox changes from {run_a} to {run_b}", ""] if md else []
    for d in docs:
        who = f"{d['shopper']} ({d['name']}, {d['tz']}" + (f"; {d['persona']}" if d.get("persona") else "") + ")"
        head = f"{who}: {d['delivered'][0]} → {d['delivered'][1]} messages delivered; {d['summary']}"
        out += [f"## {head}", ""] if md else [head]
        for c in d["changes"]:
            before = c["before"] or "—"
            after = c["after"] or "—"
            line = f"{WORDS[c['kind']]}: {c['what']} · {before} → {after}"
            out.append(f"- {line}" if md else f"  {line}")
        out.append("")
    click.echo(visible("\n".join(out).rstrip("\n") + "\n"), nl=False)  # newlines are kept
    sys.stdout.flush()
