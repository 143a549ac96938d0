"""Shopper identities from Faker, fast enough for large populations.

Faker makes about 5k whole identities a second. Instead, one seeded Faker per locale fills pools of
first names, last names, cities, email domains and phone formats once; each shopper then draws from the
pools with its own identity stream. Pools depend only on (seed, locale), so adding shoppers or changing
the population size never changes existing shoppers.

Pools must not depend on `PYTHONHASHSEED` either. A few Faker data lists are built from a set, so their
order, and so every draw from them, changes from one process to the next; `_ordered` sorts a copy of each
such list (and of any set or frozenset a provider keeps) on the pool's own Faker instance before drawing.
Lists that already have a fixed order are left alone, so their pools stay as they were.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

from shopsim.contract.rng import stream_seed

if TYPE_CHECKING:
    from faker import Faker
    from faker.generator import Generator

POOL = 300

# (module of the provider class that defines it, attribute): Faker data lists built from a set, whose order
# depends on the hash seed. Found by comparing every provider attribute of every Faker locale across
# PYTHONHASHSEED values (Faker 40: it_IT's cities, `list({c[0] for ...})`); tests/scenario/test_locales.py compares
# every accepted locale's pools across hash seeds, so a new one shows up there.
_BUILT_FROM_SETS = frozenset({("faker.providers.address.it_IT", "cities")})


@dataclass(frozen=True, slots=True)
class Pools:
    """What Faker made for one (seed, locale), and what each shopper's draw reads of it, worked out once: the
    ascii-folded names the email is made of, and each phone format split into its kept prefix and a %-format
    of the rest with a slot per digit."""

    first: tuple[str, ...]
    last: tuple[str, ...]
    cities: tuple[str, ...]
    domains: tuple[str, ...]
    users: tuple[str, ...]
    phones: tuple[str, ...]
    first_ascii: tuple[str, ...] = field(init=False, repr=False, compare=False)
    last_ascii: tuple[str, ...] = field(init=False, repr=False, compare=False)
    phone_parts: tuple[tuple[str, str, int], ...] = field(init=False, repr=False, compare=False)
    first_dot: tuple[str, ...] = field(init=False, repr=False, compare=False)  # first_ascii + "."
    # (size, bit length) of first, last, users, domains, phones and cities: what each draw needs, in one tuple
    bounds: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: derived fields are set once, here
        set_(self, "first_ascii", tuple(map(_ascii, self.first)))
        set_(self, "last_ascii", tuple(map(_ascii, self.last)))
        set_(self, "phone_parts", tuple(map(_phone_parts, self.phones)))
        set_(self, "first_dot", tuple(a + "." for a in self.first_ascii))
        pools_ = (self.first, self.last, self.users, self.domains, self.phones, self.cities)
        set_(self, "bounds", tuple(x for pool in pools_ for x in (len(pool), len(pool).bit_length())))


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _phone_parts(template: str) -> tuple[str, str, int]:
    """A phone format as (the prefix kept, a %-format of the rest with %s where a digit is drawn, how many).

    The locale's format and prefix stay; every digit after the first third is drawn, whatever its script
    (bn_BD's formats are written in Bengali digits: `str.isdigit` holds for them, so they become 0-9)."""
    keep = len(template) // 3
    tail = "".join("%s" if ch.isdigit() else "%%" if ch == "%" else ch for ch in template[keep:])
    return template[:keep], tail, sum(ch.isdigit() for ch in template[keep:])


def _sorted(values) -> list:
    try:
        return sorted(values)
    except TypeError:  # items of mixed types
        return sorted(values, key=repr)


def _ordered(fake: Faker | Generator) -> None:
    """Give this Faker instance's providers sorted copies of the unordered collections they draw from."""
    for provider in fake.providers:
        cls = type(provider)
        seen: set[str] = set()
        for k in (provider, *cls.__mro__):  # the first definition of a name is the one the provider uses
            for name, value in vars(k).items():
                if name in seen:
                    continue
                seen.add(name)
                owner = k if isinstance(k, type) else cls
                if isinstance(value, (set, frozenset)) or (owner.__module__, name) in _BUILT_FROM_SETS:
                    setattr(provider, name, _sorted(value))  # on this instance only: the class is untouched


def _quick_elements(fake: Faker | Generator) -> None:
    """Give this Faker instance's providers a `random_element` that makes Faker's own draw with less work.

    Faker draws one element of a weighted OrderedDict as `random.choices(keys, weights=tuple(values))`, which
    copies and sums every weight on every draw: en_US's weighted names (690 first, 1,000 last) made its pools
    ten times the cost of another locale's. Here the running totals are worked out once per dict, and `choices` given
    them as `cum_weights`, which it would have summed the weights into; a tuple, list or str is drawn from with
    `choice`, as Faker ends up doing. Anything else goes to Faker's own method. Same draws, same values:
    tests/sim/test_identity.py holds every accepted locale's pools to those of a Faker left as it is."""
    from collections import OrderedDict
    from itertools import accumulate

    totals: dict[int, tuple] = {}  # id(dict) -> (the dict, kept so its id stays its own; keys; running totals)
    for provider in fake.providers:
        if not provider.__use_weighting__:  # Faker draws uniformly then: left to it
            continue
        rnd = provider.generator.random  # seeded: seed_instance keeps this object from now on

        def random_element(elements=("a", "b", "c"), _slow=provider.random_element, _rnd=rnd):
            kind = type(elements)
            if kind is tuple or kind is list or kind is str:
                return _rnd.choice(elements)
            if kind is OrderedDict and elements:
                found = totals.get(id(elements))
                if found is None:
                    found = totals[id(elements)] = (elements, tuple(elements), list(accumulate(elements.values())))
                return _rnd.choices(found[1], cum_weights=found[2])[0]
            return _slow(elements)

        provider.random_element = random_element  # on this instance only: the class is untouched


# The Faker providers the pools draw on (a user name may hold a year, from date_time). Faker loads every
# provider of the locale otherwise, three times the cost of these; which ones are there does not change a
# draw, and tests/sim/test_identity.py holds every accepted locale's pools to those of a whole Faker.
_DRAWN_ON = frozenset({"faker.providers.address", "faker.providers.date_time", "faker.providers.internet",
                       "faker.providers.person", "faker.providers.phone_number"})


@lru_cache(maxsize=64)
def pools(seed: int, locale: str) -> Pools:
    return fill_pools(_faker(locale), seed, locale)


def _faker(locale: str) -> Generator:
    """A Faker generator of `locale` holding the providers the pools draw on, made as Faker's `Factory.create`
    makes it, but for how it learns whether a provider has the locale: Factory lists every locale package
    of the provider (about 100 directories) once per provider and locale, which was half the cost of the
    pools of six locales; here the one package is looked up. tests/sim/test_identity.py holds every accepted
    locale's pools to those of a `Faker(locale)`."""
    import locale as pylocale
    from importlib import import_module
    from importlib.util import find_spec

    from faker.config import DEFAULT_LOCALE, PROVIDERS  # imported when a population is first built
    from faker.generator import Generator

    locale = pylocale.normalize(locale.replace("-", "_")).split(".")[0]  # as Factory does: "de" is de_DE
    gen = Generator(locale=locale, use_weighting=True)
    for path in PROVIDERS:
        if path not in _DRAWN_ON:
            continue
        module = import_module(path)
        lang = None
        if getattr(module, "localized", False):
            lang = locale if find_spec(f"{path}.{locale}") else getattr(module, "default_locale", "") or DEFAULT_LOCALE
            module = import_module(f"{path}.{lang}")
        provider = module.Provider(gen)
        provider.__use_weighting__ = True
        provider.__provider__ = path
        provider.__lang__ = lang
        gen.add_provider(provider)
    return gen


def fill_pools(fake: Faker | Generator, seed: int, locale: str) -> Pools:
    """The pools of (seed, locale), drawn from `fake`, a Faker of that locale (it is reseeded and changed)."""
    _ordered(fake)
    fake.seed_instance(stream_seed(seed, locale, "identity-pool"))
    _quick_elements(fake)

    def uniq(fn, n: int) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for _ in range(n * 4):
            seen.setdefault(fn(), None)
            if len(seen) >= n:
                break
        return tuple(seen)

    return Pools(
        first=uniq(fake.first_name, POOL),
        last=uniq(fake.last_name, POOL),
        cities=uniq(fake.city, POOL // 2),
        domains=uniq(fake.free_email_domain, 8),
        users=uniq(fake.user_name, POOL),
        phones=uniq(fake.phone_number, 40),
    )


class Identity(NamedTuple):  # a tuple: a tenth of a frozen dataclass's cost to make, 100k times over
    name: str
    email: str
    phone: str | None
    city: str
    first: str


_DIGITS = "0123456789"


def _digits(bits, n: int) -> tuple[str, ...]:
    """n decimal digits, the same as n calls of `randrange(10)` on the generator whose `getrandbits` is `bits`
    (getrandbits(4), again while it is 10 or more), and the generator left where they would leave it."""
    out = []
    add = out.append
    for _ in range(n):
        d = bits(4)
        while d > 9:
            d = bits(4)
        add(_DIGITS[d])
    return tuple(out)


# "0@" to "99@": the number and at sign of an email, made once rather than formatted per shopper
_AT = tuple(f"{n}@" for n in range(100))


def make_identity(p: Pools, rng: random.Random, has_phone: bool) -> Identity:
    """The shopper's name, email, phone and city from the pools of her locale, drawn from her identity stream.

    The draws are those of `rng.choice` and `rng.randrange` (`random.Random._randbelow`: getrandbits of the
    bound's bit length, again while it is out of range), made on `getrandbits` directly: the same values and
    the same stream afterwards, for a fraction of the calls. In order: first name, last name, a user name when
    the folded names are too short (non-Latin scripts), a number below 100, a domain, the phone's format and
    digits, the city."""
    bits = rng.getrandbits
    nf, kf, nl, kl, nu, ku, nd, kd, nph, kph, nc, kc = p.bounds
    i = bits(kf)
    while i >= nf:
        i = bits(kf)
    j = bits(kl)
    while j >= nl:
        j = bits(kl)
    first = p.first[i]
    local = p.first_dot[i] + p.last_ascii[j]
    if len(local) < 4:  # names in non-Latin scripts fold to nothing
        u = bits(ku)
        while u >= nu:
            u = bits(ku)
        local = p.users[u]
    number = bits(7)  # below 100: 7 bits
    while number >= 100:
        number = bits(7)
    d = bits(kd)
    while d >= nd:
        d = bits(kd)
    email = local + _AT[number] + p.domains[d]
    phone = None
    if has_phone:
        f = bits(kph)
        while f >= nph:
            f = bits(kph)
        head, tail, count = p.phone_parts[f]
        phone = head + tail % _digits(bits, count)
    c = bits(kc)
    while c >= nc:
        c = bits(kc)
    return Identity(f"{first} {p.last[j]}", email, phone, p.cities[c], first)
