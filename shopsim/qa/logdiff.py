"""The first place where two event logs part: for golden logs (`replay --golden`) and `shopsim diff`.

Logs are compared line by line as they stream in (they can be gigabytes; nothing is loaded whole), and
byte for byte, with one exception: the `version` field of the `run.started` line (the shopsim version that
wrote the log) is ignored, so a golden log keeps passing across shopsim upgrades that do not change the
engine's behaviour. Every other byte counts: a different key order, number spelling (`12.0` vs `12`) or
escape is a difference.

`ignore=("seq", ...)` drops those top-level fields too before comparing (behavioural comparison of two runs
that may come from different scenarios or seeds). Lines equal as bytes are never parsed; a pair that differs
is parsed, the ignored fields are dropped, and the rest is compared as canonical JSON. With `seq` ignored,
two logs that differ by one inserted (or missing) event report that event as an insertion (or a removal)
rather than a change, when the lines after it line up again.
"""

from __future__ import annotations

import re
from collections import deque
from itertools import zip_longest
from typing import Iterable, Iterator, NamedTuple

import orjson

from shopsim.store.runfile import parse_record

__all__ = ["Divergence", "first_divergence", "format_divergence"]

_RUN_STARTED = b'"type":"run.started"'
# A top-level "version" key of a run.started line (it has no nested objects; a quote inside a JSON string
# is always escaped, so this cannot match inside a value).
_VERSION = re.compile(rb'"version":"(?:[^"\\]|\\.)*"')
WIDTH, _SLACK = 200, 40  # display width of a line in format_divergence


class Divergence(NamedTuple):
    """Where two logs first differ. `a` is the golden (or first) log, `b` the new (or second) one."""
    line_a: int                  # 1-based line number of the first difference in a (len(a) + 1 if a ended)
    line_b: int                  # the same in b (the logs are compared in step, so line_a == line_b)
    a: bytes | None              # a's line there, None when a ended before it
    b: bytes | None              # b's line there, None when b ended before it
    before: tuple[bytes, ...]    # up to `context` lines common to both, just before the difference
    after_a: tuple[bytes, ...]   # up to `context` lines of a after `a`
    after_b: tuple[bytes, ...]   # up to `context` lines of b after `b`
    fields: list[str]            # keys whose values differ, when a and b are both JSON objects; sorted
    ended_early: bool            # one log is a prefix of the other (a or b is None)
    # "changed", "ended" (see ended_early), or, when the lines after line up again (only possible with
    # ignore=("seq",)): "inserted" (b has an extra line `b`), "removed" (b lacks the line `a`).
    shape: str = "changed"


def first_divergence(a: Iterable[bytes], b: Iterable[bytes], context: int = 3,
                     ignore: tuple[str, ...] = ()) -> Divergence | None:
    """The first difference between two logs given as lines without their newlines (RunFile.lines()),
    or None when they are the same (apart from run.started's version and the `ignore`d fields)."""
    ignore = tuple(ignore)
    same = _Same(ignore)
    before: deque[bytes] = deque(maxlen=max(context, 0))
    ia, ib = iter(a), iter(b)
    n = 0
    for n, (la, lb) in enumerate(zip_longest(ia, ib), 1):
        if la == lb or (la is not None and lb is not None and same(la, lb)):
            before.append(la)
            continue
        after_a = _take(ia, context) if la is not None else ()
        after_b = _take(ib, context) if lb is not None else ()
        ended = la is None or lb is None
        fields = [] if ended else _fields(la, lb, ignore)
        shape = "ended" if ended else _shape(la, lb, after_a, after_b, context, same)
        return Divergence(n, n, la, lb, tuple(before), after_a, after_b, fields, ended, shape)
    return None


def format_divergence(d: Divergence, a_name: str, b_name: str) -> str:
    """Plain text, unified-diff flavoured: a header line saying where (line, t, shopper) and what differs,
    `- ` lines of a (golden), `+ ` lines of b (new), `  ` common context, then each differing field's two
    values (`reason: "quiet_hours" -> null`). Long lines are cut to WIDTH characters, around the first
    differing byte for the differing pair. Ends without a newline."""
    rec = parse_record(d.b if d.a is None or d.shape == "inserted" else d.a) or {}
    where = ", ".join(str(rec[k]) for k in ("t", "shopper") if isinstance(rec.get(k), str))
    head = f"first difference at line {d.line_a}" + (f" ({where})" if where else "")
    if d.a is None:
        what = f"{a_name} ends after line {d.line_a - 1}; {b_name} goes on"
    elif d.b is None:
        what = f"{b_name} ends after line {d.line_b - 1}" + (
            " without a run.finished line" if d.before and not _is_finished(d.before[-1]) else "")
    elif d.shape == "inserted":
        what = f"{b_name} has an extra {_type(d.b)} line"
    elif d.shape == "removed":
        what = f"{b_name} lacks this {_type(d.a)} line"
    elif d.fields:
        many = len(d.fields) > 1
        what = f"field{'s' if many else ''} {', '.join(d.fields)} differ{'' if many else 's'}"
    else:
        what = "the lines differ"
    out = [f"{head}: {what}", f"--- {a_name}", f"+++ {b_name}",
           f"@@ line {d.line_a - len(d.before)} @@"]
    out += ["  " + _show(line) for line in d.before]
    if d.shape == "inserted":
        out.append("+ " + _show(d.b))
        out += ["  " + _show(line) for line in (d.a, *d.after_a)[:len(d.after_b)]]
    elif d.shape == "removed":
        out.append("- " + _show(d.a))
        out += ["  " + _show(line) for line in d.after_a[:len(d.after_b) + 1]]
    else:
        at = _first_diff(d.a, d.b) if d.a is not None and d.b is not None else 0
        if d.a is not None:
            out.append("- " + _show(d.a, at))
            out += ["- " + _show(line) for line in d.after_a]
        if d.b is not None:
            out.append("+ " + _show(d.b, at))
            out += ["+ " + _show(line) for line in d.after_b]
        if d.fields and d.a is not None and d.b is not None:
            ra, rb = parse_record(d.a) or {}, parse_record(d.b) or {}
            width = max(len(f) for f in d.fields)
            for f in d.fields:  # after the diff, unindented: "t: "...Z" -> "...Z""
                out.append(f"{f + ':':<{width + 1}} {_value(ra, f)} -> {_value(rb, f)}")
    return "\n".join(out)


