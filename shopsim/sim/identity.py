"""Shopper identities from Faker, fast enough for large populations.

Faker makes about 5k whole identities a second. Instead, one seeded Faker per locale fills pools of
first names, last names, cities, email domains and phone formats once; each shopper then draws from the
pools with its own identity stream. Pools depend only on (seed, locale), so adding shoppers or changing
the population size never changes existing shoppers.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from faker import Faker

from shopsim.sim.rng import stream_seed

POOL = 300


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


@lru_cache(maxsize=64)
def pools(seed: int, locale: str) -> Pools:
    fake = Faker(locale)
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
