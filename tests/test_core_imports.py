"""The core never imports Textual: headless replays and CI stay free of terminal concerns."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import shopsim

CORE = ("contract", "scenario", "sim", "simulation", "store", "notify", "engage", "marketing", "metrics")


def _core_modules() -> list[str]:
    names = []
    for mod in pkgutil.walk_packages(shopsim.__path__, "shopsim."):
        if mod.name.split(".")[1] in CORE:
            names.append(mod.name)
    return names


def test_core_imports_without_textual():
    modules = _core_modules()
    assert "shopsim.simulation" in modules and "shopsim.sim.kernel" in modules and "shopsim.store.writer" in modules
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


FRONT_ENDS = ("cli", "tui")
# Below the front ends: what may never reach up into them (the calibration and the report are read by the
# command line and the terminal app, never the other way round).
BELOW_FRONT_ENDS = (*CORE, "report", "calibrate", "textsafe")


def _imports(path) -> set[str]:
    """The shopsim modules a source file imports, at module level or inside functions."""
    import ast

    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {n for n in names if n == "shopsim" or n.startswith("shopsim.")}


def test_nothing_below_the_front_ends_imports_them():
    """No arrow runs back up from the core, the report or the calibration to the command line or the terminal
    app, not even inside a function: each front end is built on the layers below it, never the reverse."""
    from pathlib import Path

    root = Path(shopsim.__path__[0])
    upward = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[0] not in BELOW_FRONT_ENDS:
            continue
        for name in _imports(path):
            if name.split(".")[1:2] and name.split(".")[1] in FRONT_ENDS:
                upward.append(f"{path.relative_to(root.parent)} imports {name}")
    assert not upward, "\n".join(upward)


def test_the_terminal_app_does_not_import_the_command_line():
    from pathlib import Path

    root = Path(shopsim.__path__[0])
    upward = [f"{p.relative_to(root.parent)} imports {n}" for p in sorted((root / "tui").rglob("*.py"))
              for n in _imports(p) if n.startswith("shopsim.cli")]
    assert not upward, "\n".join(upward)


def test_the_ground_floor_imports_nothing_of_shopsim():
    """`shopsim.contract` is the vocabulary every layer shares: it must not lean on any of them."""
    from pathlib import Path

    root = Path(shopsim.__path__[0])
    leaning = [f"{p.relative_to(root.parent)} imports {n}" for p in sorted((root / "contract").rglob("*.py"))
               for n in _imports(p) if not n.startswith("shopsim.contract")]
    assert not leaning, "\n".join(leaning)


def test_shopper_ids_are_parsed_in_one_place():
    """Ids are read by shopsim.contract.ids alone: a hand-written `int(sid[1:]) - 1` elsewhere would drift."""
    import re
    from pathlib import Path

    root = Path(shopsim.__path__[0])
    pattern = re.compile(r"int\([\w.]*shopper[\w.]*\[1:\]\)|int\(sid\[1:\]\)")
    found = [f"{p.relative_to(root.parent)}:{i}" for p in sorted(root.rglob("*.py")) if p.parent.name != "contract"
             for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert not found, found
