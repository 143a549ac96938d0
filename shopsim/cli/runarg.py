"""What `inbox`, `explain` and `export` share: opening a RUN argument, shoppers' local times."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import lru_cache
from typing import Iterator
from zoneinfo import ZoneInfo

import click

from shopsim.cli.common import fail
from shopsim.store.runfile import RunFile, RunFileError, open_run
from shopsim.contract.clock import epoch_ms

SHOPPER_ID = re.compile(r"s\d{6,}")
NOTIFICATION_ID = re.compile(r"(s\d{6,})-n[1-9]\d*")

run_argument = click.argument("run", metavar="RUN")


def open_or_fail(path: str) -> RunFile:
    try:
        return open_run(path)
    except RunFileError as e:
        fail(str(e))


@contextmanager
def reading(path: str) -> Iterator[RunFile]:
    """Open RUN; any RunFileError while reading it (a bad line, a cut gzip) exits 2 with its one line."""
    run = open_or_fail(path)
    try:
        yield run
    except RunFileError as e:
        fail(str(e))


@lru_cache(maxsize=64)
def zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


def parse_iso(t: str) -> int:
    """'2026-03-02T08:00:00.000Z' -> epoch ms."""
    return epoch_ms(datetime.fromisoformat(t))


def local_dt(epoch: int, tz: str) -> datetime:
    return datetime.fromtimestamp(epoch / 1000, timezone.utc).astimezone(zone(tz))


def local_iso(epoch: int, tz: str) -> str:
    """'2026-03-03T08:00:00.000-06:00'"""
    return local_dt(epoch, tz).isoformat(timespec="milliseconds")


def utc_label(epoch: int) -> str:
    """'2026-03-03 14:00:00 UTC'"""
    return datetime.fromtimestamp(epoch / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def local_label(epoch: int, tz: str) -> str:
    """'Tue 3 Mar 2026, 08:00 CST'"""
    d = local_dt(epoch, tz)
    return f"{d:%a} {d.day} {d:%b %Y}, {d:%H:%M} {d.tzname()}"
