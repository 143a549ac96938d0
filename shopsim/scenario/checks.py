"""Checks that need more than one field, or outside knowledge (Faker locales, the tz database); those of what
a scenario expects of its run and teaches (experiments, `expect:`, narration) are in checks_qa.py. Names a
scenario borrows from the layers above (templates, KPIs, invariants, calibration anchors) are checked by
shopsim/validate.py, whose `LayerCheck`s run here among these.

They run on a scenario that already passed the schema, so they can rely on types and defaults.
"""

from __future__ import annotations

import re
import zoneinfo
from functools import lru_cache
from types import SimpleNamespace
from typing import Any, Sequence

from pydantic import ValidationError

from shopsim.contract.ids import product_id, shopper_id, shopper_index
from shopsim.scenario.checker import Checker, LayerCheck
from shopsim.scenario.checks_qa import expectations, experiments, narration, personas
from shopsim.scenario.locales import UNSUPPORTED_LOCALES, faker_locales, locale_suggestion
from shopsim.scenario.problems import Path, Positions, Problem, did_you_mean, format_path
from shopsim.scenario.schema import (
    Behaviour, Catalogue, Orders, Policies, Population, Run, Scenario, ScriptedEvent,
)
from shopsim.contract.units import format_duration, parse_clock, parse_duration, parse_instant
from shopsim.scenario.volume import MAX_EVENTS, MAX_QUEUED, MAX_VIEWS, about, volume
from shopsim.scenario.zones import country_of, default_time_zones, zone_in_country, zones_of

# Ids are "s" + the 1-based shopper number, zero-padded to six digits (wider past 999999).
_SHOPPER = re.compile(r"^s(\d{6,})$")


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_scenario(scenario: Scenario, positions: Positions, filename: str,
                   checks: Sequence[LayerCheck]) -> list[Problem]:
    """Every cross-field problem in `scenario`, each placed at the key it is about; `checks` are those of the
    layers above."""
    c = Checker(positions, filename)
    _population(c, scenario)
    _settings(c, scenario)
    _catalogue(c, scenario)
    _orders_and_behaviour(c, scenario)
    _events(c, scenario)
    _policies(c, scenario)
    _marketing(c, scenario)
    experiments(c, scenario)
    personas(c, scenario)
    expectations(c, scenario)
    narration(c, scenario)
    _behaviour(c, scenario)
    _campaign_times(c, scenario)
    _limits(c, scenario)
    for check in checks:
        check.run(c, scenario)
    if not c.problems:  # the estimate needs sound shares and distributions
        _volume(c, scenario)
    return c.problems


def check_sections(data: Any, positions: Positions, filename: str, checks: Sequence[LayerCheck]) -> list[Problem]:
    """Cross-field checks for each section that is well-formed on its own, for a file whose whole shape is
    not: so one round of `shopsim validate` reports the wrong shares alongside the misspelt key. Of `checks`,
    those whose sections are all well-formed run too."""
    if not isinstance(data, dict):
        return []
    ok: dict[str, Any] = {}
    for name, model in (("population", Population), ("catalogue", Catalogue), ("orders", Orders),
                        ("behaviour", Behaviour), ("policies", Policies)):
        try:
            ok[name] = model.model_validate(data.get(name, {}))
        except (ValidationError, TypeError):
            pass
    for name, model in (("run", Run),):
        try:
            ok[name] = model.model_validate(data.get(name))
        except (ValidationError, TypeError):
            pass
    c = Checker(positions, filename)
    s = SimpleNamespace(**ok)
    if "population" in ok:
        _population(c, s)
        _settings(c, s)
    if "catalogue" in ok:
        _catalogue(c, s)
    if "policies" in ok:
        _policies(c, s)
    if "orders" in ok and "behaviour" in ok:
        _orders_and_behaviour(c, s)
    elif isinstance(data.get("orders"), dict) and isinstance(data["orders"].get("carriers"), dict):
        # A typo inside one carrier should not hide that the carriers' shares are wrong.
        raw = {k: v.get("share") for k, v in data["orders"]["carriers"].items() if isinstance(v, dict)}
        if raw and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in raw.values()):
            c.shares(("orders", "carriers"), raw)
    if "population" in ok and isinstance(data.get("events"), list):
        # Each scripted event is checked on its own, so one malformed event does not hide the others.
        events = []
        for i, raw_event in enumerate(data["events"]):
            try:
                events.append((i, ScriptedEvent.model_validate(raw_event)))
            except (ValidationError, TypeError):
                pass
        # Without a well-formed run, event times cannot be judged; shopper references still can.
        _events(c, SimpleNamespace(run=getattr(s, "run", None), population=s.population, events=events))
    for check in checks:
        if check.needs is not None and all(name in ok for name in check.needs):
            check.run(c, s)
    return c.problems


