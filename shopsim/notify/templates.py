"""Notification templates: Jinja2 in a sandbox, one template per category x channel x part.

The shipped defaults live in ``shopsim/notify/templates/<category>.yaml`` (package data), one mapping
``channel -> {part: source}`` per category plus the ``digest`` pseudo-category. A scenario may override any
part (``policies.templates``); overrides are merged over the defaults part by part.

A runtime error in a template (undefined variable, sandbox violation, bad filter input) falls back to the
shipped default for that part, and if that fails too, to a plain sentence. Rendering is bounded in work, in
the size of what it makes and in output (shopsim/notify/sandbox.py); a scenario's override past a bound raises
TemplateLimitError, the one error that stops a run. ``template_checks.check_templates`` finds the
problems in overrides ahead of time (for ``shopsim validate``).

Environment: ``ImmutableSandboxedEnvironment`` with ``StrictUndefined``, no autoescaping, no trailing
newline, and ``trim_blocks``/``lstrip_blocks`` so block tags on their own lines leave no blank lines behind.
Filters: ``money`` (locale-aware currency formatting with Babel, from the context's ``currency`` and
``locale``), ``shorten(n)`` and ``discount`` (what a coupon gives: "10% off orders over €50.00", "free
shipping"; ``discount(short=true)`` leaves out the minimum order).
"""

from __future__ import annotations

import re
from collections import Counter
from importlib import resources
from typing import Any

import yaml
from jinja2 import TemplateSyntaxError

from shopsim.notify.sandbox import ENV, MAX_SOURCE, PART_NAMES, RENDER_LIMITS, RenderLimit, render_bounded, render_capped
from shopsim.notify.template_python import translate
from shopsim.scenario.problems import did_you_mean
from shopsim.contract.taxonomy import CATEGORIES, CHANNELS, DIGEST

TEMPLATE_CATEGORIES: tuple[str, ...] = (*CATEGORIES, DIGEST)
PARTS: dict[str, tuple[str, ...]] = {
    "email": ("subject", "body"),
    "push": ("title", "body"),
    "sms": ("body",),
    "in_app": ("title", "body"),
}
SMS_LIMIT = 160
OVERRIDE_PATH = ("policies", "templates")
TEMPLATE_FILE = "<template>"  # the filename Jinja gives templates compiled from strings


class TemplateError(Exception):
    """A template that cannot be used: a syntax error, or an unknown category/channel/part key."""

    def __init__(self, category: str | None, channel: str | None, part: str | None,
                 line: int | None, message: str) -> None:
        self.category = category
        self.channel = channel
        self.part = part
        self.line = line
        self.message = message
        where = "/".join(str(x) for x in (category, channel, part) if x is not None) or "templates"
        at = f" (template line {line})" if line is not None else ""
        super().__init__(f"{where}{at}: {message}")


class TemplateLimitError(TemplateError):
    """A scenario's template went past a rendering limit at run time: the run cannot go on as written.
    ``path`` is the override's place in the scenario, ("policies", "templates", category, channel, part)."""

    def __init__(self, category: str, channel: str, part: str, message: str) -> None:
        super().__init__(category, channel, part, None, message)
        self.path = (*OVERRIDE_PATH, category, channel, part)

    def __reduce__(self):  # a worker of a split run hands it to the parent (shopsim/workers.py)
        return type(self), (self.category, self.channel, self.part, self.message)




# -------------------------------------------------------------------------------------------- defaults

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml reads the ten files 20x faster, same values


def _load_defaults() -> dict[str, dict[str, dict[str, str]]]:
    root = resources.files("shopsim.notify") / "templates"
    out: dict[str, dict[str, dict[str, str]]] = {}
    for category in TEMPLATE_CATEGORIES:
        data = yaml.load((root / f"{category}.yaml").read_text(encoding="utf-8"), Loader=_LOADER)
        out[category] = {ch: {part: str(data[ch][part]) for part in PARTS[ch]} for ch in CHANNELS}
    return out


_DEFAULT_SOURCES: dict[str, dict[str, dict[str, str]]] | None = None


def default_sources() -> dict[str, dict[str, dict[str, str]]]:
    """The shipped template sources, {category: {channel: {part: source}}} (read once)."""
    global _DEFAULT_SOURCES
    if _DEFAULT_SOURCES is None:
        _DEFAULT_SOURCES = _load_defaults()
    return _DEFAULT_SOURCES


class Part:
    """One template part: its translation to Python (template_python.py) when it has one, and Jinja's
    template, which decides whenever the translation gives up. A shipped part compiles for Jinja the first
    time a message needs Jinja, which is seldom; a scenario's compiles at once, so its errors show at load."""

    __slots__ = ("category", "channel", "part", "source", "python", "_jinja")

    def __init__(self, category: str, channel: str, part: str, source: str, jinja: Any = None) -> None:
        self.category, self.channel, self.part, self.source = category, channel, part, source
        self._jinja = jinja
        self.python = translate(source)

    @property
    def jinja(self) -> Any:
        if self._jinja is None:
            self._jinja = _compile(self.category, self.channel, self.part, self.source)
        return self._jinja


