"""Scenario sections for marketing and the shopper's response: flows, incentives, campaigns, ads, engagement.

Defaults are grounded in public benchmarks (docs/sources.md names them) and are scenario parameters.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from shopsim.scenario.dists import DurationDist
from shopsim.contract.taxonomy import CHANNELS, MARKETING_CATEGORIES
from shopsim.scenario.types import At, Channel, Channels, Clock, Duration, Model, Name, Probability, Subtotal

MarketingCategory = Literal[MARKETING_CATEGORIES]  # type: ignore[valid-type]
Multiplier = Annotated[float, Field(ge=0, le=100)]


class Incentive(Model):
    """A unique coupon issued to the shopper with the message that offers it."""

    type: Literal["percent", "fixed", "free_shipping"]
    value: float = Field(0, ge=0, le=100_000, description="percent off (0-100) or an amount off; unused for free_shipping")
    valid: Duration = Field("48h", description="how long the code works after it is issued")
    min_order: Subtotal = Field(0, description="smallest subtotal the code applies to")
    prefix: str = Field("SAVE", pattern=r"^[A-Z0-9]{1,10}$", description="the code's first letters")
    auto_apply: bool = Field(
        False, description="the platform applies the coupon at checkout by itself; otherwise it works only once the "
                           "shopper has seen it (opened or clicked the message that carried it)")

    @model_validator(mode="after")
    def _value(self) -> Incentive:
        if self.type == "percent" and not 0 < self.value <= 100:
            raise ValueError("a percent incentive needs a value above 0 and at most 100")
        if self.type == "fixed" and self.value <= 0:
            raise ValueError("a fixed incentive needs a positive value (the amount off)")
        return self


class Condition(Model):
    """When a flow step is sent; every condition given must hold."""

    opened: bool | None = Field(None, description="the previous step's message was (true) / was not (false) opened")
    clicked: bool | None = Field(None, description="the previous step's message was (not) clicked")
    segments: list[Name] | None = Field(None, min_length=1, max_length=100, description="only shoppers in these segments")
    min_value: Subtotal | None = Field(None, description="only carts worth at least this much")
    max_value: Subtotal | None = Field(None, description="only carts worth at most this much")


class Window(Model):
    start: Clock
    end: Clock


class FlowStep(Model):
    after: Duration = Field(description="wait this long after the previous step (the trigger, for the first)")
    channel: Channel
    title: str | None = Field(None, max_length=200, description="the message's title (default: the template's own)")
    text: str | None = Field(None, max_length=2000)
    incentive: Incentive | None = None
    when: Condition | None = Field(None, description="send only if this holds; otherwise the step is suppressed")
    send_window: Window | None = Field(None, description="local hours the step may go out in; it waits for them")
    survey: bool = Field(False, description="the message asks why she left: a shopper who opens it may answer "
                                            "(behaviour.abandonment.survey sets the response rate and bias)")


FLOW_EXITS = ("order_placed", "cart_emptied", "unsubscribed", "retriggered", "visited")


class Flow(Model):
    """A sequence of messages started by a shopper's action, ended by its exit conditions."""

    trigger: Literal["cart.abandoned", "browse.abandoned"]
    category: MarketingCategory = "cart_reminders"
    exit: list[Literal[FLOW_EXITS]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: ["order_placed", "cart_emptied", "unsubscribed", "retriggered"],
        description="what ends the flow: later steps are suppressed with reason flow_exited")
    steps: list[FlowStep] = Field(min_length=1, max_length=20)
    min_views: int = Field(3, ge=1, le=100, description="browse.abandoned: views in a visit with nothing added")


def _default_flows() -> dict[str, Flow]:
    return {}


class OpenRates(Model):
    email: Probability = 0.46
    push: Probability = 0.06
    sms: Probability = 0.85
    in_app: Probability = 0.30


class ClickRates(Model):
    email: Probability = 0.14
    push: Probability = 0.8
    sms: Probability = 0.12
    in_app: Probability = 0.25


class UnsubscribeRates(Model):
    email: Probability = 0.007
    push: Probability = 0.004
    sms: Probability = 0.015
    in_app: Probability = 0.0


class Fatigue(Model):
    """Marketing fatigue: a load that grows by one with each marketing message delivered and halves with every
    `half_life` of quiet. Above `free`, opens and clicks fall towards a floor (never to zero) and
    unsubscribes rise."""

    half_life: Duration = Field("3d", description="quiet time after which the load has halved")
    free: float = Field(3.0, ge=0, le=1000, description="load before fatigue sets in")
    per_message: Multiplier = Field(0.15, description="how fast engagement falls with each unit of load over `free`")
    floor: Probability = Field(0.3, description="share of her rested open and click rates a saturated shopper keeps")
    unsubscribe_growth: Multiplier = Field(
        0.5, description="unsubscribes and complaints grow by this share of their rate per unit of load over `free`")


class UnopenedUnsubscribeRates(Model):
    """Leaving without opening: the unsubscribe button mail apps show (List-Unsubscribe), push turned off in the
    phone's settings. Per delivered marketing message. (A text needs reading to reply STOP, and the message
    centre has no unsubscribe.)"""

    email: Probability = 0.001
    push: Probability = 0.001


