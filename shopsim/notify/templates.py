"""Notification templates: Jinja2 in a sandbox, one template per category x channel x part.

The shipped defaults live in ``shopsim/notify/templates/<category>.yaml`` (package data), one mapping
``channel -> {part: source}`` per category plus the ``digest`` pseudo-category. A scenario may override any
part (``policies.templates``); overrides are merged over the defaults part by part.

A runtime error in a template (undefined variable, sandbox violation, bad filter input) falls back to the
shipped default for that part, and if that fails too, to a plain sentence. Rendering is bounded in work, in
the size of what it makes and in output (see "environment" below); a scenario's override past a bound raises
TemplateLimitError, the one error that stops a run. ``check_templates`` finds the problems in overrides
ahead of time (for ``shopsim validate``) by rendering each overridden part against every sample context of
its category (``SAMPLES``).

Environment: ``ImmutableSandboxedEnvironment`` with ``StrictUndefined``, no autoescaping, no trailing
newline, and ``trim_blocks``/``lstrip_blocks`` so block tags on their own lines leave no blank lines behind.
Filters: ``money`` (locale-aware currency formatting with Babel, from the context's ``currency`` and
``locale``), ``shorten(n)`` and ``discount`` (what a coupon gives: "10% off orders over €50.00", "free
shipping"; ``discount(short=true)`` leaves out the minimum order).
"""

from __future__ import annotations

import re
import string
import threading
import time
from collections import Counter
from functools import update_wrapper
from importlib import resources
from itertools import islice
from types import BuiltinMethodType, MethodType
from typing import Any

import yaml
from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.runtime import Markup, markup_join
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.visitor import NodeTransformer

from shopsim.notify.filters import _number_ok, discount, format_money, money, shorten
from shopsim.notify.template_samples import SAMPLE_LABELS, SAMPLES
from shopsim.scenario.problems import did_you_mean
from shopsim.scenario.taxonomy import CATEGORIES, CHANNELS

__all__ = [
    "DIGEST",
    "MAX_STEPS",
    "MAX_VALUE",
    "PARTS",
    "RENDER_LIMITS",
    "SAMPLES",
    "SAMPLE_LABELS",
    "SMS_LIMIT",
    "TEMPLATE_CATEGORIES",
    "TemplateError",
    "TemplateLimitError",
    "Templates",
    "check_templates",
    "default_sources",
    "discount",
    "format_money",
    "make_environment",
    "money",
    "render_bounded",
    "shorten",
]

DIGEST = "digest"
TEMPLATE_CATEGORIES: tuple[str, ...] = (*CATEGORIES, DIGEST)
PARTS: dict[str, tuple[str, ...]] = {
    "email": ("subject", "body"),
    "push": ("title", "body"),
    "sms": ("body",),
    "in_app": ("title", "body"),
}
SMS_LIMIT = 160
_OVERRIDE_PATH = ("policies", "templates")
_TEMPLATE_FILE = "<template>"  # the filename Jinja gives templates compiled from strings


class TemplateError(Exception):
    """A template that cannot be used: a syntax error, or an unknown category/channel/part key."""

    def __init__(self, category: str | None, channel: str | None, part: str | None,
                 line: int | None, message: str) -> None:
        self.category = category
        self.channel = channel
        self.part = part
        self.line = line
        self.message = message
        where = "/".join(str(x) for x in (category, channel, part) if x is not None) or "templates"
        at = f" (template line {line})" if line is not None else ""
        super().__init__(f"{where}{at}: {message}")


# ----------------------------------------------------------------------------------------- environment
#
# Rendering is bounded in work, in memory and in output, so that no template can hang or exhaust the machine
# (`{% for %}` in `{% for %}` over range(100000), `'x'.ljust(10**7)`, a string doubled forty times):
#
# - steps: every loop iteration, call, arithmetic, joined text and piece of output costs a step, plus a step per
#   hundred characters it makes; a render may take MAX_STEPS. The count depends only on the template and its
#   context, so a run stays deterministic. A CPU-time budget (MAX_RENDER_SECONDS) backs it up;
# - values: no text or list a template makes may be longer than MAX_VALUE, checked before it is made (widths of
#   ljust, center, indent and format specs, repetitions, joins, replacements);
# - output: a part may render at most RENDER_LIMITS[(channel, part)] characters (before titles are joined onto
#   one line and SMS are cut to 160).
#
# `shopsim validate` renders each override against the sample contexts within these limits and reports any it
# passes; at run time a scenario's override that passes one stops the run (TemplateLimitError), while a shipped
# template falls back as on any other error.

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
_PART_NAMES = {("email", "subject"): "an email subject", ("email", "body"): "an email body",
               ("push", "title"): "a push title", ("push", "body"): "a push body", ("sms", "body"): "an SMS",
               ("in_app", "title"): "an in-app title", ("in_app", "body"): "an in-app body"}


