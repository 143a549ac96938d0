"""The notification taxonomy: categories, their class, channels and frequencies (see docs/notifications.md)."""

from __future__ import annotations

CHANNELS = ("email", "push", "sms", "in_app")
# Retargeting ads are a channel of their own: governed by personalization consent, not inbox settings.
AD_CHANNEL = "ads"
FREQUENCIES = ("realtime", "daily", "weekly", "off")

CRITICAL = "critical"
TRANSACTIONAL = "transactional"
MARKETING = "marketing"

CATEGORY_CLASS = {
    "account_security": CRITICAL,
    "order_updates": TRANSACTIONAL,
    "shipping": TRANSACTIONAL,
    "customer_service": TRANSACTIONAL,
    "cart_reminders": MARKETING,
    "promotions": MARKETING,
    "flash_sales": MARKETING,
    "recommendations": MARKETING,
    "new_product_alerts": MARKETING,
}
CATEGORIES = tuple(CATEGORY_CLASS)
# The category of a digest: one message carrying several marketing messages. Not a category a shopper sets
# (her digest follows her marketing categories' frequencies), but the one a digest's requests and templates use.
DIGEST = "digest"
# The category whose clicked messages make a cart's recovery "attributed" (KPIs, tables, the run summary).
CART_REMINDERS = "cart_reminders"
MARKETING_CATEGORIES = tuple(c for c, k in CATEGORY_CLASS.items() if k == MARKETING)

# Baymard's answers to "why did you abandon an order during checkout?" (its 2024 survey of US shoppers), then
# the two that end a visit before checkout. docs/sources.md gives the published shares.
CHECKOUT_REASONS = (
    "extra_costs",          # extra costs too high (shipping, tax, fees)
    "account_required",     # the site wanted me to create an account
    "payment_trust",        # I didn't trust the site with my credit card information
    "slow_delivery",        # delivery was too slow
    "long_checkout",        # too long / complicated checkout process
    "total_cost_unclear",   # I couldn't see / calculate the total order cost up-front
    "returns_policy",       # returns policy wasn't satisfactory
    "site_error",           # website had errors / crashed
    "payment_methods",      # there weren't enough payment methods
    "card_declined",        # the credit card was declined
)
BROWSE_STAGE_REASONS = frozenset({"just_browsing", "comparison_shopping"})
ABANDON_REASONS = CHECKOUT_REASONS + ("just_browsing", "comparison_shopping")
# A reason must fit the cart: these two are about a cost added at checkout, so they only happen to a cart
# that pays one (shopsim models shipping, not taxes: a cart that ships free has no surprise at checkout).
EXTRA_COST_REASONS = frozenset({"extra_costs", "total_cost_unclear"})
# Each UX lever weakens the reasons it answers (Baymard's checkout guidelines; docs/sources.md).
LEVER_REASONS = {
    "guest_checkout": ("account_required",),
    "transparent_pricing": ("extra_costs", "total_cost_unclear"),
    "simplified_checkout": ("long_checkout",),
    "trust_signals": ("payment_trust",),
    "free_returns": ("returns_policy",),
    "more_payment_methods": ("payment_methods",),
}
LEVER_REASON = {lever: reasons[0] for lever, reasons in LEVER_REASONS.items()}  # the main reason of each lever
# Where a visit happens. App owners mostly visit in the app; everyone else on the mobile web or a desktop.
DEVICES = ("app", "mobile_web", "desktop")
PLATFORMS = ("ios", "android", "web")

# The message each commerce event triggers: its category, and the channels a marketplace announces it on by
# default (policies.transactional overrides the channels per event). Interruptive channels are kept for
# what the shopper must act on or will want to know at once.
EVENT_CATEGORY = {
    "order.placed": "order_updates",
    "payment.confirmed": "order_updates",
    "payment.failed": "order_updates",
    "order.cancelled": "order_updates",
    "order.processing": "order_updates",
    "order.shipped": "shipping",
    "shipment.in_transit": "shipping",
    "shipment.out_for_delivery": "shipping",
    "order.delivered": "shipping",
    "dispute.opened": "customer_service",
    "refund.issued": "customer_service",
    "account.new_signin": "account_security",
    "account.password_changed": "account_security",
}
TRANSACTIONAL_PLAN = {
    "order.placed": ("email", "in_app"),
    "payment.confirmed": ("email", "in_app"),
    "payment.failed": ("email", "push", "in_app"),
    "order.cancelled": ("email", "in_app"),
    "order.processing": ("in_app",),
    "order.shipped": ("email", "push", "in_app"),
    "shipment.in_transit": ("in_app",),
    "shipment.out_for_delivery": ("push", "sms"),
    "order.delivered": ("email", "push", "in_app"),
    "dispute.opened": ("email", "in_app"),
    "refund.issued": ("email", "push", "in_app"),
    "account.new_signin": ("email", "push"),
    "account.password_changed": ("email", "sms"),
}
