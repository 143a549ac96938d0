"""Where scenarios are found: ./scenarios, then the scenarios shipped with shopsim, and a name such as
'default' turned into a file. The command line and the terminal app's picker both look here."""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["SHIPPED", "find_scenario", "scenario_dirs"]

# In a checkout the shipped scenarios sit beside the package; an installed shopsim has them as data files.
SHIPPED = (Path(__file__).resolve().parent.parent.parent / "scenarios",
           Path(sys.prefix) / "share" / "shopsim" / "scenarios")


def scenario_dirs() -> list[Path]:
    """Where `shopsim scenarios` looks: ./scenarios, then the scenarios shipped beside the package."""
    out: list[Path] = []
    for d in (Path.cwd() / "scenarios", *SHIPPED):
        if d.is_dir() and d.resolve() not in [o.resolve() for o in out]:
            out.append(d)
    return out


def find_scenario(name: str) -> Path:
    """A scenario path as typed, or a shipped scenario's name ('default')."""
    p = Path(name)
    if p.exists() or p.suffix in (".yaml", ".yml") or "/" in name:
        return p
    for d in scenario_dirs():
        for cand in (d / f"{name}.yaml", d / f"{name}.yml"):
            if cand.exists():
                return cand
    return p
