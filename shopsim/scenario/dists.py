"""Probability distributions as scenario files write them, and their compiled samplers.

`{dist: lognormal, median: 12, sigma: 0.9}`; a bare value means a fixed one. Duration distributions write
their values as durations (`median: 45s`) and sample integer milliseconds.
"""

from __future__ import annotations

import math
from functools import lru_cache
from statistics import NormalDist
from typing import Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shopsim.contract.units import MAX_DURATION_MS, parse_duration, shown

Sampler = Callable[[Any], float]
_N = 4096
# A lognormal's top table entry is its median times e^(3.7 sigma): 1.2e8 times the median at sigma 5, the widest
# spread any real quantity here has, and far from overflowing e^x.
MAX_SIGMA = 5.0
MAX_NUMBER = 1e12  # the largest number a number dist takes or draws
_STD_NORMAL = NormalDist()


@lru_cache(maxsize=1)
def _std_normal_table() -> tuple[float, ...]:
    """The standard normal's quantiles at the midpoints of _N equal steps: every normal table's shape."""
    inv = _STD_NORMAL.inv_cdf
    return tuple(inv((i + 0.5) / _N) for i in range(_N))


def _interpolating(table: list[float]) -> Sampler:
    top = len(table) - 1

    def sample(rng) -> float:
        x = rng.random() * top
        i = int(x)
        a = table[i]
        return a + (table[i + 1] - a) * (x - i)

    sample.table = table  # type: ignore[attr-defined]
    return sample

_NEEDS = {
    "fixed": ("value",),
    "uniform": ("low", "high"),
    "exponential": ("mean",),
    "lognormal": ("median", "sigma"),
    "normal": ("mean", "sd"),
}


