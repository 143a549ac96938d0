"""The terminal app (Textual): a thin front end over one `Simulation`. Nothing in the core imports this."""
