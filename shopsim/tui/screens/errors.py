"""The errors screen: a scenario that does not load, with every problem as `shopsim validate` prints it."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from shopsim.scenario.problems import Problem, ScenarioError
from shopsim.tui.screens.picker import ScenarioChosen


class OpenPicker(Message):
    """The user asked for the scenario picker (from the errors screen)."""


def problems_title(err: ScenarioError) -> str:
    n = err.total  # the list stops at 200 problems and a line counting the rest
    return f"This scenario has {n} problem{'s' if n != 1 else ''}"


def problem_line(problem: Problem) -> Content:
    """`file:line:col: path: message`, exactly as `shopsim validate` prints it, with the place highlighted."""
    where = f"{problem.file}:{problem.line}:{problem.col}:"
    return Content.assemble((where, "bold"), " ", (f"{problem.path}:", "$text-accent"), " ", problem.message)


class ErrorsScreen(Screen):
    """Every problem of a scenario file that does not load; o opens the picker, r loads the file again."""

    DEFAULT_CSS = """
    ErrorsScreen {
        padding: 1 2 0 2;
    }
    ErrorsScreen #errors-title {
        text-style: bold;
        color: $text-error;
    }
    ErrorsScreen #errors-list {
        height: 1fr;
    }
    ErrorsScreen .problem {
        border-left: thick $error;
        padding-left: 1;
    }
    ErrorsScreen #errors-hint {
        color: $text-muted;
        margin-bottom: 1;
    }
    """

    BINDINGS = [
        Binding("o", "open_picker", "Choose another scenario"),
        Binding("enter", "open_picker", "Choose another scenario", show=False),
        Binding("r", "retry", "Load it again"),
        Binding("q", "app.quit", "Quit"),
    ]

    HELP = ("The scenario file could not be loaded. Each line names the file, line and column, the field and "
            "what is wrong, as `shopsim validate` prints it. Fix the file and press r to load it again, or "
            "press o to choose another scenario.")

    def __init__(self, error: ScenarioError, path: Path | str) -> None:
        super().__init__()
        self.error = error
        self.path = Path(path)

    def compose(self) -> ComposeResult:
        yield Static(problems_title(self.error), id="errors-title")
        yield Static(Content.assemble((str(self.path), "bold"), " could not be loaded."), id="errors-file")
        yield Static("Fix the file and press r to load it again, or press o (or enter) to choose another "
                     "scenario; q quits.", id="errors-hint")
        with VerticalScroll(id="errors-list"):
            for problem in self.error.problems:
                yield Static(problem_line(problem), classes="problem")
        yield Footer()

    @property
    def lines(self) -> list[str]:
        """The problems as plain text, one `file:line:col: path: message` per problem."""
        return [str(p) for p in self.error.problems]

    def action_open_picker(self) -> None:
        self.post_message(OpenPicker())

    def action_retry(self) -> None:
        self.post_message(ScenarioChosen(self.path))
