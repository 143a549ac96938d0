"""Template contexts: what a message template may use, built from the event that triggered it.

Contexts are built only when a message is rendered, so a suppressed notification costs no formatting.
Every key is always present (None when it does not apply): templates run with StrictUndefined, and a
template that tests `{% if tracking %}` must not fail on a message without one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shopsim.notify.state import Note
    from shopsim.scenario.catalogue import ProductDef

SHOP = "https://shop.example"

_EMPTY = dict.fromkeys((
    "order", "carrier", "tracking", "tracking_link", "payment", "cancel_reason", "dispute", "refund", "signin",
    "password", "offer", "digest", "cart", "coupon", "products"))


def link_for(kind: str, category: str, data: dict[str, Any]) -> str:
    if "dispute" in data:
        return f"{SHOP}/disputes/{data['dispute']}"
    if "tracking" in data:
        return f"{SHOP}/track/{data['tracking']}"
    if "order" in data:
        return f"{SHOP}/orders/{data['order']}"
    if category == "account_security":
        return f"{SHOP}/account/security"
    if kind == "digest":
        return f"{SHOP}/messages"
    if kind == "cart_reminder":
        return f"{SHOP}/cart"
    return f"{SHOP}/{category.replace('_', '-')}"


def order_summary(placed: dict[str, Any] | None, products: dict[str, ProductDef]) -> dict[str, Any] | None:
    """The order as templates see it, from its `order.placed` data."""
    if placed is None:
        return None
    items = [{"name": products[i["product"]].name, "qty": i["qty"], "price": i["price"]} for i in placed["items"]]
    return {"id": placed["order"], "items": items, "item_count": sum(i["qty"] for i in items),
            "first_item": items[0]["name"] if items else "", "subtotal": placed["subtotal"],
            "shipping": placed["shipping"], "discount": placed.get("discount", 0.0), "coupon": placed.get("coupon"),
            "total": placed["total"]}


def build_context(note: Note, currency: str, order: dict[str, Any] | None) -> dict[str, Any]:
    """`order`: the order_summary() of the order the message is about, if any."""
    sh, d, kind = note.sh, note.data, note.kind
    ctx: dict[str, Any] = {
        "kind": kind, "category": note.category, "channel": note.channel, "locale": sh.locale,
        "currency": currency, "link": link_for(kind, note.category, d),
        "shopper": {"name": sh.name, "first_name": sh.first_name, "email": sh.email, "city": sh.city,
                    "country": sh.country},
        **_EMPTY,
    }
    ctx["order"] = order
    if "tracking" in d:
        ctx["carrier"], ctx["tracking"] = d["carrier"], d["tracking"]
        ctx["tracking_link"] = f"{SHOP}/track/{d['tracking']}"
    if kind in ("payment.confirmed", "payment.failed"):
        ctx["payment"] = {"attempt": d.get("attempt"), "amount": d.get("amount"), "reason": d.get("reason")}
    elif kind == "order.cancelled":
        ctx["cancel_reason"] = d.get("reason")
    elif kind == "dispute.opened":
        ctx["dispute"] = {"id": d["dispute"], "reason": d["reason"]}
    elif kind == "refund.issued":
        ctx["dispute"] = {"id": d["dispute"], "reason": None}
        ctx["refund"] = {"amount": d["amount"]}
    elif kind == "account.new_signin":
        ctx["signin"] = {"device": d["device"], "city": d["city"], "country": d["country"]}
    elif kind == "account.password_changed":
        ctx["password"] = {"method": d["method"]}
    elif kind in ("message", "cart_reminder", "browse_reminder", "campaign"):
        ctx["offer"] = d["offer"]
        ctx["cart"] = d.get("cart")
        ctx["products"] = d.get("products")
    elif kind == "digest":
        ctx["digest"] = d["digest"]
    return ctx
