"""`shopsim report` says what the figures mean: a funnel that only narrows, with abandonment and recovery as
branches; every label in words (no snake_case key); rates named with what they are rates of; differences
of rates in percentage points, never "-0.0"; the new breakdowns (devices, reasons and the exit survey,
reported and human opens, push opt-in, coupon return)."""

from __future__ import annotations

import copy
import json
import re

import pytest
from click.testing import CliRunner

from helpers.scenarios import tiny_scenario
from shopsim.cli import main
from shopsim.metrics.kpis import Metrics
from shopsim.store.runfile import open_run
from shopsim.report.funnel import ABANDONED, MAIN, cart_funnel, recovery_split
from shopsim.report.labels import device_words, pp, reason_words
from shopsim.report.render import to_html, to_markdown
from shopsim.report.tables import build_report, rate

FLOW = {"reminder": {"trigger": "cart.abandoned", "category": "cart_reminders",
                     "steps": [{"after": "1h", "channel": "email", "survey": True},
                               {"after": "6h", "channel": "push",
                                "incentive": {"type": "percent", "value": 10, "valid": "48h", "prefix": "CART",
                                              "auto_apply": True}}]}}
EXPERIMENT = {"trial": {"metric": "recovery", "control": "holdout",
                        "variants": {"holdout": {"holdout": True}, "reminder": {"weight": 2, "flows": ["reminder"]}}}}
SIGNED_ZERO = re.compile(r"[-−+]0(?:\.0+)?(?![\d.])")
SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("words")
    scenario = folder / "shop.yaml"
    scenario.write_text(tiny_scenario(
        size=150, duration="4d", seed=4, name="shop", as_text=True, flows=FLOW, experiments=EXPERIMENT,
        ads={"enabled": True},
        behaviour={"sessions": {"per_day": 1.5}, "add_to_cart": 0.25,
                   "abandonment": {"survey": {"on_site": True, "response_rate": 0.4, "misreport": 0.3}}}))
    log = folder / "shop.jsonl"
    assert invoke("replay", scenario, "--log", log, "--no-db", "--quiet").exit_code == 0
    result = json.loads(json.dumps(Metrics.of(open_run(log).events()).result()))
    text = invoke("report", log).stdout
    return {"log": log, "result": result, "text": text, "md": invoke("report", log, "--format", "md").stdout,
            "html": invoke("report", log, "--format", "html", "--out", "-").stdout}


def _keys(data, skip_names: bool = False) -> set[str]:
    """Every dictionary key in a result, and the names used as keys (reasons, devices, channels...)."""
    out: set[str] = set()
    if isinstance(data, dict):
        for k, v in data.items():
            if not skip_names:
                out.add(k)
            out |= _keys(v, skip_names=k in ("experiments", "variants"))
    elif isinstance(data, list):
        for v in data:
            out |= _keys(v)
    return out


def _table(text: str, title: str) -> list[str]:
    """The body lines of the table under `title` in a text report (up to the next blank line)."""
    lines = text.splitlines()
    start = lines.index(title)
    body = []
    for line in lines[start + 1:]:
        if not line.strip():
            break
        body.append(line)
    return [b for b in body if not set(b) <= {"─", " "}]


# --- the funnel --------------------------------------------------------------------------------------------

def test_the_funnel_never_grows_along_its_main_path_and_its_branches_add_up(run):
    c = run["result"]["commerce"]
    rows = cart_funnel(c)
    main = [r.value for r in rows if r.kind == MAIN]
    assert [r.key for r in rows if r.kind == MAIN] == ["carts", "checkouts", "carts_ordered"]
    assert main == sorted(main, reverse=True) and main[-1] < main[0]
    before, at = (r.value for r in rows if r.kind == ABANDONED)
    assert before + at == c["carts_abandoned"]
    # Every cart created is ordered, abandoned or still open (a cart abandoned and then ordered is in both).
    assert c["carts"] == c["carts_ordered"] + c["carts_abandoned"] - c["carts_recovered"] + c["carts_open"]
    assert sum(r.value for r in recovery_split(c)) == c["carts_abandoned"]
    assert [r.key for r in recovery_split(c)][:3] == ["recovered_attributed", "recovered_organic", "recovered_other"]
    # ... and so does the printed one: created ≥ reached checkout ≥ ordered, each share of what it is a share of
    table = _table(run["text"], "Cart funnel")
    printed = {line[:30].strip(): line for line in table}
    numbers = [int(printed[k].split()[-4].replace(",", "")) for k in ("Carts created", "Reached checkout", "Ordered")]
    assert numbers == main
    assert printed["↳ abandoned at checkout"].endswith("carts that reached checkout")
    assert printed["Ordered"].endswith(f"{rate(1 - c['abandonment_rate'])}   carts created")


