"""The compiled scenario: an immutable, engine-ready form of a validated scenario and a seed.

Everything a run needs is resolved here once (durations in ms, samplers, catalogue, cumulative weights),
so the engine's hot path does no parsing and no lookups by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from shopsim.contract.ids import shopper_index
from shopsim.scenario.catalogue import ProductDef, build_catalogue
from shopsim.scenario.schema import CONSENT_DEFAULTS, Scenario
from shopsim.scenario.settings import apply_patch, builtin_defaults
from shopsim.contract.taxonomy import (
    ABANDON_REASONS, BROWSE_STAGE_REASONS, DEVICES, EXTRA_COST_REASONS, LEVER_REASONS, TRANSACTIONAL_PLAN,
)
from shopsim.contract.units import parse_clock, parse_duration, parse_instant
from shopsim.scenario.zones import default_time_zones
from shopsim.contract.clock import DAY, epoch_ms
from shopsim.contract.rng import cumulative

Sampler = Callable[[Any], float]


@dataclass(frozen=True, slots=True)
class SegmentDef:
    index: int
    name: str
    arrival_rate: float          # sessions per ms at the busiest local hour (thinning envelope)
    views: Sampler
    add_to_cart: float
    stay_p: float                # chance a cart decision does not end in abandonment when every reason fits the
                                 # cart, on a device with factor 1 (the segment's trait applied as an exponent)
    half_life: int               # ms for an abandoned cart's intent to halve, before the reason's factor
    consent: dict[str, Any]
    settings: dict[str, Any]     # default settings before the consent draws


@dataclass(frozen=True, slots=True)
class ReasonTable:
    """The reasons that fit a kind of cart on one device, with their weights after levers."""
    reasons: tuple[str, ...]
    cum: list[float]
    total: float                 # sum of the weights: the cart's share of the full hazard, times `reason_total`


@dataclass(frozen=True, slots=True)
class DeviceDef:
    name: str
    abandonment: float           # multiplies the chance a decision ends in abandonment
    checkout_time: float         # multiplies the checkout time
    extra: ReasonTable           # reasons for a cart that pays extra at checkout (shipping)
    plain: ReasonTable           # reasons for a cart that does not


@dataclass(frozen=True, slots=True)
class CarrierDef:
    key: str
    name: str
    prefix: str
    in_transit_after: Callable[[Any], int]
    transit: Callable[[Any], int]
    last_mile: Callable[[Any], int]


@dataclass(frozen=True, slots=True)
class CapRule:
    """One frequency cap as compiled: at most `max` messages on `channel` (of `category` only, when given) in
    any window of `per_ms`. The notification layer counts deliveries against it (notify/caps.py)."""
    channel: str
    max: int
    per_ms: int
    category: str | None = None
    name: str = ""

    def applies(self, channel: str, category: str) -> bool:
        return self.channel == channel and (self.category is None or self.category == category)

    def key(self, channel: str, category: str) -> tuple[str, str | None]:
        return (channel, self.category and category)


Window = tuple[str, int, int, frozenset[str], str]  # channel, start, end (local minutes), classes, rule


@dataclass(frozen=True, slots=True)
class PolicyPhase:
    """The caps and send windows in force from `t` on: one entry of `policies.changes`, with the fields it
    leaves alone carried over from the policy before it."""
    t: int
    name: str                    # changes[i]: how traces and the log name the policy
    at: str                      # `from` as the file writes it
    changed: tuple[str, ...]     # the fields this change sets (caps, send_windows)
    caps: tuple[CapRule, ...]
    send_windows: tuple[Window, ...]
    preset: str | None = None


@dataclass(frozen=True, slots=True)
class ScriptedDef:
    t: int
    shopper: int
    settings: dict[str, Any] | None
    session: bool
    signin: bool
    password_change: bool
    notify: Any = None           # schema.Message
    index: int = 0               # position in the file's events list (names the message's source)


@dataclass(frozen=True)
class CompiledScenario:
    model: Scenario
    name: str
    description: str
    seed: int
    start_epoch: int
    duration: int
    size: int
    locales: tuple[str, ...]
    locale_cum: list[float]
    zones: dict[str, tuple[tuple[str, ...], list[float]]]
    segments: tuple[SegmentDef, ...]
    segment_cum: list[float]
    platforms: tuple[str, ...]
    platform_cum: list[float]
    email_verified: float
    phone: float
    settings: dict[str, Any]
    products: tuple[ProductDef, ...]
    stores: tuple[str, ...]
    product_cum: list[float]
    category_products: dict[str, tuple[tuple[int, ...], list[float]]]
    categories: tuple[str, ...]
    currency: str
    shipping_fee: int
    free_shipping_over: int
    hour_weights: tuple[float, ...]
    hour_max: float
    view_time: Callable[[Any], int]
    favourite_categories: int
    favourite_share: float
    resume_cart: float
    clear_cart: float
    checkout_time: Callable[[Any], int]
    devices: dict[str, DeviceDef]
    app_share: float
    web_devices: tuple[str, ...]
    web_cum: list[float]
    reason_total: float          # the full hazard: every reason's weight, no lever
    browse_reasons: frozenset[str]
    intent_factor: dict[str, float]   # reason -> half-life factor
    click_weight: float
    intent_spread: float
    survey: Any                  # behaviour.Survey or None
    mail_proxy: dict[str, float]
    detect_after: int
    orders: Any
    payment_delay: Callable[[Any], int]
    retry_after: Callable[[Any], int]
    cancel_after: int
    processing: Callable[[Any], int]
    handling: Callable[[Any], int]
    carriers: tuple[CarrierDef, ...]
    carrier_cum: list[float]
    dispute_after: Callable[[Any], int]
    dispute_reasons: tuple[str, ...]
    dispute_cum: list[float]
    refund_after: Callable[[Any], int]
    signin_rate: float           # per ms
    password_rate: float         # per ms
    scripted: tuple[ScriptedDef, ...]
    policies: Any                # schema.Policies, as written
    caps: tuple[CapRule, ...]
    send_windows: tuple[Window, ...]
    transactional: dict[str, tuple[str, ...]]
    attribution_window: int
    open_delay: Callable[[Any], int]
    click_delay: Callable[[Any], int]
    fatigue_half_life: int
    policy_changes: tuple[PolicyPhase, ...] = ()   # in time order; empty: the policies hold for the whole run

    @property
    def end(self) -> int:
        return self.duration


def _consent(global_c, seg_c) -> dict[str, Any]:
    out = dict(CONSENT_DEFAULTS)
    for layer in (global_c, seg_c):
        out.update({k: v for k, v in layer.model_dump().items() if v is not None})
    return out


def abandon_probability(cs: "CompiledScenario", segment: SegmentDef, device: str, pays_extra: bool,
                        factor: float = 1.0) -> tuple[float, ReasonTable]:
    """The chance a cart decision ends in abandonment, and the reasons it may be for.

    Reasons compete: each that fits the cart is a hazard, so the chance to stay is the full-hazard chance to
    stay (the segment's) raised to the share of the full hazard that fits this cart on this device, times the
    device's factor (and `factor`, e.g. a reminder's click)."""
    dev = cs.devices[device]
    table = dev.extra if pays_extra else dev.plain
    exponent = dev.abandonment * factor * table.total / cs.reason_total
    return (1.0 - segment.stay_p ** exponent if exponent > 0 else 0.0), table


def _reason_table(weights: dict[str, float], extra: bool) -> ReasonTable:
    reasons = tuple(r for r in ABANDON_REASONS if weights.get(r, 0) > 0 and (extra or r not in EXTRA_COST_REASONS))
    cum = cumulative(weights[r] for r in reasons) if reasons else [0.0]
    return ReasonTable(reasons, cum, sum(weights[r] for r in reasons))


def at_ms(at: str, start_epoch: int) -> int:
    """Virtual time of an `at` field: a duration after the start (36h) or a UTC instant."""
    try:
        return parse_duration(at)
    except ValueError:
        return epoch_ms(parse_instant(at)) - start_epoch


def _cap_rules(caps, prefix: str = "") -> tuple[CapRule, ...]:
    return tuple(CapRule(c.channel, c.max, parse_duration(c.per), c.category, c.name or f"{prefix}caps[{i}]")
                 for i, c in enumerate(caps))


def _windows(windows, prefix: str = "") -> tuple[Window, ...]:
    return tuple((w.channel, parse_clock(w.start), parse_clock(w.end), frozenset(w.classes),
                  f"{prefix}send_windows[{i}]") for i, w in enumerate(windows))


def _policy_phases(pol, start: int, caps: tuple[CapRule, ...], windows: tuple[Window, ...]
                   ) -> tuple[PolicyPhase, ...]:
    phases = []
    for i, ch in enumerate(pol.changes):
        name = f"changes[{i}]"
        if ch.caps is not None:
            caps = _cap_rules(ch.caps, f"{name}.")
        if ch.send_windows is not None:
            windows = _windows(ch.send_windows, f"{name}.")
        changed = tuple(f for f in ("caps", "send_windows") if getattr(ch, f) is not None)
        phases.append(PolicyPhase(at_ms(ch.from_, start), name, ch.from_, changed, caps, windows, ch.preset))
    return tuple(phases)


def compile_scenario(sc: Scenario, seed: int | None = None) -> CompiledScenario:
    seed = sc.run.seed if seed is None else seed
    start = epoch_ms(parse_instant(sc.run.start))
    duration = parse_duration(sc.run.duration)
    pop, beh, ab = sc.population, sc.behaviour, sc.behaviour.abandonment

    weights = dict(ab.reasons)
    levers = ab.levers.model_dump()
    dev = beh.devices
    devices = {}
    for d in DEVICES:
        effect = dev.lever_effect.get(d, ab.lever_effect)
        w = dict(weights)
        for lever, on in levers.items():
            for r in LEVER_REASONS[lever] if on else ():
                if r in w:
                    w[r] *= 1.0 - effect
        devices[d] = DeviceDef(d, dev.abandonment.get(d, 1.0), dev.checkout_time.get(d, 1.0),
                               _reason_table(w, extra=True), _reason_table(w, extra=False))
    web = {k: v for k, v in dev.web.items() if v > 0} or {"mobile_web": 1.0}
    intent = beh.intent

    settings = apply_patch(builtin_defaults(), pop.settings.as_patch())
    hw = tuple(beh.sessions.by_local_hour)
    mean_w, max_w = sum(hw) / 24, max(hw)
    segments = tuple(
        SegmentDef(
            index=i, name=name,
            arrival_rate=beh.sessions.per_day * s.traits.activity * (max_w / mean_w) / DAY,
            views=beh.sessions.views.sampler(s.traits.views),
            add_to_cart=min(1.0, beh.add_to_cart * s.traits.add_to_cart),
            stay_p=(1.0 - ab.rate) ** s.traits.abandonment,
            half_life=round(parse_duration(intent.half_life) * s.traits.intent_half_life),
            consent=_consent(pop.consent, s.consent),
            settings=apply_patch(settings, s.settings.as_patch()),
        )
        for i, (name, s) in enumerate(pop.segments.items())
    )
    zones = {}
    for loc, spec in pop.locales.items():
        tz = spec.time_zones or default_time_zones(loc)
        zones[loc] = (tuple(tz), cumulative(tz.values()))

    products, stores, popularity = build_catalogue(sc.catalogue, seed)
    by_cat: dict[str, list[int]] = {}
    for p in products:
        by_cat.setdefault(p.category, []).append(p.index)
    category_products = {c: (tuple(ix), cumulative(popularity[i] for i in ix)) for c, ix in by_cat.items()}

    o = sc.orders
    carriers = tuple(
        CarrierDef(k, c.name, c.tracking_prefix, c.in_transit_after.sampler_ms(), c.transit.sampler_ms(),
                   c.last_mile.sampler_ms())
        for k, c in o.carriers.items()
    )
    scripted = []
    for index, ev in enumerate(sc.events):
        t = at_ms(ev.at, start)
        scripted.append(ScriptedDef(
            t=t, shopper=-1 if ev.shopper == "all" else shopper_index(ev.shopper),
            settings=ev.settings.as_patch() if ev.settings else None,
            session=ev.session, signin=ev.signin, password_change=ev.password_change,
            notify=ev.notify, index=index))
    pol = sc.policies
    caps, windows = _cap_rules(pol.caps), _windows(pol.send_windows)

    month = 30 * DAY
    return CompiledScenario(
        model=sc, name=sc.run.name, description=sc.run.description, seed=seed,
        start_epoch=start, duration=duration, size=pop.size,
        locales=tuple(pop.locales), locale_cum=cumulative(l.share for l in pop.locales.values()),
        zones=zones, segments=segments, segment_cum=cumulative(s.share for s in pop.segments.values()),
        platforms=tuple(pop.platforms), platform_cum=cumulative(pop.platforms.values()),
        email_verified=pop.reach.email_verified, phone=pop.reach.phone,
        settings=settings,
        products=products, stores=stores, product_cum=cumulative(popularity),
        category_products=category_products, categories=tuple(category_products),
        currency=sc.catalogue.currency, shipping_fee=round(sc.catalogue.shipping_fee * 100),
        free_shipping_over=round(sc.catalogue.free_shipping_over * 100),
        hour_weights=hw, hour_max=max_w,
        view_time=beh.sessions.view_time.sampler_ms(),
        favourite_categories=beh.favourite_categories, favourite_share=beh.favourite_share,
        resume_cart=beh.resume_cart, clear_cart=beh.clear_cart,
        checkout_time=beh.checkout_time.sampler_ms(),
        devices=devices, app_share=dev.app_share, web_devices=tuple(web), web_cum=cumulative(web.values()),
        reason_total=sum(weights.values()),
        browse_reasons=BROWSE_STAGE_REASONS, detect_after=parse_duration(ab.detect_after),
        intent_factor=dict(intent.by_reason), click_weight=intent.click_weight, intent_spread=intent.spread, survey=ab.survey,
        mail_proxy=dict(pop.mail_proxy),
        orders=o,
        payment_delay=o.payment.delay.sampler_ms(), retry_after=o.payment.retry_after.sampler_ms(),
        cancel_after=parse_duration(o.payment.cancel_after),
        processing=o.processing.sampler_ms(), handling=o.handling.sampler_ms(),
        carriers=carriers, carrier_cum=cumulative(c.share for c in o.carriers.values()),
        dispute_after=o.disputes.after.sampler_ms(),
        dispute_reasons=tuple(o.disputes.reasons), dispute_cum=cumulative(o.disputes.reasons.values()),
        refund_after=o.disputes.refund_after.sampler_ms(),
        signin_rate=sc.account.new_signin_per_30d / month,
        password_rate=sc.account.password_change_per_30d / month,
        scripted=tuple(sorted(scripted, key=lambda s: s.t)),
        policies=pol,
        caps=caps, send_windows=windows,
        transactional={**TRANSACTIONAL_PLAN, **{k: tuple(v) for k, v in pol.transactional.items()}},
        attribution_window=parse_duration(sc.engagement.recovery.attribution_window),
        open_delay=sc.engagement.open_delay.sampler_ms(), click_delay=sc.engagement.click_delay.sampler_ms(),
        fatigue_half_life=parse_duration(sc.engagement.fatigue.half_life),
        policy_changes=_policy_phases(pol, start, caps, windows),
    )
