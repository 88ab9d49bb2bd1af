"""Starting a new FAQ entry on the web (`/faq/_new`, admins), prefilled from a question.

Checked and saved as an edit is (bot/web/entry_saving.py: problems beside their fields in
the viewer's language, an attachment uploaded with it, then one validated atomic write of
faq.yaml); a new entry is recorded (who, when, "web") and the bot reloads the file.
"""

from __future__ import annotations

from functools import partial

from aiohttp import web

from bot.faq.entries import load_faq
from bot.faq.writer import EntryEdit, add_entry
from bot.web import entry_saving as saving
from bot.web.console import TOO_BIG, Console
from bot.web.entry_checks import LIMITS, FormReader, Problems, check_id
from bot.web.entry_saving import FIELDS
from bot.web.uploads import MAX_MB

PATH = "/faq/_new"  # "_" is in no entry id, so no entry's page is shadowed
NEW_FIELDS = ("id", *FIELDS)


def routes(console: Console) -> list[web.RouteDef]:
    async def new_page(
        request: web.Request,
        values: dict[str, str],
        *,
        problems: Problems | None = None,
        errors: dict[str, str] | None = None,
        status: int = 200,
    ) -> web.Response:
        viewer = console.viewer(request)
        return await console.renderer.page(
            viewer.lang,
            "faq_edit.html",
            viewer,
            status=status,
            new=True,
            entry=None,
            values=values,
            errors=(errors or {}) | saving.shown(problems or {}, console, viewer),
            fields=FIELDS,
            upload_mb=MAX_MB,
            categories=sorted({e.category for e in console.core.faq.matcher.faq.entries}),
        )

    async def start(request: web.Request) -> web.StreamResponse:
        """A new entry's form, its first question the one asked (`?question=`)."""
        console.require_admin(request)
        question = request.query.get("question", "").strip()[: LIMITS["questions"]]
        return await new_page(request, dict.fromkeys(NEW_FIELDS, "") | {"questions": question})

    async def create(request: web.Request) -> web.StreamResponse:
        console.require_admin(request)
        viewer = console.viewer(request)
        if request.get(TOO_BIG):
            values = dict.fromkeys(NEW_FIELDS, "")
            return await new_page(request, values, problems=saving.too_big(), status=413)
        form = await request.post()
        typed = {n: str(form.get(n, ""))[: LIMITS[n] + 1] for n in NEW_FIELDS}
        faq = await console.chat_first.off_loop(load_faq, console.core.faq.path)
        reader = FormReader(form)
        entry_id = reader.text("id")
        posted = saving.read_posted(form, faq, console, None)
        id_problem = reader.problems.get("id") or check_id(entry_id, faq)
        problems = posted.problems | ({"id": id_problem} if id_problem else {})
        if problems:
            return await new_page(request, typed, problems=problems, status=400)
        writing = partial(_add, console, entry_id)
        errors = await saving.write(
            console,
            viewer,
            entry_id,
            posted,
            writing=writing,
            error_field=saving.field_of(NEW_FIELDS),
        )
        if errors:
            return await new_page(request, typed, errors=errors, status=400)
        await console.faq_changed()
        raise saving.saved_at(entry_id)

    return [web.get(PATH, start), web.post(PATH, create)]


def _add(console: Console, entry_id: str, edit: EntryEdit) -> None:
    add_entry(console.core.faq.path, entry_id, edit, failpoints=console.failpoints)