# --- internals ---------------------------------------------------------------------------------------

class _Same:
    """Equality of two lines that differ as bytes: apart from run.started's version and ignored fields."""

    def __init__(self, ignore: tuple[str, ...]):
        self.ignore = ignore

    def __call__(self, la: bytes, lb: bytes) -> bool:
        if self.ignore:
            ra, rb = parse_record(la), parse_record(lb)
            if ra is None or rb is None:
                return False
            return _canonical(ra, self.ignore) == _canonical(rb, self.ignore)
        if _RUN_STARTED in la and _RUN_STARTED in lb:
            return _VERSION.sub(b"", la, count=1) == _VERSION.sub(b"", lb, count=1)
        return False


def _canonical(rec: dict, ignore: tuple[str, ...]) -> bytes:
    rec = {k: v for k, v in rec.items() if k not in ignore}
    if rec.get("type") == "run.started":
        rec.pop("version", None)
    return orjson.dumps(rec, option=orjson.OPT_SORT_KEYS)


def _fields(la: bytes, lb: bytes, ignore: tuple[str, ...]) -> list[str]:
    ra, rb = parse_record(la), parse_record(lb)
    if ra is None or rb is None:
        return []
    skip = set(ignore)
    if ra.get("type") == rb.get("type") == "run.started":
        skip.add("version")

    def text(rec: dict, key: str) -> bytes | None:  # as JSON text: 12 and 12.0 differ in a log
        return orjson.dumps(rec[key], option=orjson.OPT_SORT_KEYS) if key in rec else None

    return sorted(k for k in ra.keys() | rb.keys() if k not in skip and text(ra, k) != text(rb, k))


def _take(it: Iterator[bytes], n: int) -> tuple[bytes, ...]:
    out = []
    for line in it:
        out.append(line)
        if len(out) >= n:
            break
    return tuple(out)


def _shape(la: bytes, lb: bytes, after_a: tuple[bytes, ...], after_b: tuple[bytes, ...], context: int,
           same: _Same) -> str:
    """'inserted' when skipping `lb` makes the lines read after it equal a's from `la` on (b has one extra
    line), 'removed' the other way round, 'changed' otherwise. Only the lines already read (`context` on
    each side) are looked at, and at least one must line up again."""
    def realigns(extra_after: tuple[bytes, ...], other_rest: tuple[bytes, ...], ended: bool) -> bool:
        k = min(len(extra_after), len(other_rest))
        if k == 0 or (ended and len(extra_after) != len(other_rest)):
            return False
        return all(x == y or same(x, y) for x, y in zip(extra_after[:k], other_rest[:k]))

    ended = len(after_a) < context or len(after_b) < context  # a log ends within the lines read
    if realigns(after_b, (la, *after_a), ended):
        return "inserted"
    if realigns(after_a, (lb, *after_b), ended):
        return "removed"
    return "changed"


def _first_diff(a: bytes, b: bytes) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


def _show(line: bytes | None, at: int = 0) -> str:
    """A line for display, cut to about WIDTH characters (around byte `at`, the first difference, when that
    is far in); a line only a little longer than WIDTH is shown whole."""
    if line is None:
        return ""
    if len(line) <= WIDTH + _SLACK:
        return line.decode("utf-8", "replace")
    start = 0 if at < WIDTH * 2 // 3 else at - WIDTH // 3
    end = start + WIDTH
    if len(line) - end <= _SLACK:
        end = len(line)
    text = line[start:end].decode("utf-8", "ignore")  # a cut may split a character
    return ("…" if start else "") + text + (f"… (+{len(line) - end} bytes)" if end < len(line) else "")


def _value(rec: dict, key: str) -> str:
    if key not in rec:
        return "(absent)"
    text = orjson.dumps(rec[key], option=orjson.OPT_SORT_KEYS).decode()
    return text if len(text) <= 60 else text[:59] + "…"


def _type(line: bytes | None) -> str:
    rec = parse_record(line) or {}
    return str(rec.get("type", "?"))


def _is_finished(line: bytes | None) -> bool:
    rec = parse_record(line)
    return rec is not None and rec.get("type") == "run.finished"
