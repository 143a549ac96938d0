"""The notifications and inbox tables, and store.queries, agree with the event log they were written from."""

from __future__ import annotations

import io
import json
import sqlite3
from collections import Counter, defaultdict
from datetime import datetime

import pytest

from shopsim.validate import load_scenario
from shopsim.contract.clock import HOUR
from shopsim.simulation import Simulation
from shopsim.store import queries
from shopsim.store.recorder import Recorder
from shopsim.store.writer import StoreWriter

from helpers.paths import FIXTURES

SCENARIO = FIXTURES / "notifications_small.yaml"
OUTCOMES = {"notification.delivered": "delivered", "notification.digested": "digested",
            "notification.suppressed": "suppressed"}


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """The fixture scenario replayed into a database, with two messages opened along the way (one twice)."""
    path = tmp_path_factory.mktemp("notes") / "run.db"
    sim = Simulation(load_scenario(SCENARIO))
    store = StoreWriter(f"sqlite:///{path}", sim.scenario)
    events, log = [], io.BytesIO()
    sim.subscribe(Recorder(sim.scenario.start_epoch, log, store))
    sim.subscribe(events.extend)
    sim.run_until(30 * HOUR)
    delivered = [e for e in events if e.type == "notification.delivered"]
    # Two the shoppers have not opened themselves (engagement opens some on its own).
    unread = [e.data["id"] for e in delivered if not sim.notify.note(e.data["id"]).message.read]
    first, second = unread[0], unread[-1]
    sim.mark_read(first)
    sim.run_until(40 * HOUR)
    sim.mark_read(second)
    sim.mark_read(first)  # opened again: read_ms keeps the first time
    sim.run()
    store.close("finished", sim.now)
    con = sqlite3.connect(path)
    con.row_factory = sqlite3.Row
    return con, events, path, log.getvalue()


def _by_id(events, type_):
    return {e.data["id"]: e for e in events if e.type == type_}


def test_the_scenario_has_every_kind_of_outcome(stored):
    _, events, _, _ = stored
    counts = Counter(e.type for e in events)
    for t in ("notification.delivered", "notification.digested", "notification.suppressed",
              "notification.deferred", "notification.opened"):
        assert counts[t] > 0, t
    assert any(e.data["category"] == "digest" for e in events if e.type == "notification.delivered")


def test_every_requested_notification_has_one_row_with_its_outcome(stored):
    con, events, _, _ = stored
    requested = _by_id(events, "notification.requested")
    final = {e.data["id"]: e for e in events if e.type in OUTCOMES}
    deferrals = Counter(e.data["id"] for e in events if e.type == "notification.deferred")
    rows = {r["notification"]: r for r in con.execute("select * from notifications")}
    assert rows.keys() == requested.keys()
    assert con.execute("select count(*) from notifications").fetchone()[0] == len(requested)
    for nid, req in requested.items():
        row, end = rows[nid], final.get(nid)
        assert (row["shopper"], row["category"], row["requested_channel"], row["kind"], row["source"], row["ref"],
                row["requested_ms"]) == (
            req.shopper, req.data["category"], req.data["channel"], req.data["kind"], req.data["source"],
            req.data["ref"], req.t)
        assert row["deferrals"] == deferrals[nid]
        if end is None:  # still waiting when the run ended
            assert row["outcome"] == "deferred" and row["deferrals"] >= 1 and row["decided_ms"] is None
            continue
        assert row["outcome"] == OUTCOMES[end.type]
        assert (row["channel"], row["decided_ms"]) == (end.data["channel"], end.t)
        assert (row["reason"], row["rule"]) == (end.data.get("reason"), end.data.get("rule"))
        assert row["digest"] == end.data.get("digest")
        passes = json.loads(row["trace"])
        assert len(passes) == deferrals[nid] + 1
        assert passes[-1] == {"t_ms": end.t, "steps": end.data["trace"]}


