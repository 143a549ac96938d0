"""`shopsim export`: tidy tables from a finished run, the same from its log and its database, in CSV, JSON
Lines and Parquet; rows checked against the log itself."""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from helpers.scenarios import tiny_scenario
from shopsim.cli import main
from shopsim.cli import export as export_mod
from shopsim.store.tables import EXPORT, EXPORT_TABLES
from shopsim.metrics.kpis import Metrics
from shopsim.store.runfile import open_run

RESPONSES = {"notification.opened", "notification.clicked", "notification.dismissed", "notification.unsubscribed",
             "notification.complained"}


def _scenario() -> str:
    """Small, but with everything the tables hold: flows with coupons, ads, an experiment, quiet hours,
    a scripted settings change and a message on every channel."""
    return tiny_scenario(
        size=20, duration="2d", seed=5, as_text=True,
        population={"consent": {"marketing_consent": 1.0, "personalization": 1.0},
                    "settings": {"quiet_hours": {"start": "22:00", "end": "08:00"}}},
        behaviour={"sessions": {"per_day": 2.0}, "add_to_cart": 0.3},
        flows={"recovery": {"trigger": "cart.abandoned", "category": "cart_reminders", "steps": [
            {"after": "1h", "channel": "email"},
            {"after": "5h", "channel": "push",
             "incentive": {"type": "percent", "value": 10, "valid": "48h", "prefix": "CART"}}]}},
        ads={"enabled": True},
        experiments={"reminders": {"metric": "recovery", "control": "holdout", "variants": {
            "holdout": {"weight": 1, "holdout": True}, "on": {"weight": 3, "flows": ["recovery"]}}}},
        events=[{"at": "10h", "shopper": "s000001", "settings": {"categories": {"cart_reminders": {"push": False}}}},
                {"at": "23h", "shopper": "all", "notify": {"category": "promotions",
                                                            "channels": ["push", "email", "sms", "in_app"],
                                                            "title": "Sale", "text": "Ten percent off."}}])


def _invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict:
    d = tmp_path_factory.mktemp("export")
    (d / "s.yaml").write_text(_scenario())
    log, db = d / "s.jsonl", d / "s.db"
    r = _invoke("replay", d / "s.yaml", "--log", log, "--db", db, "-q")
    assert r.exit_code == 0, r.output
    out = {"dir": d, "log": log, "db": db, "records": [json.loads(x) for x in log.read_bytes().splitlines()]}
    for src in ("log", "db"):
        for fmt in ("csv", "jsonl", "parquet"):
            dest = d / f"{src}-{fmt}"
            r = _invoke("export", out[src], "--format", fmt, "--out", dest)
            assert r.exit_code == 0, r.output
            out[(src, fmt)] = dest
            out[(src, fmt, "stdout")] = r.output
    return out


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_bytes().splitlines()]


def _rows(run: dict, table: str) -> list[dict]:
    return _jsonl(run[("log", "jsonl")] / f"{table}.jsonl")


# --- files -------------------------------------------------------------------------------------------------

def test_every_table_is_written_in_every_format_and_listed(run):
    for src in ("log", "db"):
        for fmt in ("csv", "jsonl", "parquet"):
            d = run[(src, fmt)]
            assert sorted(p.name for p in d.iterdir()) == sorted(f"{t}.{fmt}" for t in EXPORT_TABLES)
            listed = run[(src, fmt, "stdout")].splitlines()
            assert [line.split()[0] for line in listed] == list(EXPORT_TABLES)
            for line in listed:
                name, rows = line.split()[0], int(line.split()[1].replace(",", ""))
                assert line.endswith(str(d / f"{name}.{fmt}"))
                assert rows == len(_rows(run, name))


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_log_and_its_database_give_the_same_bytes(run, fmt):
    for t in EXPORT_TABLES:
        assert (run[("log", fmt)] / f"{t}.{fmt}").read_bytes() == (run[("db", fmt)] / f"{t}.{fmt}").read_bytes(), t


