"""Input that validates but then crashes, hangs or explodes (issue 12): every such value is refused by
`shopsim validate` with a located message (file:line:col: field: message), exit 2, nothing written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers.paths import ROOT
from helpers.scenarios import tiny_scenario
from shopsim.cli import main
from shopsim.validate import load_scenario_text
from shopsim.scenario.problems import ScenarioError
from shopsim.contract import units
from shopsim.contract.units import parse_duration

BASE = """\
schema_version: 1
run: {name: bounds, seed: 1, duration: 2d}
population:
  size: 20
  locales: {en_US: {share: 1.0}}
catalogue: {products: 20, stores: 3}
behaviour: {sessions: {per_day: 1.0}}
"""
LOCATED = re.compile(r"^(?P<file>[^:]+\.yaml):(?P<line>\d+):(?P<col>\d+): (?P<path>\S+): (?P<message>.+)$")


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args):
        # catch_exceptions=False: a traceback is a test failure, not an exit code
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)

    return invoke


def _write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _problems(res) -> list[re.Match]:
    return [m for m in map(LOCATED.match, res.stderr.splitlines()) if m]


def refused(cli, tmp_path: Path, text: str, field: str, fragment: str = "") -> re.Match:
    """`validate` and `replay` both refuse `text` at `field` (exit 2, a located message, nothing written)."""
    path = _write(tmp_path, text)
    res = cli("validate", path)
    assert res.exit_code == 2, res.output
    found = [m for m in _problems(res) if m["path"] == field]
    assert found, f"no problem at {field}:\n{res.stderr}"
    assert int(found[0]["line"]) >= 1 and found[0]["file"] == str(path)
    assert fragment in found[0]["message"], found[0]["message"]
    res = cli("replay", path, "--quiet")
    assert res.exit_code == 2, res.output
    assert any(m["path"] == field for m in _problems(res)), res.stderr
    assert not (tmp_path / "runs").exists()
    return found[0]


def accepted(text: str):
    return load_scenario_text(text, "s.yaml")


# --- durations and instants ---------------------------------------------------------------------------------

def test_parse_duration_is_bounded_and_never_overflows():
    assert parse_duration("1h30m") == 5_400_000
    assert parse_duration("1.5h") == 5_400_000
    assert parse_duration(units.MAX_DURATION) == units.MAX_DURATION_MS
    for text in ("9" * 400 + "d", "9" * 5000 + "ms", "1" + "0" * 30 + "s", "1097d", "0.000001d" + "9" * 20 + "w"):
        with pytest.raises(ValueError, match="longest duration") as err:
            parse_duration(text)
        assert len(str(err.value)) < 300  # the text is not echoed in full
    assert parse_duration("0." + "9" * 400 + "s") == 1000  # long fractions are fine


def test_duration_with_hundreds_of_digits_is_a_located_problem(cli, tmp_path):
    text = BASE + "engagement: {fatigue: {half_life: " + "9" * 400 + "d}}\n"
    m = refused(cli, tmp_path, text, "engagement.fatigue.half_life", "longest duration")
    assert int(m["line"]) == 8


def test_number_with_thousands_of_digits_is_a_located_problem(cli, tmp_path):
    refused(cli, tmp_path, BASE.replace("size: 20", "size: " + "9" * 5000), "population.size", "digits")


@pytest.mark.parametrize("section, field", [
    ("flows: {f: {trigger: cart.abandoned, steps: [{after: 1h, channel: email, "
     "incentive: {type: percent, value: 10, valid: 9999999d}}]}}", "flows.f.steps[0].incentive.valid"),
    ("campaigns: {fs: {kind: flash_sale, at: 1h, channels: [email], title: Sale, ends: 9999999999d, "
     "incentive: {type: percent, value: 10}}}", "campaigns.fs.ends"),
    ("engagement: {recovery: {attribution_window: 5000d}}", "engagement.recovery.attribution_window"),
    ("behaviour: {sessions: {per_day: 1.0, view_time: {dist: lognormal, median: 2000d, sigma: 2}}}",
     "behaviour.sessions.view_time"),
    ("orders: {processing: {dist: lognormal, median: 1h, sigma: 1.0e+300}}", "orders.processing.sigma"),
    ("events: [{at: '9999-12-31T23:59:59Z', shopper: s000001, session: true}]", "events[0].at"),
])
def test_far_durations_and_instants_are_refused(cli, tmp_path, section, field):
    text = BASE.replace("behaviour: {sessions: {per_day: 1.0}}\n", "") + section + "\n"
    refused(cli, tmp_path, text, field)


def test_duration_draws_stop_at_the_longest_duration():
    from shopsim.scenario.dists import DurationDist

    sample = DurationDist(dist="exponential", mean="500d").sampler_ms()
    assert max(_draws(sample)) <= units.MAX_DURATION_MS
    # ... and a scenario whose waits can pass any run's end still plays
    sim_text = tiny_scenario(size=5, duration="1d", as_text=True,
                             orders={"handling": {"dist": "lognormal", "median": "900d", "sigma": 5}})
    from helpers.runs import replay_lines
    assert replay_lines(sim_text).splitlines()[-1].startswith(b'{"')


def _draws(sample, n: int = 2000) -> list[int]:
    import random

    rng = random.Random(1)
    return [sample(rng) for _ in range(n)] + [sample(type("Top", (), {"random": lambda self: 0.999999999})())]


# --- rates, counts and sizes ------------------------------------------------------------------------------------

@pytest.mark.parametrize("change, field", [
    ("behaviour: {sessions: {per_day: 1.0e+12}}", "behaviour.sessions.per_day"),
    ("population: {size: 20, locales: {en_US: {share: 1.0}}, segments: {a: {share: 1.0, traits: {activity: 1.0e+9}}}}",
     "population.segments.a.traits.activity"),
    ("population: {size: 5000000, locales: {en_US: {share: 1.0}}}", "population.size"),
    ("account: {new_signin_per_30d: 1.0e+9}", "account.new_signin_per_30d"),
    ("behaviour: {sessions: {per_day: 1.0, views: {dist: lognormal, median: 1.0e+9, sigma: 1}}}",
     "behaviour.sessions.views"),
    ("behaviour: {sessions: {per_day: 1.0, by_local_hour: [1.0e+300, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, "
     "0, 0, 0, 0, 0, 0, 0, 0]}}", "behaviour.sessions.by_local_hour[0]"),
    ("catalogue: {products: 20, stores: 3, price: {dist: lognormal, median: 500000, sigma: 2}}", "catalogue.price"),
    ("catalogue: {products: 20, stores: 3, items: [{id: x, name: X, category: toys, price: 1.0e+15}]}",
     "catalogue.items[0].price"),
    ("orders: {disputes: {reasons: {damaged: 1.0e+300}}}", "orders.disputes.reasons.damaged"),
    ("campaigns: {fs: {kind: flash_sale, at: 1h, channels: [email], title: Sale, stock: 100000000000000000000}}",
     "campaigns.fs.stock"),
    ("run: {name: " + "n" * 300 + ", duration: 2d}", "run.name"),
])
def test_every_rate_and_count_is_bounded(cli, tmp_path, change, field):
    key = change.split(":", 1)[0]
    lines = [line for line in BASE.splitlines() if not line.startswith(key + ":")
             and not (key == "population" and line.startswith("  "))]
    refused(cli, tmp_path, "\n".join(lines) + "\n" + change + "\n", field)


def test_a_run_too_large_to_play_is_refused_with_its_estimate(cli, tmp_path):
    text = BASE.replace("size: 20", "size: 1000000").replace("duration: 2d", "duration: 1000d").replace(
        "per_day: 1.0", "per_day: 50")
    m = refused(cli, tmp_path, text, "population.size", "events")
    assert "would play about" in m["message"] and "1,000,000,000" in m["message"]
    # one local-time campaign per shopper is queued at the start: a million shoppers and many campaigns do not fit
    camps = "".join(f"  c{i}: {{kind: promotion, at: {i}d, local_time: '10:00', channels: [email], title: T}}\n"
                    for i in range(1, 13))
    text = BASE.replace("size: 20", "size: 1000000").replace("duration: 2d", "duration: 20d").replace(
        "per_day: 1.0", "per_day: 0.01") + "account: {new_signin_per_30d: 0, password_change_per_30d: 0}\n" \
        + "campaigns:\n" + camps
    refused(cli, tmp_path, text, "population.size", "queue")


def test_the_shipped_scenarios_and_the_benchmark_are_well_inside_the_budget():
    from shopsim.scenario.volume import MAX_EVENTS, MAX_QUEUED, volume
    from shopsim.validate import load_scenario

    root = ROOT
    for f in [*sorted((root / "scenarios").glob("*.yaml")), root / "benchmarks" / "large.yaml"]:
        events, queued = volume(load_scenario(f))
        assert events < MAX_EVENTS / 20 and queued < MAX_QUEUED / 10, f


# --- campaigns outside the run -------------------------------------------------------------------------------------

@pytest.mark.parametrize("camp, fragment", [
    ("{kind: promotion, at: 3d, channels: [email], title: Late}", "after the end of the run"),
    ("{kind: promotion, at: '2026-03-01T00:00:00Z', channels: [email], title: Early}", "before the run starts"),
    ("{kind: price_drop, at: 2d1ms, channels: [email], title: Late, products: [p00001], discount: 10}",
     "after the end of the run"),
    # the UTC date of `at` is the day after the run: 10:00 there is after the end in every zone of en_US
    ("{kind: promotion, at: 2d, local_time: '10:00', channels: [email], title: Late}", "after the run ends"),
    ("{kind: promotion, at: '2026-03-01T12:00:00Z', local_time: '10:00', channels: [email], title: Early}",
     "before the run starts"),
])
def test_a_campaign_outside_the_run_is_refused(cli, tmp_path, camp, fragment):
    refused(cli, tmp_path, BASE + f"campaigns:\n  c: {camp}\n", "campaigns.c.at", fragment)


def test_a_local_time_campaign_that_some_zone_still_sees_is_accepted():
    # 2d is Wednesday 00:00 UTC, the end of a 2-day run: Wednesday 10:00 in Kiritimati (UTC+14) is Tuesday 20:00 UTC
    text = BASE.replace("{en_US: {share: 1.0}}", "{en_US: {share: 0.5}, en: {share: 0.5, time_zones: "
                                                "{Pacific/Kiritimati: 1.0}}}")
    accepted(text + "campaigns:\n  c: {kind: promotion, at: 2d, local_time: '10:00', channels: [email], title: T}\n")


# --- a file of junk -----------------------------------------------------------------------------------------------

def _junk_events(n: int) -> str:
    return BASE + "events:\n" + "".join(
        f"  - {{at: {'x' if i % 2 else '5q'}, shopper: s{i + 1:06d}, sesion: yes, foo: [1, 2]}}\n" for i in range(n))


def test_problems_are_capped_with_a_count_of_the_rest(cli, tmp_path):
    from shopsim.scenario.problems import MAX_PROBLEMS

    path = _write(tmp_path, _junk_events(400))  # 1,200 problems: at, sesion and foo of each event
    res = cli("validate", path)
    assert res.exit_code == 2
    lines = res.stderr.splitlines()
    located = _problems(res)
    assert len(located) == MAX_PROBLEMS + 1
    # the first ones in file order, then one line saying how many more
    assert [int(m["line"]) for m in located[:-1]] == sorted(int(m["line"]) for m in located[:-1])
    assert int(located[0]["line"]) == 9 and located[-1]["line"] == "0"
    assert re.search(r"and 1,0\d\d more problems", located[-1]["message"]), located[-1]["message"]
    assert lines[-1] == "1 of 1 file invalid."
    res = cli("replay", path)
    assert res.exit_code == 2 and re.search(r"1,2\d\d problems found; nothing was written", res.stderr)


def test_a_large_file_of_junk_is_refused_fast(tmp_path):
    import time

    from shopsim.scenario.loader import MAX_FILE_BYTES
    from shopsim.validate import load_scenario

    big = _write(tmp_path, "# " + "x" * (MAX_FILE_BYTES + 10) + "\n" + BASE)
    with pytest.raises(ScenarioError, match="larger than") as err:
        load_scenario(big)
    assert (err.value.problems[0].line, err.value.problems[0].col) == (0, 0)
    # junk just under the limit: refused in a few seconds at most, with the first problems
    junk = _junk_events(1)
    junk += "".join(f"  - {{at: {i}q, shopper: s{i:06d}}}\n" for i in range(1, (MAX_FILE_BYTES - len(junk)) // 40))
    path = _write(tmp_path, junk[:MAX_FILE_BYTES])
    started = time.process_time()
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert time.process_time() - started < 30  # was a minute for 5 MB; the YAML parser alone takes a few seconds
    assert len(err.value.problems) <= 201


def test_long_values_and_keys_are_quoted_short():
    text = BASE + "campaigns:\n  c: {kind: promotion, at: 1h, channels: [email], title: T, audience: {segments: [" \
        + "y" * 100_000 + "]}}\n" + "? " + "z" * 50_000 + "\n: 1\n"  # an explicit key may be that long
    with pytest.raises(ScenarioError) as err:
        load_scenario_text(text, "s.yaml")
    assert err.value.problems and all(len(str(p)) < 1000 for p in err.value.problems)
    assert "unknown key 'zzz" in str(err.value)
    # and the segment, once the key is gone
    with pytest.raises(ScenarioError) as err:
        load_scenario_text(text.rsplit("? ", 1)[0], "s.yaml")
    assert "segments[0]: should have at most 80 characters" in str(err.value)
    assert all(len(str(p)) < 1000 for p in err.value.problems)


# --- templates ---------------------------------------------------------------------------------------------------

LOOPS = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}x"
DOUBLING = "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}"


@pytest.mark.parametrize("source, fragment", [
    (LOOPS, "steps"),                                                       # spun forever
    ("{{ 'x'.ljust(10**7) }}", "10,000,000"),                               # a 220 MB log
    (DOUBLING, "joining text with ~"),                                      # 7.7 GB of memory
    (DOUBLING.replace("ns.s ~ ns.s", "ns.s + ns.s"), "+ would make"),
    ("{% set ns = namespace(n=3) %}{% for i in range(64) %}{% set ns.n = ns.n * ns.n %}{% endfor %}{{ ns.n > 0 }}",
     "too large"),
    ("{% for i in range(1000) %}{{ 'y' * 1000 }}{% endfor %}", "renders more than 4,000 characters, the most a push body"),
    ("{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}x{% endmacro %}{{ f(40) }}", "steps"),
    ("{% macro m() %}{% for i in range(9000) %}01234567890123456789{% endfor %}{% endmacro %}{{ m()|length }}",
     "the text of a block"),
    ("{{ 'x'|center(100000000) }}", "center"),
    ("{{ '%100000000d' % 1 }}", "the format '%100000000' would make a value of 100,000,000"),
    ("{{ '%*d' % (100000000, 1) }}", "* width"),
    ("{{ '%100000000d'|format(1) }}", "the format"),
    ("{{ '{:>100000000}'.format(1) }}", "format spec"),
    ("{{ '{:>{w}}'.format(1, w=100000000) }}", "nested format spec"),
    ("{{ (['x' * 90000] * 1000)|join }}", "joining them"),
    ("{{ ','.join(['x' * 90000] * 1000) }}", "joining them"),
    ("{{ ('x' * 10000)|replace('x', 'x' * 10000) }}", "replace"),
    ("{{ ('x' * 10000).replace('x', 'x' * 10000) }}", "replace()"),
    ("{{ ('a\\n' * 10000)|indent(10000) }}", "indent"),
    ("{{ ('a' * 50000)|wordwrap(1, true, 'xxxxxxxxxx') }}", "wordwrap"),
    ("{{ [1]|batch(1000000000, 'x')|list }}", "batch"),
    ("{{ 1.5|round(1000000000, 'ceil') }}", "round"),
    ("{{ ([[1] * 50000] * 3)|sum(start=[]) }}", "sum adds up numbers"),
    ("{{ lipsum(100000) }}", "'lipsum' is undefined"),                       # neither bounded nor reproducible
    ("{{ [1, 2]|random }}", "No filter named 'random'"),                     # breaks determinism
    ("{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}", "nested too deeply"),
    ("x" * 30000, "at most 20,000"),
])
def test_template_overrides_cannot_exhaust_the_machine(source, fragment):
    import resource
    import time

    from shopsim.notify.template_checks import check_templates

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.process_time()
    problems = check_templates({"promotions": {"push": {"body": source}}})
    assert time.process_time() - started < 10
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KB
    assert problems, source
    assert any(fragment in message for _, _, message in problems), problems


def test_a_template_over_a_limit_is_a_located_problem(cli, tmp_path):
    text = BASE + "policies:\n  templates:\n    promotions:\n      push:\n        body: |\n          Hello\n" \
                  "          " + LOOPS + "\n"
    m = refused(cli, tmp_path, text, "policies.templates.promotions.push.body", "over a rendering limit")
    assert int(m["line"]) == 14 and "template line 2" in m["message"]


def test_shipped_templates_stay_far_inside_the_limits(monkeypatch):
    from shopsim.notify import sandbox as S
    from shopsim.notify import template_samples
    from shopsim.notify import templates as T

    budgets: list = []  # each render's own budget, as render_capped makes it

    class Recorded(S._Budget):
        def __init__(self):
            super().__init__()
            budgets.append(self)

    monkeypatch.setattr(S, "_Budget", Recorded)
    most = 0
    for cat in T.TEMPLATE_CATEGORIES:
        for ch, parts in T.PARTS.items():
            for part in parts:
                tpl = T._default_part((cat, ch, part)).jinja
                for sample in template_samples.SAMPLES[cat]:
                    budgets.clear()
                    out = S.render_capped(tpl, dict(sample, channel=ch), S.RENDER_LIMITS[(ch, part)])
                    assert len(budgets) == 1, (cat, ch, part)
                    used = S.MAX_STEPS - budgets[0].left
                    most = max(most, used)
                    assert used < S.MAX_STEPS // 50, (cat, ch, part)
                    assert len(out) < S.RENDER_LIMITS[(ch, part)] // 2, (cat, ch, part)
    assert most > 0  # the budget was charged: the check above measured something


# A template that passes every sample but not a real message: orders here cost 500,000.
RUNTIME_ONLY = """
catalogue: {products: 20, stores: 3, price: 500000, free_shipping_over: 0}
behaviour: {sessions: {per_day: 3.0}, add_to_cart: 0.5, abandonment: {rate: 0.05}}
policies:
  templates:
    order_updates:
      email:
        body: "{% if order and order.total > 100000 %}{% for i in range(2000) %}{{ 'x' * 100 }}{% endfor %}{% endif %}Thanks"
