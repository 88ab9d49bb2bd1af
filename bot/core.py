"""The conversation core: one Incoming in, the Outgoing replies out, for every network."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path

from bot.commands import PREFIXES, Command, CommandRegistry, ParsedCommand, parse_command
from bot.config import Settings
from bot.errors import UserError
from bot.faq import FaqEntry
from bot.faq_source import FaqSource, ReloadResult
from bot.i18n import Translator, language_of_text, normalize_language
from bot.matcher import Decision
from bot.models import Address, Button, ChatKind, Incoming, Outgoing, Role
from bot.roles import Roles
from bot.store import Store

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

COMMANDS = [
    Command("start", "/start", "cmd_start"),
    Command("help", "/help", "cmd_help", aliases=("帮助",)),
    Command("lang", "/lang zh|en", "cmd_lang", aliases=("语言",)),
    Command("ask", "/ask <问题>", "cmd_ask", aliases=("问",)),
    Command("unanswered", "/unanswered [条数]", "cmd_unanswered", Role.STAFF, group_ok=False),
    Command("ratings", "/ratings", "cmd_ratings", Role.STAFF, group_ok=False),
    Command("reload", "/reload", "cmd_reload", Role.ADMIN),
]


def _question_markers() -> tuple[str, ...]:
    text = resources.files("bot.data").joinpath("question_markers.txt").read_text("utf-8")
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    return tuple(w for ln in lines for w in ln.split())


@dataclass(frozen=True)
class Turn:
    """One incoming message with what the core worked out about it."""

    msg: Incoming
    role: Role
    lang: str
    addressed: bool

    @property
    def private(self) -> bool:
        return self.msg.chat_kind is ChatKind.PRIVATE

    @property
    def must_reply(self) -> bool:
        return self.private or self.addressed


class Conversation:
    """Commands, FAQ answers with etiquette, ratings; everything in the user's language."""

    def __init__(
        self,
        *,
        settings: Settings,
        faq: FaqSource,
        store: Store,
        roles: Roles,
        translate: Translator,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.faq = faq
        self.store = store
        self.roles = roles
        self.t = translate
        self.clock = clock
        self.commands = CommandRegistry(COMMANDS)
        self._markers = _question_markers()
        self._handlers: dict[str, Callable[[Turn, str], Awaitable[list[Outgoing]]]] = {
            "start": self._cmd_start,
            "help": self._cmd_help,
            "lang": self._cmd_lang,
            "ask": self._cmd_ask,
            "unanswered": self._cmd_unanswered,
            "ratings": self._cmd_ratings,
            "reload": self._cmd_reload,
        }

    async def handle(self, msg: Incoming) -> list[Outgoing]:
        turn = self._turn(msg)
        try:
            return await self._dispatch(turn)
        except UserError as exc:
            return [self._reply(turn, self.t(turn.lang, exc.key, **exc.params))]
        except Exception:
            log.exception("failed to handle a message in %s", msg.chat)
            return (
                [self._reply(turn, self.t(turn.lang, "error_internal"))] if turn.must_reply else []
            )

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
        return Turn(msg, self.roles.role_of(msg.sender, msg.claimed_role), lang, addressed)

    async def _dispatch(self, turn: Turn) -> list[Outgoing]:
        msg = turn.msg
        if msg.action is not None:
            return self._on_action(turn, msg.action)
        text = msg.text.strip()
        if not text:
            if msg.attachments and turn.must_reply:
                raise UserError("error_no_text")
            return []
        if len(text) > self.settings.max_text_chars:
            if turn.must_reply:
                raise UserError("error_too_long", limit=self.settings.max_text_chars)
            return []
        parsed = parse_command(text)
        if parsed is not None:
            return await self._run_command(turn, parsed)
        return self._on_question(turn, text)

    # ---- commands -------------------------------------------------------------------------

    async def _run_command(self, turn: Turn, parsed: ParsedCommand) -> list[Outgoing]:
        command = self.commands.find(parsed.name)
        if command is None:
            # In a group, '/something' for another bot is none of our business.
            if not turn.must_reply:
                return []
            raise UserError("error_unknown_command", command=parsed.name)
        if not turn.role.allows(command.role):
            raise UserError(
                "error_permission",
                command=command.usage.split()[0],
                role=self.t(turn.lang, f"role_{command.role.value}"),
            )
        if not turn.private and not command.group_ok:
            raise UserError("error_private_only", command=command.usage.split()[0])
        return await self._handlers[command.name](turn, parsed.args)

    async def _cmd_start(self, turn: Turn, args: str) -> list[Outgoing]:
        return [self._reply(turn, self.t(turn.lang, "start"))]

    async def _cmd_help(self, turn: Turn, args: str) -> list[Outgoing]:
        lines = [self.t(turn.lang, "help_header")]
        lines += [
            self.t(turn.lang, "help_line", usage=c.usage, summary=self.t(turn.lang, c.summary_key))
            for c in self.commands.visible_to(turn.role)
        ]
        lines.append(self.t(turn.lang, "help_footer"))
        return [self._reply(turn, "\n".join(lines))]

    async def _cmd_lang(self, turn: Turn, args: str) -> list[Outgoing]:
        lang = normalize_language(args)
        if lang is None:
            raise UserError("lang_usage")
        self.store.people.set_language(turn.msg.sender.key, lang)
        return [self._reply(turn, self.t(lang, "lang_set"))]

    async def _cmd_ask(self, turn: Turn, args: str) -> list[Outgoing]:
        if not args:
            raise UserError("error_usage", usage="/ask <问题>")
        return self._on_question(Turn(turn.msg, turn.role, turn.lang, addressed=True), args)

    async def _cmd_unanswered(self, turn: Turn, args: str) -> list[Outgoing]:
        if args and not (args.isdigit() and 1 <= int(args) <= 50):
            raise UserError("error_usage", usage="/unanswered [1-50]")
        limit = int(args) if args else 10
        rows = self.store.questions.recent(limit)
        if not rows:
            return [self._reply(turn, self.t(turn.lang, "unanswered_empty"))]
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
        return [self._reply(turn, "\n".join(lines))]

    async def _cmd_ratings(self, turn: Turn, args: str) -> list[Outgoing]:
        rows = self.store.ratings.summary()
        if not rows:
            return [self._reply(turn, self.t(turn.lang, "ratings_empty"))]
        lines = [self.t(turn.lang, "ratings_header")]
        lines += [self.t(turn.lang, "ratings_line", id=i, up=u, down=d) for i, u, d in rows[:20]]
        return [self._reply(turn, "\n".join(lines))]

    async def _cmd_reload(self, turn: Turn, args: str) -> list[Outgoing]:
        result = self.faq.reload()
        if result.ok:
            return [self._reply(turn, self.t(turn.lang, "reload_ok", count=result.entries))]
        return [
            self._reply(
                turn, self.t(turn.lang, "reload_failed", count=result.entries, error=result.error)
            )
        ]

    # ---- FAQ ------------------------------------------------------------------------------

    def _on_question(self, turn: Turn, text: str) -> list[Outgoing]:
        if not self.faq.matcher.analyzer.tokens(text):
            # Only greetings, thanks or emoji: friendly in private, silent in groups.
            return [self._reply(turn, self.t(turn.lang, "greeting"))] if turn.private else []
        decision = self.faq.matcher.match(text)
        log.debug(
            "match %r -> %s %.3f %s", text, decision.kind, decision.score, decision.ranked[:3]
        )
        if decision.kind == "answer" and decision.entry is not None:
            if turn.must_reply or self._looks_like_question(text):
                return [self._answer(turn, decision.entry)]
            return []
        if not turn.must_reply:
            if self._looks_like_question(text):
                self._log_unanswered(turn, text)
            return []
        if decision.kind == "suggest":
            return [self._suggest(turn, decision)]
        self._log_unanswered(turn, text)
        key = "faq_none_private" if turn.private else "faq_none_addressed"
        return [self._reply(turn, self.t(turn.lang, key))]

    def _looks_like_question(self, text: str) -> bool:
        lowered = text.lower().replace("？", "?")
        return any(marker in lowered for marker in self._markers)

    def _answer(self, turn: Turn, entry: FaqEntry) -> Outgoing:
        base = Path(self.faq.path).parent
        return self._reply(
            turn,
            f"📌 {entry.title}\n{entry.answer}",
            buttons=(
                Button(self.t(turn.lang, "rate_up"), f"rate:up:{entry.id}"),
                Button(self.t(turn.lang, "rate_down"), f"rate:down:{entry.id}"),
            ),
            attachments=tuple(str(base / a) for a in entry.attachments),
        )

    def _suggest(self, turn: Turn, decision: Decision) -> Outgoing:
        header = self.t(turn.lang, "faq_suggest_header")
        buttons = tuple(Button(e.title, f"faq:{e.id}") for e in decision.suggestions)
        return self._reply(turn, header, buttons=buttons)

    def _log_unanswered(self, turn: Turn, text: str) -> None:
        sender = turn.msg.sender
        self.store.questions.record(
            self.clock(), sender.key, sender.display_name, str(turn.msg.chat), text
        )
        log.info("unanswered question from %s in %s", sender.key, turn.msg.chat)

    # ---- buttons --------------------------------------------------------------------------

    def _on_action(self, turn: Turn, action: str) -> list[Outgoing]:
        kind, _, rest = action.partition(":")
        if kind == "faq":
            entry = self.faq.matcher.faq.get(rest)
            if entry is None:
                raise UserError("error_unknown_action")
            return [self._answer(turn, entry)]
        if kind == "rate":
            verdict, _, entry_id = rest.partition(":")
            if verdict not in ("up", "down") or self.faq.matcher.faq.get(entry_id) is None:
                raise UserError("error_unknown_action")
            self.store.ratings.rate(self.clock(), turn.msg.sender.key, entry_id, verdict == "up")
            return [
                self._reply(
                    turn, self.t(turn.lang, "rate_thanks" if verdict == "up" else "rate_sorry")
                )
            ]
        raise UserError("error_unknown_action")

    # ---- helpers --------------------------------------------------------------------------

    def _reply(
        self,
        turn: Turn,
        text: str,
        buttons: tuple[Button, ...] = (),
        attachments: tuple[str, ...] = (),
    ) -> Outgoing:
        return Outgoing(turn.msg.chat, text, buttons, turn.msg.message_id, attachments)

    def reload_notice(self, result: ReloadResult) -> list[Outgoing]:
        """Messages telling admins that a changed faq.yaml was refused."""
        if result.ok:
            return []
        text = self.t(
            self.settings.language, "reload_failed", count=result.entries, error=result.error
        )
        return [Outgoing(address, text) for address in self.admin_addresses()]

    def admin_addresses(self) -> list[Address]:
        chats = self.settings.admin_chats or tuple(sorted(self.roles.admins()))
        out = []
        for key in chats:
            channel, _, chat_id = key.partition(":")
            out.append(Address(channel, chat_id))
        return out
