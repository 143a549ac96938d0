"""Scenario sections for QA and analysis: `experiments:` (arms that differ only in policy) and `expect:`
(what `shopsim replay --check` verifies). Metric and invariant names are checked in checks.py against
shopsim.metrics, which owns them."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Field, model_validator

from shopsim.scenario.types import At, Channel, Clock, Model, Name

ExperimentMetric = Literal["recovery", "conversion", "unsubscribe", "revenue_per_shopper"]
Scalar = Union[str, int, float, bool, None]
# Fields an event must match, as `expect: count` and `narration: when` write them.
Match = Annotated[dict[Name, Union[Scalar, Annotated[list[Scalar], Field(max_length=100)]]], Field(max_length=20)]


class Variant(Model):
    """One arm. It gets exactly the flows and campaigns it lists out of those the experiment governs (every
    flow and campaign any arm lists); a holdout gets none of them."""
    weight: float = Field(1.0, gt=0, le=1_000_000, description="relative share of shoppers")
    holdout: bool = Field(False, description="receives none of the experiment's flows, campaigns or ads")
    flows: list[Name] = Field(default_factory=list, max_length=50, description="flows this arm receives")
    campaigns: list[Name] = Field(default_factory=list, max_length=100, description="campaigns this arm receives")
    ads: bool | None = Field(None, description="whether this arm sees retargeting ads (set it on any arm to put "
                                               "ads under the experiment)")

    @model_validator(mode="after")
    def _holdout_gets_nothing(self) -> "Variant":
        if self.holdout and (self.flows or self.campaigns or self.ads):
            raise ValueError("a holdout receives nothing: leave out flows, campaigns and ads")
        return self


class Comparison(Model):
    """A pair of arms whose difference the experiment is about, answered first in the report."""
    variant: Name = Field(description="the arm whose difference is reported")
    against: Name = Field(description="the arm it is measured against (variant minus against)")


class Experiment(Model):
    """Shoppers are split between the variants by a hash of (experiment, shopper id): the same shopper is
    always in the same arm, whatever the seed or the other shoppers."""
    description: str = Field("", max_length=500)
    metric: ExperimentMetric = Field("recovery", description="the shopper-level outcome the arms are compared on")
    control: Name | None = Field(None, description="the arm the others are compared with (default: the first "
                                                  "that is not a holdout)")
    variants: dict[str, Variant] = Field(min_length=2, max_length=20)
    compare: list[Comparison] = Field(
        default_factory=list, max_length=190,
        description="the pairs of arms that matter, e.g. [{variant: reminder_discount, against: reminder}]: "
                    "the report answers them first (every pair of arms is compared either way)")

    @property
    def control_arm(self) -> str:
        """The arm the others are compared with: `control`, else the first that is not a holdout."""
        return self.control or next((n for n, v in self.variants.items() if not v.holdout), next(iter(self.variants)))


Bound = Union[float, int, str]  # a number, a percentage ("5%") or a duration ("6h")


class Persona(Model):
    """A shopper the scenario names for review ("Tokyo night owl"): `diff --personas` and `expect:` use her."""
    shopper: str = Field(max_length=20, pattern=r"^s\d{6,}$", description="shopper id, e.g. s000001")
    description: str = Field("", max_length=300, description="who she is, in a few words")


class Receives(Model):
    shopper: str | None = Field(None, max_length=20, pattern=r"^s\d{6,}$", description="shopper id, e.g. s000001")
    persona: Name | None = Field(None, description="a persona the scenario names (personas:), instead of shopper")
    channel: Channel | None = None
    category: Name | None = None
    between: Annotated[list[At], Field(min_length=2, max_length=2)] | None = Field(
        None, description="[from, to): durations after the start or UTC instants; `to` itself is outside")
    title_contains: str | None = Field(None, max_length=200)
    local_between: Annotated[list[Clock], Field(min_length=2, max_length=2)] | None = Field(
        None, description='["22:00", "08:00"]: only messages delivered between these local times of her day '
                          "(the second excluded; a window may run past midnight)")

    @model_validator(mode="after")
    def _who(self) -> "Receives":
        if (self.shopper is None) == (self.persona is None):
            raise ValueError("give shopper or persona (one of them)")
        return self


class Expectation(Model):
    """One check. Exactly one of `metric`, `count`, `invariant` or `receives`."""
    name: str | None = Field(None, max_length=120, description="what the check is about, for the report")
    metric: Name | None = Field(None, description="a KPI name (docs/metrics.md)")
    channel: Channel | Literal["ads"] | None = None
    category: Name | None = None
    experiment: Name | None = None
    variant: Name | None = None
    count: Match | None = Field(
        None, description="events whose fields equal these values (a list: any of them), e.g. "
                          "{type: notification.suppressed, reason: quiet_hours}")
    invariant: Name | None = None
    receives: Receives | None = None
    min: Bound | None = None
    max: Bound | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> "Expectation":
        kinds = [k for k in ("metric", "count", "invariant", "receives") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("give exactly one of metric, count, invariant or receives"
                             + (f" (found {', '.join(kinds)})" if kinds else ""))
        kind = kinds[0]
        if kind != "metric" and any(getattr(self, k) is not None for k in ("channel", "category", "experiment",
                                                                           "variant")):
            raise ValueError("channel, category, experiment and variant qualify a metric only")
        if kind == "invariant" and (self.min is not None or self.max is not None):
            raise ValueError("an invariant has no min or max: it holds or it does not")
        if kind == "metric" and self.min is None and self.max is None:
            raise ValueError("a metric check needs min, max or both")
        if kind == "count" and not self.count:
            raise ValueError("count needs at least one field to match, e.g. {type: order.placed}")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in ("metric", "count", "invariant", "receives") if getattr(self, k) is not None)

    def label(self) -> str:
        if self.name:
            return self.name
        if self.metric is not None:
            qual = [f"{k}={getattr(self, k)}" for k in ("channel", "category", "experiment", "variant")
                    if getattr(self, k) is not None]
            return self.metric + (f"[{', '.join(qual)}]" if qual else "")
        if self.count is not None:
            return "count " + ", ".join(f"{k}={_show(v)}" for k, v in self.count.items())
        if self.invariant is not None:
            return f"invariant {self.invariant}"
        r = self.receives
        assert r is not None
        what = " ".join(x for x in (r.category, r.channel) if x) or "a message"
        when = f" between {r.between[0]} and {r.between[1]}" if r.between else ""
        if r.local_between:
            when += f" between {r.local_between[0]} and {r.local_between[1]} local"
        return f"{r.shopper or r.persona} receives {what}{when}"


def _show(v: Any) -> str:
    return "|".join(map(str, v)) if isinstance(v, list) else str(v)
