"""Broadcast jobs: each scheduled broadcast fires on time, or is reported as missed."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from functools import partial
from itertools import islice

from bot.broadcast.broadcasts import Broadcasts
from bot.broadcast.plan import DONE, SCHEDULED, BroadcastRecords, Plan
from bot.models import Button, Outgoing
from bot.schedule.joblog import JobLog
from bot.schedule.jobs import Job, Outcome, cron_occurrences, next_due
from bot.schedule.targets import TargetError
from bot.store.outbox import Dispatch

log = logging.getLogger(__name__)


class BroadcastJobs:
    """Jobs of records "broadcast:{id}": one per occurrence, "broadcast:{id}:{time}"."""

    prefix = "broadcast"

    def __init__(self, broadcasts: Broadcasts, dispatch: Dispatch) -> None:
        self.broadcasts = broadcasts
        self.store = broadcasts.store
        self.dispatch = dispatch
        self.lang = broadcasts.settings.language

    def all_jobs(self, now: datetime) -> Iterator[Job]:
        ids = [d.id for d in self.broadcasts.book.broadcasts]
        ids += [str(n) for n, _ in self.store.repo(BroadcastRecords).where("status", SCHEDULED)]
        for broadcast_id in ids:
            yield from self.jobs_for(f"{self.prefix}:{broadcast_id}", now)

    def changed_records(self) -> list[str]:
        return [
            f"{self.prefix}:{n}" for n in sorted(self.store.repo(BroadcastRecords).take_changed())
        ]

    def jobs_for(self, record: str, now: datetime) -> list[Job]:
        plan = self.broadcasts.plan(record.partition(":")[2])
        if plan is None:
            return []
        due: datetime | None
        if plan.cron is not None:
            since = self.store.repo(JobLog).since(record, now).astimezone(now.tzinfo)
            due = next_due(_cron_times(plan.cron, since), now)
        elif self.store.repo(JobLog).last_due(record) is not None:
            due = None  # a one-off that ran
        else:
            due = plan.at
            first_seen = self.store.repo(JobLog).first_seen(record, now)
            if (
                due is not None
                and not plan.id.isdigit()
                and due < first_seen - self.broadcasts.grace
            ):
                log.info("broadcast %s: its time had passed when it was added; skipped", plan.id)
                due = None
        return [self._job(record, plan, due)] if due is not None else []

    def preview(self, now: datetime, count: int) -> list[Job]:
        jobs = []
        for job in self.all_jobs(now):
            plan = self.broadcasts.plan(job.record.partition(":")[2])
            if plan is not None and plan.cron is not None:
                times = islice(_cron_times(plan.cron, now), count)
                jobs += [self._job(job.record, plan, due) for due in times]
            else:
                jobs.append(job)
        return jobs

    def _job(self, record: str, plan: Plan, due: datetime) -> Job:
        key = f"{self.prefix}:{plan.id}:{due.strftime('%Y-%m-%dT%H:%M')}"
        label = f"broadcast {plan.id} to {','.join(plan.targets)}"
        return Job(key, record, due, partial(self._fire, plan.id, key, due), label)

    async def _fire(self, broadcast_id: str, key: str, due: datetime, now: datetime) -> Outcome:
        plan = self.broadcasts.plan(broadcast_id)  # as it is now: it may have been cancelled
        if plan is None:
            return "skipped"
        started = bool(self.store.outbox.with_prefix(f"{key}|"))  # a crash mid-broadcast
        if now - due > self.broadcasts.grace and not started:
            await self._missed(plan, key, due)
            outcome = "missed"
        else:
            outcome = await self._send(plan, key)
        self._finish(plan)
        return outcome

    async def _missed(self, plan: Plan, key: str, due: datetime) -> None:
        log.warning("broadcast %s due %s missed", plan.id, due)
        text = self.broadcasts.t(
            self.lang,
            "broadcast_missed",
            id=plan.id,
            due=due.strftime("%m-%d %H:%M"),
            text=plan.text_for(self.lang, self.lang)[:60],
        )
        # the occurrence without the "broadcast:" prefix: Telegram buttons carry 64 bytes
        occurrence = key.removeprefix(f"{self.prefix}:")
        button = Button(self.broadcasts.t(self.lang, "broadcast_send_now"), f"bc:late:{occurrence}")
        admins = self.broadcasts.report_to(plan)
        await self.dispatch(f"{key}:missed", [Outgoing(a, text, (button,)) for a in admins])

    async def _send(self, plan: Plan, key: str) -> Outcome:
        admins = self.broadcasts.report_to(plan)
        try:
            chats = self.broadcasts.resolve(plan.targets)
        except TargetError as exc:
            key_name, params = self.broadcasts.target_problem(exc)
            text = self.broadcasts.t(self.lang, key_name, **params)
            await self.dispatch(f"{key}:report", [Outgoing(a, text) for a in admins])
            return "failed"
        text = plan.text_for(self.lang, self.lang)
        deliveries = await self.dispatch(
            key, [Outgoing(chat, text) for chat in chats], urgent=plan.urgent
        )
        report = self.broadcasts.report(self.lang, plan.id, deliveries)
        await self.dispatch(f"{key}:report", [Outgoing(a, report) for a in admins])
        return "sent"

    def _finish(self, plan: Plan) -> None:
        """An admin's one-off broadcast is done once it ran (a cancelled one stays cancelled)."""
        if plan.id.isdigit() and plan.cron is None:
            doc = self.store.repo(BroadcastRecords).get(int(plan.id))
            if doc is not None and doc["status"] == SCHEDULED:
                doc["status"] = DONE
                self.store.repo(BroadcastRecords).save(int(plan.id), doc)


def _cron_times(expr: str, since: datetime) -> Iterator[datetime]:
    after = since
    while True:
        batch = cron_occurrences(expr, after, 50)
        if not batch:
            return
        yield from batch
        after = batch[-1]
