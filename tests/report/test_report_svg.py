"""Report charts and page: well-formed SVG/HTML, deterministic, escaped, empty-safe and fully offline."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from shopsim.report.page import html_page
from shopsim.report.svg import (
    CHANNEL_COLORS,
    bar_chart,
    color_for,
    funnel_chart,
    interval_chart,
    line_chart,
    nice_ticks,
    stacked_bars,
)

NS = "{http://www.w3.org/2000/svg}"
EVIL = '<script>&"'
DAYS = [f"2024-03-{d:02d}" for d in range(1, 31)] + [f"2024-04-{d:02d}" for d in range(1, 31)]
CHANNELS = ["email", "push", "sms", "in_app", "ads"]


def sample_charts(label: str = "carts") -> dict[str, str]:
    return {
        "bar": bar_chart("Funnel", [label, "checkout", "abandoned", "recovered", "orders"], [100, 80, 40, 12.5, 70]),
        "stacked": stacked_bars("Per day", DAYS, {
            c: [(i * 7 + j) % 11 for i in range(60)] for j, c in enumerate(CHANNELS)
        }),
        "line": line_chart(
            "Recovery", DAYS, {"rate": [None if i % 10 == 3 else i % 7 / 20 for i in range(60)]}, percent=True
        ),
        "interval": interval_chart("Uplift", [(label, 0.03, 0.01, 0.05), ("B", -0.02, -0.05, 0.01)]),
        "funnel": funnel_chart("Cart funnel", [
            (label, 100, "", "main"), ("abandoned before checkout", 30, "30.0% of carts created", "abandoned"),
            ("Reached checkout", 60, "60.0% of carts created", "main"), ("Ordered", 45, "", "main"),
            ("What became of the 55 carts abandoned", None, "", ""),
            ("recovered after a reminder click", 10, "18.2% of carts abandoned", "recovered"),
            ("never ordered", 45, "81.8% of carts abandoned", "lost")]),
    }


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{NS}svg"
    return root


def texts(root: ET.Element, cls: str | None = None) -> list[str]:
    scope = root if cls is None else root.find(f".//{NS}g[@class='{cls}']")
    assert scope is not None
    return ["".join(t.itertext()) for t in scope.iter(f"{NS}text")]


@pytest.mark.parametrize("kind", ["bar", "stacked", "line", "interval", "funnel"])
def test_chart_is_well_formed_accessible_and_responsive(kind):
    svg = sample_charts()[kind]
    root = parse(svg)
    assert root.get("role") == "img" and root.get("width") == "100%"
    assert re.fullmatch(r"0 0 \d+(\.\d)? \d+(\.\d)?", root.get("viewBox"))
    title = root.find(f"{NS}title")
    assert title is not None and title.text
    # no generated ids, and every number in the geometry carries at most one decimal
    assert " id=" not in svg
    assert not re.search(r'\s(?:x|y|x1|x2|y1|y2|cx|cy|width|height)="-?\d+\.\d\d', svg)


@pytest.mark.parametrize("kind", ["bar", "stacked", "line", "interval", "funnel"])
def test_chart_is_deterministic(kind):
    assert sample_charts()[kind] == sample_charts()[kind]


@pytest.mark.parametrize("kind", ["bar", "interval", "funnel"])
def test_labels_are_escaped(kind):
    svg = sample_charts(EVIL)[kind]
    assert "<script>" not in svg
    root = parse(svg)
    assert any(EVIL in t for t in texts(root))


def test_series_keys_and_titles_are_escaped():
    svg = stacked_bars(EVIL, ["d1", EVIL], {EVIL: [1, 2]})
    assert "<script>" not in svg
    root = parse(svg)
    assert root.find(f"{NS}title").text == EVIL
    assert EVIL in texts(root, "legend")
    svg = line_chart(EVIL, [EVIL, "d2"], {EVIL: [0.1, 0.2]}, percent=True)
    assert "<script>" not in svg and parse(svg).get("aria-label") == EVIL


@pytest.mark.parametrize(
    "svg",
    [
        bar_chart("t", [], []),
        bar_chart("t", ["a", "b"], [0, 0]),
        stacked_bars("t", [], {}),
        stacked_bars("t", ["d1", "d2"], {"email": [0, 0]}),
        stacked_bars("t", ["d1"], {}),
        line_chart("t", [], {}),
        line_chart("t", ["d1", "d2"], {"rate": [None, None]}),
        line_chart("t", ["d1"], {"rate": [float("nan")]}),
        interval_chart("t", []),
        interval_chart("t", [("a", float("nan"), float("nan"), float("inf"))]),
        funnel_chart("t", []),
        funnel_chart("t", [("Carts created", 0, "", "main")]),
    ],
)
def test_empty_data_renders_a_no_data_note(svg):
    root = parse(svg)
    assert texts(root)[-1] == "no data"
    assert root.find(f"{NS}title").text == "t"


def test_single_point_and_flat_lines_render_without_dividing_by_zero():
    root = parse(line_chart("t", ["d1"], {"rate": [0.3]}, percent=True))
    assert len(list(root.iter(f"{NS}circle"))) == 1
    root = parse(line_chart("t", ["d1", "d2", "d3"], {"rate": [0, 0, 0]}, percent=True))
    assert root.find(f".//{NS}path") is not None  # a flat 0% line is data, not "no data"
    parse(stacked_bars("t", ["d1"], {"email": [5]}))
    parse(bar_chart("t", ["only"], [3]))
    parse(interval_chart("t", [("a", 0.0, 0.0, 0.0)]))


def test_x_labels_are_thinned_for_sixty_days():
    for kind in ("stacked", "line"):
        shown = texts(parse(sample_charts()[kind]), "x-labels")
        assert 3 <= len(shown) <= 12, (kind, shown)
        assert shown[0] == DAYS[0] and set(shown) <= set(DAYS)
    # with few points every label fits
    assert texts(parse(stacked_bars("t", ["a", "b", "c"], {"email": [1, 2, 3]})), "x-labels") == ["a", "b", "c"]


def test_x_labels_never_overlap():
    root = parse(sample_charts()["stacked"])
    xs = [float(t.get("x")) for t in root.find(f".//{NS}g[@class='x-labels']")]
    width = len(DAYS[0]) * 7  # a generous 12px advance per glyph
    assert all(b - a >= width for a, b in zip(xs, xs[1:]))


def test_interval_chart_draws_the_zero_line_at_zero():
    root = parse(interval_chart("Uplift", [("A", 0.03, 0.01, 0.05), ("B", -0.02, -0.06, 0.02)]))
    zero = root.find(f".//{NS}line[@class='zero']")
    assert zero is not None and zero.get("x1") == zero.get("x2")
    ticks = {"".join(t.itertext()): t.get("x") for t in root.find(f".//{NS}g[@class='x-axis']").iter(f"{NS}text")}
    assert ticks["0 pp"] == zero.get("x1")
    no_zero = parse(interval_chart("U", [("A", 0.03, 0.01, 0.05)], zero_line=False))
    assert no_zero.find(f".//{NS}line[@class='zero']") is None
    # all-positive data still brings 0 into view so the reader can see the gap
    root = parse(interval_chart("U", [("A", 0.03, 0.01, 0.05)]))
    assert texts(root, "x-axis")[0] == "0 pp" and root.find(f".//{NS}line[@class='zero']") is not None


def test_funnel_chart_draws_branches_indented_in_their_colours_on_one_scale():
    root = parse(sample_charts()["funnel"])
    groups = root.find(f".//{NS}g[@class='bars']")
    rows = {g.get("class"): g for g in groups.findall(f"{NS}g")}
    assert set(rows) == {"main", "abandoned", "recovered", "lost"}
    bars = {(g.find(f"{NS}text").text): g.find(f"{NS}rect") for g in groups.findall(f"{NS}g")}
    assert bars["abandoned before checkout"].get("fill") == "#e15759"
    assert float(bars["abandoned before checkout"].get("x")) > float(bars["Reached checkout"].get("x"))
    width = {name: float(r.get("width")) for name, r in bars.items()}
    assert width["carts"] > width["Reached checkout"] > width["Ordered"]  # one scale: the path narrows
    assert width["Ordered"] == width["never ordered"]  # 45 and 45
    assert "What became of the 55 carts abandoned" in texts(root)
    assert "30 · 30.0% of carts created" in texts(root)


def test_nice_ticks():
    assert nice_ticks(0, 100) == [0, 25, 50, 75, 100]
    assert nice_ticks(0, 37) == [0, 10, 20, 30, 40]
    assert nice_ticks(0, 234) == [0, 100, 200, 300]
    assert nice_ticks(0, 0.37) == [0, 0.1, 0.2, 0.3, 0.4]
    assert nice_ticks(-0.06, 0.05) == [-0.1, -0.05, 0, 0.05]
    assert nice_ticks(0, 0) == [0, 0.25, 0.5, 0.75, 1]  # flat data gets a unit range, not a zero-width axis
    for lo, hi in [(0, 1), (0, 7), (3, 9), (0, 1234567), (-5, 5), (0, 0.0042)]:
        ticks = nice_ticks(lo, hi)
        assert 2 <= len(ticks) <= 5 and ticks[0] <= lo and ticks[-1] >= hi
        step = ticks[1] - ticks[0]
        mantissa = step / 10 ** int(f"{step:e}".split("e")[1])
        assert round(mantissa, 6) in (1, 2, 2.5, 5)


def test_percent_axis_and_value_formatting():
    root = parse(line_chart("t", ["a", "b"], {"rate": [0.12, 0.33]}, percent=True))
    assert texts(root, "y-axis") == ["0%", "10%", "20%", "30%", "40%"]
    root = parse(line_chart("t", ["a", "b"], {"n": [0.5, 1.5]}))  # the default "{:,.0f}" would print 0, 0, 1, 1, 2
    assert texts(root, "y-axis") == ["0.0", "0.5", "1.0", "1.5"]
    root = parse(line_chart("t", ["a", "b"], {"n": [0.1, 1]}))  # 0.25 steps: "0.2" would be distinct but wrong
    assert texts(root, "y-axis") == ["0.00", "0.25", "0.50", "0.75", "1.00"]
    root = parse(line_chart("t", ["a", "b"], {"n": [0.1, 0.9]}, percent=True))
    assert texts(root, "y-axis") == ["0%", "25%", "50%", "75%", "100%"]
    root = parse(line_chart("t", ["a", "b"], {"n": [1000, 2500]}, y_format="{:,.0f} sends"))
    assert texts(root, "y-axis") == ["0 sends", "1,000 sends", "2,000 sends", "3,000 sends"]  # caller's format, exact
    assert "1,200 msgs" in texts(parse(bar_chart("t", ["a"], [1200], unit="msgs")))
    # Differences of rates are percentage points, never "%" and never a signed zero.
    assert "+3.0 pp [+1.0, +5.0]" in texts(parse(interval_chart("t", [("a", 0.03, 0.01, 0.05)])))
    half = texts(parse(interval_chart("t", [("a", 0.03, 0.01, None), ("b", None, -0.01, 0.02)])))
    assert "+3.0 pp" in half and "[-1.0, +2.0] pp" in half  # half an interval is dropped, not a crash
    tiny = texts(parse(interval_chart("t", [("a", -0.0001, -0.0004, 0.0003)])))
    assert "0.0 pp [0.0, 0.0]" in tiny and not any(re.search(r"[-−+]0(\.0+)?(?![\d.])", t) for t in tiny)


def test_channel_colours_are_fixed_and_shared_across_charts():
    assert set(CHANNEL_COLORS) == set(CHANNELS) and len(set(CHANNEL_COLORS.values())) == 5
    stacked = sample_charts()["stacked"]
    lines = line_chart("t", ["a", "b"], {"sms": [1, 2], "email": [2, 1]})
    for channel in ("email", "sms"):
        assert CHANNEL_COLORS[channel] in stacked and CHANNEL_COLORS[channel] in lines
    assert color_for("variant_a", 0) != color_for("variant_b", 1)
    assert color_for("variant_a", 0) not in CHANNEL_COLORS.values()
    custom = stacked_bars("t", ["a"], {"x": [1]}, colors={"x": "#123456"})
    assert "#123456" in custom
    # axis text and lines follow the page theme
    assert 'fill="currentColor"' in stacked and 'stroke="currentColor"' in stacked


class _StrictParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.doctype = None

    VOID = {"meta", "link", "br", "hr", "img", "input", "source", "col", "wbr"}

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack[-3:]}")
        else:
            self.stack.pop()


def test_html_page_is_complete_offline_and_contains_sections():
    charts = sample_charts()
    table = (
        '<table><tr><th>Channel</th><th class="num">Sent</th></tr>'
        '<tr><td>email</td><td class="num">1,200</td></tr></table>'
    )
    sections = [
        ("Funnel", charts["bar"]),
        ("Messages", charts["stacked"] + table),
        ("Recovery", charts["line"]),
        ("Experiments", charts["interval"]),
    ]
    page = html_page(f"Report {EVIL}", f"seed 7 {EVIL}", sections)
    assert page.startswith("<!doctype html>")
    assert '<meta charset="utf-8">' in page and 'name="viewport"' in page
    assert "prefers-color-scheme: dark" in page and "@media print" in page and ".num" in page
    parser = _StrictParser()
    parser.feed(page)
    parser.close()
    assert parser.doctype == "doctype html" and not parser.errors and not parser.stack
    assert "<script" not in page  # the title/subtitle were escaped, and nothing else adds scripts
    assert page.count("&lt;script&gt;") >= 3  # <title>, <h1>, subtitle
    # nothing is fetched: the only URL allowed is the SVG namespace name, which is never dereferenced
    offline = page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "http" not in offline
    for needle in ("src=", "<link", "@import", "url(", "<iframe", "<object"):
        assert needle not in offline
    for heading, inner in sections:
        assert f"<h2>{heading}</h2>" in page and inner in page
    assert page == html_page(f"Report {EVIL}", f"seed 7 {EVIL}", sections)


def test_html_page_with_no_sections_or_subtitle():
    page = html_page("Empty", "", [])
    parser = _StrictParser()
    parser.feed(page)
    assert not parser.errors and "<section" not in page and 'class="subtitle"' not in page