_DEFAULT_PARTS: dict[tuple[str, str, str], Part] = {}


def _default_part(key: tuple[str, str, str]) -> Part:
    """A shipped template, translated the first time it is needed (all 70 take ~0.2 s: a run that sends
    only a few kinds of message, or an app opening, should not wait for the rest)."""
    tpl = _DEFAULT_PARTS.get(key)
    if tpl is None:
        cat, ch, part = key
        tpl = _DEFAULT_PARTS[key] = Part(cat, ch, part, default_sources()[cat][ch][part])
    return tpl


def _compile(category: str, channel: str, part: str, source: Any) -> Any:
    if not isinstance(source, str):
        raise TemplateError(category, channel, part, None,
                            f"a template must be a string, got {type(source).__name__}")
    problem = source_problem(source)
    if problem is not None:
        raise TemplateError(category, channel, part, None, problem)
    try:
        return from_string(source)
    except TemplateSyntaxError as e:
        raise TemplateError(category, channel, part, e.lineno, f"syntax error: {e.message}") from e
    except RecursionError:
        raise TemplateError(category, channel, part, None, TOO_DEEP) from None


TOO_DEEP = "nested too deeply to compile"


def source_problem(source: str) -> str | None:
    if len(source) > MAX_SOURCE:
        return f"the template is {len(source):,} characters long; a template is at most {MAX_SOURCE:,}"
    return None


def from_string(source: str) -> Any:
    tpl = ENV.from_string(source)
    # Jinja keeps a template's globals as a ChainMap over the environment's, and copies it into every new
    # render context: a plain dict halves the cost of a short render (~15 -> ~7 µs for a push).
    tpl.globals = dict(tpl.globals)
    return tpl


# ------------------------------------------------------------------------------------------- rendering

_BLANK_LINES = re.compile(r"\n{3,}")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")


def _finish(text: str, channel: str, is_title: bool) -> str:
    text = text.strip()
    if is_title:
        # Subjects and titles are one line (a newline in a subject would be a header injection).
        return " ".join(text.split()) if ("\n" in text or "\r" in text or "\t" in text or "  " in text) else text
    if "\n" in text:
        if " \n" in text or "\t\n" in text:
            text = _TRAILING_SPACE.sub("\n", text)
        if "\n\n\n" in text:
            text = _BLANK_LINES.sub("\n\n", text)
    if channel == "sms" and len(text) > SMS_LIMIT:
        text = text[:SMS_LIMIT - 1] + "…"
    return text


def _plain(category: Any, ctx: Any, is_title: bool) -> str:
    """The last resort: a sentence that cannot fail."""
    try:
        label = str(category).replace("_", " ").strip() or "account"
    except Exception:  # noqa: BLE001
        label = "account"
    if is_title:
        return f"{label[:1].upper()}{label[1:]} update"
    link = ctx.get("link") if isinstance(ctx, dict) else None
    text = f"You have a new {label} update."
    if isinstance(link, str) and link:
        text += f" {link}"
    return text[:SMS_LIMIT]


