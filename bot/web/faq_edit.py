"""Editing one FAQ entry on the web (`/faq/<id>`, admins), saved as `faq accept` saves.

Problems are shown beside their field in the viewer's language (bot/web/entry_checks.py)
with faq.yaml untouched; an edit of an entry someone saved meanwhile is refused with both
versions shown; an attachment can be uploaded with the edit (bot/web/uploads.py); a saved
edit is recorded (who, when, "web") and the bot reloads the file. A new entry:
bot/web/faq_new.py; the saving itself: bot/web/entry_saving.py.
"""

from __future__ import annotations

from functools import partial

from aiohttp import web

from bot.faq.entries import Faq, FaqEntry, load_faq
from bot.faq.history import FaqEdits
from bot.faq.writer import EditConflictError, EntryEdit, edit_entry, entry_version
from bot.web import entry_saving as saving
from bot.web.console import TOO_BIG, Console
from bot.web.entry_checks import LIMITS, Problems
from bot.web.entry_saving import FIELDS
from bot.web.uploads import MAX_MB

HISTORY_SHOWN = 10


def form_values(entry: FaqEntry) -> dict[str, str]:
    return {
        "category": entry.category,
        "questions": "\n".join(entry.questions),
        "answer": entry.answer.rstrip("\n"),
        "keywords": "\n".join(entry.keywords),
        "attachments": "\n".join(entry.attachments),
    }


def routes(console: Console) -> list[web.RouteDef]:
    async def current(entry_id: str) -> tuple[Faq, FaqEntry]:
        """faq.yaml as it is now, read in a worker thread (parsing YAML is slow), and the entry."""
        faq = await console.chat_first.off_loop(load_faq, console.core.faq.path)
        entry = faq.get(entry_id)
        if entry is None:
            raise web.HTTPNotFound(text="no such entry")
        return faq, entry

    async def edit_page(
        request: web.Request,
        entry: FaqEntry,
        values: dict[str, str],
        version: str,
        *,
        problems: Problems | None = None,
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
            errors=(errors or {}) | saving.shown(problems or {}, console, viewer),
            conflict=conflict,
            saved=saved,
            fields=FIELDS,
            upload_mb=MAX_MB,
            history=history[-HISTORY_SHOWN:],
        )

    async def edit(request: web.Request) -> web.StreamResponse:
        console.require_admin(request)
        _, entry = await current(request.match_info["entry"])
        saved = request.query.get("saved") == "1"
        return await edit_page(
            request, entry, form_values(entry), entry_version(entry), saved=saved
        )

    async def save(request: web.Request) -> web.StreamResponse:
        console.require_admin(request)
        viewer = console.viewer(request)
        faq, entry = await current(request.match_info["entry"])
        if request.get(TOO_BIG):  # refused unread: the form as the file has it
            values, version = form_values(entry), entry_version(entry)
            return await edit_page(
                request, entry, values, version, problems=saving.too_big(), status=413
            )
        form = await request.post()
        typed = {name: str(form.get(name, ""))[: LIMITS[name] + 1] for name in FIELDS}
        version = str(form.get("version", ""))
        posted = saving.read_posted(form, faq, console, entry)
        if posted.problems:
            return await edit_page(
                request, entry, typed, version, problems=posted.problems, status=400
            )
        writing = partial(_edit_checked, console, entry.id, version)
        try:
            errors = await saving.write(
                console,
                viewer,
                entry.id,
                posted,
                writing=writing,
                error_field=saving.field_of(FIELDS),
            )
        except EditConflictError:
            _, now = await current(entry.id)
            theirs = form_values(now)
            return await edit_page(
                request, entry, typed, entry_version(now), conflict=theirs, status=409
            )
        if errors:
            return await edit_page(request, entry, typed, version, errors=errors, status=400)
        await console.faq_changed()
        raise saving.saved_at(entry.id)

    return [web.get(r"/faq/{entry}", edit), web.post(r"/faq/{entry}", save)]


def _edit_checked(console: Console, entry_id: str, version: str, edit: EntryEdit) -> None:
    edit_entry(console.core.faq.path, entry_id, edit, version, failpoints=console.failpoints)
