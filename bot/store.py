"""The data folder: a journaled TinyDB database behind small repositories, one writer at a time."""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from tinydb import Query, TinyDB

from bot.errors import ConfigError
from bot.journal import SNAPSHOT, JournalDB

SCHEMA_VERSION = 1
DB_FILE = SNAPSHOT
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
    """Opens the data folder (creating it), checks its schema version, hands out repositories."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self._lock = DataFolderLock(folder)
        self._lock.acquire()
        try:
            self.db = JournalDB(folder)
            self._check_schema()
        except Exception:
            self._lock.release()
            raise
        self.people = PeopleRepo(self.db)
        self.questions = QuestionLog(self.db)
        self.ratings = Ratings(self.db)

    def _check_schema(self) -> None:
        meta = self.db.table("meta")
        row = meta.get(doc_id=1)
        if row is None:
            meta.insert({"schema": SCHEMA_VERSION})
            return
        assert isinstance(row, dict)
        version = int(row.get("schema", 0))
        if version > SCHEMA_VERSION:
            raise ConfigError(
                str(self.folder / DB_FILE),
                f"written by a newer Yishiting (schema {version} > {SCHEMA_VERSION}); upgrade first",
                field="schema",
            )

    def close(self) -> None:
        self.db.close()
        self._lock.release()


class PeopleRepo:
    """Per-person preferences (language) keyed by 'channel:user_id'."""

    def __init__(self, db: TinyDB) -> None:
        self._table = db.table("people")

    def language(self, person_key: str) -> str | None:
        row = self._table.get(Query().key == person_key)
        return str(row["language"]) if isinstance(row, dict) and row.get("language") else None

    def set_language(self, person_key: str, language: str) -> None:
        self._table.upsert({"key": person_key, "language": language}, Query().key == person_key)


@dataclass(frozen=True)
class LoggedQuestion:
    at: str
    person: str
    name: str
    chat: str
    text: str


class QuestionLog:
    """Questions the FAQ could not answer, kept for staff to grow the FAQ."""

    def __init__(self, db: TinyDB) -> None:
        self._table = db.table("questions")

    def record(self, at: datetime, person: str, name: str, chat: str, text: str) -> None:
        self._table.insert(
            {"at": at.isoformat(), "person": person, "name": name, "chat": chat, "text": text}
        )

    def recent(self, limit: int) -> list[LoggedQuestion]:
        rows = self._table.all()[-limit:]
        return [LoggedQuestion(**dict(row)) for row in reversed(rows)]


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
