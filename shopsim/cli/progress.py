"""A transient progress line on stderr for commands that play many runs (calibrate, sweep)."""

from __future__ import annotations


class Progress:
    """The context gives `tick(done)`; the line (and rich's refresh thread) starts at the first tick, which
    comes once any worker processes are forked. Shown on a terminal only."""

    def __init__(self, label: str, total: int, show: bool) -> None:
        self.label, self.total, self.show, self.bar, self.task = label, total, show, None, None

    def __enter__(self):
        return self.tick

    def tick(self, done: int) -> None:
        if not self.show:
            return
        if self.bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bar, TextColumn, TimeElapsedColumn

            self.bar = Bar(TextColumn(self.label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                           console=Console(stderr=True), transient=True)
            self.bar.start()
            self.task = self.bar.add_task("runs", total=self.total)
        self.bar.update(self.task, completed=done)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()
