"""The FAQ entry editor's checks: each problem a plain line beside its field, in words.

The lines are in the viewer's language (bot/locales/, keys web_error_*). faq.yaml's own
checker (bot/faq/entries.py) still guards every write, and its ConfigError stays the
operators' message (`faq check`, the log). These checks run first so that staff and admins
read what is wrong in their words: which field, and what about it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.faq.entries import ENTRY_ID, Faq, FaqEntry, attachment_problem
from bot.faq.writer import EntryEdit
from bot.i18n import Translator

LIMITS = {
    "id": 60,
    "category": 50,
    "questions": 5000,
    "answer": 5000,
    "keywords": 1000,
    "attachments": 1000,
}


@dataclass(frozen=True)
class Problem:
    """What is wrong with a field: a locale key and its parameters."""

    key: str
    params: Mapping[str, str | int] = field(default_factory=dict)


Problems = dict[str, Problem]
"""The first problem of each field that has one, by the field's form name."""


def messages(problems: Problems, t: Translator, lang: str) -> dict[str, str]:
    """Each field's problem as the line shown beside it; the field's name is in the line."""
    return {
        name: t(lang, problem.key, field=t(lang, f"web_field_{name}"), **problem.params)
        for name, problem in problems.items()
    }


class FormReader:
    """Reads the posted text fields, noting a field that is not text or too long."""

    def __init__(self, form: Mapping[str, object]) -> None:
        self.form = form
        self.problems: Problems = {}

    def text(self, name: str) -> str:
        """The field's text, stripped, Windows line ends made plain ('' when refused)."""
        value = self.form.get(name, "")
        limit = LIMITS[name]
        if not isinstance(value, str):
            self.problems.setdefault(name, Problem("web_error_not_text"))
            return ""
        value = value.replace("\r\n", "\n").strip()
        if len(value) > limit:
            self.problems.setdefault(name, Problem("web_error_too_long", {"limit": limit}))
            return ""
        return value

    def lines(self, name: str) -> tuple[str, ...]:
        """One item a line, blank lines dropped."""
        return tuple(line.strip() for line in self.text(name).splitlines() if line.strip())

    def edit(self) -> EntryEdit:
        return EntryEdit(
            category=self.text("category"),
            questions=self.lines("questions"),
            answer=self.text("answer"),
            keywords=self.lines("keywords"),
            attachments=self.lines("attachments"),
        )


def check_id(entry_id: str, faq: Faq) -> Problem | None:
    """A new entry's id: given, of the form faq.yaml takes, and no other entry's."""
    if not entry_id:
        return Problem("web_error_empty")
    if not ENTRY_ID.fullmatch(entry_id):
        return Problem("web_error_id_form")
    taken = faq.get(entry_id)
    if taken is not None:
        return Problem("web_error_id_taken", {"id": entry_id, "title": taken.title})
    return None


def check_edit(edit: EntryEdit, faq: Faq, folder: Path, before: FaqEntry | None) -> Problems:
    """An entry's content as typed, against the other entries of `faq` and the files in
    `folder` (faq.yaml's). `before` is the entry as it was (None for a new one): a keyword or
    question it already shared with another entry is left as it was."""
    others = [e for e in faq.entries if before is None or e.id != before.id]
    found: Problems = {}
    if not edit.category:
        found["category"] = Problem("web_error_empty")
    if not edit.questions:
        found["questions"] = Problem("web_error_no_question")
    if not edit.answer:
        found["answer"] = Problem("web_error_empty")
    kept_questions = before.questions if before else ()
    kept_keywords = before.keywords if before else ()
    checks = (
        ("questions", _shared(edit.questions, kept_questions, others, "questions")),
        ("keywords", _shared(edit.keywords, kept_keywords, others, "keywords")),
        ("attachments", _attachment_problem(edit.attachments, folder)),
    )
    for name, problem in checks:
        if problem is not None and name not in found:
            found[name] = problem
    return found


def _shared(
    typed: tuple[str, ...], kept: tuple[str, ...], others: list[FaqEntry], kind: str
) -> Problem | None:
    """A newly typed question or keyword another entry already has: the bot could not tell
    the two entries apart by it."""
    for item in typed:
        if item in kept:
            continue
        wanted = item.casefold()
        for other in others:
            values = other.questions if kind == "questions" else other.keywords
            if any(v.casefold() == wanted for v in values):
                param = "question" if kind == "questions" else "keyword"
                return Problem(f"web_error_{param}_taken", {param: item, "title": other.title})
    return None


def _attachment_problem(paths: tuple[str, ...], folder: Path) -> Problem | None:
    """As faq.yaml's checker has it: relative, inside faq.yaml's folder, and there."""
    for path in paths:
        # a backslash is a folder on Windows and a file name's letter elsewhere: refused
        problem = "path" if "\\" in path else attachment_problem(path, folder)
        if problem is not None:
            return Problem(f"web_error_attachment_{problem}", {"path": path})
    return None
