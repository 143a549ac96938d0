"""Notification templates: the shipped defaults, overrides, the sandbox, money formatting and validation."""

from __future__ import annotations

import copy
import random
import tomllib
from decimal import Decimal

import pytest
import yaml
from babel.numbers import format_currency

from shopsim.notify.filters import discount, format_money, shorten
from shopsim.notify.template_checks import check_templates
from shopsim.notify.template_samples import SAMPLE_LABELS, SAMPLES
from shopsim.notify.templates import PARTS, SMS_LIMIT, TEMPLATE_CATEGORIES, TemplateError, Templates, default_sources
from shopsim.notify import context
from shopsim.contract.taxonomy import CATEGORIES, CHANNELS, MARKETING_CATEGORIES

from helpers.paths import ROOT

NBSP = "\xa0"


@pytest.fixture(scope="module")
def tpl() -> Templates:
    return Templates.load()


def cases():
    for cat in TEMPLATE_CATEGORIES:
        for label, sample in zip(SAMPLE_LABELS[cat], SAMPLES[cat]):
            for ch in CHANNELS:
                yield pytest.param(cat, ch, dict(sample, channel=ch), id=f"{cat}-{ch}-{label}")


def problems_for(category: str, channel: str, part: str, source: str):
    return check_templates({category: {channel: {part: source}}})


def code_of(sample: dict) -> str | None:
    """The code a marketing message carries: its coupon's, else its offer's."""
    if sample["coupon"]:
        return sample["coupon"]["code"]
    return sample["offer"]["code"] if sample["offer"] else None


# ------------------------------------------------------------------------------------ shipped defaults

def test_every_category_has_a_template_file_with_all_channels_and_parts():
    folder = ROOT / "shopsim" / "notify" / "templates"
    assert set(TEMPLATE_CATEGORIES) == {*CATEGORIES, "digest"}
    assert sorted(p.stem for p in folder.glob("*.yaml")) == sorted(TEMPLATE_CATEGORIES)
    for cat in TEMPLATE_CATEGORIES:
        data = yaml.safe_load((folder / f"{cat}.yaml").read_text(encoding="utf-8"))
        assert set(data) == set(CHANNELS), cat
        for ch in CHANNELS:
            assert set(data[ch]) == set(PARTS[ch]), (cat, ch)
            assert all(isinstance(src, str) and src.strip() for src in data[ch].values()), (cat, ch)


def test_templates_are_package_data():
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "templates/*.yaml" in conf["tool"]["setuptools"]["package-data"]["shopsim.notify"]


def test_samples_cover_every_kind_of_every_category():
    kinds = {
        "order_updates": {"order.placed", "payment.confirmed", "payment.failed", "order.cancelled",
                          "order.processing"},
        "shipping": {"order.shipped", "shipment.in_transit", "shipment.out_for_delivery", "order.delivered"},
        "customer_service": {"dispute.opened", "refund.issued"},
        "account_security": {"account.new_signin", "account.password_changed"},
        "digest": {"digest"},
        "cart_reminders": {"message", "cart_reminder"},
        "promotions": {"message", "campaign"},
        "flash_sales": {"message", "campaign"},
        "recommendations": {"message", "browse_reminder", "campaign"},
        "new_product_alerts": {"message", "browse_reminder", "campaign"},
    }
    assert set(SAMPLES) == set(TEMPLATE_CATEGORIES)
    for cat in TEMPLATE_CATEGORIES:
        assert {s["kind"] for s in SAMPLES[cat]} == kinds[cat], cat
        assert len(SAMPLE_LABELS[cat]) == len(SAMPLES[cat]) == len(set(SAMPLE_LABELS[cat]))
        for s in SAMPLES[cat]:
            assert s["category"] == cat
    # Marketing samples come with and without a code; cart reminders also without a cart.
    for cat in MARKETING_CATEGORIES:
        assert {bool(code_of(s)) for s in SAMPLES[cat]} == {True, False}
    assert {s["order"] is None for s in SAMPLES["cart_reminders"]} == {True, False}