def _population(c: Checker, s: Scenario) -> None:
    pop = s.population
    c.shares(("population", "locales"), {k: v.share for k, v in pop.locales.items()})
    c.shares(("population", "segments"), {k: v.share for k, v in pop.segments.items()})
    c.shares(("population", "platforms"), pop.platforms)
    c.names(("population", "segments"), list(pop.segments), "segment")
    for name, locale in pop.locales.items():
        path = ("population", "locales", name)
        known = name in faker_locales()
        if name in UNSUPPORTED_LOCALES:
            c.report(path, f"locale {name!r} cannot make shoppers: {UNSUPPORTED_LOCALES[name]}")
        elif not known:
            c.report(path, f"unknown locale {name!r}" + locale_suggestion(name, faker_locales()))
        if locale.time_zones is None:
            if known:
                try:
                    default_time_zones(name)
                except LookupError as e:
                    c.report(path, str(e))
            continue
        c.shares(path + ("time_zones",), locale.time_zones)
        country = country_of(name) if known else None
        for zone in locale.time_zones:
            zpath = path + ("time_zones", zone)
            if zone not in _zones():
                c.report(zpath, f"unknown time zone {zone!r}" + did_you_mean(zone, _zones(), list_all=False))
            elif country and zones_of(country) and not zone_in_country(zone, country):
                listed = ", ".join(zones_of(country)[:5]) + (", ..." if len(zones_of(country)) > 5 else "")
                c.report(zpath, f"{zone} is not a time zone of {country} (locale {name}); "
                                f"zones of {country} include {listed}")


def _settings(c: Checker, s: Scenario) -> None:
    # Consent is drawn per shopper from population.consent shares; a fixed value here would be overwritten.
    patch = s.population.settings.as_patch()
    for key in ("marketing_consent", "personalization", "push_os_permission", "sms_opt_in"):
        if key in patch:
            c.report(("population", "settings", key), f"{key} is drawn per shopper; set its share in "
                     f"population.consent (e.g. {key}: 0.7) instead")


def _catalogue(c: Checker, s: Scenario) -> None:
    cat = s.catalogue
    c.shares(("catalogue", "categories"), {k: v.share for k, v in cat.categories.items()})
    if cat.products == 0 and not cat.items:
        c.report(("catalogue", "products"), "the catalogue is empty; generate products or list some in items")
    first_seen: dict[str, int] = {}
    generated = {product_id(i) for i in range(cat.products)}
    for i, item in enumerate(cat.items):
        if item.id in generated:
            c.report(("catalogue", "items", i, "id"), f"{item.id} is already the id of a generated product "
                     f"(p00001 to p{cat.products:05d}); give hand-written products ids of their own")
        path = ("catalogue", "items", i)
        if item.category not in cat.categories:
            c.report(path + ("category",), f"unknown category {item.category!r}; it must be one of "
                     "catalogue.categories" + did_you_mean(item.category, cat.categories))
        if item.id in first_seen:
            other = format_path(("catalogue", "items", first_seen[item.id]))
            c.report(path + ("id",), f"duplicate product id {item.id!r} (also used by {other})")
        else:
            first_seen[item.id] = i


def _orders_and_behaviour(c: Checker, s: Scenario) -> None:
    c.shares(("orders", "carriers"), {k: v.share for k, v in s.orders.carriers.items()})
    c.names(("orders", "carriers"), list(s.orders.carriers), "carrier")
    low = s.behaviour.sessions.views.num("min")
    if low is not None and low < 1:
        c.report(("behaviour", "sessions", "views", "min"),
                 f"must be at least 1 (a session views at least one product), got {low:g}")


def _events(c: Checker, s: Scenario) -> None:
    size = s.population.size
    indexed = s.events if s.events and isinstance(s.events[0], tuple) else list(enumerate(s.events))
    for i, ev in indexed:
        path = ("events", i)
        if s.run is not None:
            _event_time(c, s, path, ev)
        if ev.shopper == "all":
            if ev.notify is None or ev.settings is not None or ev.session or ev.signin or ev.password_change:
                c.report(path + ("shopper",), "shopper: all is only for notify (a message to everyone); "
                                              "settings, visits and sign-ins name one shopper")
            continue
        m = _SHOPPER.match(ev.shopper)
        index = shopper_index(ev.shopper) if m else -1
        if not (m and shopper_id(index) == ev.shopper and 0 <= index < size):
            valid = f"the only shopper is {shopper_id(0)}" if size == 1 else \
                f"shopper ids run from {shopper_id(0)} to {shopper_id(size - 1)}"
            c.report(path + ("shopper",), f"unknown shopper {ev.shopper!r}; {valid} (population.size {size})")
        if not ((ev.settings is not None and ev.settings.as_patch()) or ev.session or ev.signin
                or ev.password_change or ev.notify is not None):
            c.report(path, "the event does nothing; give it settings, session: true, signin: true, "
                           "password_change: true or notify")


