"""The flow a message belongs to, on one line, with its step picked out: `flow cart_recovery: email 1h ›
[push 23h] › email 48h`. Pure text logic, so the preview card and its tests share it."""

from __future__ import annotations

from typing import Any


def flow_steps(flows: dict[str, Any], source: str | None) -> tuple[str, list[str], int] | None:
    """(flow name, each step as "channel after", the 0-based step of `source`) for a flow message's source
    ("flow:NAME:STEP"), else None."""
    if not source or not source.startswith("flow:"):
        return None
    name, _, step = source[len("flow:"):].rpartition(":")
    flow = flows.get(name)
    if flow is None or not step.isdigit() or not 1 <= int(step) <= len(flow.steps):
        return None
    return name, [f"{s.channel} {s.after}" for s in flow.steps], int(step) - 1
