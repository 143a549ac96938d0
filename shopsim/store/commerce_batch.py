"""Carts, cart items and orders as one batch of the store writer changes them.

The writer keeps no cart or order for the whole run: each batch collects, per cart and per order, what its
lines changed, and `take()` hands that over as the rows `store.statements` merges into those already written
(new carts and orders are inserted; a cart or order written in an earlier batch is upserted or updated). The
columns come out as `store.tables.Commerce` projects them for the export; tests/store/test_store.py holds
tiny batches to the same tables as a single one.
"""

from __future__ import annotations

from shopsim.contract import events as E
from shopsim.store.tables import ORDER_STATUS

# A cart's row, and an order's, by column (store.models keeps the tables' column order).
_C_STATUS, _C_UPDATED, _C_ITEMS, _C_VALUE, _C_REASON, _C_STAGE, _C_ABANDONED, _C_ORDER = 2, 4, 5, 6, 7, 8, 9, 10
_O_STATUS, _O_CARRIER, _O_TRACKING, _O_REFUND = 11, 12, 13, 14
# An order placed in an earlier batch: what changed since, as statements.ORDER_UPDATE takes it.
_U_STATUS, _U_TRACKED, _U_CARRIER, _U_TRACKING, _U_REFUNDED, _U_REFUND = 1, 2, 3, 4, 5, 6


class CommerceBatch:
    """Each handler takes a line as the writer parsed it: (seq, t_ms, type, shopper, its other fields)."""

    def __init__(self) -> None:
        self._refunds: dict[str, float] = {}  # an order's refunds so far: only the few refunded orders
        self._clear()

    def _clear(self) -> None:
        self.carts: dict[str, list] = {}             # cart -> its row as this batch leaves it
        self.items: dict[tuple[str, str], list] = {}  # (cart, product) -> [cart, product, qty added, price]
        self.orders: dict[str, list] = {}            # orders placed in this batch -> row
        self.steps: dict[str, list] = {}             # orders placed before -> statements.ORDER_UPDATE row
        self.order_events: list[tuple] = []

    def __bool__(self) -> bool:
        return bool(self.carts or self.steps or self.order_events)

    def take(self) -> dict[str, list]:
        """This batch's rows by statement (store.statements' names), and a fresh batch."""
        with_items, without = [], []
        for c in self.carts.values():
            (without if c[_C_ITEMS] is None else with_items).append(c)
        rows = {"orders": list(self.orders.values()), "order_events": self.order_events, "carts": with_items,
                "carts_update": [(c[0], c[_C_STATUS], c[_C_UPDATED], c[_C_ORDER]) for c in without],
                "cart_items": list(self.items.values()), "orders_update": list(self.steps.values())}
        self._clear()
        return rows

    def _cart(self, t: int, shopper: str, d: dict, status: str) -> list:
        c = self.carts.get(d["cart"])
        if c is None:  # cart, shopper, status, created_ms, updated_ms, items, value, abandonment, order
            c = self.carts[d["cart"]] = [d["cart"], shopper, status, t, t, None, None, None, None, 0, None]
        c[_C_STATUS], c[_C_UPDATED] = status, t
        if "items" in d and "value" in d:
            c[_C_ITEMS], c[_C_VALUE] = d["items"], d["value"]
        return c

    def item_added(self, seq: int, t: int, typ: str, shopper: str, d: dict) -> None:
        self._cart(t, shopper, d, "open")
        key = (d["cart"], d["product"])
        item = self.items.get(key)
        if item is None:
            self.items[key] = [d["cart"], d["product"], d["qty"], d["price"]]
        else:
            item[2] += d["qty"]

    def checkout(self, seq: int, t: int, typ: str, shopper: str, d: dict) -> None:
        self._cart(t, shopper, d, "checkout")

    def abandoned(self, seq: int, t: int, typ: str, shopper: str, d: dict) -> None:
        c = self._cart(t, shopper, d, "abandoned")
        c[_C_ABANDONED] += 1
        c[_C_REASON], c[_C_STAGE] = d.get("reason"), d.get("stage") or "cart"

    def emptied(self, seq: int, t: int, typ: str, shopper: str, d: dict) -> None:
        self._cart(t, shopper, d, "emptied")

    def order_placed(self, seq: int, t: int, typ: str, shopper: str, d: dict) -> None:
        c = self._cart(t, shopper, d, "ordered")
        if c[_C_ORDER] is None:
            c[_C_ORDER] = d["order"]
        g = d.get
        self.orders[d["order"]] = [d["order"], shopper, d["cart"], t, g("currency"), g("subtotal"), g("shipping"),
                                    g("discount"), g("total"), g("coupon"), g("attributed_to"), "placed", None,
                                    None, None]
        self.order_events.append((seq, d["order"], t, typ))

    def order_step(self, seq: int, t: int, typ: str, shopper: str, d: dict) -> None:
        oid = d.get("order")
        refund = None
        if typ == E.REFUND_ISSUED:
            self._refunds[oid] = refund = round(self._refunds.get(oid, 0.0) + d["amount"], 2)
        o = self.orders.get(oid)
        if o is not None:  # placed in this batch
            o[_O_STATUS] = ORDER_STATUS[typ]
            if "carrier" in d:
                o[_O_CARRIER], o[_O_TRACKING] = d["carrier"], d.get("tracking")
            if refund is not None:
                o[_O_REFUND] = refund
        else:  # placed in an earlier batch: what changes, for statements.ORDER_UPDATE
            o = self.steps.get(oid)
            if o is None:
                o = self.steps[oid] = [oid, None, False, None, None, False, None]
            o[_U_STATUS] = ORDER_STATUS[typ]
            if "carrier" in d:
                o[_U_TRACKED], o[_U_CARRIER], o[_U_TRACKING] = True, d["carrier"], d.get("tracking")
            if refund is not None:
                o[_U_REFUNDED], o[_U_REFUND] = True, refund
        self.order_events.append((seq, oid, t, typ))
