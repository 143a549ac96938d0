"""YAML to plain data plus the line and column of every value, so problems can point into the file.

Values are what `yaml.safe_load` gives, with two exceptions, both because the schema wants the text:
timestamps stay as written (instants are ISO strings; a date-only value must not turn into midnight UTC),
and so do YAML 1.1 base-60 numbers, which would silently turn the clock time 22:00 into the int 1320.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from shopsim.scenario.problems import Path, Problem, format_path

_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_NUMBERS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
# Positions key under which a string value's first text line is kept (see _Builder.child).
TEXT = "\0text"
# Aliases can make a small file expand enormously ("billion laughs"); no real scenario comes near this.
MAX_VALUES = 1_000_000


@dataclass
class YamlDoc:
    data: Any  # the top-level mapping as a dict; None when the file cannot be used at all
    positions: dict[Path, tuple[int, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


class _Fatal(Exception):
    def __init__(self, problem: Problem):
        self.problem = problem


def load_yaml(text: str, filename: str = "<string>") -> YamlDoc:
    """Parse `text`; never raises for bad input, problems are returned in the YamlDoc."""
    loader = None
    try:
        try:
            loader, root = _compose(text)
            if root is None:
                return YamlDoc(None, problems=[Problem(filename, 1, 1, "-", "the file is empty; a scenario needs "
                                                       "at least schema_version, run and population")])
            if not isinstance(root, MappingNode) or root.tag != _MAP:
                kind = _kind(root)
                return YamlDoc(None, problems=[Problem(filename, 1, 1, "-", "the top level must be a mapping "
                                                       f"(schema_version: 1, run: ..., population: ...), got {kind}")])
            doc = YamlDoc(None)
            doc.data = _Builder(loader, filename, doc).build(root, ())
            return doc
        except _Fatal as e:
            return YamlDoc(None, problems=[e.problem])
        except yaml.MarkedYAMLError as e:
            return YamlDoc(None, problems=[_marked_problem(e, filename)])
        except yaml.reader.ReaderError as e:
            line, col = _line_col(text, e.position)
            char = f"U+{e.character:04X}" if isinstance(e.character, int) else repr(e.character)
            return YamlDoc(None, problems=[Problem(filename, line, col, "-", f"invalid character {char} ({e.reason})")])
        except yaml.YAMLError as e:
            return YamlDoc(None, problems=[Problem(filename, 1, 1, "-", f"invalid YAML: {e}")])
        except RecursionError:
            return YamlDoc(None, problems=[Problem(filename, 1, 1, "-", "invalid YAML: nested too deeply")])
    finally:
        if loader is not None:
            loader.dispose()


_FAST = getattr(yaml, "CSafeLoader", None)  # libyaml, when PyYAML was built with it


def _compose(text: str) -> tuple[Any, Any]:
    """(loader, root node). libyaml reads a file five times as fast as PyYAML's own parser, with the same nodes
    and positions; a file it refuses is read again by PyYAML, whose messages are the ones users see (and which
    checks for unprintable characters itself)."""
    if _FAST is not None:
        fast = _FAST(text)
        try:
            return fast, fast.get_single_node()
        except yaml.YAMLError:
            fast.dispose()
    loader = yaml.SafeLoader(text)
    try:
        return loader, loader.get_single_node()
    except BaseException:
        loader.dispose()
        raise


def _kind(node: Any) -> str:
    if isinstance(node, SequenceNode):
        return "a list"
    if isinstance(node, ScalarNode):
        return f"the plain value {node.value!r}"
    return f"a {node.tag} value"


def _line_col(text: str, offset: int) -> tuple[int, int]:
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


def _marked_problem(e: yaml.MarkedYAMLError, filename: str) -> Problem:
    mark = e.problem_mark or e.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    message = e.problem or e.context or "invalid YAML"
    if e.context and e.problem:
        # PyYAML's messages read as "<context>, <problem>": "while parsing a flow sequence, expected ','..."
        cm = e.context_mark
        where = f" (from line {cm.line + 1})" if cm and mark and cm.line != mark.line else ""
        message = f"{e.context}{where}, {e.problem}"
    if "'\\t'" in message:
        message += "; indent with spaces, YAML does not allow tabs there"
    return Problem(filename, line, col, "-", f"invalid YAML: {message}")


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, filename: str, doc: YamlDoc):
        self.loader = loader
        self.filename = filename
        self.doc = doc
        self.active: set[int] = set()  # nodes being built: seeing one again means a recursive alias
        self.count = 0

    def fatal(self, node: Any, path: Path, message: str) -> _Fatal:
        m = node.start_mark
        return _Fatal(Problem(self.filename, m.line + 1, m.column + 1, format_path(path), message))

    def build(self, node: Any, path: Path) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise self.fatal(node, path, f"the file expands to more than {MAX_VALUES} values (through aliases)")
        if id(node) in self.active:
            raise self.fatal(node, path, "an alias refers to a value that contains it; recursive data is not allowed")
        self.active.add(id(node))
        try:
            if isinstance(node, MappingNode) and node.tag == _MAP:
                return self.mapping(node, path)
            if isinstance(node, SequenceNode) and node.tag == _SEQ:
                return [self.child(item, path + (i,), item) for i, item in enumerate(node.value)]
            return self.scalar(node, path)
        finally:
            self.active.discard(id(node))

    def child(self, node: Any, path: Path, anchor: Any) -> Any:
        m = anchor.start_mark
        self.doc.positions[path] = (m.line + 1, m.column + 1)
        if isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:str":
            # Where the string's text begins, so a problem inside it (a template's line 3) maps to a file line:
            # a block scalar (| or >) starts on the line after its indicator.
            v = node.start_mark
            block = node.style in ("|", ">")
            self.doc.positions[path + (TEXT,)] = (v.line + (2 if block else 1), (m.column + 3) if block else v.column + 1)
        return self.build(node, path)

    def scalar(self, node: Any, path: Path) -> Any:
        if isinstance(node, ScalarNode) and (
                node.tag == _TIMESTAMP or (node.tag in _NUMBERS and ":" in node.value)):
            return node.value
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as e:
            raise self.fatal(node, path, f"invalid YAML: {e.problem}") from None
        except ValueError:  # Python reads no int of more than 4300 digits
            raise self.fatal(node, path, f"a number of {len(node.value)} digits; no value in a scenario needs "
                                         "more than a few") from None

    def mapping(self, node: MappingNode, path: Path) -> dict[Any, Any]:
        # Duplicates are checked among the keys written here; keys brought in by a merge (<<) may be overridden.
        first: dict[Any, Any] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE:
                continue
            key = self.key(key_node, path)
            if key in first:
                m, f = key_node.start_mark, first[key].start_mark
                self.doc.problems.append(Problem(
                    self.filename, m.line + 1, m.column + 1, format_path(path + (key,)),
                    f"duplicate key {key!r} (first at line {f.line + 1}, column {f.column + 1}); "
                    "only the last one would count"))
            else:
                first[key] = key_node
        self.loader.flatten_mapping(node)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.key(key_node, path)
            if key in out:  # later wins, as in safe_load; forget where the overridden value's parts were
                sub = path + (key,)
                for p in [p for p in self.doc.positions if p[:len(sub)] == sub]:
                    del self.doc.positions[p]
            out[key] = self.child(value_node, path + (key,), key_node)
        return out

    def key(self, node: Any, path: Path) -> Any:
        if not isinstance(node, ScalarNode):
            raise self.fatal(node, path, "a key must be a plain value, not a list or a mapping")
        return self.scalar(node, path)