class _Limit(Exception):
    """A render went past one of the limits above."""


class TemplateLimitError(TemplateError):
    """A scenario's template went past a rendering limit at run time: the run cannot go on as written.
    ``path`` is the override's place in the scenario, ("policies", "templates", category, channel, part)."""

    def __init__(self, category: str, channel: str, part: str, message: str) -> None:
        super().__init__(category, channel, part, None, message)
        self.path = (*_OVERRIDE_PATH, category, channel, part)


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
            raise _Limit(f"takes more than {MAX_STEPS:,} steps (loop rounds, calls, operations and text made)")
        b.check = b.left - 512
        now = time.thread_time()
        if not b.deadline:
            b.deadline = now + MAX_RENDER_SECONDS
        elif now > b.deadline:
            raise _Limit(f"takes more than {MAX_RENDER_SECONDS:g} s of CPU")


def _made(value: Any, steps: int = 1) -> Any:
    """Charge `steps` and one more per hundred characters or items of a value a template made, refusing one
    past MAX_VALUE (made already, but every producer that could make a far larger one checks before)."""
    n = len(value) if isinstance(value, (str, list, tuple, dict, bytes)) else 0
    if n > MAX_VALUE:
        raise _Limit(f"makes a value of {n:,} characters or items; a template's values are at most {MAX_VALUE:,}")
    steps += n // 100
    if steps:
        _charge(steps)
    return value


