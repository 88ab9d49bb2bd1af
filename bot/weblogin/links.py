"""One-time login links: made for staff and admins, valid 10 minutes, used once."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from bot.store.repos import RecordRepo
from bot.weblogin.signing import Signer

LINK_VALIDITY = timedelta(minutes=10)
_PURPOSE = "login-link"


class UsedLinks(RecordRepo):
    """The nonces of login links already used (the bot records them; the CLI only signs)."""

    table: ClassVar[str] = "web_links_used"

    def used(self, nonce: str) -> bool:
        return bool(self.where("nonce", nonce))

    def use(self, nonce: str, who: str, at: datetime) -> None:
        self.add({"nonce": nonce, "who": who, "at": at.isoformat(timespec="seconds")})


class LinkRefusedError(Exception):
    """A link that does not log anyone in; `reason` is a locale key (web_link_<reason>)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class LoginLink:
    who: str  # a person key, 'telegram:123'
    nonce: str
    expires: datetime


class LoginLinks:
    """Signs links for a person key and checks them; the single use is the caller's record."""

    def __init__(self, signer: Signer, clock: Callable[[], datetime]) -> None:
        self.signer = signer
        self.clock = clock

    def token(self, who: str) -> str:
        expires = self.clock() + LINK_VALIDITY
        stamp = str(int(expires.timestamp()))
        return self.signer.sign(_PURPOSE, who, stamp, secrets.token_urlsafe(12))

    def url(self, base_url: str, who: str) -> str:
        return f"{base_url}/login?t={self.token(who)}"

    def check(self, token: str) -> LoginLink:
        """The link's person and nonce, or LinkRefusedError("forged" | "expired")."""
        fields = self.signer.open(_PURPOSE, token, 3)
        if fields is None or not fields[1].isdigit():
            raise LinkRefusedError("forged")
        who, stamp, nonce = fields
        expires = datetime.fromtimestamp(int(stamp), self.clock().tzinfo)
        if self.clock() > expires:
            raise LinkRefusedError("expired")
        return LoginLink(who, nonce, expires)
