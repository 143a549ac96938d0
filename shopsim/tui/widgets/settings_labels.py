"""The words of the settings pane for channels, categories and consent flags, shared by the controls it
builds (settings.py) and the changes it reports (settings_changes.py)."""

from __future__ import annotations

CHANNEL_LABELS = {"email": "email", "push": "push", "sms": "SMS", "in_app": "in-app"}
CATEGORY_LABELS = {
    "account_security": "Account security",
    "order_updates": "Order updates",
    "shipping": "Shipping",
    "customer_service": "Customer service",
    "cart_reminders": "Cart reminders",
    "promotions": "Promotions",
    "flash_sales": "Flash sales",
    "recommendations": "Recommendations",
    "new_product_alerts": "New product alerts",
}
FLAG_LABELS = {
    "marketing_consent": "Marketing consent",
    "personalization": "Personalization",
    "push_os_permission": "Push allowed (OS)",
    "sms_opt_in": "SMS opt-in",
}


def shoppers_text(n: int) -> str:
    return f"{n:,} shopper" + ("" if n == 1 else "s")
