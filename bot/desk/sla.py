"""SLA deadlines: when an active ticket needs staff attention, counted in working time."""

from __future__ import annotations

from datetime import datetime

from bot.config import FollowupConfig
from bot.desk.tickets import Status, Ticket
from bot.schedule.worktime import WorkTime


class Sla:
    """Deadlines of active tickets by their category's SLA and the staleness rule."""

    def __init__(self, config: FollowupConfig, worktime: WorkTime) -> None:
        self.config = config
        self.worktime = worktime

    def deadline(self, ticket: Ticket) -> datetime | None:
        """When an active ticket needs attention: unclaimed, its category's SLA in working
        hours from the last open/reopen; claimed, `stale_working_days` from its last change."""
        if ticket.status in (Status.OPEN, Status.REOPENED):
            since = next(e for e in reversed(ticket.history) if e.action in ("open", "reopen"))
            sla = self.config.sla_for(ticket.category)
            return self.worktime.add_working_hours(datetime.fromisoformat(since.at), sla)
        if ticket.status in (Status.CLAIMED, Status.IN_PROGRESS):
            progressed = datetime.fromisoformat(ticket.last_progress()[1])
            return self.worktime.add_working_days(progressed, self.config.stale_working_days)
        return None

    def overdue(self, ticket: Ticket, now: datetime) -> bool:
        deadline = self.deadline(ticket)
        return deadline is not None and deadline <= now
