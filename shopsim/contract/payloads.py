"""What each event type carries: the one schema of the event log (docs/event-log.md explains it at length).

Declarations only, read by the JSON Schema (`log_schema.py`), the docs test and the readers; the engine never
consults them while it runs, so they cost nothing on its hot path. JSON types are those of JSON Schema:
string, integer, number, boolean, object, array, null. Money is a number; instants are strings like `t`.
"""

from __future__ import annotations

from dataclasses import dataclass

from shopsim.contract import events as E

__all__ = ["Field", "Payload", "COMMON", "PAYLOADS", "INSTANT", "SHOPPER_ID"]

INSTANT = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"
SHOPPER_ID = r"^s\d{6,}$"


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    type: str                      # its JSON type
    meaning: str
    nullable: bool = False         # null is a value it may take (the key is still there)
    required: bool = True          # False: the key may be absent (only inside nested objects today)
    items: str | None = None       # an array's element type
    shape: tuple["Field", ...] = ()  # an object's fields, or those of an array's objects
    values: str | None = None      # an object used as a map: the type of every value
    pattern: str | None = None     # a string's form (instants)


@dataclass(frozen=True, slots=True)
class Payload:
    meaning: str
    fields: tuple[Field, ...]
    run_wide: bool = False         # `shopper` is null: the event is about the run, not one shopper


def _s(name: str, meaning: str, **kw) -> Field:
    return Field(name, "string", meaning, **kw)


def _i(name: str, meaning: str, **kw) -> Field:
    return Field(name, "integer", meaning, **kw)


def _n(name: str, meaning: str, **kw) -> Field:
    return Field(name, "number", meaning, **kw)


def _b(name: str, meaning: str, **kw) -> Field:
    return Field(name, "boolean", meaning, **kw)


def _at(name: str, meaning: str, **kw) -> Field:
    return Field(name, "string", meaning, pattern=INSTANT, **kw)


COMMON = (
    _i("seq", "position in the log: 1 on the first line, then +1 per line"),
    _at("t", "virtual time of the event, as a UTC instant"),
    _s("type", "the event type, noun.verb"),
    _s("shopper", "id of the shopper the event is about; null for run-wide events", nullable=True,
       pattern=SHOPPER_ID),
)

_CHANNELS = ("email", "push", "sms", "in_app")
_SETTINGS = (
    Field("channels", "object", "master switch per channel", values="boolean",
          shape=tuple(_b(c, f"{c} on at all") for c in _CHANNELS)),
    Field("categories", "object", "per category: a switch per channel and its frequency", values="object"),
    Field("quiet_hours", "object", "local start and end (HH:MM) of the hours push and SMS wait; null for none",
          nullable=True, shape=(_s("start", "local start, HH:MM"), _s("end", "local end, HH:MM"))),
    Field("digest", "object", "local time of digests and the weekly digest's day",
          shape=(_s("time", "local time, HH:MM"), _s("weekday", "mon to sun"))),
    _b("marketing_consent", "agreed to marketing messages"),
    _b("personalization", "agreed to personalised recommendations and ads"),
    _b("push_os_permission", "the phone's OS allows the app's push notifications"),
    _b("sms_opt_in", "opted in to SMS"),
)
_VERDICT = (
    _s("step", "the pipeline step"),
    _s("outcome", "pass, suppressed, deferred, digested or rerouted"),
    _s("reason", "why the step did not simply pass", required=False),
    _s("rule", "the setting or policy that decided", required=False),
    Field("params", "object", "what the step looked at", required=False),
)
_TRACE = Field("trace", "array", "the pipeline's verdicts for this pass, in order", items="object",
               shape=_VERDICT)
_NOTE = (
    _s("id", "notification id, s000001-n3"),
    _s("category", "one of the nine categories, or digest"),
    _s("channel", "email, push, sms or in_app: requested, or (on an outcome) the one used"),
)
_ORDER = _s("order", "order id")
_CART = _s("cart", "cart id")
_DEVICE = _s("device", "the device of the visit: app, mobile_web or desktop")
_ITEMS = _i("items", "units in the cart")
_VALUE = _n("value", "cart value (money)")
_TRACKING = (_ORDER, _s("carrier", "the carrier's display name"), _s("tracking", "the parcel's tracking number"))
_AD = (_s("ad", "ad id, s000182-a4"), _s("reason", "cart or browse: what the ad retargets"),
       _s("ref", "the cart id, or the visit id for browse"))

