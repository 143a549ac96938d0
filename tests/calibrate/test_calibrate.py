"""`shopsim calibrate`: the statistics, the anchors' measures and verdicts, the formatting, the command."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers.paths import ROOT
from helpers.scenarios import tiny_scenario
from shopsim.calibrate import anchors as A
from shopsim.calibrate import runner, table
from shopsim.calibrate.stats import T975, ratio_spread, spread, t975
from shopsim.cli import main

DOC = ROOT / "docs" / "calibration.md"


# --- statistics ------------------------------------------------------------------------------------------

def test_mean_sd_and_t_interval_on_fixed_numbers():
    s = spread([1.0, 2.0, 3.0, 4.0])
    assert s.n == 4 and s.mean == 2.5
    assert s.sd == pytest.approx(math.sqrt(5 / 3))                     # sample sd, divisor N - 1
    half = 3.182 * math.sqrt(5 / 3) / 2                                 # t(0.975, 3) · sd / √4
    assert (s.ci_low, s.ci_high) == (pytest.approx(2.5 - half), pytest.approx(2.5 + half))


def test_spread_of_one_value_has_no_sd_and_equal_values_no_width():
    one = spread([0.7])
    assert (one.mean, one.sd, one.ci_low, one.ci_high) == (0.7, None, None, None)
    same = spread([0.25] * 5)
    assert same.sd == 0 and same.ci_low == same.ci_high == 0.25


def test_spread_does_not_depend_on_the_order_of_the_values():
    xs = [0.1, 0.7, 1e-9, 0.3333333, 0.2, 0.9]
    assert spread(xs) == spread(list(reversed(xs)))


def test_t_quantiles():
    assert [t975(df) for df in (1, 2, 3, 9, 19, 30)] == [12.706, 4.303, 3.182, 2.262, 2.093, 2.042]
    assert len(T975) == 30
    # Above the table: the expansion is close to the exact quantiles, falls steadily and tends to 1.96.
    assert t975(31) == pytest.approx(2.0395, abs=5e-4)
    assert t975(40) == pytest.approx(2.0211, abs=5e-4)
    assert t975(120) == pytest.approx(1.9799, abs=5e-4)
    values = [t975(df) for df in range(30, 2000)]
    assert all(a >= b for a, b in zip(values, values[1:]))
    assert t975(10**6) == pytest.approx(1.96, abs=1e-3)
    with pytest.raises(ValueError):
        t975(0)


# --- anchors: values, verdicts, measures ----------------------------------------------------------------

def test_anchor_values_and_bands():
    by = A.BY_ID
    assert len(A.ANCHORS) == 19 and len(by) == 19
    assert by["cart_abandonment"].published == 0.7019 and by["cart_abandonment"].band == (0.6719, 0.7319)
    shares = [by[f"reason_{name}"].published for name, _, _ in A.CHECKOUT_REASONS]
    assert math.fsum(shares) == pytest.approx(1.0)
    assert by["reason_extra_costs"].published == pytest.approx(48 / 222)
    assert by["device_gap"].unit == "pp" and by["device_gap"].published == pytest.approx(0.8565 - 0.7307)
    assert by["attributed_recovery"].is_range and by["attributed_recovery"].band == (0.03, 0.15)
    assert by["reminder_timing"].published == (3.6, 4.0) and by["reminder_timing"].band == (2.5, 5.5)
    for a in A.ANCHORS:
        assert a.unit in ("rate", "pp", "ratio") and a.source.publisher and a.definition and a.needs
        assert a.band[0] < a.band[1]


def test_verdicts_for_point_and_range_anchors():
    point = A.BY_ID["cart_abandonment"]
    assert point.inside(0.7019) and point.inside(0.6719) and point.inside(0.7319)
    assert not point.inside(0.6718) and not point.inside(0.74)
    ranged = A.BY_ID["attributed_recovery"]
    assert ranged.inside(0.03) and ranged.inside(0.09) and ranged.inside(0.15)
    assert not ranged.inside(0.029) and not ranged.inside(0.151)
    timing = A.BY_ID["reminder_timing"]  # a published range with a wider band around it
    assert timing.inside(2.5) and timing.inside(3.8) and timing.inside(5.5)
    assert not timing.inside(2.4) and not timing.inside(5.6)


def _arm(order_rate):
    return {"shoppers": 100, "categories": {"cart_reminders": {"order_rate": order_rate}}}


def fake_result(**extra) -> dict:
    """A Metrics.result() with exactly the keys the anchors read."""
    result = {
        "commerce": {
            "abandonment_rate": 0.71, "attributed_recovery_rate": 0.06,
            "checkout_reason_shares": {"extra_costs": 0.3, "account_required": 0.2, "payment_trust": 0.5},
            "by_device": {"desktop": {"abandonment_rate": 0.70}, "mobile_web": {"abandonment_rate": 0.84},
                          "app": {"abandonment_rate": 0.6}},
        },
        "category_channels": {"cart_reminders": {"email": {"open_rate": 0.5, "click_rate": 0.05,
                                                           "order_rate": 0.03}}},
        "shoppers": {"push_opt_in": {"android": 0.8, "ios": 0.52}},
        "experiments": {"other": {"variants": {"a": _arm(0.5)}},
                        "timing": {"variants": {"1h": _arm(0.06), "24h": _arm(0.015)}}},
    }
    result.update(extra)
    return result


def test_each_measure_on_a_fake_result():
    got = {a.id: a.measure(fake_result()) for a in A.ANCHORS}
    assert got["cart_abandonment"] == 0.71
    assert got["reason_extra_costs"] == 0.3 and got["reason_payment_trust"] == 0.5
    assert got["reason_slow_delivery"] == 0.0 and got["reason_card_declined"] == 0.0  # absent from a non-empty dict
    assert got["email_open_rate"] == 0.5 and got["email_click_rate"] == 0.05
    assert got["email_placed_order_rate"] == 0.03
    assert got["attributed_recovery"] == 0.06
    assert got["push_opt_in_android"] == 0.8 and got["push_opt_in_ios"] == 0.52
    assert got["device_gap"] == pytest.approx(0.14)
    assert got["reminder_timing"] == pytest.approx(4.0)


def test_measures_return_none_when_the_run_has_nothing_to_measure():
    empty = {"commerce": {"abandonment_rate": None, "checkout_reason_shares": {}, "by_device": {"desktop": {}}},
             "shoppers": {"push_opt_in": {"ios": None}}}
    assert all(a.measure(empty) is None for a in A.ANCHORS)
    assert all(a.measure({}) is None for a in A.ANCHORS)
    # Wrong shapes (a list where a dict belongs, a bool, NaN) are nothing to measure either.
    odd = {"commerce": {"abandonment_rate": True, "checkout_reason_shares": ["extra_costs"],
                        "attributed_recovery_rate": float("nan")}, "experiments": []}
    assert all(a.measure(odd) is None for a in A.ANCHORS)


def test_reminder_timing_needs_both_arms_and_orders_at_24h():
    timing = A.BY_ID["reminder_timing"].measure
    assert timing(fake_result(experiments={"t": {"variants": {"1h": _arm(0.06), "24h": _arm(0.0)}}})) is None
    assert timing(fake_result(experiments={"t": {"variants": {"1h": _arm(0.06), "4h": _arm(0.02)}}})) is None
    no_categories = {"t": {"variants": {"1h": {"shoppers": 3}, "24h": {"shoppers": 3}}}}
    assert timing(fake_result(experiments=no_categories)) is None
    assert timing(fake_result(experiments={"t": {"variants": {"1h": _arm(0.0), "24h": _arm(0.02)}}})) == 0.0


# --- formatting ------------------------------------------------------------------------------------------

def test_rates_ratios_and_pp_format():
    assert table.value("rate", 0.7034) == "70.3%"
    assert table.value("pp", 0.1258) == "12.6 pp"
    assert table.value("ratio", 3.84) == "3.8×"
    assert table.spread_of("rate", 0.011) == "1.1 pp" and table.spread_of("ratio", 1.41) == "1.41"
    assert table.interval("rate", 0.698, 0.708) == "69.8%–70.8%"
    assert table.interval("ratio", 3.4, 4.2) == "3.4×–4.2×"
    assert table.interval("pp", -0.02, 0.01) == "-2.0 to 1.0 pp"


def test_no_negative_zero():
    assert table.fixed(-0.00001, 1) == "0.0" and table.fixed(-0.0, 2) == "0.00" and table.fixed(-0.05, 1) == "-0.1"
    assert table.value("pp", -0.0004) == "0.0 pp" and table.value("rate", -0.0) == "0.0%"
    assert table.interval("pp", -0.0001, 0.0001) == "0.0–0.0 pp"
    assert table.fixed(-10.0, 1) == "-10.0"


def test_published_values_and_bands_as_published():
    by = A.BY_ID
    assert [table.published(by[i]) for i in ("cart_abandonment", "email_open_rate", "push_opt_in_ios",
                                             "device_gap", "attributed_recovery", "reminder_timing")] == [
        "70.19%", "50.5%", "51%", "12.58 pp", "3%–15%", "3.6×–4.0×"]
    assert table.band(by["cart_abandonment"]) == "67.19%–73.19%"
    assert table.band(by["reminder_timing"]) == "2.5×–5.5×"
    assert table.tolerance(by["email_click_rate"]) == "± 3 pp"


def _calibration(values_by_id: dict[str, list[float | None]], seeds=(7, 8, 9)) -> runner.Calibration:
    rows = tuple(runner.Row(A.BY_ID[i], tuple(v), (ratio_spread if A.BY_ID[i].unit == "ratio" else spread)(
        [x for x in v if x is not None])) for i, v in values_by_id.items())
    return runner.Calibration("tiny", "tiny.yaml", tuple(seeds), rows, (A.BY_ID["reminder_timing"],))


def test_rows_markdown_and_json_of_a_calibration():
    cal = _calibration({"cart_abandonment": [0.70, 0.71, 0.72], "reminder_timing": [6.0, 7.0, None]})
    rows = table.cells(cal)
    assert rows[0][:3] == ["✓", "cart abandonment rate", "71.0% ± 1.0 pp"]
    assert rows[0][4:6] == ["70.19%", "67.19%–73.19%"]
    # A ratio: the geometric mean of 6 and 7 (6.48) and its spread as a factor, on logarithms.
    assert rows[1][0] == "✗" and rows[1][2] == "6.5× ×/÷ 1.12 (2 of 3 seeds)"
    assert not cal.inside
    md = table.markdown(cal)
    assert "| in band | anchor | measured (mean ± sd) |" in md and "| ✗ | first reminder at 1 h vs 24 h" in md
    doc = table.document(cal)
    assert [a["id"] for a in doc["anchors"]] == ["cart_abandonment", "reminder_timing"]
    first = doc["anchors"][0]
    assert first["values"] == [0.70, 0.71, 0.72] and first["mean"] == pytest.approx(0.71)
    assert first["anchor"] == 0.7019 and (first["band_low"], first["band_high"]) == (0.6719, 0.7319)
    assert first["inside"] is True and first["source"]["publisher"] == "Baymard Institute"
    assert doc["anchors"][1]["anchor"] == [3.6, 4.0] and doc["anchors"][1]["values"][2] is None
    assert doc["not_applicable"][0]["id"] == "reminder_timing"
    json.dumps(doc, allow_nan=False)


# --- the docs cannot drift from anchors.py ---------------------------------------------------------------

def test_every_anchor_is_in_the_docs_with_its_published_value():
    text = DOC.read_text(encoding="utf-8")
    rows = {line.split(" | ")[0].strip("| `"): line for line in text.splitlines() if line.startswith("| `")}
    for a in A.ANCHORS:
        assert a.id in rows, f"docs/calibration.md has no row for {a.id}"
        cells = [c.strip() for c in rows[a.id].strip("|").split(" | ")]
        assert cells[2] == table.published(a), f"{a.id}: the docs say {cells[2]}, anchors.py {table.published(a)}"
        assert cells[3].startswith(table.band(a)), f"{a.id}: the docs' band is {cells[3]}"


def test_the_docs_hold_the_generated_anchor_table():
    assert table.anchors_markdown() in DOC.read_text(encoding="utf-8"), \
        "docs/calibration.md is out of date: paste the output of `python -m shopsim.calibrate.table`"


# --- the command -----------------------------------------------------------------------------------------

@pytest.fixture
def tiny(tmp_path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(tiny_scenario(as_text=True))
    return path


def calibrate(*args):
    return CliRunner().invoke(main, ["calibrate", *map(str, args)], catch_exceptions=False)


def test_the_same_json_whatever_the_number_of_workers(tiny):
    one = calibrate(tiny, "--seeds", 2, "--workers", 1, "--format", "json")
    two = calibrate(tiny, "--seeds", 2, "--workers", 2, "--format", "json")
    assert one.exit_code == two.exit_code and one.exit_code in (0, 1), one.output
    assert one.stdout == two.stdout
    doc = json.loads(one.stdout)
    assert doc["seeds"] == [1, 2] and doc["scenario"] == "tiny"
    assert all(len(a["values"]) == 2 for a in doc["anchors"])
    assert "cart_abandonment" in [a["id"] for a in doc["anchors"]]


def test_seeds_are_played_as_replay_plays_them(tiny):
    from shopsim.metrics.kpis import Metrics
    from shopsim.validate import load_scenario
    from shopsim.simulation import Simulation

    doc = json.loads(calibrate(tiny, "--seeds", 2, "--workers", 1, "--format", "json", "--only",
                               "cart_abandonment").stdout)
    model = load_scenario(tiny)
    expected = []
    for seed in (1, 2):
        sim, m = Simulation(model, seed, keep_messages=False), Metrics()
        sim.subscribe(m)
        sim.run()
        expected.append(m.result()["commerce"]["abandonment_rate"])
    assert doc["anchors"][0]["values"] == expected


def test_a_tiny_scenario_is_off_anchor_exit_1(tiny):
    res = calibrate(tiny, "--seeds", 2, "--workers", 1)
    assert res.exit_code == 1, res.output
    assert "✗" in res.stdout and "outside:" in res.stdout and "calibration of tiny" in res.stdout
    assert "± " in res.stdout and " pp" in res.stdout


def test_exit_0_when_every_anchor_is_inside(tiny, monkeypatch):
    import shopsim.cli.calibrate as command

    wide = dataclasses.replace(A.BY_ID["cart_abandonment"], band=(0.0, 1.0))
    monkeypatch.setattr(command, "ANCHORS", (wide,))
    res = calibrate(tiny, "--seeds", 2, "--workers", 1, "--only", "cart_abandonment", "--format", "json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["inside"] is True


def test_only_limits_the_rows(tiny):
    res = calibrate(tiny, "--seeds", 1, "--workers", 1, "--only", "cart_abandonment")
    assert "cart abandonment rate" in res.stdout and "push opt-in" not in res.stdout
    assert "checkout reason" not in res.stdout
    doc = json.loads(calibrate(tiny, "--seeds", 1, "--workers", 1, "--format", "json", "--only",
                               "cart_abandonment").stdout)
    assert [a["id"] for a in doc["anchors"]] == ["cart_abandonment"] and doc["not_applicable"] == []
    patterns = json.loads(calibrate(tiny, "--seeds", 1, "--workers", 1, "--format", "json", "--only",
                                    "reason_*, push_opt_in_ios").stdout)
    ids = [a["id"] for a in patterns["anchors"]] + [a["id"] for a in patterns["not_applicable"]]
    assert set(ids) == {f"reason_{n}" for n, _, _ in A.CHECKOUT_REASONS} | {"push_opt_in_ios"}


def test_markdown_format(tiny):
    res = calibrate(tiny, "--seeds", 2, "--workers", 2, "--format", "md", "--only", "cart_abandonment")
    lines = res.stdout.splitlines()
    assert lines[0].startswith("Calibration of tiny")
    assert "| in band | anchor | measured (mean ± sd) | 95% CI of the mean | published | band | source |" in lines
    assert any(line.startswith("| ✓ | cart abandonment rate |") or line.startswith("| ✗ | cart abandonment rate |")
               for line in lines)


def test_bad_file_exit_2_with_a_located_message(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema_version: 1\nrun: {name: x, seed: -1}\npopulation: {size: 0}\n")
    res = calibrate(bad, "--seeds", 2)
    assert res.exit_code == 2 and res.stdout == ""
    assert f"{bad}:2:" in res.stderr and "run.seed" in res.stderr and "Traceback" not in res.output
    missing = calibrate(tmp_path / "nowhere.yaml")
    assert missing.exit_code == 2 and "nowhere.yaml:0:0: -: no such file" in missing.stderr


@pytest.mark.parametrize("args, message", [
    (["--seeds", "0"], "Invalid value for '--seeds'"),
    (["--workers", "0"], "Invalid value for '--workers'"),
    (["--only", "cart_abandonmnt"], "did you mean 'cart_abandonment'?"),
    (["--only", "nothing_*"], "unknown anchor 'nothing_*'"),
])
def test_bad_options_exit_2(tiny, args, message):
    res = calibrate(tiny, *args)
    assert res.exit_code == 2 and message in res.stderr and res.stdout == ""


def test_seeds_past_the_largest_seed_exit_2(tmp_path):
    path = tmp_path / "big_seed.yaml"
    path.write_text(tiny_scenario(as_text=True, run={"seed": 2**63 - 2}))
    res = calibrate(path, "--seeds", 3)
    assert res.exit_code == 2 and "largest seed" in res.stderr


def test_a_worker_refuses_a_scenario_that_changed(tiny, monkeypatch):
    monkeypatch.setattr(runner, "_worker_model", None)
    with pytest.raises(runner.ScenarioChanged):
        runner._worker_seed(str(tiny), "not the digest it started with", 1, ("cart_abandonment",))
    values = runner._worker_seed(str(tiny), runner._digest(tiny), 1, ("cart_abandonment",))
    assert isinstance(values[0], float)


def test_the_calibrate_package_imports_no_front_end():
    code = ("import sys, shopsim.calibrate.anchors, shopsim.calibrate.runner, shopsim.calibrate.table\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual' or m.startswith('shopsim.cli')"
            " or m.startswith('shopsim.tui')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


@pytest.mark.skipif(not Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists(),
                    reason="reads a process's children from /proc")
@pytest.mark.parametrize(("sig", "code", "said"), [(signal.SIGINT, 130, "interrupted (Ctrl-C)"),
                                                   (signal.SIGTERM, 143, "terminated")])
def test_a_signal_to_the_group_stops_the_workers_and_exits_128_plus_it(tmp_path, sig, code, said):
    path = tmp_path / "slow.yaml"
    path.write_text(tiny_scenario(size=3000, duration="14d", as_text=True))
    proc = subprocess.Popen([sys.executable, "-m", "shopsim", "calibrate", str(path), "--seeds", "4",
                             "--workers", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path, start_new_session=True)
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    deadline = time.monotonic() + 120  # a bound on waiting for the workers, not a timing assertion
    while time.monotonic() < deadline and proc.poll() is None:
        if children.exists() and len(children.read_text().split()) >= 2:  # both workers are playing
            break
        time.sleep(0.02)
    workers = children.read_text().split() if proc.poll() is None else []
    assert workers, "the calibration ended before its workers could be interrupted"
    os.killpg(proc.pid, sig)  # what Ctrl-C (or `timeout`, or a CI cancel) does: the whole group
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert said in err and "Traceback" not in err and out == ""
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


def test_a_ratio_is_summarised_on_logarithms():
    """Per-seed ratios of two noisy rates are skewed: the geometric mean is not pulled up by a seed whose
    denominator came out small, and its interval is symmetric on a log scale."""
    from shopsim.calibrate.stats import ratio_spread

    s = ratio_spread([2.0, 8.0])
    assert s.mean == pytest.approx(4.0) and s.sd == pytest.approx(math.exp(math.log(4) / math.sqrt(2)))
    assert s.ci_low * s.ci_high == pytest.approx(16.0)
    assert ratio_spread([0.0, 3.0]).mean == pytest.approx(1.5)  # a zero cannot be logged: the plain mean
