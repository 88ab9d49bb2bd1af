"""Declarative schedules: evening service, broadcasts and holidays from schedules/*.yaml."""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from itertools import pairwise
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError

from bot.errors import ConfigError
from bot.i18n import DEFAULT_LANGUAGE
from bot.operator_files import Fields, StrictLoader, check_version, parse_yaml, read_text
from bot.schedule.holidays import SECTION as HOLIDAYS
from bot.schedule.holidays import HolidayYear, check_holidays, parse_holidays
from bot.schedule.jobs import MIN_REPEAT, CronError, parse_cron, shortest_gap

SUPPORTED_VERSION = 1
EVENING = "evening_service"
ALL = "all"
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_FULL = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
NOTICE_PLACEHOLDERS = ("date", "weekday", "place", "slots")

_TOP_KEYS = ("version", EVENING, "broadcasts", HOLIDAYS)
_EVENING_KEYS = (
    "weekdays",
    "skip_non_working_days",
    "place",
    "booking_days_ahead",
    "slots",
    "services",
    "reminders",
    "group_notice_targets",
    "group_notice",
)
_SLOT_KEYS = ("id", "start", "end", "capacity")
_REMINDER_KEYS = ("resident_before", "staff_roster_at", "group_notice_at")
_BROADCAST_KEYS = ("id", "cron", "at", "targets", "text", "quiet_hours_override")
_BROADCAST_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_SLOT_ID = re.compile(r"[A-Za-z0-9_-]+")
_MAX_BOOKING_DAYS = 90


# ---------------------------------------------------------------------------------------------
# The data model


@dataclass(frozen=True)
class Slot:
    """One bookable evening-service slot: [start, end) local time, `capacity` residents."""

    id: str
    start: time
    end: time
    capacity: int


@dataclass(frozen=True)
class Reminders:
    """When the bot reminds: residents before their slot, staff of the roster, the groups."""

    resident_before: timedelta
    staff_roster_at: time
    group_notice_at: time | None  # None: no notice to the groups


@dataclass(frozen=True)
class EveningService:
    """The 延时服务: on which evenings, where, which slots and what residents may book."""

    weekdays: frozenset[int]  # Monday=0, like date.weekday()
    skip_non_working_days: bool
    place: str
    booking_days_ahead: int
    slots: tuple[Slot, ...]  # sorted by start time
    services: tuple[str, ...]
    reminders: Reminders
    group_notice_targets: tuple[str, ...]
    group_notice: dict[str, str] = field(hash=False)  # language -> text with placeholders
    file: str = ""

    def slot(self, slot_id: str) -> Slot | None:
        return next((s for s in self.slots if s.id == slot_id), None)

    def runs_on(self, day: date, is_workday: Callable[[date], bool]) -> bool:
        """True when there is service on `day`: a listed weekday and (if asked) a working day
        by `is_workday` (the China calendar with the operator's overrides, bot/worktime.py)."""
        if day.weekday() not in self.weekdays:
            return False
        return not self.skip_non_working_days or is_workday(day)

    def group_notice_for(self, lang: str) -> str:
        """The group notice template in `lang`, else in zh-CN ('' when there is none)."""
        return self.group_notice.get(lang) or self.group_notice.get(DEFAULT_LANGUAGE, "")


@dataclass(frozen=True)
class BroadcastDef:
    """A message sent to group chats on a cron schedule or once at a date-time."""

    id: str
    cron: str | None
    at: datetime | None  # aware, in the loader's timezone
    targets: tuple[str, ...]
    text: dict[str, str] = field(hash=False)  # language -> text; zh-CN always present
    quiet_hours_override: bool = False
    file: str = ""

    def text_for(self, lang: str) -> str:
        return self.text.get(lang) or self.text[DEFAULT_LANGUAGE]


@dataclass(frozen=True)
class ScheduleBook:
    """Everything in schedules/*.yaml; `files` are the files read, in the order read."""

    evening: EveningService | None = None
    broadcasts: tuple[BroadcastDef, ...] = ()
    files: tuple[str, ...] = ()
    holidays: tuple[HolidayYear, ...] = ()  # the operators' days off and 调休 working days

    def broadcast(self, broadcast_id: str) -> BroadcastDef | None:
        return next((b for b in self.broadcasts if b.id == broadcast_id), None)


# ---------------------------------------------------------------------------------------------
# Loading


