"""Print a `Report` (shopsim.report.tables) as terminal text (rich), GitHub-flavoured Markdown or HTML."""

from __future__ import annotations

import html
from typing import IO

from shopsim.report.page import html_page
from shopsim.report.model import Chart, Lines, Report, Table
from shopsim.textsafe import visible

__all__ = ["WIDTH", "console", "plain", "print_text", "text_report", "print_table", "to_markdown", "markdown_table",
           "md_text", "to_html", "html_table"]

WIDTH = 100  # text reports are laid out for 100 columns


def _text(text: str = "", style: str = ""):
    """A rich Text of report text, control characters made visible: names, titles and descriptions come
    from the scenario and must not drive the terminal (shopsim.textsafe)."""
    from rich.text import Text

    return Text(visible(text), style=style)


def console(file: IO[str] | None = None, width: int | None = None):
    """A rich Console that prints plain text when `file` is not a terminal, `width` columns wide (WIDTH when
    not a terminal). No markup, emoji codes or highlighting are read from the data."""
    from rich.console import Console

    probe = Console(file=file)
    if width is None:
        width = min(probe.width, WIDTH) if probe.is_terminal else WIDTH
    return Console(file=file, width=width, highlight=False, emoji=False, markup=False, soft_wrap=False)


# --- text ------------------------------------------------------------------------------------------------

def print_table(con, t: Table) -> None:
    """A rich table; one too wide for the console is split into several, each repeating the first column.
    The title and the note are printed as lines of the console's width, not wrapped to the table's."""

    for part in _split(con, t) if len(t.columns) > 2 and _needs(t) > con.width else [t]:
        if part.title:
            con.print(_text(part.title, style="bold"))
        con.print(_rich_table(part))
        if part.note:
            con.print(_text(part.note, style="dim"))


def _needs(t: Table) -> int:
    """The width the table takes without cutting a cell: the widest line of each column (the longest word of
    a column that may wrap), plus three columns of padding between columns."""
    from rich.cells import cell_len

    widths = []
    for i, name in enumerate(t.columns):
        texts = [name, *(row[i] for row in t.rows)]
        pieces = [p for x in texts for p in (x.split() if i in t.wrap else x.split("\n"))]
        widths.append(max((cell_len(p) for p in pieces), default=0))
    return sum(widths) + 3 * (len(widths) - 1)


def _split(con, t: Table) -> list[Table]:
    parts, cols = [], list(range(1, len(t.columns)))
    while cols:
        take = 1
        while take < len(cols):
            trial = _columns(t, [0, *cols[:take + 1]])
            if _needs(trial) > con.width:
                break
            take += 1
        parts.append(_columns(t, [0, *cols[:take]]))
        cols = cols[take:]
    for i, part in enumerate(parts):
        if i:
            part.title = f"{t.title} (continued)" if t.title else ""
        if i < len(parts) - 1:
            part.note = ""
    return parts


def _columns(t: Table, keep: list[int]) -> Table:
    return Table(t.title, [t.columns[i] for i in keep], [[row[i] for i in keep] for row in t.rows],
                 "".join(t.alignment(i) for i in keep), t.note, t.total_last,
                 tuple(keep.index(i) for i in t.wrap if i in keep))


def _rich_table(t: Table):
    from rich import box
    from rich.table import Table as RichTable

    show_header = any(t.columns)
    rt = RichTable(box=box.SIMPLE_HEAD, show_header=show_header, header_style="bold", pad_edge=False,
                   padding=(0, 1), show_edge=False)
    for i, name in enumerate(t.columns):
        justify = "right" if t.alignment(i) == "r" else "left"
        # Headers carry their own line breaks ("open\nrate"); cells are never wrapped, so a table keeps its
        # shape (it is laid out to fit WIDTH columns).
        wraps = i in t.wrap
        rt.add_column(_text(name), justify=justify, no_wrap=not wraps, overflow="fold" if wraps else "ellipsis")
    for j, row in enumerate(t.rows):
        last = t.total_last and j == len(t.rows) - 2
        rt.add_row(*(_text(cell) for cell in row), end_section=last,
                   style="bold" if t.total_last and j == len(t.rows) - 1 else None)
    return rt


def _print_lines(con, block: Lines) -> None:
    from rich.table import Table as RichTable

    style = "yellow" if block.style == "warn" else None
    if not block.bullets:
        for item in block.items:
            con.print(_text(item, style=style))
        return
    grid = RichTable.grid(padding=(0, 1))  # a hanging indent for the wrapped sentences
    grid.add_column(no_wrap=True)
    grid.add_column()
    for item in block.items:
        grid.add_row("•", _text(item, style=style))
    con.print(grid)


