"""Write faq.yaml: accepted resident phrasings, edited and new entries, comments and order kept.

Validated before an atomic replace, so the file is the old or the new one, never torn
(tests/test_faq_save_crash.py kills the bot at the failpoints `faq_before_replace` and
`faq_after_replace`, bot/failpoints.py).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import LiteralScalarString

from bot.errors import ConfigError
from bot.failpoints import Failpoints
from bot.faq.entries import FaqEntry, parse_faq
from bot.store.files import fsync_dir


@dataclass(frozen=True)
class EntryEdit:
    """An entry's new content as an admin typed it on the web console."""

    category: str
    questions: tuple[str, ...]
    answer: str
    keywords: tuple[str, ...] = ()
    attachments: tuple[str, ...] = ()


class EditConflictError(Exception):
    """The entry changed in faq.yaml since the editor opened it: nothing was written."""


def entry_version(entry: FaqEntry) -> str:
    """A fingerprint of what an editor saw of an entry; a save against a stale one is refused."""
    seen = repr((entry.category, entry.questions, entry.answer, entry.keywords, entry.attachments))
    return hashlib.sha256(seen.encode()).hexdigest()[:16]


def _round_trip() -> YAML:
    yaml = YAML()  # round-trip mode: comments, key order and quoting survive
    yaml.preserve_quotes = True
    yaml.width = 4096
    return yaml


def _write_checked(path: Path, yaml: YAML, data: Any, failpoints: Failpoints | None) -> None:
    """Dump `data` beside `path`, validate it as a FAQ, then replace `path` in one step."""
    faults = failpoints or Failpoints()
    tmp = path.with_suffix(path.suffix + ".tmp")
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            yaml.dump(data, fh)
            fh.flush()
            os.fsync(fh.fileno())
        parse_faq(tmp.read_text(encoding="utf-8"), str(path), base_dir=path.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    faults.hit("faq_before_replace")
    os.replace(tmp, path)
    fsync_dir(path.parent)  # the rename itself survives a power cut
    faults.hit("faq_after_replace")


def edit_entry(
    path: Path,
    entry_id: str,
    edit: EntryEdit,
    expected: str,
    *,
    failpoints: Failpoints | None = None,
) -> None:
    """Replace one entry's content, if it is still what the editor saw (`expected`, its
    `entry_version`): else EditConflictError. An edit that would make the file invalid raises
    ConfigError naming the field, and the file is untouched."""
    yaml = _round_trip()
    text = path.read_text(encoding="utf-8")
    current = parse_faq(text, str(path), base_dir=path.parent).get(entry_id)
    if current is None:
        raise ConfigError(str(path), "no such entry", entry=entry_id)
    if entry_version(current) != expected:
        raise EditConflictError(entry_id)
    data: Any = yaml.load(text)
    entry = next(e for e in data["entries"] if str(e.get("id")) == entry_id)
    _fill(entry, edit)
    _write_checked(path, yaml, data, failpoints)


def _fill(entry: Any, edit: EntryEdit) -> None:
    """An entry's fields set from `edit` (an answer of several lines as a `|` block)."""
    entry["category"] = edit.category
    entry["questions"] = list(edit.questions)
    answer = edit.answer if edit.answer.endswith("\n") else edit.answer + "\n"
    entry["answer"] = LiteralScalarString(answer) if "\n" in edit.answer else edit.answer
    for name, values in (("keywords", edit.keywords), ("attachments", edit.attachments)):
        if values:
            entry[name] = list(values)
        elif name in entry:
            del entry[name]


def add_entry(
    path: Path, entry_id: str, edit: EntryEdit, *, failpoints: Failpoints | None = None
) -> None:
    """Append a new entry at the end of faq.yaml. An id already taken, or content that
    would make the file invalid, raises ConfigError naming the field; the file is untouched."""
    yaml = _round_trip()
    text = path.read_text(encoding="utf-8")
    if parse_faq(text, str(path), base_dir=path.parent).get(entry_id) is not None:
        raise ConfigError(str(path), "this id is taken", entry=entry_id, field="id")
    data: Any = yaml.load(text)
    entry: dict[str, Any] = {"id": entry_id}
    _fill(entry, edit)
    data["entries"].append(entry)
    _write_checked(path, yaml, data, failpoints)


def add_questions(
    path: Path, additions: dict[str, list[str]], *, failpoints: Failpoints | None = None
) -> int:
    """Append phrasings to the named entries; returns how many were new. Atomic on disk."""
    yaml = _round_trip()
    text = path.read_text(encoding="utf-8")
    data: Any = yaml.load(text)
    entries = {str(e.get("id")): e for e in data.get("entries", [])}
    added = 0
    for entry_id, phrasings in additions.items():
        entry = entries.get(entry_id)
        if entry is None:
            raise ConfigError(str(path), "no such entry", entry=entry_id)
        for phrasing in phrasings:
            if phrasing not in entry["questions"]:
                entry["questions"].append(phrasing)
                added += 1
    _write_checked(path, yaml, data, failpoints)
    return added
