"""Relayed and scheduled messages are recorded before they are sent, and marked after."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.models import Address, Button, Outgoing
from bot.store.journal import JournalDB, JournalTable

log = logging.getLogger(__name__)

PENDING, SENT, FAILED, SEEN = "pending", "sent", "failed", "seen"
MAX_BACKOFF = timedelta(hours=1)


def to_record(out: Outgoing) -> dict[str, Any]:
    return asdict(out)


def from_record(data: dict[str, Any]) -> Outgoing:
    fields = dict(data)
    fields["to"] = Address(**fields["to"])
    fields["buttons"] = tuple(Button(**b) for b in fields["buttons"])
    fields["attachments"] = tuple(fields["attachments"])
    fields["files"] = tuple(fields.get("files", ()))  # records older than these fields
    fields.setdefault("notice", False)
    fields.setdefault("toast", False)
    fields["dedupe"] = ""  # set again as it is sent
    return Outgoing(**fields)


@dataclass(frozen=True)
class Delivery:
    """Where one recorded message stands: pending (maybe held until a time), sent or failed."""

    key: str
    to: Address
    status: str
    error: str = ""
    next_try: str = ""


class Dispatch(Protocol):
    """Sends scheduled messages through the outbox (implemented by the app's router).

    Each message is recorded under `{key}|{chat}` first; messages for residents found in
    quiet hours wait until they end unless `urgent`. Returns where each message stands.
    """

    async def __call__(
        self, key: str, outs: Sequence[Outgoing], *, urgent: bool = False
    ) -> list[Delivery]: ...


class OutboxRepo:
    """Outgoing messages by dedupe key with their delivery status (see bot/outbox.py)."""

    def __init__(self, db: JournalDB) -> None:
        table = db.table("outbox")
        assert isinstance(table, JournalTable)
        self._table = table
        self._ids: dict[str, int] = {}
        self.reload({table.name})

    def reload(self, tables: set[str]) -> None:
        """Rebuild the index from the table (at open, and after a failed write was undone)."""
        if self._table.name in tables:
            self._ids = {
                str(doc["key"]): doc_id for doc_id, doc in self._table.documents_containing((b"",))
            }

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

    def readdress(self, channel: str, old: str, new: str) -> int:
        """Pending messages for chat `old` (any thread) go to chat `new`; how many moved."""
        moved = []
        for doc_id, doc in self._table.documents_containing((b'"status":"pending"',)):
            to = doc["out"]["to"]
            if doc["status"] == PENDING and to["channel"] == channel and to["chat_id"] == old:
                moved.append(doc_id)

        def change(doc: MutableMapping[str, Any]) -> None:
            doc["out"] = {**doc["out"], "to": {**doc["out"]["to"], "chat_id": new}}

        if moved:
            self._table.update(change, doc_ids=moved)
        return len(moved)

    def prune_sent(self, before: str) -> None:
        old = [
            doc_id
            for doc_id, doc in self._table.documents_containing((b'"status":"sent"',))
            if str(doc.get("updated", doc["created"])) < before
        ]
        if old:
            self._table.remove(doc_ids=old)
            self._ids = {k: v for k, v in self._ids.items() if v not in set(old)}


class Outbox:
    """At most once per dedupe key; nothing recorded is forgotten across a crash.

    The window in which a message can reach the platform twice is the moment between the
    platform accepting it and `sent` being journaled (one fsync); everything else is exactly
    once. Retryable failures are tried again with exponential backoff from `retry_after`.
    """

    def __init__(
        self,
        repo: OutboxRepo,
        clock: Callable[[], datetime],
        keep_sent: timedelta = timedelta(days=7),
        retry_after: timedelta = timedelta(seconds=30),
    ) -> None:
        self.repo = repo
        self.clock = clock
        self.retry_after = retry_after
        repo.prune_sent(before=(clock() - keep_sent).isoformat())

    def enqueue(
        self,
        key: str,
        out: Outgoing,
        not_before: datetime | None = None,
        *,
        quiet: bool = False,
    ) -> bool:
        """Record `out` under `key`; False if that key was recorded before (a duplicate).

        `not_before` holds the message until then; `quiet` marks a message that keeps quiet
        hours also when it is retried (see `hold_quiet`): residents are not woken.
        """
        if self.repo.has(key):
            log.info("outbox: %s already recorded, not sending twice", key)
            return False
        held = not_before.isoformat() if not_before is not None else None
        self.repo.add(key, to_record(out), self.clock().isoformat(), not_before=held, quiet=quiet)
        return True

    def hold_quiet(self, until: datetime) -> None:
        """In quiet hours: pending messages that keep them wait until `until`."""
        for doc in self.repo.with_status(PENDING):
            held = doc.get("not_before")
            if doc.get("quiet") and (not held or datetime.fromisoformat(held) < until):
                self.repo.hold(str(doc["key"]), until.isoformat())

    def seen(self, message_key: str) -> bool:
        """Was this incoming message handled already (a platform delivering it again)?"""
        return self.repo.has(f"{message_key}|seen")

    def mark_seen(self, message_key: str) -> None:
        self.repo.add(f"{message_key}|seen", {}, self.clock().isoformat(), status=SEEN)

    def pending(self, *, now_or_never: bool = False) -> list[tuple[str, Outgoing]]:
        """Messages to send now: pending, not held for the morning, not waiting for a retry.

        `now_or_never` (at start) ignores the retry pauses: a restart tries everything again.
        """
        return [
            (str(doc["key"]), from_record(doc["out"]))
            for doc in self.repo.with_status(PENDING)
            if self._due(doc, backoff=not now_or_never)
        ]

    def is_due(self, key: str) -> bool:
        doc = self.repo.get(key)
        return doc is not None and doc["status"] == PENDING and self._due(doc, backoff=False)

    def _due(self, doc: dict[str, Any], *, backoff: bool) -> bool:
        now = self.clock()
        waits = [doc.get("not_before")] + ([doc.get("next_try")] if backoff else [])
        return all(not w or datetime.fromisoformat(w) <= now for w in waits)

    def sent(self, key: str, message_id: str) -> None:
        self.repo.update(key, status=SENT, message_id=message_id, at=self.clock().isoformat())

    def failed(self, key: str, reason: str, *, retryable: bool) -> None:
        """A retryable failure is tried again after a growing pause; a final one is kept."""
        now = self.clock()
        if not retryable:
            self.repo.update(key, status=FAILED, error=reason, at=now.isoformat())
            return
        attempts = int((self.repo.get(key) or {}).get("attempts", 0))
        pause = min(self.retry_after * (2**attempts), MAX_BACKOFF)
        self.repo.update(
            key,
            status=PENDING,
            error=reason,
            at=now.isoformat(),
            next_try=(now + pause).isoformat(),
        )

    def deliveries(self, prefix: str) -> list[Delivery]:
        """Every message recorded under keys starting with `prefix` (a broadcast's report)."""
        return [
            Delivery(
                key=str(doc["key"]),
                to=Address(**doc["out"]["to"]),
                status=str(doc["status"]),
                error=str(doc.get("error", "")),
                next_try=str(doc.get("not_before") or doc.get("next_try", "")),
            )
            for doc in self.repo.with_prefix(prefix)
            if doc["status"] != SEEN
        ]
