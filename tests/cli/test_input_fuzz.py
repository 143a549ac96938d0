"""Fuzzing the command line with generated scenario variations (issue 12): wrong types, extreme numbers, odd
strings and templates, fed to `shopsim validate` and `shopsim replay`. Each ends with exit 0 and a finished run,
or exit 2 and located messages; never a traceback, a hang, or files left behind by a refused scenario.

The commands run in one worker process (importing shopsim once costs seconds) under resource limits: its
address space (RLIMIT_AS) and, per example, its CPU time (RLIMIT_CPU, raised before each one): a runaway
example kills the worker and fails the test. The wall-clock timeout is a safety net, not a speed check.
"""

from __future__ import annotations

import copy
import json
import os
import re
import resource
import select
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers.paths import ROOT

MEMORY = 2 << 30          # bytes of address space for the worker
CPU_PER_EXAMPLE = 15      # seconds of CPU one example may take (a few tenths is usual)
WALL_SAFETY_NET = 300     # seconds before a silent worker is declared hung

WORKER = r"""
import json, os, resource, sys, traceback
from click.testing import CliRunner
from shopsim.cli import main

runner = CliRunner()
for line in sys.stdin:
    req = json.loads(line)
    os.chdir(req["dir"])
    used = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(used.ru_utime + used.ru_stime) + req["cpu"]
    resource.setrlimit(resource.RLIMIT_CPU, (soft, resource.getrlimit(resource.RLIMIT_CPU)[1]))
    res = runner.invoke(main, req["args"])
    tb = None
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        tb = "".join(traceback.format_exception(*res.exc_info))
    print(json.dumps({"exit": res.exit_code, "stdout": res.stdout[-4000:], "stderr": res.stderr[-20000:],
                      "traceback": tb}), flush=True)
"""


def _limits() -> None:  # in the worker, before it starts
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_PER_EXAMPLE * 4, hard))


