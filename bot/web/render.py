"""Pages from the package's Jinja templates, in the viewer's language (bot/locales/).

A page is rendered in a worker thread: rendering is pure CPU (the templates read what the
handler built) and a chat answer must not wait on the event loop for a page to be drawn.
Between pieces of the page the thread pauses while a chat message is being answered
(bot/web/chat_first.py), so that the answer has the interpreter to itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web
from jinja2 import Environment, PackageLoader, select_autoescape

from bot.i18n import Translator
from bot.models import Role
from bot.web.chat_first import ChatFirst

PIECES_BETWEEN_PAUSES = 32  # a template's pieces are a few microseconds each


@dataclass(frozen=True)
class Viewer:
    """Who is looking: a staff member or admin, with the CSRF token of their session."""

    key: str
    name: str
    role: Role
    lang: str
    csrf: str

    @property
    def admin(self) -> bool:
        return self.role is Role.ADMIN


class Renderer:
    """Renders a template with `t` (the locale strings) and the viewer."""

    def __init__(self, translate: Translator, chat_first: ChatFirst) -> None:
        self.t = translate
        self.chat_first = chat_first
        self.env = Environment(
            loader=PackageLoader("bot.web", "templates"),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )

    async def page(
        self, lang: str, template: str, viewer: Viewer | None, status: int = 200, **context: Any
    ) -> web.Response:
        """The rendered page, drawn in a worker thread."""
        html = await self.chat_first.off_loop(self.html, lang, template, viewer, **context)
        return _response(html, status)

    def page_now(
        self, lang: str, template: str, viewer: Viewer | None, status: int = 200, **context: Any
    ) -> web.Response:
        """The page drawn on the spot: for the short refusals raised from plain functions."""
        return _response(self.html(lang, template, viewer, **context), status)

    def html(self, lang: str, template: str, viewer: Viewer | None, **context: Any) -> str:
        def t(key: str, **params: Any) -> str:
            return self.t(lang, key, **params)

        pieces = self.env.get_template(template).generate(t=t, viewer=viewer, lang=lang, **context)
        drawn: list[str] = []
        for n, piece in enumerate(pieces):
            drawn.append(piece)
            if n % PIECES_BETWEEN_PAUSES == 0:
                self.chat_first.pause()
        return "".join(drawn)


def _response(html: str, status: int) -> web.Response:
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
