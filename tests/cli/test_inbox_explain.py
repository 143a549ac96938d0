"""`shopsim inbox` and `shopsim explain` on finished runs: a log and a database read the same, and a logged
notification is explained in exactly the words the live Simulation used."""

from __future__ import annotations

import io
import json
from collections import defaultdict
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers.paths import ROOT
from helpers.scenarios import tiny_scenario
from shopsim.cli import main
from shopsim.store.runfile import open_run
from shopsim.notify.explain import explain, logged_note
from shopsim.validate import load_scenario, load_scenario_text
from shopsim.contract.units import parse_duration
from shopsim.contract import events as E
from shopsim.simulation import Simulation
from shopsim.store import queries
from shopsim.store.recorder import Recorder


# Berlin shoppers with daily push and email digests at 07:00, inside their quiet hours (the push digest
# waits until 08:00); s000001 switches flash sales off before her digest goes (dropped), s000002 withdraws
# marketing consent (her push digest has nothing left); the last promotions join digests due after the
# run's end, and the last recommendation waits for the morning when the run ends.
EDGES = """
schema_version: 1
run: {name: edges, seed: 4, start: "2026-03-02T00:00:00Z", duration: 2d}
population:
  size: 4
  locales: {de_DE: {share: 1.0, time_zones: {Europe/Berlin: 1.0}}}
  platforms: {ios: 1.0}
  reach: {email_verified: 1.0, phone: 1.0}
  consent: {marketing_consent: 1.0, personalization: 1.0, sms_opt_in: 1.0, push_os_permission: {ios: 1.0}}
  settings:
    digest: {time: "07:00"}
    quiet_hours: {start: "22:00", end: "08:00"}
    categories:
      promotions: {frequency: daily}
      flash_sales: {frequency: daily}
policies: {caps: []}
events:
  - {at: 10h, shopper: all, notify: {category: promotions, channels: [push, email], title: Sale, text: Ten percent off.}}
  - {at: 11h, shopper: all, notify: {category: flash_sales, channels: [push], title: Flash, text: Three hours only.}}
  - {at: 20h, shopper: s000001, settings: {categories: {flash_sales: {push: false}}}}
  - {at: 20h, shopper: s000002, settings: {marketing_consent: false}}
  - {at: 1d22h, shopper: all, notify: {category: promotions, channels: [push], title: Late sale, text: Midnight deals.}}
  - {at: 1d22h30m, shopper: all, notify: {category: recommendations, channels: [push, sms, in_app], title: For you, text: Picked for you.}}
"""


def _record(sim: Simulation, path: Path, until: int | None = None) -> None:
    """Play `sim` (to `until`, or to its end with run.finished) while writing its event log to `path`."""
    buf = io.BytesIO()
    sim.subscribe(Recorder(sim.scenario.start_epoch, buf))
    if until is None:
        sim.run()
    else:
        sim.run_until(until)
    path.write_bytes(buf.getvalue())


def _logged_explanations(path: Path) -> dict[str, dict]:
    """explain() of every notification the log mentions, rebuilt from the log in one pass."""
    run = open_run(path)
    tz, story = {}, defaultdict(list)
    ids: list[str] = []
    for ev in run.events():
        if ev.type == E.SHOPPER_CREATED:
            tz[ev.shopper] = ev.data["tz"]
        elif ev.type.startswith("notification."):
            story[ev.shopper].append(ev)
            for nid in (ev.data["id"], ev.data.get("digest")):
                if nid is not None and nid not in ids:
                    ids.append(nid)
    out = {}
    for nid in ids:
        sid = nid.rsplit("-n", 1)[0]
        note = logged_note(nid, story[sid], tz[sid], run.start_epoch)
        out[nid] = explain(note, run.start_epoch)
    return out


def _replay(runner: CliRunner, scenario: Path, out: Path, name: str) -> tuple[Path, Path]:
    log, db = out / f"{name}.jsonl", out / f"{name}.db"
    r = runner.invoke(main, ["replay", str(scenario), "--log", str(log), "--db", str(db), "-q"])
    assert r.exit_code == 0, r.output
    return log, db


