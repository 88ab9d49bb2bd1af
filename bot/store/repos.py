"""The store's own repositories: people, group chats, dialogue state and numbered records."""

from __future__ import annotations

import json
from collections.abc import Callable, MutableMapping
from typing import Any, ClassVar

from bot.store.journal import JournalDB, JournalTable


class PeopleRepo:
    """Per-person preferences (language, display name) keyed by 'channel:user_id'.

    Read on every message, so the documents are also kept in a dict built at open.
    """

    def __init__(self, db: JournalDB) -> None:
        table = db.table("people")
        assert isinstance(table, JournalTable)
        self._table = table
        self._docs: dict[str, tuple[int, dict[str, Any]]] = {}
        self.reload({table.name})

    def reload(self, tables: set[str]) -> None:
        """Rebuild the index from the table (at open, and after a failed write was undone)."""
        if self._table.name in tables:
            self._docs = {
                str(doc["key"]): (doc_id, doc)
                for doc_id, doc in self._table.documents_containing((b"",))
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

    def settle_roles(self, settled: Callable[[str, str], str]) -> list[str]:
        """Re-derive every remembered role (at start): `settled(person, remembered)` says what
        it is now; a person removed from the settings loses theirs. Returns who changed."""
        changed = []
        for key, (_, doc) in list(self._docs.items()):
            remembered = str(doc.get("role") or "")
            if remembered and (now := settled(key, remembered)) != remembered:
                self._put(key, role=now)
                changed.append(key)
        return changed

    def with_role(self, *roles: str) -> list[str]:
        return sorted(key for key, (_, doc) in self._docs.items() if doc.get("role") in roles)

    def name(self, person_key: str) -> str | None:
        return self._field(person_key, "name")

    def key_by_name(self, name: str) -> str | None:
        return next((key for key, (_, doc) in self._docs.items() if doc.get("name") == name), None)


class DialogueRepo:
    """The state of each person's multi-step dialogue in one chat; survives restarts.

    Looked up on every message, so the documents' ids are also kept in a dict built at open.
    """

    def __init__(self, db: JournalDB) -> None:
        table = db.table("dialogues")
        assert isinstance(table, JournalTable)
        self._table = table
        self._ids: dict[tuple[str, str], int] = {}
        self.reload({table.name})

    def reload(self, tables: set[str]) -> None:
        if self._table.name in tables:
            self._ids = {
                (str(doc["person"]), str(doc["chat"])): doc_id
                for doc_id, doc in self._table.documents_containing((b"",))
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


class GroupDirectory:
    """Group chats the bot has seen, with their titles: 'all' in a broadcast reaches them."""

    def __init__(self, db: JournalDB) -> None:
        table = db.table("groups")
        assert isinstance(table, JournalTable)
        self._table = table
        self._titles: dict[str, tuple[int, str]] = {}
        self.reload({table.name})

    def reload(self, tables: set[str]) -> None:
        if self._table.name in tables:
            self._titles = {
                str(doc["chat"]): (doc_id, str(doc["title"]))
                for doc_id, doc in self._table.documents_containing((b"",))
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

    def move(self, old: str, new: str) -> None:
        """A group got a new id (a supergroup migration): it is one group, under `new`."""
        known = self._titles.pop(old, None)
        if known is None:
            return
        self._table.remove(doc_ids=[known[0]])
        if new not in self._titles:
            self.seen(new, known[1])


class RecordRepo:
    """Numbered records (bookings, broadcasts) kept as documents; remembers which changed.

    A capability names its table by subclassing: `class Bookings(RecordRepo): table = …`.
    """

    table: ClassVar[str]

    def __init__(self, db: JournalDB) -> None:
        table = db.table(self.table)
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
        self._table.update(lambda stored: replace_doc(stored, doc), doc_ids=[record_id])
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


def replace_doc(stored: MutableMapping[str, Any], doc: dict[str, Any]) -> None:
    stored.clear()
    stored.update(doc)
