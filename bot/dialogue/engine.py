"""The dialogue engine: every multi-step flow declared as steps and run the same way.

Report, add details, booking and rebooking, confirmations: a flow (the `Flow` protocol)
says, for the step its state is at, what to ask (`prompt`: a text in the user's language
and its buttons) and what an answer does (`on_text` for typed words, `on_choice` for a
button): `Ask` stays in the dialogue at a step (with a one-line reason when the answer was
not accepted), `Done` finishes it. The engine owns the rest, alike for every flow:

- the state lives in the store (DialogueRepo), per person and chat, so a restart continues
  the dialogue at its step;
- a button's number (also full width), its label or a synonym typed is that button
  (bot/dialogue/typed.py);
- `/cancel` leaves any dialogue at any step; every dialogue times out;
- a timed-out dialogue keeps what was typed as a draft, offered once the next time;
- a button of a dialogue that timed out or finished does nothing ("这个操作已过期");
- the final word repeated ("完成" twice) is answered, never acted on again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.commands import Action, Command, Handler
from bot.dialogue.typed import Synonyms, bundled_synonyms, plain, typed_choice
from bot.errors import UserError
from bot.i18n import Translator
from bot.models import Address, Button, Outgoing
from bot.store.repos import DialogueRepo
from bot.turn import Turn

log = logging.getLogger(__name__)

State = dict[str, Any]
PRIVATE = "private"  # a person has one private conversation whatever its room id is
DRAFT = "draft"  # where a timed-out dialogue waits to be resumed
DONE = "done:"  # + where: the dialogue that just finished there, for a repeated final word
CANCEL, RESUME, DISCARD = "dlg:cancel", "dlg:resume", "dlg:discard"


@dataclass(frozen=True)
class Prompt:
    """What a step asks: its text (already in the user's language) and its buttons."""

    text: str
    buttons: tuple[Button, ...] = ()
    cancel: bool = False  # add the engine's "取消" button


@dataclass(frozen=True)
class Ask:
    """Stay in the dialogue at `state["step"]` and ask it (again).

    `note` (a locale key) is a one-line reason shown above the prompt when an answer was not
    accepted; `before` goes out first; `instead` replaces the prompt (a step that answers
    each message, like adding details)."""

    state: State
    note: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    before: tuple[Outgoing, ...] = ()
    instead: tuple[Outgoing, ...] | None = None


@dataclass(frozen=True)
class Done:
    """The dialogue is over; these are the last replies."""

    outs: Sequence[Outgoing]


Outcome = Ask | Done


class Flow(Protocol):
    """One multi-step dialogue, declared as its steps."""

    @property
    def name(self) -> str:
        """Stored in the state: which flow a restarted dialogue belongs to."""
        ...

    @property
    def draft_key(self) -> str:
        """Locale key offering a timed-out dialogue's draft ({text}); "" keeps no drafts."""
        ...

    def prompt(self, turn: Turn, state: State) -> Prompt:
        """What `state["step"]` asks."""
        ...

    def on_text(self, turn: Turn, state: State, text: str) -> Outcome:
        """A typed message (text and/or attachments) that names none of the buttons."""
        ...

    def on_choice(self, turn: Turn, state: State, action: str) -> Outcome:
        """One of the current step's own buttons, tapped or typed."""
        ...

    def draft_text(self, state: State) -> str:
        """What was typed, worth keeping when the dialogue times out ("" for nothing)."""
        ...

    def stale(self, turn: Turn, action: str) -> list[Outgoing] | None:
        """The answer to a button no dialogue offers now; None for "这个操作已过期"."""
        ...

    def on_cancel(self, state: State) -> None:
        """The person left the dialogue with /cancel or 取消: undo what it set aside."""
        ...


class Steps:
    """What most flows share: no draft kept, and a stale button is simply expired."""

    draft_key = ""

    def draft_text(self, state: State) -> str:
        return ""

    def stale(self, turn: Turn, action: str) -> list[Outgoing] | None:
        return None

    def on_cancel(self, state: State) -> None:
        return None


class DialogueEngine:
    """Runs every flow's dialogues: state, typed choices, /cancel, timeouts, drafts, and
    buttons that outlived their dialogue."""

    def __init__(
        self,
        *,
        repo: DialogueRepo,
        translate: Translator,
        clock: Callable[[], datetime],
        timeout: timedelta,
        synonyms: Synonyms | None = None,
    ) -> None:
        self.repo = repo
        self.t = translate
        self.clock = clock
        self.timeout = timeout
        self.synonyms = synonyms or bundled_synonyms()
        self._flows: dict[str, Flow] = {}

    def add(self, flow: Flow) -> None:
        """A flow the engine runs (each capability adds its own when it is built)."""
        self._flows[flow.name] = flow

    @staticmethod
    def where(turn: Turn, to: Address | None = None) -> str:
        """Where the dialogue lives: the person's private chat, or a group."""
        if turn.private or to == turn.private_address:
            return PRIVATE
        return str(to or turn.msg.chat)

    # ---- starting -------------------------------------------------------------------------

    def start(
        self,
        turn: Turn,
        flow: str,
        state: State,
        *,
        to: Address | None = None,
        before: Sequence[Outgoing] = (),
    ) -> list[Outgoing]:
        """A new dialogue of `flow` at `state["step"]`, its prompt sent to `to` (default:
        where the turn came from). It replaces any dialogue there."""
        where = self.where(turn, to)
        self.repo.clear(turn.sender_key, DONE + where)
        return self._ask(turn, Ask({**state, "flow": flow}, before=tuple(before)), where, to)

    def begin(self, turn: Turn, flow: str, state: State, *, to: Address | None = None) -> None:
        """A new dialogue whose first words the caller sends itself (no prompt)."""
        where = self.where(turn, to)
        self.repo.clear(turn.sender_key, DONE + where)
        self._save(turn.sender_key, where, {**state, "flow": flow, "choices": []})

    # ---- the dialogue in progress ---------------------------------------------------------

    def active(self, turn: Turn) -> State | None:
        """The dialogue in progress where the turn came from, unless it timed out (then its
        typed text is kept as a draft)."""
        where = self.where(turn)
        state = self.repo.get(turn.sender_key, where)
        if state is None:
            return None
        flow = self._flows.get(str(state.get("flow")))
        at = state.get("at")
        if flow is None or not isinstance(at, str):
            self.repo.clear(turn.sender_key, where)
            return None
        if self.clock() - datetime.fromisoformat(at) > self.timeout:
            self.repo.clear(turn.sender_key, where)
            if where == PRIVATE and flow.draft_key and flow.draft_text(state):
                self.repo.put(turn.sender_key, DRAFT, {"state": state})
            log.info(
                "%s dialogue of %s timed out at step %s",
                flow.name,
                turn.sender_key,
                state.get("step"),
            )
            return None
        return state

    def on_message(self, turn: Turn, state: State) -> list[Outgoing]:
        """A message in the dialogue: a button named by what was typed, else the step's text."""
        text = turn.msg.text.strip()
        where = self.where(turn)
        if turn.private and text:  # "路灯照明", "跳过", "确认", "明天", "２" typed, not tapped
            chosen = typed_choice(text, self._choices(state), self.clock().date(), self.synonyms)
            if chosen is not None:
                return self._choose(turn, state, chosen, where)
        flow = self._flows[state["flow"]]
        return self._run(turn, flow.on_text(turn, state, text), where)

    def press(self, turn: Turn, flow: str, action: str) -> list[Outgoing]:
        """A flow's button tapped: acted on only if the dialogue it belongs to still asks it."""
        state = self.active(turn)
        offered = [a for _, a in self._choices(state)] if state is not None else []
        if state is None or state["flow"] != flow or action not in offered:
            stale = self._flows[flow].stale(turn, action)
            if stale is not None:
                return stale
            raise UserError("dialogue_expired")
        return self._choose(turn, state, action, self.where(turn))

    def cancel(self, turn: Turn) -> list[Outgoing]:
        """/cancel (or 取消 typed or tapped) at any step of any flow."""
        state = self.active(turn)
        if state is None:
            return [turn.reply(self.t(turn.lang, "report_nothing_to_cancel"))]
        self.repo.clear(turn.sender_key, self.where(turn))
        self._flows[state["flow"]].on_cancel(state)
        return [turn.reply(self.t(turn.lang, "report_cancelled"))]

    def _choices(self, state: State | None) -> list[tuple[str, str]]:
        return [(str(label), str(action)) for label, action in (state or {}).get("choices", [])]

    def _choose(self, turn: Turn, state: State, action: str, where: str) -> list[Outgoing]:
        if action == CANCEL:
            return self.cancel(turn)
        flow = self._flows[state["flow"]]
        return self._run(turn, flow.on_choice(turn, state, action), where)

    def _run(self, turn: Turn, outcome: Outcome, where: str) -> list[Outgoing]:
        if isinstance(outcome, Done):
            self.repo.clear(turn.sender_key, where)
            self.repo.put(turn.sender_key, DONE + where, {"at": self.clock().isoformat()})
            return list(outcome.outs)
        return self._ask(turn, outcome, where)

    def _ask(self, turn: Turn, ask: Ask, where: str, to: Address | None = None) -> list[Outgoing]:
        state = ask.state
        prompt = self._flows[state["flow"]].prompt(turn, state)
        buttons = prompt.buttons
        if prompt.cancel:
            buttons += (Button(self.t(turn.lang, "report_cancel"), CANCEL),)
        state["choices"] = [[b.label, b.action] for b in buttons]
        self._save(turn.sender_key, where, state)
        if ask.instead is not None:
            return [*ask.before, *ask.instead]
        text = prompt.text
        if ask.note:
            text = f"{self.t(turn.lang, ask.note, **ask.params)}\n{text}"
        out = turn.reply(text, buttons) if to is None else Outgoing(to, text, buttons)
        return [*ask.before, out]

    def _save(self, person: str, where: str, state: State) -> None:
        state["at"] = self.clock().isoformat()
        self.repo.put(person, where, state)

    # ---- after a dialogue -----------------------------------------------------------------

    def after(self, turn: Turn, text: str) -> list[Outgoing] | None:
        """Outside a dialogue: the final word said again right after one finished is answered
        and does nothing; 接着填 / 不用了 typed under a draft's offer is that button."""
        where = self.where(turn)
        mark = self.repo.get(turn.sender_key, DONE + where)
        if mark is not None:
            self.repo.clear(turn.sender_key, DONE + where)
            recent = self.clock() - datetime.fromisoformat(str(mark["at"])) <= self.timeout
            finals = self.synonyms.yes | {
                plain(w) for w in self.t(turn.lang, "report_done_words").split()
            }
            if recent and text and plain(text) in finals:
                return [turn.reply(self.t(turn.lang, "dialogue_already_done"))]
        draft = self.repo.get(turn.sender_key, DRAFT) if where == PRIVATE else None
        if draft is not None and draft.get("offered") and text:
            buttons = self._offer_buttons(turn)
            pairs = [(b.label, b.action) for b in buttons]
            chosen = typed_choice(text, pairs, self.clock().date(), self.synonyms)
            if chosen is not None:
                return self._on_draft(turn, chosen)
        return None

    def draft_offer(self, turn: Turn) -> list[Outgoing]:
        """Once after a dialogue timed out with something typed: offer to go on with it."""
        draft = self.repo.get(turn.sender_key, DRAFT) if turn.private else None
        if draft is None or draft.get("offered"):
            return []
        state = draft.get("state", draft if "flow" in draft else None)  # or an older draft
        flow = self._flows.get(str((state or {}).get("flow")))
        if flow is None or not isinstance(state, dict):
            self.repo.clear(turn.sender_key, DRAFT)
            return []
        self.repo.put(turn.sender_key, DRAFT, {"state": state, "offered": True})
        text = self.t(turn.lang, flow.draft_key, text=flow.draft_text(state)[:40])
        return [Outgoing(turn.private_address, text, self._offer_buttons(turn))]

    def _offer_buttons(self, turn: Turn) -> tuple[Button, ...]:
        return (
            Button(self.t(turn.lang, "report_draft_resume"), RESUME),
            Button(self.t(turn.lang, "report_draft_discard"), DISCARD),
        )

    def _on_draft(self, turn: Turn, action: str) -> list[Outgoing]:
        draft = self.repo.get(turn.sender_key, DRAFT)
        if draft is None or not turn.private:
            raise UserError("dialogue_expired")
        self.repo.clear(turn.sender_key, DRAFT)
        if action == DISCARD:
            return [turn.reply(self.t(turn.lang, "report_cancelled"))]
        state = dict(draft.get("state", draft))
        state.pop("offered", None)
        self.repo.clear(turn.sender_key, DONE + PRIVATE)
        return self._ask(turn, Ask(state), PRIVATE)

    # ---- buttons --------------------------------------------------------------------------

    def commands(self) -> list[tuple[Command, Handler]]:
        return []  # /cancel is the core's: it also withdraws broadcasts

    def actions(self) -> list[tuple[Action, Handler]]:
        return [(Action("dlg"), self._on_button)]

    async def _on_button(self, turn: Turn, value: str) -> list[Outgoing]:
        action = f"dlg:{value}"
        if action in (RESUME, DISCARD):
            return self._on_draft(turn, action)
        if action == CANCEL:
            if self.active(turn) is None:
                raise UserError("dialogue_expired")
            return self.cancel(turn)
        raise UserError("error_unknown_action")
