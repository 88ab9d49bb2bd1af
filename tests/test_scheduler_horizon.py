"""The scheduler hands APScheduler only the jobs due within its horizon; the rest follow."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

from bot.schedule.joblog import JobLog
from bot.schedule.jobs import Job
from bot.schedule.runtime import Scheduler
from bot.store.folder import Store
from tests.fakes import FakeClock


class Reminders:
    """A job source with one job every `step` from the start, for `count` records."""

    prefix = "r"

    def __init__(self, start: datetime, count: int, step: timedelta) -> None:
        self.times = {f"r:{n}": start + (n + 1) * step for n in range(count)}
        self.ran: list[str] = []

    def _job(self, record: str) -> Job:
        async def run(now: datetime) -> str:
            self.ran.append(record)
            return "sent"

        return Job(f"{record}|remind", record, self.times[record], run)

    def all_jobs(self, now: datetime) -> Iterable[Job]:
        return [self._job(r) for r in self.times]

    def changed_records(self) -> Iterable[str]:
        return []

    def jobs_for(self, record: str, now: datetime) -> list[Job]:
        return [self._job(record)] if record in self.times else []

    def preview(self, now: datetime, count: int) -> list[Job]:
        return list(self.all_jobs(now))


async def test_only_jobs_within_the_horizon_go_to_apscheduler_and_the_rest_follow(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    store = Store(tmp_path)
    source = Reminders(clock.now, 48, timedelta(hours=1))  # one an hour for two days
    scheduler = Scheduler([source], store.repo(JobLog), clock, clock.now.tzinfo)  # type: ignore[arg-type]
    try:
        assert scheduler.start() == 48
        held = {job.id for job in scheduler._aps.get_jobs()} - {Scheduler._HORIZON_JOB}
        assert len(held) == 6  # the next six hours
        assert len(scheduler.planned()) == 48
        clock.now += timedelta(hours=30)  # the console's :clock, a test's bot.at
        scheduler.clock_moved()
        await scheduler.settle()
        assert source.ran == [f"r:{n}" for n in range(30)]  # on time, in order
        held = {job.id for job in scheduler._aps.get_jobs()} - {Scheduler._HORIZON_JOB}
        assert held == {f"r:{n}|remind" for n in range(30, 36)}
        source.times["r:40"] = clock.now + timedelta(minutes=5)  # a record changed: sooner
        scheduler.replan("r:40")
        clock.now += timedelta(minutes=10)
        scheduler.clock_moved()
        await scheduler.settle()
        assert source.ran[-1] == "r:40" and len(source.ran) == 31
    finally:
        scheduler.shutdown()
        store.close()
