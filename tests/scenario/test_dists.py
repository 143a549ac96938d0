"""Sampler tables: the shared standard-normal table gives exactly the quantiles of the distribution itself."""

from __future__ import annotations

from hypothesis import given, strategies as st

from shopsim.scenario.dists import _N, DurationDist, NumberDist

positive = st.floats(0.01, 1e6, allow_nan=False, allow_infinity=False)


def _direct(d, scale: float) -> list[float]:
    lo, hi = d.num("min"), d.num("max")
    lo = float("-inf") if lo is None else lo
    hi = min(d._ceiling(), float("inf") if hi is None else hi)
    q = d._quantile_fn(scale)
    return [min(hi, max(lo, q((i + 0.5) / _N))) for i in range(_N)]


@given(median=positive, sigma=st.floats(0.05, 5.0), scale=st.floats(0.1, 10.0),
       clamp=st.one_of(st.none(), st.tuples(positive, positive)))
def test_lognormal_tables_are_the_quantiles(median, sigma, scale, clamp):
    spec = {"dist": "lognormal", "median": median, "sigma": sigma}
    if clamp is not None:
        spec["min"], spec["max"] = sorted(clamp)
    d = NumberDist.model_validate(spec)
    assert d.sampler(scale).table == _direct(d, scale)


@given(mean=positive, sd=positive, scale=st.floats(0.1, 10.0))
def test_normal_tables_are_the_quantiles(mean, sd, scale):
    d = NumberDist.model_validate({"dist": "normal", "mean": mean, "sd": sd})
    assert d.sampler(scale).table == _direct(d, scale)


def test_duration_tables_are_the_quantiles():
    d = DurationDist.model_validate({"dist": "lognormal", "median": "2h", "sigma": 1.2, "max": "3d"})
    assert d.sampler(1.5).table == _direct(d, 1.5)
