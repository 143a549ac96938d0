"""`shopsim sweep`: one scenario played over a grid of `--set` overrides × seeds, and what holds across seeds.

`grid` builds the points, `play` plays one (point, seed) exactly as `shopsim replay --set ... --seed S`
would and keeps every KPI of it, `cache` keeps finished runs by content, `execute` plays the runs on this
machine's cores or on a Dask cluster, `summary` says what the seeds agree on, `output` and `html` write it."""
