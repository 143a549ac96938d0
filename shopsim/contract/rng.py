"""Random streams: one `random.Random` per (root seed, entity, stream).

Separate streams keep comparisons fair (a policy change does not change how shoppers browse) and keep
shoppers independent (adding shopper 101 does not change shoppers 1-100). The core never touches the
global `random` module.
"""

from __future__ import annotations

import random
from hashlib import blake2b


def stream_seed(seed: int, entity: str, stream: str) -> int:
    digest = blake2b(f"{seed}|{entity}|{stream}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


_new = random.Random.__new__
_seed = random.Random.__mro__[1].seed  # the C seeding that random.Random.seed(int) ends in, without its wrapper


def stream(seed: int, entity: str, stream_name: str) -> random.Random:
    # The same generator as random.Random(stream_seed(...)), made without random.py's two Python-level calls:
    # streams are made per visit and per message, so this is on the hot path.
    rng = _new(random.Random)
    _seed(rng, int.from_bytes(blake2b(f"{seed}|{entity}|{stream_name}".encode(), digest_size=8).digest(), "big"))
    rng.gauss_next = None
    return rng


def cumulative(weights) -> list[float]:
    """Running totals for `bisect`-based weighted choice (faster than random.choices per draw)."""
    out, acc = [], 0.0
    for w in weights:
        acc += w
        out.append(acc)
    return out
