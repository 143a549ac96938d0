"""The sandbox notification templates render in, bounded in work, in memory and in output.

Rendering is bounded in work, in memory and in output, so that no template can hang or exhaust the machine
(`{% for %}` in `{% for %}` over range(100000), `'x'.ljust(10**7)`, a string doubled forty times):

- steps: every loop iteration, call, arithmetic, joined text and piece of output costs a step, plus a step per
  hundred characters it makes; a render may take MAX_STEPS. The count depends only on the template and its
  context, so a run stays deterministic. A CPU-time budget (MAX_RENDER_SECONDS) backs it up;
- values: no text or list a template makes may be longer than MAX_VALUE, checked before it is made (widths of
  ljust, center, indent and format specs, repetitions, joins, replacements);
- output: a part may render at most RENDER_LIMITS[(channel, part)] characters (before titles are joined onto
  one line and SMS are cut to 160).

`shopsim validate` renders each override against the sample contexts within these limits and reports any it
passes; at run time a scenario's override that passes one stops the run (TemplateLimitError), while a shipped
template falls back as on any other error.
"""

from __future__ import annotations

import re
import string
import threading
import time
from functools import update_wrapper
from itertools import islice
from types import BuiltinMethodType, MethodType
from typing import Any

from jinja2 import StrictUndefined, nodes
from jinja2.runtime import Markup, markup_join
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.visitor import NodeTransformer

from shopsim.notify.filters import _number_ok, discount, money, shorten

__all__ = ["ENV", "MAX_SOURCE", "MAX_STEPS", "MAX_VALUE", "PART_NAMES", "RENDER_LIMITS", "RenderLimit",
           "budgeted", "make_environment", "render_bounded", "render_capped"]

_MAX_POWER = 1000
_MAX_POWER_BITS = 100_000
MAX_VALUE = 100_000
MAX_STEPS = 10_000  # a hundred times what the longest shipped template takes (a weekly digest)
MAX_RENDER_SECONDS = 2.0
MAX_SOURCE = 20_000  # characters of one template part
RENDER_LIMITS: dict[tuple[str, str], int] = {
    ("email", "subject"): 1_000,  # a header line is at most 998 characters (RFC 5322)
    ("email", "body"): 100_000,   # Gmail clips a message past 102 KB
    ("push", "title"): 500,
    ("push", "body"): 4_000,      # APNs and FCM payloads are at most 4 KB
    ("sms", "body"): 1_600,       # ten concatenated SMS; the message itself is cut to 160
    ("in_app", "title"): 500,
    ("in_app", "body"): 10_000,
}
PART_NAMES = {("email", "subject"): "an email subject", ("email", "body"): "an email body",
               ("push", "title"): "a push title", ("push", "body"): "a push body", ("sms", "body"): "an SMS",
               ("in_app", "title"): "an in-app title", ("in_app", "body"): "an in-app body"}


class RenderLimit(Exception):
    """A render went past one of the limits above."""


class _Budget:
    __slots__ = ("left", "check", "deadline")

    def __init__(self) -> None:
        self.left = MAX_STEPS
        self.check = MAX_STEPS - 512
        self.deadline = 0.0  # set at the first check: reading the CPU clock costs as much as a short render's part


_local = threading.local()  # the budget of the render under way in this thread (the app renders off the main one)


def _charge(steps: int) -> None:
    b = getattr(_local, "budget", None)
    if b is None:
        return
    b.left -= steps
    if b.left < b.check:
        if b.left < 0:
            raise RenderLimit(f"takes more than {MAX_STEPS:,} steps (loop rounds, calls, operations and text made)")
        b.check = b.left - 512
        now = time.thread_time()
        if not b.deadline:
            b.deadline = now + MAX_RENDER_SECONDS
        elif now > b.deadline:
            raise RenderLimit(f"takes more than {MAX_RENDER_SECONDS:g} s of CPU")


