"""Ticket threads: a resident's private words reach the staff of the ticket they are about.

A private message from a resident goes, in order, to the dialogue they are in; else to
the ticket they are talking about; else to the FAQ. "Talking about" means: a reply to a
message of one of their tickets; or, without a reply, their one ticket that staff wrote to
them about within CONTACT_WINDOW (several: they are asked which). The words join the
ticket's history and reach the staff rooms as an update (bot/desk/updates.py); the
resident gets a short acknowledgement with a one-tap way out ("这是新问题").
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot.commands import Action, Command, Handler, parse_number
from bot.desk.lifecycle import Lifecycle
from bot.desk.repo import TicketRepo
from bot.desk.tickets import ACTIVE, Status, Ticket
from bot.desk.views import short
from bot.errors import UserError
from bot.i18n import Translator
from bot.models import Button, Outgoing, Role
from bot.store.repos import DialogueRepo
from bot.turn import Turn

log = logging.getLogger(__name__)

# A staff message to a resident this recent makes its ticket "the one being talked about"
# when the resident writes without replying to anything: long enough for "I'll be home
# tomorrow" after a weekend, short enough that next month's question goes to the FAQ.
CONTACT_WINDOW = timedelta(hours=72)
TALKED_TO = frozenset({"claim", "reply", "resolve", "answer", "reject", "reopen", "assign"})
CHOICE = "thread-choice"  # where a message waits while the resident picks its ticket

AskFaq = Callable[[Turn, str], list[Outgoing]]


class Threads:
    """Routes residents' private messages to their tickets; staff hear them, batched."""

    def __init__(
        self,
        *,
        tickets: TicketRepo,
        lifecycle: Lifecycle,
        pending: DialogueRepo,
        ask_faq: AskFaq,
        small_talk: Callable[[str], bool],
        translate: Translator,
        clock: Callable[[], datetime],
    ) -> None:
        self.tickets = tickets
        self.lifecycle = lifecycle
        self.pending = pending
        self.ask_faq = ask_faq
        self.small_talk = small_talk
        self.t = translate
        self.clock = clock

    def commands(self) -> list[tuple[Command, Handler]]:
        return []

    def actions(self) -> list[tuple[Action, Handler]]:
        return [
            (Action("thread:new"), self._moved_to_faq),
            (Action("thread:pick"), self._picked),
            (Action("thread:faq"), self._pending_to_faq),
        ]

    # ---- routing -------------------------------------------------------------------------

    def route(self, turn: Turn) -> list[Outgoing] | None:
        """The replies when the message belongs to a ticket; None when it goes to the FAQ."""
        if not turn.private or turn.role.allows(Role.STAFF):
            return None
        text = turn.msg.text.strip()
        if text and not turn.msg.attachments and self.small_talk(text):
            return None  # "好的", "谢谢": a friendly word back, nothing for the staff to read
        self.pending.clear(turn.sender_key, CHOICE)  # a new message replaces an unpicked one
        ticket = self._replied_to(turn)
        if ticket is None:
            talking = self._talking_about(turn)
            if not talking:
                return None
            if len(talking) > 1:
                return self._ask_which(turn, talking)
            ticket = talking[0]
        return self._add(turn, ticket, turn.msg.text.strip(), list(turn.msg.attachments))

    def _replied_to(self, turn: Turn) -> Ticket | None:
        reply_to = turn.msg.reply_to_message_id
        if reply_to is None:
            return None
        chat = turn.msg.chat
        ticket = self.tickets.by_card(chat.channel, chat.chat_id, reply_to)
        # Only the sender's own tickets: a forwarded or guessed id leads nowhere.
        return ticket if ticket is not None and ticket.is_reporter(turn.sender_key) else None

    def _talking_about(self, turn: Turn) -> list[Ticket]:
        since = self.clock() - CONTACT_WINDOW
        found: dict[int, Ticket] = {}
        for ticket in self.tickets.reported_by(turn.sender_key):
            kept = self._kept(ticket)
            if kept.status not in (*ACTIVE, Status.RESOLVED):
                continue
            contact = self._last_contact(ticket)
            if contact is not None and contact >= since:
                found[kept.number] = kept
        return list(found.values())

    def _kept(self, ticket: Ticket) -> Ticket:
        """A merged ticket's words belong to the ticket it was merged into."""
        seen = {ticket.number}
        while ticket.status is Status.DUPLICATE and ticket.merged_into is not None:
            target = self.tickets.get(ticket.merged_into)
            if target is None or target.number in seen:
                break
            seen.add(target.number)
            ticket = target
        return ticket

    @staticmethod
    def _last_contact(ticket: Ticket) -> datetime | None:
        for event in reversed(ticket.history):
            if event.action in TALKED_TO and not ticket.is_reporter(event.who):
                return datetime.fromisoformat(event.at)
        return None

    def _ask_which(self, turn: Turn, tickets: list[Ticket]) -> list[Outgoing]:
        state: dict[str, Any] = {
            "text": turn.msg.text.strip(),
            "attachments": list(turn.msg.attachments),
            "tickets": [t.number for t in tickets],
            "at": self.clock().isoformat(),
        }
        self.pending.put(turn.sender_key, CHOICE, state)
        buttons = tuple(
            Button(f"#{t.number} {short(t.text, 12)}", f"thread:pick:{t.number}") for t in tickets
        )
        new = Button(self.t(turn.lang, "thread_new_button"), "thread:faq")
        return [turn.reply(self.t(turn.lang, "thread_which"), (*buttons, new))]

    # ---- adding words --------------------------------------------------------------------

    def _add(self, turn: Turn, ticket: Ticket, text: str, photos: list[str]) -> list[Outgoing]:
        ticket = self._kept(ticket)
        if photos:
            ticket.attachments.extend(photos)
        self.lifecycle.step(turn, ticket, "message", text, photos)
        index = len(ticket.history) - 1
        log.info("#%d: words from %s joined the thread", ticket.number, turn.sender_key)
        buttons = [
            Button(self.t(turn.lang, "thread_new_button"), f"thread:new:{ticket.number}:{index}")
        ]
        if ticket.status is Status.RESOLVED:
            notfixed = self.t(turn.lang, "thread_not_fixed_button")
            buttons.insert(0, Button(notfixed, f"t:notfixed:{ticket.number}"))
        ack = self.t(turn.lang, "thread_added", number=ticket.number)
        return [turn.reply(ack, tuple(buttons))]

    async def _picked(self, turn: Turn, number: str) -> list[Outgoing]:
        state = self.pending.get(turn.sender_key, CHOICE)
        chosen = parse_number(number)
        if state is None or chosen not in state["tickets"]:
            raise UserError("error_unknown_action")
        self.pending.clear(turn.sender_key, CHOICE)
        ticket = self.tickets.get(chosen)
        if ticket is None or not ticket.is_reporter(turn.sender_key):
            raise UserError("error_unknown_action")
        return self._add(turn, ticket, str(state["text"]), list(state["attachments"]))

    async def _pending_to_faq(self, turn: Turn, _: str) -> list[Outgoing]:
        state = self.pending.get(turn.sender_key, CHOICE)
        if state is None:
            raise UserError("error_unknown_action")
        self.pending.clear(turn.sender_key, CHOICE)
        return self.ask_faq(turn, str(state["text"]))

    async def _moved_to_faq(self, turn: Turn, rest: str) -> list[Outgoing]:
        """'这是新问题': the words leave the thread (staff not yet told are not told)."""
        number, _, index = rest.partition(":")
        ticket = self.tickets.get(parse_number(number))
        position = int(index) if index.isdigit() else -1
        if ticket is None or not 0 <= position < len(ticket.history):
            raise UserError("error_unknown_action")
        event = ticket.history[position]
        if event.who != turn.sender_key or event.action != "message":
            raise UserError("error_unknown_action")
        event.action = "moved"
        self.tickets.save(ticket)
        return self.ask_faq(turn, event.text) if event.text else []
