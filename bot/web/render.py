"""Pages from the package's Jinja templates, in the viewer's language (bot/locales/)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web
from jinja2 import Environment, PackageLoader, select_autoescape

from bot.i18n import Translator
from bot.models import Role


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

    def __init__(self, translate: Translator) -> None:
        self.t = translate
        self.env = Environment(
            loader=PackageLoader("bot.web", "templates"),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def page(
        self, lang: str, template: str, viewer: Viewer | None, status: int = 200, **context: Any
    ) -> web.Response:
        def t(key: str, **params: Any) -> str:
            return self.t(lang, key, **params)

        html = self.env.get_template(template).render(t=t, viewer=viewer, lang=lang, **context)
        return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
