"""The web console as tests drive it: the real console on the real bot, over real HTTP."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qs, urlsplit

from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer

from bot.web.console import Console, build_app, make_console
from tests.harness import Bot

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
VERSION = re.compile(r'name="version" value="([^"]+)"')


@asynccontextmanager
async def console_client(
    bot: Bot,
) -> AsyncIterator[tuple[Console, TestClient[web.Request, web.Application]]]:
    """The console of `bot`, served on 127.0.0.1, and an HTTP client with its own cookies."""
    console = make_console(
        bot.core, bot.settings, bot.app.answer, bot.app.faq_changed, chat_first=bot.app.chat_first
    )
    async with TestClient(TestServer(build_app(console))) as client:
        yield console, client


def login_path(console: Console, who: str) -> str:
    """The path of a fresh login link for `who`, as `/web` gives it."""
    url = console.links.url(console.config.public_url, who)
    return url.removeprefix(console.config.public_url)


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


async def log_in(client: TestClient[web.Request, web.Application], path: str) -> ClientResponse:
    """Open a login link and press its button, as a person does (opening alone uses nothing)."""
    opened = await client.get(path)
    if opened.status != 200:
        return opened
    token = parse_qs(urlsplit(path).query)["t"][0]
    return await client.post("/login", data={"t": token}, allow_redirects=False)
