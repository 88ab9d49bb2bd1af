"""Placeholders in FAQ answers, filled from the schedules and settings at answer time.

An answer written as "每{evening_days} {evening_hours}" can never disagree with /book:
both read schedules/evening-service.yaml (the wiring computes the values, `bot.wiring`).
Unknown names are left as written (and
`yishiting faq check` names them), so another community's faq.yaml always loads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")

NAMES = {
    "evening_days": "service days of the evening service (周二、周四)",
    "evening_hours": "from the first slot's start to the last slot's end (18:00–19:30)",
    "evening_slots": "the slots' start times (18:00、18:30、19:00)",
    "evening_place": "where the evening service is held",
    "booking_days_ahead": "how many days ahead /book offers",
    "office_hours": "the office periods of a working day (8:30–12:00、14:00–17:30)",
}


def fill(text: str, known: Mapping[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: known.get(m.group(1), m.group(0)), text)


def unknown(text: str) -> list[str]:
    return [name for name in PLACEHOLDER.findall(text) if name not in NAMES]


_PROMISE = re.compile(r"(?:发送?|回复|点击?|私信本机器人)\s*[“\"'‘「]([^”\"'’」\n]{1,12})[”\"'’」]")


def promises(answer: str) -> list[str]:
    """What an answer tells residents to send or tap ('维权站', '/book')."""
    return _PROMISE.findall(answer)