@pytest.fixture(scope="module")
def edges(tmp_path_factory) -> dict:
    """The EDGES run: played live (kept for explain and inboxes), and replayed to a log and a database."""
    d = tmp_path_factory.mktemp("edges")
    (d / "edges.yaml").write_text(EDGES)
    sim = Simulation(load_scenario_text(EDGES), keep_messages=True)
    sim.run()
    log, db = _replay(CliRunner(), d / "edges.yaml", d, "edges")
    return {"sim": sim, "log": log, "db": db, "dir": d}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict:
    """A small busy run (orders, flows with coupons, every channel) as a log and a database."""
    d = tmp_path_factory.mktemp("tiny")
    text = tiny_scenario(size=12, duration="2d", seed=3, as_text=True,
                         population={"consent": {"marketing_consent": 1.0}},
                         behaviour={"sessions": {"per_day": 2.0}, "add_to_cart": 0.3},
                         flows={"recovery": {"trigger": "cart.abandoned", "category": "cart_reminders", "steps": [
                             {"after": "1h", "channel": "email"},
                             {"after": "3h", "channel": "push",
                              "incentive": {"type": "percent", "value": 10, "valid": "48h", "prefix": "CART"}}]}},
                         events=[{"at": "20h", "shopper": "all", "notify": {
                             "category": "promotions", "channels": ["email", "push", "sms", "in_app"],
                             "title": "Sale", "text": "Ten percent off everything today."}}])
    (d / "tiny.yaml").write_text(text)
    sim = Simulation(load_scenario_text(text), keep_messages=True)
    sim.run()
    log, db = _replay(CliRunner(), d / "tiny.yaml", d, "tiny")
    return {"sim": sim, "log": log, "db": db, "dir": d}


def _run(*args: str):
    r = CliRunner().invoke(main, [str(a) for a in args])
    return r


# --- explain: the log says what the live run said ----------------------------------------------------------

@pytest.mark.parametrize("name, until", [("quiet_hours", None), ("digests", None), ("cart_recovery", "4d"),
                                         ("account_security", None), ("frequency_caps", "3d")])
def test_explain_from_the_log_matches_the_live_simulation(tmp_path, name, until):
    """Every notification of a shipped scenario (cut short for speed; a log without run.finished explains
    the same): the same passes, sentences and summary, in fact the same dictionary."""
    sim = Simulation(load_scenario(ROOT / "scenarios" / f"{name}.yaml"), keep_messages=True)
    _record(sim, tmp_path / "run.jsonl", parse_duration(until) if until else None)
    logged = _logged_explanations(tmp_path / "run.jsonl")
    assert set(logged) == set(sim.notify.notes)
    outcomes = defaultdict(int)
    for nid, got in logged.items():
        live = sim.explain(nid)
        assert got["sentences"] == live["sentences"], nid
        assert got["summary"] == live["summary"], nid
        assert got == live, nid
        outcomes[live["outcome"]] += 1
    assert len(logged) > 100 and outcomes["delivered"] > 0


def test_explain_from_the_log_matches_live_for_awkward_digests(edges):
    """Digests deferred by quiet hours, emptied, never requested (due after the end), items dropped,
    and a message still deferred when the run ended."""
    sim = edges["sim"]
    logged = _logged_explanations(edges["log"])
    assert set(logged) == set(sim.notify.notes)
    for nid, got in logged.items():
        assert got == sim.explain(nid), nid
    summaries = " | ".join(x["summary"] for x in logged.values())
    for words in ("deferred: quiet hours", "nothing left in the digest", "then dropped from it",
                  "deferred until 08:00 local", "waiting"):
        assert words in summaries


def test_explain_command_json_is_the_live_dict_and_log_and_db_agree(edges):
    sim = edges["sim"]
    for nid in list(sim.notify.notes)[::3]:
        outs = [_run("explain", edges[k], nid, "--format", "json") for k in ("log", "db")]
        assert [o.exit_code for o in outs] == [0, 0]
        assert outs[0].output == outs[1].output
        assert json.loads(outs[0].output) == sim.explain(nid)


