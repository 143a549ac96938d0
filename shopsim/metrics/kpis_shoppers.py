"""Who the shoppers are, as created: platforms, the app, push permission, marketing consent, mail proxies.

A mixin of `Metrics` (kpis.py). Each `shopper.created` is reduced to a small profile, kept per shopper so
that an experiment arm, which only sees events after its shoppers were assigned, can count its own.
Definitions: docs/metrics.md, section Shoppers."""

from __future__ import annotations

from collections import Counter
from typing import Any, NamedTuple

from shopsim.metrics.kpis_base import PLATFORMS, declare, kpi, ordered, ratio


# The shoppers as created, by name (what `expect:` checks, `report` prints, `diff` compares).
SHOPPER_KPIS = declare({
    "shoppers_created": kpi("shoppers", "count", "shoppers created", "count"),
    "app_shoppers": kpi("shoppers", "count", "shoppers who have the app", "app"),
    "push_opt_in_ios": kpi("shoppers", "rate", "iOS app users whose phone allows push / iOS app users",
                          "push_opt_in.ios"),
    "push_opt_in_android": kpi("shoppers", "rate", "Android app users whose phone allows push / Android app users",
                              "push_opt_in.android"),
    "marketing_consent_rate": kpi("shoppers", "rate", "shoppers who consent to marketing / shoppers",
                                 "marketing_consent"),
    "mail_proxy_rate": kpi("shoppers", "rate", "shoppers whose mail goes through a privacy proxy / shoppers",
                          "mail_proxy"),
})


class Profile(NamedTuple):
    platform: str | None
    app: bool                 # reach.app
    push: bool                # settings.push_os_permission
    consent: bool             # settings.marketing_consent
    mail_proxy: bool | None   # None when the log has no such field


def profile(d: dict[str, Any]) -> Profile:
    settings = d.get("settings") or {}
    proxy = d.get("mail_proxy")
    return Profile(d.get("platform"), bool((d.get("reach") or {}).get("app")),
                   bool(settings.get("push_os_permission")), bool(settings.get("marketing_consent")),
                   None if proxy is None else bool(proxy))


class ShopperKPIs:
    """The audience part of `Metrics`."""

    def _init_shoppers(self) -> None:
        self.shopper_ids: set[str] = set()
        self.profile_of: dict[str, Profile] = {}
        self.audience: Counter[Any] = Counter()

    def _shopper(self, t, d, sid) -> None:
        self.shopper_ids.add(sid)
        p = self.profile_of[sid] = profile(d)
        self._count_profile(p)

    def _count_profile(self, p: Profile) -> None:
        a = self.audience
        a["n"] += 1
        if p.platform is not None:
            a["platform", p.platform] += 1
        if p.app:
            a["app"] += 1
            a["app_on", p.platform] += 1
            a["push_on", p.platform] += p.push
        a["consent"] += p.consent
        if p.mail_proxy is not None:
            a["proxy_known"] += 1
            a["proxy"] += p.mail_proxy

    def _shoppers_result(self) -> dict[str, Any]:
        a = self.audience
        platforms = {k[1] for k in a if isinstance(k, tuple) and k[0] == "platform"}
        return {"count": a["n"],
                "platforms": {p: a["platform", p] for p in ordered(platforms, PLATFORMS)},
                "app": a["app"],
                "push_opt_in": {p: ratio(a["push_on", p], a["app_on", p]) for p in ("ios", "android")},
                "marketing_consent": ratio(a["consent"], a["n"]),
                "mail_proxy": ratio(a["proxy"], a["proxy_known"])}
