"""The ticket desk: residents' reports and questions, staff actions, relays across networks."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rapidfuzz import fuzz

from bot.commands import Command, Handler, parse_number
from bot.compounds import compound_from_title
from bot.config import Settings
from bot.desk.repo import TicketRepo
from bot.desk.tickets import ACTIVE, Reporter, Status, Ticket
from bot.errors import Localized, UserError
from bot.faq.feedback import FaqSuggestions
from bot.faq.source import FaqSource
from bot.i18n import Translator
from bot.models import Address, Button, Outgoing, Role
from bot.schedule.worktime import WorkTime
from bot.store.folder import Store
from bot.turn import Turn

log = logging.getLogger(__name__)

SIMILAR_REPORT = 70  # rapidfuzz token_set_ratio over content words: "the same problem"


@dataclass(frozen=True)
class NewReport:
    """What a resident reported, before it becomes a ticket."""

    kind: str
    category: str
    compound: str
    text: str
    attachments: tuple[str, ...] = ()


class TicketDesk:
    """Turns reports into tickets, lets staff work them, and tells residents on their network."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: Store,
        translate: Translator,
        clock: Callable[[], datetime],
        faq: FaqSource,
        worktime: WorkTime,
    ) -> None:
        self.settings = settings
        self.store = store
        self.t = translate
        self.clock = clock
        self.faq = faq
        self.worktime = worktime

    def commands(self) -> list[tuple[Command, Handler]]:
        staff = Role.STAFF
        return [
            (
                Command("mytickets", "cmd_mytickets", aliases=("我的",), group_ok=False),
                self._cmd_mytickets,
            ),
            (
                Command("status", "cmd_status", aliases=("进度",), group_ok=False),
                self._cmd_status,
            ),
            (
                Command("claim", "cmd_claim", staff, aliases=("认领",)),
                self._cmd_claim,
            ),
            (
                Command("reply", "cmd_reply", staff, aliases=("回复",)),
                self._cmd_reply,
            ),
            (
                Command("resolve", "cmd_resolve", staff, aliases=("解决",)),
                self._cmd_resolve,
            ),
            (Command("reopen", "cmd_reopen", staff), self._cmd_reopen),
            (Command("assign", "cmd_assign", staff), self._cmd_assign),
            (Command("note", "cmd_note", staff), self._cmd_note),
            (Command("reject", "cmd_reject", staff), self._cmd_reject),
            (Command("merge", "cmd_merge", staff), self._cmd_merge),
            (
                Command("tickets", "cmd_tickets", staff),
                self._cmd_tickets,
            ),
            (Command("ticket", "cmd_ticket", staff), self._cmd_ticket),
            (
                Command("answer", "cmd_answer", staff),
                self._cmd_answer,
            ),
        ]

    # ---- intake ---------------------------------------------------------------------------

    def compound_of(self, turn: Turn) -> str:
        """The compound a group chat belongs to (config), else its title, else ''."""
        configured = self.settings.groups.get(str(turn.msg.chat))
        if configured:
            return configured
        return compound_from_title(turn.msg.chat_title) if not turn.private else ""

    def guess_category(self, text: str) -> str:
        best, hits = self.settings.categories[-1].name, 0
        for category in self.settings.categories:
            count = sum(1 for k in category.keywords if k in text)
            if count > hits:
                best, hits = category.name, count
        return best

    def similar_open(self, report: NewReport, origin: Address) -> Ticket | None:
        """An active report from the same chat, compound and category that reads like this one.

        Only the same chat: offering "+1" shows the other report's text, which must not leave
        the chat it was written in.
        """
        if not report.compound:
            return None
        words = " ".join(self.faq.matcher.analyzer.tokens(report.text))
        best: tuple[float, Ticket | None] = (0.0, None)
        for ticket in self.store.repo(TicketRepo).active(report.compound, report.category):
            if ticket.origin != str(origin):
                continue
            other = " ".join(self.faq.matcher.analyzer.tokens(ticket.text))
            score = fuzz.token_set_ratio(words, other)
            if score >= SIMILAR_REPORT and score > best[0]:
                best = (score, ticket)
        return best[1]

    def create(self, turn: Turn, report: NewReport) -> tuple[Ticket, list[Outgoing]]:
        """Store the ticket durably, then post its card to the staff rooms."""
        now = self.clock()
        sender = turn.msg.sender
        ticket = Ticket(
            number=0,
            kind=report.kind,
            category=report.category,
            compound=report.compound,
            text=report.text,
            attachments=list(report.attachments),
            reporters=[
                Reporter(sender.key, turn.sender_name, sender.channel, sender.user_id, turn.lang)
            ],
            origin=str(turn.msg.chat),
            created=now.isoformat(timespec="seconds"),
        )
        ticket.apply(
            "open",
            at=now,
            who=sender.key,
            name=turn.sender_name,
            via=sender.channel,
            text=report.text,
        )
        self.store.repo(TicketRepo).create(ticket)
        log.info(
            "ticket #%d (%s/%s) opened by %s",
            ticket.number,
            report.kind,
            report.category,
            sender.key,
        )
        return ticket, self.cards(ticket)

    def join(self, turn: Turn, ticket: Ticket) -> list[Outgoing]:
        """'Me too': add the sender as a reporter of an existing ticket."""
        if not ticket.is_reporter(turn.sender_key):
            sender = turn.msg.sender
            ticket.reporters.append(
                Reporter(sender.key, turn.sender_name, sender.channel, sender.user_id, turn.lang)
            )
            self._act(turn, ticket, "metoo")
        return [turn.reply(self.t(turn.lang, "report_metoo_joined", number=ticket.number))]

    def add_detail(self, turn: Turn, number: int, text: str, attachments: tuple[str, ...]) -> None:
        ticket = self.store.repo(TicketRepo).get(number)
        if ticket is None or ticket.status not in ACTIVE:
            return
        ticket.attachments.extend(attachments)
        self._act(turn, ticket, "detail", text)

    def open_question(self, turn: Turn, text: str, category: str) -> list[Outgoing]:
        ticket, cards = self.create(
            turn, NewReport("question", category, self.compound_of(turn), text)
        )
        reply = turn.reply(self.t(turn.lang, "question_created", number=ticket.number))
        return [reply, *cards]

    # ---- cards ----------------------------------------------------------------------------

    def is_staff_room(self, chat: Address) -> bool:
        return any(Address.parse(room.chat) == chat for room in self.settings.staff_rooms)

    def staff_rooms_for(self, ticket: Ticket) -> list[Address]:
        rooms = [
            r
            for r in self.settings.staff_rooms
            if (not r.categories or ticket.category in r.categories)
            and (not r.compounds or ticket.compound in r.compounds)
        ]
        return [Address.parse(r.chat) for r in (rooms or self.settings.staff_rooms)]

    def cards(self, ticket: Ticket, header: str = "") -> list[Outgoing]:
        """The ticket's card for each staff room it is routed to, under an optional header."""
        lang = self.settings.language
        text = (header + "\n" if header else "") + self.t(
            lang,
            "card",
            number=ticket.number,
            kind=self.t(lang, f"card_kind_{ticket.kind}"),
            category=ticket.category,
            compound=ticket.compound or self.t(lang, "unknown_compound"),
            text=ticket.text,
            reporters=self.t(lang, "list_separator").join(r.name for r in ticket.reporters),
            channel=ticket.reporters[0].channel,
            age=self._age(ticket, lang),
        )
        buttons = (
            Button(self.t(lang, "card_claim"), f"t:claim:{ticket.number}"),
            Button(self.t(lang, "card_reply"), f"t:reply:{ticket.number}"),
            Button(self.t(lang, "card_resolve"), f"t:resolve:{ticket.number}"),
        )
        return [
            Outgoing(
                room,
                text,
                buttons,
                attachments=tuple(ticket.attachments),
                tag=f"card:{ticket.number}",
            )
            for room in self.staff_rooms_for(ticket)
        ]

    def card_sent(self, number: int, channel: str, chat_id: str, message_id: str) -> None:
        ticket = self.store.repo(TicketRepo).get(number)
        if ticket is not None:
            ticket.cards.append([channel, chat_id, message_id])
            self.store.repo(TicketRepo).save(ticket)

    def _age(self, ticket: Ticket, lang: str) -> str:
        minutes = int((self.clock() - datetime.fromisoformat(ticket.created)).total_seconds() // 60)
        if minutes < 1:
            return self.t(lang, "age_now")
        if minutes < 60:
            return self.t(lang, "age_minutes", n=minutes)
        if minutes < 60 * 24:
            return self.t(lang, "age_hours", n=minutes // 60)
        return self.t(lang, "age_days", n=minutes // (60 * 24))

    # ---- staff actions --------------------------------------------------------------------

    def on_card_reply(self, turn: Turn) -> list[Outgoing] | None:
        """Staff replying (platform reply-to) to a ticket card relays the text."""
        reply_to = turn.msg.reply_to_message_id
        if reply_to is None or not turn.role.allows(Role.STAFF):
            return None
        chat = turn.msg.chat
        ticket = self.store.repo(TicketRepo).by_card(chat.channel, chat.chat_id, reply_to)
        if ticket is None:
            return None
        return self._relay(turn, ticket, turn.msg.text.strip())

    async def on_action(self, turn: Turn, verb: str, number_text: str) -> list[Outgoing]:
        if verb in ("fixed", "notfixed"):
            return self._reporter_verdict(turn, verb == "fixed", parse_number(number_text))
        if not turn.role.allows(Role.STAFF):
            raise UserError("error_permission_button", role=Localized("role_staff"))
        number = parse_number(number_text)
        if verb == "claim":
            return await self._cmd_claim(turn, str(number))
        if verb == "resolve":
            return await self._cmd_resolve(turn, str(number))
        if verb == "reply":
            self._staff_ticket(number)
            return [turn.reply(self.t(turn.lang, "card_reply_hint", number=number))]
        raise UserError("error_unknown_action")

    def _staff_ticket(self, number: int) -> Ticket:
        ticket = self.store.repo(TicketRepo).get(number)
        if ticket is None:
            raise UserError("ticket_not_found", number=number)
        return ticket

    def _number_and_text(self, args: str, command: str, need_text: bool) -> tuple[Ticket, str]:
        usage = Localized(f"usage_{command}")
        head, _, rest = args.strip().partition(" ")
        if not head:
            raise UserError("error_usage", usage=usage)
        ticket = self._staff_ticket(parse_number(head))
        text = rest.strip()
        if need_text and not text:
            raise UserError("ticket_empty_text", usage=usage)
        return ticket, text

    def _act(self, turn: Turn, ticket: Ticket, action: str, text: str = "", **fields: Any) -> None:
        """Apply one lifecycle step by the sender, set `fields`, and store the ticket.

        The transition is checked first, so a refused step changes nothing.
        """
        ticket.apply(
            action,
            at=self.clock(),
            who=turn.sender_key,
            name=turn.sender_name,
            via=turn.msg.sender.channel,
            text=text,
        )
        for name, value in fields.items():
            setattr(ticket, name, value)
        self.store.repo(TicketRepo).save(ticket)

    def _notify(self, ticket: Ticket, key: str, **params: object) -> list[Outgoing]:
        return [
            Outgoing(
                Address(r.channel, r.chat), self.t(r.lang, key, number=ticket.number, **params)
            )
            for r in ticket.reporters
        ]

    def _team(self, turn: Turn, ticket: Ticket, action_key: str, text: str = "") -> list[Outgoing]:
        """Keep the other staff rooms informed of an action taken elsewhere."""
        lang = self.settings.language
        notice = self.t(
            lang,
            "staff_notice",
            number=ticket.number,
            action=self.t(lang, action_key),
            name=turn.sender_name,
            text=f" — {text}" if text else "",
        )
        return [
            Outgoing(room, notice) for room in self.staff_rooms_for(ticket) if room != turn.msg.chat
        ]

    async def _cmd_claim(self, turn: Turn, args: str) -> list[Outgoing]:
        ticket, _ = self._number_and_text(args, "claim", need_text=False)
        first_claim = not ticket.assignee
        self._act(turn, ticket, "claim", assignee=turn.sender_key, assignee_name=turn.sender_name)
        out = [turn.reply(self.t(turn.lang, "ticket_claimed", number=ticket.number))]
        if first_claim:
            out += self._notify(ticket, "notify_claimed")
        return out + self._team(turn, ticket, "card_claim")

    async def _cmd_reply(self, turn: Turn, args: str) -> list[Outgoing]:
        ticket, text = self._number_and_text(args, "reply", need_text=True)
        return self._relay(turn, ticket, text)

    def _relay(self, turn: Turn, ticket: Ticket, text: str) -> list[Outgoing]:
        if not text:
            raise UserError("ticket_empty_text", usage=Localized("usage_reply"))
        self._act(
            turn,
            ticket,
            "reply",
            text,
            assignee=ticket.assignee or turn.sender_key,
            assignee_name=ticket.assignee_name or turn.sender_name,
        )
        return [
            turn.reply(self.t(turn.lang, "ticket_replied", number=ticket.number)),
            *self._notify(ticket, "notify_reply", text=text),
        ]

    async def _cmd_resolve(self, turn: Turn, args: str) -> list[Outgoing]:
        ticket, text = self._number_and_text(args, "resolve", need_text=False)
        self._act(turn, ticket, "resolve", text)
        notice = (
            self._notify(ticket, "notify_resolved", text=text)
            if text
            else self._notify(ticket, "notify_resolved_plain")
        )
        return [
            turn.reply(self.t(turn.lang, "ticket_resolved", number=ticket.number)),
            *notice,
            *self._team(turn, ticket, "card_resolve", text),
        ]

    async def _cmd_reopen(self, turn: Turn, args: str) -> list[Outgoing]:
        ticket, text = self._number_and_text(args, "reopen", need_text=False)
        self._act(turn, ticket, "reopen", text)
        return [
            turn.reply(self.t(turn.lang, "ticket_reopened", number=ticket.number)),
            *self._notify(ticket, "notify_reopened"),
        ]

    async def _cmd_assign(self, turn: Turn, args: str) -> list[Outgoing]:
        ticket, who = self._number_and_text(args, "assign", need_text=True)
        key, name = self._staff_member(who)
        self._act(turn, ticket, "assign", name, assignee=key, assignee_name=name)
        return [turn.reply(self.t(turn.lang, "ticket_assigned", number=ticket.number, name=name))]

    def _staff_member(self, who: str) -> tuple[str, str]:
        known = set(self.settings.roles.staff) | set(self.settings.roles.admins)
        if who in known:
            return who, self.store.people.name(who) or who
        key = self.store.people.key_by_name(who)
        if key is None:
            raise UserError("ticket_unknown_staff", who=who)
        return key, who

    async def _cmd_note(self, turn: Turn, args: str) -> list[Outgoing]:
        ticket, text = self._number_and_text(args, "note", need_text=True)
        self._act(turn, ticket, "note", text)
        return [turn.reply(self.t(turn.lang, "ticket_noted", number=ticket.number))]

    async def _cmd_reject(self, turn: Turn, args: str) -> list[Outgoing]:
        ticket, text = self._number_and_text(args, "reject", need_text=True)
        self._act(turn, ticket, "reject", text, reason=text)
        return [
            turn.reply(self.t(turn.lang, "ticket_rejected", number=ticket.number)),
            *self._notify(ticket, "notify_rejected", text=text),
        ]

    async def _cmd_merge(self, turn: Turn, args: str) -> list[Outgoing]:
        parts = args.split()
        if len(parts) != 2:
            raise UserError("error_usage", usage=Localized("usage_merge"))
        source = self._staff_ticket(parse_number(parts[0]))
        target = self._staff_ticket(parse_number(parts[1]))
        if source.number == target.number:
            raise UserError("ticket_merge_self")
        if target.status not in ACTIVE:
            raise UserError(
                "ticket_bad_state",
                number=target.number,
                action=Localized("action_merge"),
                status=Localized(f"status_{target.status.value}"),
            )
        self._act(turn, source, "merge", f"#{target.number}", merged_into=target.number)
        for reporter in source.reporters:
            if not target.is_reporter(reporter.key):
                target.reporters.append(reporter)
        self._act(turn, target, "note", f"← #{source.number}")
        return [
            turn.reply(
                self.t(turn.lang, "ticket_merged", source=source.number, target=target.number)
            ),
            *self._notify(source, "notify_merged", source=source.number, target=target.number),
        ]

    async def _cmd_tickets(self, turn: Turn, args: str) -> list[Outgoing]:
        which = (args.strip() or "open").lower()
        if which not in ("open", "mine", "overdue"):
            raise UserError("error_usage", usage=Localized("usage_tickets"))
        tickets = [t for t in self.store.repo(TicketRepo).active() if self._matches(t, which, turn)]
        if not tickets:
            return [turn.reply(self.t(turn.lang, "tickets_empty"))]
        lines = [self.t(turn.lang, "tickets_header", filter=which, count=len(tickets))]
        for ticket in tickets[:30]:
            assignee = f" → {ticket.assignee_name}" if ticket.assignee_name else ""
            lines.append(
                self.t(
                    turn.lang,
                    "tickets_line",
                    number=ticket.number,
                    status=self._status(turn.lang, ticket.status),
                    category=ticket.category,
                    compound=ticket.compound or "-",
                    text=_short(ticket.text),
                    assignee=assignee,
                )
            )
        return [turn.reply("\n".join(lines))]

    def _matches(self, ticket: Ticket, which: str, turn: Turn) -> bool:
        if which == "mine":
            return ticket.assignee == turn.sender_key
        if which == "overdue":
            return self.overdue(ticket, self.clock())
        return True

    def deadline(self, ticket: Ticket) -> datetime | None:
        """When an active ticket needs attention: unclaimed, its category's SLA in working
        hours from the last open/reopen; claimed, `stale_working_days` from its last change."""
        followups = self.settings.followups
        if ticket.status in (Status.OPEN, Status.REOPENED):
            since = next(e for e in reversed(ticket.history) if e.action in ("open", "reopen"))
            sla = followups.sla_for(ticket.category)
            return self.worktime.add_working_hours(datetime.fromisoformat(since.at), sla)
        if ticket.status in (Status.CLAIMED, Status.IN_PROGRESS):
            updated = datetime.fromisoformat(ticket.updated)
            return self.worktime.add_working_days(updated, followups.stale_working_days)
        return None

    def overdue(self, ticket: Ticket, now: datetime) -> bool:
        deadline = self.deadline(ticket)
        return deadline is not None and deadline <= now

    async def _cmd_ticket(self, turn: Turn, args: str) -> list[Outgoing]:
        ticket, _ = self._number_and_text(args, "ticket", need_text=False)
        return [turn.reply(self._detail(turn.lang, ticket, internal=True))]

    async def _cmd_answer(self, turn: Turn, args: str) -> list[Outgoing]:
        ticket, entry_id = self._number_and_text(args, "answer", need_text=True)
        entry = self.faq.matcher.faq.get(entry_id)
        if entry is None:
            raise UserError("ticket_unknown_faq", id=entry_id)
        self._act(turn, ticket, "answer", entry.id)
        self.store.repo(FaqSuggestions).add(self.clock(), entry.id, ticket.text, ticket.number)
        answer = f"📌 {entry.title}\n{entry.answer}"
        out = [
            Outgoing(
                Address(r.channel, r.chat),
                self.t(r.lang, "notify_answer", number=ticket.number) + "\n" + answer,
            )
            for r in ticket.reporters
        ]
        return [
            turn.reply(self.t(turn.lang, "ticket_answered", number=ticket.number, entry=entry.id)),
            *out,
        ]

    def _reporter_verdict(self, turn: Turn, fixed: bool, number: int) -> list[Outgoing]:
        """A reporter's answer to "问题解决了吗？": closes the ticket, or reopens it for staff."""
        ticket = self.store.repo(TicketRepo).get(number)
        if ticket is None or not ticket.is_reporter(turn.sender_key):
            raise UserError("error_unknown_action")
        if ticket.status is not Status.RESOLVED:
            return [turn.reply(self.t(turn.lang, "followup_already", number=number))]
        if fixed:
            self._act(turn, ticket, "close")
            return [turn.reply(self.t(turn.lang, "followup_thanks", number=number))]
        self._act(turn, ticket, "reopen", self.t(self.settings.language, "followup_not_fixed_note"))
        header = self.t(self.settings.language, "followup_reopened_card", name=turn.sender_name)
        return [
            turn.reply(self.t(turn.lang, "followup_reopened", number=number)),
            *self.cards(ticket, header),
        ]

    # ---- residents ------------------------------------------------------------------------

    async def _cmd_mytickets(self, turn: Turn, args: str) -> list[Outgoing]:
        mine = self.store.repo(TicketRepo).reported_by(turn.sender_key)
        if not mine:
            return [turn.reply(self.t(turn.lang, "mytickets_empty"))]
        lines = [self.t(turn.lang, "mytickets_header")]
        lines += [
            self.t(
                turn.lang,
                "mytickets_line",
                number=t.number,
                status=self._status(turn.lang, t.status),
                category=t.category,
                text=_short(t.text),
            )
            for t in mine[-20:]
        ]
        return [turn.reply("\n".join(lines))]

    async def _cmd_status(self, turn: Turn, args: str) -> list[Outgoing]:
        if not args.strip():
            raise UserError("error_usage", usage=Localized("usage_status"))
        number = parse_number(args)
        ticket = self.store.repo(TicketRepo).get(number)
        staff = turn.role.allows(Role.STAFF)
        if ticket is None or not (staff or ticket.is_reporter(turn.sender_key)):
            raise UserError("ticket_not_found", number=number)  # same answer: no peeking
        return [
            turn.reply(
                self._detail(
                    turn.lang, ticket, internal=staff and turn.private, viewer=turn.sender_name
                )
            )
        ]

    def _detail(self, lang: str, ticket: Ticket, internal: bool, viewer: str = "") -> str:
        """The ticket and its history; residents see only public events and their own name."""
        head = self.t(
            lang,
            "ticket_detail",
            number=ticket.number,
            status=self._status(lang, ticket.status),
            kind=self.t(lang, f"card_kind_{ticket.kind}"),
            category=ticket.category,
            compound=ticket.compound or self.t(lang, "unknown_compound"),
            text=ticket.text,
            reporters=self.t(lang, "list_separator").join(r.name for r in ticket.reporters)
            if internal
            else viewer,
            assignee=ticket.assignee_name or self.t(lang, "nobody"),
        )
        public = {
            "open",
            "claim",
            "reply",
            "resolve",
            "reopen",
            "reject",
            "merge",
            "answer",
            "close",
        }
        lines = [
            self.t(
                lang,
                "ticket_history_line",
                at=e.at[5:16].replace("T", " "),
                name=e.name if internal else "",
                action=self.t(lang, f"action_{e.action}"),
                text=f"：{_short(e.text)}" if e.text else "",
            )
            for e in ticket.history
            if internal or e.action in public
        ]
        return "\n".join([head, *lines])

    def _status(self, lang: str, status: Status) -> str:
        return self.t(lang, f"status_{status.value}")


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