def test_samples_have_the_keys_real_contexts_have():
    # build_context gives every context these keys (None when they don't apply); overrides are checked
    # against the samples, so a key missing here would pass validation and fail at run time, or the reverse.
    keys = {"kind", "category", "channel", "locale", "currency", "link", "shopper", *context._EMPTY}
    assert {"cart", "coupon", "products"} <= set(context._EMPTY)
    for cat in TEMPLATE_CATEGORIES:
        for label, s in zip(SAMPLE_LABELS[cat], SAMPLES[cat]):
            assert set(s) == keys, (cat, label)
            if s["offer"] is not None:
                assert set(s["offer"]) == {"title", "text", "code", "ends_local"}, (cat, label)
            if s["coupon"] is not None:
                assert s["offer"] is None or s["offer"]["code"] is None, (cat, label)


def test_marketing_samples_cover_carts_coupons_and_products():
    carts = [s for s in SAMPLES["cart_reminders"] if s["kind"] == "cart_reminder"]
    assert all(s["cart"] for s in carts)
    assert {len(s["cart"]["items"]) for s in carts} >= {1, 4}
    assert {s["coupon"]["type"] if s["coupon"] else None for s in carts} == {None, "percent", "fixed", "free_shipping"}
    assert {s["offer"] is None for s in carts} == {True, False}
    for s in carts:
        cart = s["cart"]
        assert cart["value"] == round(sum(i["qty"] * i["price"] for i in cart["items"]), 2)
        assert cart["item_count"] == sum(i["qty"] for i in cart["items"])
        assert cart["first_item"] == cart["items"][0]["name"]
    for cat in ("recommendations", "new_product_alerts"):
        assert all(s["products"] for s in SAMPLES[cat] if s["kind"] == "browse_reminder"), cat
    assert any(len(s["products"] or ()) == 3 for s in SAMPLES["recommendations"] if s["kind"] == "campaign")
    assert any(p["old_price"] for s in SAMPLES["new_product_alerts"] for p in s["products"] or ())
    assert any(s["offer"]["ends_local"] for s in SAMPLES["flash_sales"] if s["kind"] == "campaign")
    for cat in MARKETING_CATEGORIES:
        for s in SAMPLES[cat]:
            if s["kind"] == "campaign":
                assert s["offer"] is not None, cat
            for c in (s["coupon"],) if s["coupon"] else ():
                assert set(c) == {"code", "type", "value", "min_order", "expires_local", "valid_hours"}


def test_shipped_defaults_pass_their_own_checks():
    assert check_templates(default_sources()) == []


@pytest.mark.parametrize(("category", "channel", "ctx"), list(cases()))
def test_every_default_renders_every_sample(tpl, category, channel, ctx):
    before = sum(tpl.fallbacks.values())
    title, body = tpl.render(category, channel, ctx)
    assert sum(tpl.fallbacks.values()) == before, "a shipped default fell back"
    assert body and body == body.strip()
    if channel == "sms":
        assert title is None
        assert len(body) <= SMS_LIMIT
    else:
        assert title and "\n" not in title
    if channel == "push":
        assert len(title) <= 50
        assert len(body) <= 120
    if channel == "email":
        assert "\n\n\n" not in body
        assert body.splitlines()[-1].rstrip().endswith(ctx["link"]) or (
            ctx["tracking_link"] and body.splitlines()[-1].endswith(ctx["tracking_link"]))
        assert body.startswith(f"Hi {ctx['shopper']['first_name']},")
    for text in (title or "", body):
        assert "None" not in text and "{{" not in text and "{%" not in text


