"""The data folder: a journaled TinyDB database behind small repositories, one writer at a time."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable, Iterator, MutableMapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from tinydb import Query, TinyDB
from tinydb.table import Document

from bot.desk.tickets import ACTIVE, Status, Ticket
from bot.errors import ConfigError
from bot.store.journal import SNAPSHOT, JournalDB, JournalTable

SCHEMA_VERSION = 1
LOCK_FILE = ".lock"


class DataFolderLock:
    """An exclusive lock on the data folder so two bots never write one database."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_FILE
        self._fh: IO[str] | None = None

    def acquire(self) -> None:
        fh = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise ConfigError(
                str(self.path.parent), f"data folder is in use by {holder}; stop it first"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


class Store:
    """Opens the data folder, checks its schema version, hands out repositories.

    The bot opens it for writing and holds the folder lock; command-line readers may open it
    read-only while the bot runs (they replay the same snapshot and journal, and cannot write).
    """

    def __init__(self, folder: Path, *, read_only: bool = False) -> None:
        self.folder = folder
        self._lock = DataFolderLock(folder)
        if read_only:
            if not folder.is_dir():
                raise ConfigError(str(folder), "no such data folder")
        else:
            folder.mkdir(parents=True, exist_ok=True)
            self._lock.acquire()
        try:
            self.db = JournalDB(folder, read_only=read_only)
            self._check_schema(read_only)
        except Exception:
            self._lock.release()
            raise
        self.people = PeopleRepo(self.db)
        self.questions = QuestionLog(self.db)
        self.ratings = Ratings(self.db)
        self.tickets = TicketRepo(self.db)
        self.dialogues = DialogueRepo(self.db)
        self.faq_suggestions = FaqSuggestions(self.db)
        self.outbox = OutboxRepo(self.db)
        self.groups = GroupDirectory(self.db)
        self.bookings = RecordRepo(self.db, "bookings")
        self.broadcasts = RecordRepo(self.db, "broadcasts")
        self.jobs = JobLog(self.db)

    def _check_schema(self, read_only: bool) -> None:
        meta = self.db.table("meta")
        row = meta.get(doc_id=1)
        if row is None:
            if not read_only:
                meta.insert({"schema": SCHEMA_VERSION})
            return
        assert isinstance(row, dict)
        version = int(row.get("schema", 0))
        if version > SCHEMA_VERSION:
            raise ConfigError(
                str(self.folder / SNAPSHOT),
                f"written by a newer Yishiting (schema {version} > {SCHEMA_VERSION}); upgrade first",
                field="schema",
            )

    def close(self) -> None:
        self.db.close()
        self._lock.release()


class PeopleRepo:
    """Per-person preferences (language, display name) keyed by 'channel:user_id'.

    Read on every message, so the documents are also kept in a dict built at open.
    """

    def __init__(self, db: JournalDB) -> None:
        table = db.table("people")
        assert isinstance(table, JournalTable)
        self._table = table
        self._docs: dict[str, tuple[int, dict[str, Any]]] = {
            str(doc["key"]): (doc_id, doc) for doc_id, doc in table.documents_containing((b"",))
        }

    def _field(self, person_key: str, name: str) -> str | None:
        found = self._docs.get(person_key)
        value = found[1].get(name) if found else None
        return str(value) if value else None

    def _put(self, person_key: str, **fields: str) -> None:
        found = self._docs.get(person_key)
        if found is None:
            doc = {"key": person_key, **fields}
            self._docs[person_key] = (int(self._table.insert(doc)), doc)
        else:
            doc_id, doc = found
            self._table.update(fields, doc_ids=[doc_id])
            doc.update(fields)

    def language(self, person_key: str) -> str | None:
        return self._field(person_key, "language")

    def set_language(self, person_key: str, language: str) -> None:
        self._put(person_key, language=language)

    def remember_staff(self, person_key: str, name: str, role: str) -> None:
        """Keep staff's display names (`/assign 1024 小王`) and roles (a console admin gets the
        admins' notices); writes only on a change."""
        fields = {k: v for k, v in (("name", name), ("role", role)) if v}
        if any(self._field(person_key, k) != v for k, v in fields.items()):
            self._put(person_key, **fields)

    def with_role(self, *roles: str) -> list[str]:
        return sorted(key for key, (_, doc) in self._docs.items() if doc.get("role") in roles)

    def name(self, person_key: str) -> str | None:
        return self._field(person_key, "name")

    def key_by_name(self, name: str) -> str | None:
        return next((key for key, (_, doc) in self._docs.items() if doc.get("name") == name), None)


@dataclass(frozen=True)
class LoggedQuestion:
    at: str
    person: str
    name: str
    chat: str
    text: str
    outcome: str = "none"


class QuestionLog:
    """Residents' questions and what the FAQ made of them, kept for staff to grow the FAQ."""

    def __init__(self, db: TinyDB) -> None:
        self._table = db.table("questions")

    def record(
        self, at: datetime, person: str, *, name: str, chat: str, text: str, outcome: str
    ) -> int:
        """`outcome` is the FAQ decision: answer, suggest, none, or group (overheard)."""
        doc = {
            "at": at.isoformat(),
            "person": person,
            "name": name,
            "chat": chat,
            "text": text,
            "outcome": outcome,
        }
        return int(self._table.insert(doc))

    def get(self, question_id: int) -> LoggedQuestion | None:
        row = self._table.get(doc_id=question_id)
        return LoggedQuestion(**dict(row)) if isinstance(row, dict) else None

    def recent(self, limit: int, unanswered_only: bool = False) -> list[LoggedQuestion]:
        rows = [LoggedQuestion(**dict(row)) for row in self._table.all()]
        if unanswered_only:
            rows = [r for r in rows if r.outcome != "answer"]
        return rows[::-1][:limit]


class Ratings:
    """👍/👎 on FAQ answers: one vote per person per entry, the latest wins."""

    def __init__(self, db: TinyDB) -> None:
        self._table = db.table("ratings")

    def rate(self, at: datetime, person: str, entry_id: str, helpful: bool) -> None:
        q = Query()
        self._table.upsert(
            {"at": at.isoformat(), "person": person, "entry": entry_id, "helpful": helpful},
            (q.person == person) & (q.entry == entry_id),
        )

    def summary(self) -> list[tuple[str, int, int]]:
        """(entry id, 👍, 👎), most 👎 first."""
        counts: dict[str, list[int]] = {}
        for row in self._table.all():
            up_down = counts.setdefault(str(row["entry"]), [0, 0])
            up_down[0 if row["helpful"] else 1] += 1
        return sorted(((k, u, d) for k, (u, d) in counts.items()), key=lambda r: (-r[2], r[0]))


class TicketRepo:
    """Tickets by number, plus an index from staff card messages to tickets (rebuilt on open)."""

    FIRST_NUMBER = 1001

    def __init__(self, db: JournalDB) -> None:
        table = db.table("tickets")
        assert isinstance(table, JournalTable)
        self._table = table
        self._cards: dict[tuple[str, str, str], int] = {}
        for number, doc in table.documents_containing((b'"cards":[[',)):
            for channel, chat, message in doc["cards"]:
                self._cards[(channel, chat, message)] = number
        self._next = max(table.max_id() + 1, self.FIRST_NUMBER)
        self._changed: set[int] = set()

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
        self._table.update(lambda stored: _replace_doc(stored, doc), doc_ids=[ticket.number])
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


def _replace_doc(stored: MutableMapping[str, Any], doc: dict[str, Any]) -> None:
    stored.clear()
    stored.update(doc)


class DialogueRepo:
    """The state of each person's multi-step dialogue in one chat; survives restarts.

    Looked up on every message, so the documents' ids are also kept in a dict built at open.
    """

    def __init__(self, db: JournalDB) -> None:
        table = db.table("dialogues")
        assert isinstance(table, JournalTable)
        self._table = table
        self._ids: dict[tuple[str, str], int] = {
            (str(doc["person"]), str(doc["chat"])): doc_id
            for doc_id, doc in table.documents_containing((b"",))
        }

    def get(self, person: str, chat: str) -> dict[str, Any] | None:
        doc_id = self._ids.get((person, chat))
        row = self._table.get(doc_id=doc_id) if doc_id is not None else None
        return dict(row["state"]) if isinstance(row, dict) else None

    def put(self, person: str, chat: str, state: dict[str, Any]) -> None:
        doc_id = self._ids.get((person, chat))
        if doc_id is None:
            doc = {"person": person, "chat": chat, "state": state}
            self._ids[(person, chat)] = int(self._table.insert(doc))
        else:
            self._table.update({"state": state}, doc_ids=[doc_id])

    def clear(self, person: str, chat: str) -> None:
        doc_id = self._ids.pop((person, chat), None)
        if doc_id is not None:
            self._table.remove(doc_ids=[doc_id])


@dataclass(frozen=True)
class FaqSuggestion:
    id: int
    entry: str
    text: str
    ticket: int
    at: str


class FaqSuggestions:
    """Residents' phrasings that staff answered with an FAQ entry: candidates for faq.yaml."""

    def __init__(self, db: TinyDB) -> None:
        self._table = db.table("faq_suggestions")

    def add(self, at: datetime, entry: str, text: str, ticket: int) -> None:
        self._table.insert(
            {"at": at.isoformat(timespec="seconds"), "entry": entry, "text": text, "ticket": ticket}
        )

    def pending(self) -> list[FaqSuggestion]:
        return [FaqSuggestion(id=row.doc_id, **dict(row)) for row in self._table.all()]

    def remove(self, ids: list[int]) -> None:
        self._table.remove(doc_ids=ids)


class OutboxRepo:
    """Outgoing messages by dedupe key with their delivery status (see bot/outbox.py)."""

    def __init__(self, db: JournalDB) -> None:
        table = db.table("outbox")
        assert isinstance(table, JournalTable)
        self._table = table
        self._ids: dict[str, int] = {}
        for doc_id, doc in table.documents_containing((b"",)):
            self._ids[str(doc["key"])] = doc_id

    def has(self, key: str) -> bool:
        return key in self._ids

    def add(
        self,
        key: str,
        out: dict[str, Any],
        at: str,
        *,
        status: str = "pending",
        not_before: str | None = None,
        quiet: bool = False,
    ) -> None:
        doc: dict[str, Any] = {"key": key, "out": out, "status": status, "created": at}
        doc["attempts"] = 0
        if not_before is not None:
            doc["not_before"] = not_before
        if quiet:
            doc["quiet"] = True
        self._ids[key] = int(self._table.insert(doc))

    def with_status(self, status: str) -> list[dict[str, Any]]:
        fragment = f'"status":"{status}"'.encode()
        return [dict(doc) for _, doc in sorted(self._table.documents_containing((fragment,)))]

    def with_prefix(self, prefix: str) -> list[dict[str, Any]]:
        fragment = ('"key":' + json.dumps(prefix, ensure_ascii=False)[:-1]).encode()
        return [dict(doc) for _, doc in sorted(self._table.documents_containing((fragment,)))]

    def get(self, key: str) -> dict[str, Any] | None:
        doc_id = self._ids.get(key)
        doc = self._table.get(doc_id=doc_id) if doc_id is not None else None
        return dict(doc) if isinstance(doc, dict) else None

    def hold(self, key: str, until: str) -> None:
        self._table.update({"not_before": until}, doc_ids=[self._ids[key]])

    def update(self, key: str, *, status: str, at: str, **extra: str) -> None:
        def change(doc: MutableMapping[str, Any]) -> None:
            doc.update(status=status, updated=at, attempts=int(doc["attempts"]) + 1, **extra)

        self._table.update(change, doc_ids=[self._ids[key]])

    def prune_sent(self, before: str) -> None:
        old = [
            doc_id
            for doc_id, doc in self._table.documents_containing((b'"status":"sent"',))
            if str(doc.get("updated", doc["created"])) < before
        ]
        if old:
            self._table.remove(doc_ids=old)
            self._ids = {k: v for k, v in self._ids.items() if v not in set(old)}


class GroupDirectory:
    """Group chats the bot has seen, with their titles: 'all' in a broadcast reaches them."""

    def __init__(self, db: JournalDB) -> None:
        table = db.table("groups")
        assert isinstance(table, JournalTable)
        self._table = table
        self._titles: dict[str, tuple[int, str]] = {
            str(doc["chat"]): (doc_id, str(doc["title"]))
            for doc_id, doc in table.documents_containing((b"",))
        }

    def seen(self, chat: str, title: str) -> None:
        """Remember a group chat; writes only when it is new or its title changed."""
        known = self._titles.get(chat)
        if known is None:
            self._titles[chat] = (int(self._table.insert({"chat": chat, "title": title})), title)
        elif title and known[1] != title:
            self._table.update({"title": title}, doc_ids=[known[0]])
            self._titles[chat] = (known[0], title)

    def titles(self) -> dict[str, str]:
        return {chat: title for chat, (_, title) in self._titles.items()}


class RecordRepo:
    """Numbered records (bookings, broadcasts) kept as documents; remembers which changed."""

    def __init__(self, db: JournalDB, name: str) -> None:
        table = db.table(name)
        assert isinstance(table, JournalTable)
        self._table = table
        self._changed: set[int] = set()

    def add(self, doc: dict[str, Any]) -> int:
        record_id = int(self._table.insert(doc))
        self._changed.add(record_id)
        return record_id

    def get(self, record_id: int) -> dict[str, Any] | None:
        doc = self._table.get(doc_id=record_id)
        return dict(doc) if isinstance(doc, dict) else None

    def save(self, record_id: int, doc: dict[str, Any]) -> None:
        self._table.update(lambda stored: _replace_doc(stored, doc), doc_ids=[record_id])
        self._changed.add(record_id)

    def where(self, field: str, value: str) -> list[tuple[int, dict[str, Any]]]:
        """Records whose `field` equals `value`, by id; only likely documents are decoded."""
        fragment = (json.dumps(field) + ":" + json.dumps(value, ensure_ascii=False)).encode()
        return [
            (doc_id, dict(doc))
            for doc_id, doc in sorted(self._table.documents_containing((fragment,)))
            if doc.get(field) == value
        ]

    def take_changed(self) -> set[int]:
        changed, self._changed = self._changed, set()
        return changed


class JobLog:
    """Which scheduled jobs have run (and how), so a restart never runs one twice.

    Also the latest due time handled per record, from which recurring jobs find their next
    occurrence, and when a recurring record was first seen.
    """

    def __init__(self, db: JournalDB) -> None:
        table = db.table("jobs")
        assert isinstance(table, JournalTable)
        self._table = table
        self._read_only = db.journal.read_only
        self._done: set[str] = set()
        self._last: dict[str, str] = {}
        self._first: dict[str, str] = {}
        for _, doc in table.documents_containing((b"",)):
            self._remember(doc)

    def _remember(self, doc: dict[str, Any]) -> None:
        record, due = str(doc["record"]), str(doc["due"])
        if doc["outcome"] == "registered":
            self._first[record] = due
            return
        self._done.add(str(doc["key"]))
        if due > self._last.get(record, ""):
            self._last[record] = due

    def done(self, key: str) -> bool:
        return key in self._done

    def mark(self, key: str, record: str, due: datetime, outcome: str, at: datetime) -> None:
        doc = {
            "key": key,
            "record": record,
            "due": due.isoformat(),
            "outcome": outcome,
            "at": at.isoformat(timespec="seconds"),
        }
        self._table.insert(doc)
        self._remember(doc)

    def last_due(self, record: str) -> datetime | None:
        due = self._last.get(record)
        return datetime.fromisoformat(due) if due else None

    def since(self, record: str, now: datetime) -> datetime:
        """Where a recurring record's next occurrence is looked for: after the last handled."""
        return self.last_due(record) or self.first_seen(record, now)

    def first_seen(self, record: str, now: datetime) -> datetime:
        """When a recurring record was first planned; registered durably on the first call."""
        if record not in self._first:
            if self._read_only:  # a command-line reader: what the bot would register now
                return now
            doc = {"key": f"{record}|registered", "record": record, "due": now.isoformat()}
            self._table.insert({**doc, "outcome": "registered", "at": doc["due"]})
            self._first[record] = now.isoformat()
        return datetime.fromisoformat(self._first[record])

    def outcomes(self, prefix: str) -> list[dict[str, Any]]:
        fragment = ('"key":' + json.dumps(prefix, ensure_ascii=False)[:-1]).encode()
        return [dict(doc) for _, doc in sorted(self._table.documents_containing((fragment,)))]
