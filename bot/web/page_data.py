"""Page data built off the event loop, once for all the tabs that ask for it.

The Report reads every ticket of eight weeks and Today decodes every open ticket: tens to
hundreds of milliseconds with 100,000 tickets. Built on the event loop, twenty busy tabs held
chat answers up for seconds (benchmarks/web_bench.py). So a page's data are built in a worker
thread (the store's readers copy the index they walk before walking it, and a document is
read whole), and kept until the store changes or `ttl` passes; the tabs that ask meanwhile
share that one build.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from bot.web.chat_first import ChatFirst

T = TypeVar("T")


class PageData:
    """Builds and keeps each page's data; `version` changes with every write to the store."""

    def __init__(
        self, version: Callable[[], int], clock: Callable[[], datetime], chat_first: ChatFirst
    ) -> None:
        self._version = version
        self._clock = clock
        self._chat_first = chat_first
        self._kept: dict[str, tuple[int, datetime, asyncio.Future[Any], Hashable]] = {}

    async def get(
        self,
        key: str,
        build: Callable[[], T],
        *,
        ttl: timedelta,
        follow_writes: bool = True,
        stamp: Hashable = None,
    ) -> T:
        """`build()`'s result, built in a worker thread unless a fresh one is kept: built
        less than `ttl` ago, for the same `stamp` (a cheap summary of what the data depend
        on) and, `follow_writes`, with nothing written to the store since."""
        now, version = self._clock(), self._version()
        kept = self._kept.get(key)
        if (
            kept is not None
            and kept[3] == stamp
            and self._fresh(kept[:3], now, version, ttl, follow_writes)
        ):
            return cast(T, await asyncio.shield(kept[2]))
        future = asyncio.ensure_future(self._chat_first.off_loop(build))
        self._kept[key] = (version, now, future, stamp)
        # shielded: a tab that closes does not cancel the build the others wait for
        return await asyncio.shield(future)

    @staticmethod
    def _fresh(
        kept: tuple[int, datetime, asyncio.Future[Any]],
        now: datetime,
        version: int,
        ttl: timedelta,
        follow_writes: bool,
    ) -> bool:
        built_version, at, future = kept
        if future.done() and future.exception() is not None:
            return False  # a failed build is tried again
        unchanged = built_version == version or not follow_writes
        return unchanged and timedelta(0) <= now - at < ttl