def test_defaults_personalise_with_items_prices_and_tracking(tpl):
    shipped = SAMPLES["shipping"][0]
    subject, body = tpl.render("shipping", "email", shipped)
    assert shipped["order"]["id"] in subject
    assert "and 2 more items" in body
    assert shipped["tracking"] in body and shipped["tracking_link"] in body
    _, sms = tpl.render("shipping", "sms", dict(shipped, channel="sms"))
    assert shipped["tracking"] in sms
    placed = SAMPLES["order_updates"][0]  # de_DE / EUR
    _, body = tpl.render("order_updates", "email", placed)
    assert f"1.302,26{NBSP}€" in body and f"Discount (CART-8F3K2Q): -13,32{NBSP}€" in body


def test_security_messages_say_what_to_do_if_it_was_not_them(tpl):
    for sample in SAMPLES["account_security"]:
        for ch in CHANNELS:
            _, body = tpl.render("account_security", ch, dict(sample, channel=ch))
            assert "wasn't" in body or "Not you" in body, (sample["kind"], ch)


def test_marketing_mentions_the_code_only_when_there_is_one(tpl):
    for cat in MARKETING_CATEGORIES:
        for sample in SAMPLES[cat]:
            for ch in CHANNELS:
                title, body = tpl.render(cat, ch, dict(sample, channel=ch))
                code = code_of(sample)
                if code:
                    assert code in body, (cat, ch)
                else:
                    assert "code" not in body.lower().replace("no code needed", ""), (cat, ch)


def test_a_cart_reminder_with_a_coupon_shows_the_code_and_expiry_everywhere(tpl):
    samples = [s for s in SAMPLES["cart_reminders"] if s["kind"] == "cart_reminder" and s["coupon"]]
    assert len(samples) >= 3
    for sample in samples:
        coupon = sample["coupon"]
        for ch in CHANNELS:
            ctx = dict(sample, channel=ch)
            title, body = tpl.render("cart_reminders", ch, ctx)
            assert coupon["code"] in body and coupon["expires_local"] in body, (ch, coupon["type"])
            if ch != "sms":
                assert title
        # The email spells out the deal, minimum order included, and lists the cart.
        _, email = tpl.render("cart_reminders", "email", sample)
        assert discount(sample, coupon) in email  # the filter reads currency and locale off the context
        if coupon["min_order"]:
            assert format_money(coupon["min_order"], sample["currency"], sample["locale"]) in email
        assert format_money(sample["cart"]["value"], sample["currency"], sample["locale"]) in email


def test_a_cart_reminder_names_the_cart_and_the_shopper(tpl):
    sample = next(s for s in SAMPLES["cart_reminders"]
                  if s["kind"] == "cart_reminder" and len(s["cart"]["items"]) == 4 and s["coupon"]
                  and s["coupon"]["type"] == "percent")
    title, body = tpl.render("cart_reminders", "push", dict(sample, channel="push"))
    first = sample["shopper"]["first_name"]
    assert title == f"{first}, here's 10% off your cart"
    assert body.startswith("Your cart with Wireless") and " and 3 more is waiting." in body
    subject, _ = tpl.render("cart_reminders", "email", sample)
    assert subject == f"{first}, here's 10% off your cart"
    plain = next(s for s in SAMPLES["cart_reminders"] if s["kind"] == "cart_reminder" and not s["coupon"])
    title, _ = tpl.render("cart_reminders", "push", dict(plain, channel="push"))
    assert title == f"Still thinking it over, {plain['shopper']['first_name']}?"


def test_a_price_drop_shows_both_prices(tpl):
    samples = [s for s in SAMPLES["new_product_alerts"] if any(p["old_price"] for p in s["products"] or ())]
    assert {s["kind"] for s in samples} == {"browse_reminder", "campaign"}
    for sample in samples:
        drop = next(p for p in sample["products"] if p["old_price"])
        now, was = (format_money(x, sample["currency"], sample["locale"]) for x in (drop["price"], drop["old_price"]))
        for ch in CHANNELS:
            _, body = tpl.render("new_product_alerts", ch, dict(sample, channel=ch))
            assert f"now {now} (was {was})" in body, ch


