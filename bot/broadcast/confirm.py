"""The confirmation of an admin's broadcast, as a one-step dialogue of the dialogue engine.

After /broadcast the preview asks "确认发送 / 取消"; the admin taps, or types 确认 / 取消 / 1.
A preview whose dialogue timed out, was cancelled or replaced by a newer one does nothing;
a broadcast already confirmed, dropped or due in the past says so.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.broadcast.plan import CANCELLED, DRAFT, BroadcastRecords
from bot.commands import parse_number
from bot.dialogue.engine import Ask, DialogueEngine, Done, Outcome, Prompt, State, Steps
from bot.errors import UserError
from bot.models import Button, Outgoing
from bot.store.folder import Store
from bot.turn import Turn

CONFIRM = "broadcast"

# What the preview's buttons do: (turn, verb, number) → the replies.
Decide = Callable[[Turn, str, int], list[Outgoing]]


class BroadcastConfirmFlow(Steps):
    """One step, "confirm": the preview with its buttons (bc:confirm / bc:often / bc:drop)."""

    name = CONFIRM

    def __init__(self, *, engine: DialogueEngine, store: Store, decide: Decide) -> None:
        self.engine = engine
        self.store = store
        self.decide = decide
        engine.add(self)

    def ask(self, turn: Turn, number: int, preview: Outgoing) -> list[Outgoing]:
        """The preview of broadcast `number`, now awaiting its confirmation."""
        buttons = [[b.label, b.action] for b in preview.buttons]
        state: State = {"step": "confirm", "id": number, "text": preview.text, "buttons": buttons}
        return self.engine.start(turn, CONFIRM, state)

    def prompt(self, turn: Turn, state: State) -> Prompt:
        buttons = tuple(Button(str(label), str(action)) for label, action in state["buttons"])
        return Prompt(str(state["text"]), buttons)

    def on_text(self, turn: Turn, state: State, text: str) -> Outcome:
        return Ask(state, note="dialogue_pick")

    def on_choice(self, turn: Turn, state: State, action: str) -> Outcome:
        verb, _, arg = action.removeprefix("bc:").partition(":")
        return Done(self.decide(turn, verb, parse_number(arg)))

    def on_cancel(self, state: State) -> None:
        """/cancel under a preview: the draft is withdrawn, as its 取消 button would."""
        records = self.store.repo(BroadcastRecords)
        doc = records.get(int(state["id"]))
        if doc is not None and doc["status"] == DRAFT:
            doc["status"] = CANCELLED
            records.save(int(state["id"]), doc)

    def stale(self, turn: Turn, action: str) -> list[Outgoing] | None:
        """A preview's button no dialogue asks now: why it does nothing."""
        verb, _, arg = action.removeprefix("bc:").partition(":")
        number = parse_number(arg)
        doc = self.store.repo(BroadcastRecords).get(number)
        if doc is None or doc["status"] != DRAFT:
            raise UserError("broadcast_not_found", id=number)
        if bool(doc.get("often")) != (verb == "often") and verb != "drop":
            raise UserError("error_unknown_action")  # a repeat this often needs its own yes
        at = (
            datetime.fromisoformat(doc["at"])
            if doc.get("at") and doc.get("when") != "now"
            else None
        )
        if at is not None and verb != "drop" and at <= self.engine.clock():
            raise UserError("broadcast_past", time=at.strftime("%m-%d %H:%M"))
        return None  # "这个操作已过期"
