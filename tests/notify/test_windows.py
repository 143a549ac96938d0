"""Quiet hours and send windows in local time, across midnight and DST."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopsim.notify.windows import inside, local_minute, next_outside

NY, BERLIN, SYDNEY, KOLKATA = (ZoneInfo(z) for z in ("America/New_York", "Europe/Berlin", "Australia/Sydney",
                                                     "Asia/Kolkata"))
QUIET = (22 * 60, 8 * 60)


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).astimezone(timezone.utc).timestamp() * 1000)


def utc(epoch: int) -> str:
    return datetime.fromtimestamp(epoch / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@pytest.mark.parametrize("minute, start, end, expected", [
    (23 * 60, 22 * 60, 8 * 60, True), (7 * 60 + 59, 22 * 60, 8 * 60, True), (8 * 60, 22 * 60, 8 * 60, False),
    (12 * 60, 22 * 60, 8 * 60, False), (13 * 60, 12 * 60, 14 * 60, True), (14 * 60, 12 * 60, 14 * 60, False),
    (5, 0, 0, False),
])
def test_inside(minute, start, end, expected):
    assert inside(minute, start, end) is expected


def test_outside_the_window_goes_now():
    t = ms("2026-03-04T12:00:00-05:00")
    assert next_outside(NY, t, *QUIET) == t


def test_late_evening_waits_for_tomorrow_morning():
    assert utc(next_outside(BERLIN, ms("2026-03-04T23:15:00+01:00"), *QUIET)) == "2026-03-05T07:00:00.000Z"


def test_early_morning_waits_until_eight_today():
    assert utc(next_outside(KOLKATA, ms("2026-03-04T03:10:00+05:30"), *QUIET)) == "2026-03-04T02:30:00.000Z"


def test_window_not_crossing_midnight():
    lunch = (12 * 60, 13 * 60 + 30)
    assert utc(next_outside(BERLIN, ms("2026-03-04T12:40:00+01:00"), *lunch)) == "2026-03-04T12:30:00.000Z"


def test_spring_forward_in_new_york():
    # 8 March 2026: 02:00 EST becomes 03:00 EDT. Quiet hours ending 08:00 end at 08:00 EDT (12:00 UTC).
    assert utc(next_outside(NY, ms("2026-03-08T01:30:00-05:00"), *QUIET)) == "2026-03-08T12:00:00.000Z"


def test_window_ending_inside_the_missing_hour_opens_when_clocks_jump():
    # 02:30 does not exist on 8 March 2026 in New York: the window opens at 03:00 EDT = 07:00 UTC.
    assert utc(next_outside(NY, ms("2026-03-08T01:00:00-05:00"), 0, 150)) == "2026-03-08T07:00:00.000Z"


def test_fall_back_first_occurrence_of_the_repeated_hour():
    # 1 November 2026: 01:00-02:00 happens twice; a window ending 01:30 ends the first time 01:30 comes.
    assert utc(next_outside(NY, ms("2026-11-01T00:10:00-04:00"), 0, 90)) == "2026-11-01T05:30:00.000Z"


def test_southern_hemisphere_dst_end():
    # Sydney leaves daylight time on 5 April 2026 (03:00 AEDT -> 02:00 AEST).
    assert utc(next_outside(SYDNEY, ms("2026-04-04T23:30:00+11:00"), *QUIET)) == "2026-04-04T22:00:00.000Z"


ZONES = [NY, BERLIN, SYDNEY, KOLKATA, ZoneInfo("America/Sao_Paulo"), ZoneInfo("Asia/Tokyo"),
         ZoneInfo("Australia/Lord_Howe"), ZoneInfo("America/St_Johns")]
HOUR_MS = 3_600_000


def _reached(zone: ZoneInfo, day, minute: int) -> int:
    """The instant the local clock first reaches `minute` on `day`, found without fold or bisection: each
    UTC offset the zone has near that day reads the wall time as an instant; the earliest reading the zone
    agrees with is the first time it shows; when none does (a DST gap), the first minute after it."""
    naive = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=timezone.utc)
    offsets = {datetime.fromtimestamp((naive.timestamp() + h * 3600), zone).utcoffset() for h in range(-48, 49, 6)}
    readings = sorted(naive - o for o in offsets)
    shown = [r for r in readings if r.astimezone(zone).replace(tzinfo=None) == naive.replace(tzinfo=None)]
    if shown:
        return int(shown[0].timestamp() * 1000)
    u = int(readings[0].timestamp() * 1000)
    while datetime.fromtimestamp(u / 1000, zone).replace(tzinfo=None) < naive.replace(tzinfo=None):
        u += 60_000
    return u


def _windows(zone: ZoneInfo, t: int, start: int, end: int) -> list[tuple[int, int]]:
    """The window's occurrences around t, [begin, end) as instants, one per local day, as the docs define
    them: it begins the first time the clock reaches `start` that day and ends the first time it then
    reaches `end` (the next day when the window crosses midnight)."""
    if start == end:
        return []
    day = datetime.fromtimestamp(t / 1000, zone).date()
    out = []
    for k in range(-2, 3):
        d = day + timedelta(days=k)
        out.append((_reached(zone, d, start), _reached(zone, d + timedelta(days=1) if end < start else d, end)))
    return out


def _in(t: int, occurrences) -> bool:
    return any(b <= t < e for b, e in occurrences)


def _check_next_outside(zone: ZoneInfo, t: int, start: int, end: int) -> None:
    out = next_outside(zone, t, start, end)
    occ = _windows(zone, t, start, end)
    # At most a day, or two when both times fall in a gap that day (02:58-02:31 in St John's on 8 March 2026:
    # the window ends at the jump and begins again at once).
    assert t <= out <= t + 50 * HOUR_MS
    assert not _in(out, occ), "the answer is itself inside the window"
    # Nothing earlier qualifies: t and every minute boundary in (t, out) is inside an occurrence.
    assert out == t or _in(t, occ)
    probe = t - t % 60_000 + 60_000
    while probe < out:
        assert _in(probe, occ)
        probe += 60_000
    # Away from clock changes this is the plain wall-clock reading.
    if len({datetime.fromtimestamp((t + h * HOUR_MS) / 1000, zone).utcoffset() for h in (-30, 0, 30)}) == 1:
        assert not inside(local_minute(zone, out), start, end)
        assert out == t or inside(local_minute(zone, t), start, end)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ZONES), st.integers(ms("2026-01-01T00:00:00+00:00"), ms("2027-01-01T00:00:00+00:00")),
       st.integers(0, 1439), st.integers(0, 1439))
def test_next_outside_is_the_earliest_instant_outside(zone, t, start, end):
    _check_next_outside(zone, t, start, end)


# Instants of real 2026 clock changes; the property below concentrates on the hours around them.
TRANSITIONS = [(NY, "2026-03-08T07:00:00+00:00"), (NY, "2026-11-01T06:00:00+00:00"),
               (BERLIN, "2026-03-29T01:00:00+00:00"), (BERLIN, "2026-10-25T01:00:00+00:00"),
               (SYDNEY, "2026-04-04T16:00:00+00:00"), (SYDNEY, "2026-10-03T16:00:00+00:00"),
               (ZoneInfo("Australia/Lord_Howe"), "2026-04-04T15:00:00+00:00"),
               (ZoneInfo("America/St_Johns"), "2026-03-08T05:30:00+00:00"),
               # Clocks that change at midnight: Santiago falls back from 24:00 to 23:00, Havana springs
               # from 00:00 to 01:00.
               (ZoneInfo("America/Santiago"), "2026-04-05T03:00:00+00:00"),
               (ZoneInfo("America/Havana"), "2026-03-08T05:00:00+00:00")]


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(TRANSITIONS), st.integers(-36 * 3_600_000, 36 * 3_600_000), st.integers(0, 1439),
       st.integers(0, 1439))
def test_next_outside_around_clock_changes(transition, offset, start, end):
    zone, instant = transition
    _check_next_outside(zone, ms(instant) + offset, start, end)


def test_next_daily_digest_time():
    from shopsim.notify.windows import next_local_time

    nine = 9 * 60
    assert utc(next_local_time(BERLIN, ms("2026-03-04T08:00:00+01:00"), nine)) == "2026-03-04T08:00:00.000Z"
    assert utc(next_local_time(BERLIN, ms("2026-03-04T09:00:00+01:00"), nine)) == "2026-03-05T08:00:00.000Z"
    # Across the spring change in Berlin (29 March 2026), 09:00 CEST is 07:00 UTC.
    assert utc(next_local_time(BERLIN, ms("2026-03-28T10:00:00+01:00"), nine)) == "2026-03-29T07:00:00.000Z"


def test_next_weekly_digest_time():
    from shopsim.notify.windows import next_local_time

    # Wednesday 4 March 2026 -> Monday 9 March, 09:00 in New York (EDT since 8 March).
    assert utc(next_local_time(NY, ms("2026-03-04T12:00:00-05:00"), 9 * 60, "mon")) == "2026-03-09T13:00:00.000Z"


def test_digest_time_inside_the_missing_hour_goes_out_at_the_jump():
    from shopsim.notify.windows import next_local_time

    # 02:30 does not exist in New York on 8 March 2026: the digest goes at 03:00 EDT (07:00 UTC).
    assert utc(next_local_time(NY, ms("2026-03-08T00:00:00-05:00"), 150)) == "2026-03-08T07:00:00.000Z"
    # 01:30 happens twice on 1 November 2026: the first one (EDT) counts.
    assert utc(next_local_time(NY, ms("2026-11-01T00:00:00-04:00"), 90)) == "2026-11-01T05:30:00.000Z"


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(TRANSITIONS), st.integers(-72 * 3_600_000, 72 * 3_600_000), st.integers(0, 1439),
       st.sampled_from([None, "mon", "sun"]))
def test_next_local_time_is_the_first_time_the_clock_reaches_it(transition, offset, minute, weekday):
    from shopsim.notify.windows import WEEKDAYS, next_local_time

    zone, instant = transition
    t = ms(instant) + offset
    out = next_local_time(zone, t, minute, weekday)
    assert t < out <= t + 8 * 24 * 3_600_000
    local = datetime.fromtimestamp(out / 1000, zone)
    reached = local.hour * 60 + local.minute
    # At `out` the local clock shows the time, or has just jumped past it (a DST gap, maybe across midnight).
    before = datetime.fromtimestamp((out - 1) / 1000, zone)
    assert reached == minute or (reached > minute
                                 and (before.date(), before.hour * 60 + before.minute) < (local.date(), minute))
    if weekday:
        assert WEEKDAYS[local.weekday()] == weekday
