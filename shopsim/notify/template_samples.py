"""Sample template contexts: realistic, deliberately long values for every kind of every category.

`shopsim validate` renders each scenario template override against its category's samples, and the tests
render every shipped template against all of them (SMS within 160 characters, push titles short).
"""

from __future__ import annotations

from typing import Any

from shopsim.contract.taxonomy import DIGEST


def _ctx(category: str, kind: str, **fields: Any) -> dict:
    base = {
        "kind": kind, "category": category, "channel": "email",
        "shopper": {"name": "Maximilian Schwarzenberger-Hohenstein", "first_name": "Maximilian",
                    "email": "maximilian.schwarzenberger@example.de", "city": "Mönchengladbach",
                    "country": "Germany"},
        "locale": "de_DE", "currency": "EUR",
        "link": "https://shop.example/orders/s000123-o4",
        "order": None, "carrier": None, "tracking": None, "tracking_link": None, "payment": None,
        "cancel_reason": None, "dispute": None, "refund": None, "signin": None, "password": None,
        "offer": None, "digest": None, "cart": None, "coupon": None, "products": None,
    }
    base.update(fields)
    return base


_ITEMS = [
    {"name": "Wireless Bluetooth 5.3 Noise Cancelling Over-Ear Headphones with 60h Battery Life",
     "qty": 1, "price": 1249.99},
    {"name": "Stainless Steel Insulated Water Bottle 1L, Leak-Proof, Keeps Drinks Cold for 24 Hours",
     "qty": 2, "price": 18.45},
    {"name": "USB-C to Lightning Braided Charging Cable 2m (3-Pack)", "qty": 3, "price": 7.9},
]


def _order(oid: str, items: list[dict], shipping: float, discount: float = 0.0, coupon: str | None = None) -> dict:
    subtotal = round(sum(i["qty"] * i["price"] for i in items), 2)
    return {"id": oid, "items": items, "item_count": sum(i["qty"] for i in items),
            "first_item": items[0]["name"], "subtotal": subtotal, "shipping": shipping, "discount": discount,
            "coupon": coupon, "total": round(subtotal + shipping - discount, 2)}


_ORDER = _order("S000123-O4", _ITEMS, 4.99, 13.32, "CART-8F3K2Q")
_ORDER_ONE = _order("S004567-O12", _ITEMS[1:2], 0.0)
_TRACK = {"carrier": "Cainiao Super Economy Global", "tracking": "LP00512345678901234CN",
          "tracking_link": "https://shop.example/track/LP00512345678901234CN"}

_ORDER_LINK = {"link": "https://shop.example/orders/s000123-o4"}
_BR = {"locale": "pt_BR", "currency": "BRL",
       "shopper": {"name": "Maria Eduarda Albuquerque dos Santos", "first_name": "Maria Eduarda",
                   "email": "maria.eduarda.albuquerque@example.com.br", "city": "São José dos Campos",
                   "country": "Brasil"}}
_PL = {"locale": "pl_PL", "currency": "PLN",
       "shopper": {"name": "Katarzyna Wiśniewska-Grzybowska", "first_name": "Katarzyna",
                   "email": "k.wisniewska-grzybowska@example.pl", "city": "Bielsko-Biała", "country": "Polska"}}
_US = {"locale": "en_US", "currency": "USD",
       "shopper": {"name": "Christopher Montgomery-Whitfield", "first_name": "Christopher",
                   "email": "christopher.montgomery-whitfield@example.com", "city": "San Francisco",
                   "country": "United States"}}
_JP = {"locale": "ja_JP", "currency": "JPY",
       "shopper": {"name": "Takahashi Kazuhiro", "first_name": "Kazuhiro", "email": "k.takahashi@example.jp",
                   "city": "Sagamihara", "country": "Japan"}}
_FR = {"locale": "fr_FR", "currency": "EUR",
       "shopper": {"name": "Marie-Antoinette Dubois-Lefèvre", "first_name": "Marie-Antoinette",
                   "email": "marie-antoinette.dubois@example.fr", "city": "Boulogne-Billancourt",
                   "country": "France"}}
_ES = {"locale": "es_ES", "currency": "EUR",
       "shopper": {"name": "José Antonio Fernández de Córdoba", "first_name": "José Antonio",
                   "email": "jose.antonio.fernandez@example.es", "city": "Alcalá de Henares", "country": "España"}}

