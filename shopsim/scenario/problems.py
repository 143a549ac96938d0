"""Problems found in a scenario file, reported compiler-style as `file:line:col: path: message`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

# A location inside the YAML data: mapping keys and list indices, e.g. ("events", 0, "at").
Path = tuple[Any, ...]
Positions = Mapping[Path, tuple[int, int]]

# A file of junk can hold a million problems: the first ones (in file order) are listed, then how many more.
MAX_PROBLEMS = 200
_MAX_MESSAGE = 600  # characters of a message; a value quoted in it may be megabytes long
_MAX_KEY = 60       # characters of a key in a path
_ONE_LINE = str.maketrans({"\n": "\\n", "\r": "\\r", "\u2028": "\\u2028", "\u2029": "\\u2029",
                           "\x0b": "\\v", "\x0c": "\\f", "\x1c": "\\x1c", "\x1d": "\\x1d", "\x1e": "\\x1e",
                           "\x85": "\\x85"})


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    col: int
    path: str
    message: str

    def __str__(self) -> str:
        # One problem, one line, whatever a key or a quoted template holds.
        return f"{self.file}:{self.line}:{self.col}: {self.path}: {self.message}".translate(_ONE_LINE)


class ScenarioError(Exception):
    """A scenario file is unusable; `.problems` holds the problems found, in file order: the first
    MAX_PROBLEMS of them, then one more line (at 0:0) saying how many were left out. `.total` counts them all
    (`total` may say there were more than the list given: those left out before they were made)."""

    def __init__(self, problems: list[Problem], total: int | None = None):
        # Sorted by position only: problems on one spot keep the order they were found in.
        ordered = sorted(problems, key=lambda p: (p.line, p.col))
        self.total = max(len(ordered), total or 0)
        self.problems = ordered[:MAX_PROBLEMS]
        if self.total > len(self.problems):
            file = ordered[0].file if ordered else "-"
            self.problems.append(Problem(file, 0, 0, "-", f"and {self.total - len(self.problems):,} more problems, "
                                                           f"not listed: shopsim lists the first {MAX_PROBLEMS}"))
        super().__init__(self.problems)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


def format_path(path: Path) -> str:
    """("events", 0, "at") -> "events[0].at"; the empty path (the whole file) -> "-"."""
    out = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            text = str(part)
            text = text if len(text) <= _MAX_KEY else text[:_MAX_KEY - 3] + "..."
            out += f".{text}" if out else text
    return out or "-"


def locate(positions: Positions, path: Path) -> tuple[int, int]:
    """The position of `path`, or of its nearest ancestor written in the file (a missing field has none)."""
    for n in range(len(path), 0, -1):
        pos = positions.get(tuple(path[:n]))
        if pos is not None:
            return pos
    return (1, 1)


def problem_at(file: str, positions: Positions, path: Path, message: str) -> Problem:
    line, col = locate(positions, path)
    if len(message) > _MAX_MESSAGE:
        message = message[:_MAX_MESSAGE - 3] + "..."
    return Problem(file, line, col, format_path(path), message)


def did_you_mean(word: Any, choices: Any, *, list_all: bool = True, limit: int = 12) -> str:
    """"; did you mean 'x'?" for a close match, else "; valid: a, b, c" (or "" when list_all is off)."""
    from difflib import get_close_matches

    choices = [str(c) for c in choices]
    # Compare case-insensitively so america/new_york finds America/New_York.
    lowered = {c.lower(): c for c in choices}
    word = str(word)
    # Nothing valid is that long, and comparing a long text with every choice is slow.
    near = get_close_matches(word.lower(), list(lowered), n=1) if len(word) <= 2 * _MAX_KEY else []
    if near:
        return f"; did you mean {lowered[near[0]]!r}?"
    if not list_all or not choices:
        return ""
    shown = ", ".join(sorted(choices)[:limit])
    more = f", ... ({len(choices) - limit} more)" if len(choices) > limit else ""
    return f"; valid: {shown}{more}"