def _made(value: Any, steps: int = 1) -> Any:
    """Charge `steps` and one more per hundred characters or items of a value a template made, refusing one
    past MAX_VALUE (made already, but every producer that could make a far larger one checks before)."""
    n = len(value) if isinstance(value, (str, list, tuple, dict, bytes)) else 0
    if n > MAX_VALUE:
        raise RenderLimit(f"makes a value of {n:,} characters or items; a template's values are at most {MAX_VALUE:,}")
    steps += n // 100
    if steps:
        _charge(steps)
    return value


def _will_make(n: int, what: str) -> None:
    if n > MAX_VALUE:
        raise RenderLimit(f"{what} would make a value of {n:,} characters or items; a template's values are at most "
                     f"{MAX_VALUE:,}")


def _width(value: Any, what: str) -> None:
    if isinstance(value, int) and not isinstance(value, bool):
        _will_make(value, what)


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d*)(?:\.(\*|\d*))?")
_DIGITS = re.compile(r"\d+")


def _check_percent(fmt: Any, args: Any) -> None:
    """printf-style formatting: no width or precision past MAX_VALUE, none taken from the arguments (*)."""
    if not isinstance(fmt, str):
        return
    for m in _PERCENT_SPEC.finditer(fmt):
        for group in m.groups():
            if group == "*":
                raise RenderLimit("a * width or precision in % formatting is not allowed in templates")
            if group:
                _width(int(group) if len(group) <= 12 else 10 ** 12, f"the format {m.group(0)!r}")


def _check_format_spec(fmt: str) -> None:
    """str.format: no width or precision past MAX_VALUE, none nested ({:{w}})."""
    for _, _, spec, _ in string.Formatter().parse(fmt):
        if spec:
            if "{" in spec:
                raise RenderLimit("a nested format spec ({:{...}}) is not allowed in templates")
            for digits in _DIGITS.findall(spec):
                _width(int(digits) if len(digits) <= 12 else 10 ** 12, f"the format spec {spec!r}")