_DIGEST_ITEMS = [
    {"category": "promotions", "title": "Spring Mega Sale: up to 70% off home & garden",
     "body": "Thousands of deals on furniture, lighting and outdoor essentials, this week only.",
     "link": "https://shop.example/promo/spring-mega-sale"},
    {"category": "recommendations", "title": "Picked for you: Mechanical Keyboard with Hot-Swappable Switches",
     "body": "Based on what you viewed recently.", "link": "https://shop.example/item/100045"},
    {"category": "new_product_alerts", "title": "Price drop: Stainless Steel Insulated Water Bottle 1L",
     "body": "Now 18% cheaper than when you saved it.", "link": "https://shop.example/item/100871"},
    {"category": "flash_sales", "title": "Flash sale: 2 hours left on smart watches",
     "body": "Ends at midnight.", "link": "https://shop.example/flash/watches"},
    {"category": "cart_reminders", "title": "Your cart misses you",
     "body": "3 items are still waiting.", "link": "https://shop.example/cart"},
    {"category": "promotions", "title": "Free shipping on orders over €20 this weekend",
     "body": "No code needed.", "link": "https://shop.example/promo/free-shipping"},
    {"category": "recommendations", "title": "More from Xiaomi Official Store",
     "body": "New arrivals you might like.", "link": "https://shop.example/store/8812"},
]


# Marketing flows and campaigns: carts, coupons (unique codes) and the products a message is about.

def _cart(cid: str, items: list[dict]) -> dict:
    return {"id": cid, "items": items, "item_count": sum(i["qty"] for i in items), "first_item": items[0]["name"],
            "value": round(sum(i["qty"] * i["price"] for i in items), 2)}


_CART_ITEMS = [
    *_ITEMS,
    {"name": "Portable Neck Fan, Bladeless, 3 Speeds, 4000 mAh USB-C Rechargeable, Hands-Free Cooling",
     "qty": 1, "price": 21.37},
]
_CART_FOUR = _cart("S000123-C7", _CART_ITEMS)
_CART_ONE = _cart("S004567-C2", _ITEMS[1:2])
_CART_JP = _cart("S007001-C1", [
    {"name": "Ceramic Non-Stick Frying Pan 28 cm with Removable Handle", "qty": 1, "price": 3480.0},
    {"name": "Bamboo Cutting Board Set of 3 with Juice Grooves", "qty": 2, "price": 1290.0},
])


def _coupon(code: str, kind: str, value: float, min_order: float, expires_local: str, valid_hours: int) -> dict:
    return {"code": code, "type": kind, "value": value, "min_order": min_order, "expires_local": expires_local,
            "valid_hours": valid_hours}


_PERCENT = _coupon("SAVE-8F3K2Q", "percent", 10.0, 0.0, "Tue 3 Mar, 14:00", 48)
_PERCENT_MIN = _coupon("PICKS-H7R2M9XW", "percent", 12.5, 50.0, "Sun 15 Mar, 23:59", 72)
_FIXED = _coupon("COMEBACK-X7Q9M2LP", "fixed", 15.0, 100.0, "Wed 11 Mar, 09:30", 72)
_FIXED_JP = _coupon("SAVE-J4N8", "fixed", 500.0, 3000.0, "Fri 6 Mar, 21:00", 24)
_FREE_SHIPPING = _coupon("FREESHIP-4KD9ZT", "free_shipping", 0.0, 30.0, "Mon 9 Mar, 18:45", 48)
_FLASH_COUPON = _coupon("FLASH-Q2W8E4", "fixed", 20.0, 0.0, "Sat 7 Mar, 23:59", 6)


def _product(name: str, price: float, category: str, old_price: float | None = None) -> dict:
    return {"name": name, "price": price, "old_price": old_price, "category": category}


