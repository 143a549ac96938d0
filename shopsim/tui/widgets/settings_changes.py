"""Changes from the user in the settings pane: each control's new value as the smallest patch of the
settings, applied through the simulation for the shown shopper or everyone in the pane's scope; a refused
one is said in words and the pane shows the truth again.

`SettingsChanges` is mixed into `SettingsPane` (settings.py), which builds the controls and redraws them."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from textual.widgets import Checkbox, Input, Select

from shopsim.contract.taxonomy import CATEGORY_CLASS, CRITICAL
from shopsim.scenario.settings import validate_patch
from shopsim.tui.widgets.settings_labels import CATEGORY_LABELS, CHANNEL_LABELS, FLAG_LABELS, shoppers_text


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        msgs = []
        for err in exc.errors():
            msg = str(err.get("msg", ""))
            msgs.append(msg.removeprefix("Value error, "))
        return "; ".join(dict.fromkeys(msgs)) or str(exc)
    return str(exc)


class SettingsChanges:
    """The change-handling half of `SettingsPane` (see the module's docstring)."""

    def _apply(self, patch: dict[str, Any], what: str) -> bool:
        """Apply `patch` for the shown shopper, or everyone in the scope; on refusal say why. Either way the
        pane then shows the truth."""
        try:
            if self._scope == "shopper":
                self.sim.apply_settings_change(self.shopper.id, patch, source="user")
            else:
                targets = self.targets()
                self.sim.apply_settings_change_many(targets, patch, source="user")
                whom = (f"segment {self.shopper.segment.name}" if self._scope == "segment" else "everyone")
                self.notify(f"{what[:1].upper()}{what[1:]}: changed for {shoppers_text(len(targets))} ({whom}).",
                            title="Settings changed", markup=False)
            ok = True
        except (ValidationError, RuntimeError) as exc:
            self.notify(f"{what}: {_error_text(exc)}", title="Setting not changed", severity="error",
                        markup=False)
            ok = False
        self.sync(force_inputs=True)
        return ok

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        if event.checkbox.value != event.value:  # overtaken by a redraw: not the user's latest word
            return
        wid, value, s = event.checkbox.id or "", event.value, self.shopper.settings
        kind, _, rest = wid.partition("-")
        if kind == "cat":
            cat, _, ch = rest.rpartition("-")
            if CATEGORY_CLASS.get(cat) == CRITICAL or s["categories"][cat][ch] == value:
                return self.sync()
            self._apply({"categories": {cat: {ch: value}}}, f"{CATEGORY_LABELS[cat]} by {CHANNEL_LABELS[ch]}")
        elif kind == "chan":
            if s["channels"][rest] != value:
                self._apply({"channels": {rest: value}}, f"{CHANNEL_LABELS[rest]} on/off")
        elif kind == "flag":
            if s[rest] != value:
                self._apply({rest: value}, FLAG_LABELS[rest])
        elif wid == "qh-on":
            if (s.get("quiet_hours") is not None) != value:
                window = self._typed_window() if value else None
                self._apply({"quiet_hours": window}, "Quiet hours")

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        wid, value, s = event.select.id or "", event.value, self.shopper.settings
        if value is Select.NULL or event.select.value != value:  # blank, or overtaken by a redraw
            return
        if wid == "apply-scope":
            if value != self._scope:
                self.set_scope(str(value))
        elif wid.startswith("freq-"):
            cat = wid[len("freq-"):]
            if s["categories"][cat].get("frequency") != value:
                self._apply({"categories": {cat: {"frequency": value}}}, f"{CATEGORY_LABELS[cat]} frequency")
        elif wid == "digest-weekday":
            if (s.get("digest") or {}).get("weekday") != value:
                self._apply({"digest": {"weekday": value}}, "Weekly digest day")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._input_done(event.input)

    def on_input_blurred(self, event: Input.Blurred) -> None:
        event.stop()
        self._input_done(event.input)

    def _typed_window(self) -> dict[str, str]:
        return {part: self.query_one(f"#qh-{part}", Input).value.strip() for part in ("start", "end")}

    def _input_done(self, inp: Input) -> None:
        """An edited time is complete (enter, or focus moved on): apply it if it differs from the settings."""
        wid, s = inp.id or "", self.shopper.settings
        if wid.startswith("qh-"):
            window = self._typed_window()
            qh = s.get("quiet_hours")
            if qh is not None:
                if window != {"start": qh["start"], "end": qh["end"]}:
                    self._apply({"quiet_hours": window}, "Quiet hours")
            elif window != self._qh_draft:
                # Off: check the times now, keep them for when quiet hours are switched on.
                try:
                    validate_patch({"quiet_hours": window})
                    self._qh_draft = window
                except ValidationError as exc:
                    self.notify(f"Quiet hours: {_error_text(exc)}", title="Setting not changed",
                                severity="error", markup=False)
                    self.sync(force_inputs=True)
        elif wid == "digest-time":
            value = inp.value.strip()
            if (s.get("digest") or {}).get("time") != value:
                self._apply({"digest": {"time": value}}, "Digest time")
