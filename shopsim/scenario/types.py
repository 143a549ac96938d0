"""The schema's building blocks: the strict base model and the value types every section uses."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from shopsim.contract.taxonomy import CHANNELS
from shopsim.contract.units import MAX_DURATION, parse_clock, parse_duration, parse_instant, shown

Probability = Annotated[float, Field(ge=0, le=1)]
Share = Annotated[float, Field(ge=0, le=1)]
Positive = Annotated[float, Field(gt=0)]
# A trait multiplies a rate or a time: a hundredfold is past any real difference between segments.
Trait = Annotated[float, Field(gt=0, le=100)]
# Money: one product's price, a fee or an amount off (in the catalogue's currency); and a threshold on a cart or
# an order, which may add up many products.
MAX_PRICE = 1_000_000
MAX_SUBTOTAL = 1_000_000_000
Price = Annotated[float, Field(gt=0, le=MAX_PRICE)]
Subtotal = Annotated[float, Field(ge=0, le=MAX_SUBTOTAL)]
# Names a scenario gives (segments, carriers, flows, campaigns, ...) and references to them.
Name = Annotated[str, Field(max_length=80)]


class Model(BaseModel):
    # strict: `size: true` or `seed: "5"` are mistakes to report, not values to coerce.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)


MAX_RUN = MAX_DURATION  # three years: longer runs are almost certainly a typo, and would run for hours
LATEST_YEAR = 2204  # the last year a run can reach: it starts in 2200 at the latest and lasts at most MAX_RUN


def _duration(v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, str):
        raise ValueError(f"must be a duration with a unit, e.g. 7d or 90m, got {shown(v)}")
    if parse_duration(v) <= 0:
        raise ValueError("must be a positive duration")
    return v


def _run_duration(v: Any) -> str:
    try:
        return _duration(v)
    except ValueError as e:
        if "longest duration" in str(e):  # parse_duration's bound is the longest run
            raise ValueError(f"{shown(v)} is longer than the longest run shopsim plays ({MAX_RUN})") from None
        raise


Duration = Annotated[str, BeforeValidator(_duration), Field(description="a duration: 90s, 45m, 4h, 7d, 1h30m")]


Channel = Literal[CHANNELS]  # type: ignore[valid-type]


def _clock(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError(f"must be a local time HH:MM in quotes, e.g. \"22:00\", got {shown(v)}")
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
        raise ValueError(f"must be a duration after the start or an ISO instant, got {shown(v)}")
    try:
        parse_duration(v)
    except ValueError:
        try:
            when = parse_instant(v)
        except ValueError:
            raise ValueError(f"{shown(v)} is neither a duration (36h) nor an ISO instant (2026-03-03T12:00:00Z)") from None
        if not 1970 <= when.year <= LATEST_YEAR:
            raise ValueError(f"{v} is outside the years shopsim plays (1970 to {LATEST_YEAR})")
    return v


At = Annotated[str, BeforeValidator(_at), Field(description="a duration after the start (2d, 36h) or a UTC instant")]
