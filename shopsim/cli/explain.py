"""`shopsim explain RUN ID`: why a notification of a finished run went the way it did, in plain words.

The sentences come from the same code as `Simulation.explain(id)` (shopsim.notify.explain), fed with the
notification rebuilt from its log lines, so a finished run explains itself exactly as the live one did.
"""

from __future__ import annotations

import json
from typing import Any

import click

from shopsim.cli.common import fail
from shopsim.cli.runarg import NOTIFICATION_ID, local_label, parse_iso, reading, run_argument, utc_label
from shopsim.store.runfile import RunFile
from shopsim.notify.explain import _SKIPPED, explain, logged_note
from shopsim.contract import events as E
from shopsim.contract.events import Event
from shopsim.textsafe import visible


def shopper_story(run: RunFile, sid: str) -> tuple[dict[str, Any] | None, list[Event]]:
    """The shopper's shopper.created fields (None if there is no such shopper) and her notification events,
    in log order. Stops reading once the shoppers are created if she is not one of them."""
    created, story, creating = None, [], False
    for ev in run.events():
        if ev.type == E.SHOPPER_CREATED:
            creating = True
            if ev.shopper == sid:
                created = ev.data
        elif creating and created is None:
            break
        elif ev.shopper == sid and ev.type.startswith("notification."):
            story.append(ev)
    return created, story


def explain_logged(run: RunFile, nid: str) -> tuple[dict[str, Any], dict[str, Any], list[Event]] | None:
    """`Simulation.explain(nid)` from a finished run: (that dict, the shopper's shopper.created fields, her
    notification events); None when the run has no notification `nid`."""
    m = NOTIFICATION_ID.fullmatch(nid)
    if m is None:
        return None
    created, story = shopper_story(run, m.group(1))
    if created is None:
        return None
    note = logged_note(nid, story, created["tz"], run.start_epoch)
    if note is None:
        return None
    return explain(note, run.start_epoch), created, story


@click.command("explain")
@run_argument
@click.argument("notification_id", metavar="NOTIFICATION_ID")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="plain sentences, or the dict Simulation.explain() returns")
def explain_cmd(run: str, notification_id: str, fmt: str) -> None:
    """Why notification NOTIFICATION_ID (e.g. s000051-n9) of RUN (an event log or a run's database) was
    delivered, deferred, digested or suppressed: every step of each pass through the pipeline in words."""
    with reading(run) as rf:
        found = explain_logged(rf, notification_id)
    if found is None:
        fail(f"no notification {notification_id!r} in {run}")
    ex, created, story = found
    if fmt == "json":
        click.echo(json.dumps(ex, indent=2, ensure_ascii=False))
        return
    _print_text(ex, created, story, rf.start_epoch)


def _print_text(ex: dict[str, Any], created: dict[str, Any], story: list[Event], start: int) -> None:
    tz = ex["tz"]
    requested = {ev.data["id"]: ev for ev in story if ev.type == E.NOTIFICATION_REQUESTED}
    bold = lambda s: click.style(s, bold=True)  # noqa: E731

    def row(key: str, value: str) -> None:  # names, sources and rules come from the scenario: shown, not obeyed
        click.echo(f"  {key:<10} {visible(value)}")

    def when(t_iso: str) -> str:
        epoch = parse_iso(t_iso)
        return f"{utc_label(epoch)} ({local_label(epoch, tz)})"

    click.echo(bold(f"Notification {visible(ex['id'])}"))
    row("shopper", f"{ex['shopper']} {created.get('name', '')} ({tz})")
    row("category", f"{ex['category']} ({ex['class']})")
    channel = ex["channel"]
    if ex["requested_channel"] != channel:
        channel = f"{channel} (rerouted from {ex['requested_channel']})"
    row("channel", channel)
    row("kind", ex["kind"])
    row("source", ex["source"] or "-")
    row("ref", ex["ref"] or "-")
    if ex["id"] in requested:
        row("requested", when(ex["requested_at"]))
    else:  # a digest due after the run's end is never requested
        row("requested", f"not before the run ended; due {when(ex['requested_at'])}")
    row("outcome", ex["outcome"] or "not decided when the log ends")
    if "digest" in ex:
        row("digest", ex["digest"])
    if "digest_of" in ex:
        items = []
        for i in ex["digest_of"]:
            r = requested.get(i)
            items.append(f"{i} ({r.data['category']}, {r.data['source']})" if r is not None else i)
        row("carries", ", ".join(items) if items else "nothing")
    if ex["class"] in _SKIPPED:
        click.echo(f"\n  {_SKIPPED[ex['class']]}")
    sentences = iter(ex["sentences"][1:] if ex["class"] in _SKIPPED else ex["sentences"])
    for n, p in enumerate(ex["passes"], 1):
        click.echo("\n" + bold(f"Pass {n}") + f" at {when(p['t'])}")
        for _ in p["steps"]:
            click.echo(f"  - {visible(next(sentences))}")
    if not ex["passes"]:
        click.echo("\n  no pass through the pipeline before the run ended")
    click.echo("\n" + bold("Summary: ") + visible(ex["summary"]))
