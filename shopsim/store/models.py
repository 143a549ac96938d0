"""SQLModel tables of a run. Events are the source of truth; the other tables are views of them
shaped for analysts (one row per shopper, cart, order, ...)."""

from __future__ import annotations

from typing import Optional

from sqlmodel import Field, SQLModel


class RunRow(SQLModel, table=True):
    __tablename__ = "runs"
    id: int = Field(default=1, primary_key=True)
    scenario: str
    seed: int
    version: str
    start: str = Field(description="UTC instant of virtual time 0")
    duration_ms: int
    # running -> finished, or interrupted; a run that was killed stays 'running' and is not complete.
    status: str = "running"
    until_ms: Optional[int] = None
    events: int = 0


class ShopperRow(SQLModel, table=True):
    __tablename__ = "shoppers"
    id: str = Field(primary_key=True)
    name: str
    email: str
    phone: Optional[str] = None
    city: str
    country: str
    locale: str
    tz: str
    segment: str = Field(index=True)
    platform: str
    has_app: bool
    email_verified: bool
    # Settings live in settings_history (source 'created' is the first row): one copy, not two.


class ProductRow(SQLModel, table=True):
    __tablename__ = "products"
    id: str = Field(primary_key=True)
    name: str
    category: str = Field(index=True)
    price: float
    store: str


class CartRow(SQLModel, table=True):
    __tablename__ = "carts"
    id: str = Field(primary_key=True)
    shopper: str = Field(index=True)
    status: str = Field(description="open, checkout, abandoned, ordered or emptied")
    created_ms: int
    updated_ms: int
    items: int
    value: float
    abandon_reason: Optional[str] = None
    abandon_stage: Optional[str] = None
    abandoned_count: int = 0
    order: Optional[str] = None


class CartItemRow(SQLModel, table=True):
    __tablename__ = "cart_items"
    cart: str = Field(primary_key=True)
    product: str = Field(primary_key=True)
    qty: int
    price: float


class OrderRow(SQLModel, table=True):
    __tablename__ = "orders"
    id: str = Field(primary_key=True)
    shopper: str = Field(index=True)
    cart: str
    placed_ms: int
    currency: str
    subtotal: float
    shipping: float
    discount: float = 0.0
    total: float
    coupon: Optional[str] = None
    attributed_to: Optional[str] = Field(None, description="the notification or ad whose click led to the order")
    status: str
    carrier: Optional[str] = None
    tracking: Optional[str] = None
    refunded: float = 0.0


class OrderEventRow(SQLModel, table=True):
    __tablename__ = "order_events"
    seq: int = Field(primary_key=True)
    order: str = Field(index=True)
    t_ms: int
    type: str


class SettingsHistoryRow(SQLModel, table=True):
    __tablename__ = "settings_history"
    seq: int = Field(primary_key=True)
    shopper: str = Field(index=True)
    t_ms: int
    source: str
    settings: str


class EventRow(SQLModel, table=True):
    __tablename__ = "events"
    seq: int = Field(primary_key=True)
    t_ms: int
    # Indexed at the end of the run (store.writer), which is much faster than indexing row by row.
    type: str
    shopper: Optional[str] = None
    line: str = Field(description="the event's exact event-log line")


class NotificationRow(SQLModel, table=True):
    """One requested notification and how it ended (store.writer follows it from request to outcome)."""
    __tablename__ = "notifications"
    run_id: int = Field(default=1, primary_key=True)
    id: str = Field(primary_key=True, description="notification id, e.g. s000001-n3")
    shopper: str
    category: str
    channel: str = Field(description="the channel it ended on (differs from requested_channel when rerouted)")
    requested_channel: str
    kind: str
    source: str
    ref: Optional[str] = None
    requested_ms: int
    # delivered, digested or suppressed; deferred when the run ended while it waited (None only if the log
    # ends between a request and its outcome).
    outcome: Optional[str] = None
    reason: Optional[str] = None
    rule: Optional[str] = None
    deferrals: int = 0
    until_ms: Optional[int] = Field(None, description="the last deferral's until")
    digest: Optional[str] = Field(None, description="the digest a digested notification joined")
    decided_ms: Optional[int] = None
    trace: str = Field(description='JSON: every pass through the pipeline in order, [{"t_ms", "steps"}]')


class InboxRow(SQLModel, table=True):
    """A delivered notification as the shopper's inbox holds it. Indexed on (run_id, shopper, channel, t_ms)
    at the end of the run (store.writer)."""
    __tablename__ = "inbox"
    run_id: int = Field(default=1, primary_key=True)
    id: str = Field(primary_key=True)
    shopper: str
    t_ms: int = Field(description="when it was delivered")
    seq: int = Field(description="seq of its notification.delivered event: log order among equal t_ms")
    channel: str
    category: str
    kind: str
    title: Optional[str] = None
    body: str
    link: str
    digest_of: Optional[str] = Field(None, description="JSON list of the ids a digest carries")
    read_ms: Optional[int] = Field(None, description="when it was first opened")
