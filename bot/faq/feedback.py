"""What residents made of the FAQ: unanswered questions, 👍/👎 ratings, staff's suggestions."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from tinydb import Query, TinyDB


@dataclass(frozen=True)
class LoggedQuestion:
    at: str
    person: str
    name: str
    chat: str
    text: str
    outcome: str = "none"


DECISIONS = ("answer", "suggest", "none")  # what the FAQ made of a question, in its log


class QuestionLog:
    """Residents' questions and what the FAQ made of them, kept for staff to grow the FAQ."""

    def __init__(self, db: TinyDB) -> None:
        self._table = db.table("questions")

    def record(
        self, at: datetime, person: str, *, name: str, chat: str, text: str, outcome: str
    ) -> int:
        """`outcome` is the FAQ decision: answer, suggest, none, or group (overheard)."""
        doc = {
            "at": at.isoformat(),
            "person": person,
            "name": name,
            "chat": chat,
            "text": text,
            "outcome": outcome,
        }
        return int(self._table.insert(doc))

    def get(self, question_id: int) -> LoggedQuestion | None:
        row = self._table.get(doc_id=question_id)
        return LoggedQuestion(**dict(row)) if isinstance(row, dict) else None

    def since(self, at: datetime) -> list[LoggedQuestion]:
        """Questions asked at or after `at`, oldest first (newest are last: the walk back
        stops at the first older one)."""
        found: list[LoggedQuestion] = []
        rows = self._table.all()
        for row in reversed(rows):
            question = LoggedQuestion(**dict(row))
            if datetime.fromisoformat(question.at) < at:
                break
            found.append(question)
        return found[::-1]

    def outcomes(
        self, start: datetime, end: datetime | None = None, shown: int = 10
    ) -> tuple[Counter[str], list[tuple[str, int]]]:
        """The private questions asked from `start` (until `end`) by the FAQ's decision
        (answer, suggest, none), and the `shown` most asked of those it could not answer (the
        same words counted together): the Report page's and the weekly summary's figures."""
        outcomes: Counter[str] = Counter()
        missed: Counter[str] = Counter()
        for q in self.since(start):
            if end is not None and datetime.fromisoformat(q.at) >= end:
                break
            if q.outcome in DECISIONS:
                outcomes[q.outcome] += 1
            if q.outcome == "none":
                missed[" ".join(q.text.split())[:80]] += 1
        return outcomes, missed.most_common(shown)

    def recent(self, limit: int, unanswered_only: bool = False) -> list[LoggedQuestion]:
        rows = [LoggedQuestion(**dict(row)) for row in self._table.all()]
        if unanswered_only:
            rows = [r for r in rows if r.outcome != "answer"]
        return rows[::-1][:limit]


class Ratings:
    """👍/👎 on FAQ answers: one vote per person per entry, the latest wins."""

    def __init__(self, db: TinyDB) -> None:
        self._table = db.table("ratings")

    def rate(self, at: datetime, person: str, entry_id: str, helpful: bool) -> None:
        q = Query()
        self._table.upsert(
            {"at": at.isoformat(), "person": person, "entry": entry_id, "helpful": helpful},
            (q.person == person) & (q.entry == entry_id),
        )

    def summary(self) -> list[tuple[str, int, int]]:
        """(entry id, 👍, 👎), most 👎 first."""
        counts: dict[str, list[int]] = {}
        for row in self._table.all():
            up_down = counts.setdefault(str(row["entry"]), [0, 0])
            up_down[0 if row["helpful"] else 1] += 1
        return sorted(((k, u, d) for k, (u, d) in counts.items()), key=lambda r: (-r[2], r[0]))


@dataclass(frozen=True)
class FaqSuggestion:
    id: int
    entry: str
    text: str
    ticket: int
    at: str


class FaqSuggestions:
    """Residents' phrasings that staff answered with an FAQ entry: candidates for faq.yaml."""

    def __init__(self, db: TinyDB) -> None:
        self._table = db.table("faq_suggestions")

    def add(self, at: datetime, entry: str, text: str, ticket: int) -> None:
        self._table.insert(
            {"at": at.isoformat(timespec="seconds"), "entry": entry, "text": text, "ticket": ticket}
        )

    def pending(self) -> list[FaqSuggestion]:
        return [FaqSuggestion(id=row.doc_id, **dict(row)) for row in self._table.all()]

    def remove(self, ids: list[int]) -> None:
        self._table.remove(doc_ids=ids)
