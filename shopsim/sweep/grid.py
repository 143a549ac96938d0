"""The grid of a sweep: each `--set PATH=V1,V2,...` is an axis; a point takes one value of every axis.

Points are numbered in the order the values were given, the first axis varying slowest (as a nested loop
reads), so a point's number, its label and the rows of every output agree from run to run."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Sequence

from shopsim.scenario.overrides import Override, OverrideError, parse

# Runs (points x seeds) one sweep may ask for: past this it is a typing mistake, not a study.
MAX_RUNS = 100_000


@dataclass(frozen=True)
class Axis:
    where: str                     # the path as written back: flows.x.steps[0].after
    values: tuple[Override, ...]
    name: str = ""                 # the shortest tail of the path that tells it from the other axes: after


@dataclass(frozen=True)
class Point:
    index: int
    settings: tuple[Override, ...]  # one per axis, in axis order
    names: tuple[str, ...] = ()     # each axis's short name

    @property
    def label(self) -> str:
        """`after=1h, value=10`: each axis by its short name, or "as written" with no axes."""
        if not self.settings:
            return "as written"
        names = self.names or tuple(short(o.where) for o in self.settings)
        return ", ".join(f"{n}={o.text}" for n, o in zip(names, self.settings))

    def key(self) -> list[list[str]]:
        """The settings as data: what a cache key and a JSON document hold."""
        return [[o.where, json.dumps(o.value, sort_keys=True, ensure_ascii=False)] for o in self.settings]


def short(where: str, depth: int = 1) -> str:
    """flows.reminder.steps[0].after -> after (depth 1), steps[0].after (depth 2)."""
    return ".".join(where.split(".")[-depth:])


def _names(wheres: Sequence[str]) -> list[str]:
    """The shortest tails that tell every axis apart: after and value, or reminder.after and nudge.after."""
    depth = 1
    while True:
        names = [short(w, depth) for w in wheres]
        if len(set(names)) == len(names) or all(n == w for n, w in zip(names, wheres)):
            return names
        depth += 1


def axes_of(specs: Sequence[str]) -> list[Axis]:
    """Each `--set` as an axis; OverrideError for bad syntax or a path given twice."""
    axes: list[Axis] = []
    for spec in specs:
        values = tuple(parse(spec, many=True))
        where = values[0].where
        if where in {a.where for a in axes}:
            raise OverrideError(f"{where} is set twice: give all its values in one --set {where}=V1,V2")
        for a in axes:
            if where.startswith(a.where + ".") or a.where.startswith(where + ".") \
                    or where.startswith(a.where + "[") or a.where.startswith(where + "["):
                raise OverrideError(f"{where} and {a.where} overlap: set one or the other")
        if where in ("run.seed",):
            raise OverrideError("run.seed is what --seeds varies: use --seeds N")
        axes.append(Axis(where, values))
    return [Axis(a.where, a.values, n) for a, n in zip(axes, _names([a.where for a in axes]))]


def points_of(axes: Sequence[Axis]) -> list[Point]:
    names = tuple(a.name or short(a.where) for a in axes)
    return [Point(i, tuple(combo), names) for i, combo in enumerate(itertools.product(*(a.values for a in axes)))]