def load_schedules(folder: Path, tz: tzinfo) -> ScheduleBook:
    """Read every *.yaml / *.yml file in `folder` (by name); a missing folder is an empty book.

    Any problem raises ConfigError naming the file, the entry (slot id, broadcast id,
    'evening_service' or a holidays year) and the field; YAML syntax errors, an impossible date
    and the holidays entries also name the line.
    """
    if not folder.exists():
        return ScheduleBook()
    if not folder.is_dir():
        raise ConfigError(str(folder), "is not a folder")
    paths = sorted(
        (
            p
            for p in folder.iterdir()
            if p.suffix in {".yaml", ".yml"} and not p.name.startswith(".") and p.is_file()
        ),
        key=lambda p: p.name,
    )
    evening: EveningService | None = None
    broadcasts: list[BroadcastDef] = []
    holidays: list[HolidayYear] = []
    seen: dict[str, str] = {}  # broadcast id -> file
    for path in paths:
        name = str(path)
        text = read_text(path)
        data = _read(text, name)
        if data.get(HOLIDAYS) is not None:
            holidays += parse_holidays(data[HOLIDAYS], name, text)
        if data.get(EVENING) is not None:
            if evening is not None:
                raise ConfigError(
                    name,
                    f"a second evening_service section (the first is in {evening.file}); "
                    "keep only one",
                    entry=EVENING,
                )
            evening = _parse_evening(data[EVENING], name)
        raw_broadcasts = data.get("broadcasts")
        if raw_broadcasts is None:
            continue
        if not isinstance(raw_broadcasts, list):
            raise ConfigError(name, "must be a list of broadcasts", field="broadcasts")
        for index, raw in enumerate(raw_broadcasts, start=1):
            broadcast = _parse_broadcast(raw, index, name, tz)
            if broadcast.id in seen:
                raise ConfigError(
                    name,
                    f"duplicate id (also in {seen[broadcast.id]})",
                    entry=broadcast.id,
                    field="id",
                )
            seen[broadcast.id] = name
            broadcasts.append(broadcast)
    check_holidays(holidays)
    return ScheduleBook(
        evening=evening,
        broadcasts=tuple(broadcasts),
        files=tuple(str(p) for p in paths),
        holidays=tuple(holidays),
    )


class _ScheduleLoader(StrictLoader):
    """StrictLoader whose impossible dates (2027-02-30) are errors with their line, not a
    ValueError from deep inside the YAML library."""

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            raise ConstructorError(
                None, None, f"{node.value!r} is not a real date ({exc})", node.start_mark
            ) from exc


_ScheduleLoader.add_constructor(
    "tag:yaml.org,2002:timestamp", _ScheduleLoader.construct_yaml_timestamp
)


def _read(text: str, name: str) -> dict[str, Any]:
    data = parse_yaml(text, name, _ScheduleLoader)
    if not isinstance(data, dict):
        raise ConfigError(name, "expected a mapping with 'version: 1' and sections")
    unknown = sorted(set(map(str, data)) - set(_TOP_KEYS))
    if unknown:
        raise ConfigError(
            name,
            f"unknown top-level key (allowed: {', '.join(_TOP_KEYS)})",
            field=unknown[0],
        )
    check_version(data, name, SUPPORTED_VERSION)
    return data


