"""The kernel's rules, stated as behaviour: the order of items due at one instant (scripted first, then by
shopper, then in the order scheduled), a clock that never goes back, a deadline that pauses and resumes a run
exactly, and a kernel that knows no process."""

from __future__ import annotations

import ast

import pytest
from hypothesis import given, strategies as st

from helpers.paths import ROOT
from helpers.scenarios import tiny_scenario
from shopsim.contract import events as E
from shopsim.simulation import Simulation
from shopsim.sim.kernel import PRIO_NORMAL, PRIO_SCRIPT, T_SHIFT, Kernel, key



def _kernel(end: int = 1_000, shoppers: int = 3) -> tuple[Kernel, list[tuple]]:
    k = Kernel(end, [f"shopper {i}" for i in range(shoppers)])
    seen: list[tuple] = []
    kind = k.register(lambda sh, payload: seen.append((k.now, sh, payload)))
    k.kind = kind  # type: ignore[attr-defined]
    return k, seen


def test_at_one_instant_scripted_items_come_first_then_by_shopper_then_in_the_order_scheduled():
    k, seen = _kernel()
    kind = k.kind
    k.schedule(10, kind, 2, "normal, shopper 2")
    k.schedule(10, kind, 0, "normal, shopper 0, first")
    k.schedule(10, kind, 0, "normal, shopper 0, second")
    k.schedule(10, kind, 1, "scripted, shopper 1", prio=PRIO_SCRIPT)
    k.schedule(10, kind, -1, "scripted, everyone", prio=PRIO_SCRIPT)
    k.schedule(5, kind, 2, "earlier")
    k.run_until(100)
    assert [p for _, _, p in seen] == ["earlier", "scripted, everyone", "scripted, shopper 1",
                                       "normal, shopper 0, first", "normal, shopper 0, second", "normal, shopper 2"]
    assert seen[1][1] is None and seen[2][1] == "shopper 1"  # index -1 is no shopper
    assert PRIO_SCRIPT < PRIO_NORMAL


def test_a_scripted_settings_change_holds_for_a_campaign_due_at_the_same_instant():
    """The documented rule in a run: a shopper who turns in-app messages off at 10:00 gets none from a campaign
    sent at 10:00, though the campaign was scheduled first; a minute later, the campaign has reached her."""
    def run(at: str) -> list[str]:
        sc = tiny_scenario(
            size=3, duration="1d", population={"consent": {"marketing_consent": 1.0}},
            campaigns={"sale": {"kind": "promotion", "at": "10h", "channels": ["in_app"], "title": "Sale"}},
            events=[{"at": at, "shopper": "s000001", "settings": {"channels": {"in_app": False}}}],
            policies={"caps": []})
        sim = Simulation(sc)
        events: list = []
        sim.subscribe(events.extend)
        sim.run()
        return [e.type for e in events if e.shopper == "s000001" and e.type in
                (E.SETTINGS_CHANGED, E.NOTIFICATION_DELIVERED, E.NOTIFICATION_SUPPRESSED)]

    assert run("10h") == [E.SETTINGS_CHANGED, E.NOTIFICATION_SUPPRESSED]
    assert run("10h1m") == [E.NOTIFICATION_DELIVERED, E.SETTINGS_CHANGED]


def test_the_clock_never_goes_back_and_nothing_is_kept_past_the_end():
    k, seen = _kernel(end=50)
    k.schedule(20, k.kind, 0, "a")
    k.run_until(20)
    with pytest.raises(ValueError, match="before now"):
        k.schedule(19, k.kind, 0, "late")
    k.schedule(51, k.kind, 0, "after the end")  # dropped: the run ends at 50
    assert k.next_time is None
    k.run_until(10_000)
    assert k.now == 50 and k.finished and [p for _, _, p in seen] == ["a"]


def test_a_deadline_pauses_between_items_and_the_next_call_carries_on_exactly():
    def play(deadline_every: int | None) -> list[tuple]:
        k, seen = _kernel(end=10_000)
        for i in range(500):
            k.schedule(i * 7 % 9_000, k.kind, i % 3, i)
        ticks = iter(range(1_000_000))
        while not k.run_until(10_000, deadline=0 if deadline_every else None, clock=lambda: next(ticks)):
            pass
        return seen

    assert play(1) == play(None)


def test_step_hands_back_events_one_batch_at_a_time_and_ends_with_run_finished():
    k = Kernel(100, ["s"])
    kind = k.register(lambda sh, p: k.emit("tick", None, {"n": p}))
    k.on_start(lambda: [k.schedule(t, kind, 0, t) for t in (10, 20)])
    batches = [k.step() for _ in range(4)]
    assert [[e.type for e in b] for b in batches] == [[], ["tick"], ["tick"], [E.RUN_FINISHED]]
    assert batches[3][0].data["counts"] == {"tick": 2} and k.now == 100


def test_the_kernel_imports_no_process():
    tree = ast.parse((ROOT / "shopsim" / "sim" / "kernel.py").read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    ours = {m for m in imported if m.startswith("shopsim")}
    assert ours <= {"shopsim.contract", "shopsim.contract.events"}, ours


_items = st.tuples(st.integers(0, 90 * 86_400_000), st.integers(0, 1), st.integers(-1, 999_999),
                   st.integers(1, 2**40 - 1))


@given(st.lists(_items, min_size=2, max_size=50, unique_by=lambda i: i[3]))
def test_queue_keys_sort_as_their_tuples(items):
    """The heap's packed keys keep the order (t, prio, shopper, seq) the log's determinism rests on."""
    assert sorted(items) == sorted(items, key=lambda i: key(*i))
    assert all(key(*i) >> T_SHIFT == i[0] for i in items)


def test_items_run_in_time_then_priority_then_shopper_then_insertion_order():
    ran = []
    k = Kernel(1000, [f"s{i}" for i in range(3)])
    kind = k.register(lambda sh, p: ran.append((k.now, sh, p)))
    for t, prio, who, p in [(5, 1, 2, "a"), (5, 1, 0, "b"), (5, 0, 2, "c"), (3, 1, 1, "d"), (5, 1, 0, "e"),
                            (5, 1, -1, "f")]:
        k.schedule(t, kind, who, p, prio)
    k.run_until(1000)
    assert [p for _, _, p in ran] == ["d", "c", "f", "b", "e", "a"]
    assert [t for t, _, _ in ran] == [3, 5, 5, 5, 5, 5]
    assert k.next_time is None and not k._items