def test_a_log_and_its_database_give_the_same_parquet_tables(run):
    for t in EXPORT_TABLES:
        a, b = (pq.read_table(run[(s, "parquet")] / f"{t}.parquet") for s in ("log", "db"))
        assert a.equals(b), t


def _iso(v) -> str | None:
    if isinstance(v, datetime):
        return v.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}Z"
    return v.isoformat() if hasattr(v, "isoformat") else v


def _as_csv_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def test_csv_jsonl_and_parquet_hold_the_same_values(run):
    for t in EXPORT_TABLES:
        names = [c for c, _ in EXPORT[t]]
        from_csv = _csv(run[("log", "csv")] / f"{t}.csv")
        from_jsonl = _rows(run, t)
        from_pq = pq.read_table(run[("log", "parquet")] / f"{t}.parquet").to_pylist()
        assert len(from_csv) == len(from_jsonl) == len(from_pq), t
        if from_jsonl:
            assert list(from_jsonl[0])[:len(names)] == names
        for c, j, p in zip(from_csv, from_jsonl, from_pq):
            assert list(c) == list(j) == list(p)
            assert c == {k: _as_csv_text(v) for k, v in j.items()}, t
            assert {k: _iso(v) for k, v in p.items()} == j, t


def test_parquet_types(run):
    d = run[("log", "parquet")]
    for t in EXPORT_TABLES:
        schema = pq.read_schema(d / f"{t}.parquet")
        kinds = dict(EXPORT[t])
        for field in schema:
            kind = kinds.get(field.name)
            if kind == "time":
                assert field.type == pa.timestamp("ms", tz="UTC"), (t, field)
            elif kind == "int":
                assert field.type == pa.int64()
            elif kind in ("string", "json"):
                assert field.type == pa.string()
    [row] = pq.read_table(d / "run.parquet").to_pylist()
    assert row["start"] == datetime(2026, 3, 2, tzinfo=timezone.utc)
    assert row["end"] == datetime(2026, 3, 4, tzinfo=timezone.utc) and row["complete"] is True
    kpis = pq.read_table(d / "kpis_daily.parquet")
    assert kpis.schema.field("date").type == pa.date32() and kpis.schema.field("revenue").type == pa.float64()


# --- rows, against the log ------------------------------------------------------------------------------------

def test_notifications_rows_follow_the_log(run):
    recs = run["records"]
    story = defaultdict(list)
    for r in recs:
        if r["type"].startswith("notification.") and r["type"] not in RESPONSES:
            story[r["id"]].append(r)
    first, human, machine, method = {}, {}, {}, {}
    for r in recs:
        if r["type"] in RESPONSES:
            first.setdefault((r["id"], r["type"][13:]), r["t"])
        if r["type"] == "notification.opened":
            (machine if r.get("source") == "proxy" else human).setdefault(r["id"], r["t"])
        if r["type"] == "notification.unsubscribed":
            method.setdefault(r["id"], r.get("method") or "link")
    rows = _rows(run, "notifications")
    assert len(rows) == sum(r["type"] == "notification.requested" for r in recs)
    assert [x["notification"] for x in rows] == [r["id"] for r in recs if r["type"] == "notification.requested"]
    seen = Counter()
    for row in rows:
        lines = story[row["notification"]]
        req, last = lines[0], lines[-1]
        assert (req["type"], row["requested"], row["category"], row["kind"], row["source"], row["ref"]) == \
            ("notification.requested", req["t"], req["category"], req["kind"], req["source"], req["ref"])
        assert row["requested_channel"] == req["channel"] and row["channel"] == last["channel"]
        assert row["outcome"] == last["type"][13:]
        assert row["deferrals"] == sum(x["type"] == "notification.deferred" for x in lines)
        assert row["decided_by"] == last["trace"][-1]["step"]
        assert row["number"] == int(row["notification"].split("-n")[1])
        if row["outcome"] == "suppressed":
            assert (row["reason"], row["rule"]) == (last["reason"], last["rule"])
        if row["outcome"] == "deferred":
            assert row["decided"] is None and row["until"] == last["until"]
        else:
            assert row["decided"] == last["t"]
        if row["outcome"] == "digested":
            assert row["digest"] == last["digest"]
        if row["outcome"] == "delivered":
            assert row["title"] == last["title"] and row["coupon"] == last["coupon"]
        for what in ("opened", "clicked", "dismissed", "unsubscribed", "complained"):
            assert row[what] == first.get((row["notification"], what))
        assert row["human_opened"] == human.get(row["notification"])
        assert row["machine_opened"] == machine.get(row["notification"])
        assert row["unsubscribe_method"] == method.get(row["notification"])
        seen[row["outcome"]] += 1
    assert seen["delivered"] and seen["suppressed"] and seen["digested"] == 0
    assert any(r["deferrals"] for r in rows)


