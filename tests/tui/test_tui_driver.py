"""The transport and the narration, without a terminal: a fake clock makes every slice deterministic."""

from __future__ import annotations

from helpers.scenarios import tiny_scenario
from shopsim.scenario.schema import Scenario
from shopsim.contract import events as E
from shopsim.contract.clock import HOUR, MINUTE
from shopsim.simulation import Simulation
from shopsim.tui.driver import SPEEDS, SimDriver
from shopsim.tui.narrator import Narrator

PROMOS = [{"at": f"{h}h", "shopper": "all", "notify": {"category": "promotions", "channels": ["email"],
                                                      "title": "Deal"}} for h in (2, 5, 9)]


class FakeClock:
    """Wall time that moves only when told to, so a slice's budget never runs out mid-test."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def driver(**sections) -> SimDriver:
    sim = Simulation(tiny_scenario(size=10, duration="2d", events=PROMOS, **sections))
    sim.step()
    return SimDriver(sim, clock=FakeClock())


def test_playing_advances_virtual_time_by_speed_times_wall_time() -> None:
    d = driver()
    d.speed_index = SPEEDS.index(3600)
    d.toggle()
    d.slice(0.1)  # a tenth of a wall second at 1 h/s: six virtual minutes
    assert d.sim.now == 6 * MINUTE and d.playing
    d.toggle()
    d.slice(5.0)
    assert d.sim.now == 6 * MINUTE and not d.playing


def test_jumps_and_steps() -> None:
    d = driver()
    d.jump_hour()
    d.slice(0.0)
    assert d.sim.now == HOUR and not d.busy
    d.step_notification()
    events = d.slice(0.0)
    assert any(e.type == E.NOTIFICATION_DELIVERED for e in events)
    assert d.sim.now == 2 * HOUR and not d.busy
    before = d.sim.emitted
    d.step_event()
    assert d.sim.emitted > before and d.slice(0.0)


def test_quick_jumps_add_up_and_stop_at_the_end() -> None:
    d = driver()
    d.jump_hour()
    d.jump_hour()
    d.jump_hour()  # three presses before any slice ran: three hours, not one
    assert d.target == 3 * HOUR and d.sim.now == 0
    d.slice(0.0)
    assert d.sim.now == 3 * HOUR and not d.busy
    d.jump_hour()
    d.jump_day()
    d.jump_day()  # past the run's end (2 days): to the end
    assert d.target == d.sim.end
    d.toggle()  # playing drops the jump; a jump after it starts from now again
    d.toggle()
    d.jump_hour()
    assert d.target == 4 * HOUR


def test_state_words() -> None:
    d = driver()
    assert d.state == "paused"
    d.toggle()
    assert d.state == "playing"
    d.jump_hour()
    assert d.state == "working" and not d.playing
    d.slice(0.0)
    assert d.state == "paused"
    d.step_notification()
    assert d.state == "working"
    d.slice(0.0)
    assert d.state == "paused"
    d.speed_index = len(SPEEDS) - 1
    d.toggle()
    while not d.finished:
        d.slice(1 / 30)
    assert d.state == "finished"
    d.toggle()
    d.jump_day()
    assert d.state == "finished" and not d.busy


def test_max_speed_runs_to_the_end_and_finishes() -> None:
    d = driver()
    d.speed_index = len(SPEEDS) - 1
    d.toggle()
    events = []
    for _ in range(10_000):
        events += d.slice(1 / 30)
        if d.finished:
            break
    assert d.finished and not d.playing and events[-1].type == E.RUN_FINISHED


def test_a_timed_narration_step_stops_the_clock_exactly_there() -> None:
    d = driver(narration=[{"at": "3h", "title": "Look", "text": "Three hours in."}])
    d.speed_index = len(SPEEDS) - 1
    d.toggle()
    for _ in range(100):
        d.slice(1 / 30)
        if d.narration:
            break
    assert d.narration is not None and d.narration.t == 3 * HOUR and d.sim.now == 3 * HOUR
    assert not d.playing and d.narration.step.title == "Look"


def test_an_event_narration_step_fires_once_on_the_first_match() -> None:
    d = driver(narration=[{"when": {"type": "notification.delivered", "category": "promotions"},
                           "title": "A promotion", "text": "It arrived."}])
    d.toggle()
    d.speed_index = len(SPEEDS) - 1
    while d.narration is None and not d.finished:
        d.slice(1 / 30)
    hit = d.narration
    assert hit.event.type == E.NOTIFICATION_DELIVERED and hit.shopper == hit.event.shopper
    assert hit.t == 2 * HOUR and d.sim.now - hit.t <= MINUTE  # paused within a minute of it
    d.narration = None
    d.toggle()
    while not d.finished:
        d.slice(1 / 30)
    assert d.narration is None  # once only


def test_narrator_matches_lists_and_missing_fields() -> None:
    sc = Scenario.model_validate(tiny_scenario(size=2, duration="1d").model_dump(mode="json", exclude_unset=True)
                                 | {"narration": [{"when": {"type": ["cart.abandoned", "order.placed"],
                                                            "reason": "extra_costs"}, "title": "t", "text": "x"}]})
    n = Narrator(sc.narration, 0)
    ev = E.Event(5, 10, "order.placed", "s000001", {"order": "o"})
    assert n.scan([ev], 10) is None  # order.placed has no reason field: no match
    hit = n.scan([E.Event(6, 11, "cart.abandoned", "s000002", {"reason": "extra_costs"})], 11)
    assert hit is not None and hit.shopper == "s000002"


def test_run_until_stopped_by_its_deadline_carries_on_exactly() -> None:
    """A front end cuts the run into deadline-bounded calls; the events are the same as one call's."""
    sc = tiny_scenario(size=40, duration="2d", events=PROMOS)
    whole = Simulation(sc)
    want: list = []
    whole.subscribe(want.extend)
    whole.run()

    ticks = iter(range(10**9))
    cut = Simulation(sc)
    got: list = []
    cut.subscribe(got.extend)
    calls = 0
    while not cut.finished:
        now = next(ticks)
        cut.run_until(cut.end, deadline=now + 1, clock=lambda: next(ticks))  # stops every 32 items
        calls += 1
    assert calls > 3 and got == want


def test_narration_switched_off_neither_pauses_nor_fires() -> None:
    d = driver(narration=[{"at": "3h", "title": "Look", "text": "Three hours in."}])
    d.narrator.enabled = False
    d.speed_index = len(SPEEDS) - 1
    d.toggle()
    while not d.finished:
        d.slice(1 / 30)
    assert d.narration is None and not d.narrator.fired
