"""The help screen: every key of the screen underneath, read from the live BINDINGS, grouped by where they work.

Nothing is listed by hand: the keys come from the app's, the screen's and its widgets' bindings at the moment
help opens (keymaps included), so help cannot drift from the code. Textual's own widget bindings (cursor keys
in a list, editing keys in an input) are left out; the app's quit and command-palette keys are kept."""

from __future__ import annotations

import re

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Static

ABOUT = ("shopsim plays a scenario on a virtual clock: synthetic shoppers browse, fill carts, abandon them and "
         "order, and every message the marketplace sends them goes through the notification policies. The "
         "bar at the top shows the virtual time and the transport (playing or paused, and the speed); the shoppers "
         "are on the left; on the right, the selected shopper's inbox (i) and her notification settings (e); "
         "the live feed at the bottom shows each event as it happens. Ask \"why?\" about any message "
         "to see the policy steps that decided it.")

# Textual's own app-level keys worth listing (its widgets' cursor and editing keys are left out).
APP_BUILTINS = {"quit": "Quit", "command_palette": "Command palette: every command by name"}


def _declared_actions(node: DOMNode) -> set[str]:
    """Actions bound by the node's own classes (not by Textual's widgets it derives from)."""
    actions: set[str] = set()
    for cls in type(node).__mro__:
        if cls.__module__.split(".")[0] == "textual":
            continue
        for b in cls.__dict__.get("BINDINGS", ()):
            if isinstance(b, Binding):
                actions.add(b.action)
            elif isinstance(b, tuple) and len(b) >= 2:
                actions.add(b[1])
    return actions


def _words(name: str) -> str:
    """MainScreen -> "Main screen", toggle_play -> "Toggle play"."""
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ").replace(".", ": ").strip()
    return text[:1].upper() + text[1:].lower()


def group_title(node: DOMNode) -> str:
    """A node's heading in help: its `HELP_TITLE` if it has one, else its class name in words."""
    if isinstance(node, App):
        return "Everywhere"
    title = getattr(node, "HELP_TITLE", None)
    return title if isinstance(title, str) and title else _words(type(node).__name__)


def node_keys(node: DOMNode, app: App) -> list[tuple[str, str]]:
    """(keys, description) for the node's own bindings; keys bound to one action share a row."""
    declared = _declared_actions(node)
    rows: dict[str, list[str]] = {}
    for _key, binding in node._bindings:
        if binding.action in declared:
            text = binding.description or binding.tooltip or _words(binding.action)
        elif isinstance(node, App) and binding.action in APP_BUILTINS:
            text = APP_BUILTINS[binding.action]
        else:
            continue
        key = app.get_key_display(binding)
        keys = rows.setdefault(text, [])
        if key not in keys:
            keys.append(key)
    return [(" ".join(keys), text) for text, keys in rows.items()]


def binding_groups(screen: Screen, app: App) -> list[tuple[str, list[tuple[str, str]]]]:
    """The keys of `screen` and the app, grouped: the screen, then its widgets (in layout order, one group
    per widget class), then "Everywhere" (the app's)."""
    groups: list[tuple[str, list[tuple[str, str]]]] = []
    seen: set[type] = set()
    nodes: list[DOMNode] = [screen, *screen.walk_children(Widget)]
    for node in nodes:
        if type(node) in seen:
            continue
        seen.add(type(node))
        rows = node_keys(node, app)
        if rows:
            groups.append((group_title(node), rows))
    rows = node_keys(app, app)
    if rows:
        groups.append((group_title(app), rows))
    return groups


