"""A hand-built log of a three-arm experiment, for the pairwise comparisons' tests."""

from __future__ import annotations

from helpers.logs import H, Log, started


def three_arms(sizes=(40, 40, 40), ordered=(10, 20, 12), compare=(("b", "a"),)) -> Log:
    """Arms c (control), a and b on conversion: `sizes` shoppers each, the first `ordered` of them order."""
    g = Log(shoppers=sum(sizes))
    started(g, "exp", {"c": False, "a": False, "b": False}, "c", metric="conversion")
    if compare:
        g.lines[-1][3]["compare"] = [{"variant": v, "against": b} for v, b in compare]
    i = 0
    for arm, n, k in zip("cab", sizes, ordered):
        for j in range(n):
            sid = f"s{i:06d}"
            i += 1
            g.add(0, "experiment.assigned", sid, experiment="exp", variant=arm)
            if j < k:
                g.order(H, sid, f"{sid}-c1")
    g.add(3 * H, "run.finished", None, events=0, counts={}, shoppers=sum(sizes))
    return g
