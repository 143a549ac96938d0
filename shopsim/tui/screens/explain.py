"""The "why?" screen: one notification's decision trace, told in plain words.

It reads `sim.explain(notification_id)` (shopsim/notify/explain.py) and lays it out: the one-line summary on
top, coloured by the outcome; who, what, which channel and when; then each pass through the policy
pipeline with one line per step, coloured by that step's verdict. A notification still waiting (deferred)
is explained as it stands; `on_sim_events` redraws the screen when its story moves on.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from shopsim.report.labels import channel_words, words
from shopsim.simulation import Simulation
from shopsim.contract.events import Event

OUTCOME_STYLE = {
    "delivered": "bold green",
    "deferred": "bold yellow",
    "digested": "bold cyan",
    "suppressed": "bold red",
}
STEP_STYLE = {
    "pass": "dim",
    "deferred": "yellow",
    "suppressed": "red",
    "digested": "cyan",
    "rerouted": "yellow",
}
STEP_MARK = {"pass": "·", "deferred": "‖", "suppressed": "✘", "digested": "≡", "rerouted": "↪"}


def _when(iso: str, tz: str) -> tuple[str, str]:
    """'2026-03-02T23:00:00.000Z' -> ('Mon 2 Mar 23:00 UTC', 'Tue 3 Mar 00:00 local')."""
    t = datetime.fromisoformat(iso).astimezone(timezone.utc)
    local = t.astimezone(ZoneInfo(tz))
    fmt = "%a {d} %b %H:%M"
    return (t.strftime(fmt).format(d=t.day) + " UTC", local.strftime(fmt).format(d=local.day) + " local")


def _words(name: str) -> str:
    return name.replace("_", " ")


class ExplainScreen(ModalScreen[None]):
    """Why a notification was delivered, deferred, digested or suppressed. Escape or q closes it."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("q", "dismiss", "Close", show=False),
    ]

    DEFAULT_CSS = """
    ExplainScreen {
        align: center middle;
        #explain-box {
            width: 110;
            max-width: 96%;
            height: auto;
            max-height: 92%;
            border: thick $primary 80%;
            border-title-style: bold;
            background: $surface;
            padding: 0 1;
        }
        #explain-summary { padding: 0 1; margin-bottom: 1; border: round $border; }
        #explain-header { margin-bottom: 1; }
        #explain-scroll { height: auto; max-height: 100%; }
        #explain-hint { color: $text-muted; margin-top: 1; }
    }
    """

    def __init__(self, sim: Simulation, notification_id: str, *, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.sim = sim
        self.notification_id = notification_id
        self.explanation: dict[str, Any] | None = None  # what sim.explain() said, or None when it could not

    def compose(self) -> ComposeResult:
        with Vertical(id="explain-box") as box:
            box.border_title = f"Why? {self.notification_id}"
            yield Static(id="explain-summary")
            with VerticalScroll(id="explain-scroll"):
                yield Static(id="explain-header")
                yield Static(id="explain-trace")
            yield Static("esc / q  close", id="explain-hint")

    def on_mount(self) -> None:
        self.refresh_explanation()

    # --- public API -----------------------------------------------------------------------------------

    def refresh_explanation(self) -> None:
        """Ask the simulation again and redraw (a deferred notification may have been decided since)."""
        summary = self.query_one("#explain-summary", Static)
        header = self.query_one("#explain-header", Static)
        trace = self.query_one("#explain-trace", Static)
        try:
            why = self.sim.explain(self.notification_id)
        except LookupError as exc:
            self.explanation = None
            reason = exc.args[0] if exc.args else str(exc)
            summary.update(Text.assemble(("Nothing to explain. ", "bold"), (f"{reason}.", "")))
            header.update(Text("The id may be mistyped, or this run does not keep its notifications "
                               "(keep_messages=False); `shopsim explain RUN ID` reads a recorded run.", "dim"))
            trace.update("")
            return
        self.explanation = why
        summary.update(self._summary(why))
        header.update(self._header(why))
        trace.update(self._trace(why))

    def on_sim_events(self, events: list[Event]) -> None:
        """Redraw when the simulation decided something more about this notification."""
        nid = self.notification_id
        for ev in events:
            if ev.type.startswith("notification.") and (
                    ev.data.get("id") == nid or nid in (ev.data.get("digest_of") or ())):  # or its digest went
                self.refresh_explanation()
                return

    # --- drawing --------------------------------------------------------------------------------------

    @staticmethod
    def _summary(why: dict[str, Any]) -> Text:
        outcome = why.get("outcome") or "waiting"
        style = OUTCOME_STYLE.get(outcome, "bold")
        return Text.assemble((f" {outcome.upper()} ", f"reverse {style}"), "  ", (why["summary"], style))

    def _header(self, why: dict[str, Any]) -> Text:
        tz = why["tz"]
        try:
            name = self.sim.shopper(why["shopper"]).name
        except KeyError:
            name = why["shopper"]
        channel = channel_words(why["channel"])
        if why.get("requested_channel") and why["requested_channel"] != why["channel"]:
            channel = f"{channel} (rerouted from {channel_words(why['requested_channel'])})"
        utc, local = _when(why["requested_at"], tz)
        rows = [
            ("Shopper", f"{name} ({why['shopper']}) · {tz}"),
            ("Category", f"{_words(why['category'])} ({why['class']})"),
            ("Channel", channel),
            ("Kind", words(why["kind"].replace(".", " ")) if why.get("kind") else "–"),  # the event it tells of
            ("Source", why.get("source") or "–"),
        ]
        if why.get("ref"):
            rows.append(("About", why["ref"]))
        rows.append(("Requested", f"{utc} · {local}"))
        if why.get("digest"):
            rows.append(("Digest", f"batched into {why['digest']}"))
        if why.get("digest_of") is not None:
            rows.append(("Carries", ", ".join(why["digest_of"]) or "nothing"))
        out = Text()
        for i, (key, value) in enumerate(rows):
            if i:
                out.append("\n")
            out.append(f"{key:<11}", "bold")
            out.append(value)
        return out

    @staticmethod
    def _trace(why: dict[str, Any]) -> Text:
        passes = why["passes"]
        sentences: list[str] = why["sentences"][:-1]  # the last one is the summary, shown on top
        lead = len(sentences) - sum(len(p["steps"]) for p in passes)
        out = Text()
        for s in sentences[:lead]:  # what the message's class skips
            out.append(f"{s[:1].upper()}{s[1:]}.\n", "italic dim")
        i = lead
        final = why.get("outcome")
        for n, p in enumerate(passes, 1):
            utc, local = _when(p["t"], why["tz"])
            if n > 1 or lead:
                out.append("\n")
            out.append(f"Pass {n}", "bold")
            out.append(f" · {utc} · {local}\n", "bold dim")
            last_pass = n == len(passes)
            for j, step in enumerate(p["steps"]):
                verdict = step["outcome"]
                style = STEP_STYLE.get(verdict, "")
                mark = STEP_MARK.get(verdict, "·")
                if last_pass and final == "delivered" and j == len(p["steps"]) - 1:
                    style, mark = "green", "✔"
                out.append(f"  {mark} {sentences[i]}\n", style)
                i += 1
        if not passes:
            out.append("\nNot decided yet: it has not been through the pipeline.\n", "dim")
        out.rstrip()
        return out


__all__ = ["ExplainScreen"]
