"""Which IANA time zones belong to a locale's country, and the zones a locale gets when a scenario names none.

The zone -> country table is tzdb's zone.tab as shipped in the `tzdata` package, so answers do not depend on
the operating system's zone files.
"""

from __future__ import annotations

import importlib.resources
from functools import lru_cache

# Faker locales whose suffix is not the ISO country: es_CA is Catalan (Spain), fr_QC Quebec, en_MS Malaysia;
# ar_AA is generic Arabic and has no country.
_COUNTRY_OVERRIDES: dict[str, str | None] = {"es_CA": "ES", "fr_QC": "CA", "en_MS": "MY", "ar_AA": None}

# Shares roughly follow where each country's people live (national statistics, rounded); single-zone
# countries need no table entry, they fall back to zone.tab's first zone for the country.
_DEFAULTS: dict[str, dict[str, float]] = {
    "en_US": {"America/New_York": 0.47, "America/Chicago": 0.29, "America/Denver": 0.06,
              "America/Los_Angeles": 0.18},
    "es_ES": {"Europe/Madrid": 0.95, "Atlantic/Canary": 0.05},
    "pt_PT": {"Europe/Lisbon": 0.95, "Atlantic/Madeira": 0.03, "Atlantic/Azores": 0.02},
    "pt_BR": {"America/Sao_Paulo": 0.7, "America/Fortaleza": 0.1, "America/Recife": 0.08,
              "America/Manaus": 0.06, "America/Belem": 0.06},
    "ru_RU": {"Europe/Moscow": 0.7, "Europe/Samara": 0.03, "Asia/Yekaterinburg": 0.12, "Asia/Novosibirsk": 0.06,
              "Asia/Krasnoyarsk": 0.04, "Asia/Irkutsk": 0.03, "Asia/Vladivostok": 0.02},
    "en_AU": {"Australia/Sydney": 0.33, "Australia/Melbourne": 0.26, "Australia/Brisbane": 0.2,
              "Australia/Perth": 0.11, "Australia/Adelaide": 0.07, "Australia/Hobart": 0.02,
              "Australia/Darwin": 0.01},
    "es_MX": {"America/Mexico_City": 0.85, "America/Tijuana": 0.04, "America/Mazatlan": 0.05,
              "America/Hermosillo": 0.02, "America/Cancun": 0.02, "America/Chihuahua": 0.02},
    "en_CA": {"America/Toronto": 0.6, "America/Vancouver": 0.14, "America/Edmonton": 0.12,
              "America/Winnipeg": 0.04, "America/Regina": 0.03, "America/Halifax": 0.05, "America/St_Johns": 0.02},
    "fr_CA": {"America/Toronto": 0.95, "America/Moncton": 0.05},
    "fr_QC": {"America/Toronto": 1.0},
    "id_ID": {"Asia/Jakarta": 0.8, "Asia/Makassar": 0.17, "Asia/Jayapura": 0.03},
    "en_GB": {"Europe/London": 1.0},
    "de_DE": {"Europe/Berlin": 1.0},
    "fr_FR": {"Europe/Paris": 1.0},
    "it_IT": {"Europe/Rome": 1.0},
    "nl_NL": {"Europe/Amsterdam": 1.0},
    "pl_PL": {"Europe/Warsaw": 1.0},
    "ko_KR": {"Asia/Seoul": 1.0},
    "ja_JP": {"Asia/Tokyo": 1.0},
    "tr_TR": {"Europe/Istanbul": 1.0},
    "he_IL": {"Asia/Jerusalem": 1.0},
    "zh_CN": {"Asia/Shanghai": 1.0},
    "uk_UA": {"Europe/Kyiv": 1.0},
    "es_AR": {"America/Argentina/Buenos_Aires": 1.0},
    "en_MS": {"Asia/Kuala_Lumpur": 0.8, "Asia/Kuching": 0.2},
}


def _tzdata_text(name: str) -> str:
    return (importlib.resources.files("tzdata") / "zoneinfo" / name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def zone_table() -> dict[str, tuple[str, ...]]:
    """Country code -> its zones, in zone.tab order (the most populous area usually first)."""
    out: dict[str, list[str]] = {}
    for line in _tzdata_text("zone.tab").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        cols = line.split("\t")
        for cc in cols[0].split(","):  # one code per row in zone.tab; zone1970.tab would list several
            out.setdefault(cc, []).append(cols[2])
    return {cc: tuple(zones) for cc, zones in out.items()}


@lru_cache(maxsize=1)
def _links() -> dict[str, str]:
    # tzdata.zi lines "L Target Alias": old names such as Asia/Calcutta still work and mean Asia/Kolkata.
    out = {}
    for line in _tzdata_text("tzdata.zi").splitlines():
        if line.startswith("L "):
            _, target, alias = line.split()
            out[alias] = target
    return out


def canonical(zone: str) -> str:
    """The zone a link name stands for (Asia/Calcutta -> Asia/Kolkata); other names unchanged."""
    seen = set()
    links = _links()
    while zone in links and zone not in seen:
        seen.add(zone)
        zone = links[zone]
    return zone


def country_of(locale: str) -> str | None:
    """en_US -> US; None for a locale without a country (en, th)."""
    if locale in _COUNTRY_OVERRIDES:
        return _COUNTRY_OVERRIDES[locale]
    head, _, cc = locale.rpartition("_")
    return cc if head and len(cc) == 2 and cc.isalpha() and cc.isupper() else None


def zones_of(country: str) -> tuple[str, ...]:
    return zone_table().get(country, ())


def zone_in_country(zone: str, country: str) -> bool:
    zones = zones_of(country)
    return zone in zones or canonical(zone) in {canonical(z) for z in zones}


def default_time_zones(locale: str) -> dict[str, float]:
    """The zones (with shares summing to 1) of a locale whose scenario entry gives no `time_zones`.

    Raises LookupError, with a message meant for the user, when the locale has no country with a zone.
    """
    if locale in _DEFAULTS:
        return dict(_DEFAULTS[locale])
    country = country_of(locale)
    zones = zones_of(country) if country else ()
    if not zones:
        why = f"its country {country} has no time zone" if country else "it names no country"
        raise LookupError(f"shopsim does not know where {locale} shoppers live ({why}); "
                          "give this locale time_zones, e.g. time_zones: {Europe/London: 1}")
    return {zones[0]: 1.0}
