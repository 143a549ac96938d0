"""Serving the terminal app to web browsers with textual-serve. The front-end dependency lives here, with
the app; `shopsim/cli/serve.py` only checks its arguments and calls `serve()`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from shopsim.textsafe import visible


def serve(command: str, host: str, port: int, title: str, public_url: str | None, scenario: Path) -> None:
    """Run `command` (the app) for every browser that opens the page, until Ctrl-C (or SIGTERM)."""
    from textual_serve.server import Server  # imported only when serving (it brings aiohttp)

    class ShopsimServer(Server):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.sessions: set[asyncio.Task] = set()  # one per open browser tab: its websocket's handler

        async def handle_websocket(self, request):
            task = asyncio.current_task()
            self.sessions.add(task)
            try:
                return await super().handle_websocket(request)
            finally:
                self.sessions.discard(task)

        async def on_shutdown(self, app) -> None:
            # aiohttp would wait up to a minute for each open websocket to close by itself; cancelled, each
            # handler quits its app and closes its page ("Session ended.") at once.
            for task in list(self.sessions):
                task.cancel()

        async def on_startup(self, app) -> None:
            # What a teacher needs: which scenario, the address to give out, what each visitor gets, how to
            # stop; textual-serve's own banner shows the Python command line instead.
            for line in (f"shopsim: serving {visible(scenario.stem)} ({visible(str(scenario))})",
                         f"open {self.public_url} in a browser: each tab gets its own run",
                         "Ctrl+C stops the server and the runs open in browsers"):
                self.console.print(line, markup=False, highlight=False, soft_wrap=True)

    ShopsimServer(command, host=host, port=port, title=title, public_url=public_url).serve()
    click.echo("shopsim: the server stopped; no run is left open in a browser.", err=True)
