"""Staff hear what reporters add to a ticket: their words, photos and "me too"s, in batches."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.config import Settings
from bot.desk.cards import Cards
from bot.desk.media import counts, map_links, sendable
from bot.desk.tickets import Event, Ticket
from bot.i18n import Translator
from bot.models import Outgoing

# Lines a resident types within this time after staff were last told reach them as one
# update, not one message each; the first line after a quiet spell goes at once.
BATCH = timedelta(minutes=2)


class StaffUpdates:
    """When the staff rooms are next told about a ticket, and what they are told."""

    def __init__(self, *, settings: Settings, cards: Cards, translate: Translator) -> None:
        self.settings = settings
        self.cards = cards
        self.t = translate

    def due(self, ticket: Ticket) -> datetime | None:
        """When the untold words of `ticket` are to go out (None: nothing to tell)."""
        untold = ticket.untold()
        if not untold:
            return None
        first = datetime.fromisoformat(untold[0].at)
        if not ticket.told_at:
            return first
        return max(first, datetime.fromisoformat(ticket.told_at) + BATCH)

    def messages(self, ticket: Ticket) -> list[Outgoing]:
        """One update per staff room with every untold line; replying to it reaches the
        reporters (it is one of the ticket's messages)."""
        untold = ticket.untold()
        lang = self.settings.language
        status = self.t(lang, f"status_{ticket.status.value}")
        lines = [self.t(lang, "update_header", number=ticket.number, status=status)]
        lines += [self._line(lang, ticket, e) for e in untold]
        photos = sendable(a for e in untold for a in e.attachments)
        return [
            Outgoing(room, "\n".join(lines), attachments=photos, tag=f"card:{ticket.number}")
            for room in self.cards.rooms_for(ticket)
        ]

    def _line(self, lang: str, ticket: Ticket, event: Event) -> str:
        if event.action == "metoo":
            return self.t(lang, "update_metoo", name=event.name, count=len(ticket.reporters))
        kinds = counts(event.attachments)
        media = "".join(
            self.t(lang, f"update_{kind}", n=n) for kind, n in kinds.items() if kind != "geo"
        )
        media += "".join(" 📍 " + link for link in map_links(event.attachments))
        return self.t(lang, "update_words", name=event.name, text=event.text, photo=media).strip()

    @staticmethod
    def mark_told(ticket: Ticket, now: datetime) -> None:
        ticket.told = len(ticket.history)
        ticket.told_at = now.isoformat(timespec="seconds")
