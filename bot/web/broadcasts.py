"""Broadcasts (`/broadcasts`, admins): compose, preview, the next four weeks, cancel, reports.

Composing is `/broadcast` through the chat core: its preview and buttons are the chat's own.
The calendar speaks the viewer's language (bot/web/job_words.py); the delivery reports are
read from the outbox (bot/web/deliveries.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial
from itertools import groupby

from aiohttp import web

from bot.broadcast.jobs import BroadcastJobs
from bot.desk.followups import TicketFollowups
from bot.models import Address, Outgoing
from bot.schedule.joblog import JobLog
from bot.schedule.jobs import Job
from bot.schedule.rule_words import cron_from_words
from bot.scheduling import job_sources
from bot.store.outbox import Delivery
from bot.web.acting import WEB, act_as
from bot.web.console import Console
from bot.web.deliveries import OUTCOMES, Run, recent_runs
from bot.web.forms import FormError, text_field
from bot.web.job_words import Translate, day_heading, job_line

CALENDAR_DAYS = 28
# Jobs previewed per source: four weeks of anything daily (a repeating broadcast's times come
# from its cron rule, about 0.4 ms each: an hourly one shows its next 40).
PER_SOURCE = 40


async def _no_send(key: str, outs: Sequence[Outgoing], *, urgent: bool = False) -> list[Delivery]:
    return []


def coming(
    console: Console, now: datetime, *, broadcasts_only: bool = False, count: int = PER_SOURCE
) -> list[Job]:
    """Everything scheduled in the next four weeks (broadcasts, evening-service notices and
    rosters, digests, calendar notices), in order; tickets' follow-ups are on their pages."""
    core = console.core
    end = now + timedelta(days=CALENDAR_DAYS)
    done = core.store.repo(JobLog)
    wanted = BroadcastJobs if broadcasts_only else object
    return sorted(
        (
            job
            for source in job_sources(core.scheduling, _no_send)
            if isinstance(source, wanted) and not isinstance(source, TicketFollowups)
            for job in source.preview(now, count)
            if job.at <= end and not done.done(job.key)
        ),
        key=lambda j: (j.at, j.key),
    )


def calendar(
    console: Console, now: datetime, t: Translate
) -> list[tuple[str, list[tuple[Job, str]]]]:
    """`coming`, by day, each job with its line in the viewer's language."""
    days = groupby(coming(console, now), key=lambda j: j.at.date())
    return [(day_heading(t, js[0].at), lined(console, t, js)) for js in (list(g) for _, g in days)]


def lined(console: Console, t: Translate, jobs: Sequence[Job]) -> list[tuple[Job, str]]:
    """Each job with what it does in the viewer's language (bot/web/job_words.py)."""
    broadcasts = console.core.scheduling.broadcasts

    def targets(broadcast_id: str) -> tuple[str, ...] | None:
        plan = broadcasts.plan(broadcast_id)
        return plan.targets if plan is not None else None

    return [(job, job_line(t, job, targets)) for job in jobs]


def delivery_reports(console: Console) -> list[Run]:
    """The latest broadcasts' runs, each target's outcome, from the outbox records."""
    core = console.core
    names = core.scheduling.broadcasts.known_groups() | core.store.groups.titles()
    return recent_runs(
        core.outbox.deliveries("broadcast:"),
        names,
        core.conversation.chats.states.unreachable_reason,
    )


def compose_command(form: Mapping[str, object], targets: Sequence[str], limit: int) -> str:
    """The `/broadcast` command the compose form stands for (checked by the chat core)."""
    text = text_field(form, "text", limit)
    when = text_field(form, "when", 10)
    moment = text_field(form, "moment", 100)
    if when == "at":
        head = f"at {moment}"
    elif when == "cron":
        head = f'cron "{cron_from_words(moment) or moment}"'
    else:
        head = "now"
    urgent = " urgent" if form.get("urgent") else ""
    return f"/broadcast {head}{urgent} to {','.join(targets) or '-'}: {text}"


def routes(console: Console) -> list[web.RouteDef]:
    t = console.core.conversation.t

    async def page(
        request: web.Request, replies: Sequence[Outgoing] = (), status: int = 200
    ) -> web.Response:
        viewer = console.viewer(request)
        now = console.core.conversation.clock()
        listing = await act_as(console, viewer, "/broadcasts")
        settings = console.settings
        return await console.renderer.page(
            viewer.lang,
            "broadcasts.html",
            viewer,
            status=status,
            replies=replies,
            listing="\n".join(o.text for o in listing),
            days=await console.chat_first.off_loop(calendar, console, now, partial(t, viewer.lang)),
            runs=delivery_reports(console),
            outcomes=OUTCOMES,
            compounds=list(console.core.scheduling.compounds.names),
            tags=sorted(settings.compound_tags),
        )

    async def show(request: web.Request) -> web.StreamResponse:
        console.require_admin(request)
        return await page(request)

    async def compose(request: web.Request) -> web.StreamResponse:
        console.require_admin(request)
        viewer = console.viewer(request)
        form = await request.post()
        try:
            targets = [v for v in form.getall("targets", []) if isinstance(v, str)][:50]
            command = compose_command(form, targets, console.settings.max_text_chars)
        except FormError as exc:
            said = Outgoing(Address(WEB, viewer.key), t(viewer.lang, exc.key, limit=exc.limit))
            return await page(request, [said], status=400)
        return await page(request, await act_as(console, viewer, command))

    async def press(request: web.Request) -> web.StreamResponse:
        """A button of the bot's answer (确认发送, 取消): pressed as in chat."""
        console.require_admin(request)
        form = await request.post()
        action = form.get("action")
        if not isinstance(action, str) or not action.startswith("bc:") or len(action) > 100:
            raise web.HTTPBadRequest(text="no such button")
        return await page(request, await act_as(console, console.viewer(request), action=action))

    async def cancel(request: web.Request) -> web.StreamResponse:
        console.require_admin(request)
        form = await request.post()
        number = str(form.get("number", ""))[:12]
        return await page(
            request, await act_as(console, console.viewer(request), f"/cancel {number}")
        )

    return [
        web.get("/broadcasts", show),
        web.post("/broadcasts", compose),
        web.post("/broadcasts/press", press),
        web.post("/broadcasts/cancel", cancel),
    ]