def _event_time(c: Checker, s: Scenario, path: Path, ev: ScriptedEvent) -> None:
    run_ms = parse_duration(s.run.duration)
    start = parse_instant(s.run.start)
    try:
        offset, is_instant = parse_duration(ev.at), False
    except ValueError:
        offset, is_instant = int((parse_instant(ev.at) - start).total_seconds() * 1000), True
    if offset < 0:
        c.report(path + ("at",), f"{ev.at} is {format_duration(-offset)} before the run starts ({s.run.start})")
    elif offset > run_ms:
        after = f" ({format_duration(offset)} after the start)" if is_instant else ""
        c.report(path + ("at",), f"{ev.at} is after the end of the run{after}; "
                                 f"the run lasts {s.run.duration} from {s.run.start}")


def _policies(c: Checker, s: Scenario) -> None:
    from shopsim.contract.taxonomy import EVENT_CATEGORY

    for type_ in s.policies.transactional:
        if type_ not in EVENT_CATEGORY:
            c.report(("policies", "transactional", type_), f"no message is sent for {type_!r}; it must be one of "
                     "the commerce events that trigger one" + did_you_mean(type_, EVENT_CATEGORY))
    run = getattr(s, "run", None)
    if run is not None:
        _policy_change_times(c, s.policies.changes, run)


def _policy_change_times(c: Checker, changes: list, run: Run) -> None:
    """A change applies inside the run and after the one before it: two at the same instant, or out of order,
    would leave which policy holds to the reader's guess."""
    from shopsim.scenario.compiled import at_ms
    from shopsim.contract.clock import epoch_ms

    start, run_ms = epoch_ms(parse_instant(run.start)), parse_duration(run.duration)
    before = None
    for i, change in enumerate(changes):
        path = ("policies", "changes", i, "from")
        t = at_ms(change.from_, start)
        if t <= 0:
            c.report(path, f"{change.from_} is not after the run's start ({run.start}); the policies in force from "
                           "the start are those written beside `changes`")
        elif t > run_ms:
            c.report(path, f"{change.from_} is after the end of the run, so the change would never apply; the run "
                           f"lasts {run.duration} from {run.start}")
        elif before is not None and t <= before[1]:
            c.report(path, f"changes must be in time order: {change.from_} is not after changes[{i - 1}] "
                           f"({before[0]})")
        before = (change.from_, t)


def _marketing(c: Checker, s: Scenario) -> None:
    """References from flows, campaigns and engagement to segments and products."""
    segments = set(s.population.segments)

    def segment_list(path: Path, names: list[str] | None) -> None:
        for i, name in enumerate(names or ()):
            if name not in segments:
                c.report(path + (i,), f"unknown segment {name!r}" + did_you_mean(name, segments))

    for fname, flow in s.flows.items():
        for i, step in enumerate(flow.steps):
            if step.when is not None:
                segment_list(("flows", fname, "steps", i, "when", "segments"), step.when.segments)
    known = {product_id(i) for i in range(s.catalogue.products)} | {p.id for p in s.catalogue.items}
    for cname, camp in s.campaigns.items():
        segment_list(("campaigns", cname, "audience", "segments"), camp.audience.segments)
        for i, pid in enumerate(camp.products or ()):
            if pid not in known:
                c.report(("campaigns", cname, "products", i), f"unknown product {pid!r}; generated products run "
                         f"from p00001 to p{s.catalogue.products:05d}, plus catalogue.items")
        if camp.kind == "price_drop" and camp.discount is None:
            c.report(("campaigns", cname), "a price_drop campaign needs a discount (percent off its products)")
        if camp.kind in ("price_drop", "back_in_stock") and not camp.products:
            c.report(("campaigns", cname), f"a {camp.kind} campaign needs products")
    for name in s.engagement.segments:
        if name not in segments:
            c.report(("engagement", "segments", name), f"unknown segment {name!r}" + did_you_mean(name, segments))


