"""Chat answers first: work that can wait (a web page) waits while a message is answered.

Pages are built in worker threads, but a thread holding the interpreter (the GIL) still
slows the event loop's answer down: measured, a chat answer took twice as long while tabs
reloaded pages (benchmarks/web_bench.py). So the app counts the messages it is answering;
the web console starts no page meanwhile, and a page being rendered pauses between pieces.
Both waits are bounded (`MAX_WAIT`): a flood of messages slows pages, never stops them.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")
MAX_WAIT = 0.05  # seconds a page waits for the answers to end, at most, each time


class ChatFirst:
    """The number of messages being answered, and waits for it to be zero.

    `answering` and `quiet` run on the event loop; `pause` in a worker thread.
    """

    def __init__(self) -> None:
        self._answering = 0
        self._quiet_loop = asyncio.Event()
        self._quiet_loop.set()
        self._quiet_threads = threading.Event()
        self._quiet_threads.set()

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Around the handling of one message."""
        self._answering += 1
        self._quiet_loop.clear()
        self._quiet_threads.clear()
        try:
            yield
        finally:
            self._answering -= 1
            if not self._answering:
                self._quiet_loop.set()
                self._quiet_threads.set()

    async def quiet(self) -> None:
        """On the loop: until no message is being answered (or `MAX_WAIT`)."""
        if self._answering:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._quiet_loop.wait(), MAX_WAIT)

    async def off_loop(self, work: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """`work(...)` in a worker thread, started once no message is being answered."""
        await self.quiet()
        return await asyncio.to_thread(work, *args, **kwargs)

    def pause(self) -> None:
        """In a worker thread: let an answer under way have the interpreter to itself."""
        if not self._quiet_threads.is_set():
            self._quiet_threads.wait(MAX_WAIT)