_VIEWED = [
    _product("Mechanical Gaming Keyboard with Hot-Swappable RGB Switches, 75% Layout, Wireless Tri-Mode", 89.99,
             "Computer Accessories"),
    _product("Ergonomic Vertical Wireless Mouse, 6 Buttons, Rechargeable, Silent Clicks", 24.5,
             "Computer Accessories"),
    _product("XXL Extended Gaming Mouse Pad 900 x 400 mm with Stitched Edges, Non-Slip Rubber Base", 12.99,
             "Computer Accessories"),
]
_DROPS = [
    _product("Stainless Steel Insulated Water Bottle 1L, Leak-Proof, Keeps Drinks Cold for 24 Hours", 9.99,
             "Sports & Outdoors", 14.99),
    _product("Wireless Bluetooth 5.3 Noise Cancelling Over-Ear Headphones with 60h Battery Life", 999.0,
             "Consumer Electronics", 1249.99),
]
_BACK = [_product("Wireless Bluetooth 5.3 Noise Cancelling Over-Ear Headphones with 60h Battery Life", 1249.99,
                  "Consumer Electronics")]
_NEW = [
    _product("Xiaomi Smart Band 9 Pro, 1.74\" AMOLED Display, GPS, 21-Day Battery, 150+ Sports Modes", 79.9,
             "Wearables"),
    _product("Xiaomi Robot Vacuum S20+ with Auto-Empty Station and Mopping, 6000 Pa Suction", 449.0,
             "Home Appliances"),
    _product("Xiaomi Electric Scooter 4 Lite (2nd Gen), 25 km Range, Foldable", 349.0, "Sports & Outdoors"),
    _product("Xiaomi 67W GaN Charger with USB-C Cable, Compact Foldable Plug", 24.99, "Phone Accessories"),
]

_NEW_JP = [dict(p, price=float(round(p["price"] * 160, -1))) for p in _NEW]


def _offer(title: str | None = None, text: str | None = None, code: str | None = None,
           ends_local: str | None = None) -> dict:
    return {"title": title, "text": text, "code": code, "ends_local": ends_local}


def _marketing() -> dict[str, list[tuple[str, dict]]]:
    cr, pr, fl, rec, npa = ("cart_reminders", "promotions", "flash_sales", "recommendations",
                            "new_product_alerts")
    cart_link = {"link": "https://shop.example/cart"}
    return {
        cr: [
            ("cart_reminder (1 item, no coupon, no offer)",
             _ctx(cr, "cart_reminder", cart=_CART_ONE, **cart_link)),
            ("cart_reminder (4 items, percent coupon, offer without title or text)",
             _ctx(cr, "cart_reminder", cart=_CART_FOUR, coupon=_PERCENT, offer=_offer(), **cart_link, **_US)),
            ("cart_reminder (4 items, fixed coupon with minimum order)",
             _ctx(cr, "cart_reminder", cart=_CART_FOUR, coupon=_FIXED, **cart_link, **_PL)),
            ("cart_reminder (1 item, free shipping coupon, offer with title and text)",
             _ctx(cr, "cart_reminder", cart=_CART_ONE, coupon=_FREE_SHIPPING, **cart_link, **_BR,
                  offer=_offer("Last chance: your cart expires soon, and so does free shipping",
                               "We've held your items as long as we can. Check out today and shipping is on us."))),
            ("cart_reminder (2 items, yen coupon)",
             _ctx(cr, "cart_reminder", cart=_CART_JP, coupon=_FIXED_JP, **cart_link, **_JP)),
        ],
        pr: [
            ("campaign (percent coupon with minimum order)",
             _ctx(pr, "campaign", coupon=_PERCENT_MIN, link="https://shop.example/promotions", **_FR,
                  offer=_offer("Spring Mega Sale: up to 70% off home, garden and outdoor living",
                               "Thousands of deals on furniture, lighting, tools and outdoor essentials."))),
            ("campaign (no text, no coupon, 4 products)",
             _ctx(pr, "campaign", products=_NEW, link="https://shop.example/promotions", **_ES,
                  offer=_offer("Weekend deals from the stores you follow: smart home, wearables and more"))),
        ],
        fl: [
            ("campaign (flash sale, ends_local, fixed coupon, 2 products)",
             _ctx(fl, "campaign", coupon=_FLASH_COUPON, products=_DROPS, link="https://shop.example/flash-sales",
                  **_PL, offer=_offer("Midnight Madness – audio and outdoor gear at their lowest prices of the year",
                                      "Prices drop for six hours only.", ends_local="Sat 7 Mar, 23:59"))),
            ("campaign (flash sale, ends_local, no coupon, text repeats the title)",
             _ctx(fl, "campaign", link="https://shop.example/flash-sales", **_US,
                  offer=_offer("Smart watches from $19.99", "Smart watches from $19.99", ends_local="Wed 4 Mar, 20:00"))),
        ],
        rec: [
            ("browse_reminder (3 products viewed, no offer)",
             _ctx(rec, "browse_reminder", products=_VIEWED, link="https://shop.example/recommendations")),
            ("browse_reminder (1 product viewed, percent coupon with minimum order)",
             _ctx(rec, "browse_reminder", products=_VIEWED[:1], coupon=_PERCENT_MIN, offer=_offer(),
                  link="https://shop.example/recommendations", **_BR)),
            ("campaign (recommendations, 3 products)",
             _ctx(rec, "campaign", products=_VIEWED, link="https://shop.example/recommendations", **_US,
                  offer=_offer("Picked for you: keyboards, mice and desk gear for your setup",
                               "Based on what you browsed and bought in the last 30 days."))),
        ],
        npa: [
            ("browse_reminder (price drop on 2 viewed products)",
             _ctx(npa, "browse_reminder", products=_DROPS, link="https://shop.example/new-product-alerts", **_US)),
            ("browse_reminder (1 viewed product, free shipping coupon)",
             _ctx(npa, "browse_reminder", products=_BACK, coupon=_FREE_SHIPPING,
                  link="https://shop.example/new-product-alerts", **_BR)),
            ("campaign (price drop, 1 product)",
             _ctx(npa, "campaign", products=_DROPS[:1], link="https://shop.example/new-product-alerts", **_FR,
                  offer=_offer("Price drop on an item you saved"))),
            ("campaign (back in stock, percent coupon)",
             _ctx(npa, "campaign", products=_BACK, coupon=_PERCENT, link="https://shop.example/new-product-alerts",
                  **_PL, offer=_offer("Back in stock: an item you were waiting for",
                                      "It sold out fast last time."))),
            ("campaign (new arrivals, 4 products, no title)",
             _ctx(npa, "campaign", products=_NEW_JP, link="https://shop.example/new-product-alerts", **_JP,
                  offer=_offer())),
        ],
    }


