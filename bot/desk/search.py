"""Finding tickets by status, compound, category, assignee and words (the web console's list)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from bot.desk.repo import TicketRepo
from bot.desk.tickets import ACTIVE, Status, Ticket


@dataclass(frozen=True)
class TicketFilter:
    """What a staff member asked for; empty fields match everything. `status` is a Status
    value, "active" (the default: every state someone still works on) or "all"."""

    status: str = "active"
    compound: str = ""
    category: str = ""
    assignee: str = ""  # a person key
    text: str = ""

    def statuses(self) -> frozenset[Status]:
        if self.status == "all":
            return frozenset(Status)
        if self.status == "active" or self.status not in Status.__members__.values():
            return ACTIVE
        return frozenset({Status(self.status)})


def _fragment(name: str, value: str) -> bytes:
    """`"name":"value"` as the store packs it (compact UTF-8 JSON)."""
    return f"{json.dumps(name)}:{json.dumps(value, ensure_ascii=False)}".encode()


def find_tickets(
    repo: TicketRepo, wanted: TicketFilter, limit: int
) -> tuple[int, bool, list[Ticket]]:
    """(how many match, whether that is exact or "at least", the newest `limit` of them)."""
    every = [
        _fragment(name, value)
        for name, value in (
            ("compound", wanted.compound),
            ("category", wanted.category),
            ("assignee", wanted.assignee),
        )
        if value
    ]
    words = wanted.text.strip()
    if words:  # anywhere in the ticket: its text, a reporter's words, a staff reply
        every.append(json.dumps(words, ensure_ascii=False)[1:-1].encode())
    return repo.newest_matching(wanted.statuses(), every, limit)
