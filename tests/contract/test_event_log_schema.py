"""The event log's one schema (shopsim/contract/payloads.py): its JSON Schema is committed, holds for the golden
logs and the documented examples, rejects a wrong line, and docs/event-log.md documents exactly what it declares."""

from __future__ import annotations

import functools
import hashlib
import json
import re

import jsonschema
import orjson
import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

from helpers.paths import ROOT
from helpers.runs import replay_lines
from shopsim.cli import main
from shopsim.contract import events as E
from shopsim.contract.log_schema import log_json_schema
from shopsim.contract.payloads import COMMON, PAYLOADS, Field
from shopsim.validate import load_scenario

SCHEMA_FILE = ROOT / "docs" / "event-log.schema.json"
DOC = ROOT / "docs" / "event-log.md"
GOLDEN = ROOT / "tests" / "golden"
TYPE_RE = re.compile(r"^[a-z_]+\.[a-z_]+$")


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    return _validator()


@pytest.fixture(scope="module")
def golden_lines() -> list[dict]:
    return _golden_lines()


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@functools.cache
def _golden_lines() -> list[dict]:
    """The full golden log, checked against its stored digest first (computed as tests/sim/test_determinism.py
    does: run.started's version left out), so these are the golden lines and not merely a fresh run."""
    raw = replay_lines(load_scenario(ROOT / "tests" / "fixtures" / "golden_small.yaml")).splitlines(keepends=True)
    lines = [orjson.loads(line) for line in raw]
    first = dict(lines[0])
    first.pop("version")
    raw[0] = orjson.dumps(first, option=orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE)
    digest = hashlib.sha256(b"".join(raw)).hexdigest()
    assert digest == (GOLDEN / "golden_small.sha256").read_text().strip(), "the golden log changed"
    return lines


def _errors(validator, line: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(line)]


# --- the contract and its JSON Schema ----------------------------------------------------------------------

def test_every_event_type_has_a_payload():
    declared = {v for k, v in vars(E).items() if k.isupper() and isinstance(v, str) and TYPE_RE.match(v)}
    assert declared == set(PAYLOADS)


def test_the_committed_schema_is_what_shopsim_schema_log_prints():
    res = CliRunner().invoke(main, ["schema", "--log"])
    assert res.exit_code == 0, res.output
    assert res.output == SCHEMA_FILE.read_text(encoding="utf-8"), \
        "run: shopsim schema --log --out docs/event-log.schema.json"
    assert json.loads(res.output) == log_json_schema()


def test_every_golden_line_validates(validator, golden_lines):
    head = [orjson.loads(line) for line in (GOLDEN / "golden_small.head.jsonl").read_bytes().splitlines()]
    # The stored head leaves run.started's version out (so releases do not churn it); the log has it.
    head[0] = {**head[0], "version": golden_lines[0]["version"]}
    assert head == golden_lines[:len(head)]
    bad = {n: errs for n, line in enumerate(golden_lines, 1) if (errs := _errors(validator, line))}
    assert not bad, f"{len(bad)} lines fail, first: {next(iter(bad.items()))}"
    assert len({line["type"] for line in golden_lines}) >= 30, "the golden log should cover most types"


def test_every_documented_example_validates(validator):
    examples = [(doc.name, n, line) for doc in (DOC, ROOT / "docs" / "notifications.md")
                for n, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1)
                if line.startswith('{"') and '"type":' in line]
    assert len(examples) > 60
    bad = [(doc, n, errs) for doc, n, line in examples if (errs := _errors(validator, json.loads(line)))]
    assert not bad


_OF_TYPE = {"string": "7", "integer": 7, "number": 7.5, "boolean": True, "object": {"a": 1}, "array": [1],
            "null": None}


def _wrong_values(f: Field) -> list:
    """Values of a JSON type the field does not allow."""
    allowed = {f.type} | ({"null"} if f.nullable else set())
    if "number" in allowed:
        allowed.add("integer")
    return [v for t, v in _OF_TYPE.items() if t not in allowed]


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_a_field_of_the_wrong_type_fails(data):
    validator, golden_lines = _validator(), _golden_lines()
    line = data.draw(st.sampled_from(golden_lines))
    fields = PAYLOADS[line["type"]].fields + COMMON[:2]
    f = data.draw(st.sampled_from(fields))
    wrong = data.draw(st.sampled_from(_wrong_values(f)))
    assert _errors(validator, line) == []
    assert _errors(validator, {**line, f.name: wrong}), (line["type"], f.name, wrong)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_a_missing_or_unknown_field_fails(data):
    validator, golden_lines = _validator(), _golden_lines()
    line = data.draw(st.sampled_from(golden_lines))
    name = data.draw(st.sampled_from(sorted(line)))
    assert _errors(validator, {k: v for k, v in line.items() if k != name})
    assert _errors(validator, {**line, "unexpected": 1})


