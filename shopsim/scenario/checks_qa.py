"""The checks of what a scenario expects of its run and teaches about it: experiments (their arms' flows,
campaigns and ads), `expect:` (counts, deliveries) and `narration:` steps (times, events, shoppers). They
name the event types, which the other checks (checks.py) never need. The KPIs and invariants an `expect:`
names and the placeholders a narration quotes are checked by shopsim/validate.py, which sees metrics and qa."""

from __future__ import annotations

from shopsim.contract.ids import shopper_id, shopper_index
from shopsim.scenario.checker import Checker
from shopsim.scenario.problems import did_you_mean
from shopsim.scenario.schema import Scenario
from shopsim.contract.units import parse_duration, parse_instant


def categories() -> tuple[str, ...]:
    """What an expectation's category may be: a notification category, or the digest."""
    from shopsim.contract.taxonomy import CATEGORIES, DIGEST

    return (*CATEGORIES, DIGEST)


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
        _comparisons(c, ename, ex)
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


def _comparisons(c: Checker, ename: str, ex) -> None:
    """`compare:` names two different arms of this experiment, each pair once, the control never first (every
    arm is compared with the control already, as variant minus control)."""
    control = ex.control_arm if ex.control is None or ex.control in ex.variants else None
    seen: dict[frozenset[str], int] = {}
    for i, pair in enumerate(ex.compare):
        at = ("experiments", ename, "compare", i)
        bad = False
        for side in ("variant", "against"):
            name = getattr(pair, side)
            if name not in ex.variants:
                c.report(at + (side,), f"unknown variant {name!r}" + did_you_mean(name, ex.variants))
                bad = True
        if bad:
            continue
        if pair.variant == pair.against:
            c.report(at + ("against",), f"an arm compared with itself ({pair.variant!r}): name two different arms")
        elif pair.variant == control:
            c.report(at + ("variant",), f"{control!r} is the control, which every arm is measured against: "
                                        f"write variant: {pair.against}, against: {control}")
        elif frozenset((pair.variant, pair.against)) in seen:
            c.report(at, f"{pair.variant!r} and {pair.against!r} are already compared at "
                         f"compare[{seen[frozenset((pair.variant, pair.against))]}]")
        else:
            seen[frozenset((pair.variant, pair.against))] = i


def personas(c: Checker, s: Scenario) -> None:
    """Each persona is a shopper of the population."""
    for name, p in s.personas.items():
        if not 0 <= shopper_index(p.shopper) < s.population.size:
            c.report(("personas", name, "shopper"), f"no shopper {p.shopper}: ids run from s000001 to "
                                                    f"{shopper_id(s.population.size - 1)}")


def expectations(c: Checker, s: Scenario) -> None:
    """The counts and deliveries `expect:` claims; a metric or an invariant is validate.py's to judge."""
    known = categories()
    types = _event_types()
    for i, ex in enumerate(s.expect):
        at = ("expect", i)
        if ex.metric is not None or ex.invariant is not None:
            continue
        if ex.count is not None:
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
            if r.persona is not None and r.persona not in s.personas:
                c.report(at + ("receives", "persona"), f"no persona {r.persona!r}"
                         + (did_you_mean(r.persona, list(s.personas)) if s.personas else ": the scenario names none "
                            "(personas: {NAME: {shopper: s000001}})"))
            if r.shopper is not None and not 0 <= shopper_index(r.shopper) < s.population.size:
                c.report(at + ("receives", "shopper"), f"no shopper {r.shopper}: ids run from s000001 to "
                                                       f"{shopper_id(s.population.size - 1)}")
            if r.between is not None:
                from shopsim.scenario.compiled import at_ms
                from shopsim.contract.clock import epoch_ms
                start = epoch_ms(parse_instant(s.run.start))
                if at_ms(r.between[0], start) >= at_ms(r.between[1], start):
                    c.report(at + ("receives", "between"), "the window ends before it starts: give [from, to] in order")
            if r.category is not None and r.category not in known:
                c.report(at + ("receives", "category"),
                         f"unknown category {r.category!r}" + did_you_mean(r.category, known))
            for side in ("min", "max"):
                value = getattr(ex, side)
                if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                    c.report(at + (side,), "a count bound is a whole number, 0 or more")


def narration(c: Checker, s: Scenario) -> None:
    from shopsim.scenario.compiled import at_ms
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