def test_carts_still_open_show_only_when_there_are_some():
    """A finished run rarely ends with a cart undecided; when it does, the funnel says so apart from the path
    (not as a branch of 'Ordered'), since Baymard's rate counts those carts as not ordered."""
    from shopsim.report.commerce import funnel_table
    c = {"carts": 100, "checkouts": 70, "carts_ordered": 30, "carts_abandoned": 72, "carts_recovered": 4,
         "carts_open": 2, "checkout_reasons": {"extra_costs": 40}}
    rows = {r[0]: r for r in funnel_table(c).rows}
    assert rows["Still open (no decision yet)"][1:3] == ["2", "2.0%"]
    assert "when the log ends" in funnel_table(c).note
    c["carts_open"] = 0
    assert not any("open" in r[0].lower() for r in funnel_table(c).rows)
    assert "Still open" not in funnel_table(c).note


def test_the_headline_is_attributed_recovery_with_organic_and_incremental_beside_it(run):
    c, text = run["result"]["commerce"], run["text"]
    assert c["incremental_recovery_rate"] is not None  # the experiment has a holdout
    head = _table(text, "Headline")
    names = [line.split("  ")[0] for line in head]
    order = [n for n in names if "recovery" in n.lower()]
    assert order[:3] == ["Attributed recovery ★", "Organic recovery", "Incremental recovery (pp)"]
    assert re.search(rf"^Attributed recovery ★\s+{re.escape(rate(c['attributed_recovery_rate']))}\s", text, re.M)
    assert re.search(rf"^Incremental recovery \(pp\)\s+{re.escape(pp(c['incremental_recovery_rate']))}\s", text, re.M)
    assert re.search(r"^Cart abandonment \(Baymard: 1 − orders ÷ carts\)\s+[\d.]+%", text, re.M)


# --- words, rates, pp ----------------------------------------------------------------------------------------

def test_no_metric_key_or_snake_case_reaches_the_text_report(run):
    text = run["text"].replace(str(run["log"]), "RUN")
    for name in ("trial",):  # the experiment's and its arms' own names are names, not keys
        text = text.replace(name, "NAME")
    leaked = sorted(k for k in _keys(run["result"]) if "_" in k and re.search(rf"\b{re.escape(k)}\b", text))
    assert leaked == []
    assert SNAKE.findall(text) == []
    md = run["md"].replace(str(run["log"]), "RUN")
    assert SNAKE.findall(re.sub(r"\\_", "_", md)) == []


def test_differences_of_rates_are_pp_and_never_a_signed_zero(run):
    for fmt in ("text", "md", "html"):
        assert not SIGNED_ZERO.search(run[fmt]), (fmt, SIGNED_ZERO.findall(run[fmt])[:5])
    table = _table(run["text"], "reminder (variant) against holdout (control)")
    for line in table[1:]:
        if line.startswith(("recovery", "conversion", "unsubscribe")):
            assert re.search(r"\s(?:[+-]\d+\.\d|0\.0) pp\s+\S+ to \S+ pp\s", line), line
    assert "95% interval" in run["text"] and " pp" in run["text"]


def test_devices_reasons_and_the_survey(run):
    c, text = run["result"]["commerce"], run["text"]
    for device, kpi in c["by_device"].items():
        assert re.search(rf"^{device_words(device)}\s+{kpi['visits']:,}\s+{kpi['carts']:,}\s+{kpi['checkouts']:,}\s+"
                         rf"{kpi['orders']:,}\s+{re.escape(rate(kpi['abandonment_rate']))}\s+"
                         rf"{re.escape(rate(kpi['conversion_rate']))}$", text, re.M), device
    total = sum(c["checkout_reasons"].values())
    at_checkout = _table(text, f"At checkout: the {total:,} carts abandoned there")
    reason, n = next(iter(c["checkout_reasons"].items()))
    assert re.match(rf"{re.escape(reason_words(reason))}\s+{n:,}\s+{re.escape(rate(n / total))}$", at_checkout[1])
    survey = run["result"]["survey"]
    assert survey["responses"] > 0
    rows = _table(text, "What the survey says, and why they really left")
    assert "survey says" in rows[0] and "really left" in rows[0]
    assert f"{survey['responses']:,} answers ({rate(survey['response_rate'])} of the" in text


