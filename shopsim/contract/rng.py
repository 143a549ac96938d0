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


def stream(seed: int, entity: str, stream_name: str) -> random.Random:
    return random.Random(stream_seed(seed, entity, stream_name))


def cumulative(weights) -> list[float]:
    """Running totals for `bisect`-based weighted choice (faster than random.choices per draw)."""
    out, acc = [], 0.0
    for w in weights:
        acc += w
        out.append(acc)
    return out
