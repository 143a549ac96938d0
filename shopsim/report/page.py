"""The single-file HTML document around a report's sections.

The page must open from disk with no server and no network, so everything (styles, charts) is inline:
no fonts, stylesheets, scripts or images are fetched from anywhere.
"""

from __future__ import annotations

import html

# CSS variables carry the theme, so the dark block only swaps colours; charts follow via currentColor.
STYLE = """
:root {
  color-scheme: light dark;
  --bg: #ffffff; --fg: #1f2328; --muted: #59636e; --border: #d1d9e0; --card: #f6f8fa; --stripe: #f6f8fa80;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --border: #3d444d; --card: #151b23; --stripe: #151b2380; }
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--bg); color: var(--fg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
main { max-width: 960px; margin: 0 auto; padding: 2rem 1.25rem 4rem; }
header { border-bottom: 1px solid var(--border); margin-bottom: 1.5rem; padding-bottom: 1rem; }
h1 { font-size: 1.75rem; margin: 0 0 0.25rem; }
.subtitle { color: var(--muted); margin: 0; }
nav ol { margin: 0.75rem 0 0; padding-left: 1.25rem; columns: 2; color: var(--muted); }
nav a { color: inherit; }
section { margin: 2rem 0; }
h2 { font-size: 1.2rem; margin: 0 0 0.75rem; padding-bottom: 0.25rem; border-bottom: 1px solid var(--border); }
svg.chart { display: block; width: 100%; height: auto; margin: 0.75rem 0 1.25rem; overflow: visible; }
table { border-collapse: collapse; width: 100%; margin: 0.75rem 0 1.25rem; font-size: 0.9rem; }
th, td { padding: 0.35rem 0.6rem; border-bottom: 1px solid var(--border); text-align: left; vertical-align: top; }
th { background: var(--card); font-weight: 600; }
tbody tr:nth-child(even) { background: var(--stripe); }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.muted, figcaption { color: var(--muted); font-size: 0.875rem; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.875em; }
pre {
  background: var(--card); border: 1px solid var(--border); border-radius: 6px; padding: 0.75rem; overflow-x: auto;
}
@media print {
  :root {
    color-scheme: light; --bg: #fff; --fg: #000; --muted: #444; --border: #bbb; --card: #f2f2f2; --stripe: transparent;
  }
  main { max-width: none; padding: 0; }
  nav { display: none; }
  section, svg.chart, tr { break-inside: avoid; }
  h2 { break-after: avoid; }
}
"""


def html_page(title: str, subtitle: str, sections: list[tuple[str, str]]) -> str:
    """A complete HTML5 document; ``sections`` are (heading, inner HTML built and escaped by the caller)."""
    esc = html.escape
    parts = [
        "<!doctype html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="color-scheme" content="light dark">',
        f"<title>{esc(title)}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        "<main>",
        "<header>",
        f"<h1>{esc(title)}</h1>",
    ]
    if subtitle:
        parts.append(f'<p class="subtitle">{esc(subtitle)}</p>')
    if len(sections) > 3:  # a contents list only earns its space on a long page
        links = "".join(f'<li><a href="#s{i}">{esc(h)}</a></li>' for i, (h, _) in enumerate(sections, 1))
        parts.append(f'<nav aria-label="Contents"><ol>{links}</ol></nav>')
    parts.append("</header>")
    for i, (heading, inner) in enumerate(sections, 1):
        parts.append(f'<section id="s{i}">\n<h2>{esc(heading)}</h2>\n{inner}\n</section>')
    parts += ["</main>", "</body>", "</html>", ""]
    return "\n".join(parts)