def test_commerce_rows_follow_the_log(run):
    recs = run["records"]
    by = defaultdict(list)
    for r in recs:
        by[r["type"]].append(r)
    orders = _rows(run, "orders")
    assert [o["order"] for o in orders] == [r["order"] for r in by["order.placed"]]
    for o, r in zip(orders, by["order.placed"]):
        assert (o["placed"], o["total"], o["discount"], o["coupon"], o["attributed_to"], o["currency"]) == \
            (r["t"], r["total"], r["discount"], r["coupon"], r["attributed_to"], r["currency"])
        assert o["units"] == sum(i["qty"] for i in r["items"])
    paid = {r["order"]: r["t"] for r in by["payment.confirmed"]}
    assert {o["order"]: o["paid"] for o in orders if o["paid"]} == paid
    assert sum(1 for o in orders if o["delivered"]) == len(by["order.delivered"])
    items = _rows(run, "order_items")
    assert len(items) == sum(len(r["items"]) for r in by["order.placed"])

    carts = _rows(run, "carts")
    assert sorted(c["cart"] for c in carts) == sorted({r["cart"] for r in by["cart.item_added"]})
    assert sum(c["times_abandoned"] for c in carts) == len(by["cart.abandoned"])
    assert sum(1 for c in carts if c["emptied"]) == len(by["cart.emptied"])
    metrics = Metrics.of(open_run(run["log"]).events()).result()["commerce"]
    assert sum(c["recovered"] for c in carts) == metrics["carts_recovered"]
    assert sum(o["recovered_cart"] for o in orders) == metrics["carts_recovered"]

    sessions = _rows(run, "sessions")
    assert [s["session"] for s in sessions] == [r["session"] for r in by["session.started"]]
    assert sum(s["views"] for s in sessions) == len(by["product.viewed"])
    assert sum(s["items_added"] for s in sessions) == len(by["cart.item_added"])
    assert sum(s["browse_abandoned"] for s in sessions) == len(by["browse.abandoned"])
    assert {s["clicked_id"] for s in sessions if s["source"].startswith("click:")} == \
        {r["source"][6:] for r in by["session.started"] if r["source"].startswith("click:")}


def test_people_coupons_ads_and_settings_rows_follow_the_log(run):
    recs = run["records"]
    by = defaultdict(list)
    for r in recs:
        by[r["type"]].append(r)
    shoppers = _rows(run, "shoppers")
    assert [s["shopper"] for s in shoppers] == [f"s{i:06d}" for i in range(1, 21)]
    for s, r in zip(shoppers, by["shopper.created"]):
        assert (s["name"], s["tz"], s["segment"], s["reach_app"]) == (r["name"], r["tz"], r["segment"],
                                                                       r["reach"]["app"])
        assert json.loads(s["favourites"]) == r["favourites"] and "settings" not in s
    assignments = _rows(run, "experiment_assignments")
    assert [(a["shopper"], a["experiment"], a["variant"]) for a in assignments] == \
        [(r["shopper"], r["experiment"], r["variant"]) for r in by["experiment.assigned"]]

    coupons = _rows(run, "coupons")
    assert [c["coupon"] for c in coupons] == [r["coupon"] for r in by["coupon.issued"]]
    assert sum(1 for c in coupons if c["redeemed"]) == len(by["coupon.redeemed"])
    assert sum(1 for c in coupons if c["expired"]) == len(by["coupon.expired"])
    carried = {r["coupon"]: r["id"] for r in by["notification.delivered"] if r["coupon"]}
    assert {c["coupon"]: c["notification"] for c in coupons if c["notification"]} == carried
    assert coupons and all(c["expires"] > c["issued"] for c in coupons)

    ads = _rows(run, "ads")
    assert [a["ad"] for a in ads] == [r["ad"] for r in by["ad.impression"]]
    assert sum(1 for a in ads if a["clicked"]) == len(by["ad.clicked"])
    assert {a["ad"]: a["clicked"] for a in ads if a["clicked"]} == {r["ad"]: r["t"] for r in by["ad.clicked"]}

    [change] = _rows(run, "settings_changes")
    assert (change["shopper"], change["t"], change["t_ms"], change["source"]) == \
        ("s000001", "2026-03-02T10:00:00.000Z", 10 * 3_600_000, "scenario")
    assert change["change"] == '{"categories":{"cart_reminders":{"push":false}}}'

    [row] = _rows(run, "run")
    assert (row["scenario"], row["seed"], row["shoppers"], row["duration"], row["duration_ms"]) == \
        ("tiny", 5, 20, "2d", 2 * 86_400_000)
    assert (row["events"], row["complete"], row["start"]) == (len(recs), True, "2026-03-02T00:00:00.000Z")


