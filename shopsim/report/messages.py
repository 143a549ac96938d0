"""The report's sections about messages: delivery, opens (reported, by people, per recipient), clicks,
orders and opt-outs per channel, category and category on each channel; suppression reasons; ads."""

from __future__ import annotations

from typing import Any, Callable

from shopsim.report import svg
from shopsim.report.labels import UNSUB_METHODS, category_words, channel_words, words
from shopsim.report.changes import change_markers
from shopsim.report.model import Block, Chart, Lines, Section, Table, count, day_labels, number, rate, share

__all__ = ["messages_section", "suppression_section", "ads_section"]

_DELIVERY = ("requested", "delivered", "deferred", "digested", "suppressed")
Namer = Callable[[str], str]


def _plain(key: str) -> str:
    """A suppression reason in words: "no_marketing_consent" → "no marketing consent"."""
    return key.replace("_", " ")


def _rows(items: dict[str, dict[str, Any]], total: dict[str, Any] | None, name: Namer,
          cells: Callable[[dict[str, Any]], list[str]]) -> list[list[str]]:
    pairs = [*((name(k), n) for k, n in items.items()), *((("All", total),) if total else ())]
    return [[label, *cells(n)] for label, n in pairs]


def _delivery(title: str, first: str, items, total, name: Namer) -> Table:
    rows = _rows(items, total, name, lambda n: [*(count(n.get(f)) for f in _DELIVERY), rate(n.get("delivery_rate")),
                                                number(n.get("per_shopper_per_day"), 3)])
    return Table(title, [first, *_DELIVERY, "delivered\n÷ requested", "per\nshopper\nper day"], rows,
                 total_last=total is not None)


def _with_rate(n: dict[str, Any], key: str, rate_key: str | None) -> str:
    """"357 (54.5%)": a count and its rate, or the count alone."""
    value = count(n.get(key))
    r = n.get(rate_key) if rate_key else None
    return value if r is None else f"{value} ({rate(r)})"


def _opens(title: str, first: str, items, total, name: Namer) -> Table:
    rows = _rows(items, total, name, lambda n: [
        count(n.get("delivered")), _with_rate(n, "opened", "open_rate"),
        _with_rate(n, "human_opened", "human_open_rate"), count(n.get("machine_opened"))])
    return Table(title + " (count, and % of delivered)", [first, "delivered", "opened,\nreported", "opened by\na person",
                                                         "opened by\na proxy"], rows,
                 total_last=total is not None)


def _reach(title: str, first: str, items, total, name: Namer) -> Table:
    rows = _rows(items, total, name, lambda n: [
        count(n.get("recipients")), _with_rate(n, "recipients_opened", "recipient_open_rate"),
        _with_rate(n, "recipients_clicked", "recipient_click_rate")])
    return Table(title + " (count, and % of recipients)", [first, "recipients", "opened at\nleast one",
                                                          "clicked at\nleast one"], rows,
                 total_last=total is not None)


def _actions(title: str, first: str, items, total, name: Namer) -> Table:
    rows = _rows(items, total, name, lambda n: [
        _with_rate(n, "clicked", "click_rate"), rate(n.get("click_to_open_rate")), _with_rate(n, "orders", "order_rate"),
        _with_rate(n, "unsubscribed", "unsubscribe_rate"), _with_rate(n, "complained", "complaint_rate")])
    return Table(title + " (count, and % of delivered)", [first, "clicked", "clicks ÷\nopens", "orders",
                                                         "unsub-\nscribed", "spam com-\nplaints"], rows,
                 total_last=total is not None)


def _cross(result: dict[str, Any]) -> Table | None:
    cross = result.get("category_channels") or {}
    rows = []
    for category, channels in cross.items():
        for channel, n in channels.items():
            if n.get("delivered"):
                rows.append([category_words(category), channel_words(channel), count(n.get("delivered")),
                             rate(n.get("human_open_rate")), rate(n.get("click_rate")), count(n.get("orders")),
                             rate(n.get("unsubscribe_rate")), rate(n.get("complaint_rate"))])
    if not rows:
        return None
    return Table("Each category on each channel", ["category", "channel", "delivered", "open rate\n(people)",
                                                  "click rate", "orders", "unsub\nrate", "complaint\nrate"], rows,
                 align="llrrrrrr")


