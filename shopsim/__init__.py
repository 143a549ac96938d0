"""shopsim: a marketplace shopper's notification experience, simulated deterministically."""

__version__ = "0.1.0"