class Worker:
    def __init__(self) -> None:
        self.proc = self._start()

    @staticmethod
    def _start() -> subprocess.Popen:
        env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="200")
        return subprocess.Popen([sys.executable, "-c", WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, preexec_fn=_limits, env=env, cwd=ROOT)

    def run(self, directory: Path, *args: str) -> dict:
        if self.proc.poll() is not None:  # an earlier example killed it: that one failed, this one starts afresh
            self.proc = self._start()
        self.proc.stdin.write(json.dumps({"dir": str(directory), "args": list(args), "cpu": CPU_PER_EXAMPLE}) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], WALL_SAFETY_NET)
        if not ready:
            self.proc.kill()
            pytest.fail(f"shopsim {' '.join(args)} gave no answer in {WALL_SAFETY_NET} s: it hangs")
        line = self.proc.stdout.readline()
        if not line:  # killed: SIGXCPU past its CPU time, or out of memory
            code = self.proc.wait()
            self.proc.stdin.close()
            pytest.fail(f"shopsim {' '.join(args)} killed the worker (exit {code}, past {CPU_PER_EXAMPLE} s of CPU "
                        f"or {MEMORY >> 30} GiB of memory): {self.proc.stderr.read()[-3000:]}")
        return json.loads(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        if os.environ.get("FUZZ_DEBUG"):
            used = resource.getrusage(resource.RUSAGE_CHILDREN)
            print(f"FUZZ worker CPU {used.ru_utime + used.ru_stime:.1f} s, peak {used.ru_maxrss // 1024} MB")


@pytest.fixture(scope="module")
def worker():
    w = Worker()
    yield w
    w.close()


# --- scenario variations ------------------------------------------------------------------------------------------

BASE = {
    "schema_version": 1,
    "run": {"name": "fuzz", "seed": 3, "duration": "12h"},
    "population": {"size": 6, "locales": {"en_US": {"share": 1.0}},
                   "segments": {"a": {"share": 0.5}, "b": {"share": 0.5, "traits": {"activity": 2.0}}}},
    "catalogue": {"products": 8, "stores": 2, "price": 20},
    "behaviour": {"sessions": {"per_day": 3.0, "views": 3, "view_time": "40s"}, "add_to_cart": 0.4,
                  "checkout_time": "3m"},
    "orders": {"processing": "2h", "handling": "3h"},
    "flows": {"rescue": {"trigger": "cart.abandoned",
                         "steps": [{"after": "1h", "channel": "email",
                                    "incentive": {"type": "percent", "value": 10, "valid": "48h"}}]}},
    "campaigns": {"sale": {"kind": "flash_sale", "at": "2h", "channels": ["email", "push"], "title": "Sale",
                           "ends": "6h", "incentive": {"type": "fixed", "value": 5}}},
    "events": [{"at": "1h", "shopper": "s000001", "session": True}],
}

# Fields to spoil, by path; a path through a list uses its index.
PATHS = [
    ("run", "duration"), ("run", "start"), ("run", "seed"), ("run", "name"), ("run", "description"),
    ("population", "size"), ("population", "locales"), ("population", "segments", "b", "traits", "activity"),
    ("population", "segments", "a", "share"), ("catalogue", "products"), ("catalogue", "stores"),
    ("catalogue", "price"), ("catalogue", "items"), ("catalogue", "shipping_fee"),
    ("behaviour", "sessions", "per_day"), ("behaviour", "sessions", "views"), ("behaviour", "sessions", "view_time"),
    ("behaviour", "sessions", "by_local_hour"), ("behaviour", "add_to_cart"), ("behaviour", "checkout_time"),
    ("behaviour", "abandonment", "detect_after"), ("behaviour", "intent", "half_life"),
    ("orders", "processing"), ("orders", "handling"), ("orders", "payment", "cancel_after"),
    ("account", "new_signin_per_30d"), ("policies", "caps"), ("policies", "send_windows"),
    ("flows", "rescue", "steps", 0, "after"), ("flows", "rescue", "steps", 0, "incentive", "valid"),
    ("flows", "rescue", "steps", 0, "incentive", "value"), ("flows", "rescue", "steps"),
    ("campaigns", "sale", "at"), ("campaigns", "sale", "ends"), ("campaigns", "sale", "stock"),
    ("campaigns", "sale", "local_time"), ("campaigns", "sale", "title"),
    ("engagement", "fatigue", "half_life"), ("engagement", "recovery", "attribution_window"),
    ("ads", "per_day"), ("ads", "window"), ("events", 0, "at"), ("events", 0, "shopper"), ("events",),
    ("experiments",), ("expect",), ("narration",), ("calibration",),
]

numbers = st.sampled_from([0, -1, 1, 2.5, 10 ** 30, -(10 ** 30), 1e308, -1e308, 1e-300, 5e-324, 999_999_999_999,
                           1_000_001, 2 ** 63, 0.1])
durations = st.sampled_from(["0s", "1ms", "3h", "1.5h", "1096d", "1097d", "9" * 400 + "d", "-1d", "1e3d", "7",
                             "0." + "9" * 300 + "h", "2w3d4h5m6s7ms", "PT5M", "1h 30m"])
instants = st.sampled_from(["2026-03-02T06:00:00Z", "1969-12-31T23:59:59Z", "9999-12-31T23:59:59Z",
                            "2026-03-02", "2026-02-30T00:00:00Z", "2026-03-01T12:00:00+14:00",
                            "2200-06-01T00:00:00Z", "0001-01-01T00:00:00Z"])
odd_text = st.sampled_from(["", " ", "é" * 50, "x" * 5000, "{{", "{% for %}", "\t", "null", "~", "yes", "s000001",
                            "s0000001", "s" + "9" * 500, "all", "🙂", "\u200b", "NaN", ".inf", "22:00", "24:00",
                            "a\nb"])
shapes = st.sampled_from([None, True, [], {}, [1, 2], {"x": 1}, [{"dist": "lognormal"}],
                          {"dist": "lognormal", "median": 1e12, "sigma": 5}, {"dist": "uniform", "low": 5, "high": 1},
                          {"dist": "exponential", "mean": "900d"}, {"dist": "normal", "mean": "1h", "sd": "1000d"}])
junk = st.one_of(numbers, durations, instants, odd_text, shapes,
                 st.text(max_size=30), st.integers(), st.floats(allow_nan=True, allow_infinity=True))

# Values at the edges of what is allowed (or just past them), by path: most of these scenarios are valid and
# get played, so they stay small (6 shoppers, 12 hours): no edge makes a run expensive.
EDGES = [
    (("run", "duration"), ["1ms", "1h", "0.5d", "12h1ms"]),
    (("run", "start"), ["2026-03-08T06:00:00Z", "1970-01-01T00:00:00Z", "2200-12-31T23:00:00Z",
                        "2026-10-25T00:30:00+01:00"]),
    (("run", "seed"), [0, 2 ** 63 - 1]),
    (("population", "size"), [1, 2]),
    (("population", "segments", "b", "traits", "activity"), [100, 0.0001]),
    (("population", "settings"), [{"quiet_hours": {"start": "00:00", "end": "00:00"}},
                                  {"quiet_hours": {"start": "23:59", "end": "00:00"}}]),
    (("flows", "rescue", "steps", 0, "incentive", "valid"), ["1096d", "1ms"]),
    (("flows", "rescue", "steps", 0, "after"), ["1ms", "1096d"]),
    (("flows", "rescue", "steps", 0, "incentive"), [{"type": "percent", "value": 100, "valid": "1096d"},
                                                    {"type": "fixed", "value": 100000, "min_order": 1e9}]),
    (("campaigns", "sale", "at"), ["0s", "12h", "2026-03-02T12:00:00Z", "2026-03-01T23:00:00-12:00", "13h"]),
    (("campaigns", "sale", "ends"), ["1096d", "1ms"]),
    (("campaigns", "sale", "local_time"), ["00:00", "23:59", "12:00"]),
    (("campaigns", "sale", "stock"), [1, 1_000_000_000, 1_000_000_001]),
    (("catalogue", "price"), [0.01, 1_000_000, {"dist": "lognormal", "median": 1e5, "sigma": 5, "max": 1e6},
                              {"dist": "lognormal", "median": 1e5, "sigma": 5}]),
    (("catalogue", "free_shipping_over"), [0, 1_000_000]),
    (("behaviour", "sessions", "views"), [1, 1000, 1001, {"dist": "exponential", "mean": 100, "max": 1000}]),
    (("behaviour", "sessions", "view_time"), ["1ms", {"dist": "lognormal", "median": "1000d", "sigma": 5}]),
    (("behaviour", "sessions", "per_day"), [100, 1e-300, 5e-324]),
    (("behaviour", "abandonment", "rate"), [0, 1]),
    (("orders", "processing"), ["1096d", {"dist": "exponential", "mean": "1096d"}]),
    (("engagement", "fatigue", "half_life"), ["1ms", "1096d"]),
    (("engagement", "fatigue", "free"), [0, 1000]),
    (("ads",), [{"enabled": True, "per_day": 100, "window": "1096d"}, {"enabled": True, "per_day": 1e-300}]),
    (("account", "new_signin_per_30d"), [300, 1e-300, 5e-324]),
    (("events", 0, "at"), ["0s", "12h", "2026-03-02T12:00:00Z", "12h1ms"]),
    (("narration",), [[{"at": "1h", "title": "T", "text": "{abandonment_rate} {{"}],
                      [{"at": "1h", "title": "T", "text": "{" + "x" * 5000 + "}"}]]),
    (("expect",), [[{"metric": "cart_abandonment", "min": 10 ** 30}], [{"count": {"type": "order.placed"},
                                                                        "min": 10 ** 30}],
                   [{"metric": "cart_abandonment", "max": "1e400%"}]]),
    (("experiments",), [{"x": {"variants": {"a": {"flows": ["rescue"], "weight": 1e6},
                                            "b": {"holdout": True, "weight": 1e-300}}}}]),
    (("policies", "caps"), [[{"channel": "email", "max": 0, "per": "1096d"}],
                            [{"channel": "push", "max": 10000, "per": "1ms"}]]),
    (("policies", "send_windows"), [[{"channel": "push", "start": "23:59", "end": "00:00"}]]),
]

TEMPLATE_PIECES = [
    "Hello {{ shopper.first_name }}", "{{ offer.title | shorten(30) }}", "{{ 'x' * 50 }}", "{{ 'x'.ljust(10**7) }}",
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
    "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(30) }}",
    "{{ '%9999999d' % 3 }}", "{{ '{:>9999999}'.format(1) }}", "{{ lipsum(5) }}", "{{ [1, 2] | random }}",
    "{{ nope }}", "{{ 1 / 0 }}", "{% if %}", "{{ shopper.__class__ }}", "{{ range(10**9) | list }}",
    "{{ (range(1000) | list) | join(',') }}", "{% for i in range(3) %}-{{ i }}{% endfor %}", "{{ 2 ** 100000 }}",
    "{{ coupon.code if coupon else '' }}", "{{ '' }}", "{{ ('ab' * 40000) | replace('a', 'aaaaaaaaaa') }}",
    "{{ kind }} {{ category }}", "{% if offer %}{{ offer.title }}{% endif %}", "Sale!",
    "{% for p in products or [] %}{{ p.name | shorten(20) }} {% endfor %}", "{{ '%5.2f' % 3.14159 }}",
    "{{ '{:>6}'.format('x') }}", "{{ 'x'.ljust(20) }}", "{{ [1, 2, 3] | join('-') }}",
]


BENIGN = TEMPLATE_PIECES[:2] + TEMPLATE_PIECES[-10:]


@st.composite
def templates(draw) -> dict:
    pieces = draw(st.lists(st.sampled_from(BENIGN) | st.sampled_from(BENIGN) | st.sampled_from(TEMPLATE_PIECES),
                           min_size=1, max_size=3))
    channel = draw(st.sampled_from(["email", "push", "sms", "in_app"]))
    part = draw(st.sampled_from({"email": ["subject", "body"], "push": ["title", "body"], "sms": ["body"],
                                 "in_app": ["title", "body"]}[channel]))
    category = draw(st.sampled_from(["promotions", "cart_reminders", "flash_sales", "order_updates"]))
    return {category: {channel: {part: " ".join(pieces)}}}


def _set(data: dict, path: tuple, value) -> None:
    node = data
    for key in path[:-1]:
        if isinstance(node, dict):
            node = node.setdefault(key, {})
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            return
        if not isinstance(node, (dict, list)):
            return
    if isinstance(node, dict):
        node[path[-1]] = value
    elif isinstance(node, list) and isinstance(path[-1], int) and path[-1] < len(node):
        node[path[-1]] = value


@st.composite
def scenario_texts(draw) -> str:
    data = copy.deepcopy(BASE)
    for _ in range(draw(st.sampled_from([0, 1, 1, 2, 3]))):
        if draw(st.sampled_from([True, True, False])):
            path, values = draw(st.sampled_from(EDGES))
            _set(data, path, copy.deepcopy(draw(st.sampled_from(values))))
        else:
            _set(data, draw(st.sampled_from(PATHS)), draw(junk))
    if draw(st.booleans()):
        data.setdefault("policies", {})["templates"] = draw(templates())
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10_000)
    edit = draw(st.sampled_from(["none"] * 6 + ["insert", "cut"]))
    if edit == "insert":  # odd characters anywhere: inside a value, a key, or the indentation
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(["\t", "\x00", "\x07", "\ufeff", "&a", "*a", "!!python/object:os.system",
                                                 ": ", "- ", "{", "]", "'", '"', "\\", "%", "é", "\r"])) + text[at:]
    elif edit == "cut":
        text = text[:draw(st.integers(0, len(text)))]
    return text


