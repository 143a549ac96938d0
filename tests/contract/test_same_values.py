"""The contract's shortcuts give exactly what the plain calls give: a stream is the generator
random.Random(stream_seed(...)) makes, amount() is round(cents / 100, 2), local_label() is the strftime
label, and a coupon code is six rng.choice() draws. Every golden log rests on these being equal."""

from __future__ import annotations

import random
from datetime import timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings, strategies as st

from shopsim.contract.clock import _EPOCH, local_label
from shopsim.contract.money import amount
from shopsim.contract.rng import stream, stream_seed
from shopsim.marketing.coupons import _ALPHABET

ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe",
         "Pacific/Chatham", "America/St_Johns")


@given(st.integers(0, 2**63), st.text(max_size=20), st.text(max_size=20))
def test_a_stream_is_the_generator_random_random_makes(seed, entity, name):
    fast, plain = stream(seed, entity, name), random.Random(stream_seed(seed, entity, name))
    assert fast.getstate() == plain.getstate()
    assert [fast.random(), fast.gauss(0.0, 1.0), fast.expovariate(2.0), fast.getrandbits(7)] == \
           [plain.random(), plain.gauss(0.0, 1.0), plain.expovariate(2.0), plain.getrandbits(7)]


@given(st.one_of(st.integers(-10**15 + 1, 10**15 - 1), st.integers(-2**80, 2**80),
                 st.floats(-1e12, 1e12, allow_nan=False)))
def test_amount_is_rounded_to_the_cent(cents):
    got, want = amount(cents), round(cents / 100, 2)
    assert got == want and type(got) is type(want)


@settings(max_examples=300)
@given(st.integers(-10**12, 5 * 10**12), st.sampled_from(ZONES))
def test_local_label_is_the_strftime_label(epoch, tz):
    local = (_EPOCH + timedelta(milliseconds=epoch)).astimezone(ZoneInfo(tz))
    assert local_label(epoch, tz) == f"{local:%a} {local.day} {local:%b}, {local:%H:%M}"


@given(st.integers(0, 2**63))
def test_a_coupon_code_is_six_choices(seed):
    from shopsim.marketing.coupons import Coupons

    class Kernel:
        now = 0

        def register(self, handler):
            return 0

        def emit(self, *args):
            pass

        def schedule(self, *args):
            pass

    class Scenario:
        start_epoch = 0

    class Shopper:
        id, index, coupon_n, coupons = "s000001", 0, 0, None

    class Incentive:
        type, value, min_order, prefix, valid, auto_apply = "percent", 10, 0.0, "BACK", "2d", False

    cs = Scenario()
    cs.seed = seed
    code = Coupons(Kernel(), cs).issue(Shopper(), Incentive(), "test").code
    rng = stream(seed, "s000001-k1", "coupon")
    assert code == "BACK-" + "".join(rng.choice(_ALPHABET) for _ in range(6))


@given(st.integers(min_value=0, max_value=4_102_444_799_999))  # to the end of 2099
def test_iso_is_the_instant_formatted_to_the_millisecond(epoch):
    from datetime import datetime, timezone

    from shopsim.contract.clock import iso

    d = datetime.fromtimestamp(epoch // 1000, timezone.utc)
    assert iso(epoch) == d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch % 1000:03d}Z"
