"""Each policy step alone: its verdict, reason and the rule that decided."""

from __future__ import annotations

import copy

import pytest

from shopsim.notify.policy import PASS, REROUTED, SUPPRESSED, consent, preferences, reachable
from shopsim.scenario.settings import builtin_defaults
from shopsim.contract.taxonomy import CATEGORIES, CATEGORY_CLASS, CHANNELS, MARKETING

REACH_ALL = {"app": True, "email": True, "phone": True}


def settings(**changes):
    s = copy.deepcopy(builtin_defaults())
    s.update(sms_opt_in=True)
    s.update(changes)
    return s


@pytest.mark.parametrize("channel, reach, change, rule", [
    ("push", {"app": False}, {}, "reach.app"),
    ("push", {}, {"push_os_permission": False}, "push_os_permission"),
    ("sms", {"phone": False}, {}, "reach.phone"),
    ("sms", {}, {"sms_opt_in": False}, "sms_opt_in"),
    ("email", {"email": False}, {}, "reach.email"),
])
def test_unreachable_channels_are_suppressed_with_their_rule(channel, reach, change, rule):
    v = reachable(channel, "promotions", settings(**change), {**REACH_ALL, **reach})
    assert (v.outcome, v.reason, v.rule) == (SUPPRESSED, "unreachable", rule)


def test_in_app_is_always_reachable():
    assert reachable("in_app", "promotions", settings(), {"app": False, "email": False, "phone": False}).passed


def test_critical_messages_fall_back_to_a_reachable_channel():
    v = reachable("push", "account_security", settings(push_os_permission=False), REACH_ALL)
    assert v.outcome == REROUTED and v.params == {"channel": "push", "to": "email"}
    v = reachable("push", "account_security", settings(push_os_permission=False, sms_opt_in=False),
                  {"app": True, "email": False, "phone": True})
    assert v.params["to"] == "in_app"


def test_non_critical_messages_do_not_fall_back():
    v = reachable("push", "order_updates", settings(push_os_permission=False), REACH_ALL)
    assert v.outcome == SUPPRESSED


@pytest.mark.parametrize("category", CATEGORIES)
def test_consent_only_gates_marketing(category):
    v = consent(category, settings(marketing_consent=False))
    if CATEGORY_CLASS[category] == MARKETING:
        assert (v.outcome, v.reason, v.rule) == (SUPPRESSED, "no_marketing_consent", "marketing_consent")
    else:
        assert v.outcome == PASS


def test_recommendations_also_need_personalization():
    v = consent("recommendations", settings(personalization=False))
    assert (v.outcome, v.rule) == (SUPPRESSED, "personalization")
    assert consent("promotions", settings(personalization=False)).outcome == PASS


@pytest.mark.parametrize("channel", CHANNELS)
def test_channel_master_switch_comes_first(channel):
    s = settings()
    s["channels"] = {**s["channels"], channel: False}
    v = preferences(channel, "shipping", s)
    assert (v.outcome, v.reason, v.rule) == (SUPPRESSED, "channel_off", f"channels.{channel}")


def test_category_channel_toggle_and_frequency_off():
    s = settings()
    s["categories"] = copy.deepcopy(s["categories"])
    s["categories"]["promotions"]["push"] = False
    v = preferences("push", "promotions", s)
    assert (v.reason, v.rule) == ("category_channel_off", "categories.promotions.push")
    s["categories"]["flash_sales"]["frequency"] = "off"
    v = preferences("email", "flash_sales", s)
    assert (v.reason, v.rule) == ("frequency_off", "categories.flash_sales.frequency")
    assert preferences("email", "promotions", s).params == {"frequency": "realtime"}


def test_quiet_hours_defer_push_and_sms_only():
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    from shopsim.notify.policy import DEFERRED, quiet_hours

    berlin = ZoneInfo("Europe/Berlin")
    s = settings(quiet_hours={"start": "22:00", "end": "08:00"})
    late = int(datetime(2026, 3, 4, 22, 30, tzinfo=berlin).timestamp() * 1000)
    morning = int(datetime(2026, 3, 5, 7, 0, tzinfo=timezone.utc).timestamp() * 1000)  # 08:00 in Berlin
    for channel in ("push", "sms"):
        v = quiet_hours(channel, s, berlin, late)
        assert (v.outcome, v.rule, v.params["until"], v.params["tz"]) == (DEFERRED, "quiet_hours", morning,
                                                                         "Europe/Berlin")
    for channel in ("email", "in_app"):
        assert quiet_hours(channel, s, berlin, late).outcome == PASS
    assert quiet_hours("push", settings(quiet_hours=None), berlin, late).outcome == PASS
    assert quiet_hours("push", s, berlin, morning).outcome == PASS
