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
