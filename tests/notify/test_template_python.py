"""Templates translated to Python render exactly what Jinja renders, or give the message back to Jinja.

The oracle is Jinja itself: every shipped part and a set of hand-written templates are rendered both ways
over the sample contexts, those contexts broken in every way a key can break (missing, None, another type,
far too long), and randomly assembled templates; wherever the translation answers, its text is Jinja's.
"""

from __future__ import annotations

import random
from functools import lru_cache
from types import MappingProxyType

import pytest

from shopsim.notify import templates as templates_module
from shopsim.notify.sandbox import ENV, RENDER_LIMITS, render_capped
from shopsim.notify.template_python import translate
from shopsim.notify.template_samples import SAMPLES
from shopsim.notify.templates import PARTS, TEMPLATE_CATEGORIES, TemplateLimitError, Templates, default_sources, from_string
from shopsim.contract.taxonomy import CHANNELS

GAVE_UP = object()


compiled = lru_cache(maxsize=None)(from_string)


def jinja(source: str, ctx: dict, cap: int = 100_000):
    try:
        return render_capped(compiled(source), {**ENV.globals, **ctx}, cap, True)
    except Exception as e:  # noqa: BLE001 - what Jinja does is the expectation, errors included
        return ("error", type(e).__name__)


def python(fn, ctx: dict, cap: int = 100_000):
    try:
        return fn(ctx, cap)
    except Exception:  # noqa: BLE001 - giving up is always allowed
        return GAVE_UP


def assert_same(source: str, contexts, cap: int = 100_000) -> int:
    """Every answer the translation gives is Jinja's; returns how many it gave."""
    fn = translate(source)
    assert fn is not None, source
    answered = 0
    for ctx in contexts:
        got = python(fn, ctx, cap)
        if got is GAVE_UP:
            continue
        assert got == jinja(source, ctx, cap), (source, ctx)
        answered += 1
    return answered


ALL_SAMPLES = [dict(s, channel=ch) for cat in TEMPLATE_CATEGORIES for s in SAMPLES[cat] for ch in CHANNELS[:1]]


class Shown:
    """A value whose str() and format() differ: `{{ }}` prints str()."""

    def __str__(self) -> str:
        return "str"

    def __format__(self, spec: str) -> str:
        return "format"


def broken(ctx: dict):
    """The context with one thing wrong at a time: a key missing, None, another type, or very long."""
    odd = (None, 0, 3.5, "", "x" * 200_001, [], [1, 2], {}, True, MappingProxyType({"items": 1, "title": "t"}),
           "id items title code name", Shown())
    for key, value in ctx.items():
        for other in odd:
            yield {**ctx, key: other}
        yield {k: v for k, v in ctx.items() if k != key}
        if isinstance(value, dict):
            for inner in value:
                for other in odd[:6]:
                    yield {**ctx, key: {**value, inner: other}}
                yield {**ctx, key: {k: v for k, v in value.items() if k != inner}}
        if isinstance(value, list) and value and isinstance(value[0], dict):
            for inner in value[0]:
                for other in (None, "", 7, [], "y" * 300):
                    yield {**ctx, key: [{**value[0], inner: other}, *value[1:]]}


SHIPPED = [(cat, ch, part) for cat in TEMPLATE_CATEGORIES for ch in CHANNELS for part in PARTS[ch]]


@pytest.mark.parametrize("key", SHIPPED, ids=["/".join(k) for k in SHIPPED])
def test_every_shipped_part_translates_and_renders_what_jinja_renders(key):
    cat, ch, part = key
    source = default_sources()[cat][ch][part]
    cap = RENDER_LIMITS[(ch, part)]
    own = [dict(s, channel=ch) for s in SAMPLES[cat]]
    assert assert_same(source, own, cap) == len(own)  # its own samples never need Jinja
    contexts = [c for s in own for c in broken(s)] + ALL_SAMPLES
    assert assert_same(source, contexts, cap) > 0