def test_products_are_listed_with_their_prices(tpl):
    for cat in ("recommendations", "new_product_alerts", "promotions", "flash_sales"):
        for sample in SAMPLES[cat]:
            if not sample["products"]:
                continue
            _, email = tpl.render(cat, "email", sample)
            assert email.count("\n• ") == min(len(sample["products"]), 6), cat
            for p in sample["products"][:6]:
                assert format_money(p["price"], sample["currency"], sample["locale"]) in email, (cat, p["name"])


def test_flash_sales_say_when_they_end(tpl):
    for sample in SAMPLES["flash_sales"]:
        ends = sample["offer"]["ends_local"]
        for ch in CHANNELS:
            _, body = tpl.render("flash_sales", ch, dict(sample, channel=ch))
            if ends:
                assert ends in body, ch
    # Scripted offers may come without the ends_local key at all.
    scripted = SAMPLES["flash_sales"][0]
    offer = {k: v for k, v in scripted["offer"].items() if k != "ends_local"}
    t = Templates.load()
    for ch in CHANNELS:
        t.render("flash_sales", ch, dict(scripted, channel=ch, offer=offer))
    assert not t.fallbacks


def test_a_text_that_repeats_the_title_is_said_once(tpl):
    # Campaigns and scripted messages without a text use the title as the text.
    samples = [(cat, s) for cat in MARKETING_CATEGORIES for s in SAMPLES[cat]
               if s["offer"] and s["offer"]["title"] and s["offer"]["text"] == s["offer"]["title"]]
    assert samples
    for cat in MARKETING_CATEGORIES:
        sample = dict(SAMPLES[cat][0], offer=dict(SAMPLES[cat][0]["offer"], text=SAMPLES[cat][0]["offer"]["title"]))
        samples.append((cat, sample))
    for cat, sample in samples:
        title = sample["offer"]["title"]
        _, email = tpl.render(cat, "email", sample)
        assert email.count(title) <= 1, (cat, email)
        for ch in ("push", "in_app"):
            _, body = tpl.render(cat, ch, dict(sample, channel=ch))
            assert title not in body, (cat, ch, body)


def test_marketing_templates_render_every_marketing_sample(tpl):
    # A flow or campaign may be set up in any marketing category: every template copes with every shape.
    t = Templates.load()
    for cat in MARKETING_CATEGORIES:
        for other in MARKETING_CATEGORIES:
            for sample in SAMPLES[other]:
                for ch in CHANNELS:
                    title, body = t.render(cat, ch, dict(sample, category=cat, channel=ch))
                    assert "None" not in (title or "") + body, (cat, other, ch)
                    if ch == "push":
                        assert len(title) <= 50 and len(body) <= 120, (cat, other, title, body)
                    if ch == "sms":
                        assert len(body) <= SMS_LIMIT
    assert not t.fallbacks


def test_digest_lists_items_and_summarises(tpl):
    sample = SAMPLES["digest"][0]
    _, email = tpl.render("digest", "email", sample)
    for item in sample["digest"]["items"]:
        assert item["title"] in email and item["link"] in email
    _, push = tpl.render("digest", "push", dict(sample, channel="push"))
    assert push.startswith("3 updates: ")
    _, sms = tpl.render("digest", "sms", dict(sample, channel="sms"))
    assert sms.startswith("3 updates: ")
    one = SAMPLES["digest"][2]
    assert tpl.render("digest", "sms", dict(one, channel="sms"))[1].startswith("1 update: ")


# ------------------------------------------------------------------------------------------- filters

