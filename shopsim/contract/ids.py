"""Ids: "s000001" is the first shopper (index 0), "p00001" the first generated product, "s000433-a2" an ad. One
definition, read by the scenario, the engine, the notification and marketing layers, the tables and the front
ends alike."""

from __future__ import annotations


def shopper_id(index: int) -> str:
    """Stable id from the 0-based index: s000001 is the first shopper."""
    return f"s{index + 1:06d}"


def is_ad(ref: str) -> bool:
    """Whether a click's ref names an ad (s000433-a2) rather than a notification (s000001-n3)."""
    return ref.rsplit("-", 1)[-1].startswith("a")


def shopper_index(sid: str) -> int:
    """The 0-based index of an id; KeyError for anything that is not one ('s' and digits)."""
    if len(sid) < 2 or sid[0] != "s" or not sid[1:].isdigit():
        raise KeyError(sid)
    return int(sid[1:]) - 1


def index_of(sid: str) -> int:
    """shopper_index() of an id the engine made itself (an event's shopper), without checking it: reactions
    look their shopper up on every event they get."""
    return int(sid[1:]) - 1


def product_id(index: int) -> str:
    """A generated product's id from its 0-based index: p00001 is the first (listed items have their own)."""
    return f"p{index + 1:05d}"


def product_index(pid: str) -> int:
    """The 0-based index a generated product's id names; KeyError for anything that is not one."""
    if len(pid) < 2 or pid[0] != "p" or not pid[1:].isdigit():
        raise KeyError(pid)
    return int(pid[1:]) - 1