def test_a_run_wide_event_has_no_shopper_and_the_others_have_one(validator, golden_lines):
    started, created = golden_lines[0], golden_lines[1]
    assert _errors(validator, {**started, "shopper": "s000001"})
    assert _errors(validator, {**created, "shopper": None})
    assert _errors(validator, {**created, "t": "2026-03-02T00:00:00Z"})  # three digits of ms, always


# --- docs/event-log.md documents exactly the contract ------------------------------------------------------

def _words(f: Field) -> str:
    """A field's type as the docs' tables write it."""
    base = {"array": "list", "object": "object"}.get(f.type, f.type)
    if f.type == "array" and f.items in ("string", "object"):
        base = f"list of {f.items}s"
    return f"{base} or null" if f.nullable else base


def _documented() -> dict[tuple[str, ...], str]:
    """(type, field) or (type, object field, field) -> its type as documented, from the doc's field tables:
    `| field | type | meaning |` under a heading naming the type(s) (or under a line "`obj`:" for the
    fields of an object field), and `| event | field | type | meaning |` rows naming their type(s)."""
    out: dict[tuple[str, ...], str] = {}
    types: list[str] = []
    nested = opening = None
    table = None
    blank = True
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            types = [t for t in re.findall(r"`([^`]+)`", line) if TYPE_RE.match(t)]
            if line.startswith("## Fields on every line"):
                types = ["*"]
            nested, table = None, None
        elif line.startswith("| field | type |"):
            table = "fields"
        elif line.startswith("| event | field |"):
            table = "events"
        elif line.startswith("|") and table is not None:
            cells = [c.strip() for c in line.strip("|").split("|")]
            if cells[0].startswith("---"):
                continue
            if table == "events":
                if cells[0]:
                    named = re.findall(r"`([^`]+)`", cells[0])
                    types = [t for n in named for t in PAYLOADS if t == n or (n.endswith(".*") and
                                                                             t.startswith(n[:-1]))]
                cells = cells[1:]
            name = cells[0].strip("`")
            for t in types:
                out[(t, nested, name) if nested else (t, name)] = cells[1]
        elif not line.strip():
            table = None
        else:
            table = None
            if blank:  # a paragraph opening with `name` and ending with ':' introduces that object's table
                m = re.match(r"^`(\w+)`", line)
                opening = m.group(1) if m else None
            if opening and line.endswith(":"):
                nested = opening
        blank = not line.strip()
    return out


def test_the_doc_names_every_type_and_field_and_nothing_else():
    doc = _documented()
    want: dict[tuple[str, ...], str] = {("*", f.name): _words(f) for f in COMMON}
    nested_want: dict[tuple[str, ...], str] = {}
    for typ, p in PAYLOADS.items():
        for f in p.fields:
            want[(typ, f.name)] = _words(f)
            for sub in f.shape if f.type == "object" else ():
                nested_want[(typ, f.name, sub.name)] = _words(sub)
    top = {k: v for k, v in doc.items() if len(k) == 2}
    assert {k[0] for k in top} == set(PAYLOADS) | {"*"}, "a type without its section, or a section of no type"
    missing = sorted(set(want) - set(top))
    extra = sorted(set(top) - set(want))
    assert not missing and not extra, f"undocumented: {missing}; documented but not declared: {extra}"
    assert {k: v for k, v in top.items()} == want, \
        [(k, top[k], want[k]) for k in want if top[k] != want[k]]
    # An object field's own table, where the doc gives one (dotted paths go deeper than the contract).
    for key, words in doc.items():
        if len(key) == 3 and "." not in key[2]:
            assert nested_want.get(key) == words, (key, words, nested_want.get(key))
    tables = {k[:2] for k in doc if len(k) == 3}
    for key, words in nested_want.items():
        if key[:2] in tables:
            assert doc.get(key) == words, (key, words)
