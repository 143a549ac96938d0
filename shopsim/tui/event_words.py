"""Any event of the log in one plain sentence, for the terminal app: what `n` stepped to, in the feed and in a
notice. Pure text (no Textual). Keys become words through shopsim.report.labels, the same words the feed and the
report use; an event type this table does not know yet still reads as words, never as `snake_case`."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Callable, Mapping

from shopsim.report.labels import category_words, channel_words, decision_words, device_words, reason_words, words
from shopsim.contract import events as E
from shopsim.contract.events import Event
from shopsim.contract.money import amount_text

Data = Mapping[str, Any]


# The currency amounts are written in while one sentence is made ("40.99 USD"), when the caller knows it.
_CURRENCY: ContextVar[str | None] = ContextVar("currency", default=None)


def _money(value: Any) -> str:
    return amount_text(value, _CURRENCY.get())


_ARTICLE = {"email": "an email", "push": "a push", "sms": "an SMS", "in_app": "an in-app message"}


def _note(d: Data) -> str:
    """"an email (cart reminders)"."""
    ch, cat = d.get("channel"), d.get("category")
    what = _ARTICLE.get(ch, f"a message by {channel_words(ch)}" if ch else "a message")
    return f"{what} ({category_words(cat).lower()})" if cat else what


def _items(n: Any) -> str:
    return "1 item" if n == 1 else f"{n if isinstance(n, int) else '?'} items"


def _visit(d: Data) -> str:
    device = device_words(d["device"]).lower() if d.get("device") else None
    source = d.get("source")
    how = "unprompted" if source in (None, "organic") else f"from {words(source).lower()}"
    return f"starts a visit ({device}, {how})" if device else f"starts a visit ({how})"


# Sentences that do not start with what the shopper did: "Anna (s000012): order shipped with DHL".
_NOT_A_VERB = ("the ", "a ", "an ", "payment ", "order ", "parcel ", "refunded", "coupon ")

_SENTENCES: dict[str, Callable[[Data], str]] = {
    E.RUN_STARTED: lambda d: "the run starts",
    E.RUN_FINISHED: lambda d: "the run ends",
    E.SHOPPER_CREATED: lambda d: f"joins the marketplace ({d.get('city') or '?'}, {d.get('country') or '?'})",
    E.SETTINGS_CHANGED: lambda d: "changes notification settings",
    E.SESSION_STARTED: _visit,
    E.PRODUCT_VIEWED: lambda d: f"looks at a product ({words(d.get('category') or '?').lower()}, "
                                f"{_money(d.get('price'))})",
    E.CART_ITEM_ADDED: lambda d: f"adds to the cart ({_items(d.get('items'))}, {_money(d.get('value'))})",
    E.CART_EMPTIED: lambda d: "empties the cart",
    E.CHECKOUT_STARTED: lambda d: f"starts checkout ({_money(d.get('value'))})",
    E.CART_ABANDONED: lambda d: f"leaves the cart ({_money(d.get('value'))})"
                                + (f": {reason_words(d['reason']).lower()}" if d.get("reason") else ""),
    E.ORDER_PLACED: lambda d: f"orders ({_money(d.get('total', d.get('value')))})"
                              + (" after a message's click" if d.get("attributed_to") else ""),
    E.PAYMENT_CONFIRMED: lambda d: f"payment confirmed ({_money(d.get('amount'))})",
    E.PAYMENT_FAILED: lambda d: "payment failed" + (f": {words(d['reason']).lower()}" if d.get("reason") else ""),
    E.ORDER_CANCELLED: lambda d: "order cancelled"
                                 + (f": {words(d['reason']).lower()}" if d.get("reason") else ""),
    E.ORDER_PROCESSING: lambda d: "order being prepared",
    E.ORDER_SHIPPED: lambda d: f"order shipped with {d.get('carrier') or 'a carrier'}",
    E.SHIPMENT_IN_TRANSIT: lambda d: "parcel in transit",
    E.SHIPMENT_OUT_FOR_DELIVERY: lambda d: "parcel out for delivery",
    E.ORDER_DELIVERED: lambda d: "order delivered",
    E.DISPUTE_OPENED: lambda d: "opens a dispute",
    E.REFUND_ISSUED: lambda d: f"refunded ({_money(d.get('amount'))})",
    E.ACCOUNT_NEW_SIGNIN: lambda d: f"signs in from a new device ({d.get('device') or '?'})",
    E.ACCOUNT_PASSWORD_CHANGED: lambda d: "changes the password",
    E.NOTIFICATION_REQUESTED: lambda d: f"the platform asks to send {_note(d)}",
    E.NOTIFICATION_DELIVERED: lambda d: f"gets {_note(d)}" + (f": “{d['title']}”" if d.get("title") else ""),
    E.NOTIFICATION_DEFERRED: lambda d: f"{_note(d)} is held back"
                                       + (f": {decision_words(d['reason']).lower()}" if d.get("reason") else ""),
    E.NOTIFICATION_DIGESTED: lambda d: f"{_note(d)} waits for the digest",
    E.NOTIFICATION_SUPPRESSED: lambda d: f"{_note(d)} is not sent"
                                         + (f": {decision_words(d['reason'], d.get('rule')).lower()}"
                                            if d.get("reason") else ""),
    E.NOTIFICATION_OPENED: lambda d: f"opens {_note(d)}",
    E.NOTIFICATION_CLICKED: lambda d: f"clicks {_note(d)}",
    E.NOTIFICATION_DISMISSED: lambda d: f"dismisses {_note(d)}",
    E.NOTIFICATION_UNSUBSCRIBED: lambda d: f"unsubscribes after {_note(d)}",
    E.NOTIFICATION_COMPLAINED: lambda d: f"marks {_note(d)} as spam",
    E.BROWSE_ABANDONED: lambda d: "leaves after browsing",
    E.COUPON_ISSUED: lambda d: f"is given a coupon ({d.get('coupon') or '?'})",
    E.COUPON_REDEEMED: lambda d: f"uses a coupon ({_money(d.get('discount'))} off)",
    E.COUPON_EXPIRED: lambda d: "coupon expired unused",
    E.COUPON_SEEN: lambda d: "sees the coupon",
    E.SURVEY_ANSWERED: lambda d: "answers the exit survey"
                                 + (f": {reason_words(d['answer']).lower()}" if d.get("answer") else ""),
    E.PRODUCT_PRICE_CHANGED: lambda d: f"a price changes ({_money(d.get('price'))})",
    E.AD_IMPRESSION: lambda d: "is shown a retargeting ad",
    E.AD_CLICKED: lambda d: "clicks a retargeting ad",
    E.EXPERIMENT_STARTED: lambda d: f"experiment {d.get('experiment') or ''} starts".replace("  ", " "),
    E.EXPERIMENT_ASSIGNED: lambda d: f"is put in arm {d.get('arm') or '?'} of {d.get('experiment') or 'an experiment'}",
    E.POLICY_CHANGED: lambda d: f"the platform's policy changes ({d.get('policy') or '?'}: "
                                f"{', '.join(map(str, d.get('changed') or ())) or 'nothing'})",
}


def event_words(ev: Event, name: str | None = None, who: bool = True, currency: str | None = None) -> str:
    """One sentence: "Anna Roth (s000012) leaves the cart (40.99): extra costs at checkout"; without `who`, what
    happened alone (where the shopper is shown beside it, as in the feed). With `currency`, amounts carry it
    ("40.99 USD", as the report writes money)."""
    say = _SENTENCES.get(ev.type)
    token = _CURRENCY.set(currency)
    try:
        what = say(ev.data) if say is not None else words(ev.type.replace(".", " ")).lower()
    except (TypeError, ValueError):  # a field of an unexpected type: fall back to the event's name in words
        what = words(ev.type.replace(".", " ")).lower()
    finally:
        _CURRENCY.reset(token)
    if ev.shopper is None or not who:
        return what[:1].upper() + what[1:]
    subject = f"{name} ({ev.shopper})" if name else ev.shopper
    return f"{subject}: {what}" if what.startswith(_NOT_A_VERB) else f"{subject} {what}"
