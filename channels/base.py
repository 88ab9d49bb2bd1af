"""The Channel protocol every network adapter implements, and its error type."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from bot.models import Incoming, Outgoing

Deliver = Callable[[Incoming], Awaitable[None]]


@dataclass(frozen=True)
class SentRef:
    """The platform's id of a message the adapter sent."""

    channel: str
    chat_id: str
    message_id: str
    moved_from: str | None = None  # the chat id addressed, when the chat had moved (migrated)


class ChannelError(Exception):
    """A send failed; `retryable` says whether trying again later may succeed, and
    `unreachable` why the chat can never be written to until it writes first ("blocked",
    "never_started", "left")."""

    def __init__(self, message: str, *, retryable: bool, unreachable: str | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.unreachable = unreachable


class Channel(Protocol):
    name: str

    async def start(self, deliver: Deliver) -> None: ...

    async def send(self, out: Outgoing) -> SentRef: ...

    async def stop(self) -> None: ...
