"""Issue records: the ticket model, its lifecycle rules and its history."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.errors import Localized, UserError


class Status(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


ACTIVE = frozenset({Status.OPEN, Status.CLAIMED, Status.IN_PROGRESS, Status.REOPENED})

# action -> (statuses it may start from, status it leads to; None keeps the status)
TRANSITIONS: dict[str, tuple[frozenset[Status], Status | None]] = {
    "claim": (
        frozenset({Status.OPEN, Status.REOPENED, Status.CLAIMED, Status.IN_PROGRESS}),
        Status.CLAIMED,
    ),
    "assign": (ACTIVE, Status.CLAIMED),
    "reply": (ACTIVE, Status.IN_PROGRESS),
    "answer": (ACTIVE, Status.RESOLVED),
    "resolve": (ACTIVE, Status.RESOLVED),
    "close": (frozenset({Status.RESOLVED}), Status.CLOSED),
    "reopen": (frozenset({Status.RESOLVED, Status.CLOSED, Status.REJECTED}), Status.REOPENED),
    "reject": (ACTIVE, Status.REJECTED),
    "merge": (ACTIVE, Status.DUPLICATE),
    "open": (frozenset({Status.OPEN}), None),
    "note": (frozenset(Status), None),
    "metoo": (ACTIVE, None),
    "detail": (ACTIVE, None),
    # A reporter's words about the ticket, in any state: staff hear them (bot/desk/threads.py).
    "message": (frozenset(Status), None),
    "moved": (frozenset(Status), None),  # words the reporter took back to the FAQ
}

# What reporters add that the staff rooms must hear about (bot/desk/updates.py).
RESIDENT_WORDS = frozenset({"message", "detail", "metoo"})


@dataclass
class Reporter:
    """A resident attached to a ticket, and where their private replies go."""

    key: str
    name: str
    channel: str
    chat: str
    lang: str


@dataclass
class Event:
    """One line of a ticket's history."""

    at: str
    action: str
    who: str
    name: str
    via: str
    text: str = ""
    attachments: list[str] = field(default_factory=list)  # photos sent with it


@dataclass
class Ticket:
    """A report or question and everything that happened to it."""

    number: int
    kind: str  # "report" | "question"
    category: str
    compound: str
    text: str
    reporters: list[Reporter]
    origin: str
    created: str
    status: Status = Status.OPEN
    location: str = ""  # where in the compound, as the resident typed it (3号楼东边)
    room: str = ""  # a staff room chosen for it (an FAQ action's), else routed by category
    attachments: list[str] = field(default_factory=list)
    assignee: str = ""
    assignee_name: str = ""
    reason: str = ""
    merged_into: int | None = None
    history: list[Event] = field(default_factory=list)
    # Every message the bot sent about the ticket, in every chat: [channel, chat_id, message_id].
    # A reply to any of them is a reply to the ticket (staff: relayed; reporters: the thread).
    cards: list[list[str]] = field(default_factory=list)
    told: int = 1  # history events the staff rooms have been told about (the open is the card)
    told_at: str = ""  # when they were last told of reporters' words

    @property
    def updated(self) -> str:
        return self.history[-1].at if self.history else self.created

    def last_progress(self) -> tuple[int, str]:
        """(index, time) of the last step that was not a reporter adding words: a resident's
        messages do not reset the staleness clock of a ticket nobody works on."""
        for index in range(len(self.history) - 1, -1, -1):
            if self.history[index].action not in RESIDENT_WORDS:
                return index, self.history[index].at
        return 0, self.created

    def is_reporter(self, person_key: str) -> bool:
        return any(r.key == person_key for r in self.reporters)

    def untold(self) -> list[Event]:
        """Reporters' words and "me too"s the staff rooms have not been told about yet."""
        return [
            e
            for e in self.history[self.told :]
            if e.action in RESIDENT_WORDS and self.is_reporter(e.who)
        ]

    def apply(
        self,
        action: str,
        *,
        at: datetime,
        who: str,
        name: str,
        via: str,
        text: str = "",
        attachments: list[str] | None = None,
    ) -> None:
        """Move the ticket by `action`, or raise UserError naming the current state."""
        allowed, target = TRANSITIONS[action]
        if self.status not in allowed:
            raise UserError(
                "ticket_bad_state",
                number=self.number,
                action=Localized(f"action_{action}"),
                status=Localized(f"status_{self.status.value}"),
            )
        if target is not None:
            self.status = target
        self.history.append(
            Event(at.isoformat(timespec="seconds"), action, who, name, via, text, attachments or [])
        )

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Ticket:
        data = dict(doc)
        data["status"] = Status(data["status"])
        data["reporters"] = [Reporter(**r) for r in data["reporters"]]
        data["history"] = [Event(**e) for e in data["history"]]
        data.setdefault("told", len(data["history"]))  # older records: everything was seen
        return cls(**data)