def _behaviour(c: Checker, s: Scenario) -> None:
    c.shares(("behaviour", "devices", "web"), s.behaviour.devices.web)
    if s.behaviour.abandonment.survey is None:
        for name, flow in s.flows.items():
            for i, step in enumerate(flow.steps):
                if step.survey:
                    c.report(("flows", name, "steps", i, "survey"),
                             "a survey step needs behaviour.abandonment.survey (its response rate and bias)")


def _campaign_times(c: Checker, s: Scenario) -> None:
    """A campaign is sent inside the run, as scripted events and narration steps are: one outside it would
    silently never go out (and one before the start cannot even be scheduled)."""
    from datetime import datetime, timedelta, timezone
    from zoneinfo import ZoneInfo

    from shopsim.scenario.compiled import at_ms
    from shopsim.contract.clock import HOUR, epoch_ms

    start = epoch_ms(parse_instant(s.run.start))
    run_ms = parse_duration(s.run.duration)
    lasts = f"the run lasts {s.run.duration} from {s.run.start}"
    zones: set[str] = set()
    for loc, spec in s.population.locales.items():
        try:
            zones.update(spec.time_zones or default_time_zones(loc))
        except LookupError:
            pass  # reported with the locale
    for name, camp in s.campaigns.items():
        path = ("campaigns", name, "at")
        t = at_ms(camp.at, start)
        if camp.local_time is None:
            if t < 0:
                c.report(path, f"{camp.at} is {format_duration(-t)} before the run starts ({s.run.start}); the "
                               "campaign would never be sent")
            elif t > run_ms:
                c.report(path, f"{camp.at} is after the end of the run, so the campaign would never be sent; {lasts}")
            continue
        # As shopsim/marketing/campaigns.py sends it: local_time on the UTC date of `at`, in each shopper's zone.
        day = datetime.fromtimestamp((start + t) / 1000, timezone.utc).date()
        naive = datetime(day.year, day.month, day.day) + timedelta(minutes=parse_clock(camp.local_time))
        sends = [epoch_ms(naive.replace(tzinfo=ZoneInfo(z))) - start for z in sorted(zones) if z in _zones()]
        # An hour of slack: on a day the clocks change, a local time in the gap is sent up to an hour off.
        if sends and not any(-HOUR <= w <= run_ms + HOUR for w in sends):
            side = "before the run starts" if max(sends) < 0 else "after the run ends"
            c.report(path, f"{camp.at} at {camp.local_time} local time ({day.isoformat()}) falls {side} in every "
                           f"shopper's time zone, so the campaign would never be sent; {lasts}")


def _limits(c: Checker, s: Scenario) -> None:
    """Bounds no single field's range can express: the most views a visit can draw, the highest price."""
    from shopsim.scenario.types import MAX_PRICE

    views = s.behaviour.sessions.views
    worst = max(s.population.segments.items(), key=lambda kv: kv[1].traits.views)
    most = views.highest(worst[1].traits.views)
    if most > MAX_VIEWS:
        trait = f" (times segment {worst[0]}'s views trait {worst[1].traits.views:g})" if worst[1].traits.views != 1 else ""
        c.report(("behaviour", "sessions", "views"), f"a visit could view {most:,.0f} products{trait}; at most "
                 f"{MAX_VIEWS:,} a visit: lower the distribution or give it a max")
    prices = [(("catalogue", "price"), s.catalogue.price)] + [
        (("catalogue", "categories", n, "price"), cat.price) for n, cat in s.catalogue.categories.items()
        if cat.price is not None]
    for path, dist in prices:
        most = dist.highest()
        if most > MAX_PRICE:
            c.report(path, f"could draw prices up to {most:,.0f}; a product costs at most {MAX_PRICE:,}: lower the "
                           "distribution or give it a max")


def _volume(c: Checker, s: Scenario) -> None:
    events, queued = volume(s)
    if events > MAX_EVENTS:
        c.report(("population", "size"),
                 f"this run would play {about(events)} events ({s.population.size:,} shoppers over "
                 f"{s.run.duration}, at {s.behaviour.sessions.per_day:g} visits a day with their views, messages "
                 f"and ads), more than the {MAX_EVENTS:,} a run may have: lower population.size, run.duration, "
                 "behaviour.sessions.per_day or ads.per_day, or split the run")
    if queued > MAX_QUEUED:
        c.report(("population", "size"),
                 f"this run would queue {about(queued)} pieces of work when it begins (each shopper's sign-ins "
                 f"and password changes for the whole run, and one send per shopper for each campaign at a "
                 f"local time), more than the {MAX_QUEUED:,} that fit in memory: lower population.size, "
                 "run.duration, the account rates or the local-time campaigns")

