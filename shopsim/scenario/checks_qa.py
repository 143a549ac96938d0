"""The checks of what a scenario expects of its run and teaches about it: experiments (their arms' flows,
campaigns and ads), `expect:` (metrics, invariants, counts, deliveries) and `narration:` steps. They name
the engine's event types and the metric catalogue, which the other checks (checks.py) never need."""

from __future__ import annotations

from typing import Any

from shopsim.contract.ids import shopper_id, shopper_index
from shopsim.scenario.checker import Checker
from shopsim.scenario.problems import Path, did_you_mean
from shopsim.scenario.schema import Scenario
from shopsim.contract.units import parse_duration, parse_instant


def _event_types() -> set[str]:
    from shopsim.contract import events as E

    return {v for k, v in vars(E).items() if k.isupper() and isinstance(v, str) and "." in v}


def experiments(c: Checker, s: Scenario) -> None:
    """References from experiments to flows and campaigns; one experiment per flow, campaign, and ads."""
    owner: dict[tuple[str, str], str] = {}
    for ename, ex in s.experiments.items():
        c.names(("experiments",), [ename], "experiment")
        c.names(("experiments", ename, "variants"), list(ex.variants), "variant")
        if ex.control is not None and ex.control not in ex.variants:
            c.report(("experiments", ename, "control"),
                     f"unknown variant {ex.control!r}" + did_you_mean(ex.control, ex.variants))
        for vname, v in ex.variants.items():
            for what, names, known in (("flows", v.flows, s.flows), ("campaigns", v.campaigns, s.campaigns)):
                for i, name in enumerate(names):
                    path = ("experiments", ename, "variants", vname, what, i)
                    if name not in known:
                        c.report(path, f"unknown {what[:-1]} {name!r}" + did_you_mean(name, known))
                    elif owner.setdefault((what, name), ename) != ename:
                        c.report(path, f"{what[:-1]} {name!r} is already in experiment {owner[(what, name)]!r}; "
                                       "a shopper can be in one arm per flow or campaign")
            if v.ads is not None:
                if not s.ads.enabled:
                    c.report(("experiments", ename, "variants", vname, "ads"), "ads are not enabled (ads.enabled)")
                elif owner.setdefault(("ads", ""), ename) != ename:
                    c.report(("experiments", ename, "variants", vname, "ads"),
                             f"ads are already in experiment {owner[('ads', '')]!r}")


