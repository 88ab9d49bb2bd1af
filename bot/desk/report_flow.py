"""Multi-step dialogues (reporting a problem, adding details) with their state in the store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot.commands import Action, Command, Handler
from bot.desk.intake import Intake, NewReport
from bot.errors import UserError
from bot.i18n import Translator
from bot.models import Address, Button, Outgoing
from bot.store.repos import DialogueRepo
from bot.turn import Turn

REPORT = "report"
DETAIL = "detail"
DRAFT = "draft"  # where a timed-out report waits to be resumed


class Dialogues:
    """Runs the report and add-details dialogues; a restart resumes from the stored step."""

    def __init__(
        self,
        *,
        repo: DialogueRepo,
        intake: Intake,
        translate: Translator,
        clock: Callable[[], datetime],
        timeout: timedelta,
    ) -> None:
        self.repo = repo
        self.intake = intake
        self.t = translate
        self.clock = clock
        self.timeout = timeout

    def _key(self, turn: Turn) -> tuple[str, str]:
        return turn.sender_key, self._chat_key(turn.msg.chat if not turn.private else None)

    @staticmethod
    def _chat_key(chat: Address | None) -> str:
        """A person has one private conversation whatever its room id is on their network."""
        return "private" if chat is None else str(chat)

    def active(self, turn: Turn) -> dict[str, Any] | None:
        """The dialogue in progress here, unless it was left untouched for too long; a report
        that timed out with its text typed is kept as a draft to offer next time."""
        state = self.repo.get(*self._key(turn))
        if state is None:
            return None
        if self.clock() - datetime.fromisoformat(state["at"]) > self.timeout:
            self.repo.clear(*self._key(turn))
            if turn.private and state.get("flow") == REPORT and state.get("text"):
                self.repo.put(turn.sender_key, DRAFT, state)
            return None
        return state

    def draft_offer(self, turn: Turn) -> list[Outgoing]:
        """Once after a report dialogue timed out: offer to go on with what was typed."""
        draft = self.repo.get(turn.sender_key, DRAFT) if turn.private else None
        if draft is None or draft.get("offered"):
            return []
        draft["offered"] = True
        self.repo.put(turn.sender_key, DRAFT, draft)
        return [
            Outgoing(
                turn.private_address,
                self.t(turn.lang, "report_draft_offer", text=str(draft["text"])[:40]),
                (
                    Button(self.t(turn.lang, "report_draft_resume"), "flow:resume"),
                    Button(self.t(turn.lang, "report_draft_discard"), "flow:discard"),
                ),
            )
        ]

    def _resume(self, turn: Turn) -> dict[str, Any] | None:
        """The draft becomes the dialogue again (a button pressed after the timeout)."""
        draft = self.repo.get(turn.sender_key, DRAFT) if turn.private else None
        if draft is None:
            return None
        self.repo.clear(turn.sender_key, DRAFT)
        draft.pop("offered", None)
        self._save(turn, draft)
        return draft

    def _save(self, turn: Turn, state: dict[str, Any], chat: Address | None = None) -> None:
        state["at"] = self.clock().isoformat()
        private = turn.private or chat == turn.private_address
        self.repo.put(
            turn.sender_key, self._chat_key(None if private else chat or turn.msg.chat), state
        )

    def cancel(self, turn: Turn) -> list[Outgoing]:
        if self.active(turn) is None:
            return [turn.reply(self.t(turn.lang, "report_nothing_to_cancel"))]
        self.repo.clear(*self._key(turn))
        return [turn.reply(self.t(turn.lang, "report_cancelled"))]

    # ---- starting -------------------------------------------------------------------------

    def start_report(self, turn: Turn, text: str) -> list[Outgoing]:
        """/report: in private a guided dialogue; in a group a ticket at once, details in private."""
        if turn.private:
            state: dict[str, Any] = {"flow": REPORT, "attachments": list(turn.msg.attachments)}
            if text:
                state.update(text=text, category=self.intake.guess_category(text))
                return self._ask_compound(turn, state)
            return self._ask_category(turn, state)
        if not text:
            return [
                turn.reply(self.t(turn.lang, "report_group_go_private")),
                *self._private_category_prompt(turn),
            ]
        report = NewReport(
            "report",
            self.intake.guess_category(text),
            self.intake.compound_of(turn),
            text,
            turn.msg.attachments,
        )
        similar = self.intake.similar_open(report, turn.msg.chat)
        if similar is not None:
            self._save(
                turn,
                {
                    "flow": REPORT,
                    "step": "metoo",
                    "candidate": similar.number,
                    "text": report.text,
                    "category": report.category,
                    "compound": report.compound,
                    "attachments": list(report.attachments),
                },
            )
            return [self._metoo_offer(turn, similar.number, similar.text)]
        return self._create_from_group(turn, report)

    def _private_category_prompt(self, turn: Turn) -> list[Outgoing]:
        state: dict[str, Any] = {
            "flow": REPORT,
            "attachments": [],
            "compound": self.intake.compound_of(turn),
        }
        return self._ask_category(turn, state, to=turn.private_address)

    def _create_from_group(self, turn: Turn, report: NewReport) -> list[Outgoing]:
        ticket, cards = self.intake.create(turn, report)
        private = turn.private_address
        self._save(turn, {"flow": DETAIL, "ticket": ticket.number}, chat=private)
        return [
            turn.reply(self.t(turn.lang, "report_created_group", number=ticket.number)),
            Outgoing(
                private,
                self.t(
                    turn.lang,
                    "report_continue_private",
                    group=turn.msg.chat_title or turn.msg.chat.chat_id,
                    number=ticket.number,
                    category=ticket.category,
                ),
            ),
            *cards,
        ]

    def open_details(self, turn: Turn, number: int) -> list[Outgoing]:
        """The reporter came to the private chat for ticket `number` (a group's button)."""
        self._save(turn, {"flow": DETAIL, "ticket": number})
        return [turn.reply(self.t(turn.lang, "report_details_opened", number=number))]

    def _metoo_offer(self, turn: Turn, number: int, text: str) -> Outgoing:
        return turn.reply(
            self.t(turn.lang, "report_metoo_offer", number=number, text=text[:40]),
            buttons=(
                Button(self.t(turn.lang, "report_metoo_yes"), f"flow:metoo:{number}"),
                Button(self.t(turn.lang, "report_metoo_no"), "flow:new"),
            ),
        )

    # ---- steps ----------------------------------------------------------------------------

    def _ask_category(
        self, turn: Turn, state: dict[str, Any], to: Address | None = None
    ) -> list[Outgoing]:
        state["step"] = "category"
        self._save(turn, state, chat=to)
        buttons = tuple(
            Button(c.name, f"flow:cat:{i}") for i, c in enumerate(self.intake.settings.categories)
        )
        return [
            Outgoing(
                to or turn.msg.chat,
                self.t(turn.lang, "report_choose_category"),
                (*buttons, self._cancel_button(turn)),
            )
        ]

    def _ask_compound(self, turn: Turn, state: dict[str, Any]) -> list[Outgoing]:
        if state.get("compound"):
            return self._ask_photo(turn, state)
        state["step"] = "compound"
        self._save(turn, state)
        compounds = self.intake.settings.compounds
        if not compounds:
            return [turn.reply(self.t(turn.lang, "report_ask_compound_free"))]
        buttons = tuple(Button(c, f"flow:compound:{i}") for i, c in enumerate(compounds))
        return [turn.reply(self.t(turn.lang, "report_ask_compound"), buttons)]

    def _ask_photo(self, turn: Turn, state: dict[str, Any]) -> list[Outgoing]:
        if state.get("attachments"):
            return self._ask_confirm(turn, state)
        state["step"] = "photo"
        self._save(turn, state)
        return [
            turn.reply(
                self.t(turn.lang, "report_ask_photo"),
                (Button(self.t(turn.lang, "report_skip"), "flow:skip"),),
            )
        ]

    def _ask_confirm(self, turn: Turn, state: dict[str, Any]) -> list[Outgoing]:
        state["step"] = "confirm"
        self._save(turn, state)
        photo = self.t(turn.lang, "report_confirm_photo") if state.get("attachments") else ""
        text = self.t(
            turn.lang,
            "report_confirm",
            category=state["category"],
            compound=" ".join(p for p in (state["compound"], state.get("location", "")) if p),
            text=state["text"],
            photo=photo,
        )
        return [
            turn.reply(
                text,
                (
                    Button(self.t(turn.lang, "report_submit"), "flow:submit"),
                    self._cancel_button(turn),
                ),
            )
        ]

    def _cancel_button(self, turn: Turn) -> Button:
        return Button(self.t(turn.lang, "report_cancel"), "flow:cancel")

    # ---- input ----------------------------------------------------------------------------

    def on_message(self, turn: Turn, state: dict[str, Any]) -> list[Outgoing]:
        text = turn.msg.text.strip()
        if state["flow"] == DETAIL:
            return self._on_detail(turn, state, text)
        step = state.get("step")
        if step == "text":
            if not text:
                raise UserError("report_photo_expected_text")
            state["text"] = text
            state["attachments"] = state.get("attachments", []) + list(turn.msg.attachments)
            return self._ask_compound(turn, state)
        if step == "compound" and text:
            state["compound"], state["location"] = self.intake.compounds.normalize(text)
            return self._ask_photo(turn, state)
        if step == "photo" and turn.msg.attachments:
            state["attachments"] = list(turn.msg.attachments)
            return self._ask_confirm(turn, state)
        return self._repeat(turn, state)

    def _repeat(self, turn: Turn, state: dict[str, Any]) -> list[Outgoing]:
        step = state.get("step")
        if step == "metoo":
            return [self._metoo_offer(turn, int(state["candidate"]), state["text"])]
        if step == "category":
            return self._ask_category(turn, state)
        if step == "compound":
            return self._ask_compound(turn, state)
        if step == "photo":
            return self._ask_photo(turn, state)
        return self._ask_confirm(turn, state)

    def _on_detail(self, turn: Turn, state: dict[str, Any], text: str) -> list[Outgoing]:
        number = int(state["ticket"])
        if text in self.t(turn.lang, "report_done_words").split():
            self.repo.clear(*self._key(turn))
            return [turn.reply(self.t(turn.lang, "report_detail_done", number=number))]
        self.intake.add_detail(turn, number, text, turn.msg.attachments)
        return [turn.reply(self.t(turn.lang, "report_detail_added", number=number))]

    def commands(self) -> list[tuple[Command, Handler]]:
        return []  # /report and /cancel are the core's: /cancel also withdraws broadcasts

    def actions(self) -> list[tuple[Action, Handler]]:
        return [(Action("flow"), self._on_button)]

    async def _on_button(self, turn: Turn, value: str) -> list[Outgoing]:
        return self.on_action(turn, value)

    def on_action(self, turn: Turn, value: str) -> list[Outgoing]:
        if value == "discard":
            self.repo.clear(turn.sender_key, DRAFT)
            return [turn.reply(self.t(turn.lang, "report_cancelled"))]
        state = self.active(turn) or self._resume(turn)
        if value == "resume" and state is not None:
            return self._repeat(turn, state)
        if value == "cancel" or state is None:
            if state is None:
                raise UserError("error_unknown_action")
            return self.cancel(turn)
        kind, _, arg = value.partition(":")
        if kind == "cat" and arg.isdigit() and int(arg) < len(self.intake.settings.categories):
            state["category"] = self.intake.settings.categories[int(arg)].name
            state["step"] = "text"
            self._save(turn, state)
            return [turn.reply(self.t(turn.lang, "report_ask_text"))]
        if kind == "compound" and arg.isdigit() and int(arg) < len(self.intake.settings.compounds):
            state["compound"] = self.intake.settings.compounds[int(arg)]
            return self._ask_photo(turn, state)
        if kind == "skip" and state.get("step") == "photo":
            return self._ask_confirm(turn, state)
        if kind == "submit" and state.get("step") == "confirm":
            return self._submit(turn, state)
        if kind == "metoo" and state.get("step") == "metoo":
            self.repo.clear(*self._key(turn))
            ticket = self.intake.tickets.get(int(state["candidate"]))
            if ticket is None:
                raise UserError("ticket_not_found", number=state["candidate"])
            return self.intake.join(turn, ticket)
        if kind == "new" and state.get("step") == "metoo":
            self.repo.clear(*self._key(turn))
            return self._create(turn, self._report(state))
        raise UserError("error_unknown_action")

    def _report(self, state: dict[str, Any]) -> NewReport:
        return NewReport(
            "report",
            state["category"],
            state.get("compound", ""),
            state["text"],
            tuple(state.get("attachments", [])),
            state.get("location", ""),
        )

    def _submit(self, turn: Turn, state: dict[str, Any]) -> list[Outgoing]:
        report = self._report(state)
        similar = self.intake.similar_open(report, turn.msg.chat)
        if similar is not None:
            state.update(step="metoo", candidate=similar.number)
            self._save(turn, state)
            return [self._metoo_offer(turn, similar.number, similar.text)]
        self.repo.clear(*self._key(turn))
        return self._create(turn, report)

    def _create(self, turn: Turn, report: NewReport) -> list[Outgoing]:
        if not turn.private:
            return self._create_from_group(turn, report)
        ticket, cards = self.intake.create(turn, report)
        return [
            turn.reply(self.t(turn.lang, "report_created_private", number=ticket.number)),
            *cards,
        ]
