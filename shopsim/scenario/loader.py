"""Read a scenario file into a validated `Scenario`, or fail with every problem in it at once.

The checks that need the layers above the scenario come in as `checks`: shopsim/validate.py, whose
`load_scenario` the rest of shopsim calls, hands them all in."""

from __future__ import annotations

import os
import re
import types
from typing import Annotated, Any, Callable, Literal, Sequence, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from shopsim.scenario.checker import LayerCheck
from shopsim.scenario.checks import check_scenario, check_sections
from shopsim.scenario.problems import (
    MAX_PROBLEMS, Path, Positions, Problem, ScenarioError, did_you_mean, format_path, problem_at,
)
from shopsim.scenario.schema import Scenario
from shopsim.scenario.yamlpos import YamlDoc, load_yaml

_MISSING = object()
# Fifty times the largest shipped scenario. Reading YAML takes seconds a megabyte: a larger file is refused
# before it is read (a catalogue that large is better generated, with catalogue.products).
MAX_FILE_BYTES = 1 << 20
# pydantic's errors turned into problems; past them only the count matters (there are MAX_PROBLEMS listed).
_CONVERTED = 2 * MAX_PROBLEMS


def read_scenario(path: str | os.PathLike[str], *, checks: Sequence[LayerCheck],
                  edit: Callable[[YamlDoc], list[Problem]] | None = None) -> Scenario:
    """Load and validate a scenario file, with `checks` among its cross-field checks; raises ScenarioError
    listing every problem. `edit` may change the parsed data before it is validated (`--set`, overrides.py)."""
    name = os.fspath(path)

    def fail(message: str) -> ScenarioError:
        # Problems with the file itself have no place inside it: line 0, column 0, no path.
        return ScenarioError([Problem(name, 0, 0, "-", message)])

    try:
        with open(name, "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:  # (also what stops a read of /dev/zero or an endless pipe)
            raise fail(_too_large(os.path.getsize(name)))
    except FileNotFoundError:
        raise fail("no such file") from None
    except IsADirectoryError:
        raise fail("is a directory, not a scenario file") from None
    except PermissionError:
        raise fail("cannot read the file: permission denied") from None
    except OSError as e:
        raise fail(f"cannot read the file: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise fail(f"not UTF-8 text (byte 0x{raw[e.start]:02x} on line {line}); save the file as UTF-8") from None
    return read_scenario_text(text, name, checks=checks, edit=edit)


def _too_large(size: int) -> str:
    size_ = f" ({size / (1 << 20):.1f} MiB)" if size > MAX_FILE_BYTES else ""  # a device or a pipe has no size
    return (f"the file is larger than {MAX_FILE_BYTES >> 20} MiB{size_}, the most a scenario may be; generate a "
            "large catalogue with catalogue.products rather than listing it")


def read_scenario_text(text: str, filename: str = "<string>", *, checks: Sequence[LayerCheck],
                       edit: Callable[[YamlDoc], list[Problem]] | None = None) -> Scenario:
    """Validate scenario YAML given as text, as `read_scenario`; `filename` is only used in problem reports."""
    if len(text) > MAX_FILE_BYTES and len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise ScenarioError([Problem(filename, 0, 0, "-", _too_large(len(text.encode("utf-8"))))])
    doc = load_yaml(text, filename)
    if doc.data is None:
        raise ScenarioError(doc.problems)
    problems = list(doc.problems)
    if edit is not None:
        edited = edit(doc)
        if edited:  # an override that has no place in the file: nothing more to say until it is fixed
            raise ScenarioError(problems + edited)
    try:
        scenario = Scenario.model_validate(doc.data)
    except ValidationError as e:
        problems += validation_problems(e, doc.data, doc.positions, filename, limit=_CONVERTED)
        skipped = max(0, e.error_count() - _CONVERTED)
        # Sections that are well-formed on their own still get their cross-field checks.
        problems += check_sections(doc.data, doc.positions, filename, checks)
        raise ScenarioError(problems, total=len(problems) + skipped) from None
    problems += check_scenario(scenario, doc.positions, filename, checks)
    if problems:
        raise ScenarioError(problems)
    return scenario


def validation_problems(error: ValidationError, data: Any, positions: Positions, filename: str,
                        root: type[BaseModel] = Scenario, limit: int | None = None) -> list[Problem]:
    """Turn pydantic's errors for `data` (validated as `root`) into Problems with clean messages (the first
    `limit` errors only, when given)."""
    out = []
    errors = error.errors(include_url=False, include_context=True, include_input=True)
    for err in errors if limit is None else errors[:limit]:
        path, is_key = _data_path(err["loc"], data)
        message = _message(err, path, is_key, root)
        if err["type"] == "value_error":
            # A validator that names an unknown dict key ("unknown abandonment reason 'x'"): point at that key.
            m = re.search(r"unknown [\w ]+ '([^']+)'", message)
            if m and path + (m.group(1),) in positions:
                path = path + (m.group(1),)
        out.append(problem_at(filename, positions, path, message))
    return list(dict.fromkeys(out))


def _data_path(loc: tuple[Any, ...], data: Any) -> tuple[Path, bool]:
    """pydantic's loc as a path into the YAML data, and whether the error is about a dict key itself."""
    path: list[Any] = []
    node, is_key = data, False
    for i, part in enumerate(loc):
        if part == "[key]":
            is_key = True
        elif isinstance(node, dict) and part in node:
            node = node[part]
            path.append(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            path.append(part)
        elif i == len(loc) - 1:
            path.append(part)  # a missing field
            node = _MISSING
        # else: a union member tag or similar; it has no place in the file
    return tuple(path), is_key


def _unwrap(tp: Any) -> list[Any]:
    """The concrete types behind Annotated[...] and X | Y | None."""
    origin = get_origin(tp)
    if origin is Annotated:
        return _unwrap(get_args(tp)[0])
    if origin in (Union, types.UnionType):
        return [u for a in get_args(tp) if a is not type(None) for u in _unwrap(a)]
    return [tp]


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _field_names(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def types_at(root: type[BaseModel], path: Path) -> list[Any]:
    """The schema types that can sit at `path` (a path into the data, as in the position map)."""
    current = [root]
    for part in path:
        nxt: list[Any] = []
        for tp in current:
            origin = get_origin(tp)
            if _is_model(tp):
                for name, f in tp.model_fields.items():
                    if part in (name, f.alias):
                        nxt += _unwrap(f.annotation)
            elif origin is dict:
                nxt += _unwrap(get_args(tp)[1])
            elif origin is list and isinstance(part, int):
                nxt += _unwrap(get_args(tp)[0])
        current = nxt
    return current


def _literals(tps: list[Any]) -> list[Any] | None:
    for tp in tps:
        if get_origin(tp) is Literal:
            return list(get_args(tp))
    return None


def _got(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_PLAIN = {
    "model_type": "should be a mapping of keys", "dict_type": "should be a mapping of keys",
    "model_attributes_type": "should be a mapping of keys", "list_type": "should be a list",
    "bool_type": "should be true or false", "bool_parsing": "should be true or false",
    "int_type": "should be a whole number", "int_parsing": "should be a whole number",
    "int_from_float": "should be a whole number", "float_type": "should be a number",
    "float_parsing": "should be a number", "string_type": "should be text",
}


_E_NUMBER = re.compile(r"[-+]?(\d+)(\.\d*)?[eE]([-+]?\d+)")


def _yaml11_number(value: Any) -> str:
    """YAML 1.1 reads 5e-1 and 1e3 as text (a float there needs a dot and a signed exponent): say so."""
    m = _E_NUMBER.fullmatch(value) if isinstance(value, str) else None
    if m is None:
        return ""
    sign = "" if m.group(3)[0] in "+-" else "+"
    return f" (YAML reads it as text: write {m.group(1)}{m.group(2) or '.0'}e{sign}{m.group(3)}, or a plain decimal)"


def _message(err: dict[str, Any], path: Path, is_key: bool, root: type[BaseModel]) -> str:
    kind, value = err["type"], err.get("input")
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        models = [t for t in types_at(root, path[:-1]) if _is_model(t)]
        names = _field_names(models[0]) if models else []
        return f"unknown key {path[-1]!r}" + did_you_mean(path[-1], names)
    if is_key:
        keys = [get_args(t)[0] for t in types_at(root, path[:-1]) if get_origin(t) is dict]
        allowed = _literals(_unwrap(keys[0])) if keys else None
        if allowed is not None:
            return f"unknown key {path[-1]!r}" + did_you_mean(path[-1], allowed)
        return f"key {path[-1]!r} {_PLAIN.get(kind, err['msg'])}"
    if kind == "literal_error":
        allowed = _literals(types_at(root, path))
        if allowed is None:
            return f"must be {err.get('ctx', {}).get('expected', '?')}, got {_got(value)}"
        shown = ", ".join(repr(a) if isinstance(a, str) else str(a) for a in allowed)
        head = f"must be {shown}" if len(allowed) == 1 else f"must be one of {shown}"
        hint = did_you_mean(value, allowed, list_all=False) if isinstance(value, str) else ""
        return f"{head}; got {_got(value)}{hint}"
    if kind in ("value_error", "assertion_error"):
        return re.sub(r"^(Value error|Assertion failed), ", "", err["msg"])
    if kind in ("too_short", "too_long"):
        ctx = err.get("ctx", {})
        bound = f"at least {ctx.get('min_length')}" if kind == "too_short" else f"at most {ctx.get('max_length')}"
        return f"should have {bound} items, got {ctx.get('actual_length')}"
    if kind in _PLAIN:
        return f"{_PLAIN[kind]}, got {_got(value)}" + _yaml11_number(value)
    msg = re.sub(r"^(Input|String|List|Dictionary|Value) should", "should", err["msg"])
    return f"{msg}, got {_got(value)}"


def problem_in_file(filename: str | os.PathLike[str], path: Path, message: str) -> Problem:
    """A problem found after validation (a template past a limit on a real message, at run time), placed at
    `path` in the scenario file as validation would place it; at 0:0 if the file can no longer be read."""
    name = os.fspath(filename)
    try:
        with open(name, "rb") as f:
            text = f.read(MAX_FILE_BYTES + 1).decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return Problem(name, 0, 0, format_path(path), message)
    return problem_at(name, load_yaml(text, name).positions, path, message)