def test_the_scripted_message_rows_are_what_the_scenario_asked(run):
    rows = [n for n in _rows(run, "notifications") if n["source"] == "scenario:events[1]"]
    assert len(rows) == 20 * 4
    assert {(n["requested"], n["requested_ms"], n["category"], n["class"], n["kind"]) for n in rows} == \
        {("2026-03-02T23:00:00.000Z", 23 * 3_600_000, "promotions", "marketing", "message")}
    assert Counter(n["requested_channel"] for n in rows) == {"push": 20, "email": 20, "sms": 20, "in_app": 20}
    sms = [n for n in rows if n["channel"] == "sms"]
    assert all(n["outcome"] == "suppressed" and n["decided_by"] in ("reachable", "preferences") for n in sms)
    emails = [n for n in rows if n["channel"] == "email" and n["outcome"] == "delivered"]
    assert emails and all(n["title"] == "Sale" and n["deferrals"] == 0 for n in emails)


def test_kpis_daily_are_the_metrics_daily_series(run):
    rows = _rows(run, "kpis_daily")
    series = Metrics.of(open_run(run["log"]).events()).series()["day"]
    assert [r["day"] for r in rows] == [0, 1]
    assert [r["date"] for r in rows] == ["2026-03-02", "2026-03-03"]
    assert [r["start"] for r in rows] == ["2026-03-02T00:00:00.000Z", "2026-03-03T00:00:00.000Z"]
    for name, col in series.items():
        assert [r[name] for r in rows] == col, name
    delivered = sum(r["type"] == "notification.delivered" for r in run["records"])
    assert sum(r["delivered"] for r in rows) == delivered


# --- runs that ended early, empty tables --------------------------------------------------------------------