def test_messages_show_reported_and_human_opens_per_recipient(run):
    m, text = run["result"]["channels"]["email"], run["text"]
    rows = _table(text, "Opens by channel: reported and by people (count, and % of delivered)")
    email = next(r for r in rows if r.startswith("Email"))
    assert f"{m['opened']:,} ({rate(m['open_rate'])})" in email
    assert f"{m['human_opened']:,} ({rate(m['human_open_rate'])})" in email
    assert m["machine_opened"] > 0 and m["human_open_rate"] < m["open_rate"]
    reach = next(r for r in _table(text, "Recipients by channel (count, and % of recipients)") if r.startswith("Email"))
    assert f"({rate(m['recipient_open_rate'])})" in reach and f"({rate(m['recipient_click_rate'])})" in reach


def test_push_opt_in_by_platform_and_the_coupon_return(run):
    s, text = run["result"]["shoppers"], run["text"]
    for platform, words in (("ios", "iOS"), ("android", "Android")):
        assert re.search(rf"^push allowed \(of {words} app owners\)\s+{re.escape(rate(s['push_opt_in'][platform]))}$",
                         text, re.M)
    roi = run["result"]["experiments"]["trial"]["variants"]["reminder"]["coupon"]
    rows = _table(text, "Coupons: what the discount bought, against holdout")
    assert rows[1].split()[-1] == f"{roi['redeemed_orders']:,}"
    labels = [r.split("  ")[0] for r in rows[1:7]]
    assert labels == ["Orders that used a coupon", "Discount given", "Orders gained over holdout (scaled to the "
                      "arm's size)", "Discount on orders that would have happened anyway",
                      "Discount that bought an order", "Cost per incremental order"]


# --- an older result -----------------------------------------------------------------------------------------

NEW_COMMERCE = ("carts_ordered", "abandoned_at_least_once_rate", "checkout_abandonment_rate", "recovered_attributed",
                "recovered_organic", "recovered_other", "organic_recovery_rate", "incremental_recovery_rate",
                "incremental_recovery_low", "incremental_recovery_high", "checkout_reasons",
                "checkout_reason_shares", "first_reasons", "coupons_seen", "by_device")


def test_a_result_without_the_new_keys_still_reports(run):
    old = copy.deepcopy(run["result"])
    for key in NEW_COMMERCE:
        old["commerce"].pop(key, None)
    for key in ("shoppers", "survey", "category_channels", "experiments"):
        old.pop(key, None)
    for scope in (old["messages"], *old["channels"].values(), *old["categories"].values()):
        for key in ("human_opened", "machine_opened", "human_open_rate", "recipients", "recipient_open_rate",
                    "recipient_click_rate", "complained", "complaint_rate", "unsubscribed_by_method"):
            scope.pop(key, None)
    report = build_report(old, charts=True)
    md, page = to_markdown(report), to_html(report)
    assert "## Cart funnel and recovery" in md and "the run has no visits with a device" in md
    assert "Every abandonment, by reason" in md and "no holdout arm in this run" in md
    assert "<svg" in page and not SIGNED_ZERO.search(md)


def test_report_of_a_fake_result_labels_every_branch(run):
    fake = copy.deepcopy(run["result"])
    fake["commerce"].update(carts=1000, checkouts=600, carts_ordered=450, carts_abandoned=550,
                            checkout_reasons={"extra_costs": 200, "site_error": 50}, carts_recovered=100,
                            recovered_attributed=60, recovered_organic=30, recovered_other=10)
    text = to_text(build_report(fake))
    expected = [("Carts created", "1,000", "100.0%", "carts created"),
                ("  ↳ abandoned before checkout", "300", "30.0%", "carts created"),
                ("Reached checkout", "600", "60.0%", "carts created"),
                ("  ↳ abandoned at checkout", "250", "41.7%", "carts that reached checkout"),
                ("Ordered", "450", "45.0%", "carts created")]
    for label, n, share, of in expected:
        assert re.search(rf"^{re.escape(label)}\s+{n}\s+{share}\s+{of}$", text, re.M), label
    for label, n, share in (("recovered after a reminder click (attributed)", "60", "10.9%"),
                            ("recovered on their own (organic)", "30", "5.5%"),
                            ("recovered through another message or an ad", "10", "1.8%"),
                            ("never ordered", "450", "81.8%")):
        assert re.search(rf"^  {re.escape(label)}\s+{n}\s+{share}$", text, re.M), label


def to_text(report) -> str:
    import io

    from shopsim.report.render import console, plain, print_text

    buf = io.StringIO()
    print_text(report, console(buf))
    return plain(buf.getvalue())


def test_svg_and_html_stay_self_contained(run):
    page = run["html"]
    assert "<script" not in page and "<link" not in page
    assert set(re.findall(r"https?://[^\s\"'<>]*", page)) == {"http://www.w3.org/2000/svg"}
    assert 'class="chart funnel"' in page and "What became of the" in page

