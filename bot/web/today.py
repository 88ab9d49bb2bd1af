"""Today (`/`): open tickets by compound and category, overdue first, tonight, what's next."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from functools import partial

from aiohttp import web

from bot.broadcast.plan import SCHEDULED, BroadcastRecords
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

        def open_and_overdue() -> tuple[int, list[Ticket]]:
            active = repo.active()
            return len(active), [t for t in active if sla.overdue(t, now)]

        def next_broadcasts() -> list[Job]:
            # the broadcasts' next times walk their rules: tens of milliseconds
            return coming(console, now, broadcasts_only=True, count=NEXT_SHOWN)

        # kept a minute at most (overdue is a matter of minutes) and until the next write
        active, overdue = await console.pages.get(
            "today", open_and_overdue, ttl=timedelta(minutes=1)
        )
        # every chat message writes to the store: the next broadcasts are kept a minute
        # whatever is written, or each answer would cost the next Today a rebuild of them;
        # but a broadcast scheduled or cancelled shows at once
        scheduled = tuple(
            n for n, _ in core.store.repo(BroadcastRecords).where("status", SCHEDULED)
        )
        upcoming = await console.pages.get(
            "today-broadcasts",
            next_broadcasts,
            ttl=timedelta(minutes=1),
            follow_writes=False,
            stamp=scheduled,
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
            coming=lined(console, partial(core.conversation.t, viewer.lang), upcoming[:NEXT_SHOWN]),
        )

    return [web.get("/", today)]
