"""The schema's building blocks: the strict base model and the value types every section uses."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from shopsim.scenario.taxonomy import CHANNELS
from shopsim.scenario.units import parse_clock, parse_duration, parse_instant

Probability = Annotated[float, Field(ge=0, le=1)]
Share = Annotated[float, Field(ge=0, le=1)]
Positive = Annotated[float, Field(gt=0)]


class Model(BaseModel):
    # strict: `size: true` or `seed: "5"` are mistakes to report, not values to coerce.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)


MAX_RUN = "1096d"  # three years: longer runs are almost certainly a typo, and would run for hours


def _duration(v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, str):
        raise ValueError(f"must be a duration with a unit, e.g. 7d or 90m, got {v!r}")
    if parse_duration(v) <= 0:
        raise ValueError("must be a positive duration")
    return v


def _run_duration(v: Any) -> str:
    v = _duration(v)
    if parse_duration(v) > parse_duration(MAX_RUN):
        raise ValueError(f"{v} is longer than the longest run shopsim plays ({MAX_RUN})")
    return v


Duration = Annotated[str, BeforeValidator(_duration), Field(description="a duration: 90s, 45m, 4h, 7d, 1h30m")]


Channel = Literal[CHANNELS]  # type: ignore[valid-type]


def _clock(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError(f"must be a local time HH:MM in quotes, e.g. \"22:00\", got {v!r}")
    parse_clock(v)
    return v


Clock = Annotated[str, BeforeValidator(_clock), Field(description="local time HH:MM")]


def _unique(v: list[str]) -> list[str]:
    if len(set(v)) != len(v):
        dup = next(c for c in v if v.count(c) > 1)
        raise ValueError(f"{dup} is listed twice; each channel once")
    return v


Channels = Annotated[list[Channel], AfterValidator(_unique)]




def _at(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError(f"must be a duration after the start or an ISO instant, got {v!r}")
    try:
        parse_duration(v)
    except ValueError:
        try:
            parse_instant(v)
        except ValueError:
            raise ValueError(f"{v!r} is neither a duration (36h) nor an ISO instant (2026-03-03T12:00:00Z)") from None
    return v


At = Annotated[str, BeforeValidator(_at), Field(description="a duration after the start (2d, 36h) or a UTC instant")]
