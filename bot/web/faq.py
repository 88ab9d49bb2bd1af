"""FAQ (`/faq`): the entries by category, "try a question", and admins' edits of an entry.

An edit is saved into faq.yaml as `faq accept` saves (bot/faq/writer.py), then reloaded.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from itertools import groupby
from typing import Any

from aiohttp import web

from bot.errors import ConfigError
from bot.faq.entries import FaqEntry, load_faq
from bot.faq.history import FaqEdits
from bot.faq.writer import EditConflictError, EntryEdit, edit_entry, entry_version
from bot.models import Role
from bot.web.acting import WEB
from bot.web.console import Console
from bot.web.forms import FormError, lines_field, text_field

log = logging.getLogger(__name__)

FIELDS = ("category", "questions", "answer", "keywords", "attachments")
LIMITS = {"category": 50, "questions": 5000, "answer": 5000, "keywords": 1000, "attachments": 1000}
TRY_SHOWN = 5


def _form_values(entry: FaqEntry) -> dict[str, str]:
    return {
        "category": entry.category,
        "questions": "\n".join(entry.questions),
        "answer": entry.answer.rstrip("\n"),
        "keywords": "\n".join(entry.keywords),
        "attachments": "\n".join(entry.attachments),
    }


def _read_edit(form: Mapping[str, Any]) -> EntryEdit:
    return EntryEdit(
        category=text_field(form, "category", LIMITS["category"]),
        questions=tuple(lines_field(form, "questions", LIMITS["questions"])),
        answer=text_field(form, "answer", LIMITS["answer"]),
        keywords=tuple(lines_field(form, "keywords", LIMITS["keywords"])),
        attachments=tuple(lines_field(form, "attachments", LIMITS["attachments"])),
    )


def routes(console: Console) -> list[web.RouteDef]:
    t = console.core.conversation.t

    async def listing(request: web.Request) -> web.StreamResponse:
        viewer = console.viewer(request)
        matcher = console.core.faq.matcher
        entries = sorted(matcher.faq.entries, key=lambda e: e.category)
        by_category = [(c, list(es)) for c, es in groupby(entries, key=lambda e: e.category)]
        question = request.query.get("q", "").strip()[:500]
        decision = matcher.match(question) if question else None
        return console.renderer.page(
            viewer.lang,
            "faq.html",
            viewer,
            by_category=by_category,
            question=question,
            decision=decision,
            ranked=decision.ranked[:TRY_SHOWN] if decision else (),
            titles={e.id: e.title for e in matcher.faq.entries},
        )

    def admin_only(request: web.Request) -> None:
        if not console.viewer(request).role.allows(Role.ADMIN):
            viewer = console.viewer(request)
            raise web.HTTPForbidden(
                text=console.renderer.page(
                    viewer.lang, "message.html", viewer, message=t(viewer.lang, "web_admin_only")
                ).text,
                content_type="text/html",
            )

    def current(entry_id: str) -> FaqEntry:
        entry = load_faq(console.core.faq.path).get(entry_id)
        if entry is None:
            raise web.HTTPNotFound(text="no such entry")
        return entry

    def edit_page(
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
        return console.renderer.page(
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
            history=console.core.store.repo(FaqEdits).of_entry(entry.id)[-10:],
        )

    async def edit(request: web.Request) -> web.StreamResponse:
        admin_only(request)
        entry = current(request.match_info["entry"])
        saved = request.query.get("saved") == "1"
        return edit_page(request, entry, _form_values(entry), entry_version(entry), saved=saved)

    async def save(request: web.Request) -> web.StreamResponse:
        admin_only(request)
        viewer = console.viewer(request)
        entry = current(request.match_info["entry"])
        form = await request.post()
        typed = {name: str(form.get(name, ""))[: LIMITS[name] + 1] for name in FIELDS}
        version = str(form.get("version", ""))
        try:
            edit = _read_edit(form)
            edit_entry(console.core.faq.path, entry.id, edit, version)
        except FormError as exc:
            message = t(viewer.lang, exc.key, limit=exc.limit)
            return edit_page(
                request, entry, typed, version, errors={exc.field: message}, status=400
            )
        except EditConflictError:
            theirs = _form_values(current(entry.id))
            return edit_page(
                request, entry, typed, entry_version(current(entry.id)), conflict=theirs, status=409
            )
        except ConfigError as exc:
            field = (exc.field or "").partition(".")[0]
            where = field if field in FIELDS else "answer"
            message = str(exc).rpartition(": ")[2]
            return edit_page(request, entry, typed, version, errors={where: message}, status=400)
        store = console.core.store
        with store.batch():
            now = console.core.conversation.clock()
            store.repo(FaqEdits).record(entry.id, viewer.key, viewer.name, now, WEB)
        log.info("faq.yaml: entry %s edited on the web by %s", entry.id, viewer.key)
        await console.faq_changed()
        raise web.HTTPSeeOther(f"/faq/{entry.id}?saved=1")

    return [
        web.get("/faq", listing),
        web.get(r"/faq/{entry}", edit),
        web.post(r"/faq/{entry}", save),
    ]
