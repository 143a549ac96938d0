"""`--set PATH=VALUE`: a change to a scenario given on the command line, in the scenario's own paths.

`flows.cart_recovery.steps[0].after=4h` replaces that value in the file's data before the data is validated,
so a changed scenario goes through every check a file does, and a problem it causes is reported at the
place in the file the override replaced, saying it came from `--set`. Values are read as YAML, by the same
rules as the file (`4h` is text, `15` a number, `[email, push]` a list). `sweep` takes several values
(`--set PATH=V1,V2,...`; commas inside brackets, braces or quotes do not split), `replay` one."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from typing import Any, Sequence, get_origin

from shopsim.scenario.checker import LayerCheck
from shopsim.scenario.loader import _field_names, _is_model, read_scenario, read_scenario_text, types_at
from shopsim.scenario.problems import Path, Problem, ScenarioError, did_you_mean, format_path, locate
from shopsim.scenario.schema import Scenario
from shopsim.scenario.yamlpos import YamlDoc, load_yaml

# No grid a person types needs more; a longer list is a mistake (or an attempt to make the sweep endless).
MAX_VALUES = 1000
MAX_TEXT = 10_000
_KEY = r"[A-Za-z0-9_\-]+"
_SEGMENT = re.compile(rf"({_KEY})((?:\[\d+\])*)")
_INDEX = re.compile(r"\[(\d+)\]")


class OverrideError(ValueError):
    """An override that cannot be read at all (before any file is looked at): bad syntax."""


@dataclass(frozen=True)
class Override:
    """One `--set`: where, the value as typed, and the value as YAML read it."""
    path: Path
    text: str
    value: Any

    @property
    def where(self) -> str:
        return format_path(self.path)

    def __str__(self) -> str:
        return f"{self.where}={self.text}"


def parse_path(text: str) -> Path:
    """"flows.x.steps[0].after" -> ("flows", "x", "steps", 0, "after")."""
    if not text or len(text) > 300:
        raise OverrideError(f"{text[:40]!r} is not a path such as flows.cart_recovery.steps[0].after")
    out: list[Any] = []
    for part in text.split("."):
        m = _SEGMENT.fullmatch(part)
        if m is None:
            raise OverrideError(f"{text!r}: {part!r} is not a key (letters, digits, _ and -) with optional [index]")
        out.append(m.group(1))
        out += [int(i) for i in _INDEX.findall(m.group(2))]
    return tuple(out)


def split_values(text: str) -> list[str]:
    """V1,V2,... at the commas outside brackets, braces and quotes."""
    out, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            out.append(text[start:i].strip())
            start = i + 1
    out.append(text[start:].strip())
    return out


def read_value(text: str, where: str) -> Any:
    """One value, read as a value in the scenario file would be."""
    if "\n" in text or "\r" in text:
        raise OverrideError(f"{where}: a value is one line")
    doc = load_yaml(f"v: {text}\n", "--set")
    if doc.data is None or doc.problems or not isinstance(doc.data, dict) or "v" not in doc.data:
        raise OverrideError(f"{where}: cannot read {text!r} as a value (quote it if it is text)")
    return doc.data["v"]


def parse(spec: str, *, many: bool) -> list[Override]:
    """`PATH=VALUE` (or `PATH=V1,V2,...` when `many`) -> one Override per value, in the order given."""
    if len(spec) > MAX_TEXT:
        raise OverrideError(f"--set is longer than {MAX_TEXT:,} characters")
    path_text, eq, rest = spec.partition("=")
    if not eq:
        raise OverrideError(f"{spec[:60]!r} has no '=': write PATH=VALUE, e.g. flows.reminder.steps[0].after=4h")
    path = parse_path(path_text.strip())
    texts = split_values(rest) if many else [rest.strip()]
    if any(t == "" for t in texts):
        raise OverrideError(f"{path_text.strip()}: an empty value (write '' for empty text)")
    if len(texts) > MAX_VALUES:
        raise OverrideError(f"{path_text.strip()}: {len(texts):,} values; at most {MAX_VALUES:,}")
    if len(set(texts)) != len(texts):
        twice = next(t for t in texts if texts.count(t) > 1)
        raise OverrideError(f"{path_text.strip()}: {twice!r} is given twice")
    where = format_path(path)
    return [Override(path, t, read_value(t, where)) for t in texts]


# --- applying to a file's data ----------------------------------------------------------------------------

def _names_at(path: Path) -> list[str]:
    names: list[str] = []
    for tp in types_at(Scenario, path):
        if _is_model(tp):
            names += _field_names(tp)
    return names


def _is_named_map(path: Path) -> bool:
    """Whether the value at `path` is a mapping of names the file chooses (flows, campaigns, ...)."""
    return any(get_origin(tp) is dict for tp in types_at(Scenario, path))


def _apply_one(doc: YamlDoc, filename: str, ov: Override, created: list[tuple[str, Override]]) -> Problem | None:
    node: Any = doc.data
    for i, part in enumerate(ov.path):
        here, last = ov.path[:i], i == len(ov.path) - 1

        def problem(message: str) -> Problem:
            line, col = locate(doc.positions, here)
            return Problem(filename, line, col, format_path(ov.path), f"--set {ov}: {message}")

        if isinstance(part, int):
            if not isinstance(node, list):
                return problem(f"{format_path(here) or 'the top level'} is not a list")
            if part >= len(node):
                return problem(f"{format_path(here)} has {len(node)} item{'s' * (len(node) != 1)}; "
                               f"indexes run from 0 to {len(node) - 1}" if node else f"{format_path(here)} is empty")
            if last:
                node[part] = ov.value
            node = node[part]
            continue
        if node is None and not _is_named_map(here):  # a section written empty (`policies:`)
            node = {}
            _set(doc.data, here, node)
        if not isinstance(node, dict):
            return problem(f"{format_path(here) or 'the top level'} is not a mapping")
        if part not in node:
            if _is_named_map(here):
                known = sorted(map(str, node))
                what = format_path(here)
                return problem(f"{what} has no {part!r}" + (did_you_mean(part, known) if known else f" ({what} is empty)"))
            names = _names_at(here)
            if part not in names:
                return problem(f"unknown field {part!r}" + did_you_mean(part, names))
            if not last:
                node[part] = [] if _is_list_at(here + (part,)) else {}
                created.append((format_path(here + (part,)), ov))
        if last:
            node[part] = ov.value
        node = node[part]
    return None


def _is_list_at(path: Path) -> bool:
    return any(get_origin(tp) is list for tp in types_at(Scenario, path))


def _set(data: Any, path: Path, value: Any) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def _under(path: str, where: str) -> bool:
    return path == where or path.startswith(where + ".") or path.startswith(where + "[")


def _blame(problems: Sequence[Problem], overrides: Sequence[tuple[str, Override]]) -> list[Problem]:
    """A problem inside an overridden value (or inside a mapping an override made) says so: the file's
    position, the override's words."""
    out = []
    for p in problems:
        if p.message.startswith("--set "):
            out.append(p)
            continue
        for w, ov in overrides:
            # Inside the changed value, or on the mapping that holds it (a check of the whole incentive).
            if _under(p.path, w) or (p.path != "-" and _under(w, p.path)):
                p = replace(p, message=f"(from --set {ov}) {p.message}")
                break
        out.append(p)
    return out


