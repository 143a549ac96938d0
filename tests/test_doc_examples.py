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
from pathlib import Path

import pytest

from conftest import replay_lines, tiny_scenario
from shopsim.scenario.loader import load_scenario
from shopsim.sim import events as E
from shopsim.sim.engine import Simulation
from shopsim.store.recorder import Recorder

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "docs" / "event-log.md", ROOT / "docs" / "notifications.md"]
# Between them these scenarios produce every event type the docs show.
SCENARIOS = ["default", "account_security", "digests", "frequency_caps", "opt_out", "quiet_hours", "flash_sale"]


def _examples() -> list[tuple[str, int, str]]:
    out = []
    for doc in DOCS:
        for n, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            if line.startswith('{"') and '"type":' in line:
                out.append((doc.name, n, line))
    return out


@pytest.fixture(scope="module")
def shapes() -> dict[str, set[frozenset]]:
    """For each event type, every set of fields its real lines have (some types vary, e.g. digests)."""
    seen: dict[str, set[frozenset]] = defaultdict(set)
    logs = [replay_lines(load_scenario(ROOT / "scenarios" / f"{name}.yaml")) for name in SCENARIOS]
    logs.append(_disputes_and_an_opened_message())
    logs.extend(replay_lines(text) for text in _doc_scenarios())
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
