"""Self-contained HTML reports of a run: dependency-free inline SVG charts and a single-file page."""
