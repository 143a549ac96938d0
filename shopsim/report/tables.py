"""The content of `shopsim report`, independent of its format: sections of tables, lines and charts.

`build_report(result)` turns a `Metrics.result()` into a `Report`; shopsim.report.render prints it as text
(rich), Markdown or a self-contained HTML page. Every figure is formatted once (shopsim.report.model) and
every key is shown in words (shopsim.report.labels), so the three formats say the same thing. Charts are
made only for HTML (`charts=True`). The sections live in commerce.py, messages.py and experiments.py."""

from __future__ import annotations

from typing import Any

from shopsim.report.changes import change_lines
from shopsim.report.commerce import (device_section, funnel_section, reasons_section, recovery_time_section,
                                     run_section, shoppers_section)
from shopsim.report.experiments import arm_value, comparison_value, experiment_section, metric_words
from shopsim.report.messages import ads_section, messages_section, suppression_section
from shopsim.report.model import (Block, Chart, Lines, Report, Section, Table, count, day_labels, human_duration,
                                  instant, money, number, rate, run_period, share, signed_duration)

__all__ = ["Table", "Lines", "Chart", "Block", "Section", "Report", "build_report", "human_duration", "instant",
           "run_period", "incomplete_warning", "count", "rate", "money", "number", "share", "day_labels",
           "signed_duration", "metric_words", "arm_value", "comparison_value"]


def incomplete_warning(result: dict[str, Any]) -> str | None:
    run = result["run"]
    if run.get("complete"):
        return None
    return (f"incomplete run: figures cover up to {instant(run, run.get('elapsed_ms') or 0)} "
            "(the log has no run.finished line)")


def build_report(result: dict[str, Any], *, charts: bool = False, source: str = "") -> Report:
    run = result["run"]
    name = run.get("scenario") or "run"
    title = f"{name} (seed {run.get('seed')})"
    warn = incomplete_warning(result)
    sections = [run_section(result, source), shoppers_section(result), funnel_section(result, charts),
                device_section(result), reasons_section(result), recovery_time_section(result, charts),
                messages_section(result, charts), suppression_section(result, charts), ads_section(result)]
    changes = change_lines(result)
    if changes is not None:  # the run's policy changes, under the run's own facts
        sections[0].blocks.append(changes)
    for exp_name, exp in (result.get("experiments") or {}).items():
        sections.append(experiment_section(exp_name, exp, result, charts))
    return Report(title=title, subtitle=run.get("description") or "", warnings=[warn] if warn else [],
                  sections=[s for s in sections if s is not None])
