"""`/web` in a private chat: a staff member or admin gets a one-time link to the console."""

from __future__ import annotations

from collections.abc import Callable

from bot.commands import Action, Command, Handler
from bot.config import Settings
from bot.i18n import Translator
from bot.models import Outgoing, Role
from bot.turn import Turn
from bot.weblogin.links import LINK_VALIDITY, LoginLinks


class WebLinkCommand:
    """The `/web` command; without a `web:` section in the settings it says the console is off."""

    def __init__(
        self,
        *,
        settings: Settings,
        links: Callable[[], LoginLinks],
        translate: Translator,
    ) -> None:
        self.settings = settings
        self.links = links  # made on first use: the key file is created only when needed
        self.t = translate

    def commands(self) -> list[tuple[Command, Handler]]:
        return [(Command("web", "cmd_web", Role.STAFF, group_ok=False), self._cmd_web)]

    def actions(self) -> list[tuple[Action, Handler]]:
        return []

    async def _cmd_web(self, turn: Turn, args: str) -> list[Outgoing]:
        web = self.settings.web
        if web is None:
            return [turn.reply(self.t(turn.lang, "web_off"))]
        url = self.links().url(web.public_url, turn.sender_key)
        minutes = int(LINK_VALIDITY.total_seconds() // 60)
        return [turn.reply(self.t(turn.lang, "web_link", url=url, minutes=minutes))]
