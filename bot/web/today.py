"""Today (`/`): open tickets by compound and category, overdue first, tonight, what's next."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from functools import partial

from aiohttp import web

from bot.desk.repo import TicketRepo
from bot.desk.tickets import Ticket
from bot.faq.feedback import QuestionLog
from bot.schedule.jobs import Job
from bot.web.broadcasts import coming, lined
from bot.web.console import Console
from bot.web.report import faq_week

OVERDUE_SHOWN = 20
NEXT_SHOWN = 5


def routes(console: Console) -> list[web.RouteDef]:
    async def today(request: web.Request) -> web.StreamResponse:
        viewer = console.viewer(request)
        core = console.core
        now = core.conversation.clock()
        repo = core.store.repo(TicketRepo)
        sla = core.scheduling.sla

        def open_overdue_and_next() -> tuple[int, list[Ticket], list[Job]]:
            active = repo.active()
            overdue = [t for t in active if sla.overdue(t, now)]
            # working out the broadcasts' next times walks their rules: tens of milliseconds
            return (
                len(active),
                overdue,
                coming(console, now, broadcasts_only=True, count=NEXT_SHOWN),
            )

        # kept a minute at most (overdue is a matter of minutes) and until the next write
        active, overdue, next_broadcasts = await console.pages.get(
            "today", open_overdue_and_next, ttl=timedelta(minutes=1)
        )
        counts = Counter({(c or "-", k): n for (c, k), n in repo.active_counts().items()})
        compounds = sorted({c for c, _ in counts})
        categories = sorted({k for _, k in counts})
        outcomes, _ = faq_week(core.store.repo(QuestionLog), now)
        asked = sum(outcomes.values())
        return await console.renderer.page(
            viewer.lang,
            "today.html",
            viewer,
            now=now,
            active=active,
            overdue=overdue[:OVERDUE_SHOWN],
            overdue_count=len(overdue),
            counts=counts,
            compounds=compounds,
            categories=categories,
            tonight=core.scheduling.appointments.count_on(now.date()),
            evening=core.scheduling.schedules.evening is not None,
            answered=round(100 * outcomes["answer"] / asked) if asked else None,
            asked=asked,
            coming=lined(
                console, partial(core.conversation.t, viewer.lang), next_broadcasts[:NEXT_SHOWN]
            ),
        )

    return [web.get("/", today)]