@pytest.mark.parametrize(("amount", "currency", "locale", "expected"), [
    (12.5, "USD", "en_US", "$12.50"),
    (1234.5, "USD", "en_US", "$1,234.50"),
    (12.5, "EUR", "de_DE", f"12,50{NBSP}€"),
    (1234.5, "EUR", "de_DE", f"1.234,50{NBSP}€"),
    (12.5, "BRL", "pt_BR", f"R${NBSP}12,50"),
    (1234.5, "BRL", "pt_BR", f"R${NBSP}1.234,50"),
    (12.5, "PLN", "pl_PL", f"12,50{NBSP}zł"),
    (1234.5, "PLN", "pl_PL", f"1{NBSP}234,50{NBSP}zł"),
    (1234.5, "JPY", "ja_JP", "￥1,234"),
    (0, "USD", "en_US", "$0.00"),
    (-0.0, "USD", "en_US", "$0.00"),
    (7, "EUR", "fr_FR", f"7,00{NBSP}€"),
    (Decimal("19.99"), "USD", "en_US", "$19.99"),
])
def test_money(amount, currency, locale, expected):
    assert format_money(amount, currency, locale) == expected


def test_money_matches_babel_on_many_amounts():
    rng = random.Random(7)
    pairs = [("en_US", "USD"), ("de_DE", "EUR"), ("pt_BR", "BRL"), ("pl_PL", "PLN"), ("fr_FR", "EUR"),
             ("es_ES", "EUR"), ("ja_JP", "JPY"), ("en_IN", "INR"), ("de_CH", "CHF"), ("nl_NL", "EUR")]
    for locale, currency in pairs:
        for _ in range(300):
            amount = rng.choice([round(rng.uniform(0, 5000), 2), rng.uniform(0, 1e7), rng.randint(0, 10**6),
                                 round(rng.uniform(0, 10), 3), -round(rng.uniform(0, 100), 2)])
            assert format_money(amount, currency, locale) == format_currency(amount, currency, locale=locale), (
                amount, currency, locale)
    # Half-cent amounts round like Babel (half to even on the decimal value), not like binary floats.
    for amount in (2.675, 0.125, 1.005, 0.1 + 0.2):
        assert format_money(amount, "USD", "en_US") == format_currency(amount, "USD", locale="en_US")


def test_money_written_again_is_the_same_text_whatever_came_before(monkeypatch):
    from shopsim.notify import filters
    monkeypatch.setattr(filters, "_WRITTEN_MAX", 8)  # emptied again and again on the way
    amounts = [1.005, Decimal("1.005"), 1, 1.0, Decimal(1), 2.675, Decimal(2.675), -0.0, 0.0, 0, -12.5, float("nan"), 10**7, 0.1 + 0.2]
    for amount in amounts * 3 + amounts[::-1]:
        for locale, currency in (("en_US", "USD"), ("de_DE", "EUR"), ("ja_JP", "JPY")):
            expected = format_currency(0 if amount == 0 else amount, currency, locale=locale)
            assert format_money(amount, currency, locale) == expected, (amount, currency, locale)
    assert len(filters._WRITTEN) <= 8


def test_money_filter_uses_context_currency_and_locale(tpl):
    t = Templates.load({"customer_service": {"sms": {"body": "{{ refund.amount | money }}"}}})
    sample = SAMPLES["customer_service"][1]
    for locale, currency, expected in (("de_DE", "EUR", f"1.249,99{NBSP}€"), ("en_US", "USD", "$1,249.99"),
                                       ("pt_BR", "BRL", f"R${NBSP}1.249,99")):
        ctx = dict(sample, channel="sms", locale=locale, currency=currency)
        assert t.render("customer_service", "sms", ctx) == (None, expected)
    t = Templates.load({"customer_service": {"sms": {"body": "[{{ none | money }}]"}}})
    assert t.render("customer_service", "sms", sample) == (None, "[]")


def test_money_rejects_non_numbers():
    with pytest.raises(TypeError):
        format_money("12.50", "USD", "en_US")
    assert format_money(None, "USD", "en_US") == ""
    # An unknown locale falls back to its language, then to en_US, rather than failing.
    assert format_money(12.5, "USD", "xx_YY") == "$12.50"


