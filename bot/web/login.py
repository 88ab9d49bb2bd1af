"""Logging in with a one-time link (from `/web` or `yishiting web link`) and logging out."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.models import Role
from bot.web.console import Console
from bot.web.sessions import COOKIE
from bot.weblogin.links import LinkRefusedError, UsedLinks

log = logging.getLogger(__name__)


def routes(console: Console) -> list[web.RouteDef]:
    async def login(request: web.Request) -> web.StreamResponse:
        lang = console.settings.language
        token = request.query.get("t", "")
        if not token:
            return console.renderer.page(lang, "login.html", None)
        try:
            who = _use(console, token)
        except LinkRefusedError as refused:
            log.info("web login refused: %s", refused.reason)
            return console.renderer.page(
                lang, "login.html", None, status=403, refused=f"web_link_{refused.reason}"
            )
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

    return [web.get("/login", login), web.post("/logout", logout)]


def _use(console: Console, token: str) -> str:
    """The person a valid, unused link is for, its use recorded; else LinkRefusedError."""
    link = console.links.check(token)
    if not console.core.roles.role_of_key(link.who).allows(Role.STAFF):
        raise LinkRefusedError("not_staff")
    store = console.core.store
    used = store.repo(UsedLinks)
    if used.used(link.nonce):
        raise LinkRefusedError("used")
    with store.batch():
        used.use(link.nonce, link.who, console.core.conversation.clock())
    return link.who
