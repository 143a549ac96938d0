"""Money, one way everywhere. Inside the engine amounts are whole cents (ints, so sums are exact); the event
log writes them in currency units rounded to the cent (`amount`); checks and sentences write them back
as text. Locale-aware formatting (Babel) is the notification layer's `filters.format_money`."""

from __future__ import annotations

from typing import Any


def amount(cents: int) -> float:
    """Cents as the log writes them: currency units, rounded to the cent (1390 -> 13.9)."""
    if type(cents) is int and -_EXACT < cents < _EXACT:
        # Whole cents divide to the double nearest c/100, which round(..., 2) gives back unchanged: skip it
        # (round with digits goes through a decimal conversion; this is on every price in the log).
        return cents / 100
    return round(cents / 100, 2)


_EXACT = 10**15  # below this, |error of c / 100| is far under half a cent, so rounding cannot move it


def cents_text(cents: int) -> str:
    """Cents as a plain amount with two decimals, for messages about the numbers (1390 -> '13.90')."""
    return f"{cents / 100:.2f}"


def amount_text(value: Any, currency: str | None = None) -> str:
    """A logged amount in a sentence: '1,234.50 USD', or '1,234.50' without a currency; '?' for a value
    that is not a number (a hand-edited log)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "?"
    return f"{value:,.2f} {currency}" if currency else f"{value:,.2f}"