PAYLOADS: dict[str, Payload] = {
    # the run, shoppers and settings
    E.RUN_STARTED: Payload("the first line: what was run", (
        _s("scenario", "run.name of the scenario"),
        _s("description", "run.description, empty when not given"),
        _i("seed", "the root seed used"),
        _s("version", "shopsim version that wrote the log"),
        _at("start", "the instant of virtual time 0"),
        _s("duration", "the run's length as a normalised duration, 1d12h"),
        _i("shoppers", "population size"),
        _i("schema_version", "format version of the scenario file"),
    ), run_wide=True),
    E.RUN_FINISHED: Payload("the last line of a complete log", (
        _i("events", "lines in the log, this one included"),
        Field("counts", "object", "events per type, this line excluded", values="integer"),
        _i("shoppers", "population size"),
    ), run_wide=True),
    E.SHOPPER_CREATED: Payload("a shopper as she starts, all at time 0 in id order", (
        _s("name", "full name"),
        _s("email", "email address"),
        _s("phone", "phone number; null when she gave none", nullable=True),
        _s("city", "home city"),
        _s("country", "country code of the locale"),
        _s("locale", "Faker locale, a key of population.locales"),
        _s("tz", "IANA time zone"),
        _s("segment", "segment name"),
        _s("platform", "ios, android or web: the device she mostly uses"),
        Field("reach", "object", "which channels can reach her at all", shape=(
            _b("app", "has the app"), _b("email", "has a verified email address"),
            _b("phone", "has a phone number on file"))),
        _b("mail_proxy", "her mail app fetches every email through a privacy proxy"),
        Field("favourites", "array", "favourite product categories, sorted", items="string"),
        Field("settings", "object", "notification settings at creation", shape=_SETTINGS),
    )),
    E.SETTINGS_CHANGED: Payload("a shopper's settings changed; they apply from this event on", (
        Field("settings", "object", "her complete settings after the change", shape=_SETTINGS),
        _s("source", "scenario, user, unsubscribe or os_settings: who changed them"),
        Field("change", "object", "the patch that was applied, nested as settings"),
    )),
    E.EXPERIMENT_STARTED: Payload("an experiment's definition, at time 0", (
        _s("experiment", "the experiment's name"),
        _s("description", "its description, empty when not given"),
        _s("metric", "the shopper-level outcome the arms are compared on"),
        _s("control", "the arm the others are compared with"),
        Field("variants", "array", "each arm in file order", items="object", shape=(
            _s("name", "the arm's name"), _n("weight", "its relative share of shoppers"),
            _b("holdout", "receives none of the experiment's messages"),
            Field("flows", "array", "flows it receives", items="string"),
            Field("campaigns", "array", "campaigns it receives", items="string"),
            _b("ads", "whether it sees retargeting ads; null when the arm does not say", nullable=True))),
        Field("compare", "array", "the pairs of arms the scenario names (`compare:`), in file order; absent "
              "when it names none", items="object", required=False, shape=(
                  _s("variant", "the arm whose difference is reported"),
                  _s("against", "the arm it is measured against"))),
    ), run_wide=True),
    E.EXPERIMENT_ASSIGNED: Payload("a shopper's arm of an experiment", (
        _s("experiment", "the experiment's name"),
        _s("variant", "the arm she is in"),
    )),
    E.POLICY_CHANGED: Payload("the platform's caps or send windows changed (policies.changes); they apply from "
                              "this event on", (
        _s("policy", "the change, as the file names it: changes[0]"),
        _s("from", "its `from` as the file writes it (7d, or an instant)"),
        _s("preset", "the preset it took, null for none", nullable=True),
        Field("changed", "array", "the fields it set: caps, send_windows", items="string"),
        Field("caps", "array", "every cap in force from now on", items="object", shape=(
            _s("name", "how suppressions name the rule"), _s("channel", "the channel it counts"),
            _i("max", "at most this many marketing messages ..."),
            _s("per", "... in any rolling window this long, a normalised duration"),
            _s("category", "the only category it counts; null for all marketing", nullable=True))),
        Field("send_windows", "array", "every send window in force from now on", items="object", shape=(
            _s("name", "how deferrals name the rule"), _s("channel", "push or sms"),
            _s("start", "local time it opens, HH:MM"), _s("end", "local time it closes, HH:MM"),
            Field("classes", "array", "the classes of message it holds back", items="string"))),
    ), run_wide=True),
    # browsing and carts
    E.SESSION_STARTED: Payload("a visit begins", (
        _s("session", "visit id, s000001-v2"),
        _DEVICE,
        _s("source", "organic, scenario, or click:<id> of the message or ad that brought her"),
    )),
    E.PRODUCT_VIEWED: Payload("a product seen in a visit", (
        _s("session", "the visit"),
        _s("product", "product id"),
        _s("category", "the product's category"),
        _n("price", "the product's price (money)"),
    )),
    E.CART_ITEM_ADDED: Payload("the product viewed before went into the cart", (
        _CART,
        _s("product", "product id"),
        _n("price", "unit price (money)"),
        _i("qty", "units added"),
        _i("items", "units in the cart after the add"),
        _n("value", "cart value after the add (money)"),
        _DEVICE,
    )),
    E.CART_EMPTIED: Payload("she cleared an abandoned cart; it is closed", (
        _CART,
        _s("reason", "shopper"),
    )),
    E.CHECKOUT_STARTED: Payload("the decision at the end of a visit led to checkout", (
        _CART, _ITEMS, _VALUE, _DEVICE,
    )),
    E.CART_ABANDONED: Payload("the platform noticed a cart left unfinished", (
        _CART,
        _s("reason", "why she left this time"),
        _s("first_reason", "the reason of the cart's first abandonment"),
        _s("stage", "cart or checkout"),
        _DEVICE, _ITEMS, _VALUE,
        _n("shipping", "what the cart paid for shipping as she left it (money)"),
    )),
    E.SURVEY_ANSWERED: Payload("an exit survey's answer: why she says she left", (
        _CART,
        _s("answer", "the reason she gave"),
        _s("channel", "on_site, or the channel of the message that asked"),
    )),
    E.BROWSE_ABANDONED: Payload("a visit of enough views ended without a cart", (
        _s("session", "the visit"),
        _i("views", "product views in the visit"),
        Field("products", "array", "the distinct products viewed, first four", items="string"),
    )),
    E.PRODUCT_PRICE_CHANGED: Payload("a campaign changed a product's price", (
        _s("product", "product id"),
        _n("price", "the new price (money)"),
        _n("old_price", "the price until now (money)"),
        _s("source", "campaign:NAME"),
    ), run_wide=True),
    # orders
    E.ORDER_PLACED: Payload("a checkout became an order", (
        _ORDER,
        _s("cart", "the cart that became this order"),
        _s("currency", "ISO 4217 code of all money in the log"),
        Field("items", "array", "one line per product, in the order first added", items="object", shape=(
            _s("product", "product id"), _i("qty", "units"), _n("price", "unit price (money)"))),
        _n("subtotal", "price times qty, summed (money)"),
        _n("shipping", "shipping charged (money)"),
        _s("coupon", "the code of the coupon applied; null without one", nullable=True),
        _n("discount", "what the coupon took off (money)"),
        _n("total", "subtotal + shipping - discount (money)"),
        _s("attributed_to", "the notification or ad whose click led to the order; null for none", nullable=True),
        _DEVICE,
    )),
    E.PAYMENT_FAILED: Payload("a payment attempt was declined", (
        _ORDER, _i("attempt", "the attempt's number"), _s("reason", "card_declined"),
    )),
    E.PAYMENT_CONFIRMED: Payload("the order was paid", (
        _ORDER, _i("attempt", "1, or 2 after a payment.failed"), _n("amount", "amount charged (money)"),
    )),
    E.ORDER_CANCELLED: Payload("the order was cancelled", (_ORDER, _s("reason", "payment_failed"))),
    E.ORDER_PROCESSING: Payload("the order is being prepared", (_ORDER,)),
    E.ORDER_SHIPPED: Payload("the parcel left with its carrier", _TRACKING),
    E.SHIPMENT_IN_TRANSIT: Payload("the parcel is on its way", _TRACKING),
    E.SHIPMENT_OUT_FOR_DELIVERY: Payload("the parcel is out for delivery", _TRACKING),
    E.ORDER_DELIVERED: Payload("the parcel arrived", _TRACKING),
    E.DISPUTE_OPENED: Payload("she disputed the order", (
        _ORDER, _s("dispute", "dispute id, s000012-o1-d1"), _s("reason", "a key of orders.disputes.reasons"),
    )),
    E.REFUND_ISSUED: Payload("a dispute was refunded", (
        _ORDER, _s("dispute", "dispute id"), _n("amount", "the refund (money)"),
    )),
    # account
    E.ACCOUNT_NEW_SIGNIN: Payload("a sign-in from a new device", (
        _s("device", "the browser or app and its system"),
        _s("city", "the shopper's city"),
        _s("country", "the shopper's country code"),
    )),
    E.ACCOUNT_PASSWORD_CHANGED: Payload("her password changed", (
        _s("method", "user or reset_link"),
    )),
    # notifications
    E.NOTIFICATION_REQUESTED: Payload("a message was asked for on one channel", (
        *_NOTE,
        _s("kind", "what asked for it: an event type, message, cart_reminder, browse_reminder, campaign, digest"),
        _s("source", "who asked: order, account, scenario:events[i], flow:<flow>:<step>, campaign:<name>, "
                     "digest:daily or digest:weekly"),
        _s("ref", "the order, cart or visit the message is about; null otherwise", nullable=True),
    )),
    E.NOTIFICATION_DEFERRED: Payload("the pipeline held a message until a later time", (
        *_NOTE, _TRACE,
        _at("until", "when it is decided again"),
        _s("reason", "quiet_hours or send_window"),
        _s("rule", "quiet_hours, or send_windows[i]"),
    )),
    E.NOTIFICATION_DELIVERED: Payload("a message was sent", (
        *_NOTE, _TRACE,
        _s("title", "the email subject, or the push or in-app title; null for SMS", nullable=True),
        _s("body", "the rendered text"),
        _s("link", "where the message leads"),
        _s("rerouted_from", "the channel requested, for a critical message sent elsewhere", nullable=True),
        Field("digest_of", "array", "a digest's messages, in the order they joined; null otherwise",
              items="string", nullable=True),
        Field("dropped", "array", "a digest's messages dropped since they joined; null otherwise",
              items="object", nullable=True, shape=(
                  _s("id", "notification id"), _s("reason", "why it was dropped"),
                  _s("rule", "the setting that dropped it"))),
        _s("coupon", "the code of the coupon issued with the message", nullable=True),
        Field("coupons", "array", "a digest's coupons, issued as it went out; null otherwise",
              items="string", nullable=True),
    )),
    E.NOTIFICATION_DIGESTED: Payload("a message joined a digest", (
        *_NOTE, _TRACE,
        _s("digest", "the id of the digest it joined"),
        _at("at", "when that digest is due"),
    )),
    E.NOTIFICATION_SUPPRESSED: Payload("the pipeline did not send a message", (
        *_NOTE, _TRACE,
        _s("reason", "why it was not sent"),
        _s("rule", "the setting or policy that decided"),
    )),
    E.NOTIFICATION_OPENED: Payload("a delivered message was opened", (
        *_NOTE, _s("source", "shopper, user (a front end) or proxy (a mail privacy proxy)"),
    )),
    E.NOTIFICATION_CLICKED: Payload("she followed a message's link", _NOTE),
    E.NOTIFICATION_DISMISSED: Payload("she dismissed a push without opening it", _NOTE),
    E.NOTIFICATION_UNSUBSCRIBED: Payload("she unsubscribed through a message", (
        *_NOTE, _s("method", "link, list_unsubscribe or os_settings"),
    )),
    E.NOTIFICATION_COMPLAINED: Payload("she marked a marketing email as spam", _NOTE),
    # coupons
    E.COUPON_ISSUED: Payload("a message came with a coupon", (
        _s("coupon", "the code, PREFIX-XXXXXX"),
        _s("kind", "percent, fixed or free_shipping"),
        _n("value", "the percentage off, or the amount off (money)"),
        _n("min_order", "the smallest subtotal it applies to (money)"),
        _at("expires", "when it stops working"),
        _s("source", "what offered it, as the message's source"),
        _b("auto_apply", "the platform applies it at checkout even unseen"),
    )),
    E.COUPON_SEEN: Payload("she learnt of a coupon", (
        _s("coupon", "the code"), _s("via", "how she saw it"),
    )),
    E.COUPON_REDEEMED: Payload("an order used a coupon", (
        _s("coupon", "the code"), _ORDER, _n("discount", "what it took off (money)"),
    )),
    E.COUPON_EXPIRED: Payload("a coupon stopped working unused", (_s("coupon", "the code"),)),
    # ads
    E.AD_IMPRESSION: Payload("a retargeting ad was shown", (
        *_AD, Field("products", "array", "the products the ad shows", items="string"),
    )),
    E.AD_CLICKED: Payload("she clicked a retargeting ad", _AD),
}