HAND_WRITTEN = [
    "{{ order.id }} {{ order['id'] }} {{ order.items }} {{ order['items'] }} {{ shopper.get }}",
    "{% set x = 1 %}{{ x }}{% set x = x + 1 %}{{ x }}",
    "{{ x }}{% set x = 2 %}",
    "{% if order %}{% set n = order['items'] | length %}{% endif %}{{ n }}",
    "{% if order %}{% set n = 1 %}{% elif cart %}{% set n = 2 %}{% else %}{% set n = 3 %}{% endif %}{{ n }}",
    "{% for i in order['items'] %}{{ loop.index }}:{{ i.name | shorten(10) }}|{% endfor %}{{ i }}",
    "{% for k in shopper %}{{ k }},{% endfor %}",
    "{% for i in order['items'][1:] %}{{ i.qty * 3 }}{{ i.qty ** 2 }}{{ i.qty % 2 }}{{ i.price / 3 }}{% endfor %}",
    "{% filter upper %}{{ shopper.first_name }} {% if order %}x{% endif %}{% endfilter %}",
    "{% filter shorten(12) %}{% for i in order['items'] %}{{ i.name }}{% endfor %}{% endfilter %}",
    "{{ offer is defined }} {{ nothing is defined }} {{ order.id is defined }} {{ order.nope is defined }}",
    "{{ order.items is defined }} {{ order.pop is defined }} {{ payment is none }} {{ order is not none }}",
    "{{ shopper.get is defined }} {{ offer.keys is defined }}",
    "{{ offer.items }} {{ offer.title }}",
    "{{ 'a' if order }}{{ 'b' if cart }}",
    "{{ order.total ~ ' / ' ~ order.item_count ~ ' ' ~ none ~ true }}",
    "{{ [order.total, 5, 99] | max }} {{ [1, 2] | min }} {{ order['items'] | map(attribute='qty') | sum }}",
    "{{ order['items'] | selectattr('qty', 'gt', 1) | map(attribute='name') | join(', ') }}",
    "{{ order['items'] | map(attribute='price') | map('money') | join(' + ') }}",
    "{{ order.total | money }} {{ coupon | discount }} {{ coupon | discount(short=true) }}",
    "{{ shopper.name | replace('a', 'A') | lower | upper | shorten(20) }}",
    "{{ 'x' * 3 }}{{ 'ab' + 'cd' }}{{ -order.total }}{{ order.total // 2 }}{{ 2 > 1 > 0 }}{{ 'a' in 'abc' }}",
    "{{ 'x' * 200000 }}",
    "Set {a} and }} {x} { {{ shopper.first_name }} {{ '{literal}' }} {{ '{' ~ kind ~ '}' }}",
    "{{ ('x' * 200000)[:5] }}",
    "{{ ('ab' ~ 'c' * 99999)[:3] }}",
    "{{ ('a' if cart) == '' }} {{ ('a' if cart) | length }}",
    "{{ order['items'][0]['name'][:5] }}{{ order['items'][-1].name[::2] }}{{ order['items'][9] }}",
    "{{ range(3) | list }}{{ namespace }}",
    "{% set currency = 'JPY' %}{{ order.total | money }}",
    "{{ loop }}{% for i in [1] %}{{ loop.length }}{% endfor %}",
    "{% for i in order['items'] %}{% set y = i %}{% endfor %}",
    "{{ order.total.real }}{{ shopper.first_name.upper() }}{{ ''.__class__ }}",
    "{% for a in [1, 2] %}{% for b in [3] %}{{ a }}{{ b }}{% endfor %}{% endfor %}",
    "{{ not order }}{{ order and cart }}{{ order or cart }}{{ (order or {}).id }}",
    "{% for i in order['items'] if i.qty > 1 %}{{ i.qty }}{% else %}none{% endfor %}",
]


@pytest.mark.parametrize("source", HAND_WRITTEN)
def test_hand_written_templates_render_what_jinja_renders(source):
    contexts = list(ALL_SAMPLES)
    contexts += list(broken(SAMPLES["order_updates"][0]))
    fn = translate(source)
    if fn is None:  # outside the subset: Jinja renders it, always
        return
    assert_same(source, contexts)


