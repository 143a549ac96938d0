"""The event log contract of ../shared/DESIGN.md ("Event log contract"), checked line by line."""

from __future__ import annotations

import json
import re
import zoneinfo
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from helpers.runs import parse_log, replay_lines
from helpers.scenarios import tiny_scenario
from shopsim import __version__
from shopsim.contract.taxonomy import CATEGORIES, CHANNELS, FREQUENCIES

T_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
CLOCK_RE = re.compile(r"^\d{2}:\d{2}$")
SHOPPER_RE = re.compile(r"^s\d{6,}$")
ALL_CATEGORIES = {"account_security", "order_updates", "shipping", "customer_service", "cart_reminders",
                  "promotions", "flash_sales", "recommendations", "new_product_alerts"}
SETTINGS_KEYS = {"channels", "categories", "quiet_hours", "marketing_consent", "personalization",
                 "push_os_permission", "sms_opt_in"}
START = datetime(2026, 3, 2, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def log() -> bytes:
    sc = tiny_scenario(size=30, duration="3d", seed=3, events=[
        {"at": "1d", "shopper": "s000002", "settings": {
            "quiet_hours": {"start": "22:00", "end": "08:00"},
            "categories": {"promotions": {"push": False, "frequency": "weekly"}}}},
        {"at": "2d", "shopper": "s000005", "settings": {"marketing_consent": False}},
    ], population={"locales": {"en_US": {"share": 0.4}, "de_DE": {"share": 0.3}, "ja_JP": {"share": 0.3}}},
        orders={"payment": {"failure": 0.3}})
    return replay_lines(sc)


@pytest.fixture(scope="module")
def records(log) -> list[dict]:
    return parse_log(log)


def test_taxonomy_matches_design():
    assert set(CATEGORIES) == ALL_CATEGORIES
    assert set(CHANNELS) == {"email", "push", "sms", "in_app"}


def test_lines_are_canonical_json(log):
    assert log.endswith(b"\n")
    lines = log.split(b"\n")[:-1]
    assert len(lines) > 200
    for i, line in enumerate(lines, start=1):
        obj = json.loads(line.decode("utf-8"))
        assert isinstance(obj, dict), f"line {i} is not an object"
        again = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        assert again == line, f"line {i} is not sorted/compact JSON as the stdlib writes it:\n{line!r}\n{again!r}"


def test_seq_has_no_gaps(records):
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))


def test_every_line_has_the_common_fields(records):
    created: set[str] = set()
    for r in records:
        assert {"seq", "t", "type", "shopper"} <= r.keys(), r
        assert isinstance(r["type"], str) and re.match(r"^[a-z_]+\.[a-z_]+$", r["type"]), r["type"]
        sid = r["shopper"]
        if r["type"] in ("run.started", "run.finished"):
            assert sid is None
        else:
            assert isinstance(sid, str) and SHOPPER_RE.match(sid), r
            if r["type"] == "shopper.created":
                assert sid not in created
                created.add(sid)
            else:
                assert sid in created, f"event about {sid} before its shopper.created: {r}"


