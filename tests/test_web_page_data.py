"""Page data are built off the event loop, once for all tabs, again after a write or `ttl`."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest

from bot.web.chat_first import ChatFirst
from bot.web.page_data import PageData
from tests.fakes import FakeClock


class Store:
    """The store's version: what a write changes."""

    def __init__(self) -> None:
        self.version = 0


async def test_twenty_tabs_share_one_build_and_the_loop_stays_free(clock: FakeClock) -> None:
    store = Store()
    pages = PageData(lambda: store.version, clock, ChatFirst())
    entered, release = threading.Event(), threading.Event()
    builds: list[int] = []

    def build() -> int:
        builds.append(1)
        entered.set()
        assert release.wait(10), "never released"
        return 42

    tabs = [asyncio.create_task(pages.get("report", build, ttl=timedelta(minutes=1)))]
    assert await asyncio.to_thread(entered.wait, 10)
    tabs += [
        asyncio.create_task(pages.get("report", build, ttl=timedelta(minutes=1))) for _ in range(19)
    ]
    answered = await asyncio.wait_for(asyncio.sleep(0, result="a chat answer"), 1)
    assert answered == "a chat answer" and not any(t.done() for t in tabs)
    release.set()
    assert await asyncio.gather(*tabs) == [42] * 20
    assert len(builds) == 1


async def test_a_write_or_the_time_makes_a_new_build(clock: FakeClock) -> None:
    store = Store()
    pages = PageData(lambda: store.version, clock, ChatFirst())
    count = iter(range(100))
    minute = timedelta(minutes=1)
    assert await pages.get("today", lambda: next(count), ttl=minute) == 0
    assert await pages.get("today", lambda: next(count), ttl=minute) == 0
    store.version += 1  # a ticket was claimed
    assert await pages.get("today", lambda: next(count), ttl=minute) == 1
    assert await pages.get("report", lambda: next(count), ttl=minute, follow_writes=False) == 2
    store.version += 1
    assert await pages.get("report", lambda: next(count), ttl=minute, follow_writes=False) == 2
    clock.advance(minutes=1)
    assert await pages.get("report", lambda: next(count), ttl=minute, follow_writes=False) == 3


async def test_a_failed_build_is_tried_again(clock: FakeClock) -> None:
    pages = PageData(lambda: 0, clock, ChatFirst())
    attempts: list[int] = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise ValueError("a damaged document")
        return "page"

    with pytest.raises(ValueError, match="damaged"):
        await pages.get("today", flaky, ttl=timedelta(minutes=1))
    assert await pages.get("today", flaky, ttl=timedelta(minutes=1)) == "page"
