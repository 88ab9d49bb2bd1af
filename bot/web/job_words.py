"""A scheduled job as a line in the viewer's language, for the calendar (bot/locales/).

The job sources' own labels are English for operators (`schedules list`); these are read
from the job's key, which says what it comes from (README "How scheduling works").
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.schedule.jobs import Job

Translate = Callable[..., str]  # t(key, **params) in the viewer's language
# the first part of a job's key → its locale line
_KINDS = {
    "digest": "web_job_digest",
    "summary": "web_job_summary",
    "reminder": "web_job_reminder",
    "calendar": "web_job_calendar",
}


def job_line(t: Translate, job: Job, targets: Callable[[str], tuple[str, ...] | None]) -> str:
    """What `job` does; `targets` gives a broadcast's targets by its id (None: unknown)."""
    kind, *rest = job.key.split(":")
    if kind == "broadcast" and rest:
        found = targets(rest[0])
        if found is None:
            return t("web_job_broadcast_to", id=rest[0], targets="?")
        names = [t("web_broadcast_all") if name == "all" else name for name in found]
        return t("web_job_broadcast_to", id=rest[0], targets="、".join(names))
    if kind == "evening" and len(rest) == 2:
        return t(f"web_job_evening_{rest[1]}") if rest[1] in ("roster", "notice") else job.label
    if kind in _KINDS:
        params: dict[str, Any] = {"id": rest[0] if rest else "", "year": rest[-1] if rest else ""}
        return t(_KINDS[kind], **params)
    return job.label


def day_heading(t: Translate, at: datetime) -> str:
    """'12-07 周一': the date and the weekday's name."""
    return f"{at:%m-%d} {t(f'weekday_{at.weekday()}')}"