def _will_make(n: int, what: str) -> None:
    if n > MAX_VALUE:
        raise _Limit(f"{what} would make a value of {n:,} characters or items; a template's values are at most "
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
                raise _Limit("a * width or precision in % formatting is not allowed in templates")
            if group:
                _width(int(group) if len(group) <= 12 else 10 ** 12, f"the format {m.group(0)!r}")


def _check_format_spec(fmt: str) -> None:
    """str.format: no width or precision past MAX_VALUE, none nested ({:{w}})."""
    for _, _, spec, _ in string.Formatter().parse(fmt):
        if spec:
            if "{" in spec:
                raise _Limit("a nested format spec ({:{...}}) is not allowed in templates")
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
        raise _Limit(f"str.{name} is not allowed in templates")
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
        raise _Limit("sum adds up numbers only in templates")


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
    """Render `tpl` within the limits (raising _Limit past one), streaming its output."""
    return _render(tpl, ctx, RENDER_LIMITS.get((channel, part), MAX_VALUE), shared, _PART_NAMES.get((channel, part)))


def _render(tpl: Any, ctx: dict, cap: int, shared: bool = False, what: str | None = None) -> str:
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
                raise _Limit(f"renders more than {cap:,} characters, the most {what or 'a part'} may have")
            out += batch
            if len(batch) < 32:
                return "".join(out)
    finally:
        _local.budget = previous


_ENV = make_environment()


# -------------------------------------------------------------------------------------------- defaults

def _load_defaults() -> dict[str, dict[str, dict[str, str]]]:
    root = resources.files("shopsim.notify") / "templates"
    out: dict[str, dict[str, dict[str, str]]] = {}
    for category in TEMPLATE_CATEGORIES:
        data = yaml.safe_load((root / f"{category}.yaml").read_text(encoding="utf-8"))
        out[category] = {ch: {part: str(data[ch][part]) for part in PARTS[ch]} for ch in CHANNELS}
    return out


_DEFAULT_SOURCES: dict[str, dict[str, dict[str, str]]] | None = None


def default_sources() -> dict[str, dict[str, dict[str, str]]]:
    """The shipped template sources, {category: {channel: {part: source}}} (read once)."""
    global _DEFAULT_SOURCES
    if _DEFAULT_SOURCES is None:
        _DEFAULT_SOURCES = _load_defaults()
    return _DEFAULT_SOURCES


_DEFAULT_COMPILED: dict[tuple[str, str, str], Any] = {}


def _default_template(key: tuple[str, str, str]) -> Any:
    """A shipped template, compiled the first time it is needed (all 70 take ~0.4 s: a run that sends
    only a few kinds of message, or an app opening, should not wait for the rest)."""
    tpl = _DEFAULT_COMPILED.get(key)
    if tpl is None:
        cat, ch, part = key
        tpl = _DEFAULT_COMPILED[key] = _compile(cat, ch, part, default_sources()[cat][ch][part])
    return tpl


def _compile(category: str, channel: str, part: str, source: Any) -> Any:
    if not isinstance(source, str):
        raise TemplateError(category, channel, part, None,
                            f"a template must be a string, got {type(source).__name__}")
    problem = _source_problem(source)
    if problem is not None:
        raise TemplateError(category, channel, part, None, problem)
    try:
        return _from_string(source)
    except TemplateSyntaxError as e:
        raise TemplateError(category, channel, part, e.lineno, f"syntax error: {e.message}") from e
    except RecursionError:
        raise TemplateError(category, channel, part, None, _TOO_DEEP) from None


_TOO_DEEP = "nested too deeply to compile"


def _source_problem(source: str) -> str | None:
    if len(source) > MAX_SOURCE:
        return f"the template is {len(source):,} characters long; a template is at most {MAX_SOURCE:,}"
    return None


def _from_string(source: str) -> Any:
    tpl = _ENV.from_string(source)
    # Jinja keeps a template's globals as a ChainMap over the environment's, and copies it into every new
    # render context: a plain dict halves the cost of a short render (~15 -> ~7 µs for a push).
    tpl.globals = dict(tpl.globals)
    return tpl


# ------------------------------------------------------------------------------------------- rendering

_BLANK_LINES = re.compile(r"\n{3,}")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")


def _finish(text: str, channel: str, is_title: bool) -> str:
    text = text.strip()
    if is_title:
        # Subjects and titles are one line (a newline in a subject would be a header injection).
        return " ".join(text.split()) if ("\n" in text or "\r" in text or "\t" in text or "  " in text) else text
    if "\n" in text:
        if " \n" in text or "\t\n" in text:
            text = _TRAILING_SPACE.sub("\n", text)
        if "\n\n\n" in text:
            text = _BLANK_LINES.sub("\n\n", text)
    if channel == "sms" and len(text) > SMS_LIMIT:
        text = text[:SMS_LIMIT - 1] + "…"
    return text


def _plain(category: Any, ctx: Any, is_title: bool) -> str:
    """The last resort: a sentence that cannot fail."""
    try:
        label = str(category).replace("_", " ").strip() or "account"
    except Exception:  # noqa: BLE001
        label = "account"
    if is_title:
        return f"{label[:1].upper()}{label[1:]} update"
    link = ctx.get("link") if isinstance(ctx, dict) else None
    text = f"You have a new {label} update."
    if isinstance(link, str) and link:
        text += f" {link}"
    return text[:SMS_LIMIT]


class Templates:
    """Compiled templates for every category x channel x part (defaults with overrides merged in)."""

    def __init__(self, overrides: dict[tuple[str, str, str], Any]) -> None:
        # (category, channel) -> [(part, is_title, template, default or None when template is the default,
        # its output limit and what the part is called)], built the first time that kind of message is rendered.
        self._plan: dict[tuple[str, str], tuple[tuple[str, bool, Any, Any, int, str], ...]] = {}
        self._overrides = overrides
        self.overridden: frozenset[tuple[str, str, str]] = frozenset(overrides)
        # How often a part fell back: (category, channel, part, "default" | "plain") -> count.
        self.fallbacks: Counter = Counter()

    def _plan_for(self, category: str, channel: str) -> tuple[tuple[str, bool, Any, Any, int, str], ...] | None:
        if category not in TEMPLATE_CATEGORIES or channel not in CHANNELS:
            return None
        plan = []
        for part in PARTS[channel]:
            key = (category, channel, part)
            dflt = _default_template(key)
            tpl = self._overrides.get(key, dflt)
            plan.append((part, part != "body", tpl, None if tpl is dflt else dflt,
                         RENDER_LIMITS[(channel, part)], _PART_NAMES[(channel, part)]))
        out = self._plan[(category, channel)] = tuple(plan)
        return out

    @classmethod
    def load(cls, overrides: dict | None = None) -> Templates:
        """Defaults merged with ``overrides`` ({category: {channel: {part: source}}}). Overrides compile now; a
        shipped template compiles the first time a message needs it.

        Raises TemplateError for the first syntax error or unknown key (``check_templates`` lists them all)."""
        compiled = {}
        for cat, ch, part, source in _iter_overrides(overrides):
            compiled[(cat, ch, part)] = _compile(cat, ch, part, source)
        return cls(compiled)

    def render(self, category: str, channel: str, ctx: dict) -> tuple[str | None, str]:
        """(title, body) for one notification; title is None for SMS. Never raises."""
        try:
            plan = self._plan.get((category, channel)) or self._plan_for(category, channel)
        except TypeError:  # unhashable junk
            plan = None
        if plan is None:
            return (None if channel == "sms" else _plain(category, ctx, True)), _plain(category, ctx, False)
        # One context for every part, with the globals in it, rendered as "shared": Jinja then uses it as is
        # instead of copying it per part (a quarter of a short render's cost).
        ctx = {**_ENV.globals, **ctx} if isinstance(ctx, dict) else dict(_ENV.globals)
        title = None
        body = ""
        for part, is_title, tpl, dflt, cap, what in plan:
            try:
                text = _finish(_render(tpl, ctx, cap, True, what), channel, is_title)
                if not text:
                    raise ValueError("empty")
            except _Limit as e:
                if dflt is None:  # a shipped template: fall back as on any other error
                    text = self._fallback(category, channel, part, is_title, dflt, ctx)
                else:  # the scenario's own template: its author must hear of it, the run cannot go on as written
                    raise TemplateLimitError(category, channel, part,
                                             f"over a rendering limit at run time, on a {category} message: {e}"
                                             ) from None
            except Exception:  # noqa: BLE001 - any other error in a template must never take the run down
                text = self._fallback(category, channel, part, is_title, dflt, ctx)
            if is_title:
                title = text
            else:
                body = text
        return title, body

    def _fallback(self, category: str, channel: str, part: str, is_title: bool, dflt: Any, ctx: dict) -> str:
        if dflt is not None:
            try:
                text = _finish(render_bounded(dflt, ctx, channel, part), channel, is_title)
                if text:
                    self.fallbacks[(category, channel, part, "default")] += 1
                    return text
            except Exception:  # noqa: BLE001
                pass
        self.fallbacks[(category, channel, part, "plain")] += 1
        return _plain(category, ctx, is_title)


def _walk(overrides: Any):
    """Every override in key order: ("part", path, source) for a usable part, ("problem", path, message)
    for an unknown key or a wrong shape. ``path`` starts with ("policies", "templates")."""
    base = _OVERRIDE_PATH
    if not isinstance(overrides, dict):
        yield ("problem", base,
               f"expected a mapping of category -> channel -> part, got {type(overrides).__name__}")
        return
    for cat, chans in overrides.items():
        if cat not in TEMPLATE_CATEGORIES:
            yield ("problem", base + (cat,), f"unknown category {cat!r}{did_you_mean(cat, TEMPLATE_CATEGORIES)}")
            continue
        if chans is None:
            continue
        if not isinstance(chans, dict):
            yield ("problem", base + (cat,), f"expected a mapping of channel -> part, got {type(chans).__name__}")
            continue
        for ch, parts in chans.items():
            if ch not in PARTS:
                yield ("problem", base + (cat, ch), f"unknown channel {ch!r}{did_you_mean(ch, CHANNELS)}")
                continue
            if parts is None:
                continue
            if not isinstance(parts, dict):
                yield ("problem", base + (cat, ch),
                       f"expected a mapping of part -> template, got {type(parts).__name__}")
                continue
            for part, source in parts.items():
                path = base + (cat, ch, part)
                if part not in PARTS[ch]:
                    hint = did_you_mean(part, PARTS[ch])
                    if ch == "sms" and part in ("title", "subject"):
                        hint = "; SMS has only a body"
                    yield ("problem", path, f"unknown part {part!r} for {ch}{hint}")
                elif not isinstance(source, str):
                    yield ("problem", path, f"a template must be a string, got {type(source).__name__}")
                else:
                    yield ("part", path, source)


def _iter_overrides(overrides: Any):
    """(category, channel, part, source) for every override; TemplateError on the first unknown key or bad shape."""
    if not overrides:
        return
    for what, path, value in _walk(overrides):
        keys = [*path[len(_OVERRIDE_PATH):], None, None, None]
        if what == "problem":
            raise TemplateError(keys[0], keys[1], keys[2], None, value)
        yield keys[0], keys[1], keys[2], value


# ---------------------------------------------------------------------------------------------- checks

def _template_line(exc: BaseException) -> int | None:
    """The template line a runtime error happened on (Jinja rewrites tracebacks to template lines)."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == _TEMPLATE_FILE:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _describe(exc: BaseException) -> str:
    if isinstance(exc, _Limit):
        return f"over a rendering limit: {exc}"
    if isinstance(exc, RecursionError):
        return "recurses too deeply"
    if isinstance(exc, SecurityError):
        return f"not allowed in the sandbox: {exc}"
    name = type(exc).__name__
    if name == "UndefinedError":
        return f"undefined: {exc}"
    return f"{name}: {exc}"


def _list_labels(labels: list[str], limit: int = 3) -> str:
    shown = ", ".join(labels[:limit])
    return shown + (f" (+{len(labels) - limit} more)" if len(labels) > limit else "")


def check_templates(overrides: Any) -> list[tuple[tuple, int | None, str]]:
    """Every problem in scenario template overrides, as (path, line_in_template_or_None, message).

    ``path`` is ("policies", "templates", category, channel, part), shorter for an unknown key. Each
    overridden part is compiled, then rendered against every sample context of its category (SAMPLES):
    errors (undefined variables, sandbox refusals, bad filter input), empty output and SMS over 160
    characters are problems."""
    if overrides is None:
        return []
    problems: list[tuple[tuple, int | None, str]] = []
    for what, path, value in _walk(overrides):
        if what == "problem":
            problems.append((path, None, value))
            continue
        cat, ch, part = path[len(_OVERRIDE_PATH):]
        problem = _source_problem(value)
        if problem is not None:
            problems.append((path, None, problem))
            continue
        try:
            tpl = _from_string(value)
        except TemplateSyntaxError as e:
            problems.append((path, e.lineno, f"syntax error: {e.message}"))
            continue
        except RecursionError:
            problems.append((path, None, _TOO_DEEP))
            continue
        problems.extend(_render_problems(path, cat, ch, part, tpl))
    return problems


def _render_problems(path: tuple, cat: str, ch: str, part: str, tpl: Any) -> list[tuple[tuple, int | None, str]]:
    is_title = part != "body"
    errors: dict[tuple[int | None, str], list[str]] = {}
    empty: list[str] = []
    too_long: list[tuple[int, str]] = []
    for label, sample in zip(SAMPLE_LABELS[cat], SAMPLES[cat]):
        ctx = dict(sample, channel=ch)
        try:
            try:
                raw = render_bounded(tpl, ctx, ch, part)
            except Exception:  # noqa: BLE001
                tpl.environment.handle_exception()  # re-raises it, its traceback on template lines
        except Exception as e:  # noqa: BLE001
            errors.setdefault((_template_line(e), _describe(e)), []).append(label)
            if isinstance(e, (_Limit, RecursionError, MemoryError)):
                break  # one sample is enough: the others would cost as much
            continue
        text = raw.strip()
        if is_title:
            text = " ".join(text.split())
        if not text:
            empty.append(label)
        elif ch == "sms" and len(text) > SMS_LIMIT:
            too_long.append((len(text), label))
    out: list[tuple[tuple, int | None, str]] = []
    for (line, message), labels in errors.items():
        out.append((path, line, f"{message} (rendering sample {_list_labels(labels)})"))
    if empty:
        out.append((path, None, f"renders empty for {_list_labels(empty)}"))
    if too_long:
        too_long.sort(key=lambda t: (-t[0], t[1]))
        n, label = too_long[0]
        more = f" (also too long for {_list_labels([lb for _, lb in too_long[1:]])})" if len(too_long) > 1 else ""
        out.append((path, None, f"renders to {n} characters for {label}; SMS allows {SMS_LIMIT}{more}"))
    return out
