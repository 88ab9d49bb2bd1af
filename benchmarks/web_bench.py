"""Web console pages with 100,000 tickets in the store, beside an empty store, same run.

Run: `.venv/bin/python -m benchmarks.web_bench` (`--tickets N`, `--rounds N`).

A data folder holds N tickets over two years (written as a snapshot: set-up, not measured):
one in fifty still open, the rest claimed, replied to and resolved, across three compounds and
the default categories. The bot is built on it as `yishiting run` builds it and its console
served on 127.0.0.1 (aiohttp's test server); a logged-in staff member (an admin for the FAQ
editor) loads each page `--rounds` times. Printed: the time from request to the whole
response (server time plus a loopback round trip), p50 and p99, for the empty and the big
store, after one unmeasured load of each page.

Then a resident's private FAQ question through `App.deliver`, `--rounds` times alone and
again while 20 tabs keep reloading Today, the Report and the ticket list. The tabs are HTTP
clients in a child process, as browsers are other programs: clients on the bot's own event
loop would measure their own parsing of the pages, not the bot's. Printed beside: how many
pages the tabs loaded meanwhile.

Targets (issue 15): every page ≤ 100 ms server time with 100,000 tickets, the Report's
charts ≤ 500 ms; no measurable delay to chat answers while pages render. Times are printed,
never asserted: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from aiohttp import ClientSession, CookieJar, web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import App
from bot.config import RolesConfig, Settings, StaffRoom, WebConfig
from bot.desk.repo import TicketRepo
from bot.desk.tickets import Reporter, Ticket
from bot.models import Address, ChatKind, Incoming, Person
from bot.store.files import pack, write_generation
from bot.store.journal import SCHEMA_VERSION
from bot.web.console import build_app, make_console
from bot.wiring import build_core
from tests.fakes import FakeChannel, FakeClock
from tests.web_helpers import log_in

AT = datetime.fromisoformat("2026-12-01T09:00:00+08:00")
COMPOUNDS = ("丰仓小区", "粮库宿舍", "新华里")
CATEGORIES = ("路灯照明", "排水/雨污分流", "物业", "医保社保", "邻里纠纷", "其他")
PAGES = (
    "/",
    "/tickets",
    "/tickets?status=all",
    "/tickets?status=resolved&compound=粮库宿舍",
    "/tickets?text=东门",
    "/tickets/{last}",
    "/faq",
    "/faq?q=医保怎么在网上交",
    "/faq/medical-insurance-online-payment",
    "/report",
    "/broadcasts",
)


def ticket(n: int, count: int) -> Ticket:
    """The n-th of `count` tickets, one every ten minutes up to the start; 1 in 50 open."""
    at = AT - timedelta(minutes=10 * (count - n))
    t = Ticket(
        number=1001 + n,
        kind="report",
        category=CATEGORIES[n % len(CATEGORIES)],
        compound=COMPOUNDS[n % len(COMPOUNDS)],
        text=f"{n % 97}号楼{'东门' if n % 13 == 0 else '后面'}的路灯黑了好几天了，晚上出门看不见路",
        origin=f"fake:r{n}",
        reporters=[Reporter(f"fake:r{n}", f"居民{n}", "fake", f"r{n}", "zh-CN")],
        created=at.isoformat(),
    )
    t.apply("open", at=at, who=f"fake:r{n}", name=f"居民{n}", via="fake", text=t.text)
    if n % 50:
        for step, text in (("claim", ""), ("reply", "明天上午来修"), ("resolve", "已修好")):
            at += timedelta(hours=1)
            t.apply(step, at=at, who="other:zhu", name="朱书记", via="other", text=text)
        t.assignee, t.assignee_name = "other:zhu", "朱书记"
    t.cards = [["other", "g:staffroom", str(10_000 + n)]]
    return t


def make_folder(folder: Path, count: int) -> None:
    docs = {str(1001 + n): pack(ticket(n, count).to_doc()) for n in range(count)}
    folder.mkdir(parents=True, exist_ok=True)
    write_generation(folder, 1, 0, SCHEMA_VERSION, {"tickets": docs})


async def measure(folder: Path, rounds: int) -> dict[str, list[float]]:
    settings = Settings(
        data_dir=folder,
        roles=RolesConfig(admins=("fake:admin",), staff=("other:zhu",), trusted_role_channels=()),
        staff_rooms=(StaffRoom(chat="other:g:staffroom"),),
        compounds=COMPOUNDS,
        web=WebConfig(),
    )
    core = build_core(settings, clock=FakeClock(AT))
    app = App(core, [FakeChannel("fake"), FakeChannel("other")], settings)
    console = make_console(core, settings, app.answer, app.faq_changed, chat_first=app.chat_first)
    last = 1000 + max(core.store.repo(TicketRepo).count(), 1)  # the newest ticket
    times: dict[str, list[float]] = {}
    sizes: dict[str, int] = {}
    try:
        async with TestClient(TestServer(build_app(console))) as client:
            await log_in(client, console.links.url("", "fake:admin"))
            for page in PAGES:
                path = page.format(last=last)
                await (await client.get(path)).read()  # warm-up: templates, the matcher
                for _ in range(rounds):
                    started = time.perf_counter()
                    response = await client.get(path, allow_redirects=False)
                    body = await response.read()
                    assert response.status == 200 or path == "/tickets/1001", path
                    sizes[page] = len(body)
                    times.setdefault(page, []).append((time.perf_counter() - started) * 1000)
            times[CHAT_ALONE] = await chat_times(app, rounds, "alone")
            times[CHAT_LOADED], loaded = await chat_times_with_tabs(app, client, rounds)
    finally:
        app.scheduler.shutdown()
        core.close()
    print(f"{folder.name}: page sizes in bytes {sizes}")
    print(f"{folder.name}: the tabs loaded {loaded} pages while the chat was measured")
    return times


CHAT_ALONE = "chat answer, no page loading"
CHAT_LOADED = f"chat answer, {20} pages loading"
LOADERS = 20
TAB_PAGES = ("/", "/report", "/tickets")  # what each tab reloads, over and over


async def chat_times_with_tabs(
    app: App,
    client: TestClient[web.Request, web.Application],
    rounds: int,
    pages: tuple[str, ...] = TAB_PAGES,
) -> tuple[list[float], int]:
    """The chat answers while `LOADERS` tabs in a child process reload pages; and how many
    pages they loaded meanwhile."""
    cookies = {c.key: c.value for c in client.session.cookie_jar}
    spawn = multiprocessing.get_context("spawn")
    stop, started, loaded = spawn.Event(), spawn.Event(), spawn.Value("i", 0)
    tabs = spawn.Process(
        target=run_tabs,
        args=(Site(str(client.make_url("")).rstrip("/"), cookies, pages), stop, started, loaded),
    )
    tabs.start()
    while not started.is_set():  # the child's interpreter starting is not measured
        if not tabs.is_alive():
            raise RuntimeError(f"the tabs' process ended ({tabs.exitcode}) before loading")
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)  # every tab has a page under way
    found = await chat_times(app, rounds, "loaded")
    stop.set()
    while tabs.is_alive():  # the tabs finish the pages they asked for
        await asyncio.sleep(0.05)
    return found, int(loaded.value)


class Site(NamedTuple):
    """Where the tabs load what: the console's address, the session cookie, the pages."""

    base: str
    cookies: dict[str, str]
    pages: tuple[str, ...]


