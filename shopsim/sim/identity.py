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
from dataclasses import dataclass
from functools import lru_cache

from faker import Faker

from shopsim.contract.rng import stream_seed

POOL = 300

# (module of the provider class that defines it, attribute): Faker data lists built from a set, whose order
# depends on the hash seed. Found by comparing every provider attribute of every Faker locale across
# PYTHONHASHSEED values (Faker 40: it_IT's cities, `list({c[0] for ...})`); tests/scenario/test_locales.py compares
# every accepted locale's pools across hash seeds, so a new one shows up there.
_BUILT_FROM_SETS = frozenset({("faker.providers.address.it_IT", "cities")})


@dataclass(frozen=True, slots=True)
class Pools:
    first: tuple[str, ...]
    last: tuple[str, ...]
    cities: tuple[str, ...]
    domains: tuple[str, ...]
    users: tuple[str, ...]
    phones: tuple[str, ...]


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _sorted(values) -> list:
    try:
        return sorted(values)
    except TypeError:  # items of mixed types
        return sorted(values, key=repr)


def _ordered(fake: Faker) -> None:
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


@lru_cache(maxsize=64)
def pools(seed: int, locale: str) -> Pools:
    fake = Faker(locale)
    _ordered(fake)
    fake.seed_instance(stream_seed(seed, locale, "identity-pool"))

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


@dataclass(frozen=True, slots=True)
class Identity:
    name: str
    email: str
    phone: str | None
    city: str
    first: str


def make_identity(p: Pools, rng: random.Random, has_phone: bool) -> Identity:
    first, last = rng.choice(p.first), rng.choice(p.last)
    local = f"{_ascii(first)}.{_ascii(last)}"
    if len(local) < 4:  # names in non-Latin scripts fold to nothing
        local = rng.choice(p.users)
    email = f"{local}{rng.randrange(100)}@{rng.choice(p.domains)}"
    phone = None
    if has_phone:
        # Keep the locale's format and prefix, vary the subscriber digits.
        template = rng.choice(p.phones)
        keep = len(template) // 3
        phone = template[:keep] + "".join(
            str(rng.randrange(10)) if ch.isdigit() else ch for ch in template[keep:]
        )
    return Identity(f"{first} {last}", email, phone, rng.choice(p.cities), first)
