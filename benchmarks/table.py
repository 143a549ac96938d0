"""How every benchmark prints its figures: one row per figure, `what | today | now | goal`.

`today` is the figure recorded before the speed-and-scale work (docs/performance.md gives the command and
machine it came from), `now` is what this run measured, `goal` the target. With `BENCH_JSON=path` set (as
`benchmarks/all.py` does) each row is also appended to that file as one JSON line, so the whole table can be
printed once at the end.
"""

from __future__ import annotations

import json
import os
from typing import NamedTuple


class Row(NamedTuple):
    what: str
    today: str
    now: str
    goal: str
    met: bool | None = None  # None when "now" is not comparable with the goal (e.g. a smaller run)


def show(title: str, rows: list[Row], note: str = "") -> None:
    print(render(title, rows, note))
    path = os.environ.get("BENCH_JSON")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps({"title": title, **r._asdict()}) + "\n")


def render(title: str, rows: list[Row], note: str = "") -> str:
    head = Row("what", "today", "now", "goal")
    widths = [max(len(getattr(r, f)) for r in (head, *rows)) for f in ("what", "today", "now")]
    out = [title]
    for r in (head, *rows):
        mark = {True: "  ok", False: "  short", None: ""}[r.met]
        out.append(f"  {r.what:<{widths[0]}} | {r.today:<{widths[1]}} | {r.now:<{widths[2]}} | {r.goal}{mark}")
    if note:
        out.append(f"  {note}")
    return "\n".join(out)
