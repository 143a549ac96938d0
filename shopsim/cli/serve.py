"""`shopsim serve`: the terminal app in a web browser (textual-serve), e.g. for a classroom.

Each browser tab that connects starts its own `python -m shopsim run SCENARIO` process, so every student
steps through the scenario on their own clock."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import click

from shopsim.cli.common import EXIT_BAD_INPUT, fail
from shopsim.scenario.problems import ScenarioError
from shopsim.scenario.shipped import find_scenario
from shopsim.textsafe import visible

ALL_INTERFACES = ("0.0.0.0", "::", "")


def app_command(scenario: str, seed: int | None = None) -> str:
    """The shell command textual-serve starts for each browser: this Python, `-m shopsim run SCENARIO`."""
    argv = [sys.executable, "-m", "shopsim", "run", scenario]
    if seed is not None:
        argv += ["--seed", str(seed)]
    return subprocess.list2cmdline(argv) if os.name == "nt" else shlex.join(argv)


@click.command("serve")
@click.argument("scenario", default="default")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="address to listen on; 0.0.0.0 lets other machines (a classroom) connect")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="port to listen on")
@click.option("--public-url", metavar="URL",
              help="the address browsers use to reach this server, e.g. http://my-laptop.local:8000 "
                   "(default: http://HOST:PORT, or this machine's name when listening on all interfaces)")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="root seed (default: the scenario's)")
def serve_cmd(scenario: str, host: str, port: int, public_url: str | None, seed: int | None) -> None:
    """Serve the terminal app on SCENARIO (default: the default scenario) to web browsers.

    Every browser that opens the page gets its own copy of the app. Listens on localhost unless --host
    says otherwise; stop the server with Ctrl-C."""
    path = _valid_scenario(scenario)  # a bad file fails here, with every problem, before anything is served
    if public_url is None and host in ALL_INTERFACES:
        public_url = f"http://{socket.gethostname()}:{port}"
    if public_url is not None and not public_url.startswith(("http://", "https://")):
        fail(f"--public-url must start with http:// or https://, got {public_url!r}")
    _check_port_free(host, port)

    from shopsim.tui.serve import serve

    serve(app_command(str(path.resolve()), seed), host, port, f"shopsim: {path.stem}",
          public_url.rstrip("/") if public_url else None, path)


def _valid_scenario(name: str) -> Path:
    """The scenario's path once it validates; otherwise every problem, what that means here (no server), exit 2.
    (The other commands' "nothing was written" would be beside the point: serve writes nothing either way.)"""
    from shopsim.validate import load_scenario  # pydantic only once the arguments are known

    path = find_scenario(name)
    try:
        load_scenario(path)
    except ScenarioError as err:
        for problem in err.problems:
            click.echo(visible(str(problem)), err=True)  # a key or a path may hold control characters
        n = err.total
        click.echo(f"{n:,} problem{'s' if n != 1 else ''} found; the server was not started.", err=True)
        sys.exit(EXIT_BAD_INPUT)
    return path


def _check_port_free(host: str, port: int) -> None:
    """Say "port in use" in one line (exit 2) rather than with aiohttp's traceback."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except socket.gaierror as e:
        fail(f"cannot listen on {host!r}: {e.strerror or e}")
    except OSError as e:
        fail(f"cannot listen on {host}:{port}: {e.strerror or e} (try another --port)")
