"""The APScheduler runtime: jobs rebuilt from the store, fired in order on the bot's clock."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import heapq
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime, timedelta, tzinfo

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

from bot.schedule.joblog import JobLog
from bot.schedule.jobs import Job, JobSource
from bot.store.journal import StorageError

log = logging.getLogger(__name__)


class Scheduler:
    """Keeps APScheduler's in-memory jobs equal to what the store says is still to be done.

    Jobs are rebuilt from the sources at start and re-planned whenever their record changes;
    a job that ran is written to the job log before anything else can plan it again. The
    bot's clock may run ahead of the system clock (console `:clock`, tests): jobs are given
    to APScheduler at `at - offset`, so APScheduler fires them when the bot's clock says so.
    APScheduler's misfire grace is off (None): lateness is each job's own policy.

    Only jobs due within HORIZON of the bot's clock are handed to APScheduler; later ones
    wait in a heap and are handed over as the horizon moves on (a job of its own, and every
    clock jump): 50,000 open tickets mean 100,000 follow-ups, and APScheduler costs about
    65 µs and 3 KB for each job it holds.
    """

    HORIZON = timedelta(hours=6)
    _HORIZON_JOB = "~horizon"

    def __init__(
        self,
        sources: Sequence[JobSource],
        log: JobLog,
        clock: Callable[[], datetime],
        tz: tzinfo,
        *,
        retry_after: timedelta = timedelta(minutes=5),
        batch: Callable[[], AbstractContextManager[None]] = contextlib.nullcontext,
    ) -> None:
        self.batch = batch  # a job's writes and its log entry: one commit (the store's batch)
        self.sources = {s.prefix: s for s in sources}
        self.log = log
        self.clock = clock
        self.tz = tz
        self.retry_after = retry_after
        self._aps = AsyncIOScheduler(
            timezone=tz,
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        self._jobs: dict[str, Job] = {}
        self._by_record: dict[str, set[str]] = {}
        self._handed: set[str] = set()  # keys APScheduler holds
        self._later: list[tuple[datetime, str]] = []  # (at, key) beyond the horizon
        self._until: datetime | None = None  # the horizon's end (bot time); None: no horizon
        self._lock = asyncio.Lock()
        self._running = 0
        self._job_function = self._fire_function()

    def _fire_function(self) -> Callable[[str], Awaitable[None]]:
        """What APScheduler calls: it inspects the signature of every job's callable when the
        job is added, so the signature is computed once here (a third of a 10,000-job start)."""

        async def fire(key: str) -> None:
            await self._fire(key)

        fire.__signature__ = inspect.signature(fire)  # type: ignore[attr-defined]
        return fire

    # ---- planning -------------------------------------------------------------------------

    def next_time(self) -> datetime | None:
        return min((job.at for job in self._jobs.values()), default=None)

    def planned(self) -> list[Job]:
        """Every job still to run, soonest first."""
        return sorted(self._jobs.values(), key=lambda j: (j.at, j.key))

    def rebuild(self) -> int:
        """Plan every job from the store afresh; returns how many are pending.

        The cyclic garbage collector pauses meanwhile: planning allocates an object or ten
        per stored record and none of them is garbage, yet each allocation burst would make
        it walk every live object again (a third of the time at 50,000 open tickets).
        """
        paused = gc.isenabled()
        gc.disable()
        try:
            return self._rebuild()
        finally:
            if paused:
                gc.enable()

    def _rebuild(self) -> int:
        for key in list(self._jobs):
            self._unplan(key)
        self._later = []
        now = self.clock()
        self._until = now + self.HORIZON
        offset = self._offset()
        for source in self.sources.values():
            source.changed_records()  # everything is planned now: forget earlier changes
            for job in source.all_jobs(now):
                self._plan(job, offset)
        self._plan_horizon(offset)
        log.info(
            "scheduler: %d jobs planned, %d within %s",
            len(self._jobs),
            len(self._handed),
            self.HORIZON,
        )
        return len(self._jobs)

    def sync(self) -> None:
        """Plan again the records changed since the last call (after each handled message)."""
        now = self.clock()
        for source in self.sources.values():
            for record in source.changed_records():
                self.replan(record, now)

    def replan(self, record: str, now: datetime | None = None) -> None:
        source = self.sources.get(record.partition(":")[0])
        if source is None:
            return
        jobs = source.jobs_for(record, now or self.clock())
        wanted = {job.key for job in jobs}
        for key in self._by_record.get(record, set()) - wanted:
            self._unplan(key)
        offset = self._offset()
        for job in jobs:
            self._plan(job, offset)

    def clock_moved(self) -> None:
        """The bot's clock jumped: give every job its new system time; due ones fire now."""
        offset = self._offset()
        self._extend(offset)
        for key in list(self._handed):
            self._plan(self._jobs[key], offset)

    def _extend(self, offset: timedelta) -> None:
        """Move the horizon to HORIZON after the bot's clock: jobs now within it go to
        APScheduler (an earlier horizon is kept when the clock has not passed it)."""
        if self._until is None:
            return
        self._until = max(self._until, self.clock() + self.HORIZON)
        while self._later and self._later[0][0] <= self._until:
            at, key = heapq.heappop(self._later)
            job = self._jobs.get(key)
            if job is not None and job.at == at and key not in self._handed:
                self._hand(job, offset)
        self._plan_horizon(offset)

    def _plan_horizon(self, offset: timedelta) -> None:
        """The job that moves the horizon on, halfway to its end."""
        if self._until is None:
            return
        self._aps.add_job(
            self._horizon_function,
            trigger=DateTrigger(run_date=self._until - self.HORIZON / 2 - offset, timezone=self.tz),
            id=self._HORIZON_JOB,
            name="move the scheduler's horizon on",
            replace_existing=True,
        )

    async def _horizon_function(self) -> None:
        self._extend(self._offset())

    def _offset(self) -> timedelta:
        return self.clock() - datetime.now(self.tz)

    def _plan(self, job: Job, offset: timedelta) -> None:
        if self.log.done(job.key):
            return
        self._jobs[job.key] = job
        self._by_record.setdefault(job.record, set()).add(job.key)
        if self._until is not None and job.at > self._until:  # beyond the horizon: wait here
            if job.key in self._handed:
                self._handed.discard(job.key)
                with contextlib.suppress(JobLookupError):
                    self._aps.remove_job(job.key)
            heapq.heappush(self._later, (job.at, job.key))
            return
        self._hand(job, offset)

    def _hand(self, job: Job, offset: timedelta) -> None:
        self._handed.add(job.key)
        self._aps.add_job(
            self._job_function,
            trigger=DateTrigger(run_date=job.at - offset, timezone=self.tz),
            args=[job.key],
            id=job.key,
            name=job.label or job.key,
            replace_existing=True,
        )

    def _unplan(self, key: str) -> None:
        job = self._jobs.pop(key, None)
        if job is not None:
            self._by_record.get(job.record, set()).discard(key)
        if key in self._handed:  # one still waiting in the heap is dropped when it comes up
            self._handed.discard(key)
            with contextlib.suppress(JobLookupError):
                self._aps.remove_job(key)

    # ---- running --------------------------------------------------------------------------

    async def _fire(self, key: str) -> None:
        """Run one due job; jobs due together run one at a time, in order."""
        self._running += 1
        try:
            async with self._lock:
                await self._run(key)
        finally:
            self._running -= 1

    async def _run(self, key: str) -> None:
        job = self._jobs.get(key)
        if job is None:
            return
        self._jobs.pop(key)
        self._handed.discard(key)
        self._by_record.get(job.record, set()).discard(key)
        if self.log.done(key):  # planned again while it ran (its record changed meanwhile)
            return
        now = self.clock()
        try:
            with self.batch():
                outcome = await job.run(now)
                self.log.mark(key, job.record, job.at, outcome, now)
        except StorageError as exc:  # nothing of it was kept: it runs again later
            log.warning(
                "job %s could not be saved (%s); trying again in %s", key, exc, self.retry_after
            )
            self._plan(replace(job, at=now + self.retry_after), self._offset())
            return
        except Exception:  # a job must never kill the scheduler; try again later
            log.exception("job %s failed; trying again in %s", key, self.retry_after)
            self._plan(replace(job, at=now + self.retry_after), self._offset())
            return
        log.info("job %s (due %s): %s", key, job.at.isoformat(timespec="minutes"), outcome)
        self.replan(job.record, now)

    def start(self) -> int:
        """Rebuild from the store and start firing; returns the number of pending jobs."""
        count = self.rebuild()
        self._aps.start()
        return count

    def shutdown(self) -> None:
        if self._aps.running:
            self._aps.shutdown(wait=False)

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until every job due by the bot's clock has run (console `:clock`, tests)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            await asyncio.sleep(0.005)
            now = self.clock()
            if self._running == 0 and not any(j.at <= now for j in self._jobs.values()):
                return
        raise TimeoutError("scheduled jobs did not finish in time")