def print_text(report: Report, con) -> None:
    from rich.rule import Rule

    con.print(_text(report.title, style="bold"))
    if report.subtitle:
        con.print(_text(report.subtitle))
    for w in report.warnings:
        con.print(_text(f"warning: {w}", style="bold yellow"))
    con.print()
    for section in report.sections:
        con.print(Rule(_text(section.heading, style="bold"), align="left", characters="─"))
        for block in section.blocks:
            if isinstance(block, Table):
                print_table(con, block)
            elif isinstance(block, Lines):
                _print_lines(con, block)
            else:
                continue
            con.print()


def text_report(report: Report, file: IO[str] | None = None) -> str | None:
    """Print the report to a terminal `file` (stdout when None) with colours; otherwise return it as plain
    text without trailing spaces."""
    import io

    probe = console(file)
    if probe.is_terminal:
        print_text(report, probe)
        return None
    buf = io.StringIO()
    print_text(report, console(buf))
    return plain(buf.getvalue())


def plain(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


# --- Markdown --------------------------------------------------------------------------------------------

def _md_cell(text: str) -> str:
    return visible(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ") or " "


def markdown_table(t: Table) -> str:
    out = []
    if t.title:
        out += [f"**{_md_cell(t.title)}**", ""]
    out.append("| " + " | ".join(_md_cell(c) for c in t.columns) + " |")
    out.append("|" + "|".join("---:" if t.alignment(i) == "r" else "---" for i in range(len(t.columns))) + "|")
    for j, row in enumerate(t.rows):
        cells = [_md_cell(c) for c in row]
        if t.total_last and j == len(t.rows) - 1:
            cells = [f"**{c}**" if c.strip() else c for c in cells]
        out.append("| " + " | ".join(cells) + " |")
    if t.note:
        out += ["", f"<sub>{html.escape(t.note, quote=False)}</sub>"]
    return "\n".join(out)


def md_text(text: str) -> str:
    """Sentences as Markdown text: characters Markdown would read as markup are escaped."""
    text = visible(text)
    for ch in "\\`*_[]<>#|":
        text = text.replace(ch, "\\" + ch)
    return text


def to_markdown(report: Report) -> str:
    out = [f"# {md_text(report.title)}", ""]
    if report.subtitle:
        out += [md_text(report.subtitle), ""]
    for w in report.warnings:
        out += [f"> **Warning:** {md_text(w)}", ""]
    for section in report.sections:
        out += [f"## {md_text(section.heading)}", ""]
        for block in section.blocks:
            if isinstance(block, Table):
                out += [markdown_table(block), ""]
            elif isinstance(block, Lines):
                if block.bullets:
                    out += [f"- {md_text(item)}" for item in block.items]
                else:
                    out += [md_text(item) + "  " for item in block.items]
                    out[-1] = out[-1].rstrip()
                out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


# --- HTML ------------------------------------------------------------------------------------------------

def _num(t: Table, i: int) -> str:
    return ' class="num"' if t.alignment(i) == "r" else ""


def html_table(t: Table) -> str:
    esc = html.escape
    parts = []
    if t.title:
        parts.append(f"<h3>{esc(t.title)}</h3>")
    parts.append("<table>")
    if any(t.columns):
        heads = "".join(f"<th{_num(t, i)}>{esc(c)}</th>" for i, c in enumerate(t.columns))
        parts.append(f"<thead><tr>{heads}</tr></thead>")
    parts.append("<tbody>")
    for j, row in enumerate(t.rows):
        total = t.total_last and j == len(t.rows) - 1
        tag = "th" if total else "td"
        cells = "".join(f"<{tag}{_num(t, i)}>{esc(c)}</{tag}>" for i, c in enumerate(row))
        parts.append(f"<tr>{cells}</tr>")
    parts.append("</tbody></table>")
    if t.note:
        parts.append(f'<p class="muted">{esc(t.note)}</p>')
    return "\n".join(parts)


def to_html(report: Report) -> str:
    esc = html.escape
    sections = []
    for section in report.sections:
        inner = []
        for block in section.blocks:
            if isinstance(block, Chart):
                inner.append(block.svg)
            elif isinstance(block, Table):
                inner.append(html_table(block))
            elif isinstance(block, Lines):
                if block.bullets:
                    inner.append("<ul>" + "".join(f"<li>{esc(i)}</li>" for i in block.items) + "</ul>")
                else:
                    inner += [f"<p>{esc(i)}</p>" for i in block.items]
        sections.append((section.heading, "\n".join(inner)))
    if report.warnings:
        warn = "".join(f"<p><strong>Warning:</strong> {esc(w)}</p>" for w in report.warnings)
        heading, inner = sections[0]
        sections[0] = (heading, warn + "\n" + inner)
    return html_page(report.title, report.subtitle, sections)
