"""Persistence: the JSON Lines event log and the SQL store of a run."""
