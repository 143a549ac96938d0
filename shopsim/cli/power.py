"""`shopsim power SCENARIO`: before a run, how many shoppers an experiment needs, or what it can detect.

For the experiment's own metric: with `--mde`, the shoppers per arm that find a difference that size at the
given alpha and power; without it, the smallest difference each comparison can find with the scenario's
population split by the arms' weights. The control's rate comes from `--control-rate`, or else from one
pilot run of the scenario as written (its seed), and the output says which. Comparisons are each arm against
the control and the pairs the scenario names (`compare:`), whose baseline's rate is the pilot's rate of that
arm (or `--control-rate`). The arithmetic is shopsim.metrics.stats's: the pooled two-proportion z-test's
normal-approximation formula for shopper rates, Welch's normal approximation for revenue per shopper."""

from __future__ import annotations

import json
import math
from typing import Any

import click

from shopsim.cli.common import fail, load_or_exit
from shopsim.metrics import stats
from shopsim.metrics.variants import MEANS, OUTCOMES

FORMATS = ("text", "json")


def parse_mde(text: str, metric: str) -> tuple[float, bool]:
    """(value, relative): "2pp" or "0.02" is an absolute difference of rates, "10%" is 10% of the control's
    rate; for revenue per shopper a plain amount ("0.5") or a percentage of the control's mean."""
    t = text.strip()
    try:
        if t.endswith("%"):
            value, relative = float(t[:-1]) / 100, True
        elif t.endswith("pp"):
            if metric not in OUTCOMES:
                raise ValueError
            value, relative = float(t[:-2]) / 100, False
        else:
            value, relative = float(t), False
    except ValueError:
        what = "a difference like 2pp, 0.02 or 10% (of the control's rate)" if metric in OUTCOMES else \
            "an amount like 0.5, or a percentage of the control's mean like 10%"
        raise click.BadParameter(f"{text!r} is not {what}") from None
    if not math.isfinite(value) or value <= 0:
        raise click.BadParameter(f"{text!r}: the effect must be a positive number")
    return value, relative


def _pilot(model: Any, seed: int | None) -> dict[str, Any]:
    from shopsim.metrics.kpis import Metrics
    from shopsim.simulation import Simulation

    sim = Simulation(model, seed, keep_messages=False)
    metrics = Metrics()
    sim.subscribe(metrics, texts=False)
    sim.run()
    return {"result": metrics.result(), "metrics": metrics}


def _arm_sd(metrics: Any, experiment: str, arm: str) -> float | None:
    a = metrics.arms.get((experiment, arm))
    if a is None or a.shoppers < 2:
        return None
    vals = [c / 100 for c in a.revenue_of.values()]
    n, s, ss = a.shoppers, sum(vals), sum(v * v for v in vals)
    return math.sqrt(max(0.0, (ss - s * s / n) / (n - 1)))


