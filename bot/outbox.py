"""Relayed and scheduled messages are recorded before they are sent, and marked after."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from bot.models import Address, Button, Outgoing
from bot.store import OutboxRepo

log = logging.getLogger(__name__)

PENDING, SENT, FAILED, SEEN = "pending", "sent", "failed", "seen"


def to_record(out: Outgoing) -> dict[str, Any]:
    return asdict(out)


def from_record(data: dict[str, Any]) -> Outgoing:
    fields = dict(data)
    fields["to"] = Address(**fields["to"])
    fields["buttons"] = tuple(Button(**b) for b in fields["buttons"])
    fields["attachments"] = tuple(fields["attachments"])
    return Outgoing(**fields)


class Outbox:
    """At most once per dedupe key; nothing recorded is forgotten across a crash.

    The window in which a message can reach the platform twice is the moment between the
    platform accepting it and `mark_sent` being journaled (one fsync); everything else is
    exactly once.
    """

    def __init__(
        self,
        repo: OutboxRepo,
        clock: Callable[[], datetime],
        keep_sent: timedelta = timedelta(days=7),
    ) -> None:
        self.repo = repo
        self.clock = clock
        repo.prune_sent(before=(clock() - keep_sent).isoformat())

    def enqueue(self, key: str, out: Outgoing) -> bool:
        """Record `out` under `key`; False if that key was recorded before (a duplicate)."""
        if self.repo.has(key):
            log.info("outbox: %s already recorded, not sending twice", key)
            return False
        self.repo.add(key, to_record(out), self.clock().isoformat())
        return True

    def seen(self, message_key: str) -> bool:
        """Was this incoming message handled already (a platform delivering it again)?"""
        return self.repo.has(f"{message_key}|seen")

    def mark_seen(self, message_key: str) -> None:
        self.repo.add(f"{message_key}|seen", {}, self.clock().isoformat(), status=SEEN)

    def pending(self) -> list[tuple[str, Outgoing]]:
        return [(key, from_record(data)) for key, data in self.repo.with_status(PENDING)]

    def sent(self, key: str, message_id: str) -> None:
        self.repo.update(key, status=SENT, message_id=message_id, at=self.clock().isoformat())

    def failed(self, key: str, reason: str, *, retryable: bool) -> None:
        """A retryable failure stays pending for the next round; a final one is kept as failed."""
        self.repo.update(
            key, status=PENDING if retryable else FAILED, error=reason, at=self.clock().isoformat()
        )
