"""Finished runs kept by content (`play.run_key`): re-running a sweep with more seeds plays only the new ones.

One small JSON file per run under DIR/ab/abcdef....json, written to a temporary name and renamed, so a sweep
stopped mid-write (or two sweeps at once) never leaves half a file where a reader would trust it. A file
that cannot be read back is ignored and played again."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def default_dir() -> Path:
    """$SHOPSIM_CACHE, else $XDG_CACHE_HOME/shopsim/sweep, else ~/.cache/shopsim/sweep."""
    if os.environ.get("SHOPSIM_CACHE"):
        return Path(os.environ["SHOPSIM_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "shopsim" / "sweep"


class Cache:
    def __init__(self, root: Path | None) -> None:
        self.root = root  # None: keep nothing

    def _path(self, key: str) -> Path:
        assert self.root is not None
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        if self.root is None:
            return None
        try:
            with open(self._path(key), "rb") as f:
                record = json.loads(f.read())
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) and {"kpis", "arms"} <= set(record) else None

    def put(self, key: str, record: dict[str, Any]) -> None:
        if self.root is None:
            return
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(json.dumps(record, sort_keys=True, allow_nan=False).encode())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
