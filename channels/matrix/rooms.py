"""Where an address is on Matrix: a room id, a room alias, or the direct room with a user.

A private address is a user id (``@user:server``): the bot finds the unencrypted room it shares
with exactly that user, or creates one (``is_direct``) and invites them, and remembers it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from nio import (  # type: ignore[import-untyped]
    MatrixRoom,
    RoomCreateResponse,
    RoomPreset,
    RoomResolveAliasResponse,
)

from bot.models import Address
from channels.base import ChannelError
from channels.matrix.errors import ApiCall

log = logging.getLogger(__name__)


class Rooms:
    """Resolves the room an `Outgoing` goes to, creating a direct room when there is none."""

    def __init__(
        self,
        user_id: str,
        *,
        client: Callable[[], Any],  # the nio client, started
        call: ApiCall,
    ) -> None:
        self.user_id = user_id
        self._client = client
        self._call = call
        self._direct: dict[str, str] = {}  # user id -> direct room id

    async def room_for(self, address: Address) -> str:
        """The room id for a room id, a room alias (#…) or a user id (their direct room)."""
        chat = address.chat_id
        if chat.startswith("!"):
            return chat
        if chat.startswith("#"):
            resp = await self._call("resolve alias", self._client().room_resolve_alias, chat)
            assert isinstance(resp, RoomResolveAliasResponse)
            return str(resp.room_id)
        if not chat.startswith("@"):
            raise ChannelError(f"matrix: {chat!r} is not a room or user id", retryable=False)
        known = self._direct.get(chat)
        if known is not None and self._still_shared(known, chat):
            return known
        room_id = self._find_direct(chat) or await self._create_direct(chat)
        self._direct[chat] = room_id
        return room_id

    def _still_shared(self, room_id: str, user_id: str) -> bool:
        """Whether a remembered direct room still has the user in it."""
        room = self._client().rooms.get(room_id)
        return room is None or user_id in room.users  # None: created, not synced yet

    def _find_direct(self, user_id: str) -> str | None:
        """A room the bot shares with exactly this user (joined or invited), unencrypted."""
        best: str | None = None
        room: MatrixRoom
        for room_id, room in self._client().rooms.items():
            members = set(room.users) | set(room.invited_users)
            if members == {self.user_id, user_id} and not room.encrypted:
                if user_id not in room.invited_users:
                    return str(room_id)  # the user has joined: best
                best = best or str(room_id)
        return best

    async def _create_direct(self, user_id: str) -> str:
        """A new direct room (``is_direct``) with the user invited."""
        resp = await self._call(
            "create direct room",
            self._client().room_create,
            is_direct=True,
            invite=[user_id],
            preset=RoomPreset.trusted_private_chat,
        )
        assert isinstance(resp, RoomCreateResponse)
        log.info("matrix: created a direct room %s with %s", resp.room_id, user_id)
        return str(resp.room_id)


__all__ = ["Rooms"]
