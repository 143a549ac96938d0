"""`shopsim sweep` as a user runs it: the grid, the formats, the cache, parallel and serial runs agreeing,
each run being the run `shopsim replay --set ... --seed S` makes, bad input refused before anything runs."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from shopsim.cli import main
from shopsim.metrics.kpis import Metrics
from shopsim.store.runfile import open_run
from shopsim.sweep import execute
from shopsim.sweep.cache import Cache
from shopsim.sweep.grid import axes_of, points_of
from shopsim.sweep.play import measure, run_key

FIXTURE = str(Path(__file__).resolve().parents[1] / "fixtures" / "sweep_small.yaml")
DELAY = "flows.reminder.steps[0].after"


def sweep(*args: str, cache: Path | None = None) -> tuple[int, str, str]:
    extra = ["--cache", str(cache)] if cache is not None else ["--no-cache"]
    r = CliRunner().invoke(main, ["sweep", FIXTURE, *extra, *args], catch_exceptions=False)
    return r.exit_code, r.stdout, r.stderr


def as_json(*args: str, cache: Path | None = None) -> dict:
    code, out, err = sweep("--format", "json", *args, cache=cache)
    assert code == 0, err
    return json.loads(out)


def test_each_run_is_the_run_replay_makes_with_that_override_and_seed(tmp_path):
    doc = as_json("--seeds", "2", "--set", f"{DELAY}=1h,24h", "--workers", "1",
                  "--metric", "recovery_rate,delivered,recovery")
    log = tmp_path / "r.jsonl"
    r = CliRunner().invoke(main, ["replay", FIXTURE, "--set", f"{DELAY}=24h", "--seed", "4", "--no-db",
                                  "--log", str(log), "-q"], catch_exceptions=False)
    assert r.exit_code == 0, r.stderr
    from_log = measure(Metrics.of_run(open_run(log)), 0)
    runs = [x for x in doc["runs"] if x[DELAY] == "24h" and x["seed"] == 4]
    assert len(runs) == 2 * 3  # two arms, three metrics
    for x in runs:
        scope = from_log["kpis"] if not x["arm"] else from_log["arms"][x["arm"]]
        assert x["value"] == scope[x["metric"]], x


def test_results_do_not_depend_on_workers_or_on_the_cache(tmp_path):
    args = ("--seeds", "3", "--set", f"{DELAY}=1h,24h")
    serial = as_json(*args, "--workers", "1")
    parallel = as_json(*args, "--workers", "2")
    assert serial["summary"] == parallel["summary"] and serial["runs"] == parallel["runs"]
    cold = as_json(*args, "--workers", "2", cache=tmp_path)
    warm = as_json(*args, "--workers", "2", cache=tmp_path)
    assert cold["cached"] == 0 and warm["cached"] == 6
    assert cold["runs"] == warm["runs"] == serial["runs"] and warm["summary"] == serial["summary"]


def test_more_seeds_play_only_the_new_runs(tmp_path):
    as_json("--seeds", "2", cache=tmp_path)
    more = as_json("--seeds", "3", cache=tmp_path)
    assert more["cached"] == 2 and more["seeds"] == [3, 4, 5]
    files = sorted(p.name for p in tmp_path.rglob("*.json"))
    assert len(files) == 3


def test_the_cache_key_changes_with_everything_that_changes_a_run():
    text = Path(FIXTURE).read_bytes()
    [a, b] = points_of(axes_of([f"{DELAY}=1h,4h"]))
    keys = {run_key(text, a.settings, 3), run_key(text, b.settings, 3), run_key(text, a.settings, 4),
            run_key(text + b"\n", a.settings, 3), run_key(text, (), 3)}
    assert len(keys) == 5
    assert run_key(text, a.settings, 3) == run_key(text, a.settings, 3)


def test_a_damaged_cache_file_is_played_again(tmp_path):
    first = as_json("--seeds", "1", cache=tmp_path)
    [f] = list(tmp_path.rglob("*.json"))
    f.write_text("{not json")
    again = as_json("--seeds", "1", cache=tmp_path)
    assert again["cached"] == 0 and again["runs"] == first["runs"]
    assert json.loads(f.read_text())["kpis"]


def test_ctrl_c_keeps_the_runs_that_finished(tmp_path):
    text = Path(FIXTURE).read_text()
    points = points_of(axes_of([f"{DELAY}=1h,24h"]))
    cache = Cache(tmp_path)

    def on_done(n: int) -> None:
        if n == 1:
            raise KeyboardInterrupt

    with pytest.raises(execute.Interrupted) as e:
        execute.run_sweep(text, FIXTURE, points, (3, 4), workers=1, cache=cache, on_done=on_done)
    assert len(e.value.outcome.results) == 1
    assert len(list(tmp_path.rglob("*.json"))) == 1
    out = execute.run_sweep(text, FIXTURE, points, (3, 4), workers=1, cache=cache)
    assert out.cached == 1 and out.played == 3


def test_the_table_names_rows_means_intervals_and_pairs():
    code, out, _ = sweep("--seeds", "2", "--set", f"{DELAY}=1h,24h", "--workers", "1")
    assert code == 0
    assert "Sweep of sweep_small: 2 points × 2 seeds" in out
    for label in ("after=1h · holdout", "after=24h · reminder", "95% interval", "p (Holm)"):
        assert label in out
    assert "identical" in out  # the holdout gets no reminder whatever its delay
    assert "Traceback" not in out


def test_csv_and_parquet_are_the_tidy_per_run_table(tmp_path):
    code, out, _ = sweep("--seeds", "2", "--set", f"{DELAY}=1h,24h", "--format", "csv", "--metric", "recovery")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["point", "label", DELAY, "arm", "seed", "metric", "value"]
    assert len(rows) == 2 * 2 * 2  # points × arms × seeds, one metric
    assert {r["arm"] for r in rows} == {"nudge/holdout", "nudge/reminder"}
    pq = pytest.importorskip("pyarrow.parquet")
    target = tmp_path / "runs.parquet"
    code, _, err = sweep("--seeds", "2", "--set", f"{DELAY}=1h,24h", "--format", "parquet", "--out", str(target),
                         "--metric", "recovery")
    assert code == 0, err
    table = pq.read_table(target).to_pylist()
    assert [(r["seed"], r["value"]) for r in table] == [(int(r["seed"]), float(r["value"])) for r in rows]


def test_markdown_and_html(tmp_path):
    page = tmp_path / "sweep.html"
    code, out, err = sweep("--seeds", "2", "--set", f"{DELAY}=1h,4h,24h", "--format", "md", "--html", str(page),
                           "--metric", "recovery")
    assert code == 0, err
    assert out.startswith("# Sweep of sweep_small") and "| row | recovery | 95% interval |" in out
    html = page.read_text()
    assert html.startswith("<!doctype html>") and 'class="chart band"' in html
    assert "recovery against after" in html and "fill-opacity" in html  # the 95% band is drawn
    assert "<script" not in html  # self-contained and static


@pytest.mark.parametrize("args, words", [
    (["--set", f"{DELAY}=4x"], "(from --set flows.reminder.steps[0].after=4x)"),
    (["--set", "flows.remindr.steps[0].after=1h"], "did you mean 'reminder'"),
    (["--set", "nothing"], "--set: 'nothing' has no '='"),
    (["--metric", "recovery_rat"], "did you mean 'recovery_rate'"),
    (["--metric", "uplift"], "a comparison inside one run"),
    (["--format", "parquet"], "give --out PATH"),
    (["--cluster", "not an address"], "is not a scheduler address"),
])
def test_bad_input_exits_2_before_anything_is_played_or_written(tmp_path, args, words):
    out = tmp_path / "out.json"
    code, stdout, err = sweep("--seeds", "1", *args, *(["--out", str(out)] if "parquet" not in args else []),
                              cache=tmp_path / "cache")
    assert code == 2 and words in err and "Traceback" not in err
    assert not out.exists() and not (tmp_path / "cache").exists()


def test_a_bad_value_among_good_ones_is_located_in_the_file():
    code, _, err = sweep("--seeds", "1", "--set", f"{DELAY}=1h,soon")
    line = next(i for i, t in enumerate(Path(FIXTURE).read_text().splitlines(), 1) if "after: 1h" in t)
    assert code == 2 and f"{FIXTURE}:{line}:" in err and "'soon' is not a duration" in err


def test_replay_takes_the_same_overrides(tmp_path):
    r = CliRunner().invoke(main, ["replay", FIXTURE, "--set", f"{DELAY}=soon", "--no-db", "--log",
                                  str(tmp_path / "x.jsonl")])
    assert r.exit_code == 2 and "(from --set" in r.stderr and not (tmp_path / "x.jsonl").exists()


def test_the_default_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    from shopsim.sweep.cache import default_dir
    monkeypatch.setenv("SHOPSIM_CACHE", str(tmp_path / "c"))
    assert default_dir() == tmp_path / "c"
    monkeypatch.delenv("SHOPSIM_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_dir() == tmp_path / "shopsim" / "sweep"
    assert os.fspath(default_dir()).endswith(os.path.join("shopsim", "sweep"))


def test_files_are_written_with_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        code, _, err = sweep("--seeds", "1", "--format", "csv", "--out", str(tmp_path / "r.csv"),
                             "--html", str(tmp_path / "r.html"))
    finally:
        os.umask(old)
    assert code == 0, err
    assert (tmp_path / "r.csv").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "r.html").stat().st_mode & 0o777 == 0o644
    assert not list(tmp_path.glob(".sweep-*"))
