"""A shopper's identity is drawn on `getrandbits` directly, for speed; it must stay exactly what the plain
`rng.choice` and `rng.randrange` draws give (the golden logs hold every shopper's name, email and phone), and
leave her identity stream where they leave it (her consent and favourites are drawn from it next)."""

from __future__ import annotations

import random

import pytest

from shopsim.sim.identity import _digits, _phone_parts, make_identity, pools

# Latin names; names that fold to nothing (a user name is drawn instead); Bengali digits in phone formats; a
# list Faker builds from a set (it_IT's cities); Cyrillic, Greek, Arabic.
LOCALES = ("en_US", "de_DE", "fr_FR", "pt_BR", "ja_JP", "zh_CN", "bn_BD", "it_IT", "ru_RU", "el_GR", "ar_SA")


def reference_identity(p, rng: random.Random, has_phone: bool) -> tuple:
    """The draws as written with the random module's own calls."""
    first, last = rng.choice(p.first), rng.choice(p.last)
    local = f"{fold(first)}.{fold(last)}"
    if len(local) < 4:
        local = rng.choice(p.users)
    email = f"{local}{rng.randrange(100)}@{rng.choice(p.domains)}"
    phone = None
    if has_phone:
        template = rng.choice(p.phones)
        keep = len(template) // 3
        phone = template[:keep] + "".join(str(rng.randrange(10)) if ch.isdigit() else ch for ch in template[keep:])
    return f"{first} {last}", email, phone, rng.choice(p.cities), first


def fold(text: str) -> str:
    import unicodedata

    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


@pytest.mark.parametrize("locale", LOCALES)
def test_identity_is_the_reference_draw_and_leaves_the_stream_where_it_would(locale):
    p = pools(11, locale)
    for i in range(400):
        has_phone = i % 3 != 0
        fast, slow = random.Random(i), random.Random(i)
        assert tuple(make_identity(p, fast, has_phone)) == reference_identity(p, slow, has_phone), (locale, i)
        assert fast.getstate() == slow.getstate(), (locale, i)


def test_names_that_fold_to_nothing_take_a_user_name():
    p = pools(11, "ja_JP")
    local = make_identity(p, random.Random(1), False).email.split("@")[0]
    assert any(local.startswith(u) and local[len(u):].isdigit() and int(local[len(u):]) < 100 for u in p.users)


def test_phone_digits_are_randrange_draws():
    for seed in range(200):
        n = seed % 14
        fast, slow = random.Random(seed), random.Random(seed)
        assert _digits(fast.getrandbits, n) == tuple(str(slow.randrange(10)) for _ in range(n))
        assert fast.getstate() == slow.getstate()


def test_phone_format_keeps_its_prefix_and_any_percent_sign():
    head, tail, count = _phone_parts("+44 20 %7946 0958")
    assert (head, count) == ("+44 2", 9)
    assert head + tail % tuple("012345678") == "+44 20 %1234 5678"
    bengali = "০১৭১১-৫৫৫৫৫৫"  # Bengali digits: drawn like any other digit
    head, tail, count = _phone_parts(bengali)
    assert (head, count) == (bengali[:4], 7)
    assert head + tail % tuple("1234567") == bengali[:4] + "1-234567"


def test_pools_are_those_of_a_faker_with_every_provider(monkeypatch):
    """Pools come from a Faker holding only the providers they draw on, whose `random_element` is sped up
    (`_quick_elements`): every locale that makes shoppers gets the same pools as from a Faker with all of
    them, left as Faker makes it (a provider added to Faker, a format that starts using another provider, or
    a change in how Faker draws an element shows up here)."""
    import warnings

    from faker import Faker
    from faker.config import AVAILABLE_LOCALES

    from shopsim.scenario.locales import UNSUPPORTED_LOCALES
    from shopsim.sim import identity
    from shopsim.sim.identity import fill_pools

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fr_QC says it is deprecated
        for locale in sorted(set(AVAILABLE_LOCALES) - set(UNSUPPORTED_LOCALES)):
            fast = identity.pools.__wrapped__(5, locale)  # not the cache: made here, with the quick draws
            with monkeypatch.context() as m:
                m.setattr(identity, "_quick_elements", lambda fake: None)
                assert fast == fill_pools(Faker(locale), 5, locale), locale


def test_quick_elements_draw_what_faker_draws():
    """The sped-up `random_element` gives Faker's own draw, and leaves the generator where Faker leaves it, for
    each kind of collection it handles and one it leaves to Faker."""
    from collections import OrderedDict

    from faker import Faker

    from shopsim.sim.identity import _quick_elements

    weighted = OrderedDict((f"n{i}", (i % 7) + 0.5) for i in range(50))
    ints = OrderedDict((f"k{i}", i % 3 + 1) for i in range(9))
    cases = (weighted, ints, ("a", "b", "c"), ["x", "y"], "digits", frozenset({"s"}))
    for seed in range(30):
        quick, plain = Faker("en_US"), Faker("en_US")
        quick.seed_instance(seed)
        plain.seed_instance(seed)
        _quick_elements(quick)
        qp = next(p for p in quick.providers if type(p).__name__ == "Provider" and hasattr(p, "first_names"))
        pp = next(p for p in plain.providers if type(p).__name__ == "Provider" and hasattr(p, "first_names"))
        for elements in cases * 3:
            assert qp.random_element(elements) == pp.random_element(elements), (seed, elements)
        assert [quick.first_name() for _ in range(20)] == [plain.first_name() for _ in range(20)]
        assert quick.random.getstate() == plain.random.getstate()


def test_favourites_are_the_sorted_sample_the_random_module_draws():
    from shopsim.sim.population import sorted_sample

    for n in range(1, 30):
        items = tuple(f"c{i:02d}" for i in range(n))
        for k in range(0, min(n, 8) + 1):
            for seed in range(25):
                fast, slow = random.Random(seed), random.Random(seed)
                assert sorted_sample(fast, items, k) == tuple(sorted(slow.sample(items, k))), (n, k, seed)
                assert fast.getstate() == slow.getstate(), (n, k, seed)
