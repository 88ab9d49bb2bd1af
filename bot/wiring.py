"""Wiring: builds every service and job source from the settings, the store and the clock.

The one place where the bot's parts are constructed and connected; everything else gets
its dependencies passed in. `build_core` is what `yishiting run` and the tests start;
its scheduling half is `bot.scheduling`, which `schedules list` uses alone.  The sentence
model is loaded here too (`language_model`), once per process, and handed to what uses it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.chats import ChatNews
from bot.clock import Clock, zone
from bot.commands import parse_command
from bot.config import Settings
from bot.core import Conversation
from bot.desk.intake import Intake
from bot.desk.lifecycle import Lifecycle
from bot.desk.likeness import ReportVectors
from bot.desk.report_flow import Reports
from bot.desk.residents import ResidentDesk
from bot.desk.staff import StaffDesk
from bot.desk.threads import Threads
from bot.desk.views import TicketViews
from bot.faq.answers import FaqAnswers
from bot.faq.feedback import FaqSuggestions, QuestionLog, Ratings
from bot.faq.meaning import FailureStreak, ModelStatus, RecentQueries, load_model
from bot.faq.smalltalk import SmallTalk, bundled_phrases
from bot.faq.source import FaqSource
from bot.faq.text import TextAnalyzer
from bot.roles import Roles
from bot.schedule.book import ScheduleBook, load_schedules
from bot.schedule.jobs import JobSource
from bot.schedule.worktime import WorkTime
from bot.scheduling import Scheduling, build_scheduling, job_sources
from bot.store.chats import ChatStates
from bot.store.folder import Store
from bot.store.outbox import Dispatch, Outbox
from bot.weblogin.command import WebLinkCommand
from bot.weblogin.links import LoginLinks
from bot.weblogin.signing import Signer, load_key

log = logging.getLogger(__name__)

_WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


@dataclass
class Core:
    """The channel-independent half of the bot: the conversation and what it is built on."""

    conversation: Conversation
    faq: FaqSource
    store: Store
    outbox: Outbox
    scheduling: Scheduling
    model: ModelStatus

    reports: ReportVectors
    ahead: FailureStreak = field(
        default_factory=lambda: FailureStreak(
            log,
            "embedding messages ahead fails; they are matched without it",
            "embedding messages ahead works again after",
        )
    )

    def read_ahead(self, text: str) -> None:
        """Embed a message with the sentence model before the conversation handles it, so
        that handling it finds the vector ready (`RecentQueries`).  Slow (10-30 ms): the App
        calls it in a worker thread, never on the event loop."""
        model = self.model.model
        if model is None:
            return
        parsed = parse_command(text)
        if parsed is not None:  # a command's words only when they are compared by meaning
            found = self.conversation.commands.find(parsed.name)
            text = parsed.args if found is not None and found[0].by_meaning else ""
        if not text.strip():
            return
        try:
            model.embed([text.strip()], "query")
        except Exception as exc:  # the second opinion must never cost the message
            self.ahead.failed(exc)
            return
        self.ahead.worked()

    def embed_waiting(self) -> None:
        """Embed the open tickets' texts "me too" asked for and did not have (after a
        restart: up to a few hundred). Slow: the App's background duty calls it in a worker
        thread, so no message waits for it."""
        try:
            self.reports.embed_waiting()
        except Exception:  # the second opinion must never stop the background duty
            log.exception("embedding tickets' texts failed; they are compared by words")

    @property
    def worktime(self) -> WorkTime:
        return self.scheduling.worktime

    @property
    def roles(self) -> Roles:
        return self.scheduling.roles

    def job_sources(self, dispatch: Dispatch) -> list[JobSource]:
        return job_sources(self.scheduling, dispatch)

    def close(self) -> None:
        self.store.close()


def placeholder_values(settings: Settings, book: ScheduleBook) -> dict[str, str]:
    """The text of every FAQ placeholder (bot/faq/placeholders.py) for this deployment, from
    the settings and schedules/ (evening ones only when there is an evening service)."""
    found = {"office_hours": "、".join(p.replace("-", "–") for p in settings.work.office_hours)}
    evening = book.evening
    if evening is not None:
        found.update(
            evening_days="、".join(_WEEKDAYS[d] for d in sorted(evening.weekdays)),
            evening_hours=f"{evening.slots[0].start:%H:%M}–{evening.slots[-1].end:%H:%M}",
            evening_slots="、".join(f"{s.start:%H:%M}" for s in evening.slots),
            evening_place=evening.place,
            booking_days_ahead=str(evening.booking_days_ahead),
        )
    return found


def language_model(settings: Settings) -> ModelStatus:
    """The sentence model the settings ask for, loaded, or why the bot runs without one."""
    return load_model(bool(settings.match_settings.sentence_model))


def build_core(
    settings: Settings,
    clock: Clock | None = None,
    analyzer: TextAnalyzer | None = None,
    model: ModelStatus | None = None,
) -> Core:
    """Load the FAQ and schedules first (cheap to fail), then take the data folder.

    `model` is a sentence model loaded before (tests share one); by default it is loaded
    here.  Either way this core remembers the vectors of its recent messages (`read_ahead`)."""
    tz = zone(settings.timezone)
    if clock is None:
        clock = lambda: datetime.now(tz)  # noqa: E731 - the system clock
    schedules = load_schedules(settings.schedules_path, tz)
    analyzers: Callable[[], TextAnalyzer] = TextAnalyzer if analyzer is None else lambda: analyzer
    loaded = model if model is not None else language_model(settings)
    if loaded.model is not None and settings.match_settings.sentence_model:
        loaded = ModelStatus(RecentQueries(loaded.model), loaded.reason)
    faq = FaqSource(settings.faq_path, settings.match_settings, analyzers, status=loaded)
    store = Store(settings.data_dir)
    s = build_scheduling(settings, store, clock, schedules)
    translate = s.translate
    lifecycle = Lifecycle(tickets=s.tickets, translate=translate, clock=clock)
    views = TicketViews(translate)
    report_vectors = ReportVectors(faq.status.model)
    intake = Intake(
        settings=settings,
        tickets=s.tickets,
        lifecycle=lifecycle,
        cards=s.cards,
        compounds=s.compounds,
        faq=faq,
        translate=translate,
        clock=clock,
        vectors=report_vectors,
    )
    answers = FaqAnswers(
        faq=faq,
        questions=store.repo(QuestionLog),
        ratings=store.repo(Ratings),
        suggestions=store.repo(FaqSuggestions),
        pending=store.dialogues,
        escalate=intake.open_question,
        small_talk=SmallTalk(bundled_phrases()),
        placeholders=placeholder_values(settings, schedules),
        translate=translate,
        clock=clock,
    )
    staff = StaffDesk(
        settings=settings,
        tickets=s.tickets,
        people=store.people,
        suggestions=store.repo(FaqSuggestions),
        lifecycle=lifecycle,
        cards=s.cards,
        views=views,
        sla=s.sla,
        faq=faq,
        answers=answers,
        translate=translate,
        clock=clock,
    )
    residents = ResidentDesk(
        settings=settings,
        tickets=s.tickets,
        lifecycle=lifecycle,
        cards=s.cards,
        views=views,
        translate=translate,
    )
    reports = Reports(engine=s.dialogues, intake=intake, translate=translate)
    threads = Threads(
        tickets=s.tickets,
        lifecycle=lifecycle,
        pending=store.dialogues,
        ask_faq=answers.on_question,
        small_talk=answers.is_small_talk,
        translate=translate,
        clock=clock,
    )
    web_links = WebLinkCommand(
        settings=settings,
        links=lambda: LoginLinks(Signer(load_key(settings.data_dir)), clock),
        translate=translate,
    )
    conversation = Conversation(
        settings=settings,
        roles=s.roles,
        people=store.people,
        groups=store.groups,
        dialogues=s.dialogues,
        waiting=store.dialogues,
        translate=translate,
        clock=clock,
        answers=answers,
        cards=s.cards,
        staff=staff,
        reports=reports,
        threads=threads,
        intake=intake,
        appointments=s.appointments,
        broadcasts=s.broadcasts,
        chats=ChatNews(
            states=store.repo(ChatStates),
            tickets=s.tickets,
            groups=store.groups,
            outbox=store.outbox,
            clock=clock,
        ),
        capabilities=[
            answers,
            residents,
            staff,
            reports,
            threads,
            s.appointments,
            s.broadcasts,
            s.dialogues,
            web_links,
        ],
    )
    retry = timedelta(seconds=settings.outbox_retry_seconds)
    outbox = Outbox(store.outbox, clock, retry_after=retry)
    return Core(conversation, faq, store, outbox, s, faq.status, report_vectors)