def test_deferred_notes_keep_every_pass_of_their_trace(stored):
    con, events, _, _ = stored
    deferred = defaultdict(list)
    for e in events:
        if e.type == "notification.deferred":
            deferred[e.data["id"]].append(e)
    assert deferred
    waiting = delivered_later = 0
    for nid, evs in deferred.items():
        row = con.execute("select * from notifications where notification = ?", (nid,)).fetchone()
        assert row["deferrals"] == len(evs) >= 1
        passes = json.loads(row["trace"])
        assert passes[:len(evs)] == [{"t_ms": e.t, "steps": e.data["trace"]} for e in evs]
        last = evs[-1]
        assert row["until_ms"] == _ms(last.data["until"], con)
        if row["outcome"] == "deferred":
            waiting += 1
            assert (row["reason"], row["rule"]) == (last.data["reason"], last.data["rule"])
        elif row["outcome"] == "delivered":
            delivered_later += 1
            assert row["decided_ms"] >= row["until_ms"]
    assert waiting and delivered_later


def _ms(iso: str, con) -> int:
    """An ISO instant of the log as ms since the run's start."""
    start = con.execute("select start from runs").fetchone()[0]
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return round((parse(iso) - parse(start)).total_seconds() * 1000)


def test_inbox_rows_are_the_delivered_events(stored):
    con, events, _, _ = stored
    requested = _by_id(events, "notification.requested")
    delivered = [e for e in events if e.type == "notification.delivered"]
    rows = {r["notification"]: r for r in con.execute("select * from inbox")}
    assert len(rows) == len(delivered)
    for e in delivered:
        row, d = rows[e.data["id"]], e.data
        assert (row["shopper"], row["t_ms"], row["seq"], row["channel"], row["category"], row["kind"]) == (
            e.shopper, e.t, e.seq, d["channel"], d["category"], requested[d["id"]].data["kind"])
        assert (row["title"], row["body"], row["link"]) == (d["title"], d["body"], d["link"])
        assert (json.loads(row["digest_of"]) if row["digest_of"] else None) == d["digest_of"]


def test_a_digest_row_lists_what_it_carries(stored):
    con, events, _, _ = stored
    digested = Counter(e.data["digest"] for e in events if e.type == "notification.digested")
    rows = con.execute("select notification, digest_of, kind from inbox where category = 'digest'").fetchall()
    assert rows
    for row in rows:
        carried = json.loads(row["digest_of"])
        assert carried and row["kind"] == "digest"
        assert len(carried) <= digested[row["notification"]]
        for item in carried:
            assert tuple(con.execute("select outcome, digest from notifications where notification = ?",
                                     (item,)).fetchone()) == ("digested", row["notification"])


def test_opened_messages_are_read_from_their_first_opening(stored):
    con, events, _, _ = stored
    opened, by_user = {}, set()
    for e in events:
        if e.type == "notification.opened" and e.data["source"] != "proxy":  # a proxy's fetch is not a read
            opened.setdefault(e.data["id"], e.t)
            if e.data["source"] == "user":
                by_user.add(e.data["id"])
    assert len(by_user) == 2 and by_user <= set(opened)  # the two the test opened, and the shoppers' own
    read = dict(con.execute("select notification, read_ms from inbox where read_ms is not null").fetchall())
    assert read == opened


