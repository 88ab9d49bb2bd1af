"""Answering from the FAQ in chat: answers, suggestions, group etiquette, ratings, the log."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from bot.commands import Action, Command, Handler
from bot.errors import Localized, UserError
from bot.faq.entries import FaqEntry
from bot.faq.feedback import FaqSuggestions, QuestionLog, Ratings
from bot.faq.matcher import Decision
from bot.faq.placeholders import fill
from bot.faq.smalltalk import SmallTalk
from bot.faq.source import FaqSource
from bot.faq.unanswered import group_by_meaning
from bot.i18n import Translator
from bot.models import Button, Outgoing, Role
from bot.store.repos import DialogueRepo
from bot.turn import Turn

log = logging.getLogger(__name__)

UNANSWERED_WINDOW = 300  # the latest unanswered questions that /unanswered groups
UNANSWERED = "unanswered"  # where a staff member's last /unanswered groups are kept

Escalate = Callable[[Turn, str, str], list[Outgoing]]
"""Hands a question the FAQ cannot settle to the staff: (turn, text, category) -> replies."""


class FaqAnswers:
    """Decides what the FAQ says to a message, in private and in groups, and logs the rest.

    In a group the bot speaks only when addressed or when a message reads as a question it
    can answer confidently; in private it always replies, and what it cannot answer goes to
    the staff through `escalate`.
    """

    def __init__(
        self,
        *,
        faq: FaqSource,
        questions: QuestionLog,
        ratings: Ratings,
        suggestions: FaqSuggestions,
        pending: DialogueRepo,
        escalate: Escalate,
        small_talk: SmallTalk,
        placeholders: Mapping[str, str],
        translate: Translator,
        clock: Callable[[], datetime],
    ) -> None:
        self.faq = faq
        self.questions = questions
        self.ratings = ratings
        self.suggestions = suggestions
        self.pending = pending
        self.escalate = escalate
        self.small_talk = small_talk
        self.placeholders = placeholders
        self.t = translate
        self.clock = clock

    def commands(self) -> list[tuple[Command, Handler]]:
        return [
            (Command("ask", "cmd_ask", aliases=("问",), by_meaning=True), self._cmd_ask),
            (
                Command("unanswered", "cmd_unanswered", Role.STAFF, group_ok=False),
                self._cmd_unanswered,
            ),
            (Command("ratings", "cmd_ratings", Role.STAFF, group_ok=False), self._cmd_ratings),
            (Command("reload", "cmd_reload", Role.ADMIN), self._cmd_reload),
        ]

    def actions(self) -> list[tuple[Action, Handler]]:
        return [
            (Action("faq"), self._show_entry),
            (Action("rate"), self._rate),
            (Action("askstaff"), self._ask_staff),
        ]

    # ---- a message -----------------------------------------------------------------------

    def is_small_talk(self, text: str) -> bool:
        analyzer = self.faq.matcher.analyzer
        return not analyzer.tokens(text) or self.small_talk.matches(analyzer, text)

    def on_question(self, turn: Turn, text: str) -> list[Outgoing]:
        analyzer = self.faq.matcher.analyzer
        # Greetings, thanks, "ok", laughter or emoji: friendly in private, silent in groups,
        # and never a ticket.
        if not analyzer.tokens(text):
            return [turn.reply(self.t(turn.lang, "greeting"))] if turn.private else []
        if self.small_talk.matches(analyzer, text):
            return [turn.reply(self.t(turn.lang, "small_talk"))] if turn.private else []
        decision = self.faq.matcher.match(text)
        log.debug(
            "match %r -> %s %.3f %s", text, decision.kind, decision.score, decision.ranked[:3]
        )
        if not turn.must_reply:
            return self._overheard(turn, text, decision)
        if not turn.private:
            return self._addressed_in_group(turn, text, decision)
        if decision.kind == "none" and not analyzer.is_question(text):
            # Not a question and nothing the FAQ knows: the resident decides whether it is
            # for the staff (a statement may be a report, or just a remark).
            question = self._log_question(turn, text, "none")
            ask = Button(self.t(turn.lang, "ask_staff_button"), f"askstaff:{question}")
            return [turn.reply(self.t(turn.lang, "faq_unsure_statement"), (ask,))]
        if decision.kind == "none":
            self._log_question(turn, text, "none")
            return self.escalate(turn, text, self.faq.matcher.category_of(text) or "其他")
        ask_staff = Button(
            self.t(turn.lang, "ask_staff_button"),
            f"askstaff:{self._log_question(turn, text, decision.kind)}",
        )
        if decision.kind == "answer" and decision.entry is not None:
            return [self.answer(turn, decision.entry, extra=(ask_staff,))]
        return [self._suggest(turn, decision, extra=(ask_staff,))]

    def _overheard(self, turn: Turn, text: str, decision: Decision) -> list[Outgoing]:
        """A group message not addressed to the bot: only a confident answer to a question."""
        if not self.faq.matcher.analyzer.is_question(text):
            return []
        if decision.kind == "answer" and decision.entry is not None:
            return [self.answer(turn, decision.entry)]
        self._log_question(turn, text, "group")
        return []

    def _addressed_in_group(self, turn: Turn, text: str, decision: Decision) -> list[Outgoing]:
        if decision.kind == "answer" and decision.entry is not None:
            return [self.answer(turn, decision.entry)]
        if decision.kind == "suggest":
            return [self._suggest(turn, decision)]
        self._log_question(turn, text, "none")
        return [turn.reply(self.t(turn.lang, "faq_none_addressed"))]

    def text_of(self, entry: FaqEntry) -> str:
        """An entry as residents read it, its placeholders filled from the schedules."""
        return f"📌 {entry.title}\n{fill(entry.answer, self.placeholders)}"

    def answer(self, turn: Turn, entry: FaqEntry, extra: tuple[Button, ...] = ()) -> Outgoing:
        base = Path(self.faq.path).parent
        act = (
            (
                Button(
                    self.t(turn.lang, f"faq_action_{entry.action.do}_button"), f"faqdo:{entry.id}"
                ),
            )
            if entry.action is not None
            else ()
        )
        return turn.reply(
            self.text_of(entry),
            (
                *act,
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
        return self.questions.record(
            self.clock(),
            turn.sender_key,
            name=turn.sender_name,
            chat=str(turn.msg.chat),
            text=text,
            outcome=outcome,
        )

    # ---- buttons -------------------------------------------------------------------------

    async def _show_entry(self, turn: Turn, entry_id: str) -> list[Outgoing]:
        entry = self.faq.matcher.faq.get(entry_id)
        if entry is None:
            raise UserError("error_unknown_action")
        return [self.answer(turn, entry)]

    async def _rate(self, turn: Turn, rest: str) -> list[Outgoing]:
        verdict, _, entry_id = rest.partition(":")
        if verdict not in ("up", "down") or self.faq.matcher.faq.get(entry_id) is None:
            raise UserError("error_unknown_action")
        self.ratings.rate(self.clock(), turn.sender_key, entry_id, verdict == "up")
        key = "rate_thanks" if verdict == "up" else "rate_sorry"
        # In a group the thanks is for the presser alone (a toast), not for the neighbours.
        return [replace(turn.reply(self.t(turn.lang, key)), toast=not turn.private)]

    async def _ask_staff(self, turn: Turn, question_id: str) -> list[Outgoing]:
        question = self.questions.get(int(question_id)) if question_id.isdigit() else None
        if question is None or question.person != turn.sender_key:
            raise UserError("error_unknown_action")
        category = self.faq.matcher.category_of(question.text) or "其他"
        return self.escalate(turn, question.text, category)

    # ---- commands ------------------------------------------------------------------------

    async def _cmd_ask(self, turn: Turn, args: str) -> list[Outgoing]:
        if not args:
            raise UserError("error_usage", usage=Localized("usage_ask"))
        return self.on_question(turn, args)

    async def _cmd_unanswered(self, turn: Turn, args: str) -> list[Outgoing]:
        """The questions the FAQ could not settle lately, grouped by meaning, the most asked
        first; each group can be answered at once with `/answer g<N> <faq-id>`."""
        if args and not (args.isdigit() and 1 <= int(args) <= 50):
            raise UserError("error_usage", usage=Localized("usage_unanswered"))
        rows = self.questions.recent(UNANSWERED_WINDOW, unanswered_only=True)
        if not rows:
            return [turn.reply(self.t(turn.lang, "unanswered_empty"))]
        model, words = self.faq.status.model, self.faq.matcher.analyzer.tokens
        # Embedding a few hundred questions takes seconds: not on the event loop.
        groups = await asyncio.to_thread(group_by_meaning, rows, model, words)
        shown = groups[: int(args) if args else 10]
        self.pending.put(turn.sender_key, UNANSWERED, {"groups": [g.wordings for g in shown]})
        lines = [self.t(turn.lang, "unanswered_groups_header", count=len(rows))]
        for number, group in enumerate(shown, 1):
            wordings = group.wordings
            also = self.t(turn.lang, "unanswered_also", texts="；".join(wordings[1:4]))
            lines.append(
                self.t(
                    turn.lang,
                    "unanswered_group",
                    number=number,
                    people=group.people,
                    text=wordings[0],
                    also=also if len(wordings) > 1 else "",
                    when=group.questions[0].at[5:16].replace("T", " "),
                )
            )
        lines.append(self.t(turn.lang, "unanswered_footer"))
        return [turn.reply("\n".join(lines))]

    def answer_group(self, turn: Turn, group: int, entry_id: str) -> list[Outgoing]:
        """/answer g<N> <faq-id>: every wording of a group becomes a suggested phrasing of
        the entry (`yishiting faq suggestions` / `faq accept` write them into faq.yaml)."""
        entry = self.faq.matcher.faq.get(entry_id)
        if entry is None:
            raise UserError("ticket_unknown_faq", id=entry_id)
        state = self.pending.get(turn.sender_key, UNANSWERED) or {}
        groups = state.get("groups", [])
        if not 1 <= group <= len(groups):
            raise UserError("unanswered_no_group", number=group)
        for text in groups[group - 1]:
            self.suggestions.add(self.clock(), entry.id, str(text), 0)
        count = len(groups[group - 1])
        return [turn.reply(self.t(turn.lang, "unanswered_answered", count=count, entry=entry.id))]

    async def _cmd_ratings(self, turn: Turn, args: str) -> list[Outgoing]:
        rows = self.ratings.summary()
        if not rows:
            return [turn.reply(self.t(turn.lang, "ratings_empty"))]
        lines = [self.t(turn.lang, "ratings_header")]
        lines += [self.t(turn.lang, "ratings_line", id=i, up=u, down=d) for i, u, d in rows[:20]]
        return [turn.reply("\n".join(lines))]

    async def _cmd_reload(self, turn: Turn, args: str) -> list[Outgoing]:
        result = self.faq.reload()
        key = "reload_ok" if result.ok else "reload_failed"
        return [turn.reply(self.t(turn.lang, key, count=result.entries, error=result.error))]
