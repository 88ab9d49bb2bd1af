"""Editing one FAQ entry on the web (`/faq/<id>`, admins), saved as `faq accept` saves.

Validation errors are shown beside their field with faq.yaml untouched; an edit of an
entry someone saved meanwhile is refused with both versions shown; a saved edit is recorded
(who, when, "web") and the bot reloads the file. A new entry: bot/web/faq_new.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from bot.errors import ConfigError
from bot.faq.entries import FaqEntry, load_faq
from bot.faq.history import FaqEdits
from bot.faq.writer import EditConflictError, EntryEdit, edit_entry, entry_version
from bot.web.acting import WEB
from bot.web.console import Console
from bot.web.forms import FormError, lines_field, text_field

log = logging.getLogger(__name__)

FIELDS = ("category", "questions", "answer", "keywords", "attachments")
LIMITS = {
    "id": 60,
    "category": 50,
    "questions": 5000,
    "answer": 5000,
    "keywords": 1000,
    "attachments": 1000,
}
HISTORY_SHOWN = 10


def _form_values(entry: FaqEntry) -> dict[str, str]:
    return {
        "category": entry.category,
        "questions": "\n".join(entry.questions),
        "answer": entry.answer.rstrip("\n"),
        "keywords": "\n".join(entry.keywords),
        "attachments": "\n".join(entry.attachments),
    }


def read_edit(form: Mapping[str, Any]) -> EntryEdit:
    return EntryEdit(
        category=text_field(form, "category", LIMITS["category"]),
        questions=tuple(lines_field(form, "questions", LIMITS["questions"])),
        answer=text_field(form, "answer", LIMITS["answer"]),
        keywords=tuple(lines_field(form, "keywords", LIMITS["keywords"])),
        attachments=tuple(lines_field(form, "attachments", LIMITS["attachments"])),
    )


def routes(console: Console) -> list[web.RouteDef]:
    t = console.core.conversation.t

    async def current(entry_id: str) -> FaqEntry:
        """The entry as faq.yaml holds it now, read in a worker thread (parsing YAML is slow)."""
        faq = await asyncio.to_thread(load_faq, console.core.faq.path)
        entry = faq.get(entry_id)
        if entry is None:
            raise web.HTTPNotFound(text="no such entry")
        return entry

    async def edit_page(
        request: web.Request,
        entry: FaqEntry,
        values: dict[str, str],
        version: str,
        *,
        errors: dict[str, str] | None = None,
        conflict: dict[str, str] | None = None,
        saved: bool = False,
        status: int = 200,
    ) -> web.Response:
        viewer = console.viewer(request)
        history = console.core.store.repo(FaqEdits).of_entry(entry.id)
        return await console.renderer.page(
            viewer.lang,
            "faq_edit.html",
            viewer,
            status=status,
            entry=entry,
            values=values,
            version=version,
            errors=errors or {},
            conflict=conflict,
            saved=saved,
            fields=FIELDS,
            history=history[-HISTORY_SHOWN:],
        )

    async def edit(request: web.Request) -> web.StreamResponse:
        console.require_admin(request)
        entry = await current(request.match_info["entry"])
        saved = request.query.get("saved") == "1"
        return await edit_page(
            request, entry, _form_values(entry), entry_version(entry), saved=saved
        )

    async def save(request: web.Request) -> web.StreamResponse:
        console.require_admin(request)
        viewer = console.viewer(request)
        entry = await current(request.match_info["entry"])
        form = await request.post()
        typed = {name: str(form.get(name, ""))[: LIMITS[name] + 1] for name in FIELDS}
        version = str(form.get("version", ""))
        try:
            edit = read_edit(form)
            await asyncio.to_thread(edit_entry, console.core.faq.path, entry.id, edit, version)
        except FormError as exc:
            message = t(viewer.lang, exc.key, limit=exc.limit)
            return await edit_page(
                request, entry, typed, version, errors={exc.field: message}, status=400
            )
        except EditConflictError:
            now = await current(entry.id)
            theirs = _form_values(now)
            return await edit_page(
                request, entry, typed, entry_version(now), conflict=theirs, status=409
            )
        except ConfigError as exc:
            errors = field_error(exc, FIELDS)
            return await edit_page(request, entry, typed, version, errors=errors, status=400)
        store = console.core.store
        with store.batch():
            at = console.core.conversation.clock()
            store.repo(FaqEdits).record(entry.id, viewer.key, viewer.name, at, WEB)
        log.info("faq.yaml: entry %s edited on the web by %s", entry.id, viewer.key)
        await console.faq_changed()
        raise web.HTTPSeeOther(f"/faq/{entry.id}?saved=1")

    return [web.get(r"/faq/{entry}", edit), web.post(r"/faq/{entry}", save)]


def field_error(exc: ConfigError, fields: tuple[str, ...]) -> dict[str, str]:
    """faq.yaml's complaint beside the field it names (else beside the answer)."""
    field = (exc.field or "").partition(".")[0]
    where = field if field in fields else "answer"
    return {where: str(exc).rpartition(": ")[2]}
