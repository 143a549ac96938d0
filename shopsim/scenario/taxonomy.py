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
MARKETING_CATEGORIES = tuple(c for c, k in CATEGORY_CLASS.items() if k == MARKETING)

ABANDON_REASONS = (
    "extra_costs",
    "account_required",
    "payment_trust",
    "long_checkout",
    "comparison_shopping",
    "just_browsing",
)
# Reasons that end the visit before checkout starts; the rest happen on the checkout page.
BROWSE_STAGE_REASONS = frozenset({"comparison_shopping", "just_browsing"})
# Each UX lever weakens one reason (docs/sources.md).
LEVER_REASON = {
    "guest_checkout": "account_required",
    "transparent_pricing": "extra_costs",
    "simplified_checkout": "long_checkout",
}
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
