"""Tickets by number in the store, indexed by staff card message and by compound/category."""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from tinydb.table import Document

from bot.desk.tickets import ACTIVE, Status, Ticket
from bot.store.journal import JournalDB, JournalTable
from bot.store.repos import replace_doc

# Top-level fields read straight from a ticket's packed JSON when the indexes are built, so
# opening the store decodes no ticket. No nested object of a ticket has keys of these names,
# and inside JSON strings quotes are escaped: each pattern finds the top-level field only.
_FIELD = {
    name: re.compile(rb'"' + name.encode() + rb'":("(?:[^"\\]|\\.)*")')
    for name in ("status", "compound", "category")
}
_CARDS = re.compile(rb'"cards":(\[\[.*?\]\])(?:,"|\})')
# Each reporter object opens with its "key" (Reporter's first field); a quote inside a
# string is escaped, so '{"key":"' starts a reporter's key and nothing else.
_REPORTER_KEYS = re.compile(rb'\{"key":("(?:[^"\\]|\\.)*")')
_ACTIVE = frozenset(s.value for s in ACTIVE)


def _card_key(channel: str, chat: str, message: str) -> str:
    """One string per staff card (a tuple of three would take three times the memory)."""
    return f"{channel}\x00{chat}\x00{message}"


def _field(raw: bytes, name: str) -> str:
    found = _FIELD[name].search(raw)
    return str(json.loads(found.group(1))) if found else ""