@pytest.mark.parametrize(("coupon", "locale", "currency", "full", "short"), [
    ({"type": "percent", "value": 10.0, "min_order": 0.0}, "en_US", "USD", "10% off", "10% off"),
    ({"type": "percent", "value": 12.5, "min_order": 50.0}, "de_DE", "EUR",
     f"12,5% off orders over 50,00{NBSP}€", "12,5% off"),
    ({"type": "fixed", "value": 15.0, "min_order": 100.0}, "pl_PL", "PLN",
     f"15,00{NBSP}zł off orders over 100,00{NBSP}zł", f"15,00{NBSP}zł off"),
    ({"type": "fixed", "value": 500.0, "min_order": 0}, "ja_JP", "JPY", "￥500 off", "￥500 off"),
    ({"type": "free_shipping", "value": 0.0, "min_order": 30.0}, "pt_BR", "BRL",
     f"free shipping on orders over R${NBSP}30,00", "free shipping"),
    (None, "en_US", "USD", "", ""),
])
def test_discount(coupon, locale, currency, full, short):
    ctx = {"locale": locale, "currency": currency}
    assert discount(ctx, coupon) == full
    assert discount(ctx, coupon, short=True) == short


def test_discount_rejects_junk():
    for source, what in (("{{ shopper | discount }}", "unknown coupon type"),
                         ("{{ 'x' | discount }}", "TypeError")):
        [(_, _, message)] = problems_for("cart_reminders", "sms", "body", source)
        assert what in message, source
    t = Templates.load({"cart_reminders": {"sms": {"body": "{{ coupon | discount(short=true) }}!"}}})
    sample = next(s for s in SAMPLES["cart_reminders"] if s["coupon"] and s["coupon"]["type"] == "percent")
    assert t.render("cart_reminders", "sms", dict(sample, channel="sms")) == (None, "10% off!")


def test_shorten():
    assert shorten("short", 10) == "short"
    assert shorten(None, 5) == ""
    text = "Stainless Steel Insulated Water Bottle 1L, Leak-Proof, Keeps Drinks Cold"
    for n in (1, 5, 20, 37, 50):
        cut = shorten(text, n)
        assert len(cut) <= n and cut.endswith("…")
    assert shorten(text, 55) == "Stainless Steel Insulated Water Bottle 1L, Leak-Proof…"
    assert shorten("abcdefghijklmnop", 8) == "abcdefg…"


def test_dict_keys_win_over_dict_methods():
    # `order.items` means the order's items, not dict.items.
    t = Templates.load({"shipping": {"sms": {"body": "{{ order.items | length }} items, {{ digest }}"}}})
    assert t.render("shipping", "sms", SAMPLES["shipping"][0]) == (None, "3 items, None")


# ----------------------------------------------------------------------------------------- overrides

def test_override_replaces_one_part_and_keeps_the_others(tpl):
    t = Templates.load({"shipping": {"push": {"title": "Parcel for {{ shopper.first_name }}"}}})
    ctx = dict(SAMPLES["shipping"][0], channel="push")
    title, body = t.render("shipping", "push", ctx)
    default_title, default_body = tpl.render("shipping", "push", ctx)
    assert title == "Parcel for Maximilian" != default_title
    assert body == default_body
    for ch in ("email", "sms", "in_app"):
        c = dict(ctx, channel=ch)
        assert t.render("shipping", ch, c) == tpl.render("shipping", ch, c)
    assert t.overridden == {("shipping", "push", "title")}


def test_whitespace_is_tidied():
    t = Templates.load({"promotions": {
        "email": {"subject": "  Big\n  sale  ", "body": "\n\nHello\n\n\n\n\nWorld   \n\n\n{{ link }}\n\n"},
        "push": {"title": "A\nB", "body": "x\n\n\n\ny"},
    }})
    ctx = SAMPLES["promotions"][0]
    assert t.render("promotions", "email", ctx) == ("Big sale", f"Hello\n\nWorld\n\n{ctx['link']}")
    assert t.render("promotions", "push", dict(ctx, channel="push")) == ("A B", "x\n\ny")


