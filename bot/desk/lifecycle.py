"""Lifecycle steps a person makes on a ticket, stored at once, and notices to its reporters."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.desk.repo import TicketRepo
from bot.desk.tickets import Ticket
from bot.i18n import Translator
from bot.models import Address, Outgoing
from bot.turn import Turn


class Lifecycle:
    """Applies steps by the sender of a turn and tells the reporters in their language."""

    def __init__(
        self, *, tickets: TicketRepo, translate: Translator, clock: Callable[[], datetime]
    ) -> None:
        self.tickets = tickets
        self.t = translate
        self.clock = clock

    def step(
        self,
        turn: Turn,
        ticket: Ticket,
        action: str,
        text: str = "",
        attachments: list[str] | None = None,
        **fields: Any,
    ) -> None:
        """Apply one lifecycle step by the sender, set `fields`, and store the ticket.

        The transition is checked first, so a refused step changes nothing.
        """
        ticket.apply(
            action,
            at=self.clock(),
            who=turn.sender_key,
            name=turn.sender_name,
            via=turn.msg.chat.channel,  # the sender's network, or "web" for the console
            text=text,
            attachments=attachments,
        )
        for name, value in fields.items():
            setattr(ticket, name, value)
        self.tickets.save(ticket)

    def tell_reporters(self, ticket: Ticket, key: str, **params: object) -> list[Outgoing]:
        """One message to each reporter's private chat, in the reporter's language; a reply to
        it is a reply to the ticket (the tag records its platform id)."""
        return [
            Outgoing(
                Address(r.channel, r.chat),
                self.t(r.lang, key, number=ticket.number, **params),
                tag=f"card:{ticket.number}",
            )
            for r in ticket.reporters
        ]
