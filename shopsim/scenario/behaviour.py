"""The `behaviour:` section of a scenario: visits, carts, abandonment and its reasons, devices, and the purchase
intent an abandoned cart keeps. Defaults are grounded in public figures; docs/sources.md names them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from shopsim.scenario.dists import DurationDist, NumberDist
from shopsim.contract.taxonomy import ABANDON_REASONS, DEVICES, LEVER_REASONS
from shopsim.scenario.types import Duration, Model, Positive, Probability, Share, _duration


# --- behaviour ---------------------------------------------------------------------------------------

def _flat_day() -> list[float]:
    # Share of a day's sessions by local hour; evening peak as in published e-commerce traffic curves.
    return [0.6, 0.3, 0.2, 0.15, 0.15, 0.25, 0.6, 1.2, 1.6, 1.8, 1.9, 2.0,
            2.2, 2.1, 2.0, 2.0, 2.1, 2.3, 2.6, 3.0, 3.3, 3.1, 2.2, 1.2]


class Sessions(Model):
    per_day: float = Field(0.15, gt=0, le=100,
                           description="mean visits per shopper per day (before the activity trait); ~4.5 a month")
    by_local_hour: list[Annotated[float, Field(ge=0, le=1_000_000)]] = Field(
        default_factory=_flat_day, min_length=24, max_length=24, description="24 relative weights, hour 0 first")
    views: NumberDist = Field(default_factory=lambda: NumberDist(dist="lognormal", median=4, sigma=0.7, min=1, max=60))
    view_time: DurationDist = Field(
        default_factory=lambda: DurationDist(dist="lognormal", median="40s", sigma=0.8, max="20m"))

    @field_validator("by_local_hour")
    @classmethod
    def _some(cls, v: list[float]) -> list[float]:
        if sum(v) <= 0:
            raise ValueError("at least one hour needs a positive weight")
        return v


class Levers(Model):
    guest_checkout: bool = Field(False, description="no forced account creation: weakens account_required")
    transparent_pricing: bool = Field(
        False, description="full cost shown up front: weakens extra_costs and total_cost_unclear")
    simplified_checkout: bool = Field(False, description="short checkout: weakens long_checkout")
    trust_signals: bool = Field(False, description="security seals and known payment brands at payment: weakens "
                                                   "payment_trust")
    free_returns: bool = Field(False, description="free, clearly stated returns: weakens returns_policy")
    more_payment_methods: bool = Field(False, description="wallets and local methods: weakens payment_methods")


assert set(Levers.model_fields) == set(LEVER_REASONS)


def _baymard_reasons() -> dict[str, float]:
    # docs/sources.md, "Reasons for abandonment": Baymard's 2024 checkout shares as hazards. The two extra-cost
    # reasons fit only carts that pay shipping, so their weight is per such cart, calibrated so that in the
    # default scenario they come out at Baymard's shares; just_browsing: Baymard's 2023 share of abandoners.
    return {"extra_costs": 2.3, "account_required": 0.26, "payment_trust": 0.25, "slow_delivery": 0.23,
            "long_checkout": 0.22, "total_cost_unclear": 1.0, "returns_policy": 0.18, "site_error": 0.17,
            "payment_methods": 0.13, "card_declined": 0.09, "just_browsing": 2.0}


def _reason_keys(v: dict[str, Any], what: str = "abandonment reason") -> dict[str, Any]:
    for k in v:
        if k not in ABANDON_REASONS:
            from difflib import get_close_matches
            near = get_close_matches(k, ABANDON_REASONS, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else f"; known: {', '.join(ABANDON_REASONS)}"
            raise ValueError(f"unknown {what} {k!r}{hint}")
    return v


Weight = Annotated[float, Field(ge=0, le=1_000_000)]
Factor = Annotated[float, Field(ge=0, le=100)]


class Survey(Model):
    """An exit survey: "why did you leave?". Answers are drawn with a response rate and a response bias, so
    what the survey says can be set beside why shoppers really left."""

    on_site: bool = Field(False, description="ask with a prompt on the page as the shopper leaves")
    stages: list[Literal["cart", "checkout"]] = Field(
        default_factory=lambda: ["checkout"], min_length=1, description="which abandonments the on-site prompt asks")
    response_rate: Probability = Field(0.1, description="chance a shopper asked answers")
    response_bias: dict[str, Factor] = Field(
        default_factory=dict, description="multiplies the response rate of shoppers who left for this reason")
    misreport: Probability = Field(0.0, description="chance an answer names another reason than the real one")
    misreport_to: dict[str, Weight] = Field(
        default_factory=lambda: {"extra_costs": 1.0},
        description="relative weights of the reasons given instead of the real one")

    _r = field_validator("response_bias", "misreport_to")(classmethod(lambda cls, v: _reason_keys(v)))


class Abandonment(Model):
    rate: Probability = Field(
        0.955, description="chance a cart decision ends in abandonment when every reason applies to the cart, on a "
                          "device with factor 1, before segment traits and levers")
    reasons: dict[str, Weight] = Field(
        default_factory=_baymard_reasons,
        description="relative weights (hazards) of the abandonment reasons among the carts they fit")
    levers: Levers = Levers()
    lever_effect: Probability = Field(0.75, description="how much a lever weakens its reasons' weight")
    detect_after: Duration = Field("30m", description="inactivity after which an unfinished cart counts as abandoned")
    survey: Survey | None = Field(None, description="an exit survey of shoppers who abandon")

    @field_validator("reasons")
    @classmethod
    def _known(cls, v: dict[str, float]) -> dict[str, float]:
        _reason_keys(v)
        if sum(v.values()) <= 0:
            raise ValueError("at least one reason needs a positive weight")
        return v

    _d = field_validator("detect_after")(classmethod(lambda cls, v: _duration(v)))


DeviceName = Literal[DEVICES]  # type: ignore[valid-type]


class Devices(Model):
    """Where visits happen, and how the device changes checkout (docs/sources.md, "Devices")."""

    app_share: Probability = Field(0.85, description="share of an app owner's visits made in the app")
    web: dict[Literal["mobile_web", "desktop"], Share] = Field(
        default_factory=lambda: {"mobile_web": 0.6, "desktop": 0.4},
        description="how visits outside the app split between phone browsers and desktops")
    abandonment: dict[DeviceName, Factor] = Field(
        default_factory=lambda: {"app": 0.93, "mobile_web": 1.5, "desktop": 0.78},
        description="multiplies the hazard of abandoning a cart on this device (the chance to keep it is raised "
                    "to this power)")
    checkout_time: dict[DeviceName, Factor] = Field(
        default_factory=lambda: {"app": 0.7, "mobile_web": 1.4, "desktop": 1.0},
        description="multiplies the checkout time on this device")
    lever_effect: dict[DeviceName, Probability] = Field(
        default_factory=lambda: {"mobile_web": 0.85},
        description="a lever's effect on this device, where it differs from abandonment.lever_effect")


class Intent(Model):
    """An abandoned cart's purchase intent falls with time: 2^(-elapsed / half-life)."""

    half_life: Duration = Field("9h", description="time for an abandoned cart's purchase intent to halve")
    by_reason: dict[str, Factor] = Field(
        default_factory=lambda: {"just_browsing": 0.5, "comparison_shopping": 0.6, "card_declined": 2.0,
                                 "site_error": 2.0, "payment_methods": 1.5},
        description="multiplies the half-life of carts left for this reason")
    spread: Annotated[float, Field(ge=0, le=3)] = Field(
        1.0, description="each abandoned cart's half-life is the half-life times e^(spread·z), z standard normal: "
                         "shoppers differ, and a few keep wanting a cart for days")
    click_weight: Probability = Field(
        0.3, description="how much of a cart reminder's click chance depends on the cart's intent")

    _h = field_validator("half_life")(classmethod(lambda cls, v: _duration(v)))
    _r = field_validator("by_reason")(classmethod(lambda cls, v: _reason_keys(v)))


class Behaviour(Model):
    sessions: Sessions = Sessions()
    favourite_categories: Annotated[int, Field(ge=0, le=10)] = Field(
        2, description="categories each shopper prefers")
    favourite_share: Probability = Field(0.6, description="share of views inside the favourite categories")
    add_to_cart: Probability = Field(0.1, description="chance a product view ends with an add to cart")
    resume_cart: Probability = Field(
        0.2, description="chance a later visit returns to an earlier unfinished cart and decides again (times the "
                         "cart's intent, for an abandoned cart)")
    clear_cart: Probability = Field(0.05, description="chance a visit starts by emptying an unfinished cart")
    checkout_time: DurationDist = Field(
        default_factory=lambda: DurationDist(dist="lognormal", median="4m", sigma=0.5, max="40m"))
    abandonment: Abandonment = Abandonment()
    devices: Devices = Devices()
    intent: Intent = Intent()