def test_explain_command_text_reads_pass_by_pass(edges):
    sim = edges["sim"]
    [digest] = [n for n in sim.notify.notes.values() if n.kind == "digest" and n.outcome == "delivered"
                and len(n.evaluations) == 2][:1]
    r = _run("explain", edges["log"], digest.id)
    assert r.exit_code == 0, r.output
    assert r.output == _run("explain", edges["db"], digest.id).output
    live = sim.explain(digest.id)
    lines = r.output.splitlines()
    assert lines[0] == f"Notification {digest.id}"
    assert "  category   digest (marketing)" in lines
    assert any(line.startswith("  requested  2026-03-03 06:00:00 UTC (Tue 3 Mar 2026, 07:00 CET)")
               for line in lines)
    assert any(line.startswith("  carries    ") for line in lines)
    assert [x for x in lines if x.startswith("Pass ")] == [
        "Pass 1 at 2026-03-03 06:00:00 UTC (Tue 3 Mar 2026, 07:00 CET)",
        "Pass 2 at 2026-03-03 07:00:00 UTC (Tue 3 Mar 2026, 08:00 CET)"]
    assert [x[4:] for x in lines if x.startswith("  - ")] == live["sentences"][:-1]
    assert lines[-1] == f"Summary: {live['summary']}"


def test_explain_a_digest_due_after_the_run_ended(edges):
    sim = edges["sim"]
    waiting = next(n for n in sim.notify.notes.values() if n.kind == "digest" and n.outcome is None)
    r = _run("explain", edges["db"], waiting.id)
    assert r.exit_code == 0, r.output
    assert "  requested  not before the run ended; due 2026-03-04 06:00:00 UTC" in r.output
    assert r.output.rstrip().endswith("Summary: waiting")


def test_explain_a_critical_message_says_what_it_skips(tiny):
    sim = tiny["sim"]
    nid = next(n.id for n in sim.notify.notes.values() if n.cls in ("critical", "transactional"))
    r = _run("explain", tiny["log"], nid)
    assert r.exit_code == 0
    assert "skip consent" in r.output
    assert f"Summary: {sim.explain(nid)['summary']}" in r.output


@pytest.mark.parametrize("nid", ["s000001-n999", "s000999-n1", "s000001", "bogus", "s000001-n0", ""])
def test_explain_an_unknown_or_malformed_id_exits_2(edges, nid):
    r = _run("explain", edges["log"], nid)
    assert r.exit_code == 2
    assert r.output == f"shopsim: no notification {nid!r} in {edges['log']}\n"


# --- inbox --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [[], ["--all"], ["--channel", "push"], ["--channel", "email", "--all"],
                                  ["--format", "json"], ["--format", "json", "--all"]])
def test_inbox_reads_the_same_from_a_log_and_a_database(tiny, args):
    outs = [_run("inbox", tiny[k], "--shopper", "s000003", *args) for k in ("log", "db")]
    assert [o.exit_code for o in outs] == [0, 0], outs[0].output
    assert outs[0].output == outs[1].output


@pytest.mark.parametrize("sid", ["s000001", "s000002", "s000005", "s000012"])
def test_inbox_json_matches_the_live_inbox_and_the_database(tiny, sid):
    r = _run("inbox", tiny["db"], "--shopper", sid, "--format", "json")
    assert r.exit_code == 0
    got = json.loads(r.output)
    live = tiny["sim"].inbox(sid)
    assert live, sid
    assert [(m["id"], m["channel"], m["category"], m["title"], m["body"], m["link"], m["read"],
             m["digest_of"] or []) for m in got] == \
        [(m.id, m.channel, m.category, m.title, m.body, m.link, m.read, list(m.digest_of)) for m in live]
    assert [m["t"] for m in got] == [tiny["sim"].iso(m.t) for m in live]
    stored = queries.inbox(tiny["db"], sid)
    assert [(m["id"], m["read"]) for m in got] == [(m["notification"], m["read"]) for m in stored]
    for m in got:
        assert m["outcome"] == "delivered" and m["local_time"][:4] == "2026"
        assert set(m) >= {"id", "t", "local_time", "channel", "category", "title", "body", "link", "read",
                          "coupon", "digest_of"}


