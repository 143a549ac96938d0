"""Which Faker locales a scenario may use, and what to suggest for one it may not."""

from __future__ import annotations

from functools import lru_cache

from shopsim.scenario.problems import did_you_mean

__all__ = ["UNSUPPORTED_LOCALES", "faker_locales", "locale_suggestion"]

# Faker locales that cannot make a shopper, and why. Every Faker locale was tried for real (its identity
# pools, then one shopper with a name, city, email and phone, played for a day); tests/scenario/test_locales.py tries
# them all again, so this table stays exact when Faker changes.
_NO_PHONES = ("Faker's {0} has no phone numbers; for shoppers in the Philippines use locale en with "
              "time_zones: {{Asia/Manila: 1}}")
UNSUPPORTED_LOCALES: dict[str, str] = {loc: _NO_PHONES.format(loc) for loc in ("en_PH", "fil_PH", "tl_PH")}


@lru_cache(maxsize=1)
def faker_locales() -> frozenset[str]:
    """The Faker locales a scenario may use: all Faker knows, but those that cannot make a shopper."""
    from faker.config import AVAILABLE_LOCALES  # importing Faker is slow; only pay for it when checking

    return frozenset(AVAILABLE_LOCALES) - set(UNSUPPORTED_LOCALES)


# Codes people write for a country or a language that Faker spells otherwise: en_UK is en_GB, jp_JP ja_JP.
_COUNTRY_ALIASES = {"UK": "GB", "EN": "GB"}
_LANGUAGE_ALIASES = {"jp": "ja", "cz": "cs", "gr": "el", "dk": "da", "se": "sv", "ua": "uk", "kr": "ko",
                     "cn": "zh", "br": "pt", "at": "de", "ch": "de", "mx": "es", "ar": "es", "il": "he"}


def locale_suggestion(name: str, locales: frozenset[str]) -> str:
    """"; did you mean 'en_GB'?" for a locale that is not Faker's, preferring real neighbours (same
    language, or the country or language written another way) to the nearest spelling."""
    lang, _, country = name.replace("-", "_").partition("_")
    lang, country = lang.lower(), country.upper()
    candidates = [f"{lang}_{country}", f"{lang}_{_COUNTRY_ALIASES.get(country, country)}",
                  f"{_LANGUAGE_ALIASES.get(lang, lang)}_{_COUNTRY_ALIASES.get(country, country)}"]
    for cand in candidates:
        if cand in locales and cand != name:
            return f"; did you mean {cand!r}?"
    same_language = sorted(x for x in locales if x.partition("_")[0] == _LANGUAGE_ALIASES.get(lang, lang))
    if same_language:  # the nearest country among the language's own locales, not another language's
        from difflib import get_close_matches

        by_country = {x.partition("_")[2]: x for x in same_language}
        near = get_close_matches(country.strip(), list(by_country), n=1)
        if near:
            return f"; did you mean {by_country[near[0]]!r}?"
        return f"; locales for {lang!r}: {', '.join(same_language[:8])}" + (", ..." if len(same_language) > 8 else "")
    in_country = sorted(x for x in locales if x.partition("_")[2] == country)
    if len(in_country) == 1:
        return f"; did you mean {in_country[0]!r}?"
    return did_you_mean(name, locales)
