"""The scenario file format: the single source of truth for validation, defaults and `shopsim schema`.

Defaults are grounded in public figures; docs/sources.md names them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from shopsim.scenario.dists import DurationDist, NumberDist
from shopsim.scenario.behaviour import Behaviour
from shopsim.scenario.marketing import Ads, Campaign, Engagement, Flow
from shopsim.scenario.qa import Expectation, Experiment, Persona
from shopsim.scenario.teaching import NarrationStep
from shopsim.scenario.settings import SettingsPatch
from shopsim.contract.taxonomy import MARKETING_CATEGORIES
from shopsim.scenario.presets import PRESETS, preset_fields
from shopsim.scenario.types import (  # noqa: F401 (re-exported: the schema's building blocks)
    MAX_PRICE, MAX_RUN, At, Channel, Channels, Clock, Duration, Model, Name, Positive, Price, Probability, Share,
    Subtotal, Trait, _duration, _run_duration,
)
from shopsim.contract.units import parse_instant

SCHEMA_VERSION = 1
MAX_SHOPPERS = 1_000_000  # about 1 GB of shoppers in memory


# --- run ---------------------------------------------------------------------------------------------

class Run(Model):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$",
                      description="short name, used in file names")
    description: str = Field("", max_length=1000)
    seed: int = Field(0, ge=0, lt=2**63, description="root seed; same scenario + seed gives a byte-identical event log")
    start: str = Field("2026-03-02T00:00:00Z", description="UTC instant at which virtual time 0 falls")
    duration: Duration = "7d"

    @field_validator("start")
    @classmethod
    def _start(cls, v: str) -> str:
        if not 1970 <= parse_instant(v).year <= 2200:
            raise ValueError(f"{v} is outside the years shopsim plays (1970 to 2200)")
        return v

    _d = field_validator("duration", mode="before")(classmethod(lambda cls, v: _run_duration(v)))


# --- population --------------------------------------------------------------------------------------

class Locale(Model):
    share: Share
    time_zones: dict[str, Share] | None = Field(
        None, description="IANA zones in this locale's country with their shares; omitted: the locale's usual zones")


class Traits(Model):
    activity: Trait = Field(1.0, description="multiplies sessions per day")
    views: Trait = Field(1.0, description="multiplies product views per session")
    add_to_cart: Trait = Field(1.0, description="multiplies the add-to-cart probability")
    abandonment: Trait = Field(
        1.0, description="multiplies the hazard of abandoning a cart (the chance to keep it is raised to this power)")
    intent_half_life: Trait = Field(1.0, description="multiplies how long an abandoned cart's purchase intent lasts")


class Consent(Model):
    """Shares of shoppers who consent; unset fields keep the population's (or shopsim's) value."""

    marketing_consent: Probability | None = None
    personalization: Probability | None = None
    sms_opt_in: Probability | None = None
    push_os_permission: dict[Literal["ios", "android"], Probability] | None = None


# docs/sources.md: opt-in rates by platform; marketing and personalization consent are assumptions.
CONSENT_DEFAULTS = {"marketing_consent": 0.7, "personalization": 0.8, "sms_opt_in": 0.15,
                    "push_os_permission": {"ios": 0.51, "android": 0.81}}


class Segment(Model):
    share: Share
    description: str = Field("", max_length=1000)
    traits: Traits = Traits()
    consent: Consent = Consent()
    settings: SettingsPatch = Field(
        default_factory=SettingsPatch, description="this segment's default settings, merged onto the population's")


class Reach(Model):
    email_verified: Probability = Field(0.95, description="share of shoppers with a verified email address")
    phone: Probability = Field(0.7, description="share of shoppers with a phone number on file")


class Population(Model):
    size: int = Field(gt=0, le=MAX_SHOPPERS, description="number of shoppers (each takes about 1 KB of memory)")
    locales: dict[str, Locale] = Field(description="Faker locales (en_US, de_DE, ...) with their shares")
    segments: dict[Name, Segment] = Field(
        default_factory=lambda: {"regular": Segment(share=1.0)}, max_length=100,
        description="named segments with shares and traits")
    platforms: dict[Literal["ios", "android", "web"], Share] = Field(
        default_factory=lambda: {"android": 0.45, "ios": 0.3, "web": 0.25},
        description="device the shopper mostly uses; ios and android shoppers have the app")
    reach: Reach = Reach()
    consent: Consent = Field(default_factory=lambda: Consent(**CONSENT_DEFAULTS))
    mail_proxy: dict[Literal["ios", "android", "web"], Probability] = Field(
        default_factory=lambda: {"ios": 0.45, "android": 0.0, "web": 0.1},
        description="share of shoppers whose mail app fetches every email through a privacy proxy (Apple Mail "
                    "Privacy Protection): each email delivered to them is 'opened' by a machine at once")
    settings: SettingsPatch = Field(
        default_factory=SettingsPatch, description="default notification settings, merged onto shopsim's built-in ones")


# --- catalogue ---------------------------------------------------------------------------------------

class Category(Model):
    share: Share = Field(description="share of the catalogue's products")
    price: NumberDist | None = Field(None, description="price distribution; default: the catalogue's")


class Product(Model):
    id: str = Field(max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(max_length=200)
    category: Name
    price: Price
    store: str | None = Field(None, max_length=200)


class Catalogue(Model):
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    products: int = Field(500, ge=0, le=1_000_000, description="how many products to generate")
    stores: int = Field(40, gt=0, le=100_000, description="how many stores to generate")
    categories: dict[Name, Category] = Field(max_length=1000, default_factory=lambda: {
        "electronics": Category(share=0.2), "phone_accessories": Category(share=0.15),
        "fashion": Category(share=0.2), "home_garden": Category(share=0.15), "beauty": Category(share=0.1),
        "toys": Category(share=0.08), "sports": Category(share=0.07), "tools": Category(share=0.05)})
    price: NumberDist = Field(
        default_factory=lambda: NumberDist(dist="lognormal", median=12, sigma=0.9, min=0.5, max=900))
    popularity: Annotated[float, Field(ge=0, le=10)] = Field(1.0, description="Zipf exponent of product popularity (0 = all equal)")
    items: list[Product] = Field(default_factory=list, max_length=100_000,
                                 description="hand-written products, added to the generated ones")
    shipping_fee: float = Field(2.99, ge=0, le=MAX_PRICE, description="charged when the subtotal is under free_shipping_over")
    free_shipping_over: float = Field(10.0, ge=0, le=MAX_PRICE)


# --- orders ------------------------------------------------------------------------------------------

class Payment(Model):
    failure: Probability = Field(0.04, description="chance the first payment attempt is declined")
    retry: Probability = Field(0.6, description="chance a declined shopper pays again")
    delay: DurationDist = Field(default_factory=lambda: DurationDist(dist="lognormal", median="20s", sigma=0.6))
    retry_after: DurationDist = Field(default_factory=lambda: DurationDist(dist="lognormal", median="25m", sigma=1.0))
    cancel_after: Duration = Field("24h", description="an unpaid order is cancelled after this")


class Carrier(Model):
    share: Share
    name: str = Field(max_length=200)
    tracking_prefix: str = Field("LP", pattern=r"^[A-Z]{1,4}$")
    in_transit_after: DurationDist = Field(
        default_factory=lambda: DurationDist(dist="lognormal", median="14h", sigma=0.5))
    transit: DurationDist = Field(
        default_factory=lambda: DurationDist(dist="lognormal", median="8d", sigma=0.35),
        description="from in transit to out for delivery")
    last_mile: DurationDist = Field(default_factory=lambda: DurationDist(dist="lognormal", median="5h", sigma=0.4))


def _carriers() -> dict[str, Carrier]:
    return {
        "cainiao": Carrier(share=0.6, name="Cainiao Super Economy", tracking_prefix="LP"),
        "aliexpress_standard": Carrier(share=0.3, name="AliExpress Standard Shipping", tracking_prefix="AE",
                                       transit=DurationDist(dist="lognormal", median="6d", sigma=0.3)),
        "dhl": Carrier(share=0.1, name="DHL Express", tracking_prefix="JD",
                       transit=DurationDist(dist="lognormal", median="3d", sigma=0.3)),
    }


class Disputes(Model):
    rate: Probability = Field(0.03, description="chance a delivered order is disputed")
    after: DurationDist = Field(default_factory=lambda: DurationDist(dist="lognormal", median="3d", sigma=0.6))
    reasons: dict[Name, Annotated[float, Field(ge=0, le=1_000_000)]] = Field(
        default_factory=lambda: {"not_as_described": 0.45, "damaged": 0.25, "wrong_item": 0.15, "missing_parts": 0.15},
        max_length=100)
    refund: Probability = Field(0.75, description="chance a dispute ends in a refund")

    @field_validator("reasons")
    @classmethod
    def _some_reason(cls, v: dict[str, float]) -> dict[str, float]:
        if sum(v.values()) <= 0:
            raise ValueError("at least one dispute reason needs a positive weight")
        return v
    refund_after: DurationDist = Field(default_factory=lambda: DurationDist(dist="lognormal", median="2d", sigma=0.5))
    partial_refund: Probability = Field(0.3, description="chance a refund is half the order, not all of it")


class Orders(Model):
    payment: Payment = Payment()
    processing: DurationDist = Field(default_factory=lambda: DurationDist(dist="lognormal", median="6h", sigma=0.6))
    handling: DurationDist = Field(
        default_factory=lambda: DurationDist(dist="lognormal", median="2d", sigma=0.5),
        description="from processing to shipped")
    carriers: dict[Name, Carrier] = Field(default_factory=_carriers, max_length=100)
    disputes: Disputes = Disputes()


class Account(Model):
    new_signin_per_30d: float = Field(0.4, ge=0, le=300, description="new-device sign-ins per shopper per 30 days")
    password_change_per_30d: float = Field(0.05, ge=0, le=300)


# --- notification policies --------------------------------------------------------------------------

class Cap(Model):
    channel: Channel
    max: int = Field(ge=0, le=10_000, description="at most this many marketing messages ...")
    per: Duration = Field(description="... in any rolling window this long")
    category: Literal[MARKETING_CATEGORIES] | None = Field(  # type: ignore[valid-type]
        None, description="count only this marketing category (default: all marketing on the channel)")
    name: str | None = Field(None, max_length=80,
                             description="how traces and suppressions name the rule (default: caps[i])")


class SendWindow(Model):
    channel: Literal["push", "sms"] = Field(description="an interruptive channel; email and in-app never wait")
    start: Clock = Field(description="local time the window opens")
    end: Clock = Field(description="local time it closes; messages outside wait for the next opening")
    classes: list[Literal["marketing", "transactional"]] = Field(
        default_factory=lambda: ["marketing", "transactional"], min_length=1,
        description="which classes of message the window holds back (critical ones never wait)")


def _default_caps() -> list[Cap]:
    return [Cap(channel="push", max=3, per="24h"), Cap(channel="email", max=2, per="24h"),
            Cap(channel="sms", max=2, per="7d")]


PresetName = Literal[tuple(PRESETS)]  # type: ignore[valid-type]


def _with_preset(data: Any) -> Any:
    """The preset's fields under those written beside it: a field the file writes replaces the preset's."""
    if isinstance(data, dict) and isinstance(data.get("preset"), str) and data["preset"] in PRESETS:
        return {**preset_fields(data["preset"]), **data}
    return data


class PolicyChange(Model):
    """From `from` on, these fields replace those in force; fields it does not set carry on unchanged."""

    # Dumped as the file writes it (`from`), so a scenario dumped and validated again is the same scenario.
    model_config = ConfigDict(**Model.model_config, serialize_by_alias=True)
    from_: At = Field(alias="from", description="when the change applies: a duration after the start (7d) or a "
                                                "UTC instant")
    preset: PresetName | None = Field(None, description="take this preset's caps and send windows (then this "
                                                        "change's own fields on top)")
    caps: list[Cap] | None = Field(None, max_length=100, description="the caps from now on ([] for none)")
    send_windows: list[SendWindow] | None = Field(None, max_length=20,
                                                  description="the send windows from now on ([] for none)")

    _preset = model_validator(mode="before")(classmethod(lambda cls, data: _with_preset(data)))

    @model_validator(mode="after")
    def _changes_something(self) -> PolicyChange:
        if self.caps is None and self.send_windows is None:
            raise ValueError("the change changes nothing; give it caps, send_windows or a preset")
        return self


class Policies(Model):
    """The platform's rules: what the pipeline enforces on top of each shopper's settings."""

    preset: PresetName | None = Field(
        None, description="start from a platform's documented defaults (`shopsim presets` lists them); the "
                          "fields written here replace the preset's")
    caps: list[Cap] = Field(default_factory=_default_caps, max_length=100,
                            description="frequency caps on marketing messages; every rule must hold")
    send_windows: list[SendWindow] = Field(
        default_factory=lambda: [SendWindow(channel="sms", start="08:00", end="21:00")], max_length=20,
        description="local hours in which a channel may interrupt; push and SMS only")
    transactional: dict[str, Channels] = Field(
        default_factory=dict,
        description="channels each commerce event is announced on, e.g. order.shipped: [email, push]; "
                    "overrides shopsim's plan per event, [] sends nothing")
    templates: dict[str, dict[str, dict[str, str]]] = Field(
        default_factory=dict, description="Jinja2 templates replacing shipped ones: category -> channel -> part")
    changes: list[PolicyChange] = Field(
        default_factory=list, max_length=100,
        description="caps and send windows that change at given times, in time order")

    _preset = model_validator(mode="before")(classmethod(lambda cls, data: _with_preset(data)))


# --- scripted events ---------------------------------------------------------------------------------

class Message(Model):
    """A one-off marketing message: the precursor of campaigns, enough to exercise consent, caps and digests."""

    category: Literal[MARKETING_CATEGORIES]  # type: ignore[valid-type]
    channels: Channels = Field(min_length=1)
    title: str = Field(min_length=1, max_length=200)
    text: str = Field("", max_length=2000)
    code: str | None = Field(None, max_length=40, description="a coupon code the message mentions")


class ScriptedEvent(Model):
    at: At
    shopper: str = Field(max_length=20, description="shopper id, e.g. s000001, or all (only with notify)")
    settings: SettingsPatch | None = Field(None, description="a settings change (source: scenario)")
    session: bool = Field(False, description="the shopper starts a visit")
    signin: bool = Field(False, description="a sign-in from a new device")
    password_change: bool = False
    notify: Message | None = Field(None, description="the platform sends this marketing message")


class Scenario(Model):
    """A shopsim scenario."""

    schema_version: Literal[1] = Field(description="format version of this file")
    run: Run
    population: Population
    catalogue: Catalogue = Catalogue()
    behaviour: Behaviour = Behaviour()
    orders: Orders = Orders()
    account: Account = Account()
    policies: Policies = Policies()
    flows: dict[Name, Flow] = Field(default_factory=dict, max_length=50,
                                    description="message sequences started by a shopper's action")
    campaigns: dict[Name, Campaign] = Field(default_factory=dict, max_length=100, description="scheduled broadcasts")
    engagement: Engagement = Engagement()
    ads: Ads = Ads()
    events: list[ScriptedEvent] = Field(default_factory=list, max_length=100_000,
                                        description="scripted events at given times")
    experiments: dict[Name, Experiment] = Field(default_factory=dict, max_length=20,
                                                description="arms of shoppers that differ only in the flows, campaigns "
                                                            "and ads they get")
    personas: dict[Name, Persona] = Field(default_factory=dict, max_length=100,
                                         description="shoppers named for review: `shopsim diff --personas` compares "
                                                     "their inboxes, and `expect:` can pin them (receives.persona)")
    expect: list[Expectation] = Field(default_factory=list, max_length=1000,
                                      description="what `shopsim replay --check` verifies")
    narration: list[NarrationStep] = Field(default_factory=list, max_length=200,
                                           description="steps that pause the terminal app and explain what just "
                                                       "happened")
    calibration: list[Annotated[str, Field(min_length=1, max_length=80)]] | None = Field(
        None, min_length=1, max_length=100, description="the published figures this scenario is built to reproduce: anchor ids or "
                                        "patterns (reason_*) that `shopsim calibrate` compares by default "
                                        "(default: every anchor that applies)")


def json_schema() -> dict[str, Any]:
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "shopsim scenario"
    return schema
