"""`shopsim sweep --cluster`: the same sweep on a Dask distributed cluster gives the same numbers.

The cluster is a LocalCluster on 127.0.0.1 (scheduler and two worker processes, as `dask scheduler` and
`dask worker` would start them on other machines); the sweep runs as a user runs it, in a process of its own."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")

FIXTURE = str(Path(__file__).resolve().parents[1] / "fixtures" / "sweep_small.yaml")
ARGS = ["--seeds", "3", "--set", "flows.reminder.steps[0].after=1h,24h", "--format", "json", "--no-cache"]


def _sweep(*extra: str) -> dict:
    r = subprocess.run([sys.executable, "-m", "shopsim", "sweep", FIXTURE, *ARGS, *extra],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_a_sweep_on_a_local_dask_cluster_equals_the_local_sweep():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None,
                                  processes=True) as cluster:
        remote = _sweep("--cluster", cluster.scheduler_address)
    local = _sweep("--workers", "2")
    assert remote["runs"] == local["runs"]
    assert remote["summary"] == local["summary"]
    assert len(remote["runs"]) == 2 * 2 * 3 * 2  # points × arms × seeds × metrics


def test_a_scheduler_that_does_not_answer_is_exit_2_in_one_line(monkeypatch):
    from shopsim.sweep import execute
    monkeypatch.setattr(execute, "CONNECT_TIMEOUT", 2)
    from click.testing import CliRunner

    from shopsim.cli import main
    r = CliRunner().invoke(main, ["sweep", FIXTURE, "--seeds", "1", "--no-cache", "--cluster", "tcp://127.0.0.1:9"])
    assert r.exit_code == 2 and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in r.stderr
