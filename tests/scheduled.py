"""Helpers for tests of scheduled work: the compounds' groups, the staff room, times."""

from __future__ import annotations

from datetime import datetime

from bot.models import Outgoing
from tests.fakes import SHANGHAI
from tests.harness import Bot

GROUPS = {"fake:g:丰仓小区群": "丰仓小区", "other:g:粮库宿舍群": "粮库宿舍"}
STAFF_ROOM = "other:g:staffroom"
ADMIN = "fake:admin"


def staff_cards(bot: Bot, number: int) -> list[str]:
    """Cards of ticket `number` in the staff room (not digests or rosters)."""
    return [t for t in bot.texts(STAFF_ROOM) if f"#{number} ·" in t]


def when(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI)


def button(out: Outgoing, label: str) -> str:
    return next(b.action for b in out.buttons if label in b.label)
