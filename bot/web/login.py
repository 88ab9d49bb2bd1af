"""Logging in with a one-time link (from `/web` or `yishiting web link`) and logging out."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.models import Role
from bot.web.console import Console
from bot.web.sessions import COOKIE
from bot.weblogin.links import LinkRefusedError, LoginLink, UsedLinks

log = logging.getLogger(__name__)


def routes(console: Console) -> list[web.RouteDef]:
    async def refused(lang: str, reason: str) -> web.Response:
        log.info("web login refused: %s", reason)
        return await console.renderer.page(
            lang, "login.html", None, status=403, refused=f"web_link_{reason}"
        )

    async def confirm(request: web.Request) -> web.StreamResponse:
        """Opening a link shows a button and uses nothing: a chat app fetching the link for
        its preview must not spend the one use."""
        lang = console.settings.language
        token = request.query.get("t", "")[:2000]
        if not token:
            return await console.renderer.page(lang, "login.html", None)
        try:
            _check(console, token)
        except LinkRefusedError as exc:
            return await refused(lang, exc.reason)
        return await console.renderer.page(lang, "login.html", None, token=token)

    async def login(request: web.Request) -> web.StreamResponse:
        lang = console.settings.language
        form = await request.post()
        token = str(form.get("t", ""))[:2000]
        try:
            who = _use(console, token)
        except LinkRefusedError as exc:
            return await refused(lang, exc.reason)
        cookie, session = console.sessions.new(who)
        log.info("web login: %s", who)
        response = web.HTTPSeeOther("/")
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=int((session.expires - console.core.conversation.clock()).total_seconds()),
            httponly=True,
            samesite="Lax",
            secure=console.config.public_url.startswith("https://"),
            path="/",
        )
        raise response

    async def logout(request: web.Request) -> web.StreamResponse:
        response = web.HTTPSeeOther("/login")
        response.del_cookie(COOKIE, path="/")
        raise response

    return [
        web.get("/login", confirm),
        web.post("/login", login),
        web.post("/logout", logout),
    ]


def _check(console: Console, token: str) -> LoginLink:
    """A valid link, unused, for someone who is staff or admin now; else LinkRefusedError."""
    link = console.links.check(token)
    if not console.core.roles.role_of_key(link.who).allows(Role.STAFF):
        raise LinkRefusedError("not_staff")
    if console.core.store.repo(UsedLinks).used(link.nonce):
        raise LinkRefusedError("used")
    return link


def _use(console: Console, token: str) -> str:
    """The person a valid, unused link is for, its use recorded; else LinkRefusedError."""
    link = _check(console, token)
    store = console.core.store
    with store.batch():
        store.repo(UsedLinks).use(link.nonce, link.who, console.core.conversation.clock())
    return link.who