class HelpScreen(ModalScreen[None]):
    """The keys of the screen underneath and of the app, and what the screen shows; escape or ? closes.

    The dialog has a fixed height with the keys in a scrolling area between the title and the closing line,
    so nothing is ever cut off: on a wide terminal the groups stand in two columns (everything fits at
    160×48), on a small one the area scrolls (arrows, page keys, the wheel) and says so."""

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen #help-dialog {
        width: 90;
        max-width: 100%;
        height: 90%;
        border: round $primary;
        background: $surface;
        padding: 0 1;
    }
    HelpScreen.-two-columns #help-dialog {
        width: 150;
    }
    HelpScreen #help-title {
        text-style: bold;
        height: 1;
    }
    HelpScreen #help-keys {
        height: 1fr;
        scrollbar-size-vertical: 1;
    }
    HelpScreen #help-about {
        margin-bottom: 1;
    }
    HelpScreen #help-columns {
        height: auto;
    }
    HelpScreen .help-column {
        width: 1fr;
        height: auto;
    }
    HelpScreen .help-group {
        text-style: bold;
        color: $text-accent;
    }
    HelpScreen .help-rows {
        margin-bottom: 1;
    }
    HelpScreen #help-close {
        height: 1;
        color: $text-muted;
    }
    """

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("question_mark", "close", "Close", key_display="?", show=False),
    ]
    TWO_COLUMNS = 130  # from this many columns the key groups stand side by side

    def __init__(self, about: str | None = None) -> None:
        super().__init__()
        self.about = about

    def _screen_below(self) -> Screen | None:
        stack = self.app.screen_stack
        if self in stack:
            i = stack.index(self)
            return stack[i - 1] if i > 0 else None
        return stack[-1] if stack else None

    def compose(self) -> ComposeResult:
        below = self._screen_below()
        about = self.about or (getattr(below, "HELP", None) if below is not None else None) or ABOUT
        groups = binding_groups(below, self.app) if below is not None else []
        self.groups = groups
        two = self.app.size.width >= self.TWO_COLUMNS and len(groups) > 1
        self.set_class(two, "-two-columns")
        width = max((len(k) for _, rows in groups for k, _ in rows), default=4)
        blocks = [(title, Content("\n").join(
            Content.assemble((f"  {k:<{width}}", "bold"), "  ", text) for k, text in rows), len(rows))
            for title, rows in groups]
        columns = _balance(blocks, 2 if two else 1)
        with Vertical(id="help-dialog"):
            yield Static("Help", id="help-title")
            with VerticalScroll(id="help-keys"):
                yield Static(Content(" ".join(str(about).split())), id="help-about")
                with Horizontal(id="help-columns"):
                    for column in columns:
                        with Vertical(classes="help-column"):
                            for title, rows, _ in column:
                                yield Static(title, classes="help-group")
                                yield Static(rows, classes="help-rows")
            yield Static("escape or ? closes", id="help-close")

    def on_mount(self) -> None:
        self.query_one("#help-keys").focus()  # arrows and page keys scroll it from the start
        self.call_after_refresh(self._say_if_it_scrolls)

    def on_resize(self) -> None:
        self.call_after_refresh(self._say_if_it_scrolls)

    def _say_if_it_scrolls(self) -> None:
        if not self.is_attached or not self.query("#help-keys"):
            return
        keys = self.query_one("#help-keys", VerticalScroll)
        more = keys.max_scroll_y > 0
        self.query_one("#help-close", Static).update(
            "↑/↓, page keys or the wheel scroll · escape or ? closes" if more else "escape or ? closes")

    def action_close(self) -> None:
        self.dismiss()


def _balance(blocks: list, n: int) -> list[list]:
    """Split the groups, in order, into `n` columns of about equal height (a group is never split)."""
    if n <= 1 or not blocks:
        return [blocks]
    total = sum(rows + 2 for _, _, rows in blocks)
    columns: list[list] = [[]]
    height = 0
    for block in blocks:
        _, _, rows = block  # a group: its title, its keys, how many
        if columns[-1] and len(columns) < n and height + (rows + 2) / 2 > total / n:
            columns.append([])
            height = 0
        columns[-1].append(block)
        height += rows + 2
    return columns
