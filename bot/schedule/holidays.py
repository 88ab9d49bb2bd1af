"""China's working-day calendar: the holidays package, the operators' days, and its coverage.

Which days are worked comes, first match winning, from:

1. `holidays:` entries in schedules/*.yaml (the operators' file, any year, read with the other
   schedules; `parse_holidays` validates one file's section);
2. the settings' `work.extra_holidays` / `extra_workdays` (deprecated: the same, without
   line numbers and without a way to say that a year is complete);
3. the `holidays` package (python-holidays): China's days off and 调休 working days as the
   State Council published them for the years in its table (2001–2026 in 0.109), and for later
   years its estimate from the statutory festivals (days off moved off weekends, no 调休 working
   days);
4. Monday to Friday, for years the package knows nothing of (before 1950).

A year is *covered* when the package has its official schedule or an operators' entry for it
says `complete: true`. `yishiting doctor` and `CoverageNotice` (a job telling the admins, once
a year) speak up from WARN_DAYS before a year that nobody covers starts.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from functools import cache, partial
from itertools import islice
from typing import Any

import holidays as python_holidays
import yaml
from holidays.version import __version__ as _package_version

from bot.config import Settings
from bot.errors import ConfigError
from bot.i18n import Translator
from bot.models import Address, Outgoing
from bot.operator_files import StrictLoader
from bot.schedule.joblog import JobLog
from bot.schedule.jobs import Job, Outcome
from bot.store.folder import Store
from bot.store.outbox import Dispatch

log = logging.getLogger(__name__)

SECTION = "holidays"
WARN_DAYS = 60  # doctor and the admins are told this many days before an uncovered year
NOTICE_AT = time(9, 0)  # the admins' notice, local time
_ENTRY_KEYS = ("year", "complete", "days_off", "workdays", "note")
_DATE = r"(\d{4})-(\d{1,2})-(\d{1,2})"
_ONE_DAY = re.compile(_DATE)
_RANGE = re.compile(_DATE + r"\s*(?:\.\.|~|～|至)\s*" + _DATE)
_MAX_RANGE_DAYS = 31
_DATE_HINT = "write a date like 2027-02-05 or a range like 2027-02-05..2027-02-10"


# ---------------------------------------------------------------------------------------------
# The package


@cache
def _china() -> python_holidays.HolidayBase:
    """The package's China calendar; each year is computed the first time it is asked for."""
    return python_holidays.country_holidays("CN")


def package_name() -> str:
    return f"holidays {_package_version}"


@cache
def package_years() -> range:
    """The years whose official schedule the package has: those of its table of the State
    Council's 调休 swaps (every year since 2001 has some). Later years are estimates."""
    from holidays.countries.china import ChinaStaticHolidays

    table = getattr(ChinaStaticHolidays, "special_public_holidays", {})
    years = [year for year in table if isinstance(year, int)]
    return range(min(years), max(years) + 1) if years else range(0)


def package_is_workday(day: date) -> bool:
    """The package's verdict alone (official or estimated): a day off or a 调休 working day."""
    return bool(_china().is_working_day(day))


# ---------------------------------------------------------------------------------------------
# The operators' entries


@dataclass(frozen=True)
class HolidayYear:
    """One entry of a `holidays:` section: a year's days off and 调休 working days.

    `complete` says the entry is the year's whole official schedule, so the year counts as
    covered (no notice). Dates may also lie in December of the year before, where a New Year
    schedule puts some of its days.
    """

    year: int
    days_off: frozenset[date]
    workdays: frozenset[date]
    complete: bool = False
    note: str = ""
    file: str = ""


class _Lines:
    """Line numbers of one file's `holidays:` entries, their keys and list items."""

    def __init__(self, text: str) -> None:
        self._lines: dict[tuple[int, str, int], int] = {}
        try:
            root = yaml.compose(text, Loader=StrictLoader)
        except yaml.YAMLError:
            return
        section = None
        if isinstance(root, yaml.MappingNode):
            section = next((v for k, v in root.value if k.value == SECTION), None)
        if not isinstance(section, yaml.SequenceNode):
            return
        for index, item in enumerate(section.value):
            self._lines[(index, "", -1)] = item.start_mark.line + 1
            if not isinstance(item, yaml.MappingNode):
                continue
            for key, value in item.value:
                name = str(key.value)
                self._lines[(index, name, -1)] = key.start_mark.line + 1
                if isinstance(value, yaml.SequenceNode):
                    for position, element in enumerate(value.value):
                        self._lines[(index, name, position)] = element.start_mark.line + 1

    def line(self, index: int, key: str = "", position: int = -1) -> int | None:
        for probe in ((index, key, position), (index, key, -1), (index, "", -1)):
            if probe in self._lines:
                return self._lines[probe]
        return None


