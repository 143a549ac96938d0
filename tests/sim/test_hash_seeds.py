"""Every shipped scenario writes the same log whatever PYTHONHASHSEED is (issue 12, section A).

tests/sim/test_determinism.py checks this for the golden scenario only, and global_marketplace's it_IT shoppers
got their cities from a list Faker builds from a set, so its logs differed between processes. Each shipped
scenario exercises other parts of the engine (campaigns, flows, ads, digests, experiments, many locales), so
all of them are played here, cut to 80 shoppers and their first three days, in two child processes.
"""

from __future__ import annotations

import os
import subprocess
import sys

import orjson

from helpers.paths import ROOT

SHOPPERS, DAYS = 80, 3

_CHILD = """
import glob, hashlib, io, sys, warnings
warnings.simplefilter("ignore")
import orjson
from shopsim.validate import load_scenario
from shopsim.contract.clock import DAY
from shopsim.simulation import Simulation
from shopsim.store.recorder import Recorder

out = {{}}
for path in sorted(glob.glob({scenarios!r})):
    sc = load_scenario(path)
    sc = sc.model_copy(update={{"population": sc.population.model_copy(
        update={{"size": min(sc.population.size, {shoppers})}})}})
    sim = Simulation(sc, keep_messages=False)
    buf = io.BytesIO()
    sim.subscribe(Recorder(sim.scenario.start_epoch, buf))
    sim.run_until({days} * DAY)
    sim.finish()
    out[path.rsplit("/", 1)[-1]] = [hashlib.sha256(buf.getvalue()).hexdigest(), buf.getvalue().count(b"\\n")]
sys.stdout.write(orjson.dumps(out).decode())
"""


def test_every_shipped_scenario_is_the_same_under_every_hash_seed():
    code = _CHILD.format(scenarios=str(ROOT / "scenarios" / "*.yaml"), shoppers=SHOPPERS, days=DAYS)
    children = {}
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(ROOT))
        children[seed] = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    digests = {}
    for seed, child in children.items():
        stdout, stderr = child.communicate(timeout=300)
        assert child.returncode == 0, f"PYTHONHASHSEED={seed}:\n{stderr}"
        digests[seed] = orjson.loads(stdout)
    one, two = digests["1"], digests["2"]
    assert sorted(one) == sorted(p.name for p in (ROOT / "scenarios").glob("*.yaml"))
    assert all(lines > 100 for _, lines in one.values()), one  # real logs, not empty runs
    differ = sorted(name for name in one if one[name] != two[name])
    assert not differ, f"PYTHONHASHSEED=1 and 2 give different logs for {differ}"
