"""Policy presets: a platform's documented defaults, as the policy fields a scenario would write for them.

`policies: {preset: NAME}` takes a preset's fields; any field the scenario writes itself replaces the preset's
(field by field: `caps` written replaces the preset's whole list). A preset holds only the fields a policy
change may also set (`caps`, `send_windows`), so a preset can be switched to mid-run too
(`policies.changes[i].preset`).

Every value is a figure a platform documents as its default, and docs/sources.md (section "Policy presets")
cites where. A default we could not find documented is left out, and a preset we could not ground is not here:
see that section for the platforms looked at and left out (a global frequency cap in the style of Braze, a
digest in the style of Novu) and why Shopify's abandoned-checkout timing is a flow's timing, not a policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Preset:
    name: str
    summary: str                  # one line: what it sets
    source: str                   # the documentation it comes from (docs/sources.md has the definitions)
    fields: dict[str, Any]        # policy fields as a scenario writes them


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset(
        "shopsim",
        "shopsim's own defaults: push 3 and email 2 per 24h, SMS 2 per 7d; SMS 08:00-21:00 local",
        "docs/sources.md#notifications (caps: an assumption; SMS window: the US TCPA calling hours)",
        {"caps": [{"channel": "push", "max": 3, "per": "24h"}, {"channel": "email", "max": 2, "per": "24h"},
                  {"channel": "sms", "max": 2, "per": "7d"}],
         "send_windows": [{"channel": "sms", "start": "08:00", "end": "21:00"}]}),
    Preset(
        "klaviyo",
        "Klaviyo's Smart Sending windows (email 16h, SMS and push 24h) and SMS quiet hours for flows "
        "(none 21:00-08:00 local)",
        "Klaviyo Help Center: \"Understanding Smart Sending in Klaviyo\" and \"Understanding SMS and MMS quiet "
        "hours in flows\"",
        # Smart Sending skips a message to a profile that received one on the same channel within the window:
        # a cap of one per window. Quiet hours hold flow (marketing) texts only.
        {"caps": [{"channel": "email", "max": 1, "per": "16h", "name": "smart_sending_email"},
                  {"channel": "sms", "max": 1, "per": "24h", "name": "smart_sending_sms"},
                  {"channel": "push", "max": 1, "per": "24h", "name": "smart_sending_push"}],
         "send_windows": [{"channel": "sms", "start": "08:00", "end": "21:00", "classes": ["marketing"]}]}),
)}


def preset_fields(name: str) -> dict[str, Any]:
    """A copy of the preset's fields, to merge under a scenario's own (which are never shared with it)."""
    import copy

    return copy.deepcopy(PRESETS[name].fields)


def unknown_preset(name: object) -> str:
    from shopsim.scenario.problems import did_you_mean

    known = ", ".join(sorted(PRESETS))
    return f"unknown policy preset {name!r}; the presets are {known}" + did_you_mean(str(name), PRESETS)