def parse_holidays(raw: Any, file: str, text: str = "") -> tuple[HolidayYear, ...]:
    """The `holidays:` section of one schedules/ file (`text`: the file, for line numbers).

    A mistake raises ConfigError naming the file and line, the entry (its year) and the field.
    """
    if not isinstance(raw, list):
        raise ConfigError(
            file, "must be a list of years, each with its days_off and workdays", field=SECTION
        )
    lines = _Lines(text)
    years: list[HolidayYear] = []
    for index, item in enumerate(raw):
        entry = _parse_year(item, index, file, partial(lines.line, index))
        if any(y.year == entry.year for y in years):
            raise ConfigError(
                file,
                f"a second entry for {entry.year}; keep one per year",
                entry=str(entry.year),
                field="year",
                line=lines.line(index, "year"),
            )
        years.append(entry)
    return tuple(years)


def check_holidays(years: Sequence[HolidayYear]) -> None:
    """Across files: one entry per year, and no day in two years' entries."""
    first: dict[int, HolidayYear] = {}
    owner: dict[date, HolidayYear] = {}
    for entry in years:
        if entry.year in first:
            raise ConfigError(
                entry.file,
                f"a second entry for {entry.year} (the first is in {first[entry.year].file});"
                " keep one",
                entry=str(entry.year),
                field="year",
            )
        first[entry.year] = entry
        for day in sorted(entry.days_off | entry.workdays):
            other = owner.setdefault(day, entry)
            if other is not entry:
                raise ConfigError(
                    entry.file,
                    f"{day} is also in the entry for {other.year} ({other.file}); list it once",
                    entry=str(entry.year),
                )


def _parse_year(raw: Any, index: int, file: str, line: Callable[..., int | None]) -> HolidayYear:
    label = f"holidays #{index + 1}"
    if not isinstance(raw, dict):
        raise ConfigError(
            file, "must be a mapping with year, days_off and workdays", entry=label, line=line()
        )
    year = raw.get("year")
    if isinstance(year, int) and not isinstance(year, bool):
        label = str(year)

    def error(key: str, message: str, position: int = -1) -> ConfigError:
        return ConfigError(file, message, entry=label, field=key, line=line(key, position))

    unknown = sorted(set(map(str, raw)) - set(_ENTRY_KEYS))
    if unknown:
        raise error(unknown[0], f"unknown key (allowed: {', '.join(_ENTRY_KEYS)})")
    if not isinstance(year, int) or isinstance(year, bool) or not 1950 <= year <= 2200:
        raise error("year", f"must be a year such as 2027, not {year!r}")
    complete = raw.get("complete", False)
    if not isinstance(complete, bool):
        raise error("complete", f"must be true or false, not {complete!r}")
    note = raw.get("note") or ""
    if not isinstance(note, str):
        raise error("note", f"must be text, not {note!r}")
    days_off = _days(raw, "days_off", year, error)
    workdays = _days(raw, "workdays", year, error)
    both = sorted(days_off & workdays)
    if both:
        position = next(
            (i for i, item in enumerate(raw["workdays"]) if both[0] in _dates_of(item)), -1
        )
        raise error("workdays", f"{both[0]} is also in days_off", position)
    if not (days_off or workdays or complete):
        raise error("year", "lists no days_off and no workdays (and is not complete: true)")
    return HolidayYear(year, days_off, workdays, complete, note.strip(), file)


