"""The conversation core: one Incoming in, the Outgoing replies out, for every network."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from bot.broadcast.broadcasts import BroadcastJobs, Broadcasts
from bot.commands import PREFIXES, Command, CommandRegistry, Handler, ParsedCommand, parse_command
from bot.config import Settings
from bot.desk.desk import TicketDesk
from bot.desk.followups import MorningDigest, TicketFollowups
from bot.desk.report_flow import Dialogues
from bot.errors import Localized, UserError
from bot.evening.booking import BOOK, Appointments
from bot.evening.jobs import EveningJobs
from bot.faq.entries import FaqEntry
from bot.faq.feedback import QuestionLog, Ratings
from bot.faq.matcher import Decision
from bot.faq.source import FaqSource, ReloadResult
from bot.i18n import Translator, language_of_text, normalize_language
from bot.models import Address, Button, ChatKind, Incoming, Outgoing, Role
from bot.roles import Roles
from bot.schedule.book import ScheduleBook
from bot.schedule.jobs import JobSource
from bot.schedule.worktime import WorkTime
from bot.store.folder import Store
from bot.store.outbox import Dispatch
from bot.turn import Turn

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

BASIC_COMMANDS = [
    Command("start", "cmd_start"),
    Command("help", "cmd_help", aliases=("帮助",)),
    Command("lang", "cmd_lang", aliases=("语言",)),
    Command("ask", "cmd_ask", aliases=("问",)),
    Command("report", "cmd_report", aliases=("报修", "反映")),
    Command("cancel", "cmd_cancel", aliases=("取消",)),
]
ADMIN_COMMANDS = [
    Command("unanswered", "cmd_unanswered", Role.STAFF, group_ok=False),
    Command("ratings", "cmd_ratings", Role.STAFF, group_ok=False),
    Command("reload", "cmd_reload", Role.ADMIN),
]


class Conversation:
    """Commands, dialogues, tickets and FAQ answers with etiquette, in the user's language."""

    def __init__(
        self,
        *,
        settings: Settings,
        faq: FaqSource,
        store: Store,
        roles: Roles,
        translate: Translator,
        clock: Clock,
        worktime: WorkTime,
        schedules: ScheduleBook,
    ) -> None:
        self.settings = settings
        self.faq = faq
        self.store = store
        self.roles = roles
        self.t = translate
        self.clock = clock
        self.worktime = worktime
        self.schedules = schedules
        self.desk = TicketDesk(
            settings=settings,
            store=store,
            translate=translate,
            clock=clock,
            faq=faq,
            worktime=worktime,
        )
        self.dialogues = Dialogues(
            repo=store.dialogues,
            desk=self.desk,
            translate=translate,
            clock=clock,
            timeout=timedelta(minutes=settings.dialogue_timeout_minutes),
        )
        self.appointments = Appointments(
            settings=settings,
            store=store,
            service=schedules.evening,
            worktime=worktime,
            translate=translate,
            clock=clock,
        )
        self.broadcasts = Broadcasts(
            settings=settings,
            store=store,
            book=schedules,
            translate=translate,
            clock=clock,
            admins=self.admin_addresses,
        )
        own: dict[str, Handler] = {
            "start": self._cmd_start,
            "help": self._cmd_help,
            "lang": self._cmd_lang,
            "ask": self._cmd_ask,
            "report": self._cmd_report,
            "cancel": self._cmd_cancel,
            "unanswered": self._cmd_unanswered,
            "ratings": self._cmd_ratings,
            "reload": self._cmd_reload,
        }
        domain = [
            *self.desk.commands(),
            *self.appointments.commands(),
            *self.broadcasts.commands(),
        ]
        self._handlers = own | {command.name: handler for command, handler in domain}
        self.commands = CommandRegistry([*BASIC_COMMANDS, *(c for c, _ in domain), *ADMIN_COMMANDS])

    async def handle(self, msg: Incoming) -> list[Outgoing]:
        turn = self._turn(msg)
        try:
            return await self._dispatch(turn)
        except UserError as exc:
            params = {
                k: self.t(turn.lang, v.key) if isinstance(v, Localized) else v
                for k, v in exc.params.items()
            }
            return [turn.reply(self.t(turn.lang, exc.key, **params))]
        except Exception:
            log.exception("failed to handle a message in %s", msg.chat)
            return [turn.reply(self.t(turn.lang, "error_internal"))] if turn.must_reply else []

    def _turn(self, msg: Incoming) -> Turn:
        is_command = msg.text.lstrip().startswith(PREFIXES)
        lang = (
            self.store.people.language(msg.sender.key)
            or (None if is_command else language_of_text(msg.text))
            or normalize_language(msg.sender.language)
            or self.settings.language
        )
        addressed = (
            msg.mentions_bot
            or msg.reply_to_bot
            or any(f"@{name}" in msg.text for name in self.settings.bot_names)
        )
        role = self.roles.role_of(msg.sender, msg.claimed_role)
        if msg.chat_kind is not ChatKind.PRIVATE:
            self.store.groups.seen(str(msg.chat), msg.chat_title)
        if role.allows(Role.STAFF):
            self.store.people.remember_staff(msg.sender.key, msg.sender.display_name, role.value)
        return Turn(msg, role, lang, addressed)

    async def _dispatch(self, turn: Turn) -> list[Outgoing]:
        msg = turn.msg
        if msg.action is not None:
            return await self._on_action(turn, msg.action)
        text = msg.text.strip()
        if len(text) > self.settings.max_text_chars:
            if turn.must_reply:
                raise UserError("error_too_long", limit=self.settings.max_text_chars)
            return []
        parsed = parse_command(text) if text else None
        if parsed is not None:
            return await self._run_command(turn, parsed)
        relayed = self.desk.on_card_reply(turn) if text else None
        if relayed is not None:
            return relayed
        dialogue = self.dialogues.active(turn) if turn.must_reply else None
        if dialogue is not None and dialogue.get("flow") == BOOK:
            return self.appointments.on_message(turn, dialogue)
        if dialogue is not None:
            return self.dialogues.on_message(turn, dialogue)
        if not text:
            if msg.attachments and turn.must_reply:
                raise UserError("error_no_text")
            return []
        return self._on_question(turn, text)

    # ---- commands -------------------------------------------------------------------------

    async def _run_command(self, turn: Turn, parsed: ParsedCommand) -> list[Outgoing]:
        command = self.commands.find(parsed.name)
        if command is None:
            # In a group, '/something' for another bot is none of our business.
            if not turn.must_reply:
                return []
            raise UserError("error_unknown_command", command=parsed.name)
        name = f"/{command.name}"
        if not turn.role.allows(command.role):
            raise UserError(
                "error_permission",
                command=name,
                role=self.t(turn.lang, f"role_{command.role.value}"),
            )
        if not turn.private and not command.group_ok:
            raise UserError("error_private_only", command=name)
        if (
            command.role is not Role.RESIDENT
            and not turn.private
            and not self.desk.is_staff_room(turn.msg.chat)
        ):
            raise UserError("error_staff_room_only", command=name)
        return await self._handlers[command.name](turn.addressed_copy(), parsed.args)

    async def _cmd_start(self, turn: Turn, args: str) -> list[Outgoing]:
        return [turn.reply(self.t(turn.lang, "start"))]

    async def _cmd_help(self, turn: Turn, args: str) -> list[Outgoing]:
        lines = [self.t(turn.lang, "help_header")]
        lines += [
            self.t(
                turn.lang,
                "help_line",
                usage=self.t(turn.lang, c.usage_key),
                summary=self.t(turn.lang, c.summary_key),
            )
            for c in self.commands.visible_to(turn.role)
        ]
        lines.append(self.t(turn.lang, "help_footer"))
        return [turn.reply("\n".join(lines))]

    async def _cmd_lang(self, turn: Turn, args: str) -> list[Outgoing]:
        lang = normalize_language(args)
        if lang is None:
            raise UserError("lang_usage")
        self.store.people.set_language(turn.sender_key, lang)
        return [turn.reply(self.t(lang, "lang_set"))]

    async def _cmd_ask(self, turn: Turn, args: str) -> list[Outgoing]:
        if not args:
            raise UserError("error_usage", usage=Localized("usage_ask"))
        return self._on_question(turn, args)

    async def _cmd_report(self, turn: Turn, args: str) -> list[Outgoing]:
        return self.dialogues.start_report(turn, args)

    async def _cmd_cancel(self, turn: Turn, args: str) -> list[Outgoing]:
        """/cancel: leave the dialogue in progress; /cancel N (admins): stop broadcast N."""
        if not args.strip():
            return self.dialogues.cancel(turn)
        if not turn.role.allows(Role.ADMIN):
            raise UserError("error_usage", usage=Localized("usage_cancel"))
        return self.broadcasts.cancel(turn, args)

    async def _cmd_unanswered(self, turn: Turn, args: str) -> list[Outgoing]:
        if args and not (args.isdigit() and 1 <= int(args) <= 50):
            raise UserError("error_usage", usage=Localized("usage_unanswered"))
        rows = self.store.repo(QuestionLog).recent(int(args) if args else 10, unanswered_only=True)
        if not rows:
            return [turn.reply(self.t(turn.lang, "unanswered_empty"))]
        lines = [self.t(turn.lang, "unanswered_header", count=len(rows))]
        lines += [
            self.t(
                turn.lang,
                "unanswered_line",
                when=r.at[:16].replace("T", " "),
                who=r.name or r.person,
                text=r.text,
            )
            for r in rows
        ]
        return [turn.reply("\n".join(lines))]

    async def _cmd_ratings(self, turn: Turn, args: str) -> list[Outgoing]:
        rows = self.store.repo(Ratings).summary()
        if not rows:
            return [turn.reply(self.t(turn.lang, "ratings_empty"))]
        lines = [self.t(turn.lang, "ratings_header")]
        lines += [self.t(turn.lang, "ratings_line", id=i, up=u, down=d) for i, u, d in rows[:20]]
        return [turn.reply("\n".join(lines))]

    async def _cmd_reload(self, turn: Turn, args: str) -> list[Outgoing]:
        result = self.faq.reload()
        key = "reload_ok" if result.ok else "reload_failed"
        return [turn.reply(self.t(turn.lang, key, count=result.entries, error=result.error))]

    # ---- FAQ ------------------------------------------------------------------------------

    def _on_question(self, turn: Turn, text: str) -> list[Outgoing]:
        if not self.faq.matcher.analyzer.tokens(text):
            # Only greetings, thanks or emoji: friendly in private, silent in groups.
            return [turn.reply(self.t(turn.lang, "greeting"))] if turn.private else []
        decision = self.faq.matcher.match(text)
        log.debug(
            "match %r -> %s %.3f %s", text, decision.kind, decision.score, decision.ranked[:3]
        )
        if not turn.must_reply:
            return self._overheard(turn, text, decision)
        if not turn.private:
            return self._addressed_in_group(turn, text, decision)
        if decision.kind == "none":
            self._log_question(turn, text, "none")
            category = decision.suggestions[0].category if decision.suggestions else "其他"
            return self.desk.open_question(turn, text, category)
        ask_staff = Button(
            self.t(turn.lang, "ask_staff_button"),
            f"askstaff:{self._log_question(turn, text, decision.kind)}",
        )
        if decision.kind == "answer" and decision.entry is not None:
            return [self._answer(turn, decision.entry, extra=(ask_staff,))]
        return [self._suggest(turn, decision, extra=(ask_staff,))]

    def _overheard(self, turn: Turn, text: str, decision: Decision) -> list[Outgoing]:
        """A group message not addressed to the bot: only a confident answer to a question."""
        if not self.faq.matcher.analyzer.is_question(text):
            return []
        if decision.kind == "answer" and decision.entry is not None:
            return [self._answer(turn, decision.entry)]
        self._log_question(turn, text, "group")
        return []

    def _addressed_in_group(self, turn: Turn, text: str, decision: Decision) -> list[Outgoing]:
        if decision.kind == "answer" and decision.entry is not None:
            return [self._answer(turn, decision.entry)]
        if decision.kind == "suggest":
            return [self._suggest(turn, decision)]
        self._log_question(turn, text, "none")
        return [turn.reply(self.t(turn.lang, "faq_none_addressed"))]

    def _answer(self, turn: Turn, entry: FaqEntry, extra: tuple[Button, ...] = ()) -> Outgoing:
        base = Path(self.faq.path).parent
        return turn.reply(
            f"📌 {entry.title}\n{entry.answer}",
            (
                Button(self.t(turn.lang, "rate_up"), f"rate:up:{entry.id}"),
                Button(self.t(turn.lang, "rate_down"), f"rate:down:{entry.id}"),
                *extra,
            ),
            files=tuple(str(base / a) for a in entry.attachments),
        )

    def _suggest(self, turn: Turn, decision: Decision, extra: tuple[Button, ...] = ()) -> Outgoing:
        buttons = tuple(Button(e.title, f"faq:{e.id}") for e in decision.suggestions)
        return turn.reply(self.t(turn.lang, "faq_suggest_header"), buttons + extra)

    def _log_question(self, turn: Turn, text: str, outcome: str) -> int:
        """Record a question the FAQ did not settle; its id backs the 'ask staff' button."""
        if outcome != "answer":
            log.info(
                "question not answered (%s) from %s in %s", outcome, turn.sender_key, turn.msg.chat
            )
        return self.store.repo(QuestionLog).record(
            self.clock(),
            turn.sender_key,
            name=turn.sender_name,
            chat=str(turn.msg.chat),
            text=text,
            outcome=outcome,
        )

    # ---- buttons --------------------------------------------------------------------------

    async def _on_action(self, turn: Turn, action: str) -> list[Outgoing]:
        kind, _, rest = action.partition(":")
        if kind == "flow":
            return self.dialogues.on_action(turn, rest)
        if kind == "t":
            verb, _, number = rest.partition(":")
            return await self.desk.on_action(turn, verb, number)
        if kind == "b":
            verb, _, arg = rest.partition(":")
            return self.appointments.on_action(turn, verb, arg)
        if kind == "bc":
            verb, _, arg = rest.partition(":")
            return self.broadcasts.on_action(turn, verb, arg)
        if kind == "askstaff" and rest.isdigit():
            return self._ask_staff(turn, int(rest))
        if kind == "faq":
            entry = self.faq.matcher.faq.get(rest)
            if entry is None:
                raise UserError("error_unknown_action")
            return [self._answer(turn, entry)]
        if kind == "rate":
            verdict, _, entry_id = rest.partition(":")
            if verdict not in ("up", "down") or self.faq.matcher.faq.get(entry_id) is None:
                raise UserError("error_unknown_action")
            self.store.repo(Ratings).rate(self.clock(), turn.sender_key, entry_id, verdict == "up")
            key = "rate_thanks" if verdict == "up" else "rate_sorry"
            return [turn.reply(self.t(turn.lang, key))]
        raise UserError("error_unknown_action")

    def _ask_staff(self, turn: Turn, question_id: int) -> list[Outgoing]:
        question = self.store.repo(QuestionLog).get(question_id)
        if question is None or question.person != turn.sender_key:
            raise UserError("error_unknown_action")
        decision = self.faq.matcher.match(question.text)
        best = decision.entry or (decision.suggestions[0] if decision.suggestions else None)
        return self.desk.open_question(turn, question.text, best.category if best else "其他")

    # ---- around the conversation ----------------------------------------------------------

    def command_menu(self, lang: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """(name, summary) of the residents' commands and of the extra staff commands."""
        resident = self.commands.visible_to(Role.RESIDENT)
        staff = [c for c in self.commands.visible_to(Role.STAFF) if c not in resident]
        return (
            [(c.name, self.t(lang, c.summary_key)) for c in resident],
            [(c.name, self.t(lang, c.summary_key)) for c in staff],
        )

    def sent(self, out: Outgoing, channel: str, chat_id: str, message_id: str) -> None:
        """The router reports the platform id of a tagged message (ticket cards)."""
        kind, _, value = (out.tag or "").partition(":")
        if kind == "card" and value.isdigit():
            self.desk.card_sent(int(value), channel, chat_id, message_id)

    def reload_notice(self, result: ReloadResult) -> list[Outgoing]:
        """Messages telling admins that a changed faq.yaml was refused."""
        if result.ok:
            return []
        text = self.t(
            self.settings.language, "reload_failed", count=result.entries, error=result.error
        )
        return [Outgoing(address, text) for address in self.admin_addresses()]

    def job_sources(self, dispatch: Dispatch) -> list[JobSource]:
        """Everything with scheduled jobs, sending through `dispatch` (the app's router)."""
        followups = TicketFollowups(
            settings=self.settings,
            store=self.store,
            desk=self.desk,
            worktime=self.worktime,
            translate=self.t,
            dispatch=dispatch,
            admins=self.admin_addresses,
        )
        digest = MorningDigest(
            settings=self.settings,
            store=self.store,
            desk=self.desk,
            worktime=self.worktime,
            translate=self.t,
            dispatch=dispatch,
            bookings_tonight=self.appointments.count_on,
        )
        sources: list[JobSource] = [followups, digest, BroadcastJobs(self.broadcasts, dispatch)]
        if self.schedules.evening is not None:
            evening = EveningJobs(
                appointments=self.appointments,
                service=self.schedules.evening,
                settings=self.settings,
                store=self.store,
                translate=self.t,
                dispatch=dispatch,
                groups=self.broadcasts.known_groups,
                networks=sorted(self.broadcasts.networks()),
            )
            sources += [evening, evening.days]
        return sources

    def is_staff_chat(self, address: Address) -> bool:
        """Staff rooms, admin chats and staff members' private chats: not quiet at night."""
        key = str(address)
        if self.desk.is_staff_room(address) or key in self.settings.admin_chats:
            return True
        if key in self.settings.roles.staff or key in self.settings.roles.admins:
            return True
        return key in self.store.people.with_role(Role.STAFF.value, Role.ADMIN.value)

    def admin_addresses(self) -> list[Address]:
        """`admin_chats`, else the admins' private chats: configured ones and those who have
        spoken as admins on a trusted channel (the console)."""
        if self.settings.admin_chats:
            return [Address.parse(key) for key in self.settings.admin_chats]
        admins = self.roles.admins() | set(self.store.people.with_role(Role.ADMIN.value))
        return [Address.parse(key) for key in sorted(admins)]
