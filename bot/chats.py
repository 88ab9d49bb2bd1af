"""News about chats themselves (blocked, started, left, joined, moved), acted on in the store.

A person blocked or started the bot, the bot left or joined a group, or a group moved to a
new id (Telegram's supergroup migration: every ticket, pending send and group record follows
it, exactly once).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime

from bot.desk.repo import TicketRepo
from bot.desk.tickets import Ticket
from bot.models import Address, Incoming
from bot.store.chats import REACHABLE, UNREACHABLE, ChatStates, chat_key
from bot.store.outbox import OutboxRepo
from bot.store.repos import GroupDirectory

log = logging.getLogger(__name__)

UNREACHABLE_EVENTS = frozenset({"blocked", "left"})
REACHABLE_EVENTS = frozenset({"joined", "started"})


class ChatNews:
    """Keeps each chat's reachability and follows moved chats everywhere in the store."""

    def __init__(
        self,
        *,
        states: ChatStates,
        tickets: TicketRepo,
        groups: GroupDirectory,
        outbox: OutboxRepo,
        clock: Callable[[], datetime],
    ) -> None:
        self.states = states
        self.tickets = tickets
        self.groups = groups
        self.outbox = outbox
        self.clock = clock
        # Networks where a bot cannot write to a person first (Telegram): their private chat
        # is reachable only once they wrote to the bot. Told by the app from its channels.
        self._needs_start: frozenset[str] = frozenset()

    def needs_start(self, networks: Iterable[str]) -> None:
        self._needs_start = frozenset(networks)

    def can_message(self, private: Address) -> bool:
        """Can the bot write to this person's private chat now?"""
        state = self.states.state(private)
        if state is not None:
            return state == REACHABLE
        return private.channel not in self._needs_start

    def on_event(self, msg: Incoming) -> None:
        """The network's news about `msg.chat` (see Incoming.chat_event)."""
        event = msg.chat_event
        if event in UNREACHABLE_EVENTS:
            self.learnt(msg.chat, event or UNREACHABLE)
        elif event in REACHABLE_EVENTS:
            self.heard(msg.chat)
        elif event == "moved" and msg.moved_to:
            self.migrate(msg.chat, Address(msg.chat.channel, msg.moved_to))

    def heard(self, chat: Address) -> None:
        """Someone wrote privately (or the bot was added): the chat takes messages."""
        if self.states.mark(chat, REACHABLE, "", self._now()):
            log.info("%s is reachable", chat.room)

    def learnt(self, chat: Address, reason: str) -> None:
        """The network refused a send for good, or said the bot is out: stop trying."""
        if self.states.mark(chat, UNREACHABLE, reason, self._now()):
            log.warning("%s is unreachable (%s): sends to it fail at once", chat.room, reason)

    def _now(self) -> str:
        return self.clock().isoformat(timespec="seconds")

    # ---- moved chats ---------------------------------------------------------------------

    def migrate(self, old: Address, new: Address) -> bool:
        """Chat `old` is now `new`: tickets, pending sends and the group directory follow it.
        Done once; the second notice of the same move (Telegram sends one in each chat, and
        a send to the old id is answered with the new one) changes nothing."""
        before, after = chat_key(old), chat_key(new)
        if not self.states.add_move(before, after):
            return False
        channel, old_id, new_id = old.channel, old.chat_id, new.chat_id
        changed = [t for t in self.tickets.all() if self._readdress(t, channel, old_id, new_id)]
        for ticket in changed:
            self.tickets.save(ticket)
        sends = self.outbox.readdress(channel, old_id, new_id)
        self.groups.move(before, after)
        log.warning(
            "%s moved to %s: %d tickets and %d pending messages follow it; "
            "where the settings name %s (groups:, staff_rooms:), write %s",
            before,
            after,
            len(changed),
            sends,
            before,
            after,
        )
        return True

    @staticmethod
    def _readdress(ticket: Ticket, channel: str, old: str, new: str) -> bool:
        changed = False
        origin = Address.parse(ticket.origin.partition("#")[0])
        if origin.channel == channel and origin.chat_id == old:
            thread = ticket.origin.partition("#")[2]
            ticket.origin = f"{channel}:{new}" + (f"#{thread}" if thread else "")
            changed = True
        if ticket.room == f"{channel}:{old}":
            ticket.room, changed = f"{channel}:{new}", True
        for card in ticket.cards:
            if card[0] == channel and card[1] == old:
                card[1], changed = new, True
        for reporter in ticket.reporters:  # a group's anonymous admin reports as the group
            if reporter.channel == channel and reporter.chat == old:
                reporter.chat, changed = new, True
        return changed
