"""`shopsim graph`: flows, campaigns and the policy pipeline drawn the same way in mermaid, dot and SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from helpers.paths import ROOT
from shopsim.cli import main
from shopsim.report.graph import dot, mermaid, scenario_graph
from shopsim.report.graph_svg import svg
from shopsim.validate import load_scenario, load_scenario_text

SHIPPED = sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml"))

HAND_BUILT = """
schema_version: 1
run: {name: graphed, duration: 3d}
population:
  size: 10
  locales: {en_US: {share: 1}}
  segments:
    vip: {share: 0.5}
    rest: {share: 0.5}
  settings:
    quiet_hours: {start: "21:00", end: "07:00"}
flows:
  nudge:
    trigger: cart.abandoned
    exit: [order_placed]
    steps:
      - {after: 30m, channel: email}
      - {after: 1d, channel: push, when: {opened: false, segments: [vip]}, incentive: {type: percent, value: 5, valid: 24h}}
  browse:
    trigger: browse.abandoned
    category: recommendations
    steps:
      - {after: 2h, channel: email, send_window: {start: "09:00", end: "20:00"}}
campaigns:
  late: {kind: promotion, at: 2d, channels: [email], title: "Late"}
  early: {kind: flash_sale, at: 1d, local_time: "12:00", channels: [push], title: "Early", ends: 6h}
policies:
  caps:
    - {channel: push, max: 1, per: 24h}
"""


def test_a_hand_built_scenario_is_drawn_step_by_step():
    clusters = scenario_graph(load_scenario_text(HAND_BUILT))
    assert [c.title for c in clusters] == ["flow nudge (cart_reminders)", "flow browse (recommendations)",
                                           "campaigns, in time order",
                                           "policy pipeline (every message passes these in order)"]
    nudge = clusters[0]
    assert [n.lines for n in nudge.nodes] == [
        ["cart.abandoned"],
        ["1 · email"],
        ["2 · push", "if not opened", "if vip", "coupon: 5% off, 24h"],
        ["ends when: order placed"],
    ]
    assert [(e.src, e.dst, e.label, e.dashed) for e in nudge.edges] == [
        ("f1t", "f1s1", "after 30m", False), ("f1s1", "f1s2", "after 1d", False), ("f1t", "f1x", "", True)]
    assert clusters[1].nodes[1].lines == ["1 · email", "sent 09:00–20:00 local"]
    campaigns = clusters[2]
    assert [n.lines[0] for n in campaigns.nodes] == ["1d at 12:00 local · flash_sale", "2d · promotion"]
    pipeline = [n.lines for n in clusters[3].nodes]
    assert ["caps on marketing", "push: 1 per 24h"] in pipeline
    assert ["quiet hours 21:00–07:00 local (push, SMS)"] in pipeline
    assert pipeline[0][0] == "reach" and pipeline[-1] == ["delivered"]


def test_the_three_formats_draw_the_same_nodes():
    clusters = scenario_graph(load_scenario_text(HAND_BUILT))
    m, d, s = mermaid(clusters), dot(clusters), svg(clusters, "graphed")
    for c in clusters:
        for n in c.nodes:
            for line in n.lines:
                assert line in d and line.replace(">", "#gt;") in m
                assert line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in s
    assert m.startswith("flowchart LR\n") and "f1t -->|after 30m| f1s1" in m and "f1t -.-> f1x" in m
    assert d.startswith("digraph scenario {") and 'f1t -> f1x [style=dashed];' in d
    ET.fromstring(s)  # well-formed


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize("fmt", ["mermaid", "dot", "svg"])
def test_every_shipped_scenario_draws_in_every_format(name, fmt):
    r = CliRunner().invoke(main, ["graph", name, "--format", fmt], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    model = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    for flow in model.flows:
        assert f"flow {flow} (" in r.output
    if fmt == "svg":
        ET.fromstring(r.output)


def test_quotes_and_markup_in_labels_are_escaped():
    clusters = scenario_graph(load_scenario_text(HAND_BUILT))
    clusters[0].nodes[1].lines.append('say "hi" <b>')
    assert 'say #quot;hi#quot; #lt;b#gt;' in mermaid(clusters)
    assert 'say \\"hi\\" <b>' in dot(clusters)
    ET.fromstring(svg(clusters, 'a "title" <x>'))


def test_a_bad_scenario_or_output_is_exit_2(tmp_path):
    r = CliRunner().invoke(main, ["graph", str(tmp_path / "none.yaml")])
    assert r.exit_code == 2 and "no such file" in r.output
    r = CliRunner().invoke(main, ["graph", "default", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "names a folder" in r.output
    r = CliRunner().invoke(main, ["graph", "default", "--format", "svg", "--out", str(tmp_path / "g.svg")])
    assert r.exit_code == 0 and ET.parse(tmp_path / "g.svg").getroot().tag.endswith("svg")


def test_the_readme_shows_what_shopsim_graph_prints():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("```mermaid\n", 1)[1].split("```", 1)[0]
    r = CliRunner().invoke(main, ["graph", "cart_recovery"], catch_exceptions=False)
    assert block == r.output
