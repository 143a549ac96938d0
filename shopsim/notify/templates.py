"""Notification templates: Jinja2 in a sandbox, one template per category x channel x part.

The shipped defaults live in ``shopsim/notify/templates/<category>.yaml`` (package data), one mapping
``channel -> {part: source}`` per category plus the ``digest`` pseudo-category. A scenario may override any
part (``policies.templates``); overrides are merged over the defaults part by part.

Rendering never raises: a runtime error in a template (undefined variable, sandbox violation, bad filter
input) falls back to the shipped default for that part, and if that fails too, to a plain sentence.
``check_templates`` finds the problems in overrides ahead of time (for ``shopsim validate``) by rendering
each overridden part against every sample context of its category (``SAMPLES``).

Environment: ``ImmutableSandboxedEnvironment`` with ``StrictUndefined``, no autoescaping, no trailing
newline, and ``trim_blocks``/``lstrip_blocks`` so block tags on their own lines leave no blank lines behind.
Filters: ``money`` (locale-aware currency formatting with Babel, from the context's ``currency`` and
``locale``), ``shorten(n)`` and ``discount`` (what a coupon gives: "10% off orders over €50.00", "free
shipping"; ``discount(short=true)`` leaves out the minimum order).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache
from importlib import resources
from typing import Any, Callable

import yaml
from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, format_decimal, get_currency_precision
from jinja2 import StrictUndefined, TemplateSyntaxError, pass_context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from shopsim.scenario.problems import did_you_mean
from shopsim.scenario.taxonomy import CATEGORIES, CHANNELS

__all__ = [
    "DIGEST",
    "PARTS",
    "SAMPLES",
    "SAMPLE_LABELS",
    "SMS_LIMIT",
    "TEMPLATE_CATEGORIES",
    "TemplateError",
    "Templates",
    "check_templates",
    "default_sources",
    "discount",
    "format_money",
    "make_environment",
    "money",
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


# --------------------------------------------------------------------------------------------- filters

def _number_ok(amount: Any) -> bool:
    return isinstance(amount, (int, float, Decimal)) and not isinstance(amount, bool)


@lru_cache(maxsize=256)
def _babel_locale(locale: str) -> Locale:
    """Babel's Locale for a Faker-style code (de_DE, pt-BR); unknown ones fall back to the language, then en_US."""
    code = str(locale or "en_US").replace("-", "_")
    for candidate in (code, code.split("_")[0], "en_US"):
        try:
            return Locale.parse(candidate)
        except (UnknownLocaleError, ValueError, TypeError):
            continue
    return Locale.parse("en_US")  # pragma: no cover - en_US always exists


@lru_cache(maxsize=4096)
def _babel_money(amount: Any, currency: str, locale: str) -> str:
    return format_currency(amount, currency, locale=_babel_locale(locale))


_PROBES = (0, 0.5, 1, 12.5, 99.99, 999.995, 1234.5, 12345.678, 0.125, 2.675, 1.005, 1234567.891,
           1e9 + 0.25, 7, 1000)


def _make_formatter(currency: str, locale: str) -> Callable[[Any], str]:
    """A fast formatter for one (currency, locale), equal to Babel's output.

    Babel's pattern machinery costs ~15 µs a call; the formatted shape only depends on the pair, so read
    prefix, suffix, separators and precision off one Babel rendering and format with Python's own
    ``format(x, ",.2f")``. The result is checked against Babel on probe amounts; any mismatch (unusual
    grouping such as en_IN, other digits) keeps the cached Babel path for that pair. Negative and
    non-finite amounts always go through Babel."""
    loc = _babel_locale(locale)

    def slow(amount: Any) -> str:
        return _babel_money(amount, currency, locale)

    try:
        digits = get_currency_precision(currency)
        probe = format_currency(1234567, currency, locale=loc)
        first = next(i for i, ch in enumerate(probe) if ch in "0123456789")
        last = max(i for i, ch in enumerate(probe) if ch in "0123456789")
        prefix, number, suffix = probe[:first], probe[first:last + 1], probe[last + 1:]
        group = number[1:number.index("234")]
        if digits:
            decimal_sep = number[number.index("567") + 3:len(number) - digits]
        else:
            decimal_sep = "."
        table = str.maketrans({",": group, ".": decimal_sep})
        spec = f",.{digits}f"
        quantum = Decimal(1).scaleb(-digits)
    except Exception:  # noqa: BLE001 - anything odd: Babel every time
        return slow

    def fast(amount: Any) -> str:
        if amount < 0 or (isinstance(amount, float) and not math.isfinite(amount)):
            return slow(amount)
        if not amount:
            amount = 0  # -0.0 is zero, not "-0.00"
        if round(amount, digits) != amount:
            # Babel rounds the decimal repr half-to-even; binary floats would round 2.675 down.
            amount = (Decimal(repr(amount)) if isinstance(amount, float) else Decimal(amount)).quantize(
                quantum, rounding=ROUND_HALF_EVEN)
        return prefix + format(amount, spec).translate(table) + suffix

    try:
        if all(fast(p) == format_currency(p, currency, locale=loc) for p in _PROBES):
            return fast
    except Exception:  # noqa: BLE001
        pass
    return slow