def _editor(overrides: Sequence[Override], filename: str, blamed: list[tuple[str, Override]]):
    """The hook `read_scenario(edit=...)` calls with the parsed file: applies `overrides` in order; `blamed`
    gets each overridden path and each mapping an override made, for `_blame`."""
    def edit(doc: YamlDoc) -> list[Problem]:
        out = []
        for ov in overrides:
            blamed.append((ov.where, ov))
            p = _apply_one(doc, filename, ov, blamed)
            if p is not None:
                out.append(p)
        return out
    return edit


def read_with(path: str | os.PathLike[str], overrides: Sequence[Override], *,
              checks: Sequence[LayerCheck]) -> Scenario:
    """`read_scenario` with `overrides` applied to the file's data before it is validated."""
    name = os.fspath(path)
    if not overrides:
        return read_scenario(name, checks=checks)
    blamed: list[tuple[str, Override]] = []
    try:
        return read_scenario(name, checks=checks, edit=_editor(overrides, name, blamed))
    except ScenarioError as e:
        raise ScenarioError(_blame(e.problems, blamed), total=e.total) from None


def read_text_with(text: str, filename: str, overrides: Sequence[Override], *,
                   checks: Sequence[LayerCheck]) -> Scenario:
    """`read_scenario_text` with `overrides` applied, as `read_with`."""
    blamed: list[tuple[str, Override]] = []
    try:
        return read_scenario_text(text, filename, checks=checks,
                                  edit=_editor(overrides, filename, blamed) if overrides else None)
    except ScenarioError as e:
        raise ScenarioError(_blame(e.problems, blamed), total=e.total) from None