def test_an_interrupted_log_exports_what_it_has(run, tmp_path):
    lines = run["log"].read_bytes().splitlines(keepends=True)
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(b"".join(lines[:len(lines) // 2]))
    r = _invoke("export", cut, "--format", "jsonl", "--out", tmp_path / "out")
    assert r.exit_code == 0, r.output
    [row] = _jsonl(tmp_path / "out" / "run.jsonl")
    assert row["complete"] is False and row["events"] == len(lines) // 2
    assert row["end"] == json.loads(lines[len(lines) // 2 - 1])["t"]


def test_a_run_without_ads_or_experiments_still_has_their_columns(tmp_path):
    (tmp_path / "s.yaml").write_text(tiny_scenario(size=3, duration="6h", as_text=True))
    assert _invoke("replay", tmp_path / "s.yaml", "--log", tmp_path / "s.jsonl", "--no-db", "-q").exit_code == 0
    for fmt in ("csv", "parquet"):
        r = _invoke("export", tmp_path / "s.jsonl", "--format", fmt, "--out", tmp_path / fmt)
        assert r.exit_code == 0, r.output
    assert (tmp_path / "csv" / "ads.csv").read_text() == ",".join(c for c, _ in EXPORT["ads"]) + "\n"
    t = pq.read_table(tmp_path / "parquet" / "experiment_assignments.parquet")
    assert t.num_rows == 0 and t.schema.names == [c for c, _ in EXPORT["experiment_assignments"]]


# --- the output folder --------------------------------------------------------------------------------------

def test_out_is_created_and_existing_tables_are_replaced(run, tmp_path):
    out = tmp_path / "a" / "b"
    assert _invoke("export", run["log"], "--out", out).exit_code == 0
    (out / "notifications.csv").write_text("stale\n")
    (out / "mine.txt").write_text("keep me\n")
    assert _invoke("export", run["log"], "--out", out).exit_code == 0
    assert (out / "notifications.csv").read_bytes() == (run[("log", "csv")] / "notifications.csv").read_bytes()
    assert (out / "mine.txt").read_text() == "keep me\n"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_out_that_is_a_file_is_refused(run, tmp_path):
    f = tmp_path / "out.csv"
    f.write_text("x\n")
    r = _invoke("export", run["log"], "--out", f)
    assert r.exit_code == 2
    assert r.output == f"shopsim: --out {f} is a file; give a folder\n"
    assert f.read_text() == "x\n"


def test_a_failed_export_leaves_no_half_tables(run, tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert _invoke("export", run["log"], "--out", out).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real, calls = export_mod.WRITERS["csv"], []

    def flaky(table, path, start):
        calls.append(table.name)
        if len(calls) == 5:
            real(table, path, start)  # a table half-written, then the disk is full
            raise OSError(28, "No space left on device")
        real(table, path, start)

    monkeypatch.setitem(export_mod.WRITERS, "csv", flaky)
    r = _invoke("export", run["log"], "--out", out)
    assert r.exit_code == 2
    assert r.output == f"shopsim: cannot write to {out}: No space left on device\n"
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_parquet_without_pyarrow_says_how_to_get_it(run, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    r = _invoke("export", run["log"], "--format", "parquet", "--out", tmp_path / "out")
    assert r.exit_code == 2
    assert r.output == "shopsim: parquet needs pyarrow: pip install 'shopsim[parquet]'\n"
    assert not (tmp_path / "out").exists()
    assert _invoke("export", run["log"], "--format", "csv", "--out", tmp_path / "out").exit_code == 0


def test_an_unknown_format_is_a_usage_error(run, tmp_path):
    r = _invoke("export", run["log"], "--format", "xlsx", "--out", tmp_path / "out")
    assert r.exit_code == 2 and "Invalid value for '--format'" in r.output


@pytest.mark.parametrize("case", ["missing", "foreign", "corrupt", "cut mid-line", "empty db"])
def test_a_bad_run_exits_2_with_one_line_and_writes_nothing(run, tmp_path, case):
    lines = run["log"].read_bytes().splitlines(keepends=True)
    path = tmp_path / "run.jsonl"
    if case == "missing":
        message = f"no run file at {path}"
    elif case == "foreign":
        path.write_text("id,name\n1,x\n")
        message = f"{path} is not a shopsim event log (its first line is not run.started)"
    elif case == "corrupt":
        path.write_bytes(b"".join(lines[:40]) + b'{"seq":41,\n' + b"".join(lines[41:]))
        message = f"{path}:41: not a JSON object"
    elif case == "cut mid-line":
        path.write_bytes(b"".join(lines[:40]) + lines[40][:25])
        message = f"{path}:41: the last line is cut short (no newline): the run was stopped while writing it"
    else:
        import sqlite3

        path = tmp_path / "run.db"
        sqlite3.connect(path).execute("CREATE TABLE events (seq INTEGER, t_ms INTEGER, type TEXT, shopper TEXT, data TEXT)").connection.commit()
        message = f"{path} is empty (its events table has no rows)"
    r = _invoke("export", path, "--out", tmp_path / "out")
    assert r.exit_code == 2
    assert r.output == f"shopsim: {message}\n"
    assert not (tmp_path / "out").exists()
