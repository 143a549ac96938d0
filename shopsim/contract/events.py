"""Events: what the engine tells its observers, and what the event log records (docs/event-log.md)."""

from __future__ import annotations

from typing import Any, NamedTuple


class Event(NamedTuple):
    seq: int                 # 1, 2, 3 ... with no gaps
    t: int                   # virtual ms since the scenario start
    type: str
    shopper: str | None      # shopper id, or None for run-wide events
    data: dict[str, Any]     # the type's own fields (flat in the log line)


RUN_STARTED = "run.started"
RUN_FINISHED = "run.finished"
SHOPPER_CREATED = "shopper.created"
SETTINGS_CHANGED = "settings.changed"
SESSION_STARTED = "session.started"
PRODUCT_VIEWED = "product.viewed"
CART_ITEM_ADDED = "cart.item_added"
CART_EMPTIED = "cart.emptied"
CHECKOUT_STARTED = "checkout.started"
CART_ABANDONED = "cart.abandoned"
ORDER_PLACED = "order.placed"
PAYMENT_CONFIRMED = "payment.confirmed"
PAYMENT_FAILED = "payment.failed"
ORDER_CANCELLED = "order.cancelled"
ORDER_PROCESSING = "order.processing"
ORDER_SHIPPED = "order.shipped"
SHIPMENT_IN_TRANSIT = "shipment.in_transit"
SHIPMENT_OUT_FOR_DELIVERY = "shipment.out_for_delivery"
ORDER_DELIVERED = "order.delivered"
DISPUTE_OPENED = "dispute.opened"
REFUND_ISSUED = "refund.issued"
ACCOUNT_NEW_SIGNIN = "account.new_signin"
ACCOUNT_PASSWORD_CHANGED = "account.password_changed"

NOTIFICATION_REQUESTED = "notification.requested"
NOTIFICATION_DELIVERED = "notification.delivered"
NOTIFICATION_DEFERRED = "notification.deferred"
NOTIFICATION_DIGESTED = "notification.digested"
NOTIFICATION_SUPPRESSED = "notification.suppressed"
NOTIFICATION_OPENED = "notification.opened"
NOTIFICATION_CLICKED = "notification.clicked"
NOTIFICATION_DISMISSED = "notification.dismissed"
NOTIFICATION_UNSUBSCRIBED = "notification.unsubscribed"
NOTIFICATION_COMPLAINED = "notification.complained"
BROWSE_ABANDONED = "browse.abandoned"
COUPON_ISSUED = "coupon.issued"
COUPON_REDEEMED = "coupon.redeemed"
COUPON_EXPIRED = "coupon.expired"
COUPON_SEEN = "coupon.seen"
SURVEY_ANSWERED = "survey.answered"
PRODUCT_PRICE_CHANGED = "product.price_changed"
AD_IMPRESSION = "ad.impression"
AD_CLICKED = "ad.clicked"
EXPERIMENT_STARTED = "experiment.started"
EXPERIMENT_ASSIGNED = "experiment.assigned"
POLICY_CHANGED = "policy.changed"
# Exactly one of these ends every requested notification (a deferral is followed by one of them later).
NOTIFICATION_OUTCOMES = (NOTIFICATION_DELIVERED, NOTIFICATION_DIGESTED, NOTIFICATION_SUPPRESSED)

# The order lifecycle, in the only order it may happen (tests and `expect:` rely on it).
ORDER_LIFECYCLE = (ORDER_PLACED, PAYMENT_CONFIRMED, ORDER_PROCESSING, ORDER_SHIPPED, SHIPMENT_IN_TRANSIT,
                   SHIPMENT_OUT_FOR_DELIVERY, ORDER_DELIVERED)
