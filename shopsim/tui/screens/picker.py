"""The scenario picker: the scenarios in ./scenarios and the shipped ones, with a filter; enter chooses one.
A scenario with a `narration:` is marked as a lesson, with its number of steps.

The list is the one `shopsim scenarios` prints (same folders, same order, a file in ./scenarios hides a shipped
file of the same name). Files are read in a thread worker, so a folder of large scenarios never blocks the
interface. A file that does not load is listed too, marked invalid; choosing it shows its problems."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from shopsim.scenario.shipped import scenario_dirs
from shopsim.validate import load_scenario
from shopsim.scenario.problems import ScenarioError


class ScenarioChosen(Message):
    """The user chose a scenario file (in the picker, or "load it again" on the errors screen)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path


@dataclass(frozen=True)
class ScenarioEntry:
    """One scenario file as the picker shows it. `problems` > 0 means the file does not load."""

    path: Path
    name: str
    size: int | None = None
    duration: str = ""
    description: str = ""
    problems: int = 0
    first_problem: str = ""
    lesson_steps: int = 0  # the steps of its `narration:`, a lesson the app tells as it plays

    @property
    def lesson(self) -> str:
        n = self.lesson_steps
        return f"lesson · {n} step{'s' if n != 1 else ''}" if n else ""

    @property
    def valid(self) -> bool:
        return self.problems == 0

    @property
    def shown_path(self) -> str:
        """The file relative to the current folder when it is inside it."""
        try:
            return str(self.path.resolve().relative_to(Path.cwd().resolve()))
        except (ValueError, OSError):
            return str(self.path)

    def matches(self, words: Sequence[str]) -> bool:
        """Every word (lower case) occurs in the name, the description or the file name."""
        hay = f"{self.name}\n{self.description}\n{self.first_problem}\n{self.path.name}\n{self.lesson}".lower()
        return all(w in hay for w in words)


def read_entry(path: Path) -> ScenarioEntry:
    """Load one scenario file for the list; a file that does not load becomes an invalid entry."""
    try:
        sc = load_scenario(path)
    except ScenarioError as err:
        first = err.problems[0] if err.problems else None
        text = f"{first.path}: {first.message}" if first is not None and first.path != "-" else (
            first.message if first is not None else "cannot be loaded")
        return ScenarioEntry(path, path.stem, problems=max(1, err.total), first_problem=text)
    return ScenarioEntry(path, sc.run.name, sc.population.size, str(sc.run.duration),
                         " ".join((sc.run.description or "").split()), lesson_steps=len(sc.narration))


def scenario_entries(dirs: Iterable[Path] | None = None) -> list[ScenarioEntry]:
    """Every scenario file in `dirs` (default: `scenario_dirs()`, i.e. ./scenarios then the shipped ones),
    in the order `shopsim scenarios` lists them: by folder, then by file name; a file name seen in an
    earlier folder hides the same name in a later one."""
    out: list[ScenarioEntry] = []
    seen: set[str] = set()
    for d in scenario_dirs() if dirs is None else dirs:
        for f in sorted(Path(d).glob("*.y*ml")):
            if f.name in seen or f.suffix not in (".yaml", ".yml"):
                continue
            seen.add(f.name)
            out.append(read_entry(f))
    return out


def _prompt(entry: ScenarioEntry) -> Content:
    if entry.valid:
        shoppers = f"{entry.size:,} shopper{'s' if entry.size != 1 else ''}"
        head = Content.assemble((f"{entry.name:<24}", "bold"), (f"{shoppers:>16}", "$text-accent"),
                                "  ", (f"{entry.duration:<5}", "$text-accent"), "  ", (entry.shown_path, "dim"))
        body = Content(entry.description or "(no description)")
        if entry.lesson:
            body = Content.assemble((entry.lesson, "bold $text-success"), Content(" · "), body)
    else:
        n = entry.problems
        head = Content.assemble((f"{entry.name:<24}", "bold $text-error"),
                                (f"{'invalid':>16}", "bold $text-error"), "  ", (f"{'':<5}", ""), "  ",
                                (entry.shown_path, "dim"))
        body = Content.assemble((f"{n} problem{'s' if n != 1 else ''}, the first: ", "$text-error"),
                                entry.first_problem)
    return Content.assemble(head, "\n", body)


