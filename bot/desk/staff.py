"""Staff work tickets from chat: claim, reply, resolve, reopen, assign, note, reject, merge."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from bot.commands import Action, Command, Handler, parse_number
from bot.config import Settings
from bot.desk.cards import Cards
from bot.desk.lifecycle import Lifecycle
from bot.desk.repo import TicketRepo
from bot.desk.sla import Sla
from bot.desk.tickets import ACTIVE, Ticket
from bot.desk.views import TicketViews, short
from bot.errors import Localized, UserError
from bot.faq.answers import FaqAnswers
from bot.faq.feedback import FaqSuggestions
from bot.faq.source import FaqSource
from bot.i18n import Translator
from bot.models import Address, Outgoing, Role
from bot.store.repos import PeopleRepo
from bot.turn import Turn


class StaffDesk:
    """Staff commands and card buttons; every step is in the ticket's history and the
    residents and the other staff rooms hear what concerns them."""

    def __init__(
        self,
        *,
        settings: Settings,
        tickets: TicketRepo,
        people: PeopleRepo,
        suggestions: FaqSuggestions,
        lifecycle: Lifecycle,
        cards: Cards,
        views: TicketViews,
        sla: Sla,
        faq: FaqSource,
        answers: FaqAnswers,
        translate: Translator,
        clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self.tickets = tickets
        self.people = people
        self.suggestions = suggestions
        self.lifecycle = lifecycle
        self.cards = cards
        self.views = views
        self.sla = sla
        self.faq = faq
        self.answers = answers
        self.t = translate
        self.clock = clock

    def commands(self) -> list[tuple[Command, Handler]]:
        staff = Role.STAFF
        return [
            (Command("claim", "cmd_claim", staff, aliases=("认领",)), self._cmd_claim),
            (Command("reply", "cmd_reply", staff, aliases=("回复",)), self._cmd_reply),
            (Command("resolve", "cmd_resolve", staff, aliases=("解决",)), self._cmd_resolve),
            (Command("reopen", "cmd_reopen", staff), self._cmd_reopen),
            (Command("assign", "cmd_assign", staff), self._cmd_assign),
            (Command("note", "cmd_note", staff), self._cmd_note),
            (Command("reject", "cmd_reject", staff), self._cmd_reject),
            (Command("merge", "cmd_merge", staff), self._cmd_merge),
            (Command("tickets", "cmd_tickets", staff), self._cmd_tickets),
            (Command("ticket", "cmd_ticket", staff), self._cmd_ticket),
            (Command("answer", "cmd_answer", staff), self._cmd_answer),
        ]

    def actions(self) -> list[tuple[Action, Handler]]:
        staff = Role.STAFF
        return [
            (Action("t:claim", staff), self._cmd_claim),
            (Action("t:resolve", staff), self._cmd_resolve),
            (Action("t:reply", staff), self._reply_hint),
        ]

    def _ack(self, turn: Turn, key: str, ticket: Ticket, **params: object) -> Outgoing:
        """The answer to the staff member, itself one of the ticket's messages: replying to
        it (or to anything else the bot said about the ticket) is replying to the ticket."""
        text = self.t(turn.lang, key, number=ticket.number, **params)
        return replace(turn.reply(text), tag=f"card:{ticket.number}")

    def on_edit(self, turn: Turn) -> list[Outgoing] | None:
        """A staff member edited a reply the bot relayed: the reporters get the correction."""
        edited, text = turn.msg.edit_of, turn.msg.text.strip()
        if edited is None or not text or not turn.role.allows(Role.STAFF):
            return None
        chat = turn.msg.chat
        ticket = self.tickets.by_card(chat.channel, chat.chat_id, edited)
        if ticket is None:
            return None
        self.lifecycle.step(
            turn, ticket, "reply", self.t(self.settings.language, "correction") + text
        )
        return [
            self._ack(turn, "ticket_corrected", ticket),
            *self.lifecycle.tell_reporters(ticket, "notify_correction", text=text),
        ]

    def on_card_reply(self, turn: Turn) -> list[Outgoing] | None:
        """Staff replying (platform reply-to) to a ticket card relays the text."""
        reply_to = turn.msg.reply_to_message_id
        if reply_to is None or not turn.role.allows(Role.STAFF):
            return None
        chat = turn.msg.chat
        ticket = self.tickets.by_card(chat.channel, chat.chat_id, reply_to)
        if ticket is None:
            return None
        return self._relay(turn, ticket, turn.msg.text.strip())

    async def _reply_hint(self, turn: Turn, number: str) -> list[Outgoing]:
        ticket = self._ticket(parse_number(number))
        return [turn.reply(self.t(turn.lang, "card_reply_hint", number=ticket.number))]

    def _ticket(self, number: int) -> Ticket:
        ticket = self.tickets.get(number)
        if ticket is None:
            raise UserError("ticket_not_found", number=number)
        return ticket

    def _number_and_text(self, args: str, command: str, need_text: bool) -> tuple[Ticket, str]:
        usage = Localized(f"usage_{command}")
        head, _, rest = args.strip().partition(" ")
        if not head:
            raise UserError("error_usage", usage=usage)
        ticket = self._ticket(parse_number(head))
        text = rest.strip()
        if need_text and not text:
            raise UserError("ticket_empty_text", usage=usage)
        return ticket, text

    async def _cmd_claim(self, turn: Turn, args: str) -> list[Outgoing]:
        ticket, _ = self._number_and_text(args, "claim", need_text=False)
        first_claim = not ticket.assignee
        self.lifecycle.step(
            turn, ticket, "claim", assignee=turn.sender_key, assignee_name=turn.sender_name
        )
        out = [self._ack(turn, "ticket_claimed", ticket)]
        if first_claim:
            out += self.lifecycle.tell_reporters(ticket, "notify_claimed")
        return out + self.cards.team_notice(turn, ticket, "card_claim")

    async def _cmd_reply(self, turn: Turn, args: str) -> list[Outgoing]:
        ticket, text = self._number_and_text(args, "reply", need_text=True)
        return self._relay(turn, ticket, text)

    def _relay(self, turn: Turn, ticket: Ticket, text: str) -> list[Outgoing]:
        if not text:
            raise UserError("ticket_empty_text", usage=Localized("usage_reply"))
        own = turn.msg.message_id
        if own is not None:  # the staff member's own message: an edit of it is a correction
            ticket.cards.append([turn.msg.chat.channel, turn.msg.chat.chat_id, own])
        self.lifecycle.step(
            turn,
            ticket,
            "reply",
            text,
            assignee=ticket.assignee or turn.sender_key,
            assignee_name=ticket.assignee_name or turn.sender_name,
        )
        return [
            self._ack(turn, "ticket_replied", ticket),
            *self.lifecycle.tell_reporters(ticket, "notify_reply", text=text),
            *self.cards.team_notice(turn, ticket, "action_reply", short(text)),
        ]

    async def _cmd_resolve(self, turn: Turn, args: str) -> list[Outgoing]:
        ticket, text = self._number_and_text(args, "resolve", need_text=False)
        self.lifecycle.step(turn, ticket, "resolve", text)
        notice = (
            self.lifecycle.tell_reporters(ticket, "notify_resolved", text=text)
            if text
            else self.lifecycle.tell_reporters(ticket, "notify_resolved_plain")
        )
        return [
            self._ack(turn, "ticket_resolved", ticket),
            *notice,
            *self.cards.team_notice(turn, ticket, "card_resolve", text),
        ]

    async def _cmd_reopen(self, turn: Turn, args: str) -> list[Outgoing]:
        ticket, text = self._number_and_text(args, "reopen", need_text=False)
        self.lifecycle.step(turn, ticket, "reopen", text)
        return [
            self._ack(turn, "ticket_reopened", ticket),
            *self.lifecycle.tell_reporters(ticket, "notify_reopened"),
        ]

    async def _cmd_assign(self, turn: Turn, args: str) -> list[Outgoing]:
        ticket, who = self._number_and_text(args, "assign", need_text=True)
        key, name = self._staff_member(who)
        self.lifecycle.step(turn, ticket, "assign", name, assignee=key, assignee_name=name)
        out = [self._ack(turn, "ticket_assigned", ticket, name=name)]
        if key != turn.sender_key:  # the assignee hears it privately, on their network
            lang = self.people.language(key) or self.settings.language
            text = self.t(
                lang,
                "assigned_to_you",
                name=turn.sender_name,
                number=ticket.number,
                text=ticket.text,
            )
            out.append(Outgoing(Address.parse(key), text, tag=f"card:{ticket.number}"))
        return out + self.cards.team_notice(turn, ticket, "action_assign", name)

    def _staff_member(self, who: str) -> tuple[str, str]:
        known = set(self.settings.roles.staff) | set(self.settings.roles.admins)
        if who in known:
            return who, self.people.name(who) or who
        key = self.people.key_by_name(who)
        if key is None:
            raise UserError("ticket_unknown_staff", who=who)
        return key, who

    async def _cmd_note(self, turn: Turn, args: str) -> list[Outgoing]:
        ticket, text = self._number_and_text(args, "note", need_text=True)
        self.lifecycle.step(turn, ticket, "note", text)
        return [
            self._ack(turn, "ticket_noted", ticket),
            *self.cards.team_notice(turn, ticket, "action_note", short(text)),
        ]

    async def _cmd_reject(self, turn: Turn, args: str) -> list[Outgoing]:
        ticket, text = self._number_and_text(args, "reject", need_text=True)
        self.lifecycle.step(turn, ticket, "reject", text, reason=text)
        return [
            self._ack(turn, "ticket_rejected", ticket),
            *self.lifecycle.tell_reporters(ticket, "notify_rejected", text=text),
        ]

    async def _cmd_merge(self, turn: Turn, args: str) -> list[Outgoing]:
        parts = args.split()
        if len(parts) != 2:
            raise UserError("error_usage", usage=Localized("usage_merge"))
        source = self._ticket(parse_number(parts[0]))
        target = self._ticket(parse_number(parts[1]))
        if source.number == target.number:
            raise UserError("ticket_merge_self")
        if target.status not in ACTIVE:
            raise UserError(
                "ticket_bad_state",
                number=target.number,
                action=Localized("action_merge"),
                status=Localized(f"status_{target.status.value}"),
            )
        self.lifecycle.step(turn, source, "merge", f"#{target.number}", merged_into=target.number)
        for reporter in source.reporters:
            if not target.is_reporter(reporter.key):
                target.reporters.append(reporter)
        self.lifecycle.step(turn, target, "note", f"← #{source.number}")
        merged = self.t(turn.lang, "ticket_merged", source=source.number, target=target.number)
        return [
            turn.reply(merged),
            *self.lifecycle.tell_reporters(
                source, "notify_merged", source=source.number, target=target.number
            ),
            *self.cards.team_notice(turn, source, "action_merge", f"→ #{target.number}"),
        ]

    async def _cmd_tickets(self, turn: Turn, args: str) -> list[Outgoing]:
        which = (args.strip() or "open").lower()
        if which not in ("open", "mine", "overdue"):
            raise UserError("error_usage", usage=Localized("usage_tickets"))
        tickets = [t for t in self.tickets.active() if self._matches(t, which, turn)]
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
                    status=self.views.status(turn.lang, ticket.status),
                    category=ticket.category,
                    compound=ticket.compound or "-",
                    text=short(ticket.text),
                    assignee=assignee,
                )
            )
        return [turn.reply("\n".join(lines))]

    def _matches(self, ticket: Ticket, which: str, turn: Turn) -> bool:
        if which == "mine":
            return ticket.assignee == turn.sender_key
        if which == "overdue":
            return self.sla.overdue(ticket, self.clock())
        return True

    async def _cmd_ticket(self, turn: Turn, args: str) -> list[Outgoing]:
        ticket, _ = self._number_and_text(args, "ticket", need_text=False)
        return [turn.reply(self.views.detail(turn.lang, ticket, internal=True))]

    async def _cmd_answer(self, turn: Turn, args: str) -> list[Outgoing]:
        head, _, entry_id = args.strip().partition(" ")
        group = re.fullmatch(r"[gG组](\d{1,3})", head)
        if group is not None and entry_id.strip():  # a group of /unanswered, all at once
            return self.answers.answer_group(turn, int(group.group(1)), entry_id.strip())
        ticket, entry_id = self._number_and_text(args, "answer", need_text=True)
        entry = self.faq.matcher.faq.get(entry_id)
        if entry is None:
            raise UserError("ticket_unknown_faq", id=entry_id)
        self.lifecycle.step(turn, ticket, "answer", entry.id)
        self.suggestions.add(self.clock(), entry.id, ticket.text, ticket.number)
        answer = self.answers.text_of(entry)
        out = [
            Outgoing(
                Address(r.channel, r.chat),
                self.t(r.lang, "notify_answer", number=ticket.number) + "\n" + answer,
            )
            for r in ticket.reporters
        ]
        answered = self.t(turn.lang, "ticket_answered", number=ticket.number, entry=entry.id)
        return [turn.reply(answered), *out]