_FORMATTERS: dict[tuple[str, str], Callable[[Any], str]] = {}


def format_money(amount: Any, currency: str, locale: str) -> str:
    """``amount`` in ``currency`` the way ``locale`` writes it (Babel's format_currency, cached); None -> ""."""
    if amount is None:
        return ""
    if not _number_ok(amount):
        raise TypeError(f"money expects a number, got {type(amount).__name__}")
    key = (currency, locale)
    fmt = _FORMATTERS.get(key)
    if fmt is None:
        if not isinstance(currency, str) or not currency:
            raise ValueError(f"money needs a currency code, got {currency!r}")
        fmt = _FORMATTERS[key] = _make_formatter(currency, str(locale))
    return fmt(amount)


@pass_context
def money(context: Any, amount: Any) -> str:
    """Jinja filter: ``{{ order.total | money }}`` using the context's ``currency`` and ``locale``."""
    if amount is None:
        return ""
    return format_money(amount, context.get("currency"), context.get("locale"))


@lru_cache(maxsize=256)
def _babel_percent(value: Any, locale: str) -> str:
    return format_decimal(value, format="#,##0.##", locale=_babel_locale(locale))


@pass_context
def discount(context: Any, coupon: Any, short: bool = False) -> str:
    """Jinja filter: what ``coupon`` gives, "10% off", "5,00 € off" or "free shipping", then (unless
    ``short``) its minimum order, " orders over 50,00 €" ("free shipping on orders over ..."); None -> ""."""
    if coupon is None:
        return ""
    if not isinstance(coupon, dict):
        raise TypeError(f"discount expects a coupon, got {type(coupon).__name__}")
    kind, value = coupon.get("type"), coupon.get("value")
    if kind == "free_shipping":
        text = "free shipping"
    elif kind in ("percent", "fixed"):
        if not _number_ok(value):
            raise TypeError(f"a coupon's value must be a number, got {type(value).__name__}")
        if kind == "percent":
            text = f"{_babel_percent(value, str(context.get('locale')))}% off"
        else:
            text = f"{format_money(value, context.get('currency'), context.get('locale'))} off"
    else:
        raise ValueError(f"unknown coupon type {kind!r}")
    min_order = coupon.get("min_order")
    if not short and min_order:
        text += f"{' on' if kind == 'free_shipping' else ''} orders over " + format_money(
            min_order, context.get("currency"), context.get("locale"))
    return text


def shorten(value: Any, n: int = 60) -> str:
    """Jinja filter: ``value`` cut to at most ``n`` characters, ending in "…" when cut; None -> ""."""
    if value is None:
        return ""
    text = str(value).strip()
    n = int(n)
    if len(text) <= n:
        return text
    if n <= 1:
        return "…"[:max(n, 0)]
    cut = text[:n - 1]
    # Prefer a word boundary when it keeps most of the text ("Leak-Proof…", not "Leak-P…").
    space = cut.rfind(" ")
    if space >= (n * 2) // 3 and not text[n - 1].isspace():
        cut = cut[:space]
    return cut.rstrip(" ,;:-–—(/&+") + "…"


# ----------------------------------------------------------------------------------------- environment

