"""A shopper's notification settings: the shape used in scenarios, in the engine and in the event log.

Settings are plain JSON-shaped dicts at run time (cheap to copy, log and diff); these pydantic models
validate them where they enter: the scenario's defaults, scripted changes, `Simulation.apply_settings_change`.
"""

from __future__ import annotations

import copy
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shopsim.contract.taxonomy import CATEGORIES, CATEGORY_CLASS, CHANNELS, MARKETING
from shopsim.contract.units import parse_clock

Frequency = Literal["realtime", "daily", "weekly", "off"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class _Patch(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    def as_patch(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class ChannelSwitches(_Patch):
    email: bool | None = None
    push: bool | None = None
    sms: bool | None = None
    in_app: bool | None = None


class CategoryPrefs(ChannelSwitches):
    frequency: Frequency | None = Field(None, description="realtime, daily or weekly (a digest), or off")


    @field_validator("frequency", mode="before")
    @classmethod
    def _unquoted_off(cls, v):
        # YAML 1.1 reads a bare `off` as false; a shopper who writes `frequency: off` means off.
        return "off" if v is False else v


class ClockWindow(_Patch):
    start: str = Field(description="local time HH:MM")
    end: str = Field(description="local time HH:MM; before start means the window crosses midnight")

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, v: str) -> str:
        parse_clock(v)
        return v


class DigestTime(_Patch):
    time: str | None = Field(None, description="local time HH:MM at which daily and weekly digests are sent")
    weekday: Weekday | None = Field(None, description="day of the weekly digest")

    @field_validator("time")
    @classmethod
    def _clock(cls, v: str | None) -> str | None:
        if v is not None:
            parse_clock(v)
        return v


class SettingsPatch(_Patch):
    """Any subset of a shopper's settings; unspecified fields keep their value."""

    channels: ChannelSwitches | None = None
    categories: dict[Literal[CATEGORIES], CategoryPrefs] | None = None  # type: ignore[valid-type]
    quiet_hours: ClockWindow | None = Field(None, description="push and SMS wait until it ends; null for none")
    digest: DigestTime | None = None
    marketing_consent: bool | None = None
    personalization: bool | None = None
    push_os_permission: bool | None = None
    sms_opt_in: bool | None = None

    @field_validator("categories")
    @classmethod
    def _digests_are_for_marketing(cls, v):
        # Order, shipping and security messages are never batched (DESIGN.md): the setting does not exist.
        for cat, prefs in (v or {}).items():
            if prefs.frequency in ("daily", "weekly") and CATEGORY_CLASS[cat] != MARKETING:
                raise ValueError(f"{cat} messages are {CATEGORY_CLASS[cat]}: their frequency may be realtime "
                                 f"or off; daily and weekly digests are for marketing categories")
        return v


def builtin_defaults() -> dict[str, Any]:
    """Marketplace-typical defaults: everything on by email/push/in-app, SMS only for shipping."""
    cats = {}
    for cat in CATEGORIES:
        cats[cat] = {
            "email": True,
            "push": True,
            "sms": cat in ("shipping", "account_security"),
            "in_app": True,
            "frequency": "realtime",
        }
        if CATEGORY_CLASS[cat] == MARKETING:
            cats[cat]["sms"] = False
    return {
        "channels": {"email": True, "push": True, "sms": True, "in_app": True},
        "categories": cats,
        "quiet_hours": None,
        "digest": {"time": "09:00", "weekday": "mon"},
        "marketing_consent": True,
        "personalization": True,
        "push_os_permission": True,
        "sms_opt_in": False,
    }


def apply_patch(settings: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """A new settings dict with `patch` (validated, exclude_unset form) merged in."""
    out = copy.deepcopy(settings)
    for key, value in patch.items():
        if value is None and key != "quiet_hours":  # null keeps the value; only quiet_hours: null means none
            continue
        if key == "categories":
            for cat, prefs in value.items():
                out["categories"][cat].update({k: v for k, v in prefs.items() if v is not None})
        elif key in ("channels", "digest"):
            out[key].update({k: v for k, v in value.items() if v is not None})
        else:
            out[key] = value
    return out


def validate_patch(data: Any) -> dict[str, Any]:
    """Validate a settings change (raises pydantic.ValidationError) and return it in patch form."""
    return SettingsPatch.model_validate(data).as_patch()


__all__ = ["CHANNELS", "SettingsPatch", "apply_patch", "builtin_defaults", "validate_patch"]
