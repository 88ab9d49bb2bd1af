"""Evening-service jobs: each booking's reminder, and the roster and group notice of a service day."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from functools import partial
from itertools import islice

from bot.config import Settings
from bot.evening.booking import BOOKED, Appointments, Booking, Bookings, hm
from bot.i18n import Translator
from bot.models import Address, Outgoing
from bot.schedule.book import EveningService
from bot.schedule.joblog import JobLog
from bot.schedule.jobs import Job, Outcome, next_due
from bot.schedule.targets import TargetError, resolve_targets
from bot.store.folder import Store
from bot.store.outbox import Dispatch

log = logging.getLogger(__name__)


class EveningJobs:
    """Jobs of the evening service: each booking's reminder ("booking:N"), and on service
    days the staff roster and the notice to the compound groups ("evening:roster|notice")."""

    prefix = "booking"

    def __init__(
        self,
        *,
        appointments: Appointments,
        service: EveningService,
        settings: Settings,
        store: Store,
        translate: Translator,
        dispatch: Dispatch,
        groups: Callable[[], Mapping[str, str]],
        networks: Sequence[str],
    ) -> None:
        self.appointments = appointments
        self.service = service
        self.settings = settings
        self.store = store
        self.t = translate
        self.dispatch = dispatch
        self.groups = groups
        self.networks = networks
        self.days = EveningDays(self)

    def all_jobs(self, now: datetime) -> Iterator[Job]:
        today = now.date().isoformat()
        for i, doc in self.store.repo(Bookings).where("status", BOOKED):
            if doc["date"] >= today:
                yield from self._reminders(Booking.from_doc(i, doc))

    def changed_records(self) -> list[str]:
        return [f"booking:{i}" for i in sorted(self.store.repo(Bookings).take_changed())]

    def preview(self, now: datetime, count: int) -> list[Job]:
        return list(self.all_jobs(now))

    def jobs_for(self, record: str, now: datetime) -> list[Job]:
        booking = self.appointments.booking(int(record.partition(":")[2]))
        return list(self._reminders(booking)) if booking is not None else []

    def _reminders(self, booking: Booking) -> Iterator[Job]:
        slot = self.service.slot(booking.slot)
        if booking.status != BOOKED or slot is None:
            return
        start = self.appointments.starts_at(date.fromisoformat(booking.date), slot)
        remind_at = start - self.service.reminders.resident_before
        if datetime.fromisoformat(booking.created) >= remind_at:
            return  # booked within the reminder's lead time: the confirmation is enough
        key = f"reminder:{booking.id}:day"
        yield Job(
            key,
            f"booking:{booking.id}",
            remind_at,
            partial(self._remind, booking.id, key),
            f"remind {booking.name} of booking {booking.id} ({booking.date} {hm(slot.start)})",
        )

    async def _remind(self, booking_id: int, key: str, now: datetime) -> Outcome:
        booking = self.appointments.booking(booking_id)
        slot = self.service.slot(booking.slot) if booking is not None else None
        if booking is None or slot is None or booking.status != BOOKED:
            return "skipped"
        start = self.appointments.starts_at(date.fromisoformat(booking.date), slot)
        if now >= start:
            log.warning("reminder for booking %d dropped: the appointment has begun", booking_id)
            return "dropped"
        text = self.t(
            booking.lang,
            "book_reminder",
            id=booking.id,
            start=hm(slot.start),
            place=self.service.place,
            need=booking.service,
        )
        await self.dispatch(key, [Outgoing(booking.address, text)])
        return "sent"

    # ---- service days -------------------------------------------------------------------------

    def service_times(self, after: datetime, at: time) -> Iterator[datetime]:
        tz = self.appointments.worktime.tz  # not `after`'s fixed offset: zones may shift
        day = after.astimezone(tz).date()
        for _ in range(3660):
            when = datetime.combine(day, at, tzinfo=tz)
            if when > after and self.appointments.runs_on(day):
                yield when
            day += timedelta(days=1)

    async def send_roster(self, key: str, due: datetime, now: datetime) -> Outcome:
        day = due.date()
        if now >= datetime.combine(day, self.service.slots[-1].end, tzinfo=due.tzinfo):
            return "dropped"
        lang = self.settings.language
        text, buttons = self.appointments.roster(lang, day)
        rooms = {room.chat for room in self.settings.staff_rooms}
        await self.dispatch(key, [Outgoing(Address.parse(c), text, buttons) for c in rooms])
        return "sent"

    async def send_notice(self, key: str, due: datetime, now: datetime) -> Outcome:
        day = due.date()
        if now >= datetime.combine(day, self.service.slots[0].start, tzinfo=due.tzinfo):
            return "dropped"
        try:
            chats = resolve_targets(
                self.service.group_notice_targets,
                self.groups(),
                self.settings.compound_tags,
                self.networks,
            )
        except TargetError as exc:
            log.warning("evening-service notice not sent: %s", exc)
            return "failed"
        lang = self.settings.language
        slots = self.t(lang, "list_separator").join(
            self.t(lang, "book_slot_button", start=hm(s.start), free=free)
            for s in self.service.slots
            if (free := self.appointments.free_places(day, s)) > 0
        )
        text = self.service.group_notice_for(lang).format(
            date=f"{day:%m-%d}",
            weekday=self.t(lang, f"weekday_{day.weekday()}"),
            place=self.service.place,
            slots=slots or self.t(lang, "book_full_short"),
        )
        await self.dispatch(key, [Outgoing(chat, text) for chat in chats])
        return "sent"


class EveningDays:
    """Records "evening:roster" and "evening:notice": once on each service day."""

    prefix = "evening"

    def __init__(self, jobs: EveningJobs) -> None:
        self.jobs = jobs

    def all_jobs(self, now: datetime) -> list[Job]:
        return [j for r in ("evening:roster", "evening:notice") for j in self.jobs_for(r, now)]

    def changed_records(self) -> list[str]:
        return []

    def _time(self, record: str) -> time | None:
        reminders = self.jobs.service.reminders
        kind = record.partition(":")[2]
        return reminders.staff_roster_at if kind == "roster" else reminders.group_notice_at

    def jobs_for(self, record: str, now: datetime) -> list[Job]:
        at = self._time(record)
        if at is None:
            return []
        since = self.jobs.store.repo(JobLog).since(record, now)
        due = next_due(self.jobs.service_times(since, at), now)
        return [self._job(record, due)] if due is not None else []

    def preview(self, now: datetime, count: int) -> list[Job]:
        jobs = []
        for record in ("evening:roster", "evening:notice"):
            at = self._time(record)
            if at is not None:
                times = islice(self.jobs.service_times(now, at), count)
                jobs += [self._job(record, due) for due in times]
        return jobs

    def _job(self, record: str, due: datetime) -> Job:
        kind = record.partition(":")[2]
        run = self.jobs.send_roster if kind == "roster" else self.jobs.send_notice
        key = f"evening:{due.date().isoformat()}:{kind}"
        label = "staff roster" if kind == "roster" else "notice to the compound groups"
        return Job(key, record, due, partial(run, key, due), f"evening service: {label}")
