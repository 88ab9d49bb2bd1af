"""The bot's one clock: the system time in the configured zone, movable for trying things out."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import ConfigError

Clock = Callable[[], datetime]

_SHIFT = re.compile(r"\+\s*(\d+(?:\.\d+)?)\s*(d|h|m|min)\s*")


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError("settings", f"unknown timezone {name!r}", field="timezone") from exc


class MovableClock:
    """The system clock plus an offset that `:clock` (console) and tests can move forward."""

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(self.tz) + self.offset

    def move_to(self, when: datetime) -> None:
        self.offset = when - datetime.now(self.tz)


def parse_clock(spec: str, now: datetime) -> datetime:
    """'2026-12-05 18:00', '12-05 18:00' (this year), '18:30' (the next one), or '+2h', '+30m', '+1d'."""
    spec = spec.strip()
    if spec.startswith("+"):
        parts = _SHIFT.findall(spec)
        if not parts or _SHIFT.sub("", spec):
            raise ValueError(spec)
        units = {"d": "days", "h": "hours", "m": "minutes", "min": "minutes"}
        shift = timedelta()
        for amount, unit in parts:
            shift += timedelta(**{units[unit]: float(amount)})
        return now + shift
    if month_day := re.fullmatch(r"(\d{1,2})-(\d{1,2})\s+(\d{1,2}):(\d{2})", spec):
        month, day, hours, minutes = (int(p) for p in month_day.groups())
        return now.replace(
            month=month, day=day, hour=hours, minute=minutes, second=0, microsecond=0
        )
    if re.fullmatch(r"\d{1,2}:\d{2}", spec):
        hours, minutes = (int(p) for p in spec.split(":"))
        today = now.replace(hour=hours, minute=minutes, second=0, microsecond=0)
        return today if today >= now else today + timedelta(days=1)
    parsed = datetime.fromisoformat(spec)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=now.tzinfo)