class _DistBase(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    dist: Literal["fixed", "uniform", "exponential", "lognormal", "normal"] = Field(
        description="fixed (value), uniform (low, high), exponential (mean), lognormal (median, sigma), normal (mean, sd)"
    )
    sigma: float | None = Field(None, gt=0, le=MAX_SIGMA,
                                description="lognormal: spread of log values (0.3 narrow, 1.0 wide; at most 5)")
    sd: Any = Field(None, description="normal: standard deviation")
    value: Any = None
    low: Any = None
    high: Any = None
    mean: Any = None
    median: Any = None
    min: Any = Field(None, description="optional lower clamp")
    max: Any = Field(None, description="optional upper clamp")

    @model_validator(mode="before")
    @classmethod
    def _bare_value(cls, data: Any) -> Any:
        if isinstance(data, (int, float, str)) and not isinstance(data, bool):
            return {"dist": "fixed", "value": data}
        return data

    @model_validator(mode="after")
    def _complete(self):
        missing = [f for f in _NEEDS[self.dist] if getattr(self, f) is None]
        if missing:
            raise ValueError(f"{self.dist} distribution needs {', '.join(missing)}")
        extra = [f for f in ("value", "low", "high", "mean", "median", "sigma", "sd")
                 if getattr(self, f) is not None and f not in _NEEDS[self.dist]]
        if extra:
            raise ValueError(f"{self.dist} distribution does not take {', '.join(extra)} (it takes {', '.join(_NEEDS[self.dist])})")
        n = self.num
        for name in ("value", "low", "high", "min", "max"):
            n(name)  # raises for a wrong kind of value (a number without a unit in a duration, text in a number)
        if self.dist == "uniform" and n("low") > n("high"):
            raise ValueError("uniform distribution needs low <= high")
        for name in ("median", "mean", "sd"):
            v = n(name)
            if v is not None and v <= 0:
                raise ValueError(f"{name} must be positive")
        if self.min is not None and self.max is not None and n("min") > n("max"):
            raise ValueError("min must not exceed max")
        return self

    def num(self, name: str) -> float | None:
        """A parameter as a number (durations in milliseconds); None when unset."""
        v = getattr(self, name)
        return None if v is None else self._convert(v, name)

    def _convert(self, v: Any, name: str) -> float:
        raise NotImplementedError

    def _quantile_fn(self, scale: float) -> Callable[[float], float]:
        # Parameters are parsed once here, not once per table entry.
        d, n = self.dist, self.num
        if d == "fixed":
            v = n("value") * scale
            return lambda u: v  # noqa: E731
        if d == "uniform":
            lo, hi = n("low"), n("high")
            return lambda u: (lo + (hi - lo) * u) * scale  # noqa: E731
        if d == "exponential":
            mean = n("mean") * scale
            return lambda u: -mean * math.log(1.0 - u)  # noqa: E731
        inv = _STD_NORMAL.inv_cdf
        if d == "lognormal":
            median, sigma = n("median") * scale, self.sigma
            return lambda u: median * math.exp(sigma * inv(u))  # noqa: E731
        mean, sd = n("mean"), n("sd")
        return lambda u: max(0.0, (mean + sd * inv(u)) * scale)  # noqa: E731

    def highest(self, scale: float = 1.0) -> float:
        """The largest value sampler(scale) can draw (its top table entry, after the clamps)."""
        lo, hi = self.num("min"), self.num("max")
        q = self._quantile_fn(scale)(0.5 if self.dist == "fixed" else (_N - 0.5) / _N)
        q = q if lo is None else max(lo, q)
        return min(q, self._ceiling(), math.inf if hi is None else hi)

    def average(self, scale: float = 1.0, points: int = 256) -> float:
        """About the mean of sampler(scale)'s draws, from a coarser table (for estimates, not for runs)."""
        lo, hi = self.num("min"), self.num("max")
        lo = -math.inf if lo is None else lo
        hi = min(self._ceiling(), math.inf if hi is None else hi)
        q = self._quantile_fn(scale)
        if self.dist == "fixed":
            return min(hi, max(lo, q(0.5)))
        return sum(min(hi, max(lo, q((i + 0.5) / points))) for i in range(points)) / points

    def _ceiling(self) -> float:
        return math.inf

    def sampler(self, scale: float = 1.0) -> Sampler:
        """A function rng -> value; `scale` multiplies the result (used for segment traits).

        Sampling inverts a tabulated CDF: one `rng.random()` and a linear interpolation, several times
        faster than `lognormvariate` on the engine's hot path. The tails are cut at the 0.01% quantiles.
        """
        lo, hi = self.num("min"), self.num("max")
        lo = -math.inf if lo is None else lo
        hi = min(self._ceiling(), math.inf if hi is None else hi)
        q = self._quantile_fn(scale)
        if self.dist == "fixed":
            v = min(hi, max(lo, q(0.5)))
            return lambda rng: v  # noqa: E731
        if self.dist in ("lognormal", "normal"):
            # The same quantiles as q(u), from the standard normal's table worked out once per process
            # (inv_cdf is pure Python: 4096 calls per sampler were most of compiling a scenario).
            d, n = self.dist, self.num
            if d == "lognormal":
                median, sigma, exp = n("median") * scale, self.sigma, math.exp
                table = [min(hi, max(lo, median * exp(sigma * z))) for z in _std_normal_table()]
            else:
                mean, sd = n("mean"), n("sd")
                table = [min(hi, max(lo, max(0.0, (mean + sd * z) * scale))) for z in _std_normal_table()]
        else:
            table = [min(hi, max(lo, q((i + 0.5) / _N))) for i in range(_N)]
        return _interpolating(table)


class NumberDist(_DistBase):
    """A distribution of plain numbers (prices, counts)."""

    def _convert(self, v: Any, name: str) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValueError(f"{name} must be a number, got {shown(v)}")
        if not math.isfinite(v) or abs(v) > MAX_NUMBER:
            raise ValueError(f"{name} must be a finite number no larger than 1e12, got {shown(v)}")
        return float(v)

    def _ceiling(self) -> float:
        return MAX_NUMBER


class DurationDist(_DistBase):
    """A distribution of durations; values are written like 45s, 90m, 4h, 7d and sampled in milliseconds."""

    def _convert(self, v: Any, name: str) -> float:
        if isinstance(v, bool) or isinstance(v, (int, float)):
            ex = v if abs(v) < 1e6 else 90
            raise ValueError(f"{name} must be a duration with a unit, e.g. {ex}s or {ex}m, got {shown(v)}")
        return float(parse_duration(v))

    def _ceiling(self) -> float:
        # Longer draws are cut to the longest duration: they fall after the end of any run all the same.
        return float(MAX_DURATION_MS)

    def sampler_ms(self, scale: float = 1.0) -> Callable[[Any], int]:
        """Like sampler(), in whole milliseconds, at least 1 (one closure: this is on the hot path)."""
        f = self.sampler(scale)
        table = getattr(f, "table", None)
        if table is None:
            v = max(1, int(f(None)))
            return lambda rng: v  # noqa: E731
        top = len(table) - 1

        def sample(rng) -> int:
            x = rng.random() * top
            i = int(x)
            a = table[i]
            return int(a + (table[i + 1] - a) * (x - i)) or 1

        return sample
