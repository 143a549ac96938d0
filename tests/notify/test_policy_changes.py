"""Policies that change mid-run (`policies.changes`): the change applies at its instant, before anything else
due then, deterministically; a cap added later looks back over its whole window; traces, explain and the
report say which policy decided."""

from __future__ import annotations

from helpers.paths import SCENARIOS
from helpers.runs import play, replay_lines
from helpers.scenarios import berlin_shopper
from shopsim.contract import events as E
from shopsim.metrics.kpis import Metrics
from shopsim.report.render import to_markdown
from shopsim.report.tables import build_report
from shopsim.validate import load_scenario

H = 3_600_000


def _promo(at: str) -> dict:
    return {"at": at, "shopper": "s000001",
            "notify": {"category": "promotions", "channels": ["push"], "title": f"Deal at {at}"}}


def _run(events: list[dict], changes: list[dict], caps: list | None = None, **extra):
    data = berlin_shopper(events, duration="3d", policies={"caps": caps or [], "send_windows": [],
                                                           "changes": changes}, **extra)
    data["engagement"] = {"enabled": False}
    return play(data)


def _outcomes(events) -> dict[int, tuple[str, str | None]]:
    """Each promotion's outcome by its hour: (type, rule)."""
    return {e.t // H: (e.type, e.data.get("rule")) for e in events
            if e.type in (E.NOTIFICATION_DELIVERED, E.NOTIFICATION_SUPPRESSED) and e.data["category"] == "promotions"}


CAP = [{"from": "1d", "caps": [{"channel": "push", "max": 1, "per": "4h"}]}]


def test_the_same_message_goes_out_before_the_change_and_is_capped_after_it():
    sim, events = _run([_promo("10h"), _promo("11h"), _promo("1d10h"), _promo("1d11h")], CAP)
    assert _outcomes(events) == {
        10: (E.NOTIFICATION_DELIVERED, None), 11: (E.NOTIFICATION_DELIVERED, None),  # no cap yet: both go out
        34: (E.NOTIFICATION_DELIVERED, None),                                       # under the new cap
        35: (E.NOTIFICATION_SUPPRESSED, "changes[0].caps[0]")}                      # the same hour later: capped
    (changed,) = [e for e in events if e.type == E.POLICY_CHANGED]
    assert changed.t == 24 * H and changed.shopper is None
    assert changed.data == {"policy": "changes[0]", "from": "1d", "preset": None, "changed": ["caps"],
                            "caps": [{"name": "changes[0].caps[0]", "channel": "push", "max": 1, "per": "4h",
                                      "category": None}],
                            "send_windows": []}


def test_without_the_change_nothing_is_capped():
    _, events = _run([_promo("10h"), _promo("11h"), _promo("1d10h"), _promo("1d11h")], [])
    assert {o for o, _ in _outcomes(events).values()} == {E.NOTIFICATION_DELIVERED}
    assert not any(e.type == E.POLICY_CHANGED for e in events)


def test_a_change_applies_before_a_message_due_at_its_very_instant():
    sim, events = _run([_promo("23h"), _promo("1d")], CAP)
    i_changed = next(i for i, e in enumerate(events) if e.type == E.POLICY_CHANGED)
    i_request = next(i for i, e in enumerate(events) if e.type == E.NOTIFICATION_REQUESTED and e.t == 24 * H)
    assert i_changed < i_request
    # The promotion at 23h went out under no cap; at 1d the new cap already counts it (an hour before).
    assert _outcomes(events)[24] == (E.NOTIFICATION_SUPPRESSED, "changes[0].caps[0]")


def test_a_cap_added_later_counts_what_went_out_before_it_and_a_removed_one_stops_acting():
    changes = [{"from": "1d", "caps": [{"channel": "push", "max": 1, "per": "24h", "name": "daily"}]},
               {"from": "2d", "caps": []}]
    _, events = _run([_promo("20h"), _promo("1d10h"), _promo("2d1h"), _promo("2d2h")], changes)
    out = _outcomes(events)
    assert out[34] == (E.NOTIFICATION_SUPPRESSED, "daily")  # 14h after the 20h push, which came before the cap
    assert out[49] == out[50] == (E.NOTIFICATION_DELIVERED, None)  # the cap is gone from 2d
    assert [e.data["policy"] for e in events if e.type == E.POLICY_CHANGED] == ["changes[0]", "changes[1]"]