@pytest.mark.parametrize("source", [
    "Set {a} and }} {x} { {{ shopper.first_name }} {{ '{literal}' }} {{ '{' ~ kind ~ '}' }}",
    "{% if order %}{% set n = 1 %}{% elif cart %}{% set n = 2 %}{% else %}{% set n = 3 %}{% endif %}{{ n }}",
    "{% for i in order['items'] %}{{ loop.index }}:{{ i.name | shorten(10) }}|{% endfor %}",
    "{% filter shorten(12) %}{% if order %}{{ order.id }}{% endif %} {{ kind }}{% endfilter %}",
    "{{ order['items'] | selectattr('qty', 'gt', 1) | map(attribute='name') | join(', ') }}",
])
def test_templates_inside_the_subset_are_translated(source):
    assert translate(source) is not None


SNIPPETS = [
    "{{ shopper.first_name }}", "{{ order.id }}", "{% if order %}o{% else %}-{% endif %}", "{{ kind }}",
    "{% set v = order.total if order else 0 %}", "{{ v }}", "{{ v | money }}", "{{ (cart or order).first_item }}",
    "{% if coupon %}{{ coupon | discount }}{% elif offer and offer.code %}{{ offer.code }}{% endif %}",
    "{% for p in products or [] %}{{ loop.index }}{{ p.name | shorten(8) }}{% endfor %}",
    "{{ digest['items'] | length if digest else 0 }}", "{{ link }}", "\n", "  text  ",
    "{{ ('s' if order['items'] | length > 1 else '') if order else '' }}", "{{ offer.ends_local is defined }}",
    "{% filter shorten(15) %}{{ shopper.name }} {{ shopper.city }}{% endfilter %}",
    "{{ payment.amount if payment and payment.amount is not none else 'n/a' }}", "{{ nope }}",
]


def test_randomly_assembled_templates_render_what_jinja_renders():
    rng = random.Random(15)
    contexts = [dict(s) for cat in TEMPLATE_CATEGORIES for s in SAMPLES[cat]]
    answered = 0
    for _ in range(150):
        source = "".join(rng.choice(SNIPPETS) for _ in range(rng.randint(1, 7)))
        answered += assert_same(source, contexts)
    assert answered > 1000


def jinja_only(monkeypatch):
    """Templates as they render with no translation at all."""
    real = templates_module.translate
    monkeypatch.setattr(templates_module, "translate", lambda source: None)
    monkeypatch.setattr(templates_module, "_DEFAULT_PARTS", {})
    return real


def outcome(templates: Templates, message: tuple) -> tuple:
    try:
        return templates.render(*message)
    except TemplateLimitError as e:  # a scenario's template past a limit: the same error either way
        return ("stopped", str(e))


def test_templates_render_the_same_with_and_without_translation(monkeypatch):
    overrides = {"promotions": {"email": {"subject": "{{ nope }}", "body": "{{ offer.title | shorten(30) }}"},
                                "sms": {"body": "{{ offer.text }}{{ link }}"}},
                 "shipping": {"push": {"title": "{{ '' }}", "body": "{% for i in order['items'] %}{{ i }}{% endfor %}"}}}
    fast = Templates.load(overrides)
    contexts = [(ch, dict(s, channel=ch)) for cat in TEMPLATE_CATEGORIES for s in SAMPLES[cat] for ch in CHANNELS]
    contexts += [("push", c) for c in broken(dict(SAMPLES["shipping"][0], channel="push"))][:300]
    messages = [(cat, ch, c) for cat in TEMPLATE_CATEGORIES for ch, c in contexts]
    got = [outcome(fast, m) for m in messages]
    jinja_only(monkeypatch)
    slow = Templates.load(overrides)
    assert got == [outcome(slow, m) for m in messages]
    assert fast.fallbacks == slow.fallbacks


def test_a_scenario_template_past_a_limit_stops_the_run_with_or_without_translation(monkeypatch):
    overrides = {"promotions": {"push": {"body": "{% for i in many %}{{ i }}{% endfor %}"}}}
    ctx = dict(SAMPLES["promotions"][0], channel="push", many=list(range(20_000)))
    with pytest.raises(TemplateLimitError, match="steps") as fast:
        Templates.load(overrides).render("promotions", "push", ctx)
    jinja_only(monkeypatch)
    with pytest.raises(TemplateLimitError, match="steps") as slow:
        Templates.load(overrides).render("promotions", "push", ctx)
    assert str(fast.value) == str(slow.value)