def _joined(items: Any, sep: Any) -> list:
    items = list(items)
    _charge(1 + len(items) // 100)
    if isinstance(sep, str):
        total = len(sep) * max(0, len(items) - 1) + sum(len(x) if isinstance(x, str) else 20 for x in items)
        _will_make(total, "joining them")
    return items


def _replaced_size(s: str, old: Any, new: Any, count: Any = -1) -> int:
    if not (isinstance(s, str) and isinstance(old, str) and isinstance(new, str)):
        return 0
    hits = (len(s) + 1) if old == "" else s.count(old)
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    return len(s) + hits * max(0, len(new) - len(old))


def _check_str_method(obj: Any, name: str, args: tuple, kwargs: dict) -> tuple:
    """Refuse a str method call that would make too large a value; returns the arguments to call it with."""
    if name in ("ljust", "rjust", "center", "zfill"):
        _width(args[0] if args else kwargs.get("width"), f"{name}()")
    elif name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        if isinstance(size, int):
            _will_make(len(obj) + obj.count("\t") * max(0, size), "expandtabs()")
    elif name == "replace" and len(args) >= 2:
        _will_make(_replaced_size(obj, *args[:3]), "replace()")
    elif name == "join" and args:
        args = (_joined(args[0], obj), *args[1:])
    elif name in ("translate", "maketrans"):
        raise RenderLimit(f"str.{name} is not allowed in templates")
    return args


class _Guard(NodeTransformer):
    """Rewrites a parsed template so that loops count their rounds and joined text (`~`, and the text of a
    block, which Jinja joins with environment.concat) is measured before it is made."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, "_rounds", [], [], None, None, lineno=node.iter.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return nodes.Filter(nodes.List(node.nodes, lineno=node.lineno), "_concat", [], [], None, None,
                            lineno=node.lineno)


def _rounds(iterable: Any) -> Any:
    """A loop's iterable, a step charged per round: at once for one of known length (the usual case, and the
    cheap one), else round by round."""
    try:
        n = len(iterable)
    except TypeError:
        return _each_round(iterable)
    _charge(n)
    return iterable


def _each_round(iterable: Any) -> Any:
    for item in iterable:
        _charge(1)
        yield item


def _concat(parts: list) -> str:
    n = 0
    for p in parts:
        if type(p) is not str:  # numbers, Markup (joined with escaping), Undefined (raising)
            texts = [str(p) for p in parts]
            _will_make(sum(map(len, texts)), "joining text with ~")
            return _made(markup_join(parts) if any(isinstance(p, Markup) for p in parts) else "".join(texts), 0)
        n += len(p)
    _will_make(n, "joining text with ~")
    if n >= 100:
        _charge(n // 100)
    return "".join(parts)


def _block_concat(parts: Any) -> str:
    if not isinstance(parts, list):
        parts = list(parts)
    n = sum(map(len, parts))
    _will_make(n, "the text of a block")
    _charge(1 + n // 100)
    return "".join(parts)


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, bounded as described above."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    concat = staticmethod(_block_concat)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        return _Guard().visit(super()._parse(source, name, filename))

    def getattr(self, obj: Any, attribute: str) -> Any:
        # Contexts are JSON-like dicts: `order.items` means the key, not dict.items (Jinja tries the
        # attribute first). Also the fast path for nearly every lookup in the shipped templates.
        if type(obj) is dict:
            try:
                return obj[attribute]
            except (KeyError, TypeError):
                pass
        return super().getattr(obj, attribute)

    def wrap_str_format(self, value: Any) -> Any:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        fmt = value.__self__

        def checked(*args: Any, **kwargs: Any) -> str:
            _check_format_spec(fmt)
            return _made(wrapped(*args, **kwargs))

        return checked

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        _charge(1)  # before: a macro calling itself must run out of steps on the way down
        if isinstance(__obj, (BuiltinMethodType, MethodType)) and isinstance(getattr(__obj, "__self__", None), str):
            args = _check_str_method(__obj.__self__, __obj.__name__, args, kwargs)
        return _made(super().call(__context, __obj, *args, **kwargs), 0)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _charge(1)
        if operator == "**":
            if _number_ok(right) and (abs(right) > _MAX_POWER or (
                    isinstance(left, int) and left.bit_length() * abs(right) > _MAX_POWER_BITS)):
                raise SecurityError(f"power {right!r} is too large for a template")
            return left ** right
        if operator == "%":
            if isinstance(left, str):
                _check_percent(left, right)
                return _made(left % right)
            return left % right
        if operator == "+":
            if isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
                _will_make(len(left) + len(right), "+")
            return _made(left + right)
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, (str, list, tuple)) and isinstance(times, int) and len(seq) * times > MAX_VALUE:
                raise SecurityError("repetition too large for a template")
        if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > _MAX_POWER_BITS:
            raise SecurityError("a product too large for a template")
        return _made(left * right)


def _bounded_filters(filters: dict[str, Any]) -> dict[str, Any]:
    """Jinja's filters, each charged for what it makes, those that can make a large value checked first;
    `random` removed (a run must not depend on anything but its seed)."""
    checks: dict[str, Any] = {
        "center": lambda value, width=80: _width(width, "center"),
        "indent": lambda s, width=4, *a, **k: _will_make(
            len(str(s)) + (str(s).count("\n") + 1) * (len(width) if isinstance(width, str) else
                                                          width if isinstance(width, int) else 0), "indent"),
        "wordwrap": lambda s, width=79, brk=True, wrapstring=None, *a, **k: _will_make(
            len(str(s)) * (1 + len(wrapstring or "\n")) // max(1, width if isinstance(width, int) else 1)
            + len(str(s)), "wordwrap"),
        "format": lambda value, *args, **kwargs: _check_percent(value, args or kwargs),
        "replace": lambda s, old, new, count=None: _will_make(
            _replaced_size(str(s), old, new, -1 if count is None else count), "replace"),
        "batch": lambda value, linecount, fill_with=None: _width(linecount, "batch"),
        "slice": lambda value, slices, fill_with=None: _width(slices, "slice"),
        "round": lambda value, precision=0, method="common": _width(
            abs(precision) if isinstance(precision, int) else 0, "round"),  # ceil and floor compute 10 ** precision
        "sum": _numbers_only,
    }
    out: dict[str, Any] = {}
    for name, f in filters.items():
        if name == "random":
            continue
        # shopsim's own filters make short texts from short ones: not worth a wrapper on every message
        out[name] = f if name in ("money", "shorten", "discount") else _charged(f, checks.get(name))
    out["join"] = _charged_join(filters["join"])
    out["_rounds"] = _rounds
    out["_concat"] = _concat
    return out


def _numbers_only(iterable: Any, attribute: Any = None, start: Any = 0) -> None:
    if not _number_ok(start):  # a start of [] would add up lists, each copy longer than the last
        raise RenderLimit("sum adds up numbers only in templates")


def _charged(f: Any, check: Any) -> Any:
    pass_arg = getattr(f, "jinja_pass_arg", None)

    if check is None:
        def filter_(*args: Any, **kwargs: Any) -> Any:
            return _made(f(*args, **kwargs), 0)
    elif pass_arg is None:
        def filter_(*args: Any, **kwargs: Any) -> Any:
            check(*args, **kwargs)
            return _made(f(*args, **kwargs), 0)
    else:  # its first argument is Jinja's (context, eval context or environment)
        def filter_(first: Any, *args: Any, **kwargs: Any) -> Any:
            check(*args, **kwargs)
            return _made(f(first, *args, **kwargs), 0)
    return update_wrapper(filter_, f)


def _charged_join(f: Any) -> Any:
    def join(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> Any:
        _charge(1)
        items = _joined(value, d) if attribute is None else list(value)
        return _made(f(eval_ctx, items, d, attribute), 0)

    return update_wrapper(join, f)


def make_environment() -> ImmutableSandboxedEnvironment:
    env = _Sandbox(
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        cache_size=0,
    )
    env.filters["money"] = money
    env.filters["shorten"] = shorten
    env.filters["discount"] = discount
    env.filters = _bounded_filters(env.filters)
    # lipsum makes text from the global random generator, as long as asked: neither bounded nor reproducible
    env.globals.pop("lipsum", None)
    return env


def render_bounded(tpl: Any, ctx: dict, channel: str, part: str, shared: bool = False) -> str:
    """Render `tpl` within the limits (raising RenderLimit past one), streaming its output."""
    return render_capped(tpl, ctx, RENDER_LIMITS.get((channel, part), MAX_VALUE), shared, PART_NAMES.get((channel, part)))


def budgeted(render: Any, ctx: dict, limit: int) -> str:
    """`render(ctx, limit)` within a fresh step budget, for a template translated to Python (template_python.py)."""
    previous = getattr(_local, "budget", None)
    _local.budget = _Budget()
    try:
        return render(ctx, limit)
    finally:
        _local.budget = previous


def render_capped(tpl: Any, ctx: dict, cap: int, shared: bool = False, what: str | None = None) -> str:
    previous = getattr(_local, "budget", None)
    _local.budget = _Budget()
    try:
        out: list[str] = []
        n = 0
        # The output is measured as it comes, 32 pieces at a time, and not charged: what makes it (loop rounds,
        # calls) is.
        chunks = tpl.root_render_func(tpl.new_context(ctx, shared=shared))
        while True:
            batch = list(islice(chunks, 32))
            n += sum(map(len, batch))
            if n > cap:
                raise RenderLimit(f"renders more than {cap:,} characters, the most {what or 'a part'} may have")
            out += batch
            if len(batch) < 32:
                return "".join(out)
    finally:
        _local.budget = previous


ENV = make_environment()