def test_time_is_iso_millis_utc_and_never_decreases(records):
    last = None
    end = START + timedelta(days=3)
    for r in records:
        assert T_RE.match(r["t"]), r["t"]
        t = datetime.strptime(r["t"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
        assert START <= t <= end, r
        if last is not None:
            assert t >= last, f"time went back at seq {r['seq']}"
        last = t
    assert records[-1]["t"] == "2026-03-05T00:00:00.000Z"


def test_run_started_first(records):
    first = records[0]
    assert first["type"] == "run.started"
    assert first["scenario"] == "tiny" and first["seed"] == 3 and first["version"] == __version__
    assert first["t"] == "2026-03-02T00:00:00.000Z"
    assert [r["type"] for r in records].count("run.started") == 1


def test_run_finished_last_and_counts_match(records):
    last = records[-1]
    assert last["type"] == "run.finished"
    assert [r["type"] for r in records].count("run.finished") == 1
    counts = Counter(r["type"] for r in records[:-1])
    assert last["counts"] == dict(counts)
    assert last["events"] == len(records)
    assert last["shoppers"] == counts["shopper.created"] == 30


def _check_settings(s: dict) -> None:
    assert SETTINGS_KEYS <= s.keys(), SETTINGS_KEYS - s.keys()
    assert set(s["channels"]) == set(CHANNELS)
    assert all(isinstance(v, bool) for v in s["channels"].values())
    assert set(s["categories"]) == ALL_CATEGORIES
    for cat, prefs in s["categories"].items():
        assert set(prefs) == {"email", "push", "sms", "in_app", "frequency"}, cat
        assert all(isinstance(prefs[ch], bool) for ch in CHANNELS), cat
        assert prefs["frequency"] in FREQUENCIES, cat
    qh = s["quiet_hours"]
    assert qh is None or (set(qh) == {"start", "end"} and all(CLOCK_RE.match(qh[k]) for k in qh))
    for key in ("marketing_consent", "personalization", "push_os_permission", "sms_opt_in"):
        assert isinstance(s[key], bool), key


def test_shopper_created_payload(records):
    created = [r for r in records if r["type"] == "shopper.created"]
    assert [r["shopper"] for r in created] == [f"s{i:06d}" for i in range(1, 31)]
    # All shoppers are created at the start, right after run.started.
    assert [r["type"] for r in records[1:31]] == ["shopper.created"] * 30
    zones = zoneinfo.available_timezones()
    for r in created:
        assert r["tz"] in zones
        assert r["segment"] in ("bargain", "regular")
        assert r["locale"] in ("en_US", "de_DE", "ja_JP")
        _check_settings(r["settings"])
    assert {r["locale"] for r in created} == {"en_US", "de_DE", "ja_JP"}


def test_settings_changed_payload(records):
    changed = [r for r in records if r["type"] == "settings.changed"]
    assert [(r["shopper"], r["t"]) for r in changed] == [
        ("s000002", "2026-03-03T00:00:00.000Z"), ("s000005", "2026-03-04T00:00:00.000Z")]
    for r in changed:
        assert r["source"] in ("scenario", "user", "unsubscribe")
        assert r["source"] == "scenario"
        _check_settings(r["settings"])
    s2 = changed[0]["settings"]
    assert s2["quiet_hours"] == {"start": "22:00", "end": "08:00"}
    assert s2["categories"]["promotions"]["push"] is False
    assert s2["categories"]["promotions"]["frequency"] == "weekly"
    # The rest is unchanged from what the shopper was created with.
    before = next(r for r in records if r["type"] == "shopper.created" and r["shopper"] == "s000002")["settings"]
    assert {k: v for k, v in s2.items() if k not in ("quiet_hours", "categories")} == \
        {k: v for k, v in before.items() if k not in ("quiet_hours", "categories")}
    assert {c: p for c, p in s2["categories"].items() if c != "promotions"} == \
        {c: p for c, p in before["categories"].items() if c != "promotions"}
    assert changed[1]["settings"]["marketing_consent"] is False


def test_commerce_fields(records):
    by_type: dict[str, list[dict]] = {}
    for r in records:
        by_type.setdefault(r["type"], []).append(r)
    for t in ("session.started", "product.viewed", "cart.item_added", "checkout.started", "order.placed"):
        assert by_type.get(t), f"no {t} in the log; the contract scenario should exercise it"
    for r in by_type.get("cart.abandoned", []):
        assert {"cart", "reason", "value"} <= r.keys()
    for r in by_type["order.placed"]:
        assert {"order", "cart", "total", "coupon"} <= r.keys()
    for r in by_type.get("order.shipped", []):
        assert {"carrier", "tracking"} <= r.keys()