def expectations(c: Checker, s: Scenario) -> None:
    from shopsim.metrics.catalog import METRICS, bound, suggest
    from shopsim.contract.taxonomy import CATEGORIES, DIGEST

    categories = (*CATEGORIES, DIGEST)
    types = _event_types()
    for i, ex in enumerate(s.expect):
        at = ("expect", i)
        if ex.metric is not None:
            d = METRICS.get(ex.metric)
            if d is None:
                c.report(at + ("metric",), f"unknown metric {ex.metric!r}" + suggest(ex.metric))
                continue
            narrow = d.section == "messages" or ex.metric == "attributed_orders"
            if ex.channel is not None and ex.category is not None:
                c.report(at, "give channel or category, not both")
            elif (ex.channel or ex.category) and not narrow:
                c.report(at + ("channel" if ex.channel else "category",),
                         f"{ex.metric} is not a message metric; only message metrics take a channel or category")
            if ex.category is not None and ex.category not in categories:
                c.report(at + ("category",), f"unknown category {ex.category!r}" + did_you_mean(ex.category, categories))
            arm_reference(c, s, at, ex, d.section == "experiment")
            for side in ("min", "max"):
                value = getattr(ex, side)
                if value is not None:
                    try:
                        bound(value, d.kind)
                    except ValueError:
                        c.report(at + (side,), f"{value!r} is not a number" + (
                            " or a duration" if d.kind == "duration" else "") + ", e.g. 0.25 or 25%")
        elif ex.invariant is not None:
            try:
                from shopsim.qa.invariants import INVARIANTS
            except ImportError:  # pragma: no cover - the module ships with shopsim
                continue
            if ex.invariant not in INVARIANTS:
                c.report(at + ("invariant",), f"unknown invariant {ex.invariant!r}" + did_you_mean(ex.invariant, INVARIANTS))
        elif ex.count is not None:
            typ = ex.count.get("type")
            for t in typ if isinstance(typ, list) else [typ] if typ is not None else []:
                if t not in types:
                    c.report(at + ("count", "type"), f"unknown event type {t!r}" + did_you_mean(str(t), types))
            for side in ("min", "max"):
                value = getattr(ex, side)
                if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                    c.report(at + (side,), "a count bound is a whole number, 0 or more")
        elif ex.receives is not None:
            r = ex.receives
            if not 0 <= shopper_index(r.shopper) < s.population.size:
                c.report(at + ("receives", "shopper"), f"no shopper {r.shopper}: ids run from s000001 to "
                                                       f"{shopper_id(s.population.size - 1)}")
            if r.between is not None:
                from shopsim.scenario.compiled import at_ms
                from shopsim.contract.clock import epoch_ms
                start = epoch_ms(parse_instant(s.run.start))
                if at_ms(r.between[0], start) >= at_ms(r.between[1], start):
                    c.report(at + ("receives", "between"), "the window ends before it starts: give [from, to] in order")
            if r.category is not None and r.category not in categories:
                c.report(at + ("receives", "category"),
                         f"unknown category {r.category!r}" + did_you_mean(r.category, categories))
            for side in ("min", "max"):
                value = getattr(ex, side)
                if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                    c.report(at + (side,), "a count bound is a whole number, 0 or more")


def arm_reference(c: Checker, s: Scenario, at: Path, ex: Any, needs_variant: bool) -> None:
    if ex.experiment is None and ex.variant is None:
        if needs_variant:
            c.report(at + ("metric",), f"{ex.metric} compares an arm with its control: give variant (and "
                                       "experiment when there are several)")
        return
    names = list(s.experiments)
    if ex.experiment is not None and ex.experiment not in s.experiments:
        c.report(at + ("experiment",), f"unknown experiment {ex.experiment!r}" + did_you_mean(ex.experiment, names))
        return
    if ex.experiment is None and len(names) != 1:
        c.report(at + ("variant",), "several experiments (or none) in this scenario: say which with experiment")
        return
    exp = s.experiments[ex.experiment or names[0]]
    if ex.variant is None:
        c.report(at + ("experiment",), "give the variant too")
    elif ex.variant not in exp.variants:
        c.report(at + ("variant",), f"unknown variant {ex.variant!r}" + did_you_mean(ex.variant, exp.variants))


def narration(c: Checker, s: Scenario) -> None:
    from shopsim.scenario.compiled import at_ms
    from shopsim.scenario.teaching import narration_problems
    from shopsim.contract.clock import epoch_ms

    types = _event_types()
    start = epoch_ms(parse_instant(s.run.start))
    for i, step in enumerate(s.narration):
        at = ("narration", i)
        if step.at is not None:
            t = at_ms(step.at, start)
            if not 0 <= t <= parse_duration(s.run.duration):
                c.report(at + ("at",), f"{step.at} is outside the run (0 to {s.run.duration})")
        typ = (step.when or {}).get("type")
        for t in typ if isinstance(typ, list) else [typ] if typ is not None else []:
            if t not in types:
                c.report(at + ("when", "type"), f"unknown event type {t!r}" + did_you_mean(str(t), types))
        for who, path in ((step.shopper, ("shopper",)), ((step.when or {}).get("shopper"), ("when", "shopper"))):
            if isinstance(who, str) and who.startswith("s") and who[1:].isdigit() and \
                    not 0 <= shopper_index(who) < s.population.size:
                c.report(at + path, f"no shopper {who}: ids run from s000001 to {shopper_id(s.population.size - 1)}")
    for path, message in narration_problems(s.narration):  # placeholders such as {abandonment_rate}
        c.report(path, message)
