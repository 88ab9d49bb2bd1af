"""What scheduled jobs need, built without the FAQ, and the job sources built on it.

`yishiting schedules list` builds only this (no FAQ, no jieba); `bot.wiring` builds the
rest of the bot on top of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.broadcast.broadcasts import Broadcasts
from bot.broadcast.jobs import BroadcastJobs
from bot.clock import Clock, zone
from bot.compounds import Compounds
from bot.config import Settings
from bot.desk.cards import Cards
from bot.desk.digest import MorningDigest
from bot.desk.followups import TicketFollowups
from bot.desk.repo import TicketRepo
from bot.desk.sla import Sla
from bot.desk.summary import WeeklySummary
from bot.desk.updates import StaffUpdates
from bot.dialogue.engine import DialogueEngine
from bot.evening.booking import Appointments
from bot.evening.jobs import EveningJobs
from bot.i18n import Translator
from bot.roles import Roles
from bot.schedule.book import ScheduleBook
from bot.schedule.holidays import CoverageNotice
from bot.schedule.jobs import JobSource
from bot.schedule.worktime import WorkTime
from bot.store.chats import ChatStates
from bot.store.folder import Store
from bot.store.outbox import Dispatch


@dataclass
class Scheduling:
    """What scheduled jobs need: the desk's cards and SLA, bookings, broadcasts, who is who.

    None of it needs the FAQ, so `schedules list` builds only this.
    """

    settings: Settings
    store: Store
    clock: Clock
    translate: Translator
    worktime: WorkTime
    schedules: ScheduleBook
    roles: Roles
    tickets: TicketRepo
    cards: Cards
    sla: Sla
    appointments: Appointments
    broadcasts: Broadcasts
    compounds: Compounds
    dialogues: DialogueEngine


def build_scheduling(
    settings: Settings, store: Store, clock: Clock, schedules: ScheduleBook
) -> Scheduling:
    translate = Translator()
    worktime = WorkTime(settings.work, zone(settings.timezone), schedules.holidays)
    roles = Roles(settings, store.people)
    compounds = Compounds(settings.compounds, settings.compound_aliases)
    tickets = store.repo(TicketRepo)
    dialogues = DialogueEngine(
        repo=store.dialogues,
        translate=translate,
        clock=clock,
        timeout=timedelta(minutes=settings.dialogue_timeout_minutes),
    )
    appointments = Appointments(
        settings=settings,
        store=store,
        service=schedules.evening,
        worktime=worktime,
        translate=translate,
        clock=clock,
        engine=dialogues,
    )
    broadcasts = Broadcasts(
        settings=settings,
        store=store,
        book=schedules,
        translate=translate,
        clock=clock,
        admins=roles.admin_addresses,
        worktime=worktime,
        compounds=compounds,
        engine=dialogues,
    )
    return Scheduling(
        settings=settings,
        store=store,
        clock=clock,
        translate=translate,
        worktime=worktime,
        schedules=schedules,
        roles=roles,
        tickets=tickets,
        cards=Cards(
            settings=settings,
            tickets=tickets,
            translate=translate,
            clock=clock,
            chats=store.repo(ChatStates),
        ),
        sla=Sla(settings.followups, worktime),
        appointments=appointments,
        broadcasts=broadcasts,
        compounds=compounds,
        dialogues=dialogues,
    )


def job_sources(s: Scheduling, dispatch: Dispatch) -> list[JobSource]:
    """Everything with scheduled jobs, sending through `dispatch` (the app's router)."""
    followups = TicketFollowups(
        settings=s.settings,
        store=s.store,
        cards=s.cards,
        updates=StaffUpdates(settings=s.settings, cards=s.cards, translate=s.translate),
        worktime=s.worktime,
        translate=s.translate,
        dispatch=dispatch,
        admins=s.roles.admin_addresses,
    )
    digest = MorningDigest(
        settings=s.settings,
        store=s.store,
        sla=s.sla,
        worktime=s.worktime,
        translate=s.translate,
        dispatch=dispatch,
        bookings_tonight=s.appointments.count_on,
    )
    coverage = CoverageNotice(
        calendar=s.worktime.calendar,
        store=s.store,
        tz=s.worktime.tz,
        language=s.settings.language,
        translate=s.translate,
        dispatch=dispatch,
        admins=s.roles.admin_addresses,
    )
    summary = WeeklySummary(
        settings=s.settings,
        store=s.store,
        worktime=s.worktime,
        translate=s.translate,
        dispatch=dispatch,
        admins=s.roles.admin_addresses,
    )
    sources: list[JobSource] = [
        followups,
        digest,
        summary,
        BroadcastJobs(s.broadcasts, dispatch),
        coverage,
    ]
    if s.schedules.evening is not None:
        evening = EveningJobs(
            appointments=s.appointments,
            service=s.schedules.evening,
            settings=s.settings,
            store=s.store,
            translate=s.translate,
            dispatch=dispatch,
            groups=s.broadcasts.known_groups,
            networks=sorted(s.broadcasts.networks()),
        )
        sources += [evening, evening.days]
    return sources
