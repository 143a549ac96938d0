"""A message's text is rendered only when its event reaches someone: an observer, or a caller of step()/flush().
A run nobody watches renders nothing, and every event anybody receives carries the same text as ever."""

from __future__ import annotations

from shopsim.contract import events as E
from shopsim.notify.templates import Templates
from shopsim.scenario.compiled import compile_scenario
from shopsim.simulation import Simulation
from tests.helpers.scenarios import tiny_scenario


def _count_renders(monkeypatch) -> list[int]:
    calls = [0]
    real = Templates.render

    def counted(self, category, channel, ctx):
        calls[0] += 1
        return real(self, category, channel, ctx)

    monkeypatch.setattr(Templates, "render", counted)
    return calls


def _delivered(batch):
    return [ev.data for ev in batch if ev.type == E.NOTIFICATION_DELIVERED]


def _scenario(**extra):
    return compile_scenario(tiny_scenario(40, "4d", seed=3, **extra))


def test_a_run_nobody_watches_renders_no_text(monkeypatch):
    calls = _count_renders(monkeypatch)
    sim = Simulation(_scenario(), keep_messages=False)
    sim.run()
    assert sim.kernel.counts.get(E.NOTIFICATION_DELIVERED, 0) > 20
    assert calls[0] == 0


def test_an_observer_gets_every_text_as_a_kept_run_renders_it(monkeypatch):
    watched: list = []
    sim = Simulation(_scenario(), keep_messages=False)
    sim.subscribe(lambda batch: watched.extend(_delivered(batch)))
    sim.run()
    kept: list = []
    ref = Simulation(_scenario(), keep_messages=True)  # renders at delivery
    ref.subscribe(lambda batch: kept.extend(_delivered(batch)))
    ref.run()
    assert len(watched) > 20
    assert watched == kept
    assert all(d["body"] for d in watched)


def test_a_batch_returned_to_the_caller_has_its_texts_without_an_observer():
    sim = Simulation(_scenario(), keep_messages=False)
    got = []
    while not sim.kernel.finished:
        got.extend(_delivered(sim.step()))
    assert len(got) > 20 and all(d["body"] and d["title"] for d in got if d["channel"] != "sms")


def test_a_scenarios_own_template_renders_at_delivery_even_unwatched(monkeypatch):
    calls = _count_renders(monkeypatch)
    own = {"templates": {"order_updates": {"email": {"subject": "Order {{ order.id }}"}}}}
    sim = Simulation(_scenario(policies=own), keep_messages=False)
    sim.run()
    assert calls[0] > 0  # its own messages rendered; the shipped ones (others) did not
    assert calls[0] < sim.kernel.counts[E.NOTIFICATION_DELIVERED]


def test_observers_that_read_no_text_let_the_run_skip_it(monkeypatch):
    calls = _count_renders(monkeypatch)
    sim = Simulation(_scenario(), keep_messages=False)
    seen: list = []
    sim.subscribe(lambda batch: seen.extend(_delivered(batch)), texts=False)
    sim.run()
    assert seen and calls[0] == 0
    assert all(d["title"] is None and d["body"] is None for d in seen)


def test_a_text_reader_subscribed_later_still_gets_texts_from_then_on():
    sim = Simulation(_scenario(), keep_messages=False)
    sim.run_until(2 * 86_400_000)
    got: list = []
    stop = sim.subscribe(lambda batch: got.extend(_delivered(batch)))
    sim.run()
    stop()
    assert got and all(d["body"] for d in got)


def test_a_sweep_run_renders_no_text_and_measures_the_same(monkeypatch):
    from shopsim.sweep.play import play

    text = tiny_scenario(40, "4d", seed=3, as_text=True)
    before = play(text, "tiny.yaml", (), 3)
    calls = _count_renders(monkeypatch)
    assert play(text, "tiny.yaml", (), 3) == before
    assert calls[0] == 0
