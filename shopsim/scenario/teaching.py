"""Scenario section for teaching: `narration:` steps that pause the terminal app and explain what just
happened. A step fires once: at a time, or at the first event matching a filter (like `expect:` counts)."""

from __future__ import annotations

from typing import Union

from pydantic import Field, model_validator

from shopsim.scenario.types import At, Model

Scalar = Union[str, int, float, bool, None]


class NarrationStep(Model):
    at: At | None = Field(None, description="pause at this time (a duration after the start or a UTC instant)")
    when: dict[str, Union[Scalar, list[Scalar]]] | None = Field(
        None, description="pause at the first event whose fields equal these values, e.g. "
                          "{type: cart.abandoned} or {type: notification.deferred, reason: quiet_hours}")
    title: str = Field(min_length=1, max_length=80)
    text: str = Field(min_length=1, max_length=1200)
    shopper: str | None = Field(None, pattern=r"^s\d{6,}$", description="the shopper to show (default: the "
                                                                        "matched event's shopper)")

    @model_validator(mode="after")
    def _at_or_when(self) -> "NarrationStep":
        if (self.at is None) == (self.when is None):
            raise ValueError("give at or when (one of them)")
        if self.when is not None and not self.when:
            raise ValueError("when needs at least one field to match, e.g. {type: cart.abandoned}")
        return self