def test_syntax_error_fails_load_and_is_reported_with_its_line():
    source = "Hi {{ shopper.first_name }}\n{% if kind == 'order.shipped' %}\nShipped\n{% endfor %}\n"
    with pytest.raises(TemplateError) as info:
        Templates.load({"shipping": {"email": {"body": source}}})
    err = info.value
    assert (err.category, err.channel, err.part, err.line) == ("shipping", "email", "body", 4)
    assert "endfor" in err.message
    [(path, line, message)] = problems_for("shipping", "email", "body", source)
    assert path == ("policies", "templates", "shipping", "email", "body")
    assert line == 4
    assert "syntax error" in message and "endfor" in message


def test_undefined_variable_is_a_problem_naming_the_sample():
    [(path, line, message)] = problems_for("shipping", "push", "body", "Hi\n{{ shopper.first_name }} {{ cupon }}")
    assert path == ("policies", "templates", "shipping", "push", "body")
    assert line == 2
    assert "cupon" in message and "undefined" in message and "order.shipped" in message
    # Only on the samples where it fails: order is None on the no-cart reminder.
    [(_, _, message)] = problems_for("cart_reminders", "email", "body", "{{ order.first_item }}")
    assert "message (no code), no cart" in message and "with code" not in message


def test_sandbox_refuses_unsafe_access_and_render_falls_back(tpl):
    evil = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    [(path, line, message)] = problems_for("shipping", "sms", "body", evil)
    assert path[-3:] == ("shipping", "sms", "body") and line == 1
    assert "sandbox" in message and "__class__" in message
    t = Templates.load({"shipping": {"sms": {"body": evil}}})
    ctx = dict(SAMPLES["shipping"][0], channel="sms")
    assert t.render("shipping", "sms", ctx) == tpl.render("shipping", "sms", ctx)
    assert t.fallbacks[("shipping", "sms", "body", "default")] == 1
    # Mutating the context and machine-eating arithmetic are refused too.
    for source in ("{{ order['items'].append(1) }}", "{{ 'x' * 1000000000 }}", "{{ 10 ** 100000 }}", "{{ (10 ** 1000) ** 1000 }}",
                   "{{ shopper.update(name='x') }}"):
        [(_, _, message)] = problems_for("shipping", "push", "body", source)
        assert "sandbox" in message or "SecurityError" in message, source
        t = Templates.load({"shipping": {"push": {"body": source}}})
        assert t.render("shipping", "push", dict(ctx, channel="push"))[1] == \
            tpl.render("shipping", "push", dict(ctx, channel="push"))[1]


def test_bad_filter_input_is_a_problem():
    [(_, _, message)] = problems_for("order_updates", "in_app", "body", "{{ order.id | money }}")
    assert "TypeError" in message and "money" in message


def test_unknown_keys_get_did_you_mean():
    problems = check_templates({
        "shiping": {"push": {"body": "x"}},
        "shipping": {"pus": {"body": "x"}, "email": {"subjet": "x"}, "sms": {"title": "x"}},
        "digest": {"email": {"body": 12}},
        "promotions": ["x"],
    })
    got = {p: (line, msg) for p, line, msg in problems}
    base = ("policies", "templates")
    assert got[base + ("shiping",)] == (None, "unknown category 'shiping'; did you mean 'shipping'?")
    assert got[base + ("shipping", "pus")] == (None, "unknown channel 'pus'; did you mean 'push'?")
    assert got[base + ("shipping", "email", "subjet")][1].endswith("did you mean 'subject'?")
    assert "SMS has only a body" in got[base + ("shipping", "sms", "title")][1]
    assert "string" in got[base + ("digest", "email", "body")][1]
    assert "mapping" in got[base + ("promotions",)][1]
    assert len(problems) == 6
    with pytest.raises(TemplateError) as info:
        Templates.load({"shipping": {"pus": {"body": "x"}}})
    assert info.value.channel == "pus" and "did you mean 'push'" in info.value.message
    assert check_templates(None) == [] and check_templates({}) == []
    assert check_templates("nope")[0][0] == base


