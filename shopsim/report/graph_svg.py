"""The scenario graph (graph.py) as one self-contained SVG, with no layout engine to install.

Each cluster is a band: its title, then its nodes left to right in the order they happen, wrapping onto a
new line when the band is full; edges join node sides (a dashed edge, such as a flow's exit, runs under
its band). Text uses currentColor, as the report's charts do, so light and dark pages both read it."""

from __future__ import annotations

from html import escape

from shopsim.report.graph import Cluster

W = 1000          # the picture's width
CHAR = 6.6        # the advance of an 11px sans-serif glyph, generous
LINE = 15
GAP = 64          # between nodes: room for an arrow and its label ("after 23h")
FILL = {"trigger": "#4e79a7", "exit": "#e15759", "campaign": "#59a14f", "stage": "#8c8c8c", "step": "#f28e2b"}


def _size(lines: list[str]) -> tuple[float, float]:
    return max(len(x) for x in lines) * CHAR + 16, len(lines) * LINE + 10


def svg(clusters: list[Cluster], title: str) -> str:
    body, y = [], 40.0
    for c in clusters:
        body.append(f'<text x="8" y="{y:.1f}" font-size="13" font-weight="600">{escape(c.title)}</text>')
        y += 12
        boxes: dict[str, tuple[float, float, float, float]] = {}
        x, row_h = 8.0, 0.0
        for n in c.nodes:
            w, h = _size(n.lines)
            if (x + w > W - 8 or n.kind == "exit") and x > 8:  # a full band (or a flow's end): a new line
                x, y = 8.0, y + row_h + GAP
                row_h = 0.0
            boxes[n.id] = (x, y, w, h)
            color = FILL.get(n.kind, "#8c8c8c")
            rx = h / 2 if n.kind == "trigger" else 4
            body.append(f'<g class="node {n.kind}"><rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" '
                        f'rx="{rx:.1f}" fill="{color}" fill-opacity="0.15" stroke="{color}"/>')
            for k, line in enumerate(n.lines):
                weight = ' font-weight="600"' if k == 0 else ""
                body.append(f'<text x="{x + 8:.1f}" y="{y + 17 + k * LINE:.1f}"{weight}>{escape(line)}</text>')
            body.append("</g>")
            x += w + GAP
            row_h = max(row_h, h)
        bottom = y + row_h
        for e in c.edges:
            sx, sy, sw, sh = boxes[e.src]
            dx, dy, dw, dh = boxes[e.dst]
            dash = ' stroke-dasharray="4 3"' if e.dashed else ""
            if dy > sy + sh:  # the target is on a later line: down from the source, across, down into it
                x1, x2, mid = sx + min(sw / 2, 24), dx + min(dw / 2, 24), dy - GAP / 2
                body.append(f'<path d="M{x1:.1f} {sy + sh:.1f} V{mid:.1f} H{x2:.1f} V{dy:.1f}" fill="none" '
                            f'stroke="currentColor"{dash} marker-end="url(#arrow)"/>')
                continue
            x1, y1, x2, y2 = sx + sw, sy + sh / 2, dx, dy + dh / 2
            body.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="currentColor"{dash} '
                        'marker-end="url(#arrow)"/>')
            if e.label:
                body.append(f'<text x="{(x1 + x2) / 2:.1f}" y="{min(y1, y2) - 4:.1f}" text-anchor="middle" '
                            f'font-size="10">{escape(e.label)}</text>')
        y = bottom + 36
    defs = ('<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            'orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="currentColor"/></marker></defs>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {y:.1f}" width="100%" role="img" '
            f'aria-label="{escape(title)}" font-family="system-ui, sans-serif" font-size="11" fill="currentColor">'
            f'{defs}<title>{escape(title)}</title><text x="8" y="18" font-size="15" font-weight="600">'
            f'{escape(title)}</text>' + "".join(body) + "</svg>\n")