def test_queries_inbox_is_the_shoppers_delivered_events_in_log_order(stored):
    _, events, path, _ = stored
    per_shopper = defaultdict(list)
    for e in events:
        if e.type == "notification.delivered":
            per_shopper[e.shopper].append(e)
    opened = {e.data["id"] for e in events if e.type == "notification.opened" and e.data["source"] != "proxy"}
    busiest = max(per_shopper, key=lambda s: len(per_shopper[s]))
    for shopper in (busiest, *sorted(per_shopper)[:5]):
        msgs = queries.inbox(path, shopper)
        assert [(m["notification"], m["t_ms"], m["title"], m["body"], m["channel"]) for m in msgs] == [
            (e.data["id"], e.t, e.data["title"], e.data["body"], e.data["channel"]) for e in per_shopper[shopper]]
        assert [m["read"] for m in msgs] == [m["notification"] in opened for m in msgs]
        for channel in ("email", "push"):
            assert [m["notification"] for m in queries.inbox(f"sqlite:///{path}", shopper, channel)] == [
                e.data["id"] for e in per_shopper[shopper] if e.data["channel"] == channel]
    digest = next(e for e in events if e.type == "notification.delivered" and e.data["digest_of"])
    (msg,) = [m for m in queries.inbox(path, digest.shopper) if m["notification"] == digest.data["id"]]
    assert msg["digest_of"] == digest.data["digest_of"]
    quiet = next(f"s{i:06d}" for i in range(1, 41) if f"s{i:06d}" not in per_shopper)
    assert queries.inbox(path, quiet) == []


def test_queries_notification_returns_its_row_with_the_trace(stored):
    _, events, path, _ = stored
    for e in events:
        if e.type == "notification.suppressed":
            note = queries.notification(path, e.data["id"])
            assert (note["outcome"], note["reason"], note["rule"]) == ("suppressed", e.data["reason"], e.data["rule"])
            assert note["trace"] == [{"t_ms": e.t, "steps": e.data["trace"]}]
            assert note["run_id"] == 1
            break
    for e in events:
        if e.type == "notification.deferred":
            note = queries.notification(path, e.data["id"])
            if note["outcome"] == "delivered":
                assert note["deferrals"] >= 1 and len(note["trace"]) == note["deferrals"] + 1
                assert note["trace"][0]["steps"][-1]["outcome"] == "deferred"
                template = f"{note['category']}.{note['channel']}"
                assert note["trace"][-1]["steps"][-1] == {"outcome": "pass", "step": "render",
                                                          "params": {"template": template}}
                break
    else:
        pytest.fail("no deferred notification was delivered later")


def test_queries_raise_lookup_error_for_what_is_not_there(stored, tmp_path):
    _, _, path, _ = stored
    with pytest.raises(LookupError, match="no shopper 's999999'"):
        queries.inbox(path, "s999999")
    with pytest.raises(LookupError, match="no notification 's000001-n9999'"):
        queries.notification(path, "s000001-n9999")
    with pytest.raises(LookupError, match="no run 7"):
        queries.inbox(path, "s000001", run_id=7)
    with pytest.raises(ValueError, match="unknown channel"):
        queries.inbox(path, "s000001", "fax")
    missing = tmp_path / "missing.db"
    with pytest.raises(LookupError, match="no database"):
        queries.inbox(missing, "s000001")
    assert not missing.exists()  # looking did not create it
    empty = tmp_path / "empty.db"
    empty.touch()
    with pytest.raises(LookupError, match="empty"):
        queries.notification(empty, "s000001-n1")
    sqlite3.connect(tmp_path / "other.db").execute("create table t (x)")
    with pytest.raises(LookupError, match="not a shopsim database"):
        queries.inbox(tmp_path / "other.db", "s000001")
    for bad in (empty, tmp_path / "other.db", missing):
        with pytest.raises(LookupError) as err:
            queries.notification(bad, "s000001-n1")
        assert "\n" not in str(err.value)


def test_a_database_rebuilt_from_the_log_file_is_the_same(stored, tmp_path):
    con, _, _, log = stored
    store = StoreWriter(f"sqlite:///{tmp_path}/rebuilt.db", Simulation(load_scenario(SCENARIO)).scenario)
    lines = log.splitlines(keepends=True)
    for i in range(0, len(lines), 97):  # chunks that split notifications from their outcomes
        store.write(b"".join(lines[i:i + 97]))  # no meta: parsed from the lines
    store.close("finished", 0)
    other = sqlite3.connect(tmp_path / "rebuilt.db")
    for table in ("notifications", "inbox"):
        q = f"select * from {table} order by notification"
        assert other.execute(q).fetchall() == [tuple(r) for r in con.execute(q)]
