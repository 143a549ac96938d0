"""The example log lines in the docs look exactly like lines the engine writes today.

Each example must have the same fields as real events of its type (and, for notification outcomes, trace
entries of the same shape), and be written in the log's own format, so a renamed or added field
cannot leave the docs describing an older log.
"""

from __future__ import annotations

import io
import json
import re
from collections import defaultdict

import pytest

from helpers.paths import ROOT
from helpers.runs import replay_lines
from helpers.scenarios import tiny_scenario
from shopsim.validate import load_scenario
from shopsim.contract import events as E
from shopsim.simulation import Simulation
from shopsim.store.recorder import Recorder

DOCS = [ROOT / "docs" / "event-log.md", ROOT / "docs" / "notifications.md"]
# Between them these scenarios produce every event type the docs show.
SCENARIOS = ["default", "account_security", "digests", "frequency_caps", "opt_out", "quiet_hours", "flash_sale",
             "cart_recovery", "heavy_promotion"]


def _examples() -> list[tuple[str, int, str]]:
    out = []
    for doc in DOCS:
        for n, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            if line.startswith('{"') and '"type":' in line:
                out.append((doc.name, n, line))
    return out


@pytest.fixture(scope="module")
def logs() -> list[bytes]:
    """Fresh runs of the scenarios the examples come from."""
    out = [replay_lines(load_scenario(ROOT / "scenarios" / f"{name}.yaml")) for name in SCENARIOS]
    out.append(_disputes_and_an_opened_message())
    out.extend(replay_lines(text) for text in _doc_scenarios())
    out.append(_opened_by_a_front_end())
    return out


def _opened_by_a_front_end() -> bytes:
    """The run docs/event-log.md records for `notification.opened` with source user (its Python example)."""
    sim = Simulation(load_scenario(ROOT / "scenarios" / "default.yaml"))
    out = io.BytesIO()
    sim.subscribe(Recorder(sim.scenario.start_epoch, out))
    sim.run_until(2 * 86_400_000)
    sim.mark_read("s001418-n9")
    sim.run()
    return out.getvalue()


@pytest.fixture(scope="module")
def written(logs) -> set[str]:
    """Every line those runs write, run.started without its version (releases do not churn the docs)."""
    return {_unversioned(raw.decode()) for log in logs for raw in log.splitlines()}


def _unversioned(line: str) -> str:
    return re.sub(r',"version":"[^"]*"', "", line) if line.startswith('{"') and '"run.started"' in line else line


@pytest.fixture(scope="module")
def shapes(logs) -> dict[str, set[frozenset]]:
    """For each event type, every set of fields its real lines have (some types vary, e.g. digests)."""
    seen: dict[str, set[frozenset]] = defaultdict(set)
    for log in logs:
        for raw in log.splitlines():
            rec = json.loads(raw)
            seen[rec["type"]].add(frozenset(rec))
            for step in rec.get("trace") or ():
                seen["trace entry"].add(frozenset(step))
    return seen


def _doc_scenarios() -> list[str]:
    """The whole scenarios written out in docs/event-log.md (its examples come from them)."""
    text = DOCS[0].read_text(encoding="utf-8")
    return re.findall(r"```yaml\n(schema_version: 1\nrun: .*?)```", text, re.S)


