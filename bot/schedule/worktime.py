"""Working time: office hours, quiet hours and China's working-day calendar."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from bot.config import WorkTimeConfig, parse_period
from bot.schedule.holidays import HolidayYear, WorkCalendar

# How far the calendar walks looking for a working day or office period before giving up.
MAX_SEARCH_DAYS = 3660


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


class WorkTime:
    """Calendar arithmetic in one time zone; every datetime argument must be aware.

    Which days are worked is the `WorkCalendar` (bot/schedule/holidays.py): the operators'
    `holidays:` entries in schedules/, the settings' extra days, then the holidays package.
    """

    def __init__(
        self, config: WorkTimeConfig, tz: tzinfo, holidays: Sequence[HolidayYear] = ()
    ) -> None:
        self.config = config
        self.tz = tz
        self._periods = tuple(parse_period(text) for text in config.office_hours)
        self._quiet = parse_period(config.quiet_hours) if config.quiet_hours else None
        self.calendar = WorkCalendar(holidays, config.extra_holidays, config.extra_workdays)

    # -- calendar -------------------------------------------------------------------------

    def is_workday(self, day: date) -> bool:
        """China's calendar with 调休, the operators' days first (see WorkCalendar)."""
        return self.calendar.is_workday(day)

    def next_workday(self, day: date) -> date:
        """The first working day strictly after `day`."""
        candidate = day
        for _ in range(MAX_SEARCH_DAYS):
            candidate += timedelta(days=1)
            if self.is_workday(candidate):
                return candidate
        raise ValueError(f"no working day within {MAX_SEARCH_DAYS} days after {day.isoformat()}")

    def office_day_hours(self) -> float:
        """Length of the office periods of one working day, in (wall-clock) hours."""
        return sum(_minutes(end) - _minutes(start) for start, end in self._periods) / 60

    # -- points in time --------------------------------------------------------------------

    def is_office_time(self, at: datetime) -> bool:
        """True on a working day inside an office period (start inclusive, end exclusive)."""
        local = self._local(at)
        if not self.is_workday(local.date()):
            return False
        now = local.time()
        return any(start <= now < end for start, end in self._periods)

    def is_quiet(self, at: datetime) -> bool:
        """True inside the quiet window (any day), start inclusive, end exclusive."""
        local = self._local(at)
        if self._quiet is None:
            return False
        start, end = self._quiet
        now = local.time()
        if start < end:
            return start <= now < end
        return now >= start or now < end

    def after_quiet(self, at: datetime) -> datetime:
        """`at` itself if not quiet, else the moment that quiet window ends."""
        local = self._local(at)
        if self._quiet is None or not self.is_quiet(local):
            return local
        start, end = self._quiet
        day = local.date()
        if start > end and local.time() >= start:
            day += timedelta(days=1)  # the window wraps midnight and we are before midnight
        return datetime.combine(day, end, tzinfo=self.tz)

    # -- working-hour arithmetic -------------------------------------------------------------

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """Walk `hours` of office time forward from `start`; hours <= 0 returns `start`."""
        local = self._local(start)
        if not math.isfinite(hours):
            raise ValueError(f"hours must be finite, got {hours!r}")
        if hours <= 0:
            return local
        remaining = timedelta(hours=hours)
        cursor = local.astimezone(UTC)
        day = local.date()
        for _ in range(MAX_SEARCH_DAYS):
            if self.is_workday(day):
                for period_start, period_end in self._period_bounds(day):
                    if period_end <= cursor:
                        continue
                    begin = max(period_start, cursor)
                    available = period_end - begin
                    if remaining <= available:
                        return (begin + remaining).astimezone(self.tz)
                    remaining -= available
                    cursor = period_end
            day += timedelta(days=1)
        raise ValueError(
            f"no office time within {MAX_SEARCH_DAYS} days after {local.isoformat()}"
            f" ({remaining.total_seconds() / 3600:.2f} of {hours} working hours left)"
        )

    def add_working_days(self, start: datetime, days: float) -> datetime:
        """`days` office days' worth of working hours after `start`."""
        return self.add_working_hours(start, days * self.office_day_hours())

    def working_hours_between(self, start: datetime, end: datetime) -> float:
        """Office hours elapsed in [start, end); 0 when end <= start."""
        begin = self._local(start).astimezone(UTC)
        finish = self._local(end).astimezone(UTC)
        if finish <= begin:
            return 0.0
        total = timedelta()
        day = begin.astimezone(self.tz).date()
        last = finish.astimezone(self.tz).date()
        while day <= last:
            if self.is_workday(day):
                for period_start, period_end in self._period_bounds(day):
                    overlap = min(period_end, finish) - max(period_start, begin)
                    if overlap > timedelta():
                        total += overlap
            day += timedelta(days=1)
        return total.total_seconds() / 3600

    # -- helpers ---------------------------------------------------------------------------

    def _local(self, at: datetime) -> datetime:
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError(f"datetime {at.isoformat()} is naive; pass a timezone-aware one")
        return at.astimezone(self.tz)

    def _period_bounds(self, day: date) -> list[tuple[datetime, datetime]]:
        """The office periods of `day` as UTC instants (real elapsed time even across DST)."""
        return [
            (
                datetime.combine(day, start, tzinfo=self.tz).astimezone(UTC),
                datetime.combine(day, end, tzinfo=self.tz).astimezone(UTC),
            )
            for start, end in self._periods
        ]