def plan(model: Any, experiment: str, mde: tuple[float, bool] | None, alpha: float, power: float,
         control_rate: float | None, seed: int | None) -> dict[str, Any]:
    """Everything `shopsim power` prints, as data."""
    ex = model.experiments[experiment]
    metric, control = ex.metric, ex.control_arm
    weights = {v: arm.weight for v, arm in ex.variants.items()}
    size = model.population.size
    share = {v: size * w / sum(weights.values()) for v, w in weights.items()}
    pairs = [(v, control) for v in ex.variants if v != control]
    pairs += [(c.variant, c.against) for c in ex.compare if (c.variant, c.against) not in pairs]
    pilot, exp = None, {}
    if control_rate is None or metric == "recovery" or metric in MEANS:
        pilot = _pilot(model, seed)
        exp = pilot["result"]["experiments"][experiment]
    out: dict[str, Any] = {"experiment": experiment, "metric": metric, "control": control, "alpha": alpha,
                           "power": power, "shoppers": size, "weights": weights, "comparisons": []}
    rates: dict[str, float | None] = {}
    eligible: dict[str, float] = {}
    for v in ex.variants:
        row = exp["variants"].get(v, {}) if pilot else {}
        if metric in OUTCOMES:
            x, n = row.get(f"{metric}_shoppers", 0), row.get(f"{metric}_of", 0)
            rates[v] = x / n if n else None
            eligible[v] = n / row["shoppers"] if row.get("shoppers") else 1.0
            if pilot:
                out.setdefault("pilot_counts", {})[v] = {"x": x, "n": n, "shoppers": row.get("shoppers", 0)}
        else:
            rates[v] = row.get("revenue_per_shopper")
            eligible[v] = 1.0
    if control_rate is not None:
        rates = {v: control_rate for v in rates}
    out["source"] = ("--control-rate" if control_rate is not None else "pilot")
    if pilot:
        out["pilot"] = {"seed": seed if seed is not None else model.run.seed, "duration": model.run.duration}
    for v, base in pairs:
        p_b = rates.get(base)
        n_b, n_v = share[base] * eligible[base], share[v] * eligible[v]
        row: dict[str, Any] = {"variant": v, "against": base, "baseline": p_b, "ratio": weights[v] / weights[base],
                               "eligible_baseline": n_b, "eligible_variant": n_v,
                               "named": (v, base) in [(c.variant, c.against) for c in ex.compare]}
        if metric in MEANS:
            sd = _arm_sd(pilot["metrics"], experiment, base) if pilot else None
            row["sd"] = sd
            if mde is not None:
                d = mde[0] * (p_b or 0) if mde[1] else mde[0]
                n = stats.sample_size_means(sd, d, alpha, power, row["ratio"]) if sd and d else None
                row.update(diff=d, needed_baseline=n, needed_variant=n * row["ratio"] if n else None)
            else:
                row["detectable"] = stats.detectable_mean(sd, n_b, n_v, alpha, power) if sd else None
        elif p_b is None:
            row["why"] = f"no shopper of {base} had a {metric} outcome in the pilot run"
        elif mde is not None:
            d = mde[0] * p_b if mde[1] else mde[0]
            up = stats.sample_size(p_b, d, alpha, power, row["ratio"])
            down = stats.sample_size(p_b, -d, alpha, power, row["ratio"])
            row.update(diff=d, needed_baseline=up, needed_variant=up * row["ratio"] if up else None,
                       needed_baseline_decrease=down,
                       needed_variant_decrease=down * row["ratio"] if down else None)
        else:
            row["increase"] = stats.detectable_effect(p_b, n_b, n_v, alpha, power, 1)
            row["decrease"] = stats.detectable_effect(p_b, n_b, n_v, alpha, power, -1)
        out["comparisons"].append(row)
    out["eligible_share"] = eligible
    return out


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.1%}"


def _pp(x: float | None) -> str:
    return "none (out of reach at this size)" if x is None else f"{x * 100:+.1f} pp"


def _n(x: float | None) -> str:
    return "—" if x is None else f"{math.ceil(x):,}"


def text_lines(p: dict[str, Any], scenario: str) -> list[str]:
    metric, unit = p["metric"], OUTCOMES[p["metric"]][0] if p["metric"] in OUTCOMES else MEANS[p["metric"]]
    lines = [f"Power of experiment {p['experiment']} in {scenario}",
             f"metric: {unit}",
             f"two-sided alpha {p['alpha']:g}, power {p['power']:.0%}; "
             + ("pooled two-proportion z-test, normal approximation" if metric in OUTCOMES
                else "Welch's normal approximation, both arms with the baseline's standard deviation")]
    if p["source"] == "pilot":
        src = (f"from a pilot run of the scenario (seed {p['pilot']['seed']}, {p['shoppers']:,} shoppers, "
               f"{p['pilot']['duration']})")
    else:
        src = "from --control-rate (every baseline at that rate)"
    if metric in OUTCOMES:
        counts = p.get("pilot_counts") or {}
        c = counts.get(p["control"])
        rate = p["comparisons"][0]["baseline"] if p["comparisons"] else None
        detail = f": {c['x']:,} of {c['n']:,}" if c and p["source"] == "pilot" else ""
        lines.append(f"control {p['control']}: rate {_pct(rate)}{detail}, {src}")
        if metric == "recovery":
            share = p["eligible_share"].get(p["control"], 1.0)
            lines.append(f"recovery counts only shoppers who abandoned a cart: {share:.1%} of the control's "
                         "shoppers in the pilot run; the sizes below are of those shoppers, then of all shoppers")
    else:
        first = p["comparisons"][0] if p["comparisons"] else {}
        mean, sd = first.get("baseline"), first.get("sd")
        figures = "" if mean is None or sd is None else f" {mean:,.2f}, standard deviation {sd:,.2f},"
        lines.append(f"control {p['control']}: revenue per shopper{figures} {src}")
    lines.append("")
    for r in p["comparisons"]:
        head = f"{r['variant']} against {r['against']}" + (" (named in the scenario)" if r["named"] else "")
        if "why" in r:
            lines.append(f"{head}: {r['why']}")
            continue
        share_b = p["eligible_share"].get(r["against"], 1.0)
        if "diff" in r:
            if metric in OUTCOMES:
                lines.append(f"{head}, baseline {_pct(r['baseline'])}:")
                for sign, nb, nv in ((1, r["needed_baseline"], r["needed_variant"]),
                                     (-1, r.get("needed_baseline_decrease"), r.get("needed_variant_decrease"))):
                    what = f"  to detect {_pp(sign * r['diff'])}"
                    if nb is None:
                        lines.append(f"{what}: impossible from this baseline")
                        continue
                    who = "shoppers who abandon a cart" if metric == "recovery" else "shoppers"
                    each = (f"{_n(nb)} {who} in each arm" if r["ratio"] == 1 else
                            f"{_n(nb)} {who} in {r['against']} and {_n(nv)} in {r['variant']}")
                    if metric == "recovery" and share_b:
                        share_v = p["eligible_share"].get(r["variant"]) or share_b
                        each += (f" (at the pilot's shares of shoppers who abandon one, about {_n(nb / share_b)} "
                                 f"shoppers in {r['against']} and {_n(nv / share_v)} in {r['variant']})")
                    lines.append(f"{what}: {each}")
            else:
                lines.append(f"{head}: to detect {r['diff']:+,.2f} per shopper: {_n(r.get('needed_baseline'))} "
                             f"shoppers in {r['against']} and {_n(r.get('needed_variant'))} in {r['variant']}")
        elif metric in OUTCOMES:
            size = (f"{r['eligible_baseline']:,.0f} and {r['eligible_variant']:,.0f} "
                    + ("shoppers who abandon a cart" if metric == "recovery" else "shoppers"))
            lines.append(f"{head}, baseline {_pct(r['baseline'])}, {size}: smallest detectable increase "
                         f"{_pp(r['increase'])}, decrease {_pp(r['decrease'])}")
        else:
            d = r.get("detectable")
            lines.append(f"{head}: smallest detectable difference "
                         + ("—" if d is None else f"±{d:,.2f} per shopper"))
    if not any("diff" in r for r in p["comparisons"]):
        lines += ["", "with the scenario's population split by the arms' weights; --mde gives the shoppers "
                      "needed for an effect of your choosing"]
    return lines