def _disputes_and_an_opened_message() -> bytes:
    """Every order disputed and refunded fast, and one message opened: types the shipped runs rarely show."""
    fast = {"dist": "fixed", "value": "1h"}
    sc = tiny_scenario(size=10, duration="3d", orders={
        "disputes": {"rate": 1.0, "refund": 1.0, "after": fast, "refund_after": fast}, "handling": fast,
        "carriers": {"x": {"share": 1.0, "name": "X Post", "in_transit_after": fast, "transit": fast,
                           "last_mile": fast}}})
    sim = Simulation(sc)
    out = io.BytesIO()
    sim.subscribe(Recorder(sim.scenario.start_epoch, out))
    delivered: list = []
    sim.subscribe(lambda batch: delivered.extend(e for e in batch if e.type == E.NOTIFICATION_DELIVERED))
    sim.run_until(sim.end // 2)
    sim.mark_read(delivered[0].data["id"])
    sim.run()
    return out.getvalue()


def test_the_docs_have_examples():
    assert len(_examples()) >= 30


@pytest.mark.parametrize("doc, line_no, line", _examples(), ids=lambda v: str(v)[:30])
def test_example_lines_match_the_engine(shapes, doc, line_no, line):
    rec = json.loads(line)
    where = f"{doc}:{line_no}"
    assert json.dumps(rec, sort_keys=True, separators=(",", ":"), ensure_ascii=False) == line, \
        f"{where}: not in the log's format (sorted keys, compact, UTF-8)"
    assert rec["type"] in shapes, f"{where}: no shipped scenario writes {rec['type']}"
    assert frozenset(rec) in shapes[rec["type"]], \
        f"{where}: fields {sorted(rec)} differ from real {rec['type']} lines {[sorted(s) for s in shapes[rec['type']]]}"
    for step in rec.get("trace") or ():
        assert frozenset(step) in shapes["trace entry"], f"{where}: trace entry {step} has an unknown shape"


@pytest.mark.parametrize("doc, line_no, line", _examples(), ids=lambda v: str(v)[:30])
def test_example_lines_are_lines_a_fresh_run_writes(written, doc, line_no, line):
    """An example is not made up: it is, byte for byte, a line one of the docs' runs writes today (its ids,
    times and values included), so a model change cannot leave a stale number in the docs."""
    assert _unversioned(line) in written, (
        f"{doc}:{line_no}: no fresh run writes this line any more; regenerate the example from the run "
        "its section names")


def test_the_event_log_funnel_table_is_what_its_snippet_prints_on_a_fresh_run(tmp_path):
    """docs/event-log.md's marketing funnel: its own Python snippet, run on a fresh cart_recovery log, prints
    the table the doc shows."""
    import subprocess
    import sys

    text = DOCS[0].read_text(encoding="utf-8")
    snippet = re.search(r"# A funnel per flow step.*?python3 -c '\n(.*?)' run\.jsonl", text, re.S).group(1)
    shown = re.search(r"On `scenarios/cart_recovery.yaml` the funnel prints:\n\n```\n(.*?)```", text, re.S).group(1)
    log = tmp_path / "run.jsonl"
    log.write_bytes(replay_lines(load_scenario(ROOT / "scenarios" / "cart_recovery.yaml")))
    out = subprocess.run([sys.executable, "-c", snippet, str(log)], capture_output=True, text=True, check=True)
    assert out.stdout == shown


def test_the_exports_funnel_query_counts_what_the_event_log_funnel_counts(tmp_path, monkeypatch):
    """docs/exports.md says its DuckDB funnel query prints the event log doc's funnel: recompute it from the
    exported tables the way the query does."""
    from collections import Counter

    import pyarrow.parquet as pq
    from click.testing import CliRunner

    from shopsim.cli import main

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["replay", "cart_recovery", "-q", "--no-db"]).exit_code == 0
    assert runner.invoke(main, ["export", "runs/cart_recovery-seed21.jsonl", "--format", "parquet",
                                "--out", "out"]).exit_code == 0
    notes = pq.read_table("out/notifications.parquet").to_pylist()
    orders = Counter(o["attributed_to"] for o in pq.read_table("out/orders.parquet").to_pylist())
    rows: dict[str, Counter] = defaultdict(Counter)
    for n in notes:
        if n["source"].startswith("flow:"):
            r = rows[n["source"]]
            r["requested"] += 1
            r["delivered"] += n["outcome"] == "delivered"
            r["opened"] += n["human_opened"] is not None
            r["clicked"] += n["clicked"] is not None
            r["orders"] += orders.get(n["notification"], 0)
    text = DOCS[0].read_text(encoding="utf-8")
    shown = re.search(r"On `scenarios/cart_recovery.yaml` the funnel prints:\n\n```\n(.*?)```", text, re.S).group(1)
    cols = ("requested", "delivered", "opened", "clicked", "orders")
    table = {line.split("\t")[0]: [int(x) for x in line.split("\t")[1:]] for line in shown.splitlines()[1:]}
    assert {s: [rows[s][c] for c in cols] for s in rows} == table


def test_the_cart_recovery_story_in_notifications_md_is_a_fresh_runs(logs):
    """The table of s000185's flow in docs/notifications.md, fact by fact, against a fresh run."""
    log = logs[SCENARIOS.index("cart_recovery")]
    mine = [json.loads(raw) for raw in log.splitlines() if b'"shopper":"s000185"' in raw]
    hhmm = lambda r: r["t"][11:16]  # noqa: E731  (London is on UTC in March)
    one = lambda **kv: next(r for r in mine if all(r.get(k) == v for k, v in kv.items()))  # noqa: E731
    assert one(type="cart.item_added", cart="s000185-c1")["price"] == 6.99
    assert hhmm(one(type="checkout.started", cart="s000185-c1")) == "12:27"
    left = one(type="cart.abandoned", cart="s000185-c1")
    assert (left["reason"], left["stage"], left["shipping"], hhmm(left)) == ("payment_trust", "checkout", 2.99, "13:02")
    assert hhmm(one(type="notification.delivered", id="s000185-n1")) == "14:02"
    assert hhmm(one(type="notification.opened", id="s000185-n1", source="shopper")) == "14:29"
    assert not [r for r in mine if r["type"] == "notification.clicked" and r["id"] == "s000185-n1"]
    push = one(type="notification.delivered", id="s000185-n2")
    assert (push["coupon"], push["channel"], hhmm(push)) == ("CART-L9SPJL", "push", "13:02")
    assert hhmm(one(type="coupon.seen", coupon="CART-L9SPJL")) == "13:16"
    order = one(type="order.placed", order="s000185-o1")
    assert (order["subtotal"], order["shipping"], order["discount"], order["total"], order["attributed_to"],
            hhmm(order)) == (6.99, 2.99, 0.7, 9.28, "s000185-n2", "13:23")
    void = one(type="notification.suppressed", id="s000185-n11")
    assert void["rule"] == "flow.exit.order_placed"
    text = DOCS[1].read_text(encoding="utf-8")
    for fact in ("a 6.99 item in cart `s000185-c1`", "for `payment_trust`", "coupon `CART-L9SPJL`",
                 "total 9.28, `attributed_to` `s000185-n2`", "step 3, email `-n11`"):
        assert fact in text
