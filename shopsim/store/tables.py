"""Every table shopsim makes of a run, and the rows of those the database and `shopsim export` share.

The database (`store.models` builds its tables from `DATABASE`; `store.writer` fills them) and the export
(`store.export_rows`, columns `EXPORT`; docs/exports.md documents every one, a test keeps the two equal) give
a thing one name everywhere: `shopper`, `cart`, `order`, `notification`, `product`, `session`, `coupon` and
`ad` are ids; `device` is the device of the session something happened in; a cart's latest abandonment is
`last_abandon_reason`/`last_abandon_stage`; a time is named after what happened (kind "time": ms since the
run's start, which the export writes as an instant), and `*_ms` is the same as a number, the only form the
database stores. Shoppers, carts and orders are projected once, by `Commerce` and `shopper_row`, for both.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from shopsim.contract import events as E
from shopsim.contract.events import Event
from shopsim.contract.ids import is_ad
from shopsim.contract.taxonomy import CART_REMINDERS

__all__ = ["S", "I", "F", "B", "T", "D", "J", "Col", "DATABASE", "EXPORT", "EXPORT_TABLES", "SETTINGS_TRACKED",
           "ORDER_STATUS", "MOVED", "OUTCOME_TRACE", "Commerce", "shopper_row"]

S, I, F, B, T, D, J = "string", "int", "float", "bool", "time", "date", "json"
# Shopper settings whose value at creation and at the end of the run the shoppers table gives.
SETTINGS_TRACKED = ("push_os_permission", "marketing_consent", "personalization", "sms_opt_in")


class Col(NamedTuple):
    name: str
    kind: str
    flags: str = ""  # k: part of the primary key, n: may be null, i: indexed (once the rows are in)
    doc: str = ""


DATABASE: dict[str, tuple[Col, ...]] = {
    # running -> finished, or interrupted or failed; a run that was killed stays 'running' and is not complete.
    "runs": (Col("id", I, "k"), Col("scenario", S), Col("seed", I), Col("version", S),
             Col("start", S, doc="UTC instant of virtual time 0"), Col("duration_ms", I), Col("status", S),
             Col("end_ms", I, "n", "the virtual time the run reached"), Col("events", I)),
    # Settings live in settings_history (source 'created' is the first row): one copy, not two.
    "shoppers": (Col("shopper", S, "k"), Col("name", S), Col("email", S), Col("phone", S, "n"), Col("city", S),
                 Col("country", S), Col("locale", S), Col("tz", S), Col("segment", S), Col("platform", S),
                 Col("reach_app", B), Col("reach_email", B)),
    "products": (Col("product", S, "k"), Col("name", S), Col("category", S), Col("price", F), Col("store", S)),
    "carts": (Col("cart", S, "k"), Col("shopper", S),
              Col("status", S, doc="open, checkout, abandoned, ordered or emptied"), Col("created_ms", I),
              Col("updated_ms", I), Col("items", I), Col("value", F), Col("last_abandon_reason", S, "n"),
              Col("last_abandon_stage", S, "n"), Col("times_abandoned", I), Col("order", S, "n")),
    "cart_items": (Col("cart", S, "k"), Col("product", S, "k"), Col("qty", I), Col("price", F)),
    "orders": (Col("order", S, "k"), Col("shopper", S), Col("cart", S), Col("placed_ms", I), Col("currency", S),
               Col("subtotal", F), Col("shipping", F), Col("discount", F), Col("total", F), Col("coupon", S, "n"),
               Col("attributed_to", S, "n", "the notification or ad whose click led to the order"),
               Col("status", S), Col("carrier", S, "n"), Col("tracking", S, "n"), Col("refund_amount", F, "n")),
    "order_events": (Col("seq", I, "k"), Col("order", S), Col("t_ms", I), Col("type", S)),
    "settings_history": (Col("seq", I, "k"), Col("shopper", S), Col("t_ms", I), Col("source", S),
                         Col("settings", J)),
    # The log line is not stored again: seq, t_ms, type and shopper are columns and `data` holds the rest but
    # what a row written with it keeps (MOVED), so store.dblines gives back the exact line (its fields with
    # sorted keys, t as the instant of start + t_ms).
    "events": (Col("seq", I, "k"), Col("t_ms", I), Col("type", S), Col("shopper", S, "n"),
               Col("data", J, doc="the event's own fields: its log line without seq, t, type and shopper, and "
                                  "without the fields another table keeps (an outcome's trace, a delivered "
                                  "message's channel, title, body, link and digest_of, settings)")),
    # One requested notification and how it ended (store.writer follows it from request to outcome).
    "notifications": (
        Col("run_id", I, "k"), Col("notification", S, "k", "notification id, e.g. s000001-n3"), Col("shopper", S),
        Col("category", S), Col("channel", S, doc="the channel it ended on (differs when rerouted)"),
        Col("requested_channel", S), Col("kind", S), Col("source", S), Col("ref", S, "n"), Col("requested_ms", I),
        # delivered, digested or suppressed; deferred when the run ended while it waited (null only if the log
        # ends between a request and its outcome).
        Col("outcome", S, "n"), Col("reason", S, "n"), Col("rule", S, "n"), Col("deferrals", I),
        Col("until_ms", I, "n", "the last deferral's until"),
        Col("digest", S, "n", "the digest a digested notification joined"), Col("decided_ms", I, "n"),
        Col("trace", J, doc='every pass through the pipeline in order, [{"t_ms", "steps"}]')),
    # A delivered notification as the shopper's inbox holds it; indexed on (run_id, shopper, channel, t_ms)
    # at the end of the run (store.writer).
    "inbox": (Col("run_id", I, "k"), Col("notification", S, "k"), Col("shopper", S),
              Col("t_ms", I, doc="when it was delivered"),
              Col("seq", I, doc="seq of its notification.delivered event: log order among equal t_ms"),
              Col("channel", S), Col("category", S), Col("kind", S), Col("title", S, "n"), Col("body", S),
              Col("link", S), Col("digest_of", J, "n", "JSON list of the ids a digest carries"),
              Col("read_ms", I, "n", "when it was first opened")),
}



# Fields of a line that a row of another table, written in the same transaction as its events row, keeps in a
# column of its own; the events row's `data` leaves them out (the writer pops them) and store.dblines puts them
# back. Type -> (the table, matched on its `seq` column, and the fields, each a column of the same name). An outcome's
# trace is the last pass of notifications.trace; a deferral's trace stays in its line (its notifications row is
# written only at the outcome, later, so a run stopped meanwhile still has it).
MOVED: dict[str, tuple[str, tuple[str, ...]]] = {
    E.NOTIFICATION_DELIVERED: ("inbox", ("channel", "title", "body", "link", "digest_of")),
    E.SHOPPER_CREATED: ("settings_history", ("settings",)),
    E.SETTINGS_CHANGED: ("settings_history", ("settings",)),
}
OUTCOME_TRACE = frozenset(E.NOTIFICATION_OUTCOMES)  # types whose `trace` is notifications.trace's last pass


EXPORT: dict[str, tuple[tuple[str, str], ...]] = {
    "run": (("scenario", S), ("description", S), ("seed", I), ("version", S), ("schema_version", I),
            ("start", T), ("duration", S), ("duration_ms", I), ("end", T), ("end_ms", I), ("shoppers", I),
            ("events", I), ("complete", B)),
    "shoppers": (("shopper", S), ("name", S), ("email", S), ("phone", S), ("city", S), ("country", S),
                 ("locale", S), ("tz", S), ("segment", S), ("platform", S), ("favourites", J),
                 ("reach_app", B), ("reach_email", B), ("reach_phone", B), ("mail_proxy", B),
                 *((f"{s}_at_{when}", B) for s in SETTINGS_TRACKED for when in ("creation", "end"))),
    "experiment_assignments": (("experiment", S), ("variant", S), ("control", B), ("holdout", B), ("shopper", S),
                               ("assigned", T)),
    "sessions": (("session", S), ("shopper", S), ("started", T), ("started_ms", I), ("device", S),
                 ("source", S), ("clicked_id", S), ("views", I), ("items_added", I), ("checkout", B),
                 ("browse_abandoned", B)),
    "carts": (("cart", S), ("shopper", S), ("device", S), ("created", T), ("created_ms", I), ("status", S),
              ("updated", T), ("updated_ms", I), ("items", I), ("value", F), ("checkout_reached", B),
              ("checkouts", I), ("times_abandoned", I), ("first_abandoned", T), ("first_abandoned_ms", I),
              ("first_abandon_reason", S), ("first_abandon_stage", S), ("last_abandoned", T),
              ("last_abandon_reason", S), ("last_abandon_stage", S), ("checkout_abandon_reason", S), ("emptied", T),
              ("order", S), ("ordered", T), ("recovered", B), ("recovery", S), ("recovery_order", S)),
    "orders": (("order", S), ("shopper", S), ("cart", S), ("device", S), ("placed", T), ("placed_ms", I),
               ("currency", S), ("lines", I), ("units", I), ("subtotal", F), ("shipping", F), ("discount", F),
               ("total", F), ("coupon", S), ("attributed_to", S), ("attributed_type", S), ("recovered_cart", B),
               ("recovery", S), ("status", S), ("payment_failed", T), ("paid", T), ("cancelled", T),
               ("processing", T), ("shipped", T), ("carrier", S), ("tracking", S), ("in_transit", T),
               ("out_for_delivery", T), ("delivered", T), ("delivered_ms", I), ("disputed", T), ("dispute", S),
               ("dispute_reason", S), ("refunded", T), ("refund_amount", F)),
    "order_items": (("order", S), ("shopper", S), ("line", I), ("product", S), ("qty", I), ("price", F)),
    "notifications": (("notification", S), ("number", I), ("shopper", S), ("category", S), ("class", S),
                      ("requested_channel", S), ("channel", S), ("kind", S), ("source", S), ("ref", S),
                      ("requested", T), ("requested_ms", I), ("outcome", S), ("reason", S), ("rule", S),
                      ("decided_by", S), ("deferrals", I), ("until", T), ("decided", T), ("decided_ms", I),
                      ("digest", S), ("digest_items", I), ("coupon", S), ("title", S), ("opened", T),
                      ("human_opened", T), ("machine_opened", T), ("clicked", T), ("dismissed", T),
                      ("unsubscribed", T), ("unsubscribe_method", S), ("complained", T)),
    "coupons": (("coupon", S), ("shopper", S), ("kind", S), ("value", F), ("min_order", F), ("source", S),
                ("auto_apply", B), ("notification", S), ("issued", T), ("issued_ms", I), ("expires", T),
                ("seen", T), ("seen_via", S), ("redeemed", T), ("order", S), ("discount", F), ("expired", T)),
    "ads": (("ad", S), ("shopper", S), ("reason", S), ("ref", S), ("products", J), ("shown", T),
            ("shown_ms", I), ("clicked", T)),
    "settings_changes": (("shopper", S), ("t", T), ("t_ms", I), ("seq", I), ("source", S), ("change", J)),
    "surveys": (("cart", S), ("shopper", S), ("answered", T), ("answered_ms", I), ("channel", S), ("answer", S),
                ("real_reason", S), ("answer_is_real", B), ("first_abandon_reason", S)),
    "kpis_daily": (("day", I), ("date", D), ("start", T)),  # + every daily series of Metrics, in its order
}
EXPORT_TABLES = tuple(EXPORT)

# What orders.status says after each lifecycle event; the time column each sets is named the same.
ORDER_STATUS = {
    E.ORDER_PLACED: "placed", E.PAYMENT_FAILED: "payment_failed", E.PAYMENT_CONFIRMED: "paid",
    E.ORDER_CANCELLED: "cancelled", E.ORDER_PROCESSING: "processing", E.ORDER_SHIPPED: "shipped",
    E.SHIPMENT_IN_TRANSIT: "in_transit", E.SHIPMENT_OUT_FOR_DELIVERY: "out_for_delivery",
    E.ORDER_DELIVERED: "delivered", E.DISPUTE_OPENED: "disputed", E.REFUND_ISSUED: "refunded",
}
ORDER_STEPS = tuple(t for t in ORDER_STATUS if t != E.ORDER_PLACED)


def shopper_row(shopper: str, d: dict[str, Any]) -> dict[str, Any]:
    """A shopper.created line as the shoppers row (settings stay in their own tables)."""
    reach = d.get("reach") or {}
    row = {k: v for k, v in d.items() if k not in ("settings", "reach")}
    row.update(shopper=shopper, reach_app=reach.get("app"), reach_email=reach.get("email"),
               reach_phone=reach.get("phone"))
    return row


class Commerce:
    """Carts and orders, one dict per id keyed by column name, from the events that change them. Both the
    database writer and the export feed it; each takes the columns of its own tables."""

    def __init__(self) -> None:
        self.carts: dict[str, dict] = {}
        self.orders: dict[str, dict] = {}
        self.items: list[dict] = []             # order lines
        self.clicked_reminders: set[str] = set()
        self.handlers = {
            E.CART_ITEM_ADDED: self.item_added, E.CHECKOUT_STARTED: self.checkout, E.CART_ABANDONED: self.abandoned,
            E.CART_EMPTIED: self.emptied, E.ORDER_PLACED: self.order, E.NOTIFICATION_CLICKED: self.clicked,
            **{t: self.order_step for t in ORDER_STEPS},
        }

    def cart(self, ev: Event, d: dict) -> dict:
        c = self.carts.get(d["cart"])
        if c is None:
            c = self.carts[d["cart"]] = {
                "cart": d["cart"], "shopper": ev.shopper, "device": d.get("device"), "created": ev.t,
                "created_ms": ev.t, "checkout_reached": False, "checkouts": 0, "times_abandoned": 0,
                "recovered": False}
        if "items" in d and "value" in d:
            c["items"], c["value"] = d["items"], d["value"]
        c["updated"] = c["updated_ms"] = ev.t
        return c

    def item_added(self, ev: Event, d: dict) -> dict:
        c = self.cart(ev, d)
        c["status"] = "open"
        return c

    def checkout(self, ev: Event, d: dict) -> None:
        c = self.cart(ev, d)
        c["status"], c["checkout_reached"] = "checkout", True
        c["checkouts"] += 1

    def abandoned(self, ev: Event, d: dict) -> None:
        c = self.cart(ev, d)
        c["status"] = "abandoned"
        c["times_abandoned"] += 1
        reason, stage = d.get("reason"), d.get("stage") or "cart"
        if c.get("first_abandoned") is None:
            c.update(first_abandoned=ev.t, first_abandoned_ms=ev.t, first_abandon_stage=stage,
                     first_abandon_reason=d.get("first_reason") or reason)
        if stage == "checkout" and c.get("checkout_abandon_reason") is None:
            c["checkout_abandon_reason"] = reason
        c.update(last_abandoned=ev.t, last_abandon_reason=reason, last_abandon_stage=stage)

    def emptied(self, ev: Event, d: dict) -> None:
        c = self.cart(ev, d)
        c["status"], c["emptied"] = "emptied", ev.t

    def clicked(self, ev: Event, d: dict) -> None:
        if d.get("category") == CART_REMINDERS:
            self.clicked_reminders.add(d["id"])

    def order(self, ev: Event, d: dict) -> dict:
        c = self.carts.get(d["cart"])
        by = d.get("attributed_to")
        recovered = c is not None and c["times_abandoned"] > 0 and not c["recovered"]
        recovery = None
        if recovered:
            recovery = ("organic" if by is None else "attributed" if by in self.clicked_reminders else "other")
        if c is not None:
            c["status"], c["updated"], c["updated_ms"] = "ordered", ev.t, ev.t
            if c.get("order") is None:
                c.update(order=d["order"], ordered=ev.t)
            if recovered:
                c.update(recovered=True, recovery=recovery, recovery_order=d["order"])
        items = d.get("items") or []
        o = self.orders[d["order"]] = {
            **{k: d.get(k) for k in ("order", "cart", "currency", "subtotal", "shipping", "discount", "total",
                                     "coupon", "attributed_to", "device")},
            "shopper": ev.shopper, "placed": ev.t, "placed_ms": ev.t, "status": "placed",
            "lines": len(items), "units": sum(i.get("qty", 0) for i in items),
            "attributed_type": None if by is None else "ad" if is_ad(by) else "notification",
            "recovered_cart": recovered, "recovery": recovery}
        for n, item in enumerate(items, 1):
            self.items.append({"order": d["order"], "shopper": ev.shopper, "line": n, "product": item["product"],
                               "qty": item.get("qty"), "price": item.get("price")})
        return o

    def order_step(self, ev: Event, d: dict) -> dict | None:
        o = self.orders.get(d.get("order"))
        if o is None:
            return None
        o["status"] = status = ORDER_STATUS[ev.type]
        o.setdefault(status, ev.t)
        if ev.type == E.ORDER_DELIVERED:
            o.setdefault("delivered_ms", ev.t)
        if "carrier" in d:
            o["carrier"], o["tracking"] = d["carrier"], d.get("tracking")
        if ev.type == E.DISPUTE_OPENED:
            o["dispute"], o["dispute_reason"] = d.get("dispute"), d.get("reason")
        elif ev.type == E.REFUND_ISSUED:
            o["refund_amount"] = round((o.get("refund_amount") or 0.0) + d["amount"], 2)
        return o
