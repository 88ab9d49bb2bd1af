"""The booking dialogue, as steps of the dialogue engine (bot/dialogue/engine.py).

/book, and rebooking after a no-show or a move: date → slot → what help is needed."""

from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING

from bot.dialogue.engine import Ask, DialogueEngine, Done, Outcome, Prompt, State, Steps
from bot.dialogue.typed import day_in_words, plain
from bot.i18n import Translator
from bot.models import Button, Outgoing
from bot.turn import Turn

if TYPE_CHECKING:
    from bot.evening.booking import Appointments

log = logging.getLogger(__name__)

BOOK = "book"


class BookingFlow(Steps):
    """The booking dialogue's steps; the bookings themselves are the Appointments'. No draft
    is kept: only buttons were chosen, and the slots may be gone by next time."""

    name = BOOK

    def __init__(
        self, *, engine: DialogueEngine, appointments: Appointments, translate: Translator
    ) -> None:
        self.engine = engine
        self.book = appointments
        self.t = translate
        engine.add(self)

    def start(self, turn: Turn, replaces: int | None = None) -> list[Outgoing]:
        """The dialogue from its first step, in the resident's private chat."""
        self.book.service_or_refuse()
        to = turn.private_address
        before = [] if turn.private else [turn.reply(self.t(turn.lang, "book_go_private"))]
        if not self.book.bookable_days():
            return [*before, Outgoing(to, self.t(turn.lang, "book_full"))]
        state: State = {"step": "date"}
        if replaces is not None:
            state["replaces"] = replaces
        return self.engine.start(turn, BOOK, state, to=to, before=before)

    def prompt(self, turn: Turn, state: State) -> Prompt:
        step = state["step"]
        if step == "date":
            days = self.book.bookable_days()
            buttons = tuple(Button(self.book.day_label(turn.lang, d), f"b:date:{d}") for d in days)
            text = self.t(turn.lang, "book_choose_date", place=self.book.service_or_refuse().place)
            return Prompt(text, buttons, cancel=True)
        if step == "slot":
            day = date.fromisoformat(state["date"])
            buttons = tuple(
                Button(
                    self.t(turn.lang, "book_slot_button", start=s.start.strftime("%H:%M"), free=f),
                    f"b:slot:{s.id}",
                )
                for s, f in self.book.open_slots(day)
            )
            text = self.t(turn.lang, "book_choose_slot", day=self.book.day_label(turn.lang, day))
            return Prompt(text, buttons, cancel=True)
        needs = self.book.service_or_refuse().services
        buttons = tuple(Button(name, f"b:need:{i}") for i, name in enumerate(needs))
        return Prompt(self.t(turn.lang, "book_choose_need"), buttons, cancel=True)

    def on_text(self, turn: Turn, state: State, text: str) -> Outcome:
        """At the last step typed words say what help is needed (a bare 好 / 确认 does not);
        elsewhere a re-prompt."""
        if state["step"] == "need" and text and plain(text) not in self.engine.synonyms.yes:
            return self._book(turn, state, text[:100])
        today = self.engine.clock().date()
        if state["step"] == "date" and day_in_words(text, today, self.engine.synonyms):
            return self._ask(turn, state, "date", note="book_day_not_offered")  # 周日
        return self._ask(turn, state, state["step"], note="dialogue_pick")

    def on_choice(self, turn: Turn, state: State, action: str) -> Outcome:
        verb, _, arg = action.removeprefix("b:").partition(":")
        if verb == "date":
            day = date.fromisoformat(arg)
            if day not in self.book.bookable_days():
                return self._ask(turn, state, "date", note="book_day_full")
            state["date"] = day.isoformat()
            return self._ask(turn, state, "slot")
        if verb == "slot":
            state["slot"] = arg
            return self._ask(turn, state, "need")
        services = self.book.service_or_refuse().services
        if int(arg) >= len(services):  # the schedule changed under a stored dialogue
            return self._ask(turn, state, "need", note="dialogue_pick")
        return self._book(turn, state, services[int(arg)])

    def _ask(self, turn: Turn, state: State, step: str, note: str = "") -> Outcome:
        """`step`, or an earlier one when it has nothing left to offer (every day full: the
        dialogue ends saying so)."""
        if step == "slot" and not self.book.open_slots(date.fromisoformat(state["date"])):
            step, note = "date", "book_day_full"
        if step == "date" and not self.book.bookable_days():
            return Done([turn.reply(self.t(turn.lang, "book_full"))])
        state["step"] = step
        return Ask(state, note=note)

    def _book(self, turn: Turn, state: State, need: str) -> Outcome:
        day = date.fromisoformat(state["date"])
        result = self.book.book(turn, day, str(state["slot"]), need, state.get("replaces"))
        if result is None:  # the slot filled up or started meanwhile
            return self._ask(turn, state, "slot", note="book_slot_taken")
        return Done(result)
