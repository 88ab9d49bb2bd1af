"""A broadcast's plan (what, where, when) and the record of an admin's broadcast."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.schedule.book import BroadcastDef
from bot.store.repos import RecordRepo

DRAFT, SCHEDULED, CANCELLED, DONE = "draft", "scheduled", "cancelled", "done"


@dataclass(frozen=True)
class Plan:
    """What a broadcast sends, where, and when: one of `at` (once) or `cron` (recurring)."""

    id: str  # a schedules/ id, or the number of an admin's broadcast
    targets: tuple[str, ...]
    text: Mapping[str, str]
    urgent: bool
    at: datetime | None = None
    cron: str | None = None
    report_to: str = ""  # the admin who made it ('' = every admin chat)
    immediate: bool = False  # an admin's "now"

    @classmethod
    def of_definition(cls, d: BroadcastDef) -> Plan:
        return cls(d.id, d.targets, d.text, d.quiet_hours_override, d.at, d.cron)

    @classmethod
    def of_record(cls, number: int, doc: Mapping[str, Any]) -> Plan:
        at = datetime.fromisoformat(doc["at"]) if doc.get("at") else None
        return cls(
            str(number),
            tuple(doc["targets"]),
            {doc["lang"]: doc["text"]},
            bool(doc["urgent"]),
            at,
            doc.get("cron") or None,
            str(doc["author"]),
            doc.get("when") == "now",
        )

    def text_for(self, lang: str, default: str) -> str:
        return self.text.get(lang) or self.text.get(default) or next(iter(self.text.values()))


class BroadcastRecords(RecordRepo):
    """Admins' broadcasts, one numbered record each (schedules/ ones live in the files)."""

    table = "broadcasts"