_MAX_POWER = 1000
_MAX_POWER_BITS = 100_000
_MAX_REPEAT = 100_000


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, also refusing ``**`` and ``*`` that would eat the machine (``'x' * 10**10``)."""

    intercepted_binops = frozenset({"*", "**"})

    def getattr(self, obj: Any, attribute: str) -> Any:
        # Contexts are JSON-like dicts: `order.items` means the key, not dict.items (Jinja tries the
        # attribute first). Also the fast path for nearly every lookup in the shipped templates.
        if type(obj) is dict:
            try:
                return obj[attribute]
            except (KeyError, TypeError):
                pass
        return super().getattr(obj, attribute)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if _number_ok(right) and (abs(right) > _MAX_POWER or (
                    isinstance(left, int) and left.bit_length() * abs(right) > _MAX_POWER_BITS)):
                raise SecurityError(f"power {right!r} is too large for a template")
            return left ** right
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, (str, list, tuple)) and isinstance(times, int) and len(seq) * times > _MAX_REPEAT:
                raise SecurityError("repetition too large for a template")
        return left * right


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
    return env


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


_DEFAULT_COMPILED: dict[tuple[str, str, str], Any] | None = None


def _default_compiled() -> dict[tuple[str, str, str], Any]:
    global _DEFAULT_COMPILED
    if _DEFAULT_COMPILED is None:
        _DEFAULT_COMPILED = {
            (cat, ch, part): _compile(cat, ch, part, src)
            for cat, chans in default_sources().items()
            for ch, parts in chans.items()
            for part, src in parts.items()
        }
    return _DEFAULT_COMPILED


def _compile(category: str, channel: str, part: str, source: Any) -> Any:
    if not isinstance(source, str):
        raise TemplateError(category, channel, part, None,
                            f"a template must be a string, got {type(source).__name__}")
    try:
        return _from_string(source)
    except TemplateSyntaxError as e:
        raise TemplateError(category, channel, part, e.lineno, f"syntax error: {e.message}") from e


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

    def __init__(self, compiled: dict[tuple[str, str, str], Any],
                 defaults: dict[tuple[str, str, str], Any]) -> None:
        # (category, channel) -> [(part, is_title, template, default or None when template is the default)]
        self._plan: dict[tuple[str, str], tuple[tuple[str, bool, Any, Any], ...]] = {}
        for cat in TEMPLATE_CATEGORIES:
            for ch in CHANNELS:
                plan = []
                for part in PARTS[ch]:
                    key = (cat, ch, part)
                    tpl, dflt = compiled[key], defaults[key]
                    plan.append((part, part != "body", tpl, None if tpl is dflt else dflt))
                self._plan[(cat, ch)] = tuple(plan)
        self.overridden: frozenset[tuple[str, str, str]] = frozenset(
            k for k in compiled if compiled[k] is not defaults[k])
        # How often a part fell back: (category, channel, part, "default" | "plain") -> count.
        self.fallbacks: Counter = Counter()

    @classmethod
    def load(cls, overrides: dict | None = None) -> Templates:
        """Defaults merged with ``overrides`` ({category: {channel: {part: source}}}), all compiled once.

        Raises TemplateError for the first syntax error or unknown key (``check_templates`` lists them all)."""
        defaults = _default_compiled()
        compiled = dict(defaults)
        for cat, ch, part, source in _iter_overrides(overrides):
            compiled[(cat, ch, part)] = _compile(cat, ch, part, source)
        return cls(compiled, defaults)

    def render(self, category: str, channel: str, ctx: dict) -> tuple[str | None, str]:
        """(title, body) for one notification; title is None for SMS. Never raises."""
        try:
            plan = self._plan.get((category, channel))
        except TypeError:  # unhashable junk
            plan = None
        if plan is None:
            return (None if channel == "sms" else _plain(category, ctx, True)), _plain(category, ctx, False)
        # One context for every part, with the globals in it, rendered as "shared": Jinja then uses it as is
        # instead of copying it per part (a quarter of a short render's cost).
        ctx = {**_ENV.globals, **ctx} if isinstance(ctx, dict) else dict(_ENV.globals)
        title = None
        body = ""
        for part, is_title, tpl, dflt in plan:
            try:
                text = _finish("".join(tpl.root_render_func(tpl.new_context(ctx, shared=True))), channel, is_title)
                if not text:
                    raise ValueError("empty")
            except Exception:  # noqa: BLE001 - a template must never take the run down
                text = self._fallback(category, channel, part, is_title, dflt, ctx)
            if is_title:
                title = text
            else:
                body = text
        return title, body

    def _fallback(self, category: str, channel: str, part: str, is_title: bool, dflt: Any, ctx: dict) -> str:
        if dflt is not None:
            try:
                text = _finish(dflt.render(ctx), channel, is_title)
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
        try:
            tpl = _from_string(value)
        except TemplateSyntaxError as e:
            problems.append((path, e.lineno, f"syntax error: {e.message}"))
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
            raw = tpl.render(ctx)
        except Exception as e:  # noqa: BLE001
            errors.setdefault((_template_line(e), _describe(e)), []).append(label)
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


# --------------------------------------------------------------------------------------------- samples

def _ctx(category: str, kind: str, **fields: Any) -> dict:
    base = {
        "kind": kind, "category": category, "channel": "email",
        "shopper": {"name": "Maximilian Schwarzenberger-Hohenstein", "first_name": "Maximilian",
                    "email": "maximilian.schwarzenberger@example.de", "city": "Mönchengladbach",
                    "country": "Germany"},
        "locale": "de_DE", "currency": "EUR",
        "link": "https://shop.example/orders/s000123-o4",
        "order": None, "carrier": None, "tracking": None, "tracking_link": None, "payment": None,
        "cancel_reason": None, "dispute": None, "refund": None, "signin": None, "password": None,
        "offer": None, "digest": None, "cart": None, "coupon": None, "products": None,
    }
    base.update(fields)
    return base


_ITEMS = [
    {"name": "Wireless Bluetooth 5.3 Noise Cancelling Over-Ear Headphones with 60h Battery Life",
     "qty": 1, "price": 1249.99},
    {"name": "Stainless Steel Insulated Water Bottle 1L, Leak-Proof, Keeps Drinks Cold for 24 Hours",
     "qty": 2, "price": 18.45},
    {"name": "USB-C to Lightning Braided Charging Cable 2m (3-Pack)", "qty": 3, "price": 7.9},
]


def _order(oid: str, items: list[dict], shipping: float, discount: float = 0.0, coupon: str | None = None) -> dict:
    subtotal = round(sum(i["qty"] * i["price"] for i in items), 2)
    return {"id": oid, "items": items, "item_count": sum(i["qty"] for i in items),
            "first_item": items[0]["name"], "subtotal": subtotal, "shipping": shipping, "discount": discount,
            "coupon": coupon, "total": round(subtotal + shipping - discount, 2)}


_ORDER = _order("S000123-O4", _ITEMS, 4.99, 13.32, "CART-8F3K2Q")
_ORDER_ONE = _order("S004567-O12", _ITEMS[1:2], 0.0)
_TRACK = {"carrier": "Cainiao Super Economy Global", "tracking": "LP00512345678901234CN",
          "tracking_link": "https://shop.example/track/LP00512345678901234CN"}

_ORDER_LINK = {"link": "https://shop.example/orders/s000123-o4"}
_BR = {"locale": "pt_BR", "currency": "BRL",
       "shopper": {"name": "Maria Eduarda Albuquerque dos Santos", "first_name": "Maria Eduarda",
                   "email": "maria.eduarda.albuquerque@example.com.br", "city": "São José dos Campos",
                   "country": "Brasil"}}
_PL = {"locale": "pl_PL", "currency": "PLN",
       "shopper": {"name": "Katarzyna Wiśniewska-Grzybowska", "first_name": "Katarzyna",
                   "email": "k.wisniewska-grzybowska@example.pl", "city": "Bielsko-Biała", "country": "Polska"}}
_US = {"locale": "en_US", "currency": "USD",
       "shopper": {"name": "Christopher Montgomery-Whitfield", "first_name": "Christopher",
                   "email": "christopher.montgomery-whitfield@example.com", "city": "San Francisco",
                   "country": "United States"}}
_JP = {"locale": "ja_JP", "currency": "JPY",
       "shopper": {"name": "Takahashi Kazuhiro", "first_name": "Kazuhiro", "email": "k.takahashi@example.jp",
                   "city": "Sagamihara", "country": "Japan"}}
_FR = {"locale": "fr_FR", "currency": "EUR",
       "shopper": {"name": "Marie-Antoinette Dubois-Lefèvre", "first_name": "Marie-Antoinette",
                   "email": "marie-antoinette.dubois@example.fr", "city": "Boulogne-Billancourt",
                   "country": "France"}}
_ES = {"locale": "es_ES", "currency": "EUR",
       "shopper": {"name": "José Antonio Fernández de Córdoba", "first_name": "José Antonio",
                   "email": "jose.antonio.fernandez@example.es", "city": "Alcalá de Henares", "country": "España"}}

_DIGEST_ITEMS = [
    {"category": "promotions", "title": "Spring Mega Sale: up to 70% off home & garden",
     "body": "Thousands of deals on furniture, lighting and outdoor essentials, this week only.",
     "link": "https://shop.example/promo/spring-mega-sale"},
    {"category": "recommendations", "title": "Picked for you: Mechanical Keyboard with Hot-Swappable Switches",
     "body": "Based on what you viewed recently.", "link": "https://shop.example/item/100045"},
    {"category": "new_product_alerts", "title": "Price drop: Stainless Steel Insulated Water Bottle 1L",
     "body": "Now 18% cheaper than when you saved it.", "link": "https://shop.example/item/100871"},
    {"category": "flash_sales", "title": "Flash sale: 2 hours left on smart watches",
     "body": "Ends at midnight.", "link": "https://shop.example/flash/watches"},
    {"category": "cart_reminders", "title": "Your cart misses you",
     "body": "3 items are still waiting.", "link": "https://shop.example/cart"},
    {"category": "promotions", "title": "Free shipping on orders over €20 this weekend",
     "body": "No code needed.", "link": "https://shop.example/promo/free-shipping"},
    {"category": "recommendations", "title": "More from Xiaomi Official Store",
     "body": "New arrivals you might like.", "link": "https://shop.example/store/8812"},
]


# Marketing flows and campaigns: carts, coupons (unique codes) and the products a message is about.

def _cart(cid: str, items: list[dict]) -> dict:
    return {"id": cid, "items": items, "item_count": sum(i["qty"] for i in items), "first_item": items[0]["name"],
            "value": round(sum(i["qty"] * i["price"] for i in items), 2)}


_CART_ITEMS = [
    *_ITEMS,
    {"name": "Portable Neck Fan, Bladeless, 3 Speeds, 4000 mAh USB-C Rechargeable, Hands-Free Cooling",
     "qty": 1, "price": 21.37},
]
_CART_FOUR = _cart("S000123-C7", _CART_ITEMS)
_CART_ONE = _cart("S004567-C2", _ITEMS[1:2])
_CART_JP = _cart("S007001-C1", [
    {"name": "Ceramic Non-Stick Frying Pan 28 cm with Removable Handle", "qty": 1, "price": 3480.0},
    {"name": "Bamboo Cutting Board Set of 3 with Juice Grooves", "qty": 2, "price": 1290.0},
])


def _coupon(code: str, kind: str, value: float, min_order: float, expires_local: str, valid_hours: int) -> dict:
    return {"code": code, "type": kind, "value": value, "min_order": min_order, "expires_local": expires_local,
            "valid_hours": valid_hours}


_PERCENT = _coupon("SAVE-8F3K2Q", "percent", 10.0, 0.0, "Tue 3 Mar, 14:00", 48)
_PERCENT_MIN = _coupon("PICKS-H7R2M9XW", "percent", 12.5, 50.0, "Sun 15 Mar, 23:59", 72)
_FIXED = _coupon("COMEBACK-X7Q9M2LP", "fixed", 15.0, 100.0, "Wed 11 Mar, 09:30", 72)
_FIXED_JP = _coupon("SAVE-J4N8", "fixed", 500.0, 3000.0, "Fri 6 Mar, 21:00", 24)
_FREE_SHIPPING = _coupon("FREESHIP-4KD9ZT", "free_shipping", 0.0, 30.0, "Mon 9 Mar, 18:45", 48)
_FLASH_COUPON = _coupon("FLASH-Q2W8E4", "fixed", 20.0, 0.0, "Sat 7 Mar, 23:59", 6)


def _product(name: str, price: float, category: str, old_price: float | None = None) -> dict:
    return {"name": name, "price": price, "old_price": old_price, "category": category}


_VIEWED = [
    _product("Mechanical Gaming Keyboard with Hot-Swappable RGB Switches, 75% Layout, Wireless Tri-Mode", 89.99,
             "Computer Accessories"),
    _product("Ergonomic Vertical Wireless Mouse, 6 Buttons, Rechargeable, Silent Clicks", 24.5,
             "Computer Accessories"),
    _product("XXL Extended Gaming Mouse Pad 900 x 400 mm with Stitched Edges, Non-Slip Rubber Base", 12.99,
             "Computer Accessories"),
]
_DROPS = [
    _product("Stainless Steel Insulated Water Bottle 1L, Leak-Proof, Keeps Drinks Cold for 24 Hours", 9.99,
             "Sports & Outdoors", 14.99),
    _product("Wireless Bluetooth 5.3 Noise Cancelling Over-Ear Headphones with 60h Battery Life", 999.0,
             "Consumer Electronics", 1249.99),
]
_BACK = [_product("Wireless Bluetooth 5.3 Noise Cancelling Over-Ear Headphones with 60h Battery Life", 1249.99,
                  "Consumer Electronics")]
_NEW = [
    _product("Xiaomi Smart Band 9 Pro, 1.74\" AMOLED Display, GPS, 21-Day Battery, 150+ Sports Modes", 79.9,
             "Wearables"),
    _product("Xiaomi Robot Vacuum S20+ with Auto-Empty Station and Mopping, 6000 Pa Suction", 449.0,
             "Home Appliances"),
    _product("Xiaomi Electric Scooter 4 Lite (2nd Gen), 25 km Range, Foldable", 349.0, "Sports & Outdoors"),
    _product("Xiaomi 67W GaN Charger with USB-C Cable, Compact Foldable Plug", 24.99, "Phone Accessories"),
]

_NEW_JP = [dict(p, price=float(round(p["price"] * 160, -1))) for p in _NEW]


def _offer(title: str | None = None, text: str | None = None, code: str | None = None,
           ends_local: str | None = None) -> dict:
    return {"title": title, "text": text, "code": code, "ends_local": ends_local}


def _marketing() -> dict[str, list[tuple[str, dict]]]:
    cr, pr, fl, rec, npa = ("cart_reminders", "promotions", "flash_sales", "recommendations",
                            "new_product_alerts")
    cart_link = {"link": "https://shop.example/cart"}
    return {
        cr: [
            ("cart_reminder (1 item, no coupon, no offer)",
             _ctx(cr, "cart_reminder", cart=_CART_ONE, **cart_link)),
            ("cart_reminder (4 items, percent coupon, offer without title or text)",
             _ctx(cr, "cart_reminder", cart=_CART_FOUR, coupon=_PERCENT, offer=_offer(), **cart_link, **_US)),
            ("cart_reminder (4 items, fixed coupon with minimum order)",
             _ctx(cr, "cart_reminder", cart=_CART_FOUR, coupon=_FIXED, **cart_link, **_PL)),
            ("cart_reminder (1 item, free shipping coupon, offer with title and text)",
             _ctx(cr, "cart_reminder", cart=_CART_ONE, coupon=_FREE_SHIPPING, **cart_link, **_BR,
                  offer=_offer("Last chance: your cart expires soon, and so does free shipping",
                               "We've held your items as long as we can. Check out today and shipping is on us."))),
            ("cart_reminder (2 items, yen coupon)",
             _ctx(cr, "cart_reminder", cart=_CART_JP, coupon=_FIXED_JP, **cart_link, **_JP)),
        ],
        pr: [
            ("campaign (percent coupon with minimum order)",
             _ctx(pr, "campaign", coupon=_PERCENT_MIN, link="https://shop.example/promotions", **_FR,
                  offer=_offer("Spring Mega Sale: up to 70% off home, garden and outdoor living",
                               "Thousands of deals on furniture, lighting, tools and outdoor essentials."))),
            ("campaign (no text, no coupon, 4 products)",
             _ctx(pr, "campaign", products=_NEW, link="https://shop.example/promotions", **_ES,
                  offer=_offer("Weekend deals from the stores you follow: smart home, wearables and more"))),
        ],
        fl: [
            ("campaign (flash sale, ends_local, fixed coupon, 2 products)",
             _ctx(fl, "campaign", coupon=_FLASH_COUPON, products=_DROPS, link="https://shop.example/flash-sales",
                  **_PL, offer=_offer("Midnight Madness – audio and outdoor gear at their lowest prices of the year",
                                      "Prices drop for six hours only.", ends_local="Sat 7 Mar, 23:59"))),
            ("campaign (flash sale, ends_local, no coupon, text repeats the title)",
             _ctx(fl, "campaign", link="https://shop.example/flash-sales", **_US,
                  offer=_offer("Smart watches from $19.99", "Smart watches from $19.99", ends_local="Wed 4 Mar, 20:00"))),
        ],
        rec: [
            ("browse_reminder (3 products viewed, no offer)",
             _ctx(rec, "browse_reminder", products=_VIEWED, link="https://shop.example/recommendations")),
            ("browse_reminder (1 product viewed, percent coupon with minimum order)",
             _ctx(rec, "browse_reminder", products=_VIEWED[:1], coupon=_PERCENT_MIN, offer=_offer(),
                  link="https://shop.example/recommendations", **_BR)),
            ("campaign (recommendations, 3 products)",
             _ctx(rec, "campaign", products=_VIEWED, link="https://shop.example/recommendations", **_US,
                  offer=_offer("Picked for you: keyboards, mice and desk gear for your setup",
                               "Based on what you browsed and bought in the last 30 days."))),
        ],
        npa: [
            ("browse_reminder (price drop on 2 viewed products)",
             _ctx(npa, "browse_reminder", products=_DROPS, link="https://shop.example/new-product-alerts", **_US)),
            ("browse_reminder (1 viewed product, free shipping coupon)",
             _ctx(npa, "browse_reminder", products=_BACK, coupon=_FREE_SHIPPING,
                  link="https://shop.example/new-product-alerts", **_BR)),
            ("campaign (price drop, 1 product)",
             _ctx(npa, "campaign", products=_DROPS[:1], link="https://shop.example/new-product-alerts", **_FR,
                  offer=_offer("Price drop on an item you saved"))),
            ("campaign (back in stock, percent coupon)",
             _ctx(npa, "campaign", products=_BACK, coupon=_PERCENT, link="https://shop.example/new-product-alerts",
                  **_PL, offer=_offer("Back in stock: an item you were waiting for",
                                      "It sold out fast last time."))),
            ("campaign (new arrivals, 4 products, no title)",
             _ctx(npa, "campaign", products=_NEW_JP, link="https://shop.example/new-product-alerts", **_JP,
                  offer=_offer())),
        ],
    }


_MARKETING = _marketing()


def _samples() -> tuple[dict[str, list[dict]], dict[str, list[str]]]:
    s: dict[str, list[tuple[str, dict]]] = {}
    o = "order_updates"
    s[o] = [
        ("order.placed", _ctx(o, "order.placed", order=_ORDER, **_ORDER_LINK)),
        ("payment.confirmed", _ctx(o, "payment.confirmed", order=_ORDER_ONE,
                                   payment={"attempt": 1, "amount": 18.45 * 2, "reason": None}, **_US)),
        ("payment.failed", _ctx(o, "payment.failed", order=_ORDER,
                                payment={"attempt": 2, "amount": None, "reason": "insufficient_funds"}, **_BR)),
        ("order.cancelled", _ctx(o, "order.cancelled", order=_ORDER, cancel_reason="payment_not_completed",
                                 **_PL)),
        ("order.processing", _ctx(o, "order.processing", order=_ORDER_ONE, **_JP)),
    ]
    sh = "shipping"
    s[sh] = [
        ("order.shipped", _ctx(sh, "order.shipped", order=_ORDER, **_TRACK)),
        ("shipment.in_transit", _ctx(sh, "shipment.in_transit", order=_ORDER, **_TRACK, **_BR)),
        ("shipment.out_for_delivery", _ctx(sh, "shipment.out_for_delivery", order=_ORDER_ONE, **_TRACK,
                                           **_FR)),
        ("order.delivered", _ctx(sh, "order.delivered", order=_ORDER, **_TRACK, **_ES)),
    ]
    cs = "customer_service"
    s[cs] = [
        ("dispute.opened", _ctx(cs, "dispute.opened", order=_ORDER,
                                dispute={"id": "D-000123-0004", "reason": "not_as_described"},
                                link="https://shop.example/disputes/D-000123-0004", **_PL)),
        ("refund.issued", _ctx(cs, "refund.issued", order=_ORDER, refund={"amount": 1249.99},
                               dispute={"id": "D-000123-0004", "reason": "damaged"}, **_BR)),
    ]
    acc = "account_security"
    s[acc] = [
        ("account.new_signin", _ctx(acc, "account.new_signin",
                                    signin={"device": "Chrome 124 on Windows 11 (Desktop)",
                                            "city": "Kuala Lumpur", "country": "Malaysia"},
                                    link="https://shop.example/account/security", **_US)),
        ("account.password_changed", _ctx(acc, "account.password_changed", password={"method": "reset_link"},
                                          link="https://shop.example/account/security", **_FR)),
    ]
    offer_code = {"title": "Spring Mega Sale: up to 70% off home, garden and outdoor living",
                  "text": "Thousands of deals on furniture, lighting, tools and outdoor essentials. "
                          "Stack an extra coupon on orders over €50.",
                  "code": "SPRINGMEGA25"}
    offer_plain = {"title": "Free shipping on everything this weekend",
                   "text": "No minimum order. Applies automatically at checkout.", "code": None}
    texts = {
        "promotions": (offer_code, offer_plain),
        "flash_sales": ({"title": "Flash deal: smart watches from €19.99, only 2 hours left",
                         "text": "Limited stock at these prices; once they're gone, they're gone.",
                         "code": "FLASH2HRS"},
                        {"title": "Midnight flash sale: headphones up to 60% off",
                         "text": "Starts now, ends at 23:59 tonight.", "code": None}),
        "recommendations": ({"title": "Picked for you: Mechanical Keyboard with Hot-Swappable RGB Switches",
                             "text": "Based on the keyboards and mice you browsed this week.",
                             "code": "PICKS10OFF"},
                            {"title": "More from Xiaomi Official Store, a store you follow",
                             "text": "New arrivals and bestsellers we think you'll like.", "code": None}),
        "new_product_alerts": ({"title": "Price drop: Stainless Steel Insulated Water Bottle 1L, now 18% off",
                                "text": "An item on your wish list just got cheaper.", "code": "BOTTLE5"},
                               {"title": "Back in stock: Wireless Noise Cancelling Headphones",
                                "text": "The item you were waiting for is available again; stock is limited.",
                                "code": None}),
        "cart_reminders": ({"title": "You left something in your cart",
                            "text": "Your items are still waiting, and they're selling fast.",
                            "code": "COMEBACK5"},
                           {"title": "Still thinking it over?",
                            "text": "Complete your order before prices change.", "code": None}),
    }
    for cat, (with_code, without) in texts.items():
        link = "https://shop.example/cart" if cat == "cart_reminders" else "https://shop.example/promo/spring-mega-sale"
        first = _ctx(cat, "message", offer=dict(with_code, ends_local=None), link=link, **_US)
        second = _ctx(cat, "message", offer=dict(without, ends_local=None), link=link, **_BR)
        if cat == "cart_reminders":
            first["order"] = _ORDER  # the cart's contents
        s[cat] = [("message (with code)", first),
                  ("message (no code)" + (", no cart" if cat == "cart_reminders" else ""), second),
                  *_MARKETING[cat]]
    s[DIGEST] = [
        ("digest (daily, 3 items)", _ctx(DIGEST, "digest", link="https://shop.example/notifications",
                                         digest={"period": "daily", "items": _DIGEST_ITEMS[:3], "count": 3})),
        ("digest (weekly, 7 items)", _ctx(DIGEST, "digest", link="https://shop.example/notifications",
                                          digest={"period": "weekly", "items": _DIGEST_ITEMS, "count": 7},
                                          **_BR)),
        ("digest (daily, 1 item)", _ctx(DIGEST, "digest", link="https://shop.example/notifications",
                                        digest={"period": "daily", "items": _DIGEST_ITEMS[1:2], "count": 1},
                                        **_JP)),
    ]
    return ({cat: [c for _, c in rows] for cat, rows in s.items()},
            {cat: [lb for lb, _ in rows] for cat, rows in s.items()})


SAMPLES, SAMPLE_LABELS = _samples()
"""SAMPLES: category -> realistic sample contexts (one per kind; for marketing categories two scripted
messages, with and without a code, then cart reminders, browse reminders and campaigns with and without
coupons; three digests). SAMPLE_LABELS names them in the same order, for problem messages."""
