"""QA and analysis over a run's events: KPIs, experiments, expectations, invariants, golden logs.

Everything here reads the engine's events (live from a Simulation, or from a finished run's log or
database); nothing depends on a front end."""
