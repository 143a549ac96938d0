"""Every event type reads as a sentence in words: what `n` in the terminal app says it stepped to."""

from __future__ import annotations

from helpers.paths import SCENARIOS
from helpers.runs import replay_events

from shopsim.contract import events as E
from shopsim.contract.events import Event
from shopsim.tui.event_words import _SENTENCES, event_words

DEFAULT = SCENARIOS / "default.yaml"


def test_every_event_type_has_a_sentence() -> None:
    types = {v for k, v in vars(E).items() if k.isupper() and isinstance(v, str) and "." in v}
    assert types <= set(_SENTENCES), f"no words for {sorted(types - set(_SENTENCES))}"


def test_a_week_of_events_reads_in_words() -> None:
    seen: dict[str, Event] = {}
    for ev in replay_events(DEFAULT.read_text()):
        seen.setdefault(ev.type, ev)
    assert len(seen) > 25
    for ev in seen.values():
        text = event_words(ev, "Anna Roth")
        assert "_" not in text and ev.type not in text, text
        assert " her " not in f" {text} " and " she " not in f" {text} ", text  # shoppers are not all women
        if ev.shopper:
            assert text.startswith(f"Anna Roth ({ev.shopper})")
            assert not event_words(ev, who=False).startswith(("Anna", ev.shopper))


def test_odd_data_never_raises() -> None:
    for typ in _SENTENCES:
        for data in ({}, {"value": "x", "items": None, "reason": 3, "channel": None}, {"price": True}):
            assert event_words(Event(1, 0, typ, "s000001", data))
