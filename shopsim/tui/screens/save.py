"""The "Save this run…" dialog: where to write the run so far, and whether to write a database beside it.

The path is checked and claimed here (`check_save` in shopsim/tui/save_files.py, `plan_save` in
shopsim/tui/recording.py): a problem shows under the field and the dialog stays open. An existing file is
replaced only after a second Save. The dialog returns the claimed `Target`; the app then writes it in a
thread worker."""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Static

from shopsim.scenario.compiled import CompiledScenario
from shopsim.tui.recording import default_save_path, plan_save
from shopsim.tui.save_files import SaveError, Target, check_save
from shopsim.tui.widgets.onoff import OnOff


class SaveScreen(ModalScreen[Target | None]):
    DEFAULT_CSS = """
    SaveScreen { align: center middle; background: $background 50%; }
    SaveScreen #save-dialog {
        width: 72; max-width: 100%; height: auto; max-height: 100%; padding: 1 2;
        border: thick $accent; background: $surface;
    }
    SaveScreen #save-title { text-style: bold; color: $accent; margin-bottom: 1; }
    SaveScreen #save-about { color: $text-muted; margin-bottom: 1; }
    SaveScreen #save-problem { color: $error; height: auto; }
    SaveScreen #save-problem.-warning { color: $warning; }
    SaveScreen #save-buttons { height: auto; margin-top: 1; align-horizontal: right; }
    SaveScreen #save-buttons Button { margin-left: 2; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, cs: CompiledScenario, keep_off: tuple[Path | None, ...] = ()) -> None:
        super().__init__()
        self.cs = cs
        self.keep_off = keep_off
        self._confirmed: tuple[str, bool] | None = None  # the path (and box) a second Save may replace

    def compose(self) -> ComposeResult:
        with Vertical(id="save-dialog"):
            yield Static("Save this run", id="save-title")
            yield Static("The events so far, with the settings changed and the messages opened by hand, ending "
                         "with run.finished at the current time: shopsim report, inbox, explain and diff read "
                         "it. The run plays on.", id="save-about")
            yield Input(default_save_path(self.cs), id="save-path", placeholder="runs/my-run.jsonl")
            yield OnOff("Also write a database (.db beside it)", id="save-db")  # ✓ / ✗, as the settings
            yield Static("", id="save-problem", markup=False)
            with Horizontal(id="save-buttons"):
                yield Button("Save", variant="primary", id="save")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        field = self.query_one(Input)
        field.focus()
        field.cursor_position = len(field.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "save":
            self.action_save()
        else:
            self.action_cancel()

    def on_input_changed(self, _event: Input.Changed) -> None:
        self._say("")

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self._say("")
        if event.value:
            self._import_the_database_writer()

    @work(thread=True, exclusive=True, group="save-import")
    def _import_the_database_writer(self) -> None:
        # SQLAlchemy takes a third of a second to import, in spans that hold the interpreter lock: now, while
        # the user is in the dialog, rather than as a stutter of the run once the save has begun.
        import shopsim.store.writer  # noqa: F401

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_save(self) -> None:
        text, with_db = self.query_one(Input).value, self.query_one(Checkbox).value
        try:
            log, db = check_save(text, with_db, self.keep_off)
            there = [str(p) for p in (log, db) if p is not None and p.is_file()]
            if there and self._confirmed != (text, with_db):
                self._confirmed = (text, with_db)
                self._say(f"{' and '.join(there)} already there: Save again to replace "
                          f"{'them' if len(there) > 1 else 'it'}.", warning=True)
                return
            target = plan_save(text, with_db, self.keep_off)
        except SaveError as e:
            self._say(str(e))
            return
        except OSError as e:  # a path the system refuses outright (a name too long)
            self._say(f"cannot write {text.strip()}: {e.strerror or e}")
            return
        self.dismiss(target)

    def _say(self, text: str, warning: bool = False) -> None:
        problem = self.query_one("#save-problem", Static)
        problem.update(text)
        problem.set_class(warning, "-warning")
        if not warning:
            self._confirmed = None
