"""Tickets by number in the store, with an index from staff card messages to tickets."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from tinydb.table import Document

from bot.desk.tickets import ACTIVE, Status, Ticket
from bot.store.journal import JournalDB, JournalTable
from bot.store.repos import replace_doc


class TicketRepo:
    """Tickets by number, plus an index from staff card messages to tickets (rebuilt on open)."""

    FIRST_NUMBER = 1001

    def __init__(self, db: JournalDB) -> None:
        table = db.table("tickets")
        assert isinstance(table, JournalTable)
        self._table = table
        self._cards: dict[tuple[str, str, str], int] = {}
        self._next = self.FIRST_NUMBER
        self._changed: set[int] = set()
        self.reload({table.name})

    def reload(self, tables: set[str]) -> None:
        """Rebuild the indexes from the table (at open, and after a failed write was undone)."""
        if self._table.name not in tables:
            return
        self._cards = {}
        for number, doc in self._table.documents_containing((b'"cards":[[',)):
            for channel, chat, message in doc["cards"]:
                self._cards[(channel, chat, message)] = number
        self._next = max(self._table.max_id() + 1, self.FIRST_NUMBER)

    def create(self, ticket: Ticket) -> Ticket:
        """Give the ticket the next number and store it durably."""
        ticket.number = self._next
        self._table.insert(Document(ticket.to_doc(), doc_id=ticket.number))
        self._next += 1
        self._changed.add(ticket.number)
        return ticket

    def take_changed(self) -> set[int]:
        """Numbers of tickets created or saved since the last call (the scheduler re-plans them)."""
        changed, self._changed = self._changed, set()
        return changed

    def get(self, number: int) -> Ticket | None:
        doc = self._table.get(doc_id=number)
        return Ticket.from_doc(dict(doc)) if isinstance(doc, dict) else None

    def save(self, ticket: Ticket) -> None:
        doc = ticket.to_doc()
        self._table.update(lambda stored: replace_doc(stored, doc), doc_ids=[ticket.number])
        self._changed.add(ticket.number)
        for channel, chat, message in ticket.cards:
            self._cards[(channel, chat, message)] = ticket.number

    def active(self, compound: str | None = None, category: str | None = None) -> list[Ticket]:
        """Active tickets, oldest first; only active documents are decoded."""
        return [
            t
            for t in self.in_status(ACTIVE)
            if (compound is None or t.compound == compound)
            and (category is None or t.category == category)
        ]

    def in_status(self, statuses: Iterable[Status]) -> list[Ticket]:
        """Tickets in any of `statuses`, oldest first; other documents are not decoded."""
        wanted = {s.value for s in statuses}
        fragments = tuple(f'"status":"{s}"'.encode() for s in sorted(wanted))
        return [
            Ticket.from_doc(doc)
            for _, doc in sorted(self._table.documents_containing(fragments))
            if doc["status"] in wanted
        ]

    def reported_by(self, person: str) -> list[Ticket]:
        fragment = ('"key":' + json.dumps(person, ensure_ascii=False)).encode()
        return [
            Ticket.from_doc(doc)
            for _, doc in sorted(self._table.documents_containing((fragment,)))
            if any(r["key"] == person for r in doc["reporters"])
        ]

    def by_card(self, channel: str, chat: str, message_id: str) -> Ticket | None:
        number = self._cards.get((channel, chat, message_id))
        return self.get(number) if number is not None else None

    def all(self) -> Iterator[Ticket]:
        for _, doc in self._table.documents_containing((b"",)):
            yield Ticket.from_doc(doc)

    def count(self) -> int:
        return len(self._table)
