"""The report and add-details dialogues, as steps of the dialogue engine.

Reporting: category → description → compound → photo → confirm, or "me too" when a similar
ticket is open; adding details: after a report from a group, what the reporter sends
privately. The engine (bot/dialogue/engine.py) keeps their state, drafts and timeouts."""

from __future__ import annotations

from typing import Any

from bot.commands import Action, Command, Handler
from bot.desk.intake import Intake, NewReport
from bot.desk.tickets import Ticket
from bot.dialogue.engine import Ask, DialogueEngine, Done, Outcome, Prompt, State, Steps
from bot.errors import UserError
from bot.i18n import Translator
from bot.models import Address, Button, Outgoing, media_kind
from bot.turn import Turn

REPORT = "report"
DETAIL = "detail"
# The report's steps in order; a step already answered (a compound known from the group, a
# photo sent with the description) is skipped.
STEPS = ("category", "text", "compound", "photo", "confirm")


class ReportFlow(Steps):
    """The report dialogue's steps: what each asks and what an answer does."""

    name = REPORT
    draft_key = "report_draft_offer"

    def __init__(self, *, engine: DialogueEngine, intake: Intake, translate: Translator) -> None:
        self.engine = engine
        self.intake = intake
        self.t = translate

    def at(self, state: State, step: str) -> Ask:
        """`state` at `step`, or the first step after it not answered yet."""
        for name in STEPS[STEPS.index(step) :]:
            if name == "compound" and state.get("compound"):
                continue
            if name == "photo" and _has_photo(state):
                continue  # a photo came with the description (a voice is no photo)
            state["step"] = name
            return Ask(state)
        raise AssertionError(step)  # "confirm" is never skipped

    def prompt(self, turn: Turn, state: State) -> Prompt:
        step = state["step"]
        if step == "metoo":
            shown = str(state.get("candidate_text", ""))[:40]
            text = self.t(
                turn.lang,
                "report_metoo_offer" if shown else "report_metoo_offer_elsewhere",
                number=state["candidate"],
                text=shown,
                compound=str(state.get("candidate_compound", "")),
            )
            yes = Button(self.t(turn.lang, "report_metoo_yes"), f"flow:metoo:{state['candidate']}")
            return Prompt(text, (yes, Button(self.t(turn.lang, "report_metoo_no"), "flow:new")))
        if step == "category":
            categories = self.intake.settings.categories
            buttons = tuple(Button(c.name, f"flow:cat:{i}") for i, c in enumerate(categories))
            return Prompt(self.t(turn.lang, "report_choose_category"), buttons, cancel=True)
        if step == "text":
            return Prompt(self.t(turn.lang, "report_ask_text"))
        if step == "compound":
            compounds = self.intake.settings.compounds
            if not compounds:
                return Prompt(self.t(turn.lang, "report_ask_compound_free"))
            buttons = tuple(Button(c, f"flow:compound:{i}") for i, c in enumerate(compounds))
            return Prompt(self.t(turn.lang, "report_ask_compound"), buttons)
        if step == "photo":
            skip = Button(self.t(turn.lang, "report_skip"), "flow:skip")
            return Prompt(self.t(turn.lang, "report_ask_photo"), (skip,))
        return self._confirm_prompt(turn, state)

    def _confirm_prompt(self, turn: Turn, state: State) -> Prompt:
        photo = self.t(turn.lang, "report_confirm_photo") if _has_photo(state) else ""
        text = self.t(
            turn.lang,
            "report_confirm",
            category=state["category"],
            compound=" ".join(p for p in (state["compound"], state.get("location", "")) if p),
            text=state["text"],
            photo=photo,
        )
        submit = Button(self.t(turn.lang, "report_submit"), "flow:submit")
        return Prompt(text, (submit,), cancel=True)

    def on_text(self, turn: Turn, state: State, text: str) -> Outcome:
        step = state.get("step")
        if step == "text":
            voice = any(media_kind(ref)[0] == "voice" for ref in turn.msg.attachments)
            if not text and not voice:
                return Ask(state, note="report_photo_expected_text")
            # an elderly resident may say it rather than type it: the voice is the description
            state["text"] = text or self.t(turn.lang, "voice_ticket_text")
            state["attachments"] = state.get("attachments", []) + list(turn.msg.attachments)
            return self.at(state, "compound")
        if step == "compound" and text:
            state["compound"], state["location"] = self.intake.compounds.normalize(text)
            return self.at(state, "photo")
        if step == "photo" and turn.msg.attachments:
            state["attachments"] = [*state.get("attachments", []), *turn.msg.attachments]
            return self.at(state, "confirm")
        return Ask(state, note="dialogue_pick")  # a step with buttons: say how to answer

    def on_choice(self, turn: Turn, state: State, action: str) -> Outcome:
        kind, _, arg = action.removeprefix("flow:").partition(":")
        categories, compounds = self.intake.settings.categories, self.intake.settings.compounds
        if kind in ("cat", "compound") and int(arg) >= len(
            categories if kind == "cat" else compounds
        ):  # the settings changed under a stored dialogue
            return Ask(state, note="dialogue_pick")
        if kind == "cat":
            state["category"] = categories[int(arg)].name
            return self.at(state, "text")
        if kind == "compound":
            state["compound"] = compounds[int(arg)]
            return self.at(state, "photo")
        if kind == "skip":
            return self.at(state, "confirm")
        if kind == "submit":
            return self._submit(turn, state)
        if kind == "metoo":
            ticket = self.intake.tickets.get(int(state["candidate"]))
            if ticket is None:
                raise UserError("ticket_not_found", number=state["candidate"])
            return Done(self.intake.join(turn, ticket))
        return Done(self.create(turn, report_of(state)))  # "new": not the same problem

    def _submit(self, turn: Turn, state: State) -> Outcome:
        report = report_of(state)
        similar = self.intake.similar_open(report, turn.msg.chat)
        if similar is not None:
            state.update(metoo_offer(similar, turn.msg.chat))
            return Ask(state)
        return Done(self.create(turn, report))

    def create(self, turn: Turn, report: NewReport) -> list[Outgoing]:
        """The ticket, and what the reporter and the staff rooms are told."""
        if not turn.private:
            return self.create_from_group(turn, report)
        ticket, cards = self.intake.create(turn, report)
        return [
            turn.reply(self.t(turn.lang, "report_created_private", number=ticket.number)),
            *cards,
        ]

    def create_from_group(self, turn: Turn, report: NewReport) -> list[Outgoing]:
        """A ticket at once; its details go on in the reporter's private chat."""
        ticket, cards = self.intake.create(turn, report)
        self.engine.begin(turn, DETAIL, {"ticket": ticket.number}, to=turn.private_address)
        return [
            turn.reply(self.t(turn.lang, "report_created_group", number=ticket.number)),
            Outgoing(
                turn.private_address,
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

    def draft_text(self, state: State) -> str:
        return str(state.get("text", ""))


class DetailFlow(Steps):
    """After a report from a group: what the reporter sends privately is added to the ticket
    until they say "完成"."""

    name = DETAIL

    def __init__(self, *, intake: Intake, translate: Translator) -> None:
        self.intake = intake
        self.t = translate

    def prompt(self, turn: Turn, state: State) -> Prompt:
        return Prompt(self.t(turn.lang, "report_detail_prompt", number=state["ticket"]))

    def on_text(self, turn: Turn, state: State, text: str) -> Outcome:
        return self._on_detail(turn, state, text)

    def _on_detail(self, turn: Turn, state: State, text: str) -> Outcome:
        """A detail message arrived (text and/or attachments), or the word that ends them."""
        number = int(state["ticket"])
        if text in self.t(turn.lang, "report_done_words").split():
            return Done([turn.reply(self.t(turn.lang, "report_detail_done", number=number))])
        self.intake.add_detail(turn, number, text, turn.msg.attachments)
        added = turn.reply(self.t(turn.lang, "report_detail_added", number=number))
        return Ask(state, instead=(added,))

    def on_choice(self, turn: Turn, state: State, action: str) -> Outcome:
        return Ask(state)


class Reports:
    """Starts the report dialogue (/report, an FAQ action) and takes its buttons."""

    def __init__(self, *, engine: DialogueEngine, intake: Intake, translate: Translator) -> None:
        self.engine = engine
        self.intake = intake
        self.t = translate
        self.flow = ReportFlow(engine=engine, intake=intake, translate=translate)
        engine.add(self.flow)
        engine.add(DetailFlow(intake=intake, translate=translate))

    def start_report(self, turn: Turn, text: str) -> list[Outgoing]:
        """/report: in private a guided dialogue; in a group a ticket at once, details in private."""
        if turn.private:
            state: dict[str, Any] = {"attachments": list(turn.msg.attachments)}
            if text:
                state.update(text=text, category=self.intake.guess_category(text))
                return self._start(turn, self.flow.at(state, "compound"))
            return self._start(turn, self.flow.at(state, "category"))
        if not text:
            state = {"attachments": [], "compound": self.intake.compound_of(turn)}
            return self._start(
                turn,
                self.flow.at(state, "category"),
                before=[turn.reply(self.t(turn.lang, "report_group_go_private"))],
                private=True,
            )
        report = NewReport(
            "report",
            self.intake.guess_category(text),
            self.intake.compound_of(turn),
            text,
            turn.msg.attachments,
        )
        similar = self.intake.similar_open(report, turn.msg.chat)
        if similar is not None:
            state = {
                **metoo_offer(similar, turn.msg.chat),
                "text": report.text,
                "category": report.category,
                "compound": report.compound,
                "attachments": list(report.attachments),
            }
            return self.engine.start(turn, REPORT, state)
        return self.flow.create_from_group(turn, report)

    def open_details(self, turn: Turn, number: int) -> list[Outgoing]:
        """The reporter came to the private chat for ticket `number` (a group's button)."""
        self.engine.begin(turn, DETAIL, {"ticket": number}, to=turn.private_address)
        return [turn.reply(self.t(turn.lang, "report_details_opened", number=number))]

    def _start(
        self, turn: Turn, ask: Ask, before: list[Outgoing] | None = None, private: bool = False
    ) -> list[Outgoing]:
        to = turn.private_address if private else None
        return self.engine.start(turn, REPORT, ask.state, to=to, before=before or ())

    def commands(self) -> list[tuple[Command, Handler]]:
        return []  # /report and /cancel are the core's: /cancel also withdraws broadcasts

    def actions(self) -> list[tuple[Action, Handler]]:
        return [(Action("flow"), self._on_button)]

    async def _on_button(self, turn: Turn, value: str) -> list[Outgoing]:
        return self.engine.press(turn, REPORT, f"flow:{value}")


def _has_photo(state: State) -> bool:
    return any(media_kind(ref)[0] == "photo" for ref in state.get("attachments", []))


def metoo_offer(similar: Ticket, chat: Address) -> State:
    """The "me too" step for `similar`: another resident's words are shown only in the chat
    they were written in; a match from elsewhere (another group, someone's private chat) is
    offered by its number and compound."""
    same_chat = similar.origin == str(chat)
    return {
        "step": "metoo",
        "candidate": similar.number,
        "candidate_text": similar.text if same_chat else "",
        "candidate_compound": similar.compound,
    }


def report_of(state: State) -> NewReport:
    """The report a dialogue's answers make."""
    return NewReport(
        "report",
        state["category"],
        state.get("compound", ""),
        state["text"],
        tuple(state.get("attachments", [])),
        state.get("location", ""),
    )
