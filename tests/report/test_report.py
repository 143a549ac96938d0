"""`shopsim report`: every format of the KPI report, from a log or a database, and its errors."""

from __future__ import annotations

import gzip
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers.scenarios import tiny_scenario
from shopsim.cli import main
from shopsim.metrics.catalog import METRICS
from shopsim.metrics.kpis import Metrics
from shopsim.store.runfile import open_run
from shopsim.report.render import console, plain, print_table
from shopsim.report.tables import Table, human_duration

FLOW = {"reminder": {"trigger": "cart.abandoned", "category": "cart_reminders",
                     "steps": [{"after": "1h", "channel": "email"},
                               {"after": "6h", "channel": "push", "when": {"clicked": False},
                                "incentive": {"type": "percent", "value": 10, "valid": "48h", "prefix": "CART"}}]}}
CAMPAIGNS = {"promo": {"kind": "promotion", "at": "20h", "channels": ["email", "in_app"], "title": "Deals"}}
EXPERIMENT = {"cart_incentive": {"metric": "recovery", "control": "holdout",
                                 "variants": {"holdout": {"holdout": True}, "reminder": {"flows": ["reminder"]}}}}


def invoke(*args):
    res = CliRunner().invoke(main, [str(a) for a in args])
    return res


def replay(folder: Path, text: str, name: str, db: bool = True) -> tuple[Path, Path]:
    scenario = folder / f"{name}.yaml"
    scenario.write_text(text)
    log, db_path = folder / f"{name}.jsonl", folder / f"{name}.db"
    res = invoke("replay", scenario, "--log", log, *(("--db", db_path) if db else ("--no-db",)), "--quiet")
    assert res.exit_code == 0, res.output
    return log, db_path


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("report")
    log, db = replay(folder, tiny_scenario(size=40, duration="3d", name="shop", as_text=True, flows=FLOW,
                                           campaigns=CAMPAIGNS, ads={"enabled": True}), "shop")
    exp_log, _ = replay(folder, tiny_scenario(size=120, duration="3d", name="exp", seed=3, as_text=True,
                                              flows=FLOW, experiments=EXPERIMENT), "exp", db=False)
    lines = log.read_bytes().splitlines(keepends=True)
    cut = folder / "cut.jsonl"
    cut.write_bytes(b"".join(lines[:len(lines) * 2 // 3]))
    return {"log": log, "db": db, "exp": exp_log, "cut": cut, "folder": folder}


def expected(path: Path) -> dict:
    return json.loads(json.dumps(Metrics.of(open_run(path).events()).result()))


def test_json_is_the_metrics_result_exactly(runs):
    res = invoke("report", runs["log"], "--format", "json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == expected(runs["log"])
    text = res.stdout
    assert text == json.dumps(json.loads(text), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    data = json.loads(text)
    assert data["messages"]["requested"] > 0 and data["commerce"]["currency"] == "USD"
    assert data["run"]["complete"] is True and data["ads"]["impressions"] > 0


def test_a_database_reports_the_same_as_its_log(runs):
    for fmt in ("json", "md"):
        a = invoke("report", runs["log"], "--format", fmt).stdout
        b = invoke("report", runs["db"], "--format", fmt).stdout
        if fmt == "md":  # the run file's own name is the one difference
            a, b = a.replace(str(runs["log"]), "RUN"), b.replace(str(runs["db"]), "RUN")
        assert a == b


def test_text_report_has_every_section_and_fits_100_columns(runs):
    res = invoke("report", runs["log"])
    assert res.exit_code == 0, res.output
    out = res.stdout
    for heading in ("Run", "Shoppers", "Cart funnel and recovery", "By device", "Why carts were abandoned",
                    "Time to recovery", "Messages", "Suppression reasons", "Ads"):
        assert re.search(rf"^{heading} ─", out, re.M), heading
    r = expected(runs["log"])
    assert f"{r['commerce']['visits']:,}" in out and "USD" in out
    assert "Delivery by channel" in out and "Opens by category" in out and "Recipients by channel" in out
    assert max(len(line) for line in out.splitlines()) <= 100
    assert "…" not in out  # no cell is cut: a table too wide is split
    assert "\x1b[" not in out and "warning" not in out


def test_text_to_a_file_is_plain(runs, tmp_path):
    out = tmp_path / "r.txt"
    res = invoke("report", runs["log"], "--out", out)
    assert res.exit_code == 0 and res.stdout == ""
    assert out.read_text() == invoke("report", runs["log"]).stdout


def test_markdown_has_the_tables(runs):
    res = invoke("report", runs["log"], "--format", "md")
    assert res.exit_code == 0, res.output
    md = res.stdout
    assert md.startswith("# shop (seed 1)\n")
    for heading in ("## Cart funnel and recovery", "## By device", "## Why carts were abandoned", "## Messages",
                    "## Suppression reasons", "## Ads"):
        assert heading in md
    assert "|   | carts | share | of |" in md and "|---|---:|---:|---|" in md
    assert "| channel | requested | delivered | deferred | digested | suppressed | delivered ÷ requested |" in md
    # every table row has as many cells as its header
    for block in re.findall(r"(?:^\|.*\|\n)+", md, re.M):
        rows = block.strip().split("\n")
        widths = {len(re.split(r"(?<!\\)\|", row)) for row in rows}
        assert len(widths) == 1, rows[0]


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.srcs, self.stack = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.srcs += [v for k, v in attrs if k in ("src", "href") and v and not v.startswith("#")]
        if tag not in ("meta", "br", "circle", "rect", "line", "path"):
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)

    def handle_endtag(self, tag):
        if tag in ("meta", "br", "circle", "rect", "line", "path"):
            return
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-3:])
        self.stack.pop()


def test_html_is_one_self_contained_page(runs, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = invoke("report", runs["log"], "--format", "html")
    assert res.exit_code == 0, res.output
    page = tmp_path / "shop-seed1.report.html"  # <scenario>-seed<N> in the current folder
    assert page.exists() and "shop-seed1.report.html" in res.stderr
    text = page.read_text()
    parser = _Page()
    parser.feed(text)
    parser.close()
    assert not parser.stack and not parser.srcs
    assert {"table", "svg", "style"} <= set(parser.tags)
    assert "<script" not in text and "<link" not in text
    assert text.count("<svg") >= 5  # funnel, recovery over time, time to recovery, messages per day, reasons
    assert 'class="chart funnel"' in text and "Cart funnel: created → reached checkout → ordered" in text
    assert set(re.findall(r"https?://[^\s\"'<>]*", text)) == {"http://www.w3.org/2000/svg"}
    assert "Messages delivered per day" in text and "ads" in text
    same = invoke("report", runs["log"], "--format", "html", "--out", "-")
    assert same.stdout == text


def test_metrics_lists_every_name(runs):
    res = invoke("report", "--metrics")
    assert res.exit_code == 0, res.output
    names = {line.split()[0] for line in res.stdout.splitlines() if line and line[0].isalpha()}
    assert set(METRICS) <= names
    listed = json.loads(invoke("report", "--metrics", "--format", "json").stdout)
    assert [m["name"] for m in listed] == list(METRICS)
    assert all(m["kind"] and m["description"] for m in listed)
    md = invoke("report", "--metrics", "--format", "md").stdout
    assert all(f"| {name} |" in md for name in METRICS)


def test_incomplete_log_is_reported_with_a_warning(runs):
    res = invoke("report", runs["cut"])
    assert res.exit_code == 0, res.output
    assert "warning: incomplete run: figures cover up to 2026-03-0" in res.stdout
    assert "complete          no" in res.stdout
    js = invoke("report", runs["cut"], "--format", "json")
    assert json.loads(js.stdout)["run"]["complete"] is False
    assert "incomplete run" in js.stderr
    assert "> **Warning:** incomplete run" in invoke("report", runs["cut"], "--format", "md").stdout


def test_experiment_shows_arms_and_verdicts(runs, tmp_path):
    res = invoke("report", runs["exp"])
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert "Experiment: cart_incentive ─" in out
    assert "holdout (control)" in out and "reminder" in out
    assert "reminder (variant) against holdout (control)" in out
    result = expected(runs["exp"])
    verdicts = [c["verdict"] for c in result["experiments"]["cart_incentive"]["comparisons"]]
    flat = " ".join(out.split())
    assert len(verdicts) == 4 and all(" ".join(v.split()) in flat for v in verdicts)
    html = tmp_path / "exp.html"
    assert invoke("report", runs["exp"], "--format", "html", "--out", html).exit_code == 0
    assert 'class="chart interval"' in html.read_text()


def _one_line_error(res, fragment: str):
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    err = res.stderr.strip()
    assert "\n" not in err and "Traceback" not in err
    assert err.startswith("shopsim: ") and fragment in err, err


def test_errors_are_one_line_and_exit_2(runs, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    lines = runs["log"].read_bytes().splitlines(keepends=True)
    corrupt = tmp_path / "corrupt.jsonl"
    corrupt.write_bytes(b"".join(lines[:5]) + b'{"seq": 6, oops\n' + b"".join(lines[6:10]))
    broken_gz = tmp_path / "broken.jsonl.gz"
    broken_gz.write_bytes(gzip.compress(runs["log"].read_bytes())[:3000])
    cases = [(tmp_path / "missing.jsonl", "no run file at"), (text, "is not a shopsim event log"),
             (corrupt, "corrupt.jsonl:6: not a JSON object"), (tmp_path, "is a directory"),
             (broken_gz, "cut short or damaged")]
    for path, fragment in cases:
        for fmt in ("text", "json", "html"):
            _one_line_error(invoke("report", path, "--format", fmt, "--out", tmp_path / "x.out"), fragment)
    assert not (tmp_path / "x.out").exists()
    _one_line_error(invoke("report"), "report needs a RUN")
    _one_line_error(invoke("report", runs["log"], "--out", tmp_path / "no" / "such" / "r.txt"), "cannot write")
    _one_line_error(invoke("report", runs["log"], "--out", tmp_path), "is a directory")


def test_a_table_too_wide_for_100_columns_is_split_not_cut():
    arms = [f"arm_with_a_long_name_{i}" for i in range(6)]
    table = Table("Arms", ["", *arms], [["recovery: shoppers", *(f"{i * 100:,} / 9,999 (12.3%)" for i in range(6))]])
    import io
    buf = io.StringIO()
    print_table(console(buf), table)
    out = plain(buf.getvalue())
    assert max(len(line) for line in out.splitlines()) <= 100
    assert all(arm in out for arm in arms) and "…" not in out
    assert "Arms (continued)" in out and out.count("recovery: shoppers") >= 2


def test_durations_read_in_two_units():
    assert [human_duration(ms) for ms in (None, 0, 450, 40_000, 90_000, 3_600_000, 5_400_000, 86_400_000,
                                          2 * 86_400_000 + 23 * 60_000)] == \
        ["—", "0s", "450ms", "40s", "1m 30s", "1h", "1h 30m", "1d", "2d 0h"]
