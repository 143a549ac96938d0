"""`shopsim diff`: the KPIs that differ between two runs and their first behavioural difference."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers.scenarios import tiny_scenario
from shopsim.cli import main
from shopsim.metrics.catalog import METRICS

FLOW = {"reminder": {"trigger": "cart.abandoned", "category": "cart_reminders",
                     "steps": [{"after": "1h", "channel": "email"}, {"after": "6h", "channel": "push"}]}}
COMPARED = [name for name, d in METRICS.items() if d.section != "experiment"]


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("diff")
    out = {}
    later = {"reminder": {**FLOW["reminder"], "steps": [{"after": "3h", "channel": "email"}]}}
    for name, seed, flows, db in (("one", 1, FLOW, True), ("two", 2, FLOW, False), ("later", 1, later, False)):
        scenario = folder / f"{name}.yaml"
        scenario.write_text(tiny_scenario(size=30, duration="2d", seed=seed, name="tiny", as_text=True, flows=flows))
        log = folder / f"{name}.jsonl"
        args = ["--db", folder / f"{name}.db"] if db else ["--no-db"]
        res = invoke("replay", scenario, "--log", log, *args, "--quiet")
        assert res.exit_code == 0, res.output
        out[name] = log
    out["db"] = folder / "one.db"
    lines = out["one"].read_bytes().splitlines(keepends=True)
    out["cut"] = folder / "cut.jsonl"
    out["cut"].write_bytes(b"".join(lines[:-40]))
    out["folder"] = folder
    return out


def test_a_run_against_itself_has_no_difference(runs):
    res = invoke("diff", runs["one"], runs["db"])  # a log against its own database
    assert res.exit_code == 0, res.output
    assert "No KPI differs (of " in res.stdout
    assert "no behavioural difference: the logs are the same event for event" in res.stdout
    assert "run.started differs" not in res.stdout
    data = json.loads(invoke("diff", runs["one"], runs["one"], "--format", "json").stdout)
    assert data["metrics"] == [] and data["divergence"] is None and data["run_started_differs"] == []
    assert data["a"]["kind"] == "log" and data["a"]["seed"] == 1


def test_two_seeds_show_differing_kpis_and_the_first_divergence(runs):
    res = invoke("diff", runs["one"], runs["two"])
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert "run.started differs: seed 1 → 2." in out
    assert re.search(r"^metric\s+A\s+B\s+B − A\s+change$", out, re.M)
    assert re.search(r"^Visits\s+\d+\s+\d+\s+[+-]\d+\s+[+-][\d.]+%$", out, re.M)
    # run.started is compared on its own: the first behavioural difference is the first shopper
    assert "first difference at line 2 (2026-03-02T00:00:00.000Z, s000001): fields" in out
    assert f"--- {runs['one']}" in out and f"+++ {runs['two']}" in out
    assert re.search(r'^- \{"city":', out, re.M) and re.search(r'^\+ \{"city":', out, re.M)


def test_same_header_different_behaviour(runs):
    """Same scenario name and seed, a later reminder: the logs part where the first reminder is sent."""
    res = invoke("diff", runs["one"], runs["later"], "--format", "json")
    data = json.loads(res.stdout)
    assert data["run_started_differs"] == []
    d = data["divergence"]
    assert d["line"] > 31 and len(d["before"]) == 3  # after the 30 shoppers, with the context before it
    assert "notification" in (d["a"] or "") + (d["b"] or "")
    names = {m["name"] for m in data["metrics"]}
    assert "requested" in names  # one reminder step instead of two
    text = invoke("diff", runs["one"], runs["later"]).stdout
    assert "run.started differs" not in text and f"first difference at line {d['line']} (" in text


def test_json_shape(runs):
    res = invoke("diff", runs["one"], runs["two"], "--format", "json", "--context", "1")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert set(data) == {"a", "b", "headline", "by_device", "metrics", "experiments", "divergence",
                         "run_started_differs"}
    assert data["run_started_differs"] == ["seed"]
    fields = {"name", "label", "kind", "a", "b", "diff", "relative"}
    assert data["metrics"] and all(set(m) == fields for m in data["metrics"])
    assert data["headline"] and all(set(m) == fields for m in data["headline"])
    assert data["by_device"] and all(set(m) == fields | {"device"} for m in data["by_device"])
    assert all(m["a"] != m["b"] for m in data["metrics"])
    visits = next(m for m in data["metrics"] if m["name"] == "visits")
    assert visits["diff"] == visits["b"] - visits["a"]
    assert visits["relative"] == pytest.approx(visits["diff"] / visits["a"])
    d = data["divergence"]
    # the run.started lines differ (reported apart), so the comparison starts at line 2: no context before
    assert d["line"] == 2 and d["shape"] == "changed" and d["before"] == [] and len(d["after_a"]) == 1
    assert json.loads(d["a"])["type"] == "shopper.created" and d["text"].startswith("first difference at line 2")


def test_all_lists_every_metric(runs):
    data = json.loads(invoke("diff", runs["one"], runs["one"], "--format", "json", "--all").stdout)
    assert [m["name"] for m in data["metrics"]] == COMPARED
    assert all(m["diff"] in (0, None) for m in data["metrics"])
    text = invoke("diff", runs["one"], runs["two"], "--all").stdout
    labels = [m["label"] for m in data["metrics"]]
    assert all(" ".join(label.split()[:2]) in text for label in labels)


def test_markdown(runs):
    md = invoke("diff", runs["one"], runs["two"], "--format", "md").stdout
    assert md.startswith("# shopsim diff\n")
    assert "| metric | A | B | B − A | relative change |" in md and "\n```diff\nfirst difference at line 2" in md
    assert "## Headline" in md and "## By device" in md
    assert md.rstrip().endswith("```")


def test_a_prefix_ends_early(runs):
    res = invoke("diff", runs["one"], runs["cut"], "--context", "2")
    assert res.exit_code == 0, res.output
    n = len(runs["cut"].read_bytes().splitlines())
    assert f"{runs['cut']} ends after line {n} without a run.finished line" in res.stdout
    assert "incomplete, up to" in res.stdout
    d = json.loads(invoke("diff", runs["one"], runs["cut"], "--format", "json", "--context", "2").stdout)["divergence"]
    assert d["line"] == n + 1 and d["shape"] == "ended" and d["b"] is None and len(d["before"]) == 2
    assert d["a"] == runs["one"].read_bytes().splitlines()[n].decode()


def test_bad_input_exits_2_with_one_line(runs, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a log\n")
    lines = runs["one"].read_bytes().splitlines(keepends=True)
    corrupt = tmp_path / "corrupt.jsonl"
    corrupt.write_bytes(b"".join(lines[:3]) + b"{oops\n")
    for other, fragment in ((tmp_path / "missing.jsonl", "no run file at"), (text, "is not a shopsim event log"),
                            (tmp_path, "is a directory"), (corrupt, "corrupt.jsonl:4: not a JSON object")):
        for args in ((runs["one"], other), (other, runs["db"])):
            res = invoke("diff", *args)
            assert res.exit_code == 2, res.output
            err = res.stderr.strip()
            assert "\n" not in err and err.startswith("shopsim: ") and fragment in err, err
            assert res.stdout == ""


SIGNED_ZERO = re.compile(r"[-−+]0(?:\.0+)?(?![\d.])")


def test_identical_runs_show_no_signed_zero_in_any_format(runs):
    for fmt in ("text", "md", "json"):
        out = invoke("diff", runs["one"], runs["db"], "--all", "--format", fmt).stdout
        assert "-0.0" not in out and "−0.0" not in out, fmt
        assert not SIGNED_ZERO.search(out.replace(str(runs["one"]), "A").replace(str(runs["db"]), "B")), \
            (fmt, SIGNED_ZERO.findall(out)[:5])
    text = invoke("diff", runs["one"], runs["db"], "--all").stdout
    assert re.search(r"^Cart abandonment \(Baymard: 1 − orders ÷ carts\)\s+[\d.]+%\s+[\d.]+%\s+0\.00 pp$", text, re.M)


def test_headline_and_devices_in_words_with_rate_differences_in_pp(runs):
    res = invoke("diff", runs["one"], runs["two"])
    text = res.stdout
    data = json.loads(invoke("diff", runs["one"], runs["two"], "--format", "json").stdout)
    for heading in ("Headline", "By device", "KPIs"):
        assert re.search(rf"^{heading} ─", text, re.M), heading
    kpis = text[text.index("Headline ─"):text.index("First behavioural difference")]
    assert not re.findall(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b", kpis)  # words, not keys
    for row in data["headline"] + data["metrics"] + data["by_device"]:
        if row["kind"] in ("rate", "pp") and row["diff"] is not None:
            diff = f"{row['diff'] * 100:+.2f} pp".replace("+0.00 pp", "0.00 pp").replace("-0.00 pp", "0.00 pp")
            assert diff in kpis, row["name"]
    for line in kpis.splitlines():  # a rate's A and B are "%", its B − A is "pp", never "%"
        m = re.search(r"\s([\d.]+%)\s+([\d.]+%)\s+(\S+(?: pp)?)(?:\s+\S+)?$", line)
        if m:
            assert m.group(3).endswith("pp") or line.rstrip().endswith("pp"), line
    app = next(r for r in data["by_device"] if r["device"] == "app" and r["name"] == "conversion_rate")
    assert app["diff"] == pytest.approx(app["b"] - app["a"])
    assert re.search(r"^App\s+visits\s+[\d,]+\s+[\d,]+\s+(?:[+-][\d,]+|0)$", text, re.M)


def test_experiments_side_by_side(tmp_path):
    """Each comparison of arms on the experiment's metric: uplift and 95% interval in A and in B, B − A."""
    experiment = {"trial": {"metric": "conversion", "control": "none",
                            "variants": {"none": {"holdout": True}, "a": {"flows": ["reminder"]},
                                         "b": {"flows": ["later"]}}}}
    flows = {**FLOW, "later": {**FLOW["reminder"], "steps": [{"after": "3h", "channel": "email"}]}}
    logs = []
    for seed in (1, 2):
        scenario = tmp_path / f"e{seed}.yaml"
        scenario.write_text(tiny_scenario(size=80, duration="2d", seed=seed, name="trial", as_text=True,
                                          flows=flows, experiments=experiment))
        logs.append(tmp_path / f"e{seed}.jsonl")
        assert invoke("replay", scenario, "--log", logs[-1], "--no-db", "--quiet").exit_code == 0
    data = json.loads(invoke("diff", *logs, "--format", "json").stdout)
    assert [(r["experiment"], r["variant"], r["against"], r["named"]) for r in data["experiments"]] == \
        [("trial", "a", "none", False), ("trial", "b", "none", False), ("trial", "b", "a", False)]
    row = data["experiments"][0]
    ra, rb = (json.loads(invoke("report", log, "--format", "json").stdout) for log in logs)
    ca, cb = (next(c for c in r["experiments"]["trial"]["comparisons"] if c["primary"]) for r in (ra, rb))
    assert (row["diff_a"], row["low_a"], row["diff_b"], row["high_b"]) == (ca["diff"], ca["low"], cb["diff"],
                                                                           cb["high"])
    assert row["change"] == pytest.approx(cb["diff"] - ca["diff"])
    text = invoke("diff", *logs).stdout
    assert "Experiments" in text and "trial: b against a" in " ".join(text.split())
    md = invoke("diff", *logs, "--format", "md").stdout
    assert "## Experiments" in md
    plain = json.loads(invoke("diff", runs_without_experiments(tmp_path), runs_without_experiments(tmp_path),
                              "--format", "json").stdout)
    assert plain["experiments"] == []


def runs_without_experiments(folder: Path) -> Path:
    log = folder / "plain.jsonl"
    if not log.exists():
        scenario = folder / "plain.yaml"
        scenario.write_text(tiny_scenario(size=10, duration="1d", as_text=True))
        assert invoke("replay", scenario, "--log", log, "--no-db", "--quiet").exit_code == 0
    return log
