"""What the staff rooms see of a ticket: where it is routed, its card, notices of actions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.config import Settings
from bot.desk.media import map_links, sendable
from bot.desk.repo import TicketRepo
from bot.desk.tickets import Ticket
from bot.i18n import Translator
from bot.models import Address, Button, Outgoing
from bot.store.chats import ChatStates
from bot.turn import Turn

REASONS = frozenset({"blocked", "never_started", "left", "not_found", "unreachable"})


class Cards:
    """Routes tickets to staff rooms (by category and compound) and renders their cards."""

    def __init__(
        self,
        *,
        settings: Settings,
        tickets: TicketRepo,
        translate: Translator,
        clock: Callable[[], datetime],
        chats: ChatStates,
    ) -> None:
        self.settings = settings
        self.chats = chats
        self.tickets = tickets
        self.t = translate
        self.clock = clock

    def is_staff_room(self, chat: Address) -> bool:
        """A staff room, in any of its threads or topics."""
        return any(self._room(room.chat) == chat.room for room in self.settings.staff_rooms)

    def _room(self, key: str) -> Address:
        """A staff room of the settings where it is now (a migrated group has a new id)."""
        return self.chats.current(Address.parse(key))

    def rooms_for(self, ticket: Ticket) -> list[Address]:
        if ticket.room:
            return [self._room(ticket.room)]
        rooms = [
            r
            for r in self.settings.staff_rooms
            if (not r.categories or ticket.category in r.categories)
            and (not r.compounds or ticket.compound in r.compounds)
        ]
        return [self._room(r.chat) for r in (rooms or self.settings.staff_rooms)]

    def cards(self, ticket: Ticket, header: str = "") -> list[Outgoing]:
        """The ticket's card for each staff room it is routed to, under an optional header."""
        lang = self.settings.language
        text = (header + "\n" if header else "") + self.t(
            lang,
            "card",
            number=ticket.number,
            kind=self.t(lang, f"card_kind_{ticket.kind}"),
            category=ticket.category,
            compound=" ".join(
                p
                for p in (ticket.compound or self.t(lang, "unknown_compound"), ticket.location)
                if p
            ),
            text=ticket.text,
            reporters=self.t(lang, "list_separator").join(r.name for r in ticket.reporters),
            channel=ticket.reporters[0].channel,
            age=self._age(ticket, lang),
        )
        links = map_links(ticket.attachments)
        if links:  # the latest location the resident sent is where the problem is
            text += "\n" + self.t(lang, "card_location", link=links[-1])
        text += "".join("\n" + line for line in self._unreachable(ticket, lang))
        buttons = (
            Button(self.t(lang, "card_claim"), f"t:claim:{ticket.number}"),
            Button(self.t(lang, "card_reply"), f"t:reply:{ticket.number}"),
            Button(self.t(lang, "card_resolve"), f"t:resolve:{ticket.number}"),
        )
        return [
            Outgoing(
                room,
                text,
                buttons,
                attachments=sendable(ticket.attachments),
                tag=f"card:{ticket.number}",
            )
            for room in self.rooms_for(ticket)
        ]

    def _unreachable(self, ticket: Ticket, lang: str) -> list[str]:
        """A line for each reporter the bot knows it cannot write to privately."""
        lines = []
        for r in ticket.reporters:
            reason = self.chats.unreachable_reason(Address(r.channel, r.chat))
            if reason is not None:
                why = self.t(lang, f"reach_{reason}") if reason in REASONS else reason
                lines.append(self.t(lang, "card_unreachable", name=r.name, reason=why))
        return lines

    def card_sent(self, number: int, channel: str, chat_id: str, message_id: str) -> None:
        """Remember a card's platform id: a staff reply to it is a reply to the ticket."""
        ticket = self.tickets.get(number)
        if ticket is not None:
            ticket.cards.append([channel, chat_id, message_id])
            self.tickets.save(ticket)

    def team_notice(
        self, turn: Turn, ticket: Ticket, action_key: str, text: str = ""
    ) -> list[Outgoing]:
        """Keep the other staff rooms informed of an action taken elsewhere."""
        lang = self.settings.language
        notice = self.t(
            lang,
            "staff_notice",
            number=ticket.number,
            action=self.t(lang, action_key),
            name=turn.sender_name,
            text=f" — {text}" if text else "",
        )
        here = turn.msg.chat.room
        return [Outgoing(room, notice) for room in self.rooms_for(ticket) if room != here]

    def undelivered(self, number: int, to: Address, reason: str) -> list[Outgoing]:
        """A message of ticket `number` that its reporter at `to` can never get: the staff
        rooms hear it, so nobody believes the resident was told."""
        ticket = self.tickets.get(number)
        if ticket is None:
            return []
        reporter = next((r for r in ticket.reporters if Address(r.channel, r.chat) == to), None)
        if reporter is None:
            return []
        lang = self.settings.language
        text = self.t(
            lang, "undelivered_to_resident", number=number, name=reporter.name, reason=reason[:80]
        )
        return [Outgoing(room, text, tag=f"card:{number}") for room in self.rooms_for(ticket)]

    def _age(self, ticket: Ticket, lang: str) -> str:
        minutes = int((self.clock() - datetime.fromisoformat(ticket.created)).total_seconds() // 60)
        if minutes < 1:
            return self.t(lang, "age_now")
        if minutes < 60:
            return self.t(lang, "age_minutes", n=minutes)
        if minutes < 60 * 24:
            return self.t(lang, "age_hours", n=minutes // 60)
        return self.t(lang, "age_days", n=minutes // (60 * 24))