"""


def test_a_template_over_a_limit_at_run_time_stops_the_run():
    from shopsim.notify.templates import TemplateLimitError
    from shopsim.simulation import Simulation

    text = BASE.replace("catalogue: {products: 20, stores: 3}\nbehaviour: {sessions: {per_day: 1.0}}\n", "") \
        + RUNTIME_ONLY
    sc = accepted(text)
    with pytest.raises(TemplateLimitError) as err:
        Simulation(sc, keep_messages=False).run()
    assert err.value.path == ("policies", "templates", "order_updates", "email", "body")
    assert "renders more than 100,000 characters" in str(err.value) or "steps" in str(err.value)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_replay_stopped_by_a_template_fails_cleanly(tmp_path, monkeypatch, workers):
    import sqlite3

    monkeypatch.chdir(tmp_path)
    text = BASE.replace("catalogue: {products: 20, stores: 3}\nbehaviour: {sessions: {per_day: 1.0}}\n", "") \
        + RUNTIME_ONLY
    path = _write(tmp_path, text)
    res = CliRunner().invoke(main, ["replay", str(path), "--quiet", "--workers", workers])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert res.exit_code == 2
    assert "policies.templates.order_updates.email.body" in res.stderr and str(path) in res.stderr
    db = tmp_path / "runs" / "bounds-seed1.db"
    assert sqlite3.connect(db).execute("select status from runs").fetchone() == ("failed",)


def test_a_problem_found_at_run_time_is_placed_in_the_file(tmp_path):
    from shopsim.scenario.loader import problem_in_file

    text = BASE.replace("catalogue: {products: 20, stores: 3}\nbehaviour: {sessions: {per_day: 1.0}}\n", "") \
        + RUNTIME_ONLY
    path = _write(tmp_path, text)
    p = problem_in_file(path, ("policies", "templates", "order_updates", "email", "body"), "too long")
    assert str(p) == f"{path}:13:9: policies.templates.order_updates.email.body: too long"
    assert problem_in_file(tmp_path / "gone.yaml", ("run",), "x").line == 0


def test_a_vanishing_ad_rate_does_not_crash():
    # found by tests/cli/test_input_fuzz.py: the gap to the next ad opportunity was int(inf)
    from helpers.runs import replay_events

    sc = tiny_scenario(size=5, duration="12h", ads={"enabled": True, "per_day": 1e-300},
                       behaviour={"sessions": {"per_day": 5.0}, "add_to_cart": 0.5})
    events = replay_events(sc)
    assert events[-1].type == "run.finished" and not any(e.type.startswith("ad.") for e in events)


def test_a_visit_rate_that_rounds_to_nothing_does_not_crash():
    # found by tests/cli/test_input_fuzz.py: per_day 5e-324 made an arrival rate of 0.0, and expovariate(0) divides by it
    from helpers.runs import replay_events

    sc = tiny_scenario(size=3, duration="12h", behaviour={"sessions": {"per_day": 5e-324}})
    events = replay_events(sc)
    assert events[-1].type == "run.finished" and not any(e.type == "session.started" for e in events)


def test_the_size_limit_example_in_the_scenario_format_is_what_validate_prints(cli, tmp_path):
    doc = (ROOT / "docs" / "scenario-format.md").read_text(encoding="utf-8")
    section = doc[doc.index("## Limits"):doc.index("## Validation and error messages")]
    scenario = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    shown = section.split("$ shopsim validate big.yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "big.yaml").write_text(scenario, encoding="utf-8")
    res = cli("validate", "big.yaml")
    assert res.exit_code == 2 and res.stderr == shown


def test_the_rendering_limits_example_in_the_notification_rules_is_what_validate_prints(cli, tmp_path):
    doc = (ROOT / "docs" / "notifications.md").read_text(encoding="utf-8")
    section = doc[doc.index("**Limits.**"):doc.index("## Asking the simulation")]
    scenario = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    shown = section.split("$ shopsim validate loops.yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "loops.yaml").write_text(scenario, encoding="utf-8")
    res = cli("validate", "loops.yaml")
    assert res.exit_code == 2 and res.stderr == shown


def test_an_endless_file_is_refused_not_read_forever(cli):
    res = cli("validate", "/dev/zero")
    assert res.exit_code == 2
    assert res.stderr.startswith("/dev/zero:0:0: -: the file is larger than 1 MiB, the most a scenario may be")


def test_the_terminal_app_shows_a_template_that_stops_the_run_as_a_located_problem(tmp_path):
    """Playing the same scenario in the app: the run stops there and the errors screen says where (before,
    the play worker died with the exception)."""
    import asyncio

    from textual.widgets import Static

    from shopsim.tui.app import make_app
    from shopsim.tui.screens.errors import ErrorsScreen
    from shopsim.tui.screens.main import MainScreen

    text = BASE.replace("catalogue: {products: 20, stores: 3}\nbehaviour: {sessions: {per_day: 1.0}}\n", "") \
        + RUNTIME_ONLY
    path = _write(tmp_path, text)

    async def go():
        app = make_app(path, None)
        async with app.run_test(size=(120, 40)) as pilot:
            for _ in range(400):  # a bound on waiting for the build, not a timing assertion
                if isinstance(app.screen, MainScreen) and app.screen is app.main_screen:  # the run's, not a preview
                    break
                await pilot.pause(0.05)
            for _ in range(10):
                if isinstance(app.screen, ErrorsScreen):
                    break
                app.action_jump_day()
                await pilot.pause()
            assert isinstance(app.screen, ErrorsScreen) and app.driver is None
            return "\n".join(str(s.render()) for s in app.screen.query(Static))

    shown = asyncio.run(go())
    assert "policies.templates.order_updates.email.body" in shown and "at run time" in shown
