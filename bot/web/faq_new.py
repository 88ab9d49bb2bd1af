"""Starting a new FAQ entry on the web (`/faq/_new`, admins), prefilled from a question.

Saved as an edit is (bot/faq/writer.py: validated, then one atomic replace): an id already
taken or content faq.yaml cannot hold is shown beside its field with the file untouched; a
new entry is recorded (who, when, "web") and the bot reloads the file.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from bot.errors import ConfigError
from bot.faq.history import FaqEdits
from bot.faq.writer import add_entry
from bot.web.acting import WEB
from bot.web.console import Console
from bot.web.faq_edit import FIELDS, LIMITS, field_error, read_edit
from bot.web.forms import FormError, text_field

log = logging.getLogger(__name__)

PATH = "/faq/_new"  # "_" is in no entry id, so no entry's page is shadowed
ID_LIMIT = 60
NEW_FIELDS = ("id", *FIELDS)


def routes(console: Console) -> list[web.RouteDef]:
    t = console.core.conversation.t

    async def new_page(
        request: web.Request,
        values: dict[str, str],
        *,
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
            errors=errors or {},
            fields=FIELDS,
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
        form = await request.post()
        typed = {n: str(form.get(n, ""))[: LIMITS.get(n, ID_LIMIT) + 1] for n in NEW_FIELDS}
        try:
            entry_id = text_field(form, "id", ID_LIMIT)
            edit = read_edit(form)
            await asyncio.to_thread(add_entry, console.core.faq.path, entry_id, edit)
        except FormError as exc:
            message = t(viewer.lang, exc.key, limit=exc.limit)
            return await new_page(request, typed, errors={exc.field: message}, status=400)
        except ConfigError as exc:
            return await new_page(request, typed, errors=field_error(exc, NEW_FIELDS), status=400)
        store = console.core.store
        with store.batch():
            at = console.core.conversation.clock()
            store.repo(FaqEdits).record(entry_id, viewer.key, viewer.name, at, WEB)
        log.info("faq.yaml: entry %s added on the web by %s", entry_id, viewer.key)
        await console.faq_changed()
        raise web.HTTPSeeOther(f"/faq/{entry_id}?saved=1")

    return [web.get(PATH, start), web.post(PATH, create)]
