"""Calibration: play a scenario over many seeds and compare its KPIs with published figures (anchors).

`anchors.py` holds every anchor (value, tolerance, source, definition, and how to read it from
`Metrics.result()`); `stats.py` the mean, standard deviation and t interval over seeds; `runner.py` plays
the seeds, in parallel processes or in this one; `table.py` turns the outcome into rows, Markdown and JSON.
`shopsim calibrate` (shopsim/cli/calibrate.py) is the command; docs/calibration.md the user's guide.

An observer-level package like `shopsim.metrics`: it reads the engine's events and never imports a
front end (shopsim.cli, shopsim.tui, Textual)."""
