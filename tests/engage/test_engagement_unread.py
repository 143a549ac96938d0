"""A message she unsubscribed from without opening it (the mail app's button) stays unread in her inbox, and a
front end may still open it for her: found by test_busy_push_and_sms_keep_caps_digests_and_quiet_hours, whose
oracle reported that open as engagement after an unsubscribe. The engine itself never opens it afterwards."""

from __future__ import annotations

from helpers.properties import assert_invariants
from helpers.runs import play_with_changes

DATA = {'schema_version': 1,
'run': {'name': 'prop',
'seed': 362438,
'duration': '720m',
'start': '2026-03-02T00:00:00Z'},
'population': {'size': 6,
'locales': {'en_US': {'share': 1.0}},
'segments': {'seg0': {'share': 0.5, 'traits': {}, 'settings': {}},
'seg1': {'share': 0.5, 'traits': {}, 'settings': {}}},
'platforms': {'ios': 1.0},
'reach': {'email_verified': 1.0, 'phone': 1.0},
'consent': {'marketing_consent': 1.0,
'personalization': 1.0,
'sms_opt_in': 1.0,
'push_os_permission': {'ios': 1.0}},
'settings': {'categories': {'cart_reminders': {'push': True,
'sms': True,
'frequency': 'daily'},
'promotions': {'push': True, 'sms': True, 'frequency': 'realtime'},
'flash_sales': {'push': True, 'sms': True, 'frequency': 'realtime'},
'recommendations': {'push': True,
'sms': True,
'frequency': 'realtime'},
'new_product_alerts': {'push': True,
'sms': True,
'frequency': 'realtime'}},
'quiet_hours': {'start': '00:15', 'end': '00:00'},
'digest': {'time': '17:15', 'weekday': 'mon'}}},
'catalogue': {'products': 1,
'stores': 1,
'price': {'dist': 'lognormal', 'median': 1.0, 'sigma': 1.0, 'min': 0.01},
'free_shipping_over': 0},
'behaviour': {'sessions': {'per_day': 1.0,
'views': 1,
'view_time': '40s'},
'add_to_cart': 0.0,
'resume_cart': 0.0,
'clear_cart': 0.0,
'favourite_categories': 0,
'abandonment': {'rate': 0.0,
'reasons': {'extra_costs': 1.0},
'levers': {'guest_checkout': False,
'transparent_pricing': False,
'simplified_checkout': False,
'trust_signals': False,
'free_returns': False,
'more_payment_methods': False},
'lever_effect': 0.0,
'detect_after': '5m'},
'checkout_time': '1m'},
'orders': {'payment': {'failure': 0.0,
'retry': 0.0,
'cancel_after': '1h',
'delay': '20s',
'retry_after': '25m'},
'processing': '1h',
'carriers': {'only': {'share': 1.0,
'name': 'Only Post',
'tracking_prefix': 'OP',
'in_transit_after': '14h',
'transit': '2d',
'last_mile': '5h'}},
'handling': '2h',
'disputes': {'rate': 0.0,
'refund': 0.0,
'after': '6h',
'refund_after': '3h'}},
'account': {'new_signin_per_30d': 0.0, 'password_change_per_30d': 0.0},
'policies': {'caps': [{
'channel': 'email',  
'max': 1,
'per': '1h',  
}], 'send_windows': []},
'events': [{'at': '0m',
'shopper': 'all',
'notify': {'category': 'cart_reminders',
'channels': ['push', 'sms', 'email'],
'title': 'Offer'}},
{'at': '0m',
'shopper': 'all',
'notify': {'category': 'cart_reminders',
'channels': ['push'],
'title': 'Offer'}},
{'at': '0m',
'shopper': 'all',
'notify': {'category': 'cart_reminders',
'channels': ['push'],
'title': 'Offer'}},
{'at': '0m',
'shopper': 'all',
'notify': {'category': 'cart_reminders',
'channels': ['push'],
'title': 'Offer'}},
{'at': '0m',
'shopper': 'all',
'notify': {'category': 'cart_reminders',
'channels': ['push'],
'title': 'Offer'}}]}


def test_a_front_end_may_open_a_message_left_unread_by_an_unsubscribe_without_opening():
    sim, events, _ = play_with_changes(DATA, [(0.5, 5, {})])  # at 6h the front end opens s000006's oldest unread message
    unsub = [e for e in events if e.type == "notification.unsubscribed" and e.data["id"] == "s000006-n6"]
    opened = [e for e in events if e.type == "notification.opened" and e.data["id"] == "s000006-n6"]
    assert unsub and unsub[0].data["method"] == "list_unsubscribe"
    assert [e.data["source"] for e in opened] == ["user"] and opened[0].t > unsub[0].t
    assert_invariants(sim, events)


def test_a_proxys_fetch_then_an_unopened_unsubscribe_leaves_it_unread_for_her() -> None:
    """A privacy proxy fetches the email (a machine open: the sender counts it, her inbox still shows it
    unread), then she unsubscribes with the mail app's button without reading it: a front end may open it for
    her afterwards. Found by test_busy_push_and_sms_keep_caps_digests_and_quiet_hours, whose oracle took the
    proxy's open for hers."""
    from helpers.scenarios import tiny_scenario_data

    from shopsim.contract import events as E
    from shopsim.simulation import Simulation
    from shopsim.scenario.schema import Scenario

    data = tiny_scenario_data(
        1, "1d",
        population={"mail_proxy": {"ios": 1.0, "android": 1.0, "web": 1.0}, "consent": {"marketing_consent": 1.0},
                    "reach": {"email_verified": 1.0}},
        behaviour={"sessions": {"per_day": 1e-6}},
        engagement={"complaint": 0.0, "unsubscribe_unopened": {"email": 1.0}},
        events=[{"at": "1h", "shopper": "s000001",
                 "notify": {"category": "promotions", "channels": ["email"], "title": "Offer"}}])
    sim = Simulation(Scenario.model_validate(data))
    events: list = []
    sim.subscribe(events.extend)
    sim.run()
    types = [(ev.type, ev.data.get("source"), ev.data.get("method")) for ev in events
             if ev.type in (E.NOTIFICATION_OPENED, E.NOTIFICATION_UNSUBSCRIBED)]
    assert types[:2] == [(E.NOTIFICATION_OPENED, "proxy", None), (E.NOTIFICATION_UNSUBSCRIBED, None, "list_unsubscribe")]
    # Her inbox still shows it unread: the front end opens it for her, after the run has played this far.
    sim2 = Simulation(Scenario.model_validate(data))
    events2: list = []
    sim2.subscribe(events2.extend)
    unsubscribed = next(ev.t for ev in events if ev.type == E.NOTIFICATION_UNSUBSCRIBED)
    sim2.run_until(unsubscribed + 1)
    message = next(m for m in sim2.inbox("s000001") if m.channel == "email")
    assert not message.read
    sim2.mark_read(message.id)
    sim2.run()
    assert_invariants(sim2, events2)
