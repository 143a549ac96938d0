"""The Textual app: one factory (`make_app`) for the CLI, `shopsim serve` and the tests.

The app owns the state (the `Simulation`, its driver and one `Metrics`); screens and widgets read it. The
simulation is built in a thread worker (a 100k-shopper population takes seconds) while the main screen already
shows a preview of it (run_preview.py: the shoppers in view, built as they are read); the screen then takes
the run, which an async worker plays in slices that post `SimAdvanced` messages."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from pathlib import Path

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen

from shopsim.metrics.kpis import Metrics
from shopsim.scenario.compiled import compile_scenario
from shopsim.notify.templates import TemplateLimitError
from shopsim.scenario.loader import problem_in_file
from shopsim.validate import load_scenario
from shopsim.scenario.problems import ScenarioError
from shopsim.simulation import Simulation
from shopsim.tui.commands import ShopsimCommands
from shopsim.tui.driver import FRAME_S, SimDriver
from shopsim.tui.messages import NarrationReached, SimAdvanced
from shopsim.tui.recording import Recording, RunOutputs, save
from shopsim.tui.run_preview import PREPARING, Preparing, RunPreview
from shopsim.tui.save_files import SaveError, Target, when
from shopsim.tui.safe_text import neutralise_control_characters
from shopsim.tui.themes import PROJECTOR

neutralise_control_characters()  # before any widget draws scenario text


class ShopsimApp(App):
    TITLE = "shopsim"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {ShopsimCommands}
    # Every action, for the command palette: (title, help, action).
    COMMANDS_LIST = [
        ("Play / pause", "start or stop the virtual clock (space)", "toggle_play"),
        ("Step to the next event", "run until the simulation emits something (n)", "step_event"),
        ("Step to the next message", "run until a notification is decided (m)", "step_notification"),
        ("Jump one hour", "run one virtual hour (h)", "jump_hour"),
        ("Jump one day", "run one virtual day (d)", "jump_day"),
        ("Faster", "raise the speed (+)", "faster"),
        ("Slower", "lower the speed (-)", "slower"),
        ("KPIs and plots", "the run's KPIs, updating live (k)", "kpis"),
        ("Search shoppers", "filter the shoppers table (/)", "search"),
        ("Presenter mode", "a larger, calmer layout for a projector", "toggle_presenter"),
        ("Narration on / off", "whether the scenario's narration steps pause the run", "toggle_narration"),
        ("Restart the run", "the same scenario and seed from time 0; settings changed by hand are gone (ctrl+r)",
         "restart"),
        ("Save this run…", "the run so far as an event log (and a database) for report, inbox, explain, diff",
         "save_run"),
        ("Open another scenario", "the scenario picker (o)", "open_picker"),
        ("Help", "every key binding (?)", "help"),
        ("Quit", "leave shopsim (q)", "quit"),
    ]
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("o", "open_picker", "Scenarios", show=False),
        Binding("ctrl+r", "restart", "Restart the run", show=False),
    ]

    def __init__(self, scenario: Path | None = None, seed: int | None = None, *, autoplay: bool = False,
                 presenter: bool = False, outputs: RunOutputs | None = None) -> None:
        super().__init__()
        self.scenario_path = scenario
        self.seed = seed
        self.autoplay = autoplay
        self.presenter = presenter
        self.sim: Simulation | None = None
        self.driver: SimDriver | None = None
        self.metrics: Metrics | None = None
        self.main_screen = None  # the MainScreen of the loaded scenario: the driver's batches go there
        self.preview_screen = None  # the MainScreen showing a preview of the run being built, until it takes it
        self.outputs = outputs   # `shopsim run --log/--db`: the files the run of `scenario` is written to
        self.recording: Recording | None = None  # the current run's lines, for "Save this run…" (and outputs)
        self._model = None       # the loaded scenario, for a restart
        self._carry: tuple[bool, int] | None = None  # narration on/off and speed, kept across a restart

    # --- loading ----------------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.register_theme(PROJECTOR)
        self._theme_before_presenter = self.theme
        if self.presenter:
            self.presenter = False
            self.action_toggle_presenter()
        if self.scenario_path is None:
            self.action_open_picker()
        else:
            self.load(self.scenario_path)

    def load(self, path: Path) -> None:
        self.pause_play()
        try:
            model = load_scenario(path)
        except ScenarioError as err:
            from shopsim.tui.screens.errors import ErrorsScreen
            self.preview_screen = None  # a run still being built for the screen left is not wanted any more
            self.switch_to(ErrorsScreen(err, path))
            return
        self.scenario_path, self._model = path, model
        self._open(model)

    def _open(self, model) -> None:
        """Show the main screen over a preview of the run at once, and build the run behind it."""
        from shopsim.tui.screens.main import MainScreen

        cs = compile_scenario(model, self.seed)
        preview = RunPreview(cs)
        # The speed it will start at: kept across a restart; 10 min/s for a presenter, slow enough to talk over.
        speed = self._carry[1] if self._carry is not None else 3 if self.presenter else SimDriver.START_SPEED
        self.main_screen = None
        self.preview_screen = MainScreen(preview, Preparing(preview, speed, playing=self.autoplay), None)
        self.sub_title = cs.name
        self.switch_to(self.preview_screen)  # it asks for its run once drawn (on_preview_shown)

    def on_preview_shown(self, message) -> None:
        if message.screen is self.preview_screen:
            self._build(message.screen.sim.scenario, message.screen)

    def switch_to(self, screen: Screen) -> None:
        """Replace whatever is shown (modals included) with `screen`."""
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.push_screen(screen)

    @work(thread=True, exclusive=True, group="build")
    def _build(self, cs, screen) -> None:
        sim = Simulation(cs)
        screen.sim.shoppers.use(sim.shoppers)  # the preview reads them now: a search builds nothing more
        metrics = Metrics()
        sim.subscribe(metrics)
        recording = Recording(cs, self.outputs, self._tell_recording)
        recording.start(sim)  # the run's start: every shopper created (the slow part at 100k) before the UI takes it
        # The population is long-lived: keep the cyclic collector from rescanning it on every full collection
        # (at 100k shoppers those scans alone stall the interface for a quarter of a second).
        gc.collect()
        gc.freeze()
        self.call_from_thread(self._sim_ready, sim, metrics, recording, screen)
        recording.write_start()  # a line for every shopper, written while the interface draws the run

    def _sim_ready(self, sim: Simulation, metrics: Metrics, recording: Recording, screen) -> None:
        if screen is not self.preview_screen:  # built for a screen since left (another scenario, a restart)
            recording.drop()
            return
        self.preview_screen = None
        self.sim, self.metrics, self.recording = sim, metrics, recording
        self.driver = SimDriver(sim)
        waiting = screen.driver  # the preview's stand-in: the speed shown, and whether space asked to play
        self.driver.speed_index = waiting.speed_index
        if self._carry is not None:
            self.driver.narrator.enabled, self._carry = self._carry[0], None
        self.main_screen = screen
        screen.adopt(sim, self.driver, metrics)
        if waiting.playing:
            self.driver.toggle()
            screen.refresh_transport()
        self._play_loop()

    # --- playing ----------------------------------------------------------------------------------

    @work(exclusive=True, group="play")
    async def _play_loop(self) -> None:
        driver = self.driver
        last = time.perf_counter()
        while driver is self.driver:
            now = time.perf_counter()
            try:
                was_busy, events = driver.busy, driver.slice(now - last)  # a jump's last slice may emit nothing
            except TemplateLimitError as e:
                self._stopped_by(e)
                return
            last = now
            main = self.main_screen
            if main is not None and (events or was_busy):
                main.post_message(SimAdvanced(events, driver.sim.now, driver.finished))
            if main is not None and driver.narration is not None:
                hit, driver.narration = driver.narration, None
                main.post_message(NarrationReached(hit))
            # Sleep the rest of the frame: the interface keeps the loop between slices.
            await asyncio.sleep(max(0.0, FRAME_S - (time.perf_counter() - now)))

    def _stopped_by(self, e: TemplateLimitError) -> None:
        """The scenario's own template went past a rendering limit on a real message: the run cannot go on
        as written. Show where, as a scenario that does not load is shown (r loads it again once fixed)."""
        from shopsim.tui.screens.errors import ErrorsScreen

        sim, self.driver = self.sim, None  # ends the play loop
        self._leave_recording("failed")
        where = problem_in_file(self.scenario_path, e.path, f"{e.message} (at {sim.iso()})")
        self.switch_to(ErrorsScreen(ScenarioError([where]), self.scenario_path))

    def pause_play(self) -> None:
        if self.driver is not None:
            self.driver.pause()

    # --- transport (bound on the main screen; buttons and the command palette run them too) ----------

    def _transport(self, command: str) -> None:
        if self.driver is None:
            self._while_preparing(command)
            return
        try:
            getattr(self.driver, command)()
        except TemplateLimitError as e:
            self._stopped_by(e)
            return
        refresh = getattr(self.screen, "refresh_transport", None)
        if refresh is not None:
            refresh()

    def _while_preparing(self, command: str) -> None:
        """A transport key before the run is ready: space says whether to play once it is; the rest wait."""
        screen = self.preview_screen
        if screen is None or self.screen is not screen:
            return
        if command in ("toggle", "faster", "slower"):
            getattr(screen.driver, command)()
            screen.refresh_transport()
        else:
            self.notify(f"Not yet: {PREPARING}.", timeout=3)

    def action_toggle_play(self) -> None:
        self._transport("toggle")

    def action_step_event(self) -> None:
        self._transport("step_event")

    def action_step_notification(self) -> None:
        self._transport("step_notification")

    def action_jump_hour(self) -> None:
        self._transport("jump_hour")

    def action_jump_day(self) -> None:
        self._transport("jump_day")

    def action_faster(self) -> None:
        self._transport("faster")

    def action_slower(self) -> None:
        self._transport("slower")

    def action_kpis(self) -> None:
        if self.sim is None or self.metrics is None:
            return
        from shopsim.tui.screens.kpis import KpiScreen
        self.push_screen(KpiScreen(self.sim, self.metrics))

    # --- actions that work everywhere -------------------------------------------------------------

    def action_search(self) -> None:
        search = getattr(self.main_screen, "action_search", None)
        if search is not None and self.screen is self.main_screen:
            search()

    def action_toggle_narration(self) -> None:
        if self.driver is None:
            return
        narrator = self.driver.narrator
        narrator.enabled = not narrator.enabled
        self.notify("Narration on: its steps pause the run." if narrator.enabled
                    else "Narration off: the run plays through its steps.")

    def action_toggle_presenter(self) -> None:
        """A projector's layout (app.tcss `.presenter`) in a high-contrast theme; off, the theme before it."""
        self.presenter = not self.presenter
        self.set_class(self.presenter, "presenter")
        if self.presenter:
            self._theme_before_presenter = self.theme
            self.theme = PROJECTOR.name
        elif self.theme == PROJECTOR.name:
            self.theme = self._theme_before_presenter

    def action_help(self) -> None:
        from shopsim.tui.screens.help import HelpScreen
        self.push_screen(HelpScreen())

    def action_open_picker(self) -> None:
        from shopsim.tui.screens.picker import PickerScreen
        self.pause_play()
        self.push_screen(PickerScreen())

    def on_scenario_chosen(self, message) -> None:
        self.driver = None  # ends the play loop of the previous scenario
        self._leave_recording("finished")
        self.load(message.path)

    def on_open_picker(self, _message) -> None:
        self.action_open_picker()

    # --- restart, recording and saving -------------------------------------------------------------

    def action_restart(self) -> None:
        """The same scenario and seed from time 0, as it was loaded (settings changed by hand are gone); narration
        on/off, the speed and presenter mode stay. `--log/--db` files start over with it."""
        if self._model is None or self.driver is None or self.main_screen not in self.screen_stack:
            return
        self._carry = (self.driver.narrator.enabled, self.driver.speed_index)
        self.driver = None  # ends the play loop
        if self.recording is not None:
            self.recording.drop()
        if self.outputs is not None:
            try:
                self.outputs.start_over()
            except Exception as e:  # a disk gone, a database server gone: the run restarts unrecorded
                self.notify(f"{self.outputs.names} cannot start over ({e}); the restarted run is not recorded "
                            "to them.", severity="error", timeout=15, markup=False)
                self.outputs.close("failed")
                self.outputs = None
        self.sim = self.metrics = self.recording = self.main_screen = None
        self._open(self._model)

    def _leave_recording(self, status: str) -> None:
        """The run is left (another scenario) or cannot go on: end its files, say what they hold."""
        recording, self.recording = self.recording, None
        text = recording.close(status) if recording is not None else None
        if text is None and self.outputs is not None:
            text = self.outputs.close(status)
        self.outputs = None
        if text is not None:
            self.notify(f"Recorded {text}; what follows is not.", timeout=15, markup=False)

    def _tell_recording(self, text: str) -> None:
        if threading.get_ident() == self._thread_id:
            self.notify(text, severity="error", timeout=15, markup=False)
        else:
            self.call_from_thread(self._tell_recording, text)

    def action_save_run(self) -> None:
        if self.recording is None or self.sim is None or self.main_screen not in self.screen_stack:
            self.notify("Nothing to save yet: open a scenario first.", severity="warning")
            return
        from shopsim.tui.screens.save import SaveScreen

        outputs = self.outputs
        keep_off = (self.scenario_path, *((outputs.log_path, outputs.db_label) if outputs is not None else ()))
        self.push_screen(SaveScreen(self.sim.scenario, keep_off), self._save_to)

    def _save_to(self, target: Target | None) -> None:
        if target is None:
            return
        if self.recording is None:  # the run was left while the dialog was open
            target.give_up()
            return
        try:
            snap = self.recording.snapshot()
        except SaveError as e:
            target.give_up()
            self.notify(f"Cannot save: {e}", severity="error", timeout=15, markup=False)
            return
        self._save_worker(snap, target, when(snap.cs, snap.now))

    @work(thread=True, group="save")
    def _save_worker(self, snap, target: Target, at: str) -> None:
        try:
            text = f"Saved the run up to {at} ({snap.events:,} events) to {save(snap, target)}."
            title, severity = "Saved", "information"
        except SaveError as e:
            text, title, severity = f"Could not save: {e}", "", "error"
        try:
            self.call_from_thread(self.notify, text, title=title, severity=severity, timeout=15, markup=False)
        except RuntimeError:  # the app was quit meanwhile: the save is complete all the same
            pass


def make_app(scenario: Path | None = None, seed: int | None = None, **kwargs) -> ShopsimApp:
    return ShopsimApp(scenario, seed, **kwargs)
