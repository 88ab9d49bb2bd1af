"""The web console's server: routes, the login check on every request, start and stop."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from bot.config import Settings, WebConfig
from bot.failpoints import Failpoints
from bot.models import Incoming, Outgoing, Role
from bot.web.chat_first import ChatFirst
from bot.web.page_data import PageData
from bot.web.render import Renderer, Viewer
from bot.web.sessions import COOKIE, Sessions
from bot.web.uploads import MAX_BYTES
from bot.weblogin.links import LoginLinks
from bot.weblogin.signing import Signer, load_key
from bot.wiring import Core

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY = 64 * 1024  # a form is a few kilobytes; more is refused before it is read
# The FAQ entry editor's forms may carry an attachment (bot/web/uploads.py): its limit and
# the form's. A bigger body is not read: the editor says the file is too big.
EDITOR_FORM = re.compile(r"/faq/[^/]+")
EDITOR_BODY = MAX_BYTES + MAX_BODY
DRAIN_LIMIT = 8 * EDITOR_BODY
OPEN_PATHS = ("/login", "/static/")

VIEWER = web.RequestKey("viewer", Viewer)
TOO_BIG = web.RequestKey("too_big", bool)  # an editor form over EDITOR_BODY, left unread

Act = Callable[[Incoming], Awaitable[list[Outgoing]]]
"""Handles a message as the chat core does and returns the replies (`App.answer`)."""


@dataclass
class Console:
    """What every page works with: the core, acting through it, and the login machinery."""

    core: Core
    settings: Settings
    config: WebConfig
    act: Act
    faq_changed: Callable[[], Awaitable[None]]  # the bot reloads faq.yaml and says so
    links: LoginLinks
    sessions: Sessions
    renderer: Renderer
    pages: PageData  # Today's and the Report's data, built off the event loop
    failpoints: Failpoints  # crash tests stop the bot in the middle of a save of faq.yaml
    chat_first: ChatFirst  # the app's count of messages being answered: pages wait for them

    def lang_of(self, key: str) -> str:
        return self.core.conversation.people.language(key) or self.settings.language

    def require_admin(self, request: web.Request) -> None:
        """Admin pages: anyone else gets a page saying so (403), and nothing happens."""
        viewer = self.viewer(request)
        if not viewer.role.allows(Role.ADMIN):
            message = self.core.conversation.t(viewer.lang, "web_admin_only")
            page = self.renderer.page_now(viewer.lang, "message.html", viewer, message=message)
            raise web.HTTPForbidden(text=page.text, content_type="text/html")

    def viewer(self, request: web.Request) -> Viewer:
        return request[VIEWER]  # set by the login check for every page behind it


def make_console(
    core: Core,
    settings: Settings,
    act: Act,
    faq_changed: Callable[[], Awaitable[None]],
    *,
    failpoints: Failpoints | None = None,
    chat_first: ChatFirst | None = None,
) -> Console:
    web_settings = settings.web or WebConfig()
    signer = Signer(load_key(settings.data_dir))
    clock = core.conversation.clock
    first = chat_first or ChatFirst()
    return Console(
        core=core,
        settings=settings,
        config=web_settings,
        act=act,
        faq_changed=faq_changed,
        links=LoginLinks(signer, clock),
        sessions=Sessions(signer, clock, timedelta(hours=web_settings.session_hours)),
        renderer=Renderer(core.conversation.t, first),
        pages=PageData(lambda: core.store.version, clock, first),
        failpoints=failpoints or Failpoints(),
        chat_first=first,
    )


def build_app(console: Console) -> web.Application:
    """The aiohttp application with every page; the login check runs before each."""
    from bot.web import broadcasts, faq, faq_edit, faq_new, login, report, tickets, today

    app = web.Application(client_max_size=MAX_BODY, middlewares=[_guard(console)])
    app.router.add_static("/static/", STATIC)
    for module in (login, today, tickets, faq, faq_new, faq_edit, broadcasts, report):
        app.router.add_routes(module.routes(console))
    return app


def _guard(console: Console) -> Middleware:
    """No session, an expired one, or someone no longer staff: the login page, no data.
    A form without its session's CSRF token: refused."""

    # One page is built at a time: twenty tabs then wait their turn off the event loop's
    # queue. And none starts while a chat message is being answered (bot/web/chat_first.py).
    one_page = asyncio.Semaphore(1)

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        async with one_page:
            await console.chat_first.quiet()
            return await _checked(console, request, handler)

    return guard


async def _checked(console: Console, request: web.Request, handler: Handler) -> web.StreamResponse:
    """The page, for a valid session of someone who is staff now (and a form's CSRF token)."""
    if request.path.startswith(OPEN_PATHS):
        return await handler(request)
    session = console.sessions.read(request.cookies.get(COOKIE))
    role = console.core.roles.role_of_key(session.who) if session else Role.RESIDENT
    if session is None or not role.allows(Role.STAFF):
        if request.method == "GET":
            raise web.HTTPSeeOther("/login")
        raise web.HTTPForbidden(text="not logged in")
    lang = console.lang_of(session.who)
    name = console.core.conversation.people.name(session.who) or session.who
    viewer = Viewer(session.who, name, role, lang, console.sessions.csrf(session))
    if request.method == "POST" and EDITOR_FORM.fullmatch(request.path):
        request = request.clone(client_max_size=EDITOR_BODY)
        if (request.content_length or 0) > EDITOR_BODY:
            await _drain(request)  # a browser shows an answer only once it has sent it all
            request[VIEWER] = viewer
            request[TOO_BIG] = True  # nothing is kept, checked or written: the editor says so
            return await handler(request)
    request[VIEWER] = viewer
    if request.method == "POST":
        form = await request.post()
        token = form.get("csrf")
        if not isinstance(token, str) or not console.sessions.csrf_ok(session, token):
            return await console.renderer.page(
                lang,
                "message.html",
                viewer,
                status=403,
                message=console.core.conversation.t(lang, "web_csrf"),
            )
    return await handler(request)


async def _drain(request: web.Request) -> None:
    """Read a too big body to its end, keeping nothing; a far bigger one is cut off."""
    left = DRAIN_LIMIT
    async for chunk in request.content.iter_chunked(64 * 1024):
        left -= len(chunk)
        if left < 0:
            raise web.HTTPRequestEntityTooLarge(EDITOR_BODY, request.content_length or 0)


class WebServer:
    """Serves the console on `web.listen` while the bot runs."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        from bot.web.entry_saving import settle_edits

        settle_edits(self.console)
        runner = web.AppRunner(build_app(self.console), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.console.config.host, self.console.config.port)
        await site.start()
        self._runner = runner
        log.info(
            "web console on http://%s (links: %s)",
            self.console.config.listen,
            self.console.config.public_url,
        )

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