def _days(
    raw: dict[Any, Any], key: str, year: int, error: Callable[..., ConfigError]
) -> frozenset[date]:
    value = raw.get(key)
    if value is None:
        return frozenset()
    if not isinstance(value, list):
        raise error(key, f"must be a list: {_DATE_HINT}")
    days: set[date] = set()
    for position, item in enumerate(value):
        span = _span(item)
        if span is None:
            raise error(key, f"{item!r} is not a date: {_DATE_HINT}", position)
        first, last = span
        if last < first:
            raise error(key, f"the range {item!r} ends before it starts", position)
        if (last - first).days >= _MAX_RANGE_DAYS:
            raise error(key, f"the range {item!r} is longer than {_MAX_RANGE_DAYS} days", position)
        for day in _each_day(first, last):
            if not (day.year == year or (day.year == year - 1 and day.month == 12)):
                raise error(
                    key,
                    f"{day} is not in {year} (only December {year - 1} may hold days of the"
                    f" {year} schedule)",
                    position,
                )
            if day in days:
                raise error(key, f"lists {day} twice", position)
            days.add(day)
    return frozenset(days)


def _span(item: Any) -> tuple[date, date] | None:
    """A list item as (first, last) day: a YAML date, "2027-02-05" or "2027-02-05..02-10"."""
    if isinstance(item, datetime):
        return None
    if isinstance(item, date):
        return item, item
    if not isinstance(item, str):
        return None
    text = item.strip()
    try:
        if match := _ONE_DAY.fullmatch(text):
            day = date(*map(int, match.groups()))
            return day, day
        if match := _RANGE.fullmatch(text):
            numbers = list(map(int, match.groups()))
            return date(*numbers[:3]), date(*numbers[3:])
    except ValueError:  # 2027-02-30
        return None
    return None


def _dates_of(item: Any) -> list[date]:
    span = _span(item)
    return list(_each_day(*span)) if span else []


