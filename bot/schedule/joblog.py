"""The job log: which scheduled jobs ran and how, so a restart never runs one twice."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.store.journal import JournalDB, JournalTable


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
        self.reload({table.name})

    def reload(self, tables: set[str]) -> None:
        """Rebuild from the table (at open, and after a failed write was undone)."""
        if self._table.name in tables:
            self._done, self._last, self._first = set(), {}, {}
            for _, doc in self._table.documents_containing((b"",)):
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
