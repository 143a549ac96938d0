"""Every locale `validate` accepts makes shoppers, and the same ones in every process (issue 12, section A).

Faker builds a few data lists from sets (it_IT's cities), so a pool drawn from one depended on
PYTHONHASHSEED; and a few locales (en_PH, fil_PH, tl_PH) passed validation, then the replay died because
their provider has no phone numbers. One child process per hash seed plays one shopper of every Faker
locale that validation accepts and prints a digest of its identity pools and of its log.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
import yaml

from shopsim.scenario.locales import UNSUPPORTED_LOCALES
from shopsim.validate import load_scenario_text
from shopsim.scenario.problems import ScenarioError
from shopsim.sim import identity
from shopsim.sim.identity import pools

from helpers.paths import ROOT, TESTS

HERE = Path(__file__).parent
HASH_SEEDS = ("1", "2", "3")


def one_shopper(locale: str, zone: str | None = None) -> str:
    """YAML of one shopper of `locale` who has a phone and an email, played for a day."""
    entry: dict = {"share": 1.0}
    if zone:
        entry["time_zones"] = {zone: 1.0}
    return yaml.safe_dump({
        "schema_version": 1,
        "run": {"name": "one", "seed": 3, "duration": "1d"},
        "population": {"size": 1, "locales": {locale: entry}, "reach": {"phone": 1.0, "email_verified": 1.0}},
        "catalogue": {"products": 5, "stores": 1},
    })


def survey() -> dict[str, dict]:
    """For every Faker locale: the problems `validate` reports for a one-shopper scenario of it or, when it
    is accepted, digests of its identity pools and of a one-shopper replay, and that shopper's identity.

    Compiling a scenario costs more than playing it, so the scenario is compiled once with every accepted
    locale, and each replay gets a copy whose only locale is the one played."""
    import dataclasses
    import warnings

    from faker.config import AVAILABLE_LOCALES

    from shopsim.scenario.compiled import compile_scenario
    from shopsim.scenario.schema import Scenario
    from shopsim.scenario.zones import default_time_zones
    from shopsim.simulation import Simulation
    from shopsim.store.recorder import Recorder

    warnings.simplefilter("ignore")  # fr_QC warns that it is deprecated (a child process: nothing to restore)
    out: dict[str, dict] = {}
    entries: dict[str, dict] = {}
    for loc in AVAILABLE_LOCALES:
        try:
            default_time_zones(loc)
            zone = None
        except LookupError:  # a locale without a country must list its zones; any zone will do
            zone = "Europe/London"
        try:
            load_scenario_text(one_shopper(loc, zone))
        except ScenarioError as e:
            out[loc] = {"rejected": [p.message for p in e.problems]}
            continue
        entries[loc] = {"time_zones": {zone: 1.0}} if zone else {}
    data = yaml.safe_load(one_shopper("en_US"))
    data["population"]["locales"] = {loc: dict(e, share=1 / len(entries)) for loc, e in entries.items()}
    base = compile_scenario(Scenario.model_validate(data))
    for loc in entries:
        sim = Simulation(dataclasses.replace(base, locales=(loc,), locale_cum=[1.0], zones={loc: base.zones[loc]}))
        buf = io.BytesIO()
        sim.subscribe(Recorder(base.start_epoch, buf))
        sim.run()
        log = buf.getvalue()
        created = orjson.loads(log.splitlines()[1])
        out[loc] = {"pools": hashlib.sha256(repr(pools(base.seed, loc)).encode()).hexdigest(),
                    "log": hashlib.sha256(log).hexdigest(),
                    "shopper": {k: created[k] for k in ("type", "locale", "name", "email", "phone", "city")}}
    return out


_CHILD = """
import sys
sys.path[:0] = [{here!r}, {tests!r}]  # this module, and the helpers it imports
import orjson
from test_locales import survey
sys.stdout.write(orjson.dumps(survey(), option=orjson.OPT_SORT_KEYS).decode())
"""


@pytest.fixture(scope="module")
def per_hash_seed() -> dict[str, dict]:
    """Each child's answer for every Faker locale, by PYTHONHASHSEED. The children run side by side."""
    code = _CHILD.format(here=str(HERE), tests=str(TESTS))
    children = {}
    for seed in HASH_SEEDS:
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(ROOT))
        children[seed] = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True)
    out = {}
    for seed, child in children.items():
        stdout, stderr = child.communicate(timeout=300)
        assert child.returncode == 0, f"PYTHONHASHSEED={seed}:\n{stderr}"
        out[seed] = orjson.loads(stdout)
    return out


