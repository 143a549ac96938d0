"""What can go wrong writing a run's database, as the front ends catch it: a module of its own, so that a replay
without a database does not import the database layer to name the error."""

from __future__ import annotations


class StoreError(Exception):
    """Writing the database failed (a full disk, a lost server). `str(e)` is one line: the reason. `marked`
    says whether the run could still be marked `failed` (False: the database still says `running`)."""

    def __init__(self, reason: str, marked: bool = False):
        super().__init__(reason)
        self.marked = marked
