"""Room invitations: joined when the inviter is allowed, declined once otherwise.

Allowed are the user ids and ":server" suffixes of ``matrix.allowed_inviters``; unset, everyone
on the bot's own server.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from nio import SyncResponse  # type: ignore[import-untyped]

from channels.base import ChannelError
from channels.matrix.errors import ApiCall

log = logging.getLogger(__name__)


class Invitations:
    """Answers the invitations a sync brings, by who sent them."""

    def __init__(
        self,
        user_id: str,
        *,
        allowed: tuple[str, ...] | None,  # user ids or ":server" suffixes; None: the bot's server
        server: str,  # the bot's own server
        client: Callable[[], Any],  # the nio client, started
        call: ApiCall,
    ) -> None:
        self.user_id = user_id
        self._allowed = allowed
        self._server = server
        self._client = client
        self._call = call
        self._declined: set[str] = set()  # rooms whose invitation was declined already

    async def handle(self, resp: SyncResponse) -> None:
        """Join the rooms of allowed inviters; decline (once) the others."""
        for room_id, info in resp.rooms.invite.items():
            inviter = ""
            for event in info.invite_state:
                # nio pops "content" out of the stripped state's source: use its attributes.
                if (
                    getattr(event, "state_key", None) == self.user_id
                    and getattr(event, "membership", None) == "invite"
                ):
                    inviter = str(getattr(event, "sender", "") or "")
            if self.allowed(inviter):
                log.info("matrix: joining %s, invited by %s", room_id, inviter)
                try:
                    await self._call("join", self._client().join, room_id)
                except ChannelError as exc:
                    log.warning("matrix: cannot join %s: %s", room_id, exc)
            elif room_id not in self._declined:
                self._declined.add(room_id)
                log.info("matrix: declining %s, invited by %s (not allowed)", room_id, inviter)
                with contextlib.suppress(ChannelError):
                    await self._call("decline", self._client().room_leave, room_id)

    def allowed(self, inviter: str) -> bool:
        """Whether an invitation from this user is accepted."""
        if not inviter:
            return False
        allowed = self._allowed
        if allowed is None:
            allowed = (f":{self._server}",)
        for entry in allowed:
            if entry.startswith(":") and inviter.endswith(entry):
                return True
            if entry == inviter:
                return True
        return False


__all__ = ["Invitations"]