def test_every_accepted_locale_plays_one_shopper(per_hash_seed):
    from faker.config import AVAILABLE_LOCALES

    answers = per_hash_seed[HASH_SEEDS[0]]
    assert sorted(answers) == sorted(AVAILABLE_LOCALES)
    rejected = {loc for loc, a in answers.items() if "rejected" in a}
    # Validation turns away exactly the locales that cannot make a shopper, and nothing else.
    assert rejected == set(UNSUPPORTED_LOCALES)
    for loc in rejected:
        assert answers[loc]["rejected"] == [f"locale {loc!r} cannot make shoppers: {UNSUPPORTED_LOCALES[loc]}"]
    accepted = sorted(set(answers) - rejected)
    assert len(accepted) >= 100
    for loc in accepted:
        shopper = answers[loc]["shopper"]
        assert shopper["type"] == "shopper.created" and shopper["locale"] == loc, (loc, shopper)
        assert all(shopper[k] for k in ("name", "email", "phone", "city")), (loc, shopper)


def test_every_accepted_locale_is_the_same_under_every_hash_seed(per_hash_seed):
    first = per_hash_seed[HASH_SEEDS[0]]
    for seed in HASH_SEEDS[1:]:
        other = per_hash_seed[seed]
        differ = sorted(loc for loc in first if first[loc] != other[loc])
        assert not differ, f"PYTHONHASHSEED={HASH_SEEDS[0]} and {seed} give other pools or logs for {differ}"


@pytest.mark.parametrize("locale", sorted(UNSUPPORTED_LOCALES))
def test_rejected_locales_really_cannot_make_a_shopper(locale):
    """The table in checks.py is not stale: drop a locale from it once Faker can make its shoppers."""
    with pytest.raises(AttributeError, match="phone_number"):
        pools(1, locale)


def test_rejected_locale_is_reported_where_it_is_written():
    text = one_shopper("en_PH")
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text)
    (p,) = info.value.problems
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "en_PH" in row)
    assert (p.file, p.line, p.path) == ("<string>", line, "population.locales.en_PH")
    assert str(p) == (f"<string>:{line}:{p.col}: population.locales.en_PH: locale 'en_PH' cannot make shoppers: "
                      "Faker's en_PH has no phone numbers; for shoppers in the Philippines use locale en with "
                      "time_zones: {Asia/Manila: 1}")


def test_the_suggested_replacement_works():
    scenario = load_scenario_text(one_shopper("en", "Asia/Manila"))
    from helpers.runs import replay_lines

    created = orjson.loads(replay_lines(scenario).splitlines()[1])
    assert created["tz"] == "Asia/Manila" and created["phone"]


def test_a_misspelt_locale_is_never_pointed_at_a_rejected_one():
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(one_shopper("en_PHH"))
    (p,) = info.value.problems
    assert p.message.startswith("unknown locale 'en_PHH'") and "en_PH'" not in p.message


def test_unordered_faker_data_is_sorted_on_the_instance_only():
    """A provider list built from a set (it_IT's cities) and any set a provider keeps are drawn from in
    sorted order; the provider class, and lists that already have an order, are left as they are."""
    from faker import Faker
    from faker.providers.address.it_IT import Provider as ItalianAddresses

    class WithASet(ItalianAddresses):
        towns = {"b", "a", "c"}

    fake = Faker("it_IT")
    provider = WithASet(fake)
    fake.add_provider(provider)
    before = list(ItalianAddresses.cities)
    identity._ordered(fake)
    assert provider.cities == sorted(before) and provider.towns == ["a", "b", "c"]
    assert ItalianAddresses.cities == before and WithASet.towns == {"a", "b", "c"}
    assert provider.street_suffixes is ItalianAddresses.street_suffixes  # a tuple in a fixed order: untouched
