"""The conversation core: one Incoming in, the Outgoing replies out, for every network."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from bot.broadcast.broadcasts import Broadcasts
from bot.chats import ChatNews
from bot.commands import (
    PREFIXES,
    Action,
    ActionRegistry,
    Capability,
    Command,
    CommandRegistry,
    ParsedCommand,
    parse_command,
)
from bot.config import Settings
from bot.desk.cards import Cards
from bot.desk.intake import Intake
from bot.desk.report_flow import Reports
from bot.desk.staff import StaffDesk
from bot.desk.threads import Threads
from bot.dialogue.engine import DialogueEngine
from bot.errors import Localized, UserError
from bot.evening.booking import Appointments
from bot.faq.answers import FaqAnswers
from bot.faq.entries import FaqAction
from bot.faq.source import ReloadResult
from bot.i18n import Translator, language_of_text, normalize_language
from bot.models import Address, Button, ChatKind, Incoming, Outgoing, Role, media_kind
from bot.roles import Roles, require_for_button, require_for_command
from bot.store.outbox import from_record, to_record
from bot.store.repos import DialogueRepo, GroupDirectory, PeopleRepo
from bot.turn import Turn

log = logging.getLogger(__name__)

# What the bot could not say privately to someone who never started it (Telegram), kept for
# when they press the group's "私信我" button (/start go).
WAITING = "waiting"


class Conversation:
    """Routes each message to the command, button, dialogue, ticket or FAQ answer it is for,
    with group etiquette and in the user's language.

    The capabilities are built by the app's wiring (`bot.wiring`) and given here; their
    commands and button actions go into two registries, each entry with the role it needs,
    in the order given (the order of /help).
    """

    def __init__(
        self,
        *,
        settings: Settings,
        roles: Roles,
        people: PeopleRepo,
        groups: GroupDirectory,
        dialogues: DialogueEngine,
        waiting: DialogueRepo,
        translate: Translator,
        clock: Callable[[], datetime],
        answers: FaqAnswers,
        cards: Cards,
        staff: StaffDesk,
        reports: Reports,
        threads: Threads,
        intake: Intake,
        appointments: Appointments,
        broadcasts: Broadcasts,
        chats: ChatNews,
        capabilities: Sequence[Capability],
    ) -> None:
        self.settings = settings
        self.roles = roles
        self.people = people
        self.groups = groups
        self.dialogues = dialogues
        self.waiting = waiting  # what waits for a person's private chat (WAITING)
        self.t = translate
        self.clock = clock
        self.answers = answers
        self.cards = cards
        self.staff = staff
        self.reports = reports
        self.threads = threads
        self.intake = intake
        self.appointments = appointments
        self.broadcasts = broadcasts
        self.chats = chats
        own = [
            (Command("start", "cmd_start"), self._cmd_start),
            (Command("help", "cmd_help", aliases=("帮助",)), self._cmd_help),
            (Command("lang", "cmd_lang", aliases=("语言",)), self._cmd_lang),
            (
                Command("report", "cmd_report", aliases=("报修", "反映"), by_meaning=True),
                self._cmd_report,
            ),
            (Command("cancel", "cmd_cancel", aliases=("取消",)), self._cmd_cancel),
        ]
        self.commands = CommandRegistry(own + [c for cap in capabilities for c in cap.commands()])
        own_actions = [(Action("faqdo"), self._faq_button)]
        self.actions = ActionRegistry(
            own_actions + [a for cap in capabilities for a in cap.actions()]
        )

    async def handle(self, msg: Incoming) -> list[Outgoing]:
        if msg.chat_event is not None:  # news about the chat, not words: nothing to answer
            self.chats.on_event(msg)
            return []
        turn = self._turn(msg)
        try:
            return self._private_link(turn, await self._dispatch(turn))
        except UserError as exc:
            params = {
                k: self.t(turn.lang, v.key) if isinstance(v, Localized) else v
                for k, v in exc.params.items()
            }
            return [turn.reply(self.t(turn.lang, exc.key, **params))]
        except Exception:
            log.exception("failed to handle a message in %s", msg.chat)
            return [turn.reply(self.t(turn.lang, "error_internal"))] if turn.must_reply else []

    def _private_link(self, turn: Turn, outs: list[Outgoing]) -> list[Outgoing]:
        """In a group, what the bot would say privately to someone it cannot write to (on
        Telegram: who never started it, or blocked it) is not promised but offered: the answer
        in the group carries a button that opens the private chat, straight into the ticket."""
        private = turn.private_address
        if private == turn.msg.chat.room:  # a group's anonymous admin speaks as the group
            return outs
        if turn.private or not any(o.to == private for o in outs):
            return outs
        if self.chats.can_message(private):
            return outs
        kept = [o for o in outs if o.to != private]
        waiting = [to_record(o) for o in outs if o.to == private]
        self.waiting.put(turn.sender_key, WAITING, {"outs": waiting})
        tags = [o.tag.partition(":")[2] for o in kept if o.tag and o.tag.startswith("card:")]
        payload = f"t{tags[0]}" if tags else "go"
        link = Button(self.t(turn.lang, "private_link_button"), payload, link=True)
        for i, out in enumerate(kept):
            if out.to == turn.msg.chat:
                kept[i] = replace(out, buttons=(*out.buttons, link))
                return kept
        return [*kept, turn.reply(self.t(turn.lang, "private_link_text"), (link,))]

    def _turn(self, msg: Incoming) -> Turn:
        is_command = msg.text.lstrip().startswith(PREFIXES)
        lang = (
            self.people.language(msg.sender.key)
            or (None if is_command else language_of_text(msg.text))
            or normalize_language(msg.sender.language)
            or self.settings.language
        )
        addressed = (
            msg.mentions_bot
            or msg.reply_to_bot
            or any(_names(msg.text, name) for name in self.settings.bot_names)
        )
        role = self.roles.role_of(msg.sender, msg.claimed_role)
        if msg.chat_kind is not ChatKind.PRIVATE:
            self.groups.seen(str(msg.chat.room), msg.chat_title)
        else:  # they wrote to the bot: it can write back, whatever it learnt before
            self.chats.heard(Address(msg.sender.channel, msg.sender.user_id))
        if role.allows(Role.STAFF):
            self.people.remember_staff(msg.sender.key, msg.sender.display_name, role.value)
        return Turn(msg, role, lang, addressed)

    async def _dispatch(self, turn: Turn) -> list[Outgoing]:
        msg = turn.msg
        if msg.edit_of is not None or msg.unsupported is not None:
            return self._edit_or_media(turn)
        if msg.action is not None:
            return await self._on_action(turn, msg.action)
        text = msg.text.strip()
        if len(text) > self.settings.max_text_chars:
            # A command is addressed to the bot wherever it is typed: it gets the reason.
            if turn.must_reply or parse_command(text) is not None:
                raise UserError("error_too_long", limit=self.settings.max_text_chars)
            return []
        parsed = parse_command(text) if text else None
        if parsed is not None:
            return await self._run_command(turn, parsed)
        relayed = self.staff.on_card_reply(turn) if text else None
        if relayed is not None:
            return relayed
        dialogue = self.dialogues.active(turn) if turn.must_reply else None
        if dialogue is not None:
            return self.dialogues.on_message(turn, dialogue)
        if turn.must_reply:
            after = self.dialogues.after(turn, text)  # "完成" again, or a draft's offer answered
            if after is not None:
                return after
            offer = self.dialogues.draft_offer(turn)
            if offer:
                return [*await self._after_dialogue(turn, text), *offer]
        return await self._after_dialogue(turn, text)

    def _edit_or_media(self, turn: Turn) -> list[Outgoing]:
        """An edit (only a staff correction of a relayed reply is relayed again) or media the
        bot cannot take yet (never silence in private, never noise in a group)."""
        msg = turn.msg
        if msg.edit_of is not None:
            return self.staff.on_edit(turn) or []
        if not turn.private:
            return []
        kind = self.t(turn.lang, f"media_{msg.unsupported}")
        return [turn.reply(self.t(turn.lang, "media_unsupported", kind=kind))]

    async def _after_dialogue(self, turn: Turn, text: str) -> list[Outgoing]:
        """A message outside any dialogue: an FAQ keyword, a ticket's thread, or the FAQ."""
        msg = turn.msg
        entry = self.answers.faq.matcher.faq.with_keyword(text) if turn.private and text else None
        if entry is not None and entry.action is not None:
            return self._faq_action(turn, entry.action, text)
        routed = self.threads.route(turn) if text or msg.attachments else None
        if routed is not None:
            return routed
        if not text:
            return self._media_alone(turn)
        return self.answers.on_question(turn, text)

    def _media_alone(self, turn: Turn) -> list[Outgoing]:
        """Media without words, outside any dialogue or ticket: a voice message is a question
        for the staff (elderly residents speak rather than type); a file or a location is
        answered with what the bot can do with it; a photo needs words."""
        kinds = {media_kind(ref)[0] for ref in turn.msg.attachments}
        if not kinds or not turn.must_reply:
            return []
        if turn.private and "voice" in kinds:
            return self.intake.open_voice(turn)
        if turn.private and kinds <= {"file", "geo"}:
            kind = self.t(turn.lang, "media_file" if "file" in kinds else "media_location")
            return [turn.reply(self.t(turn.lang, "media_outside_ticket", kind=kind))]
        raise UserError("error_no_text")

    async def _run_command(self, turn: Turn, parsed: ParsedCommand) -> list[Outgoing]:
        found = self.commands.find(parsed.name)
        if found is None:
            # In a group, '/something' for another bot is none of our business.
            if not turn.must_reply:
                return []
            raise UserError("error_unknown_command", command=parsed.name)
        command, handler = found
        name = f"/{command.name}"
        require_for_command(turn.role, command.role, name)
        if not turn.private and not command.group_ok:
            raise UserError("error_private_only", command=name)
        if (
            command.role is not Role.RESIDENT
            and not turn.private
            and not self.cards.is_staff_room(turn.msg.chat.room)
        ):
            raise UserError("error_staff_room_only", command=name)
        return await handler(turn.addressed_copy(), parsed.args)

    def _faq_action(self, turn: Turn, action: FaqAction, text: str) -> list[Outgoing]:
        """An FAQ entry's keyword or button: what its answer promised happens."""
        if action.do == "book":
            return self.appointments.start_booking(turn)
        if action.do == "report":
            return self.reports.start_report(turn, "")
        request = text if text != action.keyword else action.keyword
        return self.intake.open_request(turn, request, action.category, action.staff_room)

    async def _faq_button(self, turn: Turn, entry_id: str) -> list[Outgoing]:
        entry = self.answers.faq.matcher.faq.get(entry_id)
        if entry is None or entry.action is None:
            raise UserError("error_unknown_action")
        return self._faq_action(turn, entry.action, entry.action.keyword or entry.title)

    async def _on_action(self, turn: Turn, text: str) -> list[Outgoing]:
        found = self.actions.find(text)
        if found is None:
            raise UserError("error_unknown_action")
        action, handler, argument = found
        require_for_button(turn.role, action.role)
        return await handler(turn, argument)

    # ---- the core's own commands ----------------------------------------------------------

    async def _cmd_start(self, turn: Turn, args: str) -> list[Outgoing]:
        """/start; from a group's private-chat button, `/start t1001` (add details to #1001,
        for its reporter only) or `/start go` (what the bot had to say privately then: the
        first step of a report or a booking begun in the group)."""
        payload = args.strip()
        waiting = self.waiting.get(turn.sender_key, WAITING) if turn.private else None
        if waiting is not None:
            self.waiting.clear(turn.sender_key, WAITING)
        ticket = re.fullmatch(r"t(\d{1,9})", payload) if turn.private else None
        if ticket is not None:
            number = int(ticket.group(1))
            found = self.cards.tickets.get(number)
            if found is None or not found.is_reporter(turn.sender_key):
                return [turn.reply(self.t(turn.lang, "start_not_your_ticket", number=number))]
            return self.reports.open_details(turn, number)
        outs = [from_record(doc) for doc in (waiting or {}).get("outs", [])]
        waited = [replace(out, to=turn.msg.chat) for out in outs]
        if payload == "go" and waited:
            return waited
        return [turn.reply(self.t(turn.lang, "start")), *waited]  # /start typed, not tapped

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
        self.people.set_language(turn.sender_key, lang)
        return [turn.reply(self.t(lang, "lang_set"))]

    async def _cmd_report(self, turn: Turn, args: str) -> list[Outgoing]:
        return self.reports.start_report(turn, args)

    async def _cmd_cancel(self, turn: Turn, args: str) -> list[Outgoing]:
        """/cancel: leave the dialogue in progress; /cancel N (admins): stop broadcast N."""
        if not args.strip():
            return self.dialogues.cancel(turn)
        if not turn.role.allows(Role.ADMIN):
            raise UserError("error_usage", usage=Localized("usage_cancel"))
        return self.broadcasts.cancel(turn, args)

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
            self.cards.card_sent(int(value), channel, chat_id, message_id)

    def undelivered(self, out: Outgoing, reason: str) -> list[Outgoing]:
        """What to say when `out` can never be delivered (a resident blocked the bot, or
        never started a private chat with it): for a ticket's message to a reporter, a
        notice to the ticket's staff rooms."""
        kind, _, value = (out.tag or "").partition(":")
        if kind != "card" or not value.isdigit():
            return []
        return self.cards.undelivered(int(value), out.to, reason)

    def reload_notice(self, result: ReloadResult) -> list[Outgoing]:
        """Messages telling admins that a changed faq.yaml was refused."""
        if result.ok:
            return []
        text = self.t(
            self.settings.language, "reload_failed", count=result.entries, error=result.error
        )
        return [Outgoing(address, text) for address in self.roles.admin_addresses()]


def _names(text: str, name: str) -> bool:
    """'@name' in the text: a Latin name as a whole word (@yishiting_fans is someone else);
    a Chinese one wherever it stands (no spaces separate Chinese words)."""
    if not name.isascii():
        return f"@{name}" in text
    return re.search(rf"@{re.escape(name)}(?![A-Za-z0-9_])", text, re.IGNORECASE) is not None
