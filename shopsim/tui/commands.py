"""The command palette (ctrl+p): every app action by name, and "go to shopper" by id or name.

The actions are not listed here: the app declares them once in `COMMANDS_LIST`, a list of
`(title, help, action)` tuples (the action as for `App.run_action`, e.g. "toggle_play" or "screen.search"),
so a new action shows up in the palette by adding one line to the app."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any, Iterator

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from shopsim.contract.ids import shopper_id
from shopsim.tui.messages import ShopperSelected

MAX_SHOPPER_HITS = 20   # the palette shows the best few; typing more narrows the search
YIELD_EVERY = 2000      # shoppers scanned between two yields to the event loop (100k shoppers stay smooth)


class ShopsimCommands(Provider):
    """Commands from `app.COMMANDS_LIST`, plus "Shopper s000084 · Tara Sloan" for the running simulation."""

    def commands(self) -> list[tuple[str, str, str]]:
        return [tuple(c) for c in getattr(self.app, "COMMANDS_LIST", ()) or ()]

    def _run(self, action: str) -> Any:
        return self.app.run_action(action)

    async def discover(self) -> Hits:
        """With nothing typed yet: every command, in the app's order."""
        for title, help_text, action in self.commands():
            yield DiscoveryHit(title, partial(self._run, action), text=title, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, action in self.commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(self._run, action), text=title, help=help_text)
        async for hit in self._shopper_hits(query):
            yield hit

    # --- shoppers ----------------------------------------------------------------------------------

    async def _shopper_hits(self, query: str) -> Hits:
        sim = getattr(self.app, "sim", None)
        shoppers = getattr(sim, "shoppers", None)
        words = query.lower().split()
        if not shoppers or not words or len(query.strip()) < 2:
            return
        matcher = self.matcher(query)
        found = 0
        for n, (i, sh, label) in enumerate(_candidates(shoppers, words)):
            if n and n % YIELD_EVERY == 0:
                await asyncio.sleep(0)
            if label is None:
                continue
            score = max(matcher.match(label), 0.5 if found == 0 else 0.3)
            yield Hit(score, Content.assemble("Shopper ", matcher.highlight(label)),
                      partial(self._select_shopper, i), text=f"Shopper {label}", help=_shopper_help(sh))
            found += 1
            if found >= MAX_SHOPPER_HITS:
                return

    def _select_shopper(self, index: int) -> None:
        # Posted to the screen the palette was opened on; it bubbles up to the app if the screen ignores it.
        self.screen.post_message(ShopperSelected(index))


def _label(sh: Any) -> str:
    return f"{getattr(sh, 'id', '?')} · {getattr(sh, 'name', '') or ''}".rstrip(" ·")


def _candidates(shoppers: list, words: list[str]) -> Iterator[tuple[int, Any, str | None]]:
    """(index, shopper, label or None) for every shopper: the label when every word occurs in the shopper's id
    or name. An exact id ("s000084", or just "84") comes first. Lazy, so the caller can stop early."""
    exact = _exact_index(shoppers, words)
    if exact is not None:
        yield exact, shoppers[exact], _label(shoppers[exact])
    for i, sh in enumerate(shoppers):
        if i == exact:
            yield i, sh, None
            continue
        hay = f"{getattr(sh, 'id', '')} {getattr(sh, 'name', '')}".lower()
        yield i, sh, _label(sh) if all(w in hay for w in words) else None


def _exact_index(shoppers: list, words: list[str]) -> int | None:
    if len(words) != 1:
        return None
    w = words[0]
    digits = w[1:] if w.startswith("s") else w
    if not digits.isdigit():
        return None
    i = int(digits) - 1
    if 0 <= i < len(shoppers) and str(getattr(shoppers[i], "id", "")).lower() == shopper_id(i):
        return i
    return None


def _shopper_help(sh: Any) -> str:
    segment = getattr(getattr(sh, "segment", None), "name", None)
    parts = [getattr(sh, "city", None), getattr(sh, "country", None), segment, getattr(sh, "tz", None)]
    return " · ".join(str(p) for p in parts if p)
