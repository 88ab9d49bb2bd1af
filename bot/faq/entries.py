"""Load and validate faq.yaml into immutable FAQ entries."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bot.errors import ConfigError
from bot.operator_files import Fields, check_version, parse_yaml, read_text

ENTRY_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")  # kebab-case: street-light-repair
_ENTRY_KEYS = ("id", "category", "questions", "answer", "attachments", "keywords", "action")
_ACTION_KEYS = ("do", "keyword", "category", "staff_room")
ACTIONS = ("ticket", "book", "report")
_TOP_KEYS = {"version", "entries"}
SUPPORTED_VERSION = 1


@dataclass(frozen=True)
class FaqAction:
    """What happens when a resident sends the entry's keyword or taps its button: a private
    ticket for the staff (in `category`, to `staff_room` when given), /book or /report."""

    do: str
    keyword: str = ""
    category: str = ""
    staff_room: str = ""


@dataclass(frozen=True)
class FaqEntry:
    """One question/answer entry; questions[0] is the canonical phrasing."""

    id: str
    category: str
    questions: tuple[str, ...]
    answer: str
    attachments: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    action: FaqAction | None = None

    @property
    def title(self) -> str:
        return self.questions[0]


@dataclass(frozen=True)
class Faq:
    """A validated knowledge base and where it came from."""

    source: str
    entries: tuple[FaqEntry, ...]

    def get(self, entry_id: str) -> FaqEntry | None:
        return next((e for e in self.entries if e.id == entry_id), None)

    def with_keyword(self, text: str) -> FaqEntry | None:
        """The entry whose action keyword is exactly what was sent ('维权站', '“送餐”')."""
        wanted = _bare(text)
        return next(
            (
                e
                for e in self.entries
                if e.action and e.action.keyword and _bare(e.action.keyword) == wanted
            ),
            None,
        )


def _bare(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().strip("\"'“”‘’「」『』。.!！ ").lower()


def load_faq(path: Path) -> Faq:
    """Read and validate a faq.yaml; any problem raises ConfigError naming file/entry/field."""
    return parse_faq(read_text(path), str(path), base_dir=path.parent)


def parse_faq(text: str, name: str, base_dir: Path | None = None) -> Faq:
    data = parse_yaml(text, name)
    if not isinstance(data, dict):
        raise ConfigError(name, "expected a mapping with 'version' and 'entries'")
    unknown = sorted(set(map(str, data)) - _TOP_KEYS)
    if unknown:
        raise ConfigError(name, f"unknown top-level key(s): {', '.join(unknown)}")
    check_version(data, name, SUPPORTED_VERSION)
    raw_entries = data.get("entries")
    if not isinstance(raw_entries, list) or not raw_entries:
        raise ConfigError(name, "must be a non-empty list", field="entries")
    entries: list[FaqEntry] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_entries, start=1):
        entry = _parse_entry(raw, index, name, base_dir)
        if entry.id in seen:
            raise ConfigError(
                name, f"duplicate id (also entry #{seen[entry.id]})", entry=entry.id, field="id"
            )
        seen[entry.id] = index
        entries.append(entry)
    return Faq(source=name, entries=tuple(entries))


def _parse_entry(raw: Any, index: int, name: str, base_dir: Path | None) -> FaqEntry:
    fields = Fields.of_entry(raw, name, f"#{index}", _ENTRY_KEYS)
    label, entry_id = fields.entry, raw.get("id")
    if not isinstance(entry_id, str) or not ENTRY_ID.fullmatch(entry_id):
        raise fields.error("id", "must be a unique kebab-case id such as 'street-light-repair'")
    attachments = fields.text_list("attachments", required=False, unique=False)
    for attachment in attachments:
        _check_attachment(attachment, name, label, base_dir)
    return FaqEntry(
        id=entry_id,
        category=fields.text("category"),
        questions=fields.text_list("questions", unique=False),  # a repeat is harmless
        answer=fields.text("answer"),
        attachments=attachments,
        keywords=fields.text_list("keywords", required=False, unique=False),
        action=_parse_action(raw.get("action"), name, label),
    )


def _parse_action(raw: Any, name: str, label: str) -> FaqAction | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ConfigError(name, "must be a mapping with 'do'", entry=label, field="action")
    fields = Fields(raw, name, label, prefix="action.")
    fields.check_keys(_ACTION_KEYS)
    do = fields.text("do")
    if do not in ACTIONS:
        raise fields.error("do", f"must be one of {', '.join(ACTIONS)}, not {do!r}")
    keyword = fields.text("keyword") if do == "ticket" or raw.get("keyword") else ""
    room = raw.get("staff_room")
    if room is not None and (not isinstance(room, str) or ":" not in room):
        raise fields.error("staff_room", f"{room!r} must look like 'channel:chat_id'")
    category = fields.text("category") if raw.get("category") is not None else ""
    return FaqAction(do, keyword, category, room or "")


AttachmentProblem = Literal["path", "missing", "outside"]
_ATTACHMENT_PROBLEMS: dict[AttachmentProblem, str] = {
    "path": "must be relative to the FAQ file",
    "missing": "does not exist",
    "outside": "links outside the FAQ's folder",
}


def attachment_problem(path: str, base_dir: Path | None) -> AttachmentProblem | None:
    """What is wrong with an attachment's path, if anything: it must be relative, without
    "..", name a file that exists (checked when `base_dir` is known) and stay inside it."""
    if Path(path).is_absolute() or ".." in Path(path).parts:
        return "path"
    if base_dir is None:
        return None
    if not (base_dir / path).is_file():
        return "missing"
    if not (base_dir / path).resolve().is_relative_to(base_dir.resolve()):
        return "outside"
    return None


def _check_attachment(path: str, name: str, label: str, base_dir: Path | None) -> None:
    problem = attachment_problem(path, base_dir)
    if problem is not None:
        message = f"{path!r} {_ATTACHMENT_PROBLEMS[problem]}"
        raise ConfigError(name, message, entry=label, field="attachments")
