"""FAQ (`/faq`): the entries by category, "try a question", unanswered questions to adopt.

"Try a question" shows the decision, the scores and the best entry's question it came
closest to. Adopting an unanswered question writes it into faq.yaml as `faq accept` does
(bot/faq/writer.py), then reloads; starting a new entry from one is bot/web/faq_edit.py's.
"""

from __future__ import annotations

import logging
from functools import partial
from itertools import groupby

from aiohttp import web

from bot.faq.entries import FaqEntry, load_faq
from bot.faq.feedback import QuestionLog
from bot.faq.matcher import Decision
from bot.faq.writer import add_questions
from bot.web.console import Console
from bot.web.entry_saving import audited
from bot.web.forms import FormError, text_field

log = logging.getLogger(__name__)

TRY_SHOWN = 5
UNANSWERED_SHOWN = 20


def routes(console: Console) -> list[web.RouteDef]:
    async def listing(request: web.Request) -> web.StreamResponse:
        viewer = console.viewer(request)
        matcher = console.core.faq.matcher
        entries = sorted(matcher.faq.entries, key=lambda e: e.category)
        by_category = [(c, list(es)) for c, es in groupby(entries, key=lambda e: e.category)]
        question = request.query.get("q", "").strip()[:500]
        decision = matcher.match(question) if question else None
        best = _best_entry(decision)
        return await console.renderer.page(
            viewer.lang,
            "faq.html",
            viewer,
            by_category=by_category,
            question=question,
            decision=decision,
            ranked=decision.ranked[:TRY_SHOWN] if decision else (),
            best=best,
            phrasing=matcher.closest_question(question, best) if best else None,
            titles={e.id: e.title for e in matcher.faq.entries},
            unanswered=_unanswered(console) if viewer.admin else [],
            added=request.query.get("added", ""),
        )

    async def current(entry_id: str) -> FaqEntry:
        """The entry as faq.yaml holds it now, read in a worker thread (parsing YAML is slow)."""
        faq = await console.chat_first.off_loop(load_faq, console.core.faq.path)
        entry = faq.get(entry_id)
        if entry is None:
            raise web.HTTPNotFound(text="no such entry")
        return entry

    async def add_wording(request: web.Request) -> web.StreamResponse:
        """One click: an unanswered question becomes a wording of an entry (as `faq accept`)."""
        console.require_admin(request)
        viewer = console.viewer(request)
        form = await request.post()
        entry = await current(str(form.get("entry", ""))[:100])
        try:
            wording = text_field(form, "wording", 500)
        except FormError:
            raise web.HTTPBadRequest(text="wording too long") from None
        if wording:
            additions = {entry.id: [wording]}
            faq_path, failpoints = console.core.faq.path, console.failpoints
            adding = partial(add_questions, faq_path, additions, failpoints=failpoints)
            await audited(console, viewer, entry.id, adding)
            await console.faq_changed()
        raise web.HTTPSeeOther(f"/faq?added={entry.id}")

    return [
        web.post("/faq/wording", add_wording),
        web.get("/faq", listing),
    ]


def _best_entry(decision: Decision | None) -> str | None:
    """The id of the entry the decision rests on: the one answered with, else the best
    suggestion, else the best ranked."""
    if decision is None:
        return None
    if decision.entry is not None:
        return decision.entry.id
    if decision.suggestions:
        return decision.suggestions[0].id
    return decision.ranked[0][0] if decision.ranked else None


def _unanswered(console: Console) -> list[str]:
    """Recent private questions the FAQ did not answer, each once, newest first."""
    seen: dict[str, None] = {}
    for q in console.core.store.repo(QuestionLog).recent(200, unanswered_only=True):
        text = " ".join(q.text.split())
        if q.outcome in ("none", "suggest") and text:
            seen.setdefault(text[:200], None)
    return list(seen)[:UNANSWERED_SHOWN]
