"""The help screen: every key of the screen underneath, read from the live BINDINGS, grouped by where they work.

Nothing is listed by hand: the keys come from the app's, the screen's and its widgets' bindings at the moment
help opens (keymaps included), so help cannot drift from the code. Textual's own widget bindings (cursor keys
in a list, editing keys in an input) are left out; the app's quit and command-palette keys are kept."""

from __future__ import annotations

import re

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
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
    """The keys of the screen underneath and of the app, and what the screen shows; escape or ? closes."""

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen #help-dialog {
        width: 90;
        max-width: 100%;
        height: auto;
        max-height: 90%;
        border: round $primary;
        background: $surface;
        padding: 0 1;
    }
    HelpScreen #help-title {
        text-style: bold;
        margin-bottom: 1;
    }
    HelpScreen #help-about {
        margin-bottom: 1;
    }
    HelpScreen #help-keys {
        height: auto;
        max-height: 1fr;
    }
    HelpScreen .help-group {
        text-style: bold;
        color: $text-accent;
    }
    HelpScreen .help-rows {
        margin-bottom: 1;
    }
    HelpScreen #help-close {
        color: $text-muted;
    }
    """

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("question_mark", "close", "Close", key_display="?", show=False),
    ]

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
        with Vertical(id="help-dialog"):
            yield Static("Help", id="help-title")
            yield Static(Content(" ".join(str(about).split())), id="help-about")
            with VerticalScroll(id="help-keys"):
                width = max((len(k) for _, rows in groups for k, _ in rows), default=4)
                for title, rows in groups:
                    yield Static(title, classes="help-group")
                    lines = [Content.assemble((f"  {k:<{width}}", "bold"), "  ", text) for k, text in rows]
                    yield Static(Content("\n").join(lines), classes="help-rows")
            yield Static("escape or ? closes", id="help-close")

    def action_close(self) -> None:
        self.dismiss()
