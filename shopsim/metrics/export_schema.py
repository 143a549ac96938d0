"""The tables of `shopsim export`: each table's columns, in order, with their kind (docs/exports.md
documents every one; a test keeps the two equal).

A thing has one name in every table that holds it: `shopper`, `cart`, `order`, `notification`, `coupon`,
`session` and `ad` are ids; `device` is the device of the session something happened in; a cart's
abandonment reason is `first_abandon_reason` wherever it appears. Times are kind "time" (ms since the
run's start here; the writers turn them into instants), and `*_t_ms` columns repeat one as a number."""

from __future__ import annotations

__all__ = ["S", "I", "F", "B", "T", "D", "J", "SCHEMAS", "TABLES", "SETTINGS_TRACKED"]

S, I, F, B, T, D, J = "string", "int", "float", "bool", "time", "date", "json"
# Shopper settings whose value at creation and at the end of the run the shoppers table gives.
SETTINGS_TRACKED = ("push_os_permission", "marketing_consent", "personalization", "sms_opt_in")

SCHEMAS: dict[str, tuple[tuple[str, str], ...]] = {
    "run": (("scenario", S), ("description", S), ("seed", I), ("version", S), ("schema_version", I),
            ("start", T), ("duration", S), ("duration_ms", I), ("end", T), ("end_t_ms", I), ("shoppers", I),
            ("events", I), ("complete", B)),
    "shoppers": (("shopper", S), ("name", S), ("email", S), ("phone", S), ("city", S), ("country", S),
                 ("locale", S), ("tz", S), ("segment", S), ("platform", S), ("favourites", J),
                 ("reach_app", B), ("reach_email", B), ("reach_phone", B), ("mail_proxy", B),
                 *((f"{s}_at_{when}", B) for s in SETTINGS_TRACKED for when in ("creation", "end"))),
    "experiment_assignments": (("experiment", S), ("variant", S), ("control", B), ("holdout", B), ("shopper", S),
                               ("assigned", T)),
    "sessions": (("session", S), ("shopper", S), ("started", T), ("started_t_ms", I), ("device", S),
                 ("source", S), ("clicked_id", S), ("views", I), ("items_added", I), ("checkout", B),
                 ("browse_abandoned", B)),
    "carts": (("cart", S), ("shopper", S), ("device", S), ("created", T), ("created_t_ms", I), ("items", I),
              ("value", F), ("checkout_reached", B), ("checkouts", I), ("times_abandoned", I),
              ("first_abandoned", T), ("first_abandoned_t_ms", I), ("first_abandon_reason", S),
              ("first_abandon_stage", S), ("last_abandoned", T), ("last_abandon_reason", S),
              ("last_abandon_stage", S), ("checkout_abandon_reason", S), ("emptied", T), ("order", S),
              ("ordered", T), ("recovered", B), ("recovery", S), ("recovery_order", S)),
    "orders": (("order", S), ("shopper", S), ("cart", S), ("device", S), ("placed", T), ("placed_t_ms", I),
               ("currency", S), ("lines", I), ("units", I), ("subtotal", F), ("shipping", F), ("discount", F),
               ("total", F), ("coupon", S), ("attributed_to", S), ("attributed_type", S), ("recovered_cart", B),
               ("recovery", S), ("payment_failed", T), ("paid", T), ("cancelled", T), ("processing", T),
               ("shipped", T), ("carrier", S), ("tracking", S), ("in_transit", T), ("out_for_delivery", T),
               ("delivered", T), ("delivered_t_ms", I), ("disputed", T), ("dispute", S), ("dispute_reason", S),
               ("refunded", T), ("refund_amount", F)),
    "order_items": (("order", S), ("shopper", S), ("line", I), ("product", S), ("qty", I), ("price", F)),
    "notifications": (("notification", S), ("number", I), ("shopper", S), ("category", S), ("class", S),
                      ("requested_channel", S), ("channel", S), ("kind", S), ("source", S), ("ref", S),
                      ("requested", T), ("requested_t_ms", I), ("outcome", S), ("reason", S), ("rule", S),
                      ("decided_by", S), ("deferrals", I), ("until", T), ("decided", T), ("decided_t_ms", I),
                      ("digest", S), ("digest_items", I), ("coupon", S), ("title", S), ("opened", T),
                      ("human_opened", T), ("machine_opened", T), ("clicked", T), ("dismissed", T),
                      ("unsubscribed", T), ("unsubscribe_method", S), ("complained", T)),
    "coupons": (("coupon", S), ("shopper", S), ("kind", S), ("value", F), ("min_order", F), ("source", S),
                ("auto_apply", B), ("notification", S), ("issued", T), ("issued_t_ms", I), ("expires", T),
                ("seen", T), ("seen_via", S), ("redeemed", T), ("order", S), ("discount", F), ("expired", T)),
    "ads": (("ad", S), ("shopper", S), ("reason", S), ("ref", S), ("products", J), ("shown", T),
            ("shown_t_ms", I), ("clicked", T)),
    "settings_changes": (("shopper", S), ("t", T), ("t_ms", I), ("seq", I), ("source", S), ("change", J)),
    "surveys": (("cart", S), ("shopper", S), ("answered", T), ("answered_t_ms", I), ("channel", S), ("answer", S),
                ("real_reason", S), ("answer_is_real", B), ("first_abandon_reason", S)),
    "kpis_daily": (("day", I), ("date", D), ("start", T)),  # + every daily series of Metrics, in its order
}
TABLES = tuple(SCHEMAS)
