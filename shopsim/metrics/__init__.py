"""The KPIs of a run and the comparison of an experiment's arms (QA, which judges a run, is shopsim.qa).

Everything here reads the engine's events (live from a Simulation, or from a finished run's log or
database); nothing depends on a front end."""
