"""The core never imports Textual: headless replays and CI stay free of terminal concerns."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import shopsim

CORE = ("scenario", "sim", "store", "notify", "engage", "marketing", "metrics")


def _core_modules() -> list[str]:
    names = []
    for mod in pkgutil.walk_packages(shopsim.__path__, "shopsim."):
        if mod.name.split(".")[1] in CORE:
            names.append(mod.name)
    return names


def test_core_imports_without_textual():
    modules = _core_modules()
    assert "shopsim.sim.engine" in modules and "shopsim.store.writer" in modules
    code = ("import importlib, sys\n"
            f"for name in {modules!r}: importlib.import_module(name)\n"
            "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
            "print(','.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"the core imported {out.stdout.strip()}"


def test_a_replay_does_not_import_textual():
    code = ("import sys\n"
            "from click.testing import CliRunner\n"
            "from shopsim.cli import main\n"
            "r = CliRunner().invoke(main, ['validate', 'tests/fixtures/minimal.yaml'])\n"
            "assert r.exit_code == 0, r.output\n"
            "print('textual' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=shopsim.__path__[0] + "/..")
    assert out.stdout.strip() == "False"