class TicketRepo:
    """Tickets by number, plus indexes rebuilt on open without decoding any ticket: staff
    card messages to tickets, active tickets by (compound, category), tickets by reporter."""

    FIRST_NUMBER = 1001
    SIMILAR_CANDIDATES = 200  # the most recent active tickets offered as "me too" candidates

    def __init__(self, db: JournalDB) -> None:
        table = db.table("tickets")
        assert isinstance(table, JournalTable)
        self._table = table
        self._cards: dict[str, int] = {}  # _card_key(channel, chat, message) -> number
        # (compound, category) -> its active numbers, ascending: the most recent are the tail
        self._active: dict[tuple[str, str], list[int]] = {}
        self._where: dict[int, tuple[str, str]] = {}  # active number -> its index key
        self._status: dict[int, str] = {}  # every number -> its status, in number order
        self._keys: dict[tuple[str, str], tuple[str, str]] = {}  # each key object once
        # person key -> the tickets they reported (a tuple: most report once, and a set of
        # one costs four times its memory at 50,000 tickets)
        self._reporters: dict[str, tuple[int, ...]] = {}
        self._next = self.FIRST_NUMBER
        self._changed: set[int] = set()
        self.reload({table.name})

    def reload(self, tables: set[str]) -> None:
        """Rebuild the indexes from the table (at open, and after a failed write was undone)."""
        if self._table.name not in tables:
            return
        self._cards, self._active, self._where, self._keys = {}, {}, {}, {}
        self._status = {}
        statuses = {s.value: s.value for s in Status}  # one string object per status
        self._reporters = {}
        top = self.FIRST_NUMBER - 1
        for number, raw in self._table.raw_documents():
            top = max(top, number)
            for key in _REPORTER_KEYS.findall(raw):
                self._add_reporter(str(json.loads(key)), number)
            cards = _CARDS.search(raw)
            if cards is not None:
                for channel, chat, message in json.loads(cards.group(1)):
                    self._cards[_card_key(channel, chat, message)] = number
            status = _field(raw, "status")
            self._status[number] = statuses.get(status, status)
            if status in _ACTIVE:
                self._index(number, _field(raw, "compound"), _field(raw, "category"))
        self._next = top + 1

    def _add_reporter(self, person: str, number: int) -> None:
        known = self._reporters.get(person, ())
        if number not in known:
            self._reporters[person] = (*known, number)

    def _index(self, number: int, compound: str, category: str) -> None:
        fresh = (compound, category)
        key = self._keys.setdefault(fresh, fresh)  # one key object per compound and category
        if self._where.get(number) != key:
            self._unindex(number)
            numbers = self._active.setdefault(key, [])
            if not numbers or number > numbers[-1]:
                numbers.append(number)  # a new ticket: the usual case
            else:
                bisect.insort(numbers, number)
            self._where[number] = key

    def _unindex(self, number: int) -> None:
        key = self._where.pop(number, None)
        if key is not None:
            numbers = self._active[key]
            at = bisect.bisect_left(numbers, number)
            if at < len(numbers) and numbers[at] == number:
                del numbers[at]

    def _reindex(self, ticket: Ticket) -> None:
        self._status[ticket.number] = ticket.status.value
        for reporter in ticket.reporters:
            self._add_reporter(reporter.key, ticket.number)
        if ticket.status in ACTIVE:
            self._index(ticket.number, ticket.compound, ticket.category)
        else:
            self._unindex(ticket.number)

    def create(self, ticket: Ticket) -> Ticket:
        """Give the ticket the next number and store it durably."""
        ticket.number = self._next
        self._table.insert(Document(ticket.to_doc(), doc_id=ticket.number))
        self._next += 1
        self._changed.add(ticket.number)
        self._reindex(ticket)
        return ticket

    def take_changed(self) -> set[int]:
        """Numbers of tickets created or saved since the last call (the scheduler re-plans them)."""
        changed, self._changed = self._changed, set()
        return changed

    def get(self, number: int) -> Ticket | None:
        raw = self._table.raw_document(number)  # straight from its JSON: no TinyDB Document
        return Ticket.from_doc(json.loads(raw)) if raw is not None else None

    def save(self, ticket: Ticket) -> None:
        doc = ticket.to_doc()
        self._table.update(lambda stored: replace_doc(stored, doc), doc_ids=[ticket.number])
        self._changed.add(ticket.number)
        for channel, chat, message in ticket.cards:
            self._cards[_card_key(channel, chat, message)] = ticket.number
        self._reindex(ticket)

    def me_too_candidates(self, compound: str, category: str, everywhere: bool) -> list[Ticket]:
        """The "me too" candidates, each decoded once: the most recent SIMILAR_CANDIDATES
        active tickets of the compound and category and, `everywhere`, of the category in any
        compound (another chat's report of the same problem). From the index: finding them
        costs the same with 50 or 50,000 open tickets."""
        recent = self.SIMILAR_CANDIDATES
        numbers = set(self._active.get((compound, category), [])[-recent:])
        if everywhere:
            tails = [ns[-recent:] for (_, cat), ns in self._active.items() if cat == category]
            numbers.update(sorted(n for tail in tails for n in tail)[-recent:])
        found = (self.get(n) for n in sorted(numbers))
        return [t for t in found if t is not None]

    def active(self, compound: str | None = None, category: str | None = None) -> list[Ticket]:
        """Active tickets, oldest first; only active documents are decoded.

        With both `compound` and `category` (the "me too" candidates) they come from the
        index, and only the most recent SIMILAR_CANDIDATES of them: finding them costs the
        same with 50 or 50,000 open tickets.
        """
        if compound is not None and category is not None:
            numbers = self._active.get((compound, category), [])
            found = (self.get(n) for n in numbers[-self.SIMILAR_CANDIDATES :])
            return [t for t in found if t is not None]
        every = (self.get(n) for n in sorted(self._where))  # the index: only active decoded
        return [
            t
            for t in every
            if t is not None
            and (compound is None or t.compound == compound)
            and (category is None or t.category == category)
        ]

    def active_counts(self) -> dict[tuple[str, str], int]:
        """How many active tickets each (compound, category) has, from the index."""
        return {key: len(numbers) for key, numbers in self._active.items() if numbers}

    def in_status(self, statuses: Iterable[Status]) -> list[Ticket]:
        """Tickets in any of `statuses`, oldest first; other documents are not decoded."""
        wanted = {s.value for s in statuses}
        fragments = tuple(f'"status":"{s}"'.encode() for s in sorted(wanted))
        return [
            Ticket.from_doc(doc)
            for _, doc in sorted(self._table.documents_containing(fragments))
            if doc["status"] in wanted
        ]

    def with_action(self, action: str, exclude: Iterable[Status] = ()) -> list[Ticket]:
        """Tickets whose history holds `action`, except those in `exclude`, oldest first."""
        skip = {s.value for s in exclude}
        fragment = f'"action":"{action}"'.encode()
        return [
            Ticket.from_doc(doc)
            for _, doc in sorted(self._table.documents_containing((fragment,)))
            if doc["status"] not in skip
        ]

    def each_in_status(self, statuses: Iterable[Status]) -> Iterator[Ticket]:
        """Tickets in any of `statuses`, by number, decoded one at a time (planning them all
        at start holds one ticket in memory, not 50,000)."""
        wanted = {s.value for s in statuses}
        raw_docs = self._table.raw_documents()
        for _, raw in sorted(raw_docs, key=lambda item: item[0]):
            if _field(raw, "status") in wanted:
                yield Ticket.from_doc(json.loads(raw))

    def reported_by(self, person: str) -> list[Ticket]:
        """The tickets `person` reported, oldest first (from the index: a resident's every
        private message asks this, whatever the number of tickets)."""
        found = (self.get(number) for number in sorted(self._reporters.get(person, ())))
        return [t for t in found if t is not None and t.is_reporter(person)]

    def by_card(self, channel: str, chat: str, message_id: str) -> Ticket | None:
        number = self._cards.get(_card_key(channel, chat, message_id))
        return self.get(number) if number is not None else None

    def newest_matching(
        self, statuses: Iterable[Status], every: Sequence[bytes], limit: int
    ) -> tuple[int, bool, list[Ticket]]:
        """The newest `limit` tickets in one of `statuses` whose packed JSON holds every
        fragment of `every`: (how many match, whether that count is exact, the tickets).

        The statuses come from an index. With fragments the search stops at `limit`
        matches (the count is then "at least"); only the tickets returned are decoded.
        """
        wanted = {s.value for s in statuses}
        raw_of = self._table.raw_document
        count, found = 0, list[Ticket]()
        for number in reversed(self._status):
            if self._status[number] not in wanted:
                continue
            if every:
                raw = raw_of(number)
                if raw is None or not all(f in raw for f in every):
                    continue
            count += 1
            if len(found) < limit:
                ticket = self.get(number)
                if ticket is not None:
                    found.append(ticket)
            elif every:
                return limit, False, found
        return count, True, found

    def created_since(self, since: datetime) -> list[dict[str, Any]]:
        """Tickets created at or after `since` as their stored documents (a report reads a
        few fields of thousands: no Ticket objects), oldest first. Numbers follow creation,
        so the search walks back from the newest and stops at the first older one."""
        found: list[dict[str, Any]] = []
        # a copy of the index first: the web console reads this in a worker thread while the
        # bot may open a ticket (list() of a dict is one step for other threads)
        for number in reversed(list(self._status)):
            raw = self._table.raw_document(number)
            if raw is None:
                continue
            doc: dict[str, Any] = json.loads(raw)
            if datetime.fromisoformat(doc["created"]) < since:
                break
            found.append(doc)
        return found[::-1]

    def all(self) -> Iterator[Ticket]:
        for _, doc in self._table.documents_containing((b"",)):
            yield Ticket.from_doc(doc)

    def count(self) -> int:
        return len(self._table)

    def active_count(self) -> int:
        return len(self._where)