def _rate_arg(_ctx, _param, value: float | None) -> float | None:
    if value is not None and not 0 < value < 1:
        raise click.BadParameter("a rate between 0 and 1, e.g. 0.08")
    return value


@click.command("power")
@click.argument("scenario")
@click.option("--experiment", metavar="NAME", help="which experiment (needed when the scenario has several)")
@click.option("--mde", metavar="EFFECT", help="minimum detectable effect: 2pp or 0.02 (absolute), or 10% of "
                                              "the control's rate; without it, what the population can detect")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05,
              show_default=True, help="two-sided significance level")
@click.option("--power", "power_", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.8,
              show_default=True, help="the chance of finding the effect when it is there")
@click.option("--control-rate", type=float, callback=_rate_arg, metavar="RATE",
              help="the control's expected rate (0-1) instead of a pilot run's")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="the pilot run's seed (default: the scenario's)")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
def power_cmd(scenario: str, experiment: str | None, mde: str | None, alpha: float, power_: float,
              control_rate: float | None, seed: int | None, fmt: str) -> None:
    """Sample size per arm for a minimum detectable effect (--mde), or the effect the scenario's population
    can detect, on the experiment's own metric, before running it.

    The control's rate is --control-rate, or else what one pilot run of the scenario measures (the output says
    which). A recovery experiment counts only shoppers who abandon a cart; that share comes from the pilot."""
    path, model = load_or_exit(scenario)
    names = list(model.experiments)
    if not names:
        fail(f"{path}: the scenario has no experiments")
    if experiment is None:
        if len(names) > 1:
            fail(f"{path}: several experiments ({', '.join(names)}): say which with --experiment")
        experiment = names[0]
    elif experiment not in model.experiments:
        from shopsim.scenario.problems import did_you_mean

        fail(f"{path}: no experiment {experiment!r}" + did_you_mean(experiment, names))
    metric = model.experiments[experiment].metric
    if control_rate is not None and metric in MEANS:
        fail(f"--control-rate is a rate; {experiment}'s metric is {MEANS[metric]}, taken from a pilot run")
    parsed = parse_mde(mde, metric) if mde is not None else None
    result = plan(model, experiment, parsed, alpha, power_, control_rate, seed)
    if fmt == "json":
        click.echo(json.dumps(result, indent=2, sort_keys=True))
    else:
        import textwrap

        for line in text_lines(result, scenario):  # as typed: a shipped name or the user's own path
            indent = " " * (len(line) - len(line.lstrip()) + 2)
            click.echo(textwrap.fill(line, 100, subsequent_indent=indent) if line else "")