def _methods(result: dict[str, Any]) -> str | None:
    methods = result["messages"].get("unsubscribed_by_method") or {}
    if not methods:
        return None
    return "Unsubscribes by how: " + ", ".join(f"{UNSUB_METHODS.get(m, words(m))} {count(n)}"
                                               for m, n in methods.items()) + "."


def messages_section(result: dict[str, Any], charts: bool) -> Section:
    total = result["messages"]
    if not total["requested"]:
        return Section("Messages", [Lines(["no notification was requested in this run"])])
    channels, categories = result["channels"], result["categories"]
    blocks: list[Block] = []
    if charts:
        day = result["series"]["day"]
        series = {ch: day.get(f"delivered_{ch}", []) for ch in channels if any(day.get(f"delivered_{ch}", []))}
        if any(day.get("ad_impressions", [])):
            series["ads"] = day["ad_impressions"]
        n = max((len(v) for v in series.values()), default=0)
        named = {channel_words(k): v for k, v in series.items()}
        colors = {channel_words(k): svg.color_for(k) for k in series}
        blocks.append(Chart(svg.stacked_bars("Messages delivered per day, by channel (ads: impressions)",
                                             day_labels(result["run"], n), named, colors=colors,
                                             markers=change_markers(result))))
    blocks += [
        _delivery("Delivery by channel", "channel", channels, total, channel_words),
        _opens("Opens by channel: reported and by people", "channel", channels, total, channel_words),
        _reach("Recipients by channel", "channel", channels, total, channel_words),
        _actions("Clicks, orders and opt-outs by channel", "channel", channels, total, channel_words),
        _delivery("Delivery by category", "category", categories, None, category_words),
        _opens("Opens by category", "category", categories, None, category_words),
        _reach("Recipients by category", "category", categories, None, category_words),
        _actions("Clicks, orders and opt-outs by category", "category", categories, None, category_words),
    ]
    cross = _cross(result)
    if cross is not None:
        blocks.append(cross)
    notes = ["Delivery rate: of requested. Open, click, order, unsubscribe and complaint rates: of delivered. "
             "Reported opens count every open, also the machine opens of mail privacy proxies (which open every "
             "email they fetch); people's opens leave those out, so the people's open rate is the one to "
             "compare. Recipients: shoppers delivered at least one message; who opened or clicked at least one. "
             "A rerouted critical message counts on the channel it went to; a digest is one delivery. Orders: "
             "orders attributed to a click on a message."]
    method = _methods(result)
    if method:
        notes.insert(0, method)
    blocks.append(Lines(notes))
    return Section("Messages", blocks)


def suppression_section(result: dict[str, Any], charts: bool, top: int = 10) -> Section:
    total = result["messages"]
    reasons = total["suppressed_by_reason"]
    if not reasons:
        return Section("Suppression reasons", [Lines(["no notification was suppressed"])])
    channels = [ch for ch, n in result["channels"].items() if n["suppressed"]]
    rows = []
    for reason, n in list(reasons.items())[:top]:
        rows.append([_plain(reason), count(n), share(n, total["suppressed"]),
                     *(count(result["channels"][ch]["suppressed_by_reason"].get(reason, 0)) for ch in channels)])
    table = Table(f"Top {min(top, len(reasons))} of {len(reasons)} reasons" if len(reasons) > top else "",
                  ["reason", "suppressed", "share", *(channel_words(ch) for ch in channels)], rows,
                  note="Share: of the messages suppressed.")
    blocks: list[Block] = []
    if charts:
        shown = list(reasons.items())[:top]
        blocks.append(Chart(svg.bar_chart("Suppressed notifications by reason", [_plain(r) for r, _ in shown],
                                          [n for _, n in shown])))
    blocks.append(table)
    return Section("Suppression reasons", blocks)


def ads_section(result: dict[str, Any]) -> Section:
    a, c = result["ads"], result["commerce"]
    if not a["impressions"]:
        return Section("Ads", [Lines(["no retargeting ad was shown in this run"])])
    return Section("Ads", [Table("", ["", "value"], [
        ["impressions", count(a["impressions"])],
        ["clicks", count(a["clicks"])],
        ["click rate (of impressions)", rate(a["click_rate"])],
        ["orders attributed to an ad click", count(a["orders"])],
        ["order rate (of clicks)", rate(a["order_rate"])],
        ["carts recovered after an ad click", count(c.get("recovered_by_ad"))],
    ], align="lr")])
