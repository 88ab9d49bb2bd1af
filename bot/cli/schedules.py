"""`yishiting schedules check|list`: validate schedules/ and show what is coming."""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from bot.cli.output import say
from bot.clock import parse_clock, zone
from bot.config import Settings
from bot.errors import ConfigError
from bot.models import Outgoing
from bot.schedule.book import ScheduleBook, load_schedules
from bot.schedule.joblog import JobLog
from bot.schedule.jobs import Job
from bot.schedule.targets import TargetError, resolve_targets
from bot.scheduling import build_scheduling, job_sources
from bot.store.folder import Store
from bot.store.outbox import Delivery


def check(settings: Settings, write: Callable[[str], None]) -> int:
    """Load every file (a ConfigError names file, entry, field) and resolve every target."""
    tz = zone(settings.timezone)
    book = load_schedules(settings.schedules_path, tz)
    groups = dict(settings.groups)
    networks = {"telegram", "matrix", "console", *(k.partition(":")[0] for k in groups)}
    problems = 0
    now = datetime.now(tz)
    for d in book.broadcasts:
        if d.at is not None and d.at <= now:
            write(f"{d.file}: entry {d.id!r}, field 'at': note: {d.at:%Y-%m-%d %H:%M} has passed")
    targets = [(d.id, d.file, d.targets) for d in book.broadcasts]
    if book.evening is not None and book.evening.reminders.group_notice_at is not None:
        targets.append(("evening_service", book.evening.file, book.evening.group_notice_targets))
    for entry, file, names in targets:
        for name in names:
            try:
                resolve_targets([name], groups, settings.compound_tags, networks)
            except TargetError as exc:
                if name == "all" and not groups:
                    write(f"{file}: entry {entry!r}: note: 'all' = the groups the bot has seen")
                    continue
                problems += 1
                write(f"{file}: entry {entry!r}, field 'targets': {exc}")
    _summary(book, write)
    return 2 if problems else 0


def _summary(book: ScheduleBook, write: Callable[[str], None]) -> None:
    write(f"{len(book.files)} file(s): {', '.join(book.files) or '-'}")
    if book.evening is not None:
        e = book.evening
        days = ",".join(
            ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[d] for d in sorted(e.weekdays)
        )
        slots = ", ".join(f"{s.start:%H:%M}×{s.capacity}" for s in e.slots)
        write(f"evening service: {days} · {slots} · {e.place}")
    for d in book.broadcasts:
        when = f"cron {d.cron}" if d.cron else f"at {d.at:%Y-%m-%d %H:%M}" if d.at else "-"
        write(f"broadcast {d.id}: {when} → {', '.join(d.targets)}")


async def _no_send(key: str, outs: Sequence[Outgoing], *, urgent: bool = False) -> list[Delivery]:
    return []


def upcoming(settings: Settings, now: datetime | None, count: int) -> list[str]:
    """The next `count` jobs of everything: schedules/ and, if there is one, the data folder."""
    tz = zone(settings.timezone)
    now = now or datetime.now(tz)
    with tempfile.TemporaryDirectory() as empty:
        folder = settings.data_dir if settings.data_dir.is_dir() else Path(empty)
        store = Store(folder, read_only=folder == settings.data_dir)
        try:
            jobs = _preview(settings, store, now, count)
        finally:
            store.close()
    return [f"{j.at:%Y-%m-%d %H:%M} {j.at:%a}  {j.key:<44} {j.label}" for j in jobs[:count]]


def _preview(settings: Settings, store: Store, now: datetime, count: int) -> list[Job]:
    tz = zone(settings.timezone)
    scheduling = build_scheduling(
        settings, store, lambda: now, load_schedules(settings.schedules_path, tz)
    )
    done = store.repo(JobLog)
    jobs = [
        j
        for source in job_sources(scheduling, _no_send)
        for j in source.preview(now, count)
        if not done.done(j.key)
    ]
    return sorted(jobs, key=lambda j: (j.at, j.key))


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.schedules_command == "check":
        return check(settings, say)
    start = None
    if args.start:
        try:
            start = parse_clock(args.start, datetime.now(zone(settings.timezone)))
        except ValueError:
            raise ConfigError("--from", f"cannot read the time {args.start!r}") from None
    lines = upcoming(settings, start, max(args.count, 1))
    say("\n".join(lines) if lines else "(nothing scheduled)")
    return 0
