"""The core never imports Textual: headless replays and CI stay free of terminal concerns."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import shopsim

CORE = ("contract", "scenario", "sim", "simulation", "store", "notify", "engage", "marketing", "metrics", "qa",
        "validate")


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
    """The shopsim modules a source file imports: every import statement in it, at module level, inside
    functions or under TYPE_CHECKING, relative ones resolved. `from shopsim.x import y` counts as
    shopsim.x and as shopsim.x.y (y may be a module: `from shopsim import metrics`)."""
    import ast
    from pathlib import Path

    root = Path(shopsim.__path__[0]).parent
    package = path.relative_to(root).with_suffix("").parts[:-1]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ((base,) if base else ()))
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)
    return {n for n in names if n == "shopsim" or n.startswith("shopsim.")}


def _modules() -> dict:
    """Every module of shopsim by dotted name, with its source file."""
    from pathlib import Path

    root = Path(shopsim.__path__[0])
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _reaching(package: str, banned) -> list[str]:
    """`file imports name` for each import in shopsim.<package> whose name `banned` refuses."""
    from pathlib import Path

    root = Path(shopsim.__path__[0])
    return [f"{p.relative_to(root.parent)} imports {n}" for p in sorted((root / package).rglob("*.py"))
            for n in sorted(_imports(p)) if banned(n)]


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
    """Ids are made and read by shopsim.contract.ids alone: a hand-written `int(sid[1:]) - 1` or `f"p{i + 1:05d}"`
    elsewhere would drift."""
    import re
    from pathlib import Path

    root = Path(shopsim.__path__[0])
    pattern = re.compile(r"int\([\w.]*shopper[\w.]*\[1:\]\)|int\((sid|pid)\[1:\]\)|f\"[sp]\{[^}]*:0[56]d\}")
    found = [f"{p.relative_to(root.parent)}:{i}" for p in sorted(root.rglob("*.py")) if p.parent.name != "contract"
             for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert not found, found


def test_the_scenario_imports_only_itself_and_the_ground_floor():
    """A scenario is read, checked and compiled knowing nothing of what plays it: no engine (sim), notify,
    marketing, engage, metrics, qa, store, report, calibrate, cli or tui. Checks that need those are composed
    above it, by shopsim/validate.py."""
    upward = _reaching("scenario", lambda n: n.split(".")[1:2] not in (["scenario"], ["contract"]))
    assert not upward, "\n".join(upward)


def test_kpis_never_import_qa():
    """QA judges a run by what metrics counts: metrics is read by qa, the report and the front ends, and never
    leans on the checks."""
    upward = _reaching("metrics", lambda n: n.split(".")[1:2] == ["qa"])
    assert not upward, "\n".join(upward)

def test_no_module_reaches_itself_through_its_imports():
    """Every arrow points one way: no two modules import each other, directly (kpis and variants did) or
    around a longer loop, counting imports inside functions and under TYPE_CHECKING too."""
    modules = _modules()
    graph = {m: {n for n in _imports(p) if n in modules and n != m} for m, p in modules.items()}
    assert "shopsim.metrics.variants" in graph["shopsim.metrics.kpis"]
    loops, done = [], set()
    for start in graph:
        if start in done:
            continue
        # Depth-first from each module: a path back to a module on the current path is a loop.
        stack, on_path = [(start, iter(sorted(graph[start])))], [start]
        while stack:
            node, nexts = stack[-1]
            step = next(nexts, None)
            if step is None:
                stack.pop()
                on_path.pop()
                done.add(node)
            elif step in on_path:
                loops.append(" -> ".join(on_path[on_path.index(step):] + [step]))
            elif step not in done:
                stack.append((step, iter(sorted(graph[step]))))
                on_path.append(step)
    assert not loops, "\n".join(sorted(set(loops)))


# The house from the ground up: a package may import its own modules and those of the floors below it, never
# one beside it or above it. This is the flow scenario -> sim -> notify -> marketing -> engage -> one run ->
# store, qa -> validate -> the front ends, as docs/architecture.md draws it.
FLOORS = (
    ("contract", "textsafe", "__version__"),
    ("scenario", "metrics"),   # metrics reads events only: it sits low, so that the store and qa can use it
    ("sim",),
    ("notify",),
    ("marketing",),
    ("engage",),
    ("simulation",),
    ("workers",),  # one run split across processes: built on the simulation, seen by the store as one run
    ("store",),
    ("qa",),
    ("calibrate", "report"),
    ("sweep",),    # many runs of one scenario over a grid of overrides: their numbers, statistics and page
    ("validate",),
    ("tui",),
    ("cli",),
    ("__main__",),
)


def test_every_import_points_down_the_floors():
    from pathlib import Path

    floor = {pkg: i for i, pkgs in enumerate(FLOORS) for pkg in pkgs}
    root = Path(shopsim.__path__[0])
    packages = {p.relative_to(root).parts[0].removesuffix(".py") for p in root.rglob("*.py")} - {"__init__"}
    assert packages <= set(floor), f"give these a floor: {sorted(packages - set(floor))}"
    upward = []
    for path in sorted(root.rglob("*.py")):
        src = path.relative_to(root).with_suffix("").parts[0]
        if src == "__init__":
            continue
        for name in sorted(_imports(path)):
            dst = name.split(".")[1] if name.count(".") else None
            if dst is None or dst == src or dst not in floor:
                continue
            if floor[dst] >= floor[src]:
                upward.append(f"{path.relative_to(root.parent)} imports {name} (floor {floor[dst]} from {floor[src]})")
    assert not upward, "\n".join(upward)