def test_sms_override_over_the_limit_is_reported_and_cut():
    source = "{{ order.first_item }} {{ order.first_item }} {{ link }}"
    [(path, line, message)] = problems_for("shipping", "sms", "body", source)
    assert path[-1] == "body" and line is None
    # The longest rendering is named; the other samples over the limit are listed.
    assert message.startswith("renders to 210 characters for shipment.out_for_delivery; SMS allows 160")
    assert "order.shipped" in message
    t = Templates.load({"shipping": {"sms": {"body": source}}})
    _, body = t.render("shipping", "sms", dict(SAMPLES["shipping"][0], channel="sms"))
    assert len(body) == SMS_LIMIT and body.endswith("…")
    # Exactly at the limit is fine.
    assert problems_for("shipping", "sms", "body", "x" * 160) == []
    assert problems_for("shipping", "sms", "body", "x" * 161)[0][2].startswith("renders to 161 characters")


def test_empty_rendering_is_a_problem_and_falls_back(tpl):
    [(_, _, message)] = problems_for("promotions", "push", "title", "{% if false %}x{% endif %}")
    assert "empty" in message
    t = Templates.load({"promotions": {"push": {"title": "  "}}})
    ctx = dict(SAMPLES["promotions"][0], channel="push")
    assert t.render("promotions", "push", ctx) == tpl.render("promotions", "push", ctx)


# --------------------------------------------------------------------------------------- never raises

def test_render_never_raises_with_a_broken_context(tpl):
    rng = random.Random(3)
    junk = [None, 0, -5, "", "text", [], {}, [1, 2], {"x": 1}, float("nan"), True, object()]
    for _ in range(600):
        cat = rng.choice(TEMPLATE_CATEGORIES)
        ch = rng.choice(CHANNELS)
        ctx = copy.deepcopy(rng.choice(SAMPLES[cat]))
        for key in rng.sample(sorted(ctx), rng.randint(1, 4)):
            if rng.random() < 0.3:
                del ctx[key]
            else:
                ctx[key] = rng.choice(junk)
        title, body = tpl.render(cat, ch, ctx)
        assert isinstance(body, str) and body
        assert (title is None) if ch == "sms" else (isinstance(title, str) and title)
        if ch == "sms":
            assert len(body) <= SMS_LIMIT
    for ctx in (None, {}, [], "x", {"link": 5}, {"currency": None, "locale": None}):
        for cat in TEMPLATE_CATEGORIES:
            for ch in CHANNELS:
                title, body = tpl.render(cat, ch, ctx)
                assert body and (title is None) == (ch == "sms")


def test_fallback_chain_default_then_plain(tpl):
    t = Templates.load({"shipping": {"email": {"subject": "{{ nope }}", "body": "{{ nope }}"}}})
    ctx = SAMPLES["shipping"][0]
    assert t.render("shipping", "email", ctx) == tpl.render("shipping", "email", ctx)
    assert t.render("shipping", "email", {"link": "https://shop.example/x"}) == (
        "Shipping update", "You have a new shipping update. https://shop.example/x")
    assert t.fallbacks[("shipping", "email", "body", "default")] == 1
    assert t.fallbacks[("shipping", "email", "body", "plain")] == 1
    # Unknown category or channel: still a message, never an exception.
    assert tpl.render("nonsense", "sms", {}) == (None, "You have a new nonsense update.")
    assert tpl.render("shipping", "fax", {})[0] == "Shipping update"
    assert tpl.render(["junk"], "sms", {}) == (None, "You have a new ['junk'] update.")