def run_tabs(site: Site, stop: Any, started: Any, loaded: Any) -> None:
    """The child process: `LOADERS` tabs reloading Today, the Report and the ticket list."""

    async def tab(session: ClientSession) -> None:
        while not stop.is_set():
            for path in site.pages:
                url = site.base + path
                async with session.get(url, allow_redirects=False) as response:
                    await response.read()
                    if response.status == 200:  # not the login page: a page was built
                        with loaded.get_lock():
                            loaded.value += 1

    async def tabs() -> None:
        jar = CookieJar(unsafe=True)  # the console is on 127.0.0.1
        async with ClientSession(cookie_jar=jar, cookies=site.cookies) as session:
            started.set()
            await asyncio.gather(*(tab(session) for _ in range(LOADERS)))

    asyncio.run(tabs())


async def chat_times(app: App, rounds: int, tag: str) -> list[float]:
    """A resident's private question, answered from the FAQ through `App.deliver`."""
    found: list[float] = []
    for n in range(rounds):
        message = Incoming(
            chat=Address("fake", f"bench-{tag}-{n}"),
            sender=Person("fake", f"bench-{tag}-{n}", "居民"),
            chat_kind=ChatKind.PRIVATE,
            text="城乡居民医保怎么在网上缴费？",
            message_id=f"bench-{tag}-{n}",
        )
        started = time.perf_counter()
        await app.deliver(message)
        found.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0)  # let the page loads run between questions
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        make_folder(root / "big", args.tickets)
        setup = time.perf_counter() - started
        (root / "empty").mkdir()
        empty = asyncio.run(measure(root / "empty", args.rounds))
        big = asyncio.run(measure(root / "big", args.rounds))
    print(f"(set-up of the folder: {setup:.1f} s; {args.rounds} loads of each page)")
    head = f"{args.tickets:,} tickets"
    print(f"{'page':<44} {'empty p50':>9} {'p99':>7} {head + ' p50':>20} {'p99':>7}  ms")
    for page in (*PAGES, CHAT_ALONE, CHAT_LOADED):
        row = [_p(empty[page], 50), _p(empty[page], 99), _p(big[page], 50), _p(big[page], 99)]
        print(f"{page:<44} {row[0]:>9.1f} {row[1]:>7.1f} {row[2]:>20.1f} {row[3]:>7.1f}")


def _p(times: list[float], q: int) -> float:
    ordered = sorted(times)
    if q == 50:
        return statistics.median(ordered)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


if __name__ == "__main__":
    main()
