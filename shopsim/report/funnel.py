"""The cart funnel and what became of abandoned carts, as plain data every front end draws the same way.

The main path only narrows: carts created → reached checkout → ordered. Abandonment hangs off it as
branches (abandoned before checkout, abandoned at checkout), and the abandoned carts split four ways:
recovered after a reminder click (attributed), recovered on their own (organic), recovered through another
message or an ad, never ordered. Each row says what its share is a share of. Read from
`Metrics.result()["commerce"]` (docs/metrics.md); a key the KPIs do not give yet shows as missing (None)."""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["Row", "cart_funnel", "recovery_split", "headline_recovery", "carts_abandoned_at_checkout"]

MAIN, ABANDONED, RECOVERED, LOST, OPEN = "main", "abandoned", "recovered", "lost", "open"


class Row(NamedTuple):
    key: str
    label: str
    value: int | None
    whole: int | None      # what the share is of
    of: str                # ... in words: "of carts created"
    kind: str              # main (the path), abandoned (a branch off it), recovered, lost

    @property
    def share(self) -> float | None:
        return self.value / self.whole if self.value is not None and self.whole else None


def carts_abandoned_at_checkout(c: dict[str, Any]) -> int | None:
    """Carts abandoned at checkout at least once: one first checkout-stage reason per such cart."""
    reasons = c.get("checkout_reasons")
    return None if reasons is None else sum(reasons.values())


def cart_funnel(c: dict[str, Any]) -> list[Row]:
    """The main path with its two abandonment branches, in drawing order, and the carts not decided yet
    (Baymard's rate counts them as not ordered: while a run plays they are why it reads high)."""
    carts, checkouts = c.get("carts"), c.get("checkouts")
    ordered = c.get("carts_ordered", c.get("orders"))
    at_checkout = carts_abandoned_at_checkout(c)
    abandoned = c.get("carts_abandoned")
    before = abandoned - at_checkout if abandoned is not None and at_checkout is not None else None
    return [
        Row("carts", "Carts created", carts, carts, "of carts created", MAIN),
        Row("abandoned_before_checkout", "abandoned before checkout", before, carts, "of carts created",
            ABANDONED),
        Row("checkouts", "Reached checkout", checkouts, carts, "of carts created", MAIN),
        Row("abandoned_at_checkout", "abandoned at checkout", at_checkout, checkouts,
            "of carts that reached checkout", ABANDONED),
        Row("carts_ordered", "Ordered", ordered, carts, "of carts created", MAIN),
        Row("carts_open", "still open (no decision yet)", c.get("carts_open"), carts, "of carts created", OPEN),
    ]


def recovery_split(c: dict[str, Any]) -> list[Row]:
    """What became of the carts abandoned: four rows that add up to `carts_abandoned`."""
    abandoned = c.get("carts_abandoned")
    of = "of carts abandoned"
    attributed, organic, other = (c.get(k) for k in ("recovered_attributed", "recovered_organic", "recovered_other"))
    recovered = c.get("carts_recovered")
    never = abandoned - recovered if abandoned is not None and recovered is not None else None
    return [
        Row("recovered_attributed", "recovered after a reminder click (attributed)", attributed, abandoned, of,
            RECOVERED),
        Row("recovered_organic", "recovered on their own (organic)", organic, abandoned, of, RECOVERED),
        Row("recovered_other", "recovered through another message or an ad", other, abandoned, of, RECOVERED),
        Row("never_ordered", "never ordered", never, abandoned, of, LOST),
    ]


def headline_recovery(c: dict[str, Any]) -> list[tuple[str, float | None, str]]:
    """(name, value, how to read it): attributed recovery first, organic and incremental beside it.
    Incremental is a difference of two rates (percentage points); it is None without a holdout."""
    return [("attributed", c.get("attributed_recovery_rate"), "after a click on a cart reminder"),
            ("organic", c.get("organic_recovery_rate"), "ordered later with no click to credit"),
            ("incremental", c.get("incremental_recovery_rate"), "treated arms minus the holdout")]