class Recovery(Model):
    visit: Probability = Field(0.9, description="chance a click brings the shopper back to the shop at once")
    resume_cart: Probability = Field(0.95, description="chance a shopper back from a cart reminder resumes her cart")
    abandon_factor: Multiplier = Field(0.1, description="multiplies her hazard of abandoning again (the cart's "
                                                         "intent then limits how likely she completes)")
    incentive_factor: Multiplier = Field(0.6, description="multiplies it again when she holds a valid coupon")
    attribution_window: Duration = Field("7d", description="an order is attributed to the last click this recent")


def _hour_factor() -> list[float]:
    # People read less at night (local hours 0-6): a message delivered then is opened less often.
    return [0.35, 0.25, 0.2, 0.2, 0.25, 0.4, 0.7, 0.9, 1.0, 1.0, 1.0, 1.0,
            1.05, 1.05, 1.0, 1.0, 1.0, 1.05, 1.1, 1.15, 1.2, 1.1, 0.9, 0.6]


class Engagement(Model):
    """How shoppers respond to what they receive (docs/sources.md: open, click and unsubscribe benchmarks)."""

    enabled: bool = Field(True, description="false: shoppers never open, click or unsubscribe (to test policies alone)")

    open: OpenRates = Field(default_factory=OpenRates, description="chance a delivered message is opened (a push: tapped)")
    click: ClickRates = Field(default_factory=ClickRates, description="chance an opened message is clicked")
    unsubscribe: UnsubscribeRates = Field(
        default_factory=UnsubscribeRates, description="chance an opened marketing message leads to an unsubscribe")
    unsubscribe_unopened: UnopenedUnsubscribeRates = Field(
        default_factory=UnopenedUnsubscribeRates,
        description="chance a delivered marketing message leads to an unsubscribe without being opened")
    complaint: Probability = Field(
        0.0005, description="chance a delivered marketing email is marked as spam (the sender then stops marketing "
                            "email to her)")
    open_delay: DurationDist = Field(default_factory=lambda: DurationDist(dist="lognormal", median="40m", sigma=1.2, max="2d"))
    click_delay: DurationDist = Field(default_factory=lambda: DurationDist(dist="lognormal", median="30s", sigma=0.8, max="10m"))
    by_local_hour: list[Annotated[float, Field(ge=0, le=10)]] = Field(
        default_factory=_hour_factor, min_length=24, max_length=24, description="open factor by local hour of delivery")
    segments: dict[Name, Multiplier] = Field(default_factory=dict, max_length=100,
                                             description="open and click factor per segment")
    incentive_factor: Multiplier = Field(1.3, description="clicks are multiplied by this when the message offers a coupon")
    fatigue: Fatigue = Fatigue()
    recovery: Recovery = Recovery()


class AdsCap(Model):
    max: int = Field(4, ge=0, le=1000)
    per: Duration = "24h"


class Ads(Model):
    """Retargeting display ads for abandoned carts and viewed products (personalization consent only)."""

    enabled: bool = False
    per_day: float = Field(3.0, ge=0, le=100, description="impression opportunities per retargetable shopper per day")
    window: Duration = Field("7d", description="how long after an abandonment or a view a shopper is retargeted")
    cap: AdsCap = AdsCap()
    click: Probability = Field(0.006, description="chance an impression is clicked (display retargeting CTR)")


CAMPAIGN_CATEGORY = {
    "promotion": "promotions", "flash_sale": "flash_sales", "recommendations": "recommendations",
    "new_products": "new_product_alerts", "price_drop": "new_product_alerts", "back_in_stock": "new_product_alerts",
}


class Audience(Model):
    segments: list[Name] | None = Field(None, min_length=1, max_length=100,
                                        description="only these segments (default: everyone)")
    countries: list[Annotated[str, Field(max_length=2)]] | None = Field(
        None, min_length=1, max_length=300, description="only shoppers in these countries (US, DE, ...)")
    viewed: bool = Field(False, description="only shoppers who viewed one of the campaign's products (any product, "
                                            "when it names none)")


class Campaign(Model):
    """A scheduled broadcast: at one instant, or at a local time in each shopper's time zone."""

    kind: Literal[tuple(CAMPAIGN_CATEGORY)]  # type: ignore[valid-type]
    at: At
    local_time: Clock | None = Field(
        None, description="send at this local time in each shopper's zone, on the (UTC) date of `at`")
    channels: Channels = Field(min_length=1)
    title: str = Field(min_length=1, max_length=200)
    text: str = Field("", max_length=2000)
    audience: Audience = Audience()
    incentive: Incentive | None = None
    ends: Duration | None = Field(None, description="flash sales: how long the offer lasts (its coupons expire then)")
    stock: int | None = Field(None, ge=1, le=1_000_000_000, description="flash sales: how many orders the offer can serve")
    products: list[Annotated[str, Field(max_length=64)]] | None = Field(
        None, min_length=1, max_length=1000, description="products it is about (price drops, back in stock)")
    discount: float | None = Field(None, gt=0, le=90, description="price drop: percent off the products")


__all__ = ["Ads", "Campaign", "CHANNELS", "Engagement", "Flow", "FlowStep", "Incentive"]
