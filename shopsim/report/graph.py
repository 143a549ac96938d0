"""A scenario's policies as a picture: its flows, its campaigns in time order and the notification pipeline.

`scenario_graph` turns a validated scenario into plain clusters of nodes and edges; `mermaid`, `dot` and
`svg` (graph_svg.py) draw the same clusters, so the three formats never disagree. Ids are generated
(f1s2: flow 1, step 2), never taken from the file, so any name a scenario chooses is only ever a label."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shopsim.contract.units import parse_duration

_EXIT_WORDS = {"order_placed": "order placed", "cart_emptied": "cart emptied", "unsubscribed": "unsubscribed",
               "retriggered": "abandoned again", "visited": "visited again"}


@dataclass
class Node:
    id: str
    lines: list[str]
    kind: str = "step"      # trigger, step, exit, campaign, stage


@dataclass
class Edge:
    src: str
    dst: str
    label: str = ""
    dashed: bool = False


@dataclass
class Cluster:
    id: str
    title: str
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)


def _when(cond: Any) -> list[str]:
    if cond is None:
        return []
    out = []
    for name, word in (("opened", "opened"), ("clicked", "clicked")):
        v = getattr(cond, name)
        if v is not None:
            out.append(f"if {'' if v else 'not '}{word}")
    if cond.segments:
        out.append("if " + " or ".join(cond.segments))
    if cond.min_value is not None:
        out.append(f"if cart ≥ {cond.min_value:g}")
    if cond.max_value is not None:
        out.append(f"if cart ≤ {cond.max_value:g}")
    return out


def _incentive(inc: Any) -> list[str]:
    if inc is None:
        return []
    what = {"percent": f"{inc.value:g}% off", "fixed": f"{inc.value:g} off", "free_shipping": "free shipping"}[inc.type]
    return [f"coupon: {what}, {inc.valid}"]


def _flows(sc: Any) -> list[Cluster]:
    out = []
    for i, (name, flow) in enumerate(sc.flows.items(), 1):
        c = Cluster(f"f{i}", f"flow {name} ({flow.category})")
        trigger = Node(f"f{i}t", [flow.trigger], "trigger")
        c.nodes.append(trigger)
        prev = trigger.id
        for j, step in enumerate(flow.steps, 1):
            lines = [f"{j} · {step.channel}"] + _when(step.when) + _incentive(step.incentive)
            if step.send_window is not None:
                lines.append(f"sent {step.send_window.start}–{step.send_window.end} local")
            if step.survey:
                lines.append("asks why she left")
            node = Node(f"f{i}s{j}", lines)
            c.nodes.append(node)
            c.edges.append(Edge(prev, node.id, f"after {step.after}"))
            prev = node.id
        exit_ = Node(f"f{i}x", ["ends when: " + ", ".join(_EXIT_WORDS.get(e, e) for e in flow.exit)], "exit")
        c.nodes.append(exit_)
        c.edges.append(Edge(f"f{i}t", exit_.id, "", dashed=True))
        out.append(c)
    return out


def _campaigns(sc: Any) -> Cluster | None:
    if not sc.campaigns:
        return None
    c = Cluster("c", "campaigns, in time order")
    timed = sorted(sc.campaigns.items(), key=lambda kv: (_at_ms(kv[1].at), kv[0]))
    prev = None
    for k, (name, camp) in enumerate(timed, 1):
        when = f"{camp.at}" + (f" at {camp.local_time} local" if camp.local_time else "")
        lines = [f"{when} · {camp.kind}", f"{name}: {', '.join(camp.channels)}"] + _incentive(camp.incentive)
        if camp.stock is not None:
            lines.append(f"stock {camp.stock:,}")
        node = Node(f"c{k}", lines, "campaign")
        c.nodes.append(node)
        if prev is not None:
            c.edges.append(Edge(prev, node.id))
        prev = node.id
    return c


def _at_ms(at: Any) -> int:
    try:
        return parse_duration(str(at))
    except (ValueError, TypeError):
        return 0  # an instant rather than an offset: keep the file's order among those


def _pipeline(sc: Any) -> Cluster:
    """The order the notifier checks a message in (notify/notifier.py), with this scenario's settings."""
    p, s = sc.policies, sc.population.settings
    quiet, dig = _get(s, "quiet_hours"), _get(s, "digest")
    quiet_text = (f"quiet hours {_get(quiet, 'start')}–{_get(quiet, 'end')} local (push, SMS)"
                  if _get(quiet, "start") else "quiet hours: none by default")
    digest_text = [f"at {_get(dig, 'time')} local" + (f", weekly on {_get(dig, 'weekday')}" if _get(dig, "weekday")
                                                      else "")] if _get(dig, "time") else []
    windows = [f"{w.channel} {w.start}–{w.end}" for w in p.send_windows] or ["none"]
    caps = [f"{cap.channel or 'any'}{'/' + cap.category if cap.category else ''}: {cap.max} per {cap.per}"
            for cap in p.caps] or ["none"]
    stages = [  # the order of notify/notifier.py's _evaluate
        ["reach", "app, verified email, phone", "(may reroute; security alerts go", "straight to delivery)"],
        ["consent", "marketing needs marketing consent"],
        ["her settings", "category and channel on or off"],
        ["flow still running", "(flow messages: exit conditions)"],
        ["one message per thing", "(no duplicates)"],
        ["caps on marketing", *caps],
        ["digest", "daily or weekly categories wait for it", *digest_text],
        [quiet_text],
        ["send windows", *windows],
        ["delivered"],
    ]
    changes = getattr(p, "changes", None) or []
    if changes:
        stages[5].append(f"{len(changes)} change{'s' * (len(changes) != 1)} over time (policies.changes)")
    c = Cluster("p", "policy pipeline (every message passes these in order)")
    for k, lines in enumerate(stages, 1):
        c.nodes.append(Node(f"p{k}", lines, "stage"))
        if k > 1:
            c.edges.append(Edge(f"p{k - 1}", f"p{k}"))
    return c


