"""Report (`/report`): the last weeks in charts — tickets, reply times, how the FAQ did."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from bot.desk.repo import TicketRepo
from bot.desk.weekly import Week, monday, weeks
from bot.evening.booking import NOSHOW, Appointments
from bot.faq.feedback import QuestionLog
from bot.i18n import Translator
from bot.web import charts
from bot.web.console import Console

WEEKS = 8
UNANSWERED_SHOWN = 10


def routes(console: Console) -> list[web.RouteDef]:
    t = console.core.conversation.t

    async def report(request: web.Request) -> web.StreamResponse:
        viewer = console.viewer(request)
        lang = viewer.lang
        core = console.core
        now = core.conversation.clock()
        repo, worktime = core.store.repo(TicketRepo), core.worktime
        appointments = core.scheduling.appointments if core.scheduling.schedules.evening else None

        def weeks_drawn() -> dict[str, Any]:
            """The eight weeks read and their charts drawn, in the viewer's language."""
            table = weeks(repo, worktime, now, WEEKS)
            evening = evening_weeks(appointments, table) if appointments else {}
            return _weeks_charts(t, lang, table, evening) | {"this_week": table[-1]}

        # eight weeks of tickets are read and drawn once a minute at most (per language),
        # whatever the tabs and writes
        drawn = await console.pages.get(
            f"report:{lang}", weeks_drawn, ttl=timedelta(minutes=1), follow_writes=False
        )
        outcomes, unanswered = faq_week(core.store.repo(QuestionLog), now)
        decisions = {
            t(lang, f"web_decision_{k}"): outcomes[k] for k in ("answer", "suggest", "none")
        }
        faq = await console.chat_first.off_loop(charts.pie, t(lang, "web_chart_faq"), decisions)
        return await console.renderer.page(
            lang,
            "report.html",
            viewer,
            faq=faq,
            asked=sum(outcomes.values()),
            unanswered=unanswered,
            **drawn,
        )

    return [web.get("/report", report)]


def _weeks_charts(
    t: Translator, lang: str, table: list[Week], evening: dict[str, list[int]]
) -> dict[str, str | None]:
    """The charts of the weeks: new tickets by compound, reply and resolution times, and
    the evening service's bookings (None without the service)."""
    labels = [f"{w.start:%m-%d}" for w in table]
    times = {
        t(lang, "web_chart_first_reply"): [_round(w.median_first_reply) for w in table],
        t(lang, "web_chart_resolution"): [_round(w.median_resolution) for w in table],
    }
    bookings = {
        t(lang, f"web_chart_evening_{k}"): [float(n) for n in v] for k, v in evening.items()
    }
    return {
        "opened": charts.stacked_bars(t(lang, "web_chart_opened"), labels, _by_compound(table)),
        "times": charts.lines(t(lang, "web_chart_times"), labels, times),
        "evening": charts.lines(t(lang, "web_chart_evening"), labels, bookings)
        if evening
        else None,
    }


def evening_weeks(appointments: Appointments, table: list[Week]) -> dict[str, list[int]]:
    """Evening-service bookings of each week (those cancelled left out) and the no-shows."""
    booked, noshow = [], []
    for week in table:
        days = [week.start.date() + timedelta(days=n) for n in range(7)]
        found = [b for day in days for b in appointments.bookings_on(day)]
        booked.append(len(found))
        noshow.append(sum(1 for b in found if b.status == NOSHOW))
    return {"booked": booked, "noshow": noshow}


def _by_compound(table: list[Week]) -> dict[str, list[int]]:
    names = sorted({c for w in table for c in w.opened})
    return {name: [w.opened[name] for w in table] for name in names}


def _round(hours: float | None) -> float | None:
    return None if hours is None else round(hours, 1)


def faq_week(log: QuestionLog, now: datetime) -> tuple[Counter[str], list[tuple[str, int]]]:
    """This week's private questions by the FAQ's decision, and the most asked of those it
    could not answer."""
    return log.outcomes(monday(now), shown=UNANSWERED_SHOWN)
