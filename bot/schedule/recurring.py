"""Job sources of one record recurring at a time of day (the morning digest, the summary).

The next occurrence after the last one handled comes from the job log, the coming ones make
the previews; a source says only when it recurs and what one run does."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from datetime import datetime, time
from itertools import islice

from bot.schedule.joblog import JobLog
from bot.schedule.jobs import Job, next_due
from bot.store.folder import Store


def clock_time(text: str) -> time:
    """'08:30' (as the settings validate it) as a time of day."""
    hours, _, minutes = text.partition(":")
    return time(int(hours), int(minutes))


class RecurringJobs(ABC):
    """One record (`record`), one job at a time: the first occurrence after the last handled."""

    record: str
    store: Store

    @abstractmethod
    def occurrences(self, after: datetime) -> Iterator[datetime]:
        """When it recurs, after `after`, in order."""

    @abstractmethod
    def job(self, due: datetime, since: datetime) -> Job:
        """The run due at `due`; `since` is when the one before it was due (or first planned)."""

    def all_jobs(self, now: datetime) -> list[Job]:
        return self.jobs_for(self.record, now)

    def changed_records(self) -> list[str]:
        return []

    def jobs_for(self, record: str, now: datetime) -> list[Job]:
        since = self.store.repo(JobLog).since(self.record, now)
        due = next_due(self.occurrences(since), now)
        return [self.job(due, since)] if due is not None else []

    def preview(self, now: datetime, count: int) -> list[Job]:
        return [self.job(due, now) for due in islice(self.occurrences(now), count)]
