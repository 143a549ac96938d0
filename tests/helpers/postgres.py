"""A throwaway PostgreSQL server for tests: initdb in a temporary folder, listening on a Unix socket there only.

Found on PATH or in Debian's /usr/lib/postgresql/*/bin; without one (or without psycopg) the tests that need
it skip. PostgreSQL refuses to run as root, so as root (CI) the server runs as `nobody` through setpriv.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

BOUND = 120  # seconds: an upper bound on the server starting or stopping, never a delay


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def missing() -> str | None:
    """Why no server can be started here, or None."""
    if importlib.util.find_spec("psycopg") is None:
        return "psycopg is not installed"
    if _binary("initdb") is None or _binary("pg_ctl") is None:
        return "no PostgreSQL server (initdb, pg_ctl) on this machine"
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        return "running as root without setpriv to start PostgreSQL as another user"
    return None


@contextmanager
def server() -> Iterator[str]:
    """Start a server; yield its SQLAlchemy URL (database `postgres`, user `shopsim`, trust auth)."""
    folder = Path(tempfile.mkdtemp(prefix="shopsim-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        import pwd

        nobody = pwd.getpwnam("nobody")
        os.chown(folder, nobody.pw_uid, nobody.pw_gid)
        as_user = ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups"]
    data = folder / "data"
    pg_ctl = _binary("pg_ctl")
    run = lambda *cmd: subprocess.run([*as_user, *cmd], check=True, capture_output=True, timeout=BOUND)  # noqa: E731
    try:
        try:
            run(_binary("initdb"), "-D", str(data), "-A", "trust", "-U", "shopsim", "--no-sync")
            run(pg_ctl, "-D", str(data), "-l", str(folder / "server.log"), "-w", "-t", str(BOUND),
                "-o", f"-k {folder} -c listen_addresses='' -F", "start")
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
            # This machine cannot run a server (a sandbox without shared memory, say): not shopsim's failure.
            import pytest

            log = folder / "server.log"
            why = (e.stderr or b"").decode(errors="replace").strip().splitlines()[-1:] or \
                (log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else ["no output"])
            pytest.skip(f"a PostgreSQL server could not be started here: {why[0]}")
        try:
            yield f"postgresql+psycopg://shopsim@/postgres?host={folder}"
        finally:
            run(pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
