"""The job model: one thing to do at one time, derived from a stored record; cron parsing."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from itertools import pairwise
from typing import Protocol

from apscheduler.triggers.cron import CronTrigger


class CronError(ValueError):
    """A cron expression APScheduler cannot read; the message says why."""


_CRONTAB_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_cron(expr: str, tz: tzinfo) -> CronTrigger:
    """A five-field crontab expression ('0 9 * * sat') as a trigger in `tz`.

    Weekday numbers mean what they mean in crontab (0 or 7 = Sunday); APScheduler itself
    would count from Monday = 0, so they are turned into names first.
    """
    fields = expr.split()
    if len(fields) == 5:  # minute hour day month weekday
        fields[4] = re.sub(
            r"\d+",
            lambda m: _CRONTAB_DAYS[int(m[0])] if int(m[0]) < 8 else m[0],
            fields[4],
        )
    try:
        return CronTrigger.from_crontab(" ".join(fields), timezone=tz)
    except (ValueError, TypeError) as exc:
        raise CronError(f"bad cron expression {expr!r}: {exc}") from exc


def cron_occurrences(expr: str, after: datetime, count: int) -> list[datetime]:
    """The next `count` times strictly after `after` (aware) that `expr` fires."""
    if after.tzinfo is None:
        raise ValueError("after must be timezone-aware")
    trigger = parse_cron(expr, after.tzinfo)
    found: list[datetime] = []
    previous: datetime | None = None
    now = after
    while len(found) < count:
        fire = trigger.get_next_fire_time(previous, now)
        if fire is None:
            break
        if fire > after:
            found.append(fire)
        previous, now = fire, fire
    return found


MIN_REPEAT = timedelta(hours=1)  # a repeating broadcast more often than this needs a yes


def shortest_gap(expr: str, after: datetime, sample: int = 200) -> timedelta | None:
    """The shortest time between two firings of `expr` among its next `sample` firings
    (None when it fires once or never): '*/5 * * * *' gives 5 minutes, '0 9 * * *' a day."""
    times = cron_occurrences(expr, after, sample)
    gaps = [b - a for a, b in pairwise(times)]
    return min(gaps) if gaps else None


def firings_per_day(expr: str, after: datetime) -> int:
    """How many times `expr` fires in the day after `after` (at most 1,441 counted)."""
    end = after + timedelta(days=1)
    return sum(1 for t in cron_occurrences(expr, after, 1441) if t <= end)


Outcome = str  # what a job did, kept in the job log: "sent", "held", "dropped", "missed", …


@dataclass(frozen=True)
class Job:
    """One thing to do at one time, derived from a record in the store.

    `key` is the dedupe key (e.g. "followup:1024:unclaimed:0"), also the APScheduler job id;
    `record` names what it was derived from (e.g. "ticket:1024") so a changed record can be
    planned again; `run(now)` does the work and says what happened.
    """

    key: str
    record: str
    at: datetime
    run: Callable[[datetime], Awaitable[Outcome]]
    label: str = ""


class JobSource(Protocol):
    """A kind of record that has jobs: tickets, bookings, evening service days, broadcasts."""

    prefix: str  # records of this source are named "{prefix}:{id}"

    def all_jobs(self, now: datetime) -> Iterable[Job]: ...

    def changed_records(self) -> Iterable[str]: ...

    def jobs_for(self, record: str, now: datetime) -> list[Job]: ...

    def preview(self, now: datetime, count: int) -> list[Job]:
        """Up to `count` coming jobs per record, recurring ones expanded (schedules list)."""
        ...


def next_due(occurrences: Iterable[datetime], now: datetime) -> datetime | None:
    """Of a recurring record's occurrences (ascending, after the last one handled): the latest
    already due — older missed ones are folded into it — or else the next one to come."""
    latest: datetime | None = None
    for when in occurrences:
        if when > now:
            return latest or when
        latest = when
    return latest
