"""The weekly summary: every Monday morning the admins' chat gets last week in one image.

The image holds the Report page's charts (bot/charts) for the weeks up to last week; it is
written under the data folder (`summaries/`) and sent through the outbox with a one-line
caption. A week with no tickets and no questions sends nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

from bot.charts import svg
from bot.charts.png import stacked_png
from bot.config import Settings
from bot.desk.repo import TicketRepo
from bot.desk.weekly import Week, monday, weeks
from bot.faq.feedback import DECISIONS, QuestionLog
from bot.i18n import Translator
from bot.models import Address, Outgoing
from bot.schedule.jobs import Job, Outcome
from bot.schedule.recurring import RecurringJobs, clock_time
from bot.schedule.worktime import WorkTime
from bot.store.files import write_atomically
from bot.store.folder import Store
from bot.store.outbox import Dispatch

log = logging.getLogger(__name__)

WEEKS = 8  # as on the Report page
FOLDER = "summaries"


@dataclass(frozen=True)
class WeekFigures:
    """Last week and the weeks before it: tickets by week, and how the FAQ did last week."""

    table: list[Week]
    faq: Counter[str]

    @property
    def last(self) -> Week:
        return self.table[-1]

    @property
    def empty(self) -> bool:
        return not (sum(self.last.opened.values()) or self.last.resolved or sum(self.faq.values()))


def figures(store: Store, worktime: WorkTime, now: datetime) -> WeekFigures:
    """The `WEEKS` weeks before the one `now` is in (this week's few hours left out)."""
    table = weeks(store.repo(TicketRepo), worktime, now, WEEKS + 1)[:-1]
    faq, _ = store.repo(QuestionLog).outcomes(table[-1].start, monday(now))
    return WeekFigures(table, faq)


class WeeklySummary(RecurringJobs):
    """Record "summary:weekly": Monday at `weekly_summary_at`, last week as one image to the
    admins' chat (`admin_chats`, else the admins' private chats)."""

    prefix = "summary"
    record = "summary:weekly"

    def __init__(
        self,
        *,
        settings: Settings,
        store: Store,
        worktime: WorkTime,
        translate: Translator,
        dispatch: Dispatch,
        admins: Callable[[], list[Address]],
    ) -> None:
        self.settings = settings
        self.store = store
        self.worktime = worktime
        self.t = translate
        self.dispatch = dispatch
        self.admins = admins
        self.at = clock_time(settings.followups.weekly_summary_at)

    def occurrences(self, after: datetime) -> Iterator[datetime]:
        day = monday(after.astimezone(self.worktime.tz)).date()
        for _ in range(530):
            when = datetime.combine(day, self.at, tzinfo=self.worktime.tz)
            if when > after:
                yield when
            day += timedelta(weeks=1)

    def job(self, due: datetime, since: datetime) -> Job:
        key = f"summary:{due.date().isoformat()}"
        return Job(key, self.record, due, partial(self._send, key), "weekly summary to admins")

    async def _send(self, key: str, now: datetime) -> Outcome:
        admins = self.admins()
        found = figures(self.store, self.worktime, now.astimezone(self.worktime.tz))
        if found.empty or not admins:
            return "empty"
        lang = self.settings.language
        path = self.store.folder / FOLDER / f"week-{found.last.start:%Y-%m-%d}.png"
        charts = self.charts(found, lang)
        await asyncio.to_thread(_write_png, path, charts)
        text = self.caption(found, lang)
        await self.dispatch(key, [Outgoing(to, text, files=(str(path),)) for to in admins])
        return "sent"

    def charts(self, found: WeekFigures, lang: str) -> list[str]:
        """The Report page's three charts for these weeks, as SVG."""
        t = self.t
        labels = [f"{w.start:%m-%d}" for w in found.table]
        names = sorted({c for w in found.table for c in w.opened})
        return [
            svg.stacked_bars(
                t(lang, "web_chart_opened"),
                labels,
                {name: [w.opened[name] for w in found.table] for name in names},
            ),
            svg.lines(
                t(lang, "web_chart_times"),
                labels,
                {
                    t(lang, "web_chart_first_reply"): [
                        _hours(w.median_first_reply) for w in found.table
                    ],
                    t(lang, "web_chart_resolution"): [
                        _hours(w.median_resolution) for w in found.table
                    ],
                },
            ),
            svg.pie(
                t(lang, "summary_chart_faq"),
                {t(lang, f"web_decision_{k}"): found.faq[k] for k in DECISIONS},
            ),
        ]

    def caption(self, found: WeekFigures, lang: str) -> str:
        last = found.last
        first_reply = last.median_first_reply
        return self.t(
            lang,
            "summary_caption",
            start=f"{last.start:%m-%d}",
            end=f"{last.start + timedelta(days=6):%m-%d}",
            opened=sum(last.opened.values()),
            resolved=last.resolved,
            reply="-" if first_reply is None else f"{first_reply:.1f}",
            answered=found.faq["answer"],
            asked=sum(found.faq.values()),
        )


def _hours(hours: float | None) -> float | None:
    return None if hours is None else round(hours, 1)


def _write_png(path: Path, charts: list[str]) -> None:
    """Drawn in a worker thread: cairo takes a few hundred milliseconds for three charts."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = stacked_png(charts)
    write_atomically(path, data)
    log.info("weekly summary image %s (%d bytes)", path, len(data))
