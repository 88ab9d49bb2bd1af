"""Login sessions: signed, expiring, HTTP-only cookies, and the CSRF token of each session."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.weblogin.signing import Signer

COOKIE = "yishiting_session"
_PURPOSE = "session"


@dataclass(frozen=True)
class Session:
    who: str  # a person key
    sid: str
    expires: datetime


class Sessions:
    """Makes and reads session cookies; nothing is stored, the signature is the proof (a
    cookie from another deployment, signed with another key, is no session here)."""

    def __init__(self, signer: Signer, clock: Callable[[], datetime], lifetime: timedelta) -> None:
        self.signer = signer
        self.clock = clock
        self.lifetime = lifetime

    def new(self, who: str) -> tuple[str, Session]:
        session = Session(who, secrets.token_urlsafe(16), self.clock() + self.lifetime)
        stamp = str(int(session.expires.timestamp()))
        return self.signer.sign(_PURPOSE, who, stamp, session.sid), session

    def read(self, cookie: str | None) -> Session | None:
        fields = self.signer.open(_PURPOSE, cookie or "", 3)
        if fields is None or not fields[1].isdigit():
            return None
        who, stamp, sid = fields
        expires = datetime.fromtimestamp(int(stamp), self.clock().tzinfo)
        return Session(who, sid, expires) if self.clock() <= expires else None

    def csrf(self, session: Session) -> str:
        return self.signer.digest("csrf", session.sid)

    def csrf_ok(self, session: Session, token: str) -> bool:
        return hmac.compare_digest(self.csrf(session), token)
