"""`shopsim graph`: a scenario's flows, campaigns and policy pipeline as a diagram."""

from __future__ import annotations

from pathlib import Path

import click

from shopsim.cli.common import fail, load_or_exit

FORMATS = ("mermaid", "dot", "svg")


@click.command("graph")
@click.argument("scenario")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="mermaid", show_default=True,
              help="mermaid: renders in GitHub, GitLab and most Markdown viewers; dot: Graphviz; svg: a picture, "
                   "no other tool needed")
@click.option("--out", metavar="PATH", help="write to PATH instead of stdout")
def graph_cmd(scenario: str, fmt: str, out: str | None) -> None:
    """Draw SCENARIO's policies for review: each flow (its trigger, steps with delays, channels, conditions and
    coupons, and what ends it), the campaigns in time order, and the pipeline every message passes (reach,
    consent, her settings, the flow's state, duplicates, the caps, digests, quiet hours and send windows),
    with this scenario's own caps, windows and digest times."""
    from shopsim.report.graph import dot, mermaid, scenario_graph

    path, model = load_or_exit(scenario)
    clusters = scenario_graph(model)
    if fmt == "svg":
        from shopsim.report.graph_svg import svg
        text = svg(clusters, f"{model.run.name}: flows, campaigns and the policy pipeline")
    else:
        text = mermaid(clusters) if fmt == "mermaid" else dot(clusters)
    if out is None:
        click.echo(text, nl=False)
        return
    if not out.strip() or out.endswith("/") or Path(out).is_dir():
        fail(f"--out {out!r} names a folder; give a file name")
    try:
        Path(out).write_text(text, encoding="utf-8")
    except OSError as e:
        fail(f"cannot write {out}: {e.strerror or e}")