def _each_day(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


# ---------------------------------------------------------------------------------------------
# The calendar


@dataclass
class WorkCalendar:
    """Is a day worked? The operators' entries, then the settings' extra days, then the
    holidays package (official, else estimated), then Monday to Friday."""

    years: Sequence[HolidayYear] = ()
    extra_days_off: Sequence[date] = ()  # the settings' work.extra_holidays (deprecated)
    extra_workdays: Sequence[date] = ()
    _fixed: dict[date, bool] = field(init=False, repr=False)
    _memo: dict[date, bool] = field(init=False, repr=False, default_factory=dict)
    _warned: set[int] = field(init=False, repr=False, default_factory=set)

    def __post_init__(self) -> None:
        self._fixed = dict.fromkeys(self.extra_days_off, False)
        self._fixed.update(dict.fromkeys(self.extra_workdays, True))
        for entry in self.years:  # the file wins over the settings
            self._fixed.update(dict.fromkeys(entry.days_off, False))
            self._fixed.update(dict.fromkeys(entry.workdays, True))

    def is_workday(self, day: date) -> bool:
        if isinstance(day, datetime):
            raise TypeError("is_workday takes a date, not a datetime")
        fixed = self._fixed.get(day)
        if fixed is not None:
            return fixed
        known = self._memo.get(day)
        if known is None:
            known = self._memo[day] = self._from_package(day)
        return known

    def _from_package(self, day: date) -> bool:
        if day.year not in self._warned and not self.covers(day.year):
            self._warned.add(day.year)
            log.warning(
                "no official Chinese holiday schedule for %d: using %s's estimate (statutory"
                " festivals, no 调休 working days); upgrade holidays or add %d to"
                " schedules/holidays.yaml",
                day.year,
                package_name(),
                day.year,
            )
        return package_is_workday(day)

    # -- coverage --------------------------------------------------------------------------

    def covered_by(self, year: int) -> str:
        """Who has the official schedule of `year`: a schedules/ file, the package, or ''."""
        entry = next((e for e in self.years if e.year == year and e.complete), None)
        if entry is not None:
            return entry.file or "schedules/"
        return package_name() if year in package_years() else ""

    def covers(self, year: int) -> bool:
        return bool(self.covered_by(year))

    def uncovered(self, today: date) -> list[int]:
        """This year, and next year once it starts within WARN_DAYS, if nothing covers them."""
        years = [today.year]
        if today >= warn_from(today.year + 1):
            years.append(today.year + 1)
        return [year for year in years if not self.covers(year)]

    def status(self, today: date) -> tuple[bool, str]:
        """(all well, one sentence) for `yishiting doctor`."""
        official = package_years()
        parts = [
            f"{package_name()} has official schedules for {official.start}–{official.stop - 1}"
            if official
            else f"{package_name()} has no official schedules"
        ]
        own = sorted(e.year for e in self.years if e.complete)
        if own:
            parts.append(f"schedules/ for {', '.join(map(str, own))}")
        note = ""
        if self.extra_days_off or self.extra_workdays:
            note = (
                "; settings work.extra_holidays/extra_workdays are deprecated:"
                " move them to schedules/holidays.yaml"
            )
        missing = self.uncovered(today)
        if not missing:
            return True, ", ".join(parts) + note
        year = missing[0]
        start = date(year, 1, 1)
        since = "began" if start <= today else f"starts in {(start - today).days} days"
        return False, (
            f"{year} {since} and no calendar has its official schedule ({', '.join(parts)}):"
            f" {year} counts only the statutory festivals, no 调休 working days; upgrade"
            f" holidays (pip install -U holidays) or add {year} to schedules/holidays.yaml"
            f" with complete: true{note}"
        )


def warn_from(year: int) -> date:
    """The first day on which an uncovered `year` is reported."""
    return date(year, 1, 1) - timedelta(days=WARN_DAYS)


def doctor_line(settings: Settings, today: date | None = None) -> str:
    """`yishiting doctor`'s calendar line (schedules/ that do not load count as empty)."""
    from bot.clock import zone
    from bot.schedule.book import load_schedules

    tz = zone(settings.timezone)
    try:
        years = load_schedules(settings.schedules_path, tz).holidays
    except ConfigError:
        years = ()  # the schedules line says what is wrong
    calendar = WorkCalendar(years, settings.work.extra_holidays, settings.work.extra_workdays)
    ok, text = calendar.status(today or datetime.now(tz).date())
    return f"calendar  {'OK    ' if ok else 'WARN  '}  {text}"


# ---------------------------------------------------------------------------------------------
# The admins' notice


class CoverageNotice:
    """Record "calendar:coverage": from WARN_DAYS before a year without an official schedule
    starts, the admins are told once (job "calendar:uncovered:{year}")."""

    prefix = "calendar"
    record = "calendar:coverage"
    years_ahead = 2  # so that one future notice is always planned

    def __init__(
        self,
        *,
        calendar: WorkCalendar,
        store: Store,
        tz: tzinfo,
        language: str,
        translate: Translator,
        dispatch: Dispatch,
        admins: Callable[[], list[Address]],
    ) -> None:
        self.calendar = calendar
        self.store = store
        self.tz = tz
        self.language = language
        self.t = translate
        self.dispatch = dispatch
        self.admins = admins

    def all_jobs(self, now: datetime) -> list[Job]:
        return self.jobs_for(self.record, now)

    def changed_records(self) -> list[str]:
        return []

    def jobs_for(self, record: str, now: datetime) -> list[Job]:
        done = self.store.repo(JobLog)
        return [job for job in self._jobs(now) if not done.done(job.key)]

    def preview(self, now: datetime, count: int) -> list[Job]:
        return list(islice(self.jobs_for(self.record, now), count))

    def _jobs(self, now: datetime) -> Iterable[Job]:
        today = now.astimezone(self.tz).date()
        for year in range(today.year, today.year + self.years_ahead + 1):
            if self.calendar.covers(year):
                continue
            due = max(datetime.combine(warn_from(year), NOTICE_AT, tzinfo=self.tz), now)
            key = f"calendar:uncovered:{year}"
            run = partial(self._send, key, year)
            label = f"tell the admins no holiday calendar covers {year}"
            yield Job(key, self.record, due, run, label)

    async def _send(self, key: str, year: int, now: datetime) -> Outcome:
        if self.calendar.covers(year):
            return "covered"
        admins = self.admins()
        if not admins:
            log.warning("no holiday calendar covers %d, and there is no admin to tell", year)
            return "no admins"
        official = package_years()
        text = self.t(
            self.language,
            "calendar_uncovered",
            year=year,
            package=package_name(),
            last=official.stop - 1 if official else "-",
        )
        await self.dispatch(key, [Outgoing(address, text) for address in admins])
        return "sent"
