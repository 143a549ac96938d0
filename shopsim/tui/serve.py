"""Serving the terminal app to web browsers with textual-serve. The front-end dependency lives here, with
the app; `shopsim/cli/serve.py` only checks its arguments and calls `serve()`."""

from __future__ import annotations


def serve(command: str, host: str, port: int, title: str, public_url: str | None) -> None:
    """Run `command` (the app) for every browser that opens the page, until Ctrl-C."""
    from textual_serve.server import Server  # imported only when serving (it brings aiohttp)

    Server(command, host=host, port=port, title=title, public_url=public_url).serve()
