"""What residents do with their own tickets: list them, see one, answer "问题解决了吗？"."""

from __future__ import annotations

from bot.commands import Action, Command, Handler, parse_number
from bot.config import Settings
from bot.desk.cards import Cards
from bot.desk.lifecycle import Lifecycle
from bot.desk.repo import TicketRepo
from bot.desk.tickets import Status
from bot.desk.views import TicketViews, short
from bot.errors import Localized, UserError
from bot.i18n import Translator
from bot.models import Outgoing, Role
from bot.turn import Turn


class ResidentDesk:
    """/mytickets, /status and the reporters' verdict on a resolved ticket."""

    def __init__(
        self,
        *,
        settings: Settings,
        tickets: TicketRepo,
        lifecycle: Lifecycle,
        cards: Cards,
        views: TicketViews,
        translate: Translator,
    ) -> None:
        self.settings = settings
        self.tickets = tickets
        self.lifecycle = lifecycle
        self.cards = cards
        self.views = views
        self.t = translate

    def commands(self) -> list[tuple[Command, Handler]]:
        return [
            (
                Command("mytickets", "cmd_mytickets", aliases=("我的",), group_ok=False),
                self._cmd_mytickets,
            ),
            (
                Command("status", "cmd_status", aliases=("进度",), group_ok=False),
                self._cmd_status,
            ),
        ]

    def actions(self) -> list[tuple[Action, Handler]]:
        return [(Action("t:fixed"), self._fixed), (Action("t:notfixed"), self._not_fixed)]

    async def _cmd_mytickets(self, turn: Turn, args: str) -> list[Outgoing]:
        mine = self.tickets.reported_by(turn.sender_key)
        if not mine:
            return [turn.reply(self.t(turn.lang, "mytickets_empty"))]
        lines = [self.t(turn.lang, "mytickets_header")]
        lines += [
            self.t(
                turn.lang,
                "mytickets_line",
                number=t.number,
                status=self.views.status(turn.lang, t.status),
                category=t.category,
                text=short(t.text),
            )
            for t in mine[-20:]
        ]
        return [turn.reply("\n".join(lines))]

    async def _cmd_status(self, turn: Turn, args: str) -> list[Outgoing]:
        if not args.strip():
            raise UserError("error_usage", usage=Localized("usage_status"))
        number = parse_number(args)
        ticket = self.tickets.get(number)
        staff = turn.role.allows(Role.STAFF)
        if ticket is None or not (staff or ticket.is_reporter(turn.sender_key)):
            raise UserError("ticket_not_found", number=number)  # same answer: no peeking
        internal = staff and turn.private
        detail = self.views.detail(turn.lang, ticket, internal, viewer=turn.sender_name)
        return [turn.reply(detail)]

    async def _fixed(self, turn: Turn, number: str) -> list[Outgoing]:
        return self._verdict(turn, True, parse_number(number))

    async def _not_fixed(self, turn: Turn, number: str) -> list[Outgoing]:
        return self._verdict(turn, False, parse_number(number))

    def _verdict(self, turn: Turn, fixed: bool, number: int) -> list[Outgoing]:
        """A reporter's answer to "问题解决了吗？": closes the ticket, or reopens it for staff."""
        ticket = self.tickets.get(number)
        if ticket is None or not ticket.is_reporter(turn.sender_key):
            raise UserError("error_unknown_action")
        if ticket.status is not Status.RESOLVED:
            return [turn.reply(self.t(turn.lang, "followup_already", number=number))]
        if fixed:
            self.lifecycle.step(turn, ticket, "close")
            return [turn.reply(self.t(turn.lang, "followup_thanks", number=number))]
        note = self.t(self.settings.language, "followup_not_fixed_note")
        self.lifecycle.step(turn, ticket, "reopen", note)
        header = self.t(self.settings.language, "followup_reopened_card", name=turn.sender_name)
        return [
            turn.reply(self.t(turn.lang, "followup_reopened", number=number)),
            *self.cards.cards(ticket, header),
        ]
