"""What is wrong with a scenario's template overrides, found before a run (for ``shopsim validate``): each
overridden part is compiled, then rendered against every sample context of its category (``SAMPLES``), and
errors, empty output and SMS over 160 characters are reported with the template line where Jinja knows it."""

from __future__ import annotations

from typing import Any

from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SecurityError

from shopsim.notify.sandbox import RenderLimit, render_bounded
from shopsim.notify.template_samples import SAMPLE_LABELS, SAMPLES
from shopsim.notify.templates import (OVERRIDE_PATH, SMS_LIMIT, TEMPLATE_FILE, TOO_DEEP, from_string, source_problem,
                                      walk_overrides)


def _template_line(exc: BaseException) -> int | None:
    """The template line a runtime error happened on (Jinja rewrites tracebacks to template lines)."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == TEMPLATE_FILE:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _describe(exc: BaseException) -> str:
    if isinstance(exc, RenderLimit):
        return f"over a rendering limit: {exc}"
    if isinstance(exc, RecursionError):
        return "recurses too deeply"
    if isinstance(exc, SecurityError):
        return f"not allowed in the sandbox: {exc}"
    name = type(exc).__name__
    if name == "UndefinedError":
        return f"undefined: {exc}"
    return f"{name}: {exc}"


def _list_labels(labels: list[str], limit: int = 3) -> str:
    shown = ", ".join(labels[:limit])
    return shown + (f" (+{len(labels) - limit} more)" if len(labels) > limit else "")


def check_templates(overrides: Any) -> list[tuple[tuple, int | None, str]]:
    """Every problem in scenario template overrides, as (path, line_in_template_or_None, message).

    ``path`` is ("policies", "templates", category, channel, part), shorter for an unknown key. Each
    overridden part is compiled, then rendered against every sample context of its category (SAMPLES):
    errors (undefined variables, sandbox refusals, bad filter input), empty output and SMS over 160
    characters are problems."""
    if overrides is None:
        return []
    problems: list[tuple[tuple, int | None, str]] = []
    for what, path, value in walk_overrides(overrides):
        if what == "problem":
            problems.append((path, None, value))
            continue
        cat, ch, part = path[len(OVERRIDE_PATH):]
        problem = source_problem(value)
        if problem is not None:
            problems.append((path, None, problem))
            continue
        try:
            tpl = from_string(value)
        except TemplateSyntaxError as e:
            problems.append((path, e.lineno, f"syntax error: {e.message}"))
            continue
        except RecursionError:
            problems.append((path, None, TOO_DEEP))
            continue
        problems.extend(_render_problems(path, cat, ch, part, tpl))
    return problems


def _render_problems(path: tuple, cat: str, ch: str, part: str, tpl: Any) -> list[tuple[tuple, int | None, str]]:
    is_title = part != "body"
    errors: dict[tuple[int | None, str], list[str]] = {}
    empty: list[str] = []
    too_long: list[tuple[int, str]] = []
    for label, sample in zip(SAMPLE_LABELS[cat], SAMPLES[cat]):
        ctx = dict(sample, channel=ch)
        try:
            try:
                raw = render_bounded(tpl, ctx, ch, part)
            except Exception:  # noqa: BLE001
                tpl.environment.handle_exception()  # re-raises it, its traceback on template lines
        except Exception as e:  # noqa: BLE001
            errors.setdefault((_template_line(e), _describe(e)), []).append(label)
            if isinstance(e, (RenderLimit, RecursionError, MemoryError)):
                break  # one sample is enough: the others would cost as much
            continue
        text = raw.strip()
        if is_title:
            text = " ".join(text.split())
        if not text:
            empty.append(label)
        elif ch == "sms" and len(text) > SMS_LIMIT:
            too_long.append((len(text), label))
    out: list[tuple[tuple, int | None, str]] = []
    for (line, message), labels in errors.items():
        out.append((path, line, f"{message} (rendering sample {_list_labels(labels)})"))
    if empty:
        out.append((path, None, f"renders empty for {_list_labels(empty)}"))
    if too_long:
        too_long.sort(key=lambda t: (-t[0], t[1]))
        n, label = too_long[0]
        more = f" (also too long for {_list_labels([lb for _, lb in too_long[1:]])})" if len(too_long) > 1 else ""
        out.append((path, None, f"renders to {n} characters for {label}; SMS allows {SMS_LIMIT}{more}"))
    return out
