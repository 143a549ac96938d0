"""Template filters: locale-aware money (`money`), coupon wording (`discount`) and `shorten`.

Money goes through Babel, the reference for locale number and currency formats; it is called for nearly
every message, so each (currency, locale) pair gets a fast formatter built from Babel's own output.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache
from typing import Any, Callable

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, format_decimal, get_currency_precision
from jinja2 import pass_context

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
# Amounts already written, (amount, its type, currency, locale) -> text: a run writes the same prices and cart
# values again and again (about 95% of the default scenario's). Emptied when full, so it stays small.
_WRITTEN: dict[tuple, str] = {}
_WRITTEN_MAX = 16_384


def format_money(amount: Any, currency: str, locale: str) -> str:
    """``amount`` in ``currency`` the way ``locale`` writes it (Babel's format_currency, cached); None -> ""."""
    if amount is None:
        return ""
    kind = type(amount)
    if kind is float or kind is int:
        key = (amount, kind, currency, locale)
        text = _WRITTEN.get(key)
        if text is None:
            text = _format_money(amount, currency, locale)
            if amount == amount:  # NaN never finds itself again
                if len(_WRITTEN) >= _WRITTEN_MAX:
                    _WRITTEN.clear()
                _WRITTEN[key] = text
        return text
    if not _number_ok(amount):
        raise TypeError(f"money expects a number, got {kind.__name__}")
    return _format_money(amount, currency, locale)


def _format_money(amount: Any, currency: str, locale: str) -> str:
    key = (currency, locale)
    fmt = _FORMATTERS.get(key)
    if fmt is None:
        if not isinstance(currency, str) or not currency:
            raise ValueError(f"money needs a currency code, got {currency!r}")
        fmt = _FORMATTERS[key] = _make_formatter(currency, str(locale))
    return fmt(amount)


def format_cents(cents: int, currency: str, locale: str = "en_US") -> str:
    """An amount in cents as `locale` writes it in `currency` ('$13.90' in en_US, '13,90 $US' in fr_FR)."""
    if not currency:
        return f"{cents / 100:,.2f}"
    return format_money(cents / 100, currency, locale)


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