class PickerScreen(Screen):
    """Choose a scenario: type to filter, up/down to move, enter to open."""

    DEFAULT_CSS = """
    PickerScreen {
        padding: 1 2 0 2;
    }
    PickerScreen #picker-title {
        text-style: bold;
        margin-bottom: 1;
    }
    PickerScreen #picker-filter {
        margin-bottom: 1;
    }
    PickerScreen #picker-list {
        height: 1fr;
        border: none;
        padding: 0;
    }
    PickerScreen #picker-list > .option-list--option {
        padding: 0 1;
    }
    PickerScreen #picker-status {
        color: $text-muted;
        height: 1;
    }
    """

    BINDINGS = [
        Binding("enter", "choose", "Open", priority=True),  # before the filter's own enter
        Binding("down", "cursor_down", "Down", show=False),
        Binding("up", "cursor_up", "Up", show=False),
        Binding("pagedown", "page_down", show=False),
        Binding("pageup", "page_up", show=False),
        Binding("escape", "back", "Clear filter / back"),
        Binding("ctrl+r", "rescan", "Read the files again"),
        Binding("ctrl+q", "app.quit", "Quit", priority=True),
    ]

    HELP = ("The scenario picker lists the scenarios in ./scenarios and the shipped ones, with their size "
            "and length; \"lesson · N steps\" marks one that explains itself as it plays (type lesson to list "
            "only those). Type to filter, move with the arrows and press enter to open one. A file marked "
            "invalid opens on the list of its problems.")

    def __init__(self, dirs: Sequence[Path] | None = None) -> None:
        super().__init__()
        self.dirs = None if dirs is None else list(dirs)
        self.entries: list[ScenarioEntry] = []
        self.shown: list[ScenarioEntry] = []
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield Static("Choose a scenario", id="picker-title")
        yield Input(placeholder="Type to filter by name, description or file; ↑ ↓ move, enter opens", id="picker-filter")
        option_list = OptionList(id="picker-list")
        option_list.can_focus = False  # the filter keeps the focus; up/down/enter act on the list
        yield option_list
        yield Static("Reading the scenario files…", id="picker-status", markup=False)  # it echoes the filter
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#picker-filter", Input).focus()
        self._scan()

    @work(thread=True, exclusive=True, group="picker-scan")
    def _scan(self) -> None:
        entries = scenario_entries(self.dirs)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._set_entries, entries)

    def _set_entries(self, entries: list[ScenarioEntry]) -> None:
        if not self.is_mounted:  # the picker was closed while the files were being read
            return
        self.entries = entries
        self.loaded = True
        self._refilter(prefer="default")

    # --- filtering ---------------------------------------------------------------------------------

    @property
    def option_list(self) -> OptionList:
        return self.query_one("#picker-list", OptionList)

    @on(Input.Changed, "#picker-filter")
    def _filter_changed(self, _event: Input.Changed) -> None:
        self._refilter()

    def _refilter(self, prefer: str | None = None) -> None:
        words = self.query_one("#picker-filter", Input).value.lower().split()
        current = self.highlighted_entry
        self.shown = [e for e in self.entries if e.matches(words)]
        ol = self.option_list
        ol.set_options(Option(_prompt(e), id=str(i)) for i, e in enumerate(self.shown))
        if self.shown:
            keep = [i for i, e in enumerate(self.shown) if current is not None and e.path == current.path]
            named = [i for i, e in enumerate(self.shown) if e.name == prefer]
            ol.highlighted = (keep or named or [0])[0]
        self._update_status(words)

    def _update_status(self, words: list[str]) -> None:
        total, n = len(self.entries), len(self.shown)
        bad = sum(not e.valid for e in self.entries)
        if not total:
            text = "No scenario files found in ./scenarios or among the shipped ones."
        elif words and not n:
            text = f"No scenario matches “{' '.join(words)}” (escape clears the filter)."
        elif words:
            text = f"{n} of {total} scenarios match."
        else:
            text = f"{total} scenarios" + (f", {bad} invalid" if bad else "") + "."
        self.query_one("#picker-status", Static).update(text)

    @property
    def highlighted_entry(self) -> ScenarioEntry | None:
        index = self.option_list.highlighted if self.is_mounted else None
        return self.shown[index] if index is not None and 0 <= index < len(self.shown) else None

    # --- actions -----------------------------------------------------------------------------------

    def action_cursor_down(self) -> None:
        self.option_list.action_cursor_down()

    def action_cursor_up(self) -> None:
        self.option_list.action_cursor_up()

    def action_page_down(self) -> None:
        self.option_list.action_page_down()

    def action_page_up(self) -> None:
        self.option_list.action_page_up()

    def action_choose(self) -> None:
        entry = self.highlighted_entry
        if entry is not None:
            self.post_message(ScenarioChosen(entry.path))

    @on(OptionList.OptionSelected, "#picker-list")
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_choose()

    def action_back(self) -> None:
        """Clear the filter; with no filter, go back to the screen the picker was opened from (if any)."""
        flt = self.query_one("#picker-filter", Input)
        if flt.value:
            flt.value = ""
            return
        stack = self.app.screen_stack
        if len(stack) > 1 and stack[-1] is self and stack[-2].id != "_default":
            self.dismiss()

    def action_rescan(self) -> None:
        self.query_one("#picker-status", Static).update("Reading the scenario files…")
        self._scan()
