"""Ticket follow-ups: unclaimed, escalated, stale and "问题解决了吗？" jobs, and the morning digest."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator
from datetime import datetime, timedelta
from functools import partial

from bot.config import Settings
from bot.desk.cards import Cards
from bot.desk.repo import TicketRepo
from bot.desk.tickets import ACTIVE, Event, Status, Ticket
from bot.desk.updates import StaffUpdates
from bot.i18n import Translator
from bot.models import Address, Button, Outgoing
from bot.schedule.joblog import JobLog
from bot.schedule.jobs import Job, Outcome
from bot.schedule.worktime import WorkTime
from bot.store.folder import Store
from bot.store.outbox import Dispatch

log = logging.getLogger(__name__)

SYSTEM = "system"
FOLLOWED = frozenset({*ACTIVE, Status.RESOLVED})


def _last_event(ticket: Ticket, actions: Iterable[str]) -> tuple[int, Event]:
    wanted = set(actions)
    for index in range(len(ticket.history) - 1, -1, -1):
        if ticket.history[index].action in wanted:
            return index, ticket.history[index]
    return 0, ticket.history[0]


class TicketFollowups:
    """Jobs for record "ticket:N", derived from the ticket's status and history alone.

    A job key carries the index of the history event it counts from (the last open, reopen
    or resolve), so a reopened ticket gets fresh follow-ups and old ones are never repeated.
    """

    prefix = "ticket"

    def __init__(
        self,
        *,
        settings: Settings,
        store: Store,
        cards: Cards,
        updates: StaffUpdates,
        worktime: WorkTime,
        translate: Translator,
        dispatch: Dispatch,
        admins: Callable[[], list[Address]],
    ) -> None:
        self.settings = settings
        self.config = settings.followups
        self.store = store
        self.cards = cards
        self.updates = updates
        self.worktime = worktime
        self.t = translate
        self.dispatch = dispatch
        self.admins = admins

    # ---- planning -------------------------------------------------------------------------

    def all_jobs(self, now: datetime) -> Iterator[Job]:
        tickets = self.store.repo(TicketRepo)
        for ticket in tickets.each_in_status(FOLLOWED):
            yield from self._jobs(ticket)
        for ticket in tickets.with_action("message", exclude=FOLLOWED):  # words after closing
            yield from self._jobs(ticket)

    def changed_records(self) -> list[str]:
        return [f"ticket:{n}" for n in sorted(self.store.repo(TicketRepo).take_changed())]

    def preview(self, now: datetime, count: int) -> list[Job]:
        return list(self.all_jobs(now))

    def jobs_for(self, record: str, now: datetime) -> list[Job]:
        ticket = self.store.repo(TicketRepo).get(int(record.partition(":")[2]))
        return list(self._jobs(ticket)) if ticket is not None else []

    def _jobs(self, ticket: Ticket) -> Iterator[Job]:
        n, record = ticket.number, f"ticket:{ticket.number}"

        def job(key: str, at: datetime, run: Callable[..., Awaitable[Outcome]], label: str) -> Job:
            return Job(key, record, at, partial(run, n, key), label)

        told = self.updates.due(ticket)
        if told is not None:
            yield job(
                key=f"followup:{n}:update:{ticket.told}",
                at=told,
                run=self._update,
                label=f"#{n} what the reporters added, to the staff rooms",
            )

        if ticket.status in (Status.OPEN, Status.REOPENED):
            gen, since = _last_event(ticket, ("open", "reopen"))
            done = self.store.repo(JobLog).done
            if done(f"followup:{n}:unclaimed:{gen}") and done(f"followup:{n}:escalate:{gen}"):
                return  # both ran: no working-hours sums for them (most of 50,000 at start)
            start = datetime.fromisoformat(since.at)
            sla = self.config.sla_for(ticket.category)
            yield job(
                key=f"followup:{n}:unclaimed:{gen}",
                at=self.worktime.add_working_hours(start, sla),
                run=self._unclaimed,
                label=f"#{n} unclaimed after {sla:g} working hours: card again to staff",
            )
            yield job(
                key=f"followup:{n}:escalate:{gen}",
                at=self.worktime.add_working_hours(start, 2 * sla),
                run=self._escalate,
                label=f"#{n} still unclaimed after {2 * sla:g} working hours: admins",
            )
        elif ticket.status in (Status.CLAIMED, Status.IN_PROGRESS) and ticket.assignee:
            gen, progressed = ticket.last_progress()
            days = self.config.stale_working_days
            yield job(
                key=f"followup:{n}:stale:{gen}",
                at=self.worktime.add_working_days(datetime.fromisoformat(progressed), days),
                run=self._stale,
                label=f"#{n} no update for {days:g} working days: remind {ticket.assignee_name}",
            )
        elif ticket.status is Status.RESOLVED:
            gen, resolved = _last_event(ticket, ("resolve", "answer"))
            ask = datetime.fromisoformat(resolved.at) + timedelta(
                hours=self.config.confirm_after_hours
            )
            yield job(
                key=f"followup:{n}:confirm:{gen}",
                at=ask,
                run=self._confirm,
                label=f"#{n} ask the reporters whether it is solved",
            )
            yield job(
                key=f"followup:{n}:autoclose:{gen}",
                at=ask + timedelta(days=self.config.autoclose_days),
                run=self._autoclose,
                label=f"#{n} close when the reporters stay silent",
            )

    # ---- running --------------------------------------------------------------------------

    def _still(self, number: int, *statuses: Status) -> Ticket | None:
        ticket = self.store.repo(TicketRepo).get(number)
        return ticket if ticket is not None and ticket.status in statuses else None

    async def _update(self, number: int, key: str, now: datetime) -> Outcome:
        ticket = self.store.repo(TicketRepo).get(number)
        if ticket is None or not key.endswith(f":{ticket.told}") or not ticket.untold():
            return "skipped"
        outs = self.updates.messages(ticket)
        self.updates.mark_told(ticket, now)
        self.store.repo(TicketRepo).save(ticket)
        await self.dispatch(key, outs)
        return "sent"

    async def _unclaimed(self, number: int, key: str, now: datetime) -> Outcome:
        ticket = self._still(number, Status.OPEN, Status.REOPENED)
        if ticket is None:
            return "skipped"
        lang = self.settings.language
        hours = self.config.sla_for(ticket.category)
        header = self.t(lang, "followup_unclaimed", number=number, hours=f"{hours:g}")
        await self.dispatch(key, self.cards.cards(ticket, header))
        return "sent"

    async def _escalate(self, number: int, key: str, now: datetime) -> Outcome:
        ticket = self._still(number, Status.OPEN, Status.REOPENED)
        if ticket is None:
            return "skipped"
        lang = self.settings.language
        text = self.t(
            lang,
            "followup_escalate",
            number=number,
            hours=f"{2 * self.config.sla_for(ticket.category):g}",
            category=ticket.category,
            compound=ticket.compound or self.t(lang, "unknown_compound"),
            text=ticket.text,
        )
        outs = [Outgoing(a, text) for a in self.admins()]
        if not outs:
            log.warning("#%d is overdue but no admin is known (roles.admins, admin_chats)", number)
            return "no recipient"
        await self.dispatch(key, outs)
        return "sent"

    async def _stale(self, number: int, key: str, now: datetime) -> Outcome:
        ticket = self._still(number, Status.CLAIMED, Status.IN_PROGRESS)
        if ticket is None or not key.endswith(f":{len(ticket.history) - 1}") or not ticket.assignee:
            return "skipped"
        lang = self.store.people.language(ticket.assignee) or self.settings.language
        text = self.t(
            lang,
            "followup_stale",
            number=number,
            days=f"{self.config.stale_working_days:g}",
            text=ticket.text,
        )
        await self.dispatch(key, [Outgoing(Address.parse(ticket.assignee), text)])
        return "sent"

    async def _confirm(self, number: int, key: str, now: datetime) -> Outcome:
        ticket = self._still(number, Status.RESOLVED)
        if ticket is None:
            return "skipped"
        outs = [
            Outgoing(
                Address(r.channel, r.chat),
                self.t(r.lang, "followup_confirm", number=number, text=ticket.text[:40]),
                (
                    Button(self.t(r.lang, "followup_confirm_yes"), f"t:fixed:{number}"),
                    Button(self.t(r.lang, "followup_confirm_no"), f"t:notfixed:{number}"),
                ),
            )
            for r in ticket.reporters
        ]
        await self.dispatch(key, outs)
        return "sent"

    async def _autoclose(self, number: int, key: str, now: datetime) -> Outcome:
        ticket = self._still(number, Status.RESOLVED)
        if ticket is None:
            return "skipped"
        ticket.apply("close", at=now, who=SYSTEM, name=SYSTEM, via=SYSTEM, text="auto")
        self.store.repo(TicketRepo).save(ticket)
        return "closed"