class Templates:
    """Compiled templates for every category x channel x part (defaults with overrides merged in)."""

    def __init__(self, overrides: dict[tuple[str, str, str], Part]) -> None:
        # (category, channel) -> [(part, is_title, template, default or None when template is the default,
        # its output limit and what the part is called)], built the first time that kind of message is rendered.
        self._plan: dict[tuple[str, str], tuple[tuple[str, bool, Part, Part | None, int, str], ...]] = {}
        self._overrides = overrides
        self.overridden: frozenset[tuple[str, str, str]] = frozenset(overrides)
        # How often a part fell back: (category, channel, part, "default" | "plain") -> count.
        self.fallbacks: Counter = Counter()

    def _plan_for(self, category: str, channel: str) -> tuple[tuple[str, bool, Part, Part | None, int, str], ...] | None:
        if category not in TEMPLATE_CATEGORIES or channel not in CHANNELS:
            return None
        plan = []
        for part in PARTS[channel]:
            key = (category, channel, part)
            dflt = _default_part(key)
            tpl = self._overrides.get(key, dflt)
            plan.append((part, part != "body", tpl, None if tpl is dflt else dflt,
                         RENDER_LIMITS[(channel, part)], PART_NAMES[(channel, part)]))
        out = self._plan[(category, channel)] = tuple(plan)
        return out

    @classmethod
    def load(cls, overrides: dict | None = None) -> Templates:
        """Defaults merged with ``overrides`` ({category: {channel: {part: source}}}). Overrides compile now; a
        shipped template compiles the first time a message needs it.

        Raises TemplateError for the first syntax error or unknown key (``check_templates`` lists them all)."""
        compiled = {}
        for cat, ch, part, source in _iter_overrides(overrides):
            compiled[(cat, ch, part)] = Part(cat, ch, part, source, _compile(cat, ch, part, source))
        return cls(compiled)

    def render(self, category: str, channel: str, ctx: dict) -> tuple[str | None, str]:
        """(title, body) for one notification; title is None for SMS. Never raises."""
        try:
            plan = self._plan.get((category, channel)) or self._plan_for(category, channel)
        except TypeError:  # unhashable junk
            plan = None
        if plan is None:
            return (None if channel == "sms" else _plain(category, ctx, True)), _plain(category, ctx, False)
        title = None
        body = ""
        jinja_ctx = None
        for part, is_title, tpl, dflt, cap, what in plan:
            text = ""
            if tpl.python is not None and type(ctx) is dict:
                try:
                    text = _finish(tpl.python(ctx, cap), channel, is_title)
                except Exception:  # noqa: BLE001 - it gave up: Jinja decides what this message gets
                    pass
            if not text:
                if jinja_ctx is None:
                    # One context for every part, with the globals in it, rendered as "shared": Jinja then uses
                    # it as is instead of copying it per part (a quarter of a short render's cost).
                    jinja_ctx = {**ENV.globals, **ctx} if isinstance(ctx, dict) else dict(ENV.globals)
                text = self._render_jinja(category, channel, part, is_title, tpl, dflt, cap, what, jinja_ctx)
            if is_title:
                title = text
            else:
                body = text
        return title, body

    def _render_jinja(self, category: str, channel: str, part: str, is_title: bool, tpl: Part, dflt: Part | None,
                      cap: int, what: str, ctx: dict) -> str:
        try:
            text = _finish(render_capped(tpl.jinja, ctx, cap, True, what), channel, is_title)
            if not text:
                raise ValueError("empty")
        except RenderLimit as e:
            if dflt is None:  # a shipped template: fall back as on any other error
                return self._fallback(category, channel, part, is_title, dflt, ctx)
            # the scenario's own template: its author must hear of it, the run cannot go on as written
            raise TemplateLimitError(category, channel, part,
                                     f"over a rendering limit at run time, on a {category} message: {e}") from None
        except Exception:  # noqa: BLE001 - any other error in a template must never take the run down
            return self._fallback(category, channel, part, is_title, dflt, ctx)
        return text

    def _fallback(self, category: str, channel: str, part: str, is_title: bool, dflt: Part | None, ctx: dict) -> str:
        if dflt is not None:
            try:
                text = _finish(render_bounded(dflt.jinja, ctx, channel, part), channel, is_title)
                if text:
                    self.fallbacks[(category, channel, part, "default")] += 1
                    return text
            except Exception:  # noqa: BLE001
                pass
        self.fallbacks[(category, channel, part, "plain")] += 1
        return _plain(category, ctx, is_title)


def walk_overrides(overrides: Any):
    """Every override in key order: ("part", path, source) for a usable part, ("problem", path, message)
    for an unknown key or a wrong shape. ``path`` starts with ("policies", "templates")."""
    base = OVERRIDE_PATH
    if not isinstance(overrides, dict):
        yield ("problem", base,
               f"expected a mapping of category -> channel -> part, got {type(overrides).__name__}")
        return
    for cat, chans in overrides.items():
        if cat not in TEMPLATE_CATEGORIES:
            yield ("problem", base + (cat,), f"unknown category {cat!r}{did_you_mean(cat, TEMPLATE_CATEGORIES)}")
            continue
        if chans is None:
            continue
        if not isinstance(chans, dict):
            yield ("problem", base + (cat,), f"expected a mapping of channel -> part, got {type(chans).__name__}")
            continue
        for ch, parts in chans.items():
            if ch not in PARTS:
                yield ("problem", base + (cat, ch), f"unknown channel {ch!r}{did_you_mean(ch, CHANNELS)}")
                continue
            if parts is None:
                continue
            if not isinstance(parts, dict):
                yield ("problem", base + (cat, ch),
                       f"expected a mapping of part -> template, got {type(parts).__name__}")
                continue
            for part, source in parts.items():
                path = base + (cat, ch, part)
                if part not in PARTS[ch]:
                    hint = did_you_mean(part, PARTS[ch])
                    if ch == "sms" and part in ("title", "subject"):
                        hint = "; SMS has only a body"
                    yield ("problem", path, f"unknown part {part!r} for {ch}{hint}")
                elif not isinstance(source, str):
                    yield ("problem", path, f"a template must be a string, got {type(source).__name__}")
                else:
                    yield ("part", path, source)


def _iter_overrides(overrides: Any):
    """(category, channel, part, source) for every override; TemplateError on the first unknown key or bad shape."""
    if not overrides:
        return
    for what, path, value in walk_overrides(overrides):
        keys = [*path[len(OVERRIDE_PATH):], None, None, None]
        if what == "problem":
            raise TemplateError(keys[0], keys[1], keys[2], None, value)
        yield keys[0], keys[1], keys[2], value