def _weekday(value: Any) -> int | None:
    """Monday=0 for 'mon' / 'monday' / 1 … 'sun' / 'sunday' / 7; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value - 1 if 1 <= value <= 7 else None
    if isinstance(value, str):
        lowered = value.strip().lower()
        for day, (short, full) in enumerate(zip(WEEKDAY_NAMES, _WEEKDAY_FULL, strict=True)):
            if lowered in (short, full):
                return day
    return None


def _parse_weekdays(fields: Fields) -> frozenset[int]:
    value = fields.required("weekdays")
    if not isinstance(value, list) or not value:
        raise fields.error("weekdays", "must be a non-empty list such as [mon, tue, wed, thu]")
    days: list[int] = []
    for item in value:
        day = _weekday(item)
        if day is None:
            raise fields.error(
                "weekdays", f"unknown weekday {item!r} (use mon … sun, or 1-7 with Monday = 1)"
            )
        if day in days:
            raise fields.error("weekdays", f"lists {WEEKDAY_NAMES[day]} twice")
        days.append(day)
    return frozenset(days)


def _parse_slots(fields: Fields) -> tuple[Slot, ...]:
    value = fields.required("slots")
    if not isinstance(value, list) or not value:
        raise fields.error("slots", "must be a non-empty list of slots")
    slots: list[Slot] = []
    for index, raw in enumerate(value, start=1):
        label = f"slot #{index}"
        if not isinstance(raw, dict):
            raise ConfigError(fields.file, "must be a mapping", entry=label, field="slots")
        slot_id = raw.get("id")
        if isinstance(slot_id, str) and slot_id.strip():
            label = slot_id.strip()
        entry = Fields(raw, fields.file, label)
        entry.check_keys(_SLOT_KEYS)
        if not isinstance(slot_id, str) or not _SLOT_ID.fullmatch(slot_id):
            raise entry.error(
                "id",
                f'must be a quoted id of letters, digits, - or _ such as "1800", not {slot_id!r}',
            )
        if any(s.id == slot_id for s in slots):
            raise entry.error("id", "duplicate slot id")
        start = entry.clock("start")
        end = entry.clock("end")
        if end <= start:
            raise entry.error("end", f"must be after start ({start:%H:%M})")
        slots.append(Slot(slot_id, start, end, entry.integer("capacity", 1)))
    ordered = sorted(slots, key=lambda s: (s.start, s.end))
    for before, after in pairwise(ordered):
        if after.start < before.end:
            raise ConfigError(
                fields.file,
                f"overlaps slot {before.id!r} ({before.start:%H:%M}-{before.end:%H:%M})",
                entry=after.id,
                field="start",
            )
    return tuple(ordered)


def _check_placeholders(fields: Fields, key: str, texts: Mapping[str, str]) -> None:
    allowed = ", ".join("{" + p + "}" for p in NOTICE_PLACEHOLDERS)
    for lang, text in texts.items():
        try:
            names = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
        except ValueError as exc:
            raise fields.error(
                f"{key}.{lang}", f"{exc}; write {{{{ and }}}} for literal braces"
            ) from exc
        for name in names:
            if name not in NOTICE_PLACEHOLDERS:
                raise fields.error(
                    f"{key}.{lang}", f"unknown placeholder {{{name}}} (allowed: {allowed})"
                )


def _parse_evening(raw: Any, name: str) -> EveningService:
    if not isinstance(raw, dict):
        raise ConfigError(name, "must be a mapping", entry=EVENING)
    fields = Fields(raw, name, EVENING)
    fields.check_keys(_EVENING_KEYS)
    weekdays = _parse_weekdays(fields)
    skip = fields.flag("skip_non_working_days", default=True)
    place = fields.text("place")
    booking_days_ahead = fields.integer("booking_days_ahead", 0, _MAX_BOOKING_DAYS, default=7)
    slots = _parse_slots(fields)
    services = fields.text_list("services")
    raw_reminders = fields.required("reminders")
    if not isinstance(raw_reminders, dict):
        raise fields.error("reminders", "must be a mapping")
    reminder_fields = Fields(raw_reminders, name, EVENING, prefix="reminders.")
    reminder_fields.check_keys(_REMINDER_KEYS)
    reminders = Reminders(
        resident_before=reminder_fields.duration("resident_before"),
        staff_roster_at=reminder_fields.clock("staff_roster_at"),
        group_notice_at=reminder_fields.optional_clock("group_notice_at"),
    )
    notice_wanted = reminders.group_notice_at is not None
    targets = fields.targets("group_notice_targets", required=notice_wanted)
    notice = fields.languages("group_notice", required=notice_wanted)
    _check_placeholders(fields, "group_notice", notice)
    return EveningService(
        weekdays=weekdays,
        skip_non_working_days=skip,
        place=place,
        booking_days_ahead=booking_days_ahead,
        slots=slots,
        services=services,
        reminders=reminders,
        group_notice_targets=targets,
        group_notice=notice,
        file=name,
    )


def _parse_at(fields: Fields, tz: tzinfo) -> datetime:
    value = fields.raw["at"]
    when: datetime | None = None
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, str) and ":" in value:
        try:
            when = datetime.fromisoformat(value.strip())
        except ValueError:
            when = None
    if when is None:
        raise fields.error("at", f'must be a date and time like "2026-12-31 10:00", not {value!r}')
    return when.replace(tzinfo=tz) if when.tzinfo is None else when.astimezone(tz)


def _parse_broadcast(raw: Any, index: int, name: str, tz: tzinfo) -> BroadcastDef:
    fields = Fields.of_entry(raw, name, f"broadcast #{index}", _BROADCAST_KEYS)
    broadcast_id = raw.get("id")
    if not isinstance(broadcast_id, str) or not _BROADCAST_ID.fullmatch(broadcast_id):
        raise fields.error("id", "must be a unique kebab-case id such as 'garbage-sorting-weekly'")
    has_cron, has_at = raw.get("cron") is not None, raw.get("at") is not None
    if has_cron == has_at:
        raise fields.error(
            "cron" if has_cron else "at",
            "give exactly one of cron (repeating) or at (once)"
            + (", not both" if has_cron else ""),
        )
    cron: str | None = None
    at: datetime | None = None
    if has_cron:
        cron = raw["cron"]
        if not isinstance(cron, str):
            raise fields.error(
                "cron", f'must be a quoted crontab line like "0 9 * * sat", not {cron!r}'
            )
        cron = " ".join(cron.split())
        try:
            parse_cron(cron, tz)
        except CronError as exc:
            raise fields.error("cron", str(exc)) from exc
        gap = shortest_gap(cron, datetime.now(tz))
        if gap is not None and gap < MIN_REPEAT:
            raise fields.error(
                "cron",
                f"fires every {gap.total_seconds() / 60:g} minutes at times; a repeating "
                f"broadcast in schedules/ may fire at most once an hour",
            )
    else:
        at = _parse_at(fields, tz)
    return BroadcastDef(
        id=broadcast_id,
        cron=cron,
        at=at,
        targets=fields.targets("targets"),
        text=fields.languages("text"),
        quiet_hours_override=fields.flag("quiet_hours_override", default=False),
        file=name,
    )