def test_inbox_all_adds_every_attempt_that_did_not_arrive(tiny):
    sid = "s000004"
    got = json.loads(_run("inbox", tiny["log"], "--shopper", sid, "--all", "--format", "json").output)
    notes = [n for n in tiny["sim"].notify.notes.values() if n.sh.id == sid and n.outcome is not None]
    assert sorted(m["id"] for m in got) == sorted(n.id for n in notes)
    by_id = {n.id: n for n in notes}
    for m in got:
        assert m["outcome"] == by_id[m["id"]].outcome
        if m["outcome"] == "suppressed":
            assert m["reason"] and m["rule"] and m["title"] is None
    assert any(m["outcome"] != "delivered" for m in got)
    text = _run("inbox", tiny["log"], "--shopper", sid, "--all").output
    assert "suppressed: " in text


def test_inbox_text_lays_out_each_channel(tiny):
    sid = "s000001"
    r = _run("inbox", tiny["log"], "--shopper", sid)
    assert r.exit_code == 0, r.output
    live = tiny["sim"].inbox(sid)
    assert "s000001" in r.output.splitlines()[1]
    assert f"{len(live)} message(s)" in r.output
    for m in live:
        assert m.id in r.output
    channels = {m.channel for m in live}
    if "email" in channels:
        assert "Subject:" in r.output and "From:" in r.output
    if "sms" in channels:
        assert "SMS · " in r.output
    if "in_app" in channels:
        assert "in-app" in r.output
    assert ("● unread" in r.output) or ("○ read" in r.output)


def test_inbox_shows_digests_with_what_they_carry(edges):
    r = _run("inbox", edges["log"], "--shopper", "s000001", "--channel", "push")
    assert r.exit_code == 0, r.output
    assert "carries s000001-n" in r.output and "dropped s000001-n" in r.output
    assert "held from" in r.output  # the push digest waited for the end of the quiet hours
    r = _run("inbox", edges["log"], "--shopper", "s000003", "--all")
    assert "digested into s000003-n" in r.output
    assert "the run ended first" in r.output  # the recommendation still waiting


def test_inbox_unknown_shopper_exits_2_with_the_id_range(tiny):
    for sid in ("s009999", "s00000x", "bob"):
        r = _run("inbox", tiny["log"], "--shopper", sid)
        assert r.exit_code == 2
        assert r.output == f"shopsim: no shopper {sid!r} in {tiny['log']} (ids run from s000001 to s000012)\n"


def test_inbox_unknown_channel_is_a_usage_error(tiny):
    r = _run("inbox", tiny["log"], "--shopper", "s000001", "--channel", "fax")
    assert r.exit_code == 2
    assert "Invalid value for '--channel'" in r.output


# --- bad RUN arguments ----------------------------------------------------------------------------------------

def _bad_runs(tmp: Path, log: Path) -> dict[str, tuple[Path, str]]:
    foreign = tmp / "notes.txt"
    foreign.write_text("hello\n")
    corrupt = tmp / "corrupt.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    corrupt.write_bytes(b"".join(lines[:30]) + b"{not json\n" + b"".join(lines[30:]))
    return {"missing": (tmp / "nope.jsonl", f"shopsim: no run file at {tmp / 'nope.jsonl'}"),
            "foreign": (foreign, f"shopsim: {foreign} is not a shopsim event log (its first line is not run.started)"),
            "corrupt": (corrupt, f"shopsim: {corrupt}:31: not a JSON object"),
            "directory": (tmp, f"shopsim: {tmp} is a directory")}


@pytest.mark.parametrize("case", ["missing", "foreign", "corrupt", "directory"])
@pytest.mark.parametrize("command", ["inbox", "explain"])
def test_a_bad_run_exits_2_with_one_line(tiny, tmp_path, case, command):
    path, message = _bad_runs(tmp_path, tiny["log"])[case]
    args = ["inbox", path, "--shopper", "s000012"] if command == "inbox" else ["explain", path, "s000012-n1"]
    r = _run(*args)
    assert r.exit_code == 2
    assert r.output == message + "\n"
    assert r.exception is None or isinstance(r.exception, SystemExit)