_MARKETING = _marketing()


def _samples() -> tuple[dict[str, list[dict]], dict[str, list[str]]]:
    s: dict[str, list[tuple[str, dict]]] = {}
    o = "order_updates"
    s[o] = [
        ("order.placed", _ctx(o, "order.placed", order=_ORDER, **_ORDER_LINK)),
        ("payment.confirmed", _ctx(o, "payment.confirmed", order=_ORDER_ONE,
                                   payment={"attempt": 1, "amount": 18.45 * 2, "reason": None}, **_US)),
        ("payment.failed", _ctx(o, "payment.failed", order=_ORDER,
                                payment={"attempt": 2, "amount": None, "reason": "insufficient_funds"}, **_BR)),
        ("order.cancelled", _ctx(o, "order.cancelled", order=_ORDER, cancel_reason="payment_not_completed",
                                 **_PL)),
        ("order.processing", _ctx(o, "order.processing", order=_ORDER_ONE, **_JP)),
    ]
    sh = "shipping"
    s[sh] = [
        ("order.shipped", _ctx(sh, "order.shipped", order=_ORDER, **_TRACK)),
        ("shipment.in_transit", _ctx(sh, "shipment.in_transit", order=_ORDER, **_TRACK, **_BR)),
        ("shipment.out_for_delivery", _ctx(sh, "shipment.out_for_delivery", order=_ORDER_ONE, **_TRACK,
                                           **_FR)),
        ("order.delivered", _ctx(sh, "order.delivered", order=_ORDER, **_TRACK, **_ES)),
    ]
    cs = "customer_service"
    s[cs] = [
        ("dispute.opened", _ctx(cs, "dispute.opened", order=_ORDER,
                                dispute={"id": "D-000123-0004", "reason": "not_as_described"},
                                link="https://shop.example/disputes/D-000123-0004", **_PL)),
        ("refund.issued", _ctx(cs, "refund.issued", order=_ORDER, refund={"amount": 1249.99},
                               dispute={"id": "D-000123-0004", "reason": "damaged"}, **_BR)),
    ]
    acc = "account_security"
    s[acc] = [
        ("account.new_signin", _ctx(acc, "account.new_signin",
                                    signin={"device": "Chrome 124 on Windows 11 (Desktop)",
                                            "city": "Kuala Lumpur", "country": "Malaysia"},
                                    link="https://shop.example/account/security", **_US)),
        ("account.password_changed", _ctx(acc, "account.password_changed", password={"method": "reset_link"},
                                          link="https://shop.example/account/security", **_FR)),
    ]
    offer_code = {"title": "Spring Mega Sale: up to 70% off home, garden and outdoor living",
                  "text": "Thousands of deals on furniture, lighting, tools and outdoor essentials. "
                          "Stack an extra coupon on orders over €50.",
                  "code": "SPRINGMEGA25"}
    offer_plain = {"title": "Free shipping on everything this weekend",
                   "text": "No minimum order. Applies automatically at checkout.", "code": None}
    texts = {
        "promotions": (offer_code, offer_plain),
        "flash_sales": ({"title": "Flash deal: smart watches from €19.99, only 2 hours left",
                         "text": "Limited stock at these prices; once they're gone, they're gone.",
                         "code": "FLASH2HRS"},
                        {"title": "Midnight flash sale: headphones up to 60% off",
                         "text": "Starts now, ends at 23:59 tonight.", "code": None}),
        "recommendations": ({"title": "Picked for you: Mechanical Keyboard with Hot-Swappable RGB Switches",
                             "text": "Based on the keyboards and mice you browsed this week.",
                             "code": "PICKS10OFF"},
                            {"title": "More from Xiaomi Official Store, a store you follow",
                             "text": "New arrivals and bestsellers we think you'll like.", "code": None}),
        "new_product_alerts": ({"title": "Price drop: Stainless Steel Insulated Water Bottle 1L, now 18% off",
                                "text": "An item on your wish list just got cheaper.", "code": "BOTTLE5"},
                               {"title": "Back in stock: Wireless Noise Cancelling Headphones",
                                "text": "The item you were waiting for is available again; stock is limited.",
                                "code": None}),
        "cart_reminders": ({"title": "You left something in your cart",
                            "text": "Your items are still waiting, and they're selling fast.",
                            "code": "COMEBACK5"},
                           {"title": "Still thinking it over?",
                            "text": "Complete your order before prices change.", "code": None}),
    }
    for cat, (with_code, without) in texts.items():
        link = "https://shop.example/cart" if cat == "cart_reminders" else "https://shop.example/promo/spring-mega-sale"
        first = _ctx(cat, "message", offer=dict(with_code, ends_local=None), link=link, **_US)
        second = _ctx(cat, "message", offer=dict(without, ends_local=None), link=link, **_BR)
        if cat == "cart_reminders":
            first["order"] = _ORDER  # the cart's contents
        s[cat] = [("message (with code)", first),
                  ("message (no code)" + (", no cart" if cat == "cart_reminders" else ""), second),
                  *_MARKETING[cat]]
    s[DIGEST] = [
        ("digest (daily, 3 items)", _ctx(DIGEST, "digest", link="https://shop.example/notifications",
                                         digest={"period": "daily", "items": _DIGEST_ITEMS[:3], "count": 3})),
        ("digest (weekly, 7 items)", _ctx(DIGEST, "digest", link="https://shop.example/notifications",
                                          digest={"period": "weekly", "items": _DIGEST_ITEMS, "count": 7},
                                          **_BR)),
        ("digest (daily, 1 item)", _ctx(DIGEST, "digest", link="https://shop.example/notifications",
                                        digest={"period": "daily", "items": _DIGEST_ITEMS[1:2], "count": 1},
                                        **_JP)),
    ]
    return ({cat: [c for _, c in rows] for cat, rows in s.items()},
            {cat: [lb for lb, _ in rows] for cat, rows in s.items()})


SAMPLES, SAMPLE_LABELS = _samples()
"""SAMPLES: category -> realistic sample contexts (one per kind; for marketing categories two scripted
messages, with and without a code, then cart reminders, browse reminders and campaigns with and without
coupons; three digests). SAMPLE_LABELS names them in the same order, for problem messages."""
