"""The desk's weeks in figures: tickets opened and resolved, first reply and resolution times.

Times are in working hours (bot/schedule/worktime.py); the web console's Report draws them.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.desk.repo import TicketRepo
from bot.schedule.worktime import WorkTime

STAFF_STEPS = frozenset({"claim", "reply", "answer", "resolve", "reject", "assign"})


@dataclass
class Week:
    """One week (Monday 00:00 on) of tickets."""

    start: datetime
    opened: Counter[str] = field(default_factory=Counter)  # by compound
    opened_by_category: Counter[str] = field(default_factory=Counter)
    resolved: int = 0
    first_reply_hours: list[float] = field(default_factory=list)
    resolution_hours: list[float] = field(default_factory=list)

    @property
    def median_first_reply(self) -> float | None:
        return statistics.median(self.first_reply_hours) if self.first_reply_hours else None

    @property
    def median_resolution(self) -> float | None:
        return statistics.median(self.resolution_hours) if self.resolution_hours else None


def monday(at: datetime) -> datetime:
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def weeks(repo: TicketRepo, worktime: WorkTime, now: datetime, count: int) -> list[Week]:
    """The last `count` weeks, this one last, from the tickets opened in them."""
    first = monday(now) - timedelta(weeks=count - 1)
    table = [Week(first + timedelta(weeks=i)) for i in range(count)]
    for doc in repo.created_since(first):
        _add(table, doc, worktime, first)
    return table


def _add(table: list[Week], doc: dict[str, Any], worktime: WorkTime, first: datetime) -> None:
    """One ticket, read from its stored document (Ticket.to_doc's fields)."""
    created = datetime.fromisoformat(doc["created"])
    week = table[min(len(table) - 1, (created - first) // timedelta(weeks=1))]
    week.opened[doc["compound"] or "-"] += 1
    week.opened_by_category[doc["category"]] += 1
    history = doc["history"]
    staff = next((e for e in history if e["action"] in STAFF_STEPS), None)
    if staff is not None:
        at = datetime.fromisoformat(staff["at"])
        week.first_reply_hours.append(worktime.working_hours_between(created, at))
    done = next((e for e in history if e["action"] in ("resolve", "answer")), None)
    if done is not None:
        week.resolved += 1
        at = datetime.fromisoformat(done["at"])
        week.resolution_hours.append(worktime.working_hours_between(created, at))
