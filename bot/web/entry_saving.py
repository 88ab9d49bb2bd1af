"""Saving an entry from the editor, an edit or a new one: checked, written, recorded.

The form is read and checked, an uploaded attachment kept, faq.yaml written in a worker
thread and the save recorded. Nothing is written while any field has a problem; when
faq.yaml's checker still refuses the file (the operators' ConfigError, logged) or the entry
changed meanwhile, an attachment kept for this save is removed again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial

from aiohttp import web

from bot.errors import ConfigError
from bot.faq.entries import Faq, FaqEntry
from bot.faq.history import FaqEdits, file_digest
from bot.faq.writer import EntryEdit
from bot.web.acting import WEB
from bot.web.console import Console
from bot.web.entry_checks import FormReader, Problem, Problems, check_edit, messages
from bot.web.render import Viewer
from bot.web.uploads import FIELD, MAX_MB, Upload, forget, keep, read_upload

log = logging.getLogger(__name__)

FIELDS = ("category", "questions", "answer", "keywords", "attachments")


@dataclass(frozen=True)
class Posted:
    """An entry form as posted: the content, an accepted upload, and what is wrong."""

    edit: EntryEdit
    upload: Upload | None
    problems: Problems


def read_posted(
    form: Mapping[str, object], faq: Faq, console: Console, before: FaqEntry | None
) -> Posted:
    """The form's fields and file, checked against `faq` (`before`: the entry edited)."""
    reader = FormReader(form)
    edit = reader.edit()
    problems = check_edit(edit, faq, console.core.faq.path.parent, before) | reader.problems
    upload = read_upload(form.get(FIELD))
    if isinstance(upload, Problem):
        problems[FIELD] = upload
        upload = None
    return Posted(edit, upload, problems)


def too_big() -> Problems:
    """A body over the editor's limit, refused before it is read."""
    return {FIELD: Problem("web_error_upload_too_big", {"mb": MAX_MB})}


def shown(problems: Problems, console: Console, viewer: Viewer) -> dict[str, str]:
    return messages(problems, console.core.conversation.t, viewer.lang)


async def write(
    console: Console,
    viewer: Viewer,
    entry_id: str,
    posted: Posted,
    *,
    writing: Callable[[EntryEdit], None],
    error_field: Callable[[ConfigError], str],
) -> dict[str, str]:
    """Keep the upload, then `writing(edit)` (the upload's path added to the attachments),
    recorded in the FAQ's history: {} when saved, else the refusal beside its field.
    EditConflictError passes through, the upload removed."""
    folder = console.core.faq.path.parent
    edit = posted.edit
    upload = posted.upload
    if upload is not None and upload.path not in edit.attachments:
        edit = replace(edit, attachments=(*edit.attachments, upload.path))
    kept = upload is not None and await console.chat_first.off_loop(keep, upload, folder)
    uploaded = upload.path if upload is not None else ""
    try:
        await audited(console, viewer, entry_id, partial(writing, edit), uploaded=uploaded)
    except BaseException as exc:
        if kept and upload is not None:
            forget(upload, folder)
        if not isinstance(exc, ConfigError):
            raise
        log.warning("faq.yaml refused an edit from the web: %s", exc)
        message = console.core.conversation.t(viewer.lang, "web_error_file_refused")
        return {error_field(exc): message}
    return {}


async def audited(
    console: Console,
    viewer: Viewer,
    entry_id: str,
    work: Callable[[], object],
    *,
    uploaded: str = "",
) -> None:
    """`work()`, a write of faq.yaml, in a worker thread, in the FAQ's history (who, when,
    "web", the upload) as begun before and ended after: a bot killed in between settles it
    at its next start (`settle_edits`)."""
    store = console.core.store
    edits = store.repo(FaqEdits)
    before = await console.chat_first.off_loop(file_digest, console.core.faq.path)
    with store.batch():
        at = console.core.conversation.clock()
        record_id = edits.begin(
            entry_id, viewer.key, viewer.name, at, WEB, file_before=before, uploaded=uploaded
        )
    try:
        await console.chat_first.off_loop(work)
    except BaseException:
        with store.batch():
            edits.end(record_id, saved=False)
        raise
    with store.batch():
        edits.end(record_id, saved=True)
    log.info("faq.yaml: entry %s saved on the web by %s", entry_id, viewer.key)


def settle_edits(console: Console) -> None:
    """At start: the saves a killed bot left under way, settled by what faq.yaml holds."""
    store = console.core.store
    with store.batch():
        settled = store.repo(FaqEdits).settle(file_digest(console.core.faq.path))
    if settled:
        log.warning(
            "faq.yaml: %d save(s) from the web were under way when the bot stopped", settled
        )


def saved_at(entry_id: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/faq/{entry_id}?saved=1")


def field_of(fields: tuple[str, ...]) -> Callable[[ConfigError], str]:
    """faq.yaml's complaint goes beside the field it names (else beside the answer)."""

    def field(exc: ConfigError) -> str:
        named = (exc.field or "").partition(".")[0]
        return named if named in fields else "answer"

    return field
