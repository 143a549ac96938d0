"""Quality checks of a run: the product's named invariants, a scenario's `expect:` claims, narration's
placeholders, golden logs and the first divergence of two logs.

QA reads what the KPIs compute (shopsim.metrics) and never the other way round: metrics stays a plain
account of the run that the report, the terminal app and the checks all read."""
