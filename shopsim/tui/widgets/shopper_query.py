"""What the shoppers search box understands: free text and `segment:`, `country:`, `cart:`, `is:unread`.

`parse_query` turns the box's words into `ShopperTable.set_filter` arguments and says, in a line each, what
it could not use (an unknown filter, or a value no shopper can have), so a typo shows as a message rather
than as an empty list. Country names are English, from Babel's CLDR data (a dependency already, for money
in templates), so "France", "fra" and "FR" all find the shoppers from France."""

from __future__ import annotations

from difflib import get_close_matches
from functools import lru_cache
from typing import Any, Iterable, Sequence

__all__ = ["CART_STATES", "FILTERS", "country_name", "parse_query"]

CART_STATES = ("open", "checkout", "abandoned")
_CART_VALUES = (*CART_STATES, "any", "none")
FILTERS = ("segment:", "country:", "cart:", "is:unread")  # in the order a hint lists them
_KEYS = {"seg": "segment", "segment": "segment", "country": "country", "cart": "cart", "is": "is"}
_LISTED = 6  # values a hint names before "…"


@lru_cache(maxsize=512)
def country_name(code: str) -> str:
    """'FR' -> 'France' (English, CLDR); the code itself when CLDR does not know it."""
    try:
        from babel import Locale

        return Locale("en").territories.get(code.upper(), code)
    except Exception:  # noqa: BLE001 - a name is a nicety: never let it break a search
        return code


def _listed(values: Sequence[str]) -> str:
    shown = ", ".join(values[:_LISTED])
    return shown + (", …" if len(values) > _LISTED else "")


def _unknown_filter(key: str) -> str:
    close = get_close_matches(key.lower(), [f[:-1] if f.endswith(":") else f.split(":")[0] for f in FILTERS],
                              n=1, cutoff=0.5)
    hints = sorted(FILTERS, key=lambda f: not (close and f.startswith(close[0])))
    return f"unknown filter '{key}' — try {', '.join(hints)}"


def _countries(value: str, countries: Sequence[tuple[str, str]]) -> frozenset[str] | None:
    """The codes `value` names: a code, or part of English names ("united" is US and GB); None for none."""
    wanted = [v for v in value.lower().split(",") if v]
    codes = set()
    for v in wanted:
        exact = [code for code, _ in countries if code.lower() == v]
        codes.update(exact or (code for code, name in countries if v in name.lower()))
    return frozenset(codes) or None


def parse_query(query: str, segments: Iterable[str] = (),
                countries: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """The search box's words as `set_filter` arguments, plus `problems` (lines to show the user).

    `seg:loyal` (a prefix is enough), `country:FR` (a code, or part of its English name; several with
    commas), `cart:abandoned` (or open, checkout, any, none; a prefix is enough), `is:unread`; the other
    words are the text to look for. `segments` and `countries` (code, name) are what the shoppers have:
    a value none of them matches is a problem (when they are given) and still filters, so the list is as
    empty as the answer is ("no shopper from 'atlantis'" over all 2,000 would contradict itself); an
    unknown filter is a problem and filters nothing."""
    segments = list(segments)
    text: list[str] = []
    problems: list[str] = []
    out: dict[str, Any] = {"segment": None, "country": None, "only_unread": False, "cart_state": None}
    for word in query.split():
        key, colon, value = word.partition(":")
        if not colon or not key:
            text.append(word)
            continue
        kind = _KEYS.get(key.lower())
        if kind is None:
            problems.append(_unknown_filter(key))
            continue
        if not value:
            continue  # "seg:" is a filter still being typed: no filter yet, and no complaint
        low = value.lower().replace("-", "_")
        if kind == "segment":
            found = next((s for s in segments if s.lower().startswith(low)), None)
            if found is None and segments:
                problems.append(f"no segment '{value}' — try {_listed(segments)}")
            out["segment"] = found or value
        elif kind == "country":
            codes = _countries(value, countries) if countries else frozenset(value.upper().split(","))
            if codes is None:
                known = [f"{name} ({code})" for code, name in sorted(countries, key=lambda c: c[1])]
                problems.append(f"no shopper from '{value}' — try {_listed(known)}")
            out["country"] = codes if codes is not None else frozenset({value.upper()})
        elif kind == "cart":
            found = next((s for s in _CART_VALUES if s.startswith(low)), None)
            if found is None:
                problems.append(f"no cart state '{value}' — try {', '.join(_CART_VALUES)}")
            out["cart_state"] = found or low
        elif "unread".startswith(low):
            out["only_unread"] = True
        else:
            problems.append(f"unknown value '{value}' for is: — try is:unread")
    out["text"] = " ".join(text)
    out["problems"] = problems
    return out