def test_a_send_window_added_mid_run_holds_night_pushes_from_then_on():
    changes = [{"from": "1d", "send_windows": [{"channel": "push", "start": "08:00", "end": "21:00"}]}]
    _, events = _run([_promo("22h"), _promo("1d22h")], changes)  # 23:00 in Berlin, each night
    firsts = {e.t // H: e.type for e in events if e.type in (E.NOTIFICATION_DELIVERED, E.NOTIFICATION_DEFERRED)
              and e.data["category"] == "promotions" and e.t // H in (22, 46)}
    assert firsts == {22: E.NOTIFICATION_DELIVERED, 46: E.NOTIFICATION_DEFERRED}
    deferred = next(e for e in events if e.type == E.NOTIFICATION_DEFERRED)
    assert deferred.data["rule"] == "changes[0].send_windows[0]"


def test_traces_and_explain_name_the_policy_in_force():
    sim, events = _run([_promo("10h"), _promo("1d10h"), _promo("1d11h")], CAP)
    before, after, capped = [e for e in events if e.type in (E.NOTIFICATION_DELIVERED, E.NOTIFICATION_SUPPRESSED)
                             and e.data["category"] == "promotions"]
    caps_step = lambda e: next(s for s in e.data["trace"] if s["step"] == "caps")  # noqa: E731
    assert "params" not in caps_step(before)
    assert caps_step(after)["params"] == {"policy": "changes[0]"}
    assert caps_step(capped)["params"]["policy"] == "changes[0]"
    words = sim.explain(capped.data["id"])["sentences"]
    assert any("frequency cap changes[0].caps[0] (the caps of policy changes[0]) allows 1 push" in w for w in words)
    assert "caps: under every cap of policy changes[0]" in sim.explain(after.data["id"])["sentences"]


def test_a_run_with_changes_is_the_same_bytes_every_time():
    sc = load_scenario(SCENARIOS / "cap_added.yaml")
    first = replay_lines(sc)
    assert b'"type":"policy.changed"' in first
    assert replay_lines(sc) == first
    assert replay_lines(sc, seed=8) != first


def test_the_report_marks_the_change_on_its_day_charts_and_in_words():
    _, events = play(load_scenario(SCENARIOS / "cap_added.yaml"))
    result = Metrics.of(events).result()
    assert result["policy_changes"] == [{"t": 7 * 24 * H, "policy": "changes[0]", "from": "7d", "preset": None,
                                         "changed": ["caps"]}]
    report = build_report(result, charts=True)
    charts = [b.svg for s in report.sections for b in s.blocks if hasattr(b, "svg")]
    day_charts = [c for c in charts if "per day" in c or "by day" in c]
    assert len(day_charts) == 2
    for svg in day_charts:
        assert svg.count('<g class="marker">') == 1 and "changes[0] sets caps" in svg
    md = to_markdown(build_report(result))
    assert "policy changed at 2026-03-09T00:00:00.000Z (day 8, from 7d): changes\\[0\\] sets caps" in md


def test_a_report_without_changes_has_no_marker():
    _, events = _run([_promo("10h")], [])
    result = Metrics.of(events).result()
    assert "policy_changes" not in result
    report = build_report(result, charts=True)
    assert not any('class="marker"' in b.svg for s in report.sections for b in s.blocks if hasattr(b, "svg"))


def test_cap_added_passes_its_own_checks(tmp_path):
    from click.testing import CliRunner

    from shopsim.cli import main

    res = CliRunner().invoke(main, ["replay", str(SCENARIOS / "cap_added.yaml"), "--no-db", "--log",
                                    str(tmp_path / "run.jsonl"), "-q", "--check"])
    assert res.exit_code == 0, res.output
    assert "5 passed, 0 failed" in res.output
