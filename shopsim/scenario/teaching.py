"""Scenario section for teaching: `narration:` steps that pause the terminal app and explain what just
happened. A step fires once: at a time, or at the first event matching a filter (like `expect:` counts)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from shopsim.scenario.qa import Match
from shopsim.scenario.types import At, Clock, Duration, Model


class Claims(Model):
    """What a step says about the run, in a form a machine can check when the step fires: a lesson that stops
    being true (another seed, a changed flow, a setting changed during the run) is caught, by the test suite
    for the shipped lessons and in the callout for the viewer (narrator.Narrator.unmet)."""

    ordered: bool | None = Field(
        None, description="true: the shopper had placed an order before this event; false: she had not")
    in_inbox: bool | None = Field(
        None, description="true: the message the step is about is in her inbox, delivered, as the step shows; "
                          "false: it is not (yet), e.g. a message held by quiet hours")
    source: str | None = Field(
        None, min_length=1, max_length=120,
        description="the message was asked for by this source, as notification.requested.source writes it: "
                    "flow:cart_recovery:1 (a flow's first step), campaign:spring, order, account, digest:daily")
    follows: Match | None = Field(
        None, description="an earlier event of the same shopper matches these fields, e.g. {type: cart.abandoned}")
    gap: Duration | None = Field(
        None, description="with follows: the latest such event came this long before this one (to the minute)")
    local_time: Annotated[list[Clock], Field(min_length=2, max_length=2)] | None = Field(
        None, description='the event happened in the shopper\'s own time zone between these two clock times, '
                          'e.g. ["22:00", "08:00"] (a window that crosses midnight)')
    held_until: Clock | None = Field(
        None, description="a held message (notification.deferred) or one batched into a digest "
                          "(notification.digested) waits until this local time of the shopper")

    @model_validator(mode="after")
    def _gap_needs_follows(self) -> "Claims":
        if self.gap is not None and self.follows is None:
            raise ValueError("gap needs follows: the earlier event the gap is measured from, "
                             "e.g. follows: {type: cart.abandoned}")
        if self.follows is not None and not self.follows:
            raise ValueError("follows needs at least one field to match, e.g. {type: cart.abandoned}")
        return self


class NarrationStep(Model):
    at: At | None = Field(None, description="pause at this time (a duration after the start or a UTC instant)")
    when: Match | None = Field(
        None, description="pause at the first event whose fields equal these values, e.g. "
                          "{type: cart.abandoned} or {type: notification.deferred, reason: quiet_hours}")
    title: str = Field(min_length=1, max_length=80)
    text: str = Field(min_length=1, max_length=1200)
    shopper: str | None = Field(None, max_length=20, pattern=r"^s\d{6,}$",
                                description="the shopper to show (default: the matched event's shopper)")
    expect: Claims | None = Field(
        None, description="what the text claims about the event, checked when the step fires, e.g. "
                          "{ordered: true} for \"the flow stops because she bought\"")

    @model_validator(mode="after")
    def _at_or_when(self) -> "NarrationStep":
        if (self.at is None) == (self.when is None):
            raise ValueError("give at or when (one of them)")
        if self.when is not None and not self.when:
            raise ValueError("when needs at least one field to match, e.g. {type: cart.abandoned}")
        if self.expect is not None and self.when is None:
            raise ValueError("expect needs when: its claims are about the event the step fires on")
        return self


# --- placeholders: numbers from the run ---------------------------------------------------------------------
#
# A step's title and text may quote the run through placeholders: `{abandonment_rate}` is replaced, when the
# step shows, by that KPI of shopsim/metrics/catalog.py as the run stands; `{shoppers}` by the run's shopper
# count. `{{` and `}}` are literal braces. Parsing lives here (the scenario side); whether a name is a KPI,
# and filling them in from a `Metrics.result()`, is shopsim/qa/narration.py, which sees the KPI catalogue.

SHOPPERS = "shoppers"  # the one placeholder that is not a KPI name


class Placeholder(str):
    """A `{name}` in a narration text (the name, without its braces)."""


def _excerpt(text: str, i: int) -> str:
    start, end = max(0, i - 20), min(len(text), i + 21)
    return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")


def split_text(text: str) -> list[str]:
    """`text` as pieces: literal strings (braces unescaped) and `Placeholder`s, in order.

    Raises ValueError, saying where, for a `{` never closed, a `}` never opened, or an empty `{}`."""
    pieces: list[str] = []
    literal: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "{}" and text.startswith(ch * 2, i):
            literal.append(ch)
            i += 2
        elif ch == "{":
            close = text.find("}", i + 1)
            inner = text.find("{", i + 1)
            if close < 0 or 0 <= inner < close:
                raise ValueError(f"unbalanced braces: the {{ at character {i + 1} (near {_excerpt(text, i)!r}) is "
                                 "never closed; write {{ for a literal brace")
            name = text[i + 1:close]
            if not name.strip():
                raise ValueError(f"empty placeholder {{}} at character {i + 1}; write a KPI name inside the braces "
                                 "(e.g. {abandonment_rate}), or {{ and }} for literal braces")
            if literal:
                pieces.append("".join(literal))
                literal = []
            pieces.append(Placeholder(name))
            i = close + 1
        elif ch == "}":
            raise ValueError(f"unbalanced braces: the }} at character {i + 1} (near {_excerpt(text, i)!r}) closes "
                             "nothing; write }} for a literal brace")
        else:
            literal.append(ch)
            i += 1
    if literal:
        pieces.append("".join(literal))
    return pieces


def placeholders(text: str) -> list[str]:
    """The placeholder names in `text`, in order (ValueError as `split_text`)."""
    return [p for p in split_text(text) if isinstance(p, Placeholder)]
