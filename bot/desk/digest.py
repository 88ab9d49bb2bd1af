"""The staff's morning digest: new, overdue, reopened and due-today tickets on working days."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from functools import partial

from bot.config import Settings
from bot.desk.repo import TicketRepo
from bot.desk.sla import Sla
from bot.desk.tickets import Status
from bot.i18n import Translator
from bot.models import Address, Outgoing
from bot.schedule.jobs import Job, Outcome
from bot.schedule.recurring import RecurringJobs, clock_time
from bot.schedule.worktime import WorkTime
from bot.store.folder import Store
from bot.store.outbox import Dispatch


class MorningDigest(RecurringJobs):
    """Record "digest:daily": each working morning the staff rooms get new, overdue, reopened
    and due-today tickets (and tonight's evening-service bookings, when there are any)."""

    prefix = "digest"
    record = "digest:daily"

    def __init__(
        self,
        *,
        settings: Settings,
        store: Store,
        sla: Sla,
        worktime: WorkTime,
        translate: Translator,
        dispatch: Dispatch,
        bookings_tonight: Callable[[date], int],
    ) -> None:
        self.settings = settings
        self.store = store
        self.sla = sla
        self.worktime = worktime
        self.t = translate
        self.dispatch = dispatch
        self.bookings_tonight = bookings_tonight
        self.at = clock_time(settings.followups.digest_at)

    def occurrences(self, after: datetime) -> Iterator[datetime]:
        day = after.astimezone(self.worktime.tz).date()
        for _ in range(3660):
            when = datetime.combine(day, self.at, tzinfo=self.worktime.tz)
            if when > after and self.worktime.is_workday(day):
                yield when
            day += timedelta(days=1)

    def job(self, due: datetime, since: datetime) -> Job:
        key = f"digest:{due.date().isoformat()}"
        run = partial(self._send, key, since)
        return Job(key, self.record, due, run, "morning digest to the staff rooms")

    async def _send(self, key: str, since: datetime, now: datetime) -> Outcome:
        lang = self.settings.language
        active = self.store.repo(TicketRepo).active()
        new = [t for t in active if datetime.fromisoformat(t.created) >= since]
        reopened = [t for t in active if t.status is Status.REOPENED]
        deadlines = [(t, self.sla.deadline(t)) for t in active]
        overdue = [t for t, d in deadlines if d is not None and d <= now]
        due_today = [
            t for t, d in deadlines if d is not None and now < d and d.date() == now.date()
        ]
        lines = [self.t(lang, "digest_header", date=now.strftime("%m-%d"))]
        for line_key, tickets in (
            ("digest_new", new),
            ("digest_overdue", overdue),
            ("digest_reopened", reopened),
            ("digest_due_today", due_today),
        ):
            numbers = " ".join(f"#{t.number}" for t in tickets[:15])
            more = "…" if len(tickets) > 15 else ""
            lines.append(self.t(lang, line_key, count=len(tickets), numbers=numbers + more))
        tonight = self.bookings_tonight(now.date())
        if tonight:
            lines.append(self.t(lang, "digest_bookings", count=tonight))
        if not (new or overdue or reopened or due_today or tonight):
            return "empty"  # nothing to report: no message
        text = "\n".join(lines)
        rooms = {room.chat: room for room in self.settings.staff_rooms}
        outs = [Outgoing(Address.parse(chat), text) for chat in rooms]
        await self.dispatch(key, outs)
        return "sent"