def _get(obj: Any, key: str) -> Any:
    """A field of a settings patch, whether it is a model or plain data (None when absent)."""
    if obj is None:
        return None
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)


def scenario_graph(sc: Any) -> list[Cluster]:
    clusters = _flows(sc)
    camp = _campaigns(sc)
    if camp is not None:
        clusters.append(camp)
    clusters.append(_pipeline(sc))
    return clusters


# --- text formats -----------------------------------------------------------------------------------------

def _mm(text: str) -> str:
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def mermaid(clusters: list[Cluster]) -> str:
    shapes = {"trigger": ('(["', '"])'), "exit": ('{{"', '"}}'), "campaign": ('["', '"]'), "stage": ('["', '"]'),
              "step": ('["', '"]')}
    out = ["flowchart LR"]
    for c in clusters:
        out.append(f'  subgraph {c.id}["{_mm(c.title)}"]')
        out.append("    direction LR")
        for n in c.nodes:
            a, b = shapes[n.kind]
            out.append(f"    {n.id}{a}{'<br/>'.join(_mm(x) for x in n.lines)}{b}")
        for e in c.edges:
            arrow = "-.->" if e.dashed else "-->"
            out.append(f"    {e.src} {arrow}{'|' + _mm(e.label) + '|' if e.label else ''} {e.dst}")
        out.append("  end")
    return "\n".join(out) + "\n"


def _dq(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def dot(clusters: list[Cluster]) -> str:
    shapes = {"trigger": "oval", "exit": "hexagon", "campaign": "note", "stage": "box", "step": "box"}
    out = ["digraph scenario {", "  rankdir=LR;", '  node [fontname="sans-serif", fontsize=10];',
           '  edge [fontname="sans-serif", fontsize=9];']
    for c in clusters:
        out.append(f"  subgraph cluster_{c.id} {{")
        out.append(f'    label="{_dq(c.title)}";')
        for n in c.nodes:
            label = "\\n".join(_dq(x) for x in n.lines)
            out.append(f'    {n.id} [shape={shapes[n.kind]}, label="{label}"];')
        for e in c.edges:
            attrs = [f'label="{_dq(e.label)}"'] if e.label else []
            if e.dashed:
                attrs.append("style=dashed")
            out.append(f"    {e.src} -> {e.dst}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";")
        out.append("  }")
    out.append("}")
    return "\n".join(out) + "\n"


__all__ = ["Cluster", "Edge", "Node", "dot", "mermaid", "scenario_graph"]
