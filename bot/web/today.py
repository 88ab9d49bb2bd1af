"""Today (`/`): open tickets by compound and category, the overdue ones first."""

from __future__ import annotations

from collections import Counter

from aiohttp import web

from bot.desk.repo import TicketRepo
from bot.web.console import Console

OVERDUE_SHOWN = 20


def routes(console: Console) -> list[web.RouteDef]:
    async def today(request: web.Request) -> web.StreamResponse:
        viewer = console.viewer(request)
        core = console.core
        now = core.conversation.clock()
        repo = core.store.repo(TicketRepo)
        active = repo.active()
        sla = core.scheduling.sla
        overdue = [t for t in active if sla.overdue(t, now)]
        counts = Counter({(c or "-", k): n for (c, k), n in repo.active_counts().items()})
        compounds = sorted({c for c, _ in counts})
        categories = sorted({k for _, k in counts})
        return console.renderer.page(
            viewer.lang,
            "today.html",
            viewer,
            now=now,
            active=len(active),
            overdue=overdue[:OVERDUE_SHOWN],
            overdue_count=len(overdue),
            counts=counts,
            compounds=compounds,
            categories=categories,
        )

    return [web.get("/", today)]