# --- the property --------------------------------------------------------------------------------------------------

LOCATED = re.compile(r"^s\.yaml:\d+:\d+: .+?: .+$")


def _located(stderr: str, last: str) -> None:
    lines = stderr.rstrip("\n").splitlines()
    assert lines and re.fullmatch(last, lines[-1]), stderr
    assert lines[:-1] and all(LOCATED.match(line) for line in lines[:-1]), stderr


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 150)), deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(text=scenario_texts())
def test_generated_scenarios_validate_and_replay_cleanly(worker, tmp_path_factory, text):
    d = tmp_path_factory.mktemp("fuzz")
    (d / "s.yaml").write_text(text, encoding="utf-8")

    checked = worker.run(d, "validate", "s.yaml")
    assert checked["traceback"] is None, checked["traceback"]
    assert checked["exit"] in (0, 2), checked
    if checked["exit"] == 0:
        assert checked["stdout"].startswith("s.yaml: ok ("), checked
    else:
        _located(checked["stderr"], r"1 of 1 file invalid\.")

    played = worker.run(d, "replay", "s.yaml", "--no-db", "--log", "out.jsonl", "--quiet")
    if os.environ.get("FUZZ_DEBUG"):
        print("FUZZ", checked["exit"], played["exit"], checked["stderr"].splitlines()[:1])
    assert played["traceback"] is None, played["traceback"]
    files = sorted(p.name for p in d.iterdir())
    if checked["exit"] == 2:  # the same problems, and nothing written
        assert played["exit"] == 2, played
        _located(played["stderr"], r"[\d,]+ problems? found; nothing was written\.")
        assert files == ["s.yaml"], files
    elif played["exit"] == 0:
        lines = (d / "out.jsonl").read_bytes().splitlines()
        assert json.loads(lines[0])["type"] == "run.started" and json.loads(lines[-1])["type"] == "run.finished"
        assert files == ["out.jsonl", "s.yaml"], files
    else:  # a run that cannot go on: exit 2, and the message says where and why
        assert played["exit"] == 2, played
        assert re.search(r"^shopsim: s\.yaml:\d+:\d+: .+?: .+ the run stopped", played["stderr"], re.M), played
