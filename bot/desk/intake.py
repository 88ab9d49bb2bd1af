"""Intake: residents' reports and questions become tickets, or a "me too" on an open one."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.compounds import Compounds
from bot.config import Settings
from bot.desk.cards import Cards
from bot.desk.lifecycle import Lifecycle
from bot.desk.likeness import ReportVectors, same_problem, same_words
from bot.desk.repo import TicketRepo
from bot.desk.tickets import ACTIVE, Reporter, Ticket
from bot.faq.source import FaqSource
from bot.i18n import Translator
from bot.models import Address, Outgoing
from bot.turn import Turn

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewReport:
    """What a resident reported, before it becomes a ticket."""

    kind: str
    category: str
    compound: str
    text: str
    attachments: tuple[str, ...] = ()
    location: str = ""  # the building, unit … typed with the compound


class Intake:
    """Creates tickets (stored durably, then carded to the staff rooms) and joins reporters."""

    def __init__(
        self,
        *,
        settings: Settings,
        tickets: TicketRepo,
        lifecycle: Lifecycle,
        cards: Cards,
        compounds: Compounds,
        faq: FaqSource,
        translate: Translator,
        clock: Callable[[], datetime],
        vectors: ReportVectors | None = None,
    ) -> None:
        self.settings = settings
        self.compounds = compounds
        self.tickets = tickets
        self.lifecycle = lifecycle
        self.cards = cards
        self.faq = faq
        self.t = translate
        self.clock = clock
        self.vectors = vectors or ReportVectors(None)

    def compound_of(self, turn: Turn) -> str:
        """The compound a group chat belongs to (config), else its title, else ''."""
        room = str(turn.msg.chat.room)
        chats = self.cards.chats
        for key in (room, *chats.former_keys(room)):  # the settings may name its old id
            configured = self.settings.groups.get(key)
            if configured:
                return configured
        return self.compounds.name_of(turn.msg.chat_title) if not turn.private else ""

    def guess_category(self, text: str) -> str:
        best, hits = self.settings.categories[-1].name, 0
        for category in self.settings.categories:
            count = sum(1 for k in category.keywords if k in text)
            if count > hits:
                best, hits = category.name, count
        return best

    def similar_open(self, report: NewReport, origin: Address) -> Ticket | None:
        """An active report of the same category that reads like this one (bot/desk/likeness.py):
        from the same chat and compound by its words or its meaning, from another chat only
        when the sentence model finds the meanings very close (the main-road light two
        compounds' groups both see)."""
        if not report.compound:
            return None
        tokens = self.faq.matcher.analyzer.tokens
        words = " ".join(tokens(report.text))
        best: tuple[float, Ticket | None] = (0.0, None)
        everywhere = self.vectors.model is not None
        for ticket in self.tickets.me_too_candidates(report.compound, report.category, everywhere):
            same_chat = ticket.origin == str(origin) and ticket.compound == report.compound
            meaning = self.vectors.similarity(report.text, ticket.text)
            lexical = same_words(words, " ".join(tokens(ticket.text))) if same_chat else 0.0
            if not same_problem(lexical, meaning, same_chat):
                continue
            score = max(lexical / 100, meaning or 0.0)
            if score > best[0]:
                best = (score, ticket)
        return best[1]

    def create(
        self, turn: Turn, report: NewReport, room: str = ""
    ) -> tuple[Ticket, list[Outgoing]]:
        """Store the ticket durably, then post its card to the staff rooms (or `room`)."""
        now = self.clock()
        sender = turn.msg.sender
        ticket = Ticket(
            number=0,
            kind=report.kind,
            category=report.category,
            compound=report.compound,
            location=report.location,
            text=report.text,
            attachments=list(report.attachments),
            reporters=[
                Reporter(sender.key, turn.sender_name, sender.channel, sender.user_id, turn.lang)
            ],
            origin=str(turn.msg.chat),
            created=now.isoformat(timespec="seconds"),
            room=room,
        )
        ticket.apply(
            "open",
            at=now,
            who=sender.key,
            name=turn.sender_name,
            via=sender.channel,
            text=report.text,
        )
        self.tickets.create(ticket)
        log.info(
            "ticket #%d (%s/%s) opened by %s",
            ticket.number,
            report.kind,
            report.category,
            sender.key,
        )
        return ticket, self.cards.cards(ticket)

    def join(self, turn: Turn, ticket: Ticket) -> list[Outgoing]:
        """'Me too': add the sender as a reporter of an existing ticket."""
        if not ticket.is_reporter(turn.sender_key):
            sender = turn.msg.sender
            ticket.reporters.append(
                Reporter(sender.key, turn.sender_name, sender.channel, sender.user_id, turn.lang)
            )
            self.lifecycle.step(turn, ticket, "metoo")
        return [turn.reply(self.t(turn.lang, "report_metoo_joined", number=ticket.number))]

    def add_detail(self, turn: Turn, number: int, text: str, attachments: tuple[str, ...]) -> None:
        ticket = self.tickets.get(number)
        if ticket is None or ticket.status not in ACTIVE:
            return
        ticket.attachments.extend(attachments)
        self.lifecycle.step(turn, ticket, "detail", text, list(attachments))

    def open_request(self, turn: Turn, text: str, category: str, room: str) -> list[Outgoing]:
        """A private request an FAQ entry offers ('维权站'): a ticket for the staff of
        `category` (or of `room`), who contact the resident one to one."""
        report = NewReport("question", category or self.guess_category(text), "", text)
        created, cards = self.create(turn, report, room)
        reply = turn.reply(self.t(turn.lang, "faq_action_ticket", number=created.number))
        return [reply, *cards]

    def open_voice(self, turn: Turn) -> list[Outgoing]:
        """A voice message outside any ticket: a question for the staff, with the audio."""
        text = self.t(self.settings.language, "voice_ticket_text")
        category = self.settings.categories[-1].name  # the catch-all: staff listen and sort
        report = NewReport("question", category, self.compound_of(turn), text, turn.msg.attachments)
        ticket, cards = self.create(turn, report)
        return [turn.reply(self.t(turn.lang, "voice_ticket", number=ticket.number)), *cards]

    def open_question(self, turn: Turn, text: str, category: str) -> list[Outgoing]:
        """A question the FAQ could not settle, handed to the staff as a ticket."""
        ticket, cards = self.create(
            turn, NewReport("question", category, self.compound_of(turn), text)
        )
        reply = turn.reply(self.t(turn.lang, "question_created", number=ticket.number))
        return [reply, *cards]
