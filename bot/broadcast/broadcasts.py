"""Broadcasts: declarative ones from schedules/, admins' ad-hoc ones, targets and delivery reports."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from itertools import islice
from typing import Any

from bot.clock import parse_clock
from bot.commands import Command, Handler, parse_number
from bot.compounds import compound_from_title
from bot.config import Settings
from bot.errors import Localized, UserError
from bot.i18n import Translator
from bot.models import Address, Button, Outgoing, Role
from bot.schedule.book import BroadcastDef, ScheduleBook
from bot.schedule.joblog import JobLog
from bot.schedule.jobs import CronError, Job, Outcome, cron_occurrences, next_due
from bot.schedule.targets import TargetError, resolve_targets
from bot.store.folder import Store
from bot.store.outbox import Delivery, Dispatch
from bot.store.repos import RecordRepo
from bot.turn import Turn

log = logging.getLogger(__name__)

DRAFT, SCHEDULED, CANCELLED, DONE = "draft", "scheduled", "cancelled", "done"
KNOWN_NETWORKS = ("telegram", "matrix", "console")
_COMMAND = re.compile(
    r"^\s*(?P<when>now|立即|at\s+(?P<at>.+?)|cron\s+[\"“](?P<cron>[^\"”]+)[\"”])"
    r"(?P<urgent>\s+(?:urgent|紧急))?\s+to\s+(?P<rest>.+)$",
    re.DOTALL | re.IGNORECASE,
)
_TARGET_SEPARATORS = re.compile(r"[,，、\s]+")


def split_targets(rest: str, networks: set[str]) -> tuple[tuple[str, ...], str] | None:
    """'all, telegram:-100: 停水' → (('all', 'telegram:-100'), '停水').

    The text starts after the first colon that does not belong to a chat id: a colon right
    after a network name ('telegram:') or inside a Matrix id ('!room:server') is skipped.
    """
    for match in re.finditer(r"[:：]", rest):
        token = _TARGET_SEPARATORS.split(rest[: match.start()])[-1]
        if match.group() == ":" and _inside_chat_id(token, networks):
            continue
        targets = tuple(t for t in _TARGET_SEPARATORS.split(rest[: match.start()]) if t)
        text = rest[match.end() :].strip()
        return (targets, text) if targets and text else None
    return None


def _inside_chat_id(token: str, networks: set[str]) -> bool:
    """Is a colon right after `token` part of a chat id ('telegram:…', 'matrix:!room:server')?"""
    if token in networks:
        return True
    network, colon, chat = token.partition(":")
    if colon:
        return network in networks and chat[:1] in "!@#" and ":" not in chat
    return bool(token) and token[0] in "!@#"  # a bare Matrix id; rejected as a target later


@dataclass(frozen=True)
class Plan:
    """What a broadcast sends, where, and when: one of `at` (once) or `cron` (recurring)."""

    id: str  # a schedules/ id, or the number of an admin's broadcast
    targets: tuple[str, ...]
    text: Mapping[str, str]
    urgent: bool
    at: datetime | None = None
    cron: str | None = None
    report_to: str = ""  # the admin who made it ('' = every admin chat)
    immediate: bool = False  # an admin's "now"

    @classmethod
    def of_definition(cls, d: BroadcastDef) -> Plan:
        return cls(d.id, d.targets, d.text, d.quiet_hours_override, d.at, d.cron)

    @classmethod
    def of_record(cls, number: int, doc: Mapping[str, Any]) -> Plan:
        at = datetime.fromisoformat(doc["at"]) if doc.get("at") else None
        return cls(
            str(number),
            tuple(doc["targets"]),
            {doc["lang"]: doc["text"]},
            bool(doc["urgent"]),
            at,
            doc.get("cron") or None,
            str(doc["author"]),
            doc.get("when") == "now",
        )

    def text_for(self, lang: str, default: str) -> str:
        return self.text.get(lang) or self.text.get(default) or next(iter(self.text.values()))


class BroadcastRecords(RecordRepo):
    """Admins' broadcasts, one numbered record each (schedules/ ones live in the files)."""

    table = "broadcasts"


class Broadcasts:
    """Admins' broadcasts in chat (/broadcast, /broadcasts, /cancel N), targets, reports."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: Store,
        book: ScheduleBook,
        translate: Translator,
        clock: Callable[[], datetime],
        admins: Callable[[], list[Address]],
    ) -> None:
        self.settings = settings
        self.store = store
        self.book = book
        self.t = translate
        self.clock = clock
        self.admins = admins
        self.grace = timedelta(minutes=settings.broadcast_grace_minutes)

    def commands(self) -> list[tuple[Command, Handler]]:
        return [
            (Command("broadcast", "cmd_broadcast", Role.ADMIN, aliases=("广播",)), self._cmd_new),
            (Command("broadcasts", "cmd_broadcasts", Role.ADMIN), self._cmd_list),
        ]

    # ---- targets ----------------------------------------------------------------------------

    def known_groups(self) -> dict[str, str]:
        """Group chats by 'channel:chat_id' → compound: the configured `groups:`, or when none
        are configured, the groups the bot has seen (staff rooms excepted)."""
        if self.settings.groups:
            return dict(self.settings.groups)
        staff = {room.chat for room in self.settings.staff_rooms}
        return {
            chat: compound_from_title(title)
            for chat, title in self.store.groups.titles().items()
            if chat not in staff
        }

    def networks(self) -> set[str]:
        keys = [*self.settings.groups, *(r.chat for r in self.settings.staff_rooms)]
        return {*KNOWN_NETWORKS, *(k.partition(":")[0] for k in keys)}

    def resolve(self, targets: tuple[str, ...]) -> list[Address]:
        return resolve_targets(
            targets, self.known_groups(), self.settings.compound_tags, self.networks()
        )

    # ---- admins in chat ---------------------------------------------------------------------

    async def _cmd_new(self, turn: Turn, args: str) -> list[Outgoing]:
        """/broadcast …: validate everything, store a draft, and show a preview to confirm."""
        match = _COMMAND.match(args)
        parts = split_targets(match["rest"], self.networks()) if match else None
        if match is None or parts is None:
            raise UserError("error_usage", usage=Localized("usage_broadcast"))
        targets, text = parts
        now = self.clock()
        at, cron = self._parse_when(match["at"], match["cron"], now)
        try:
            chats = self.resolve(targets)
        except TargetError as exc:
            key_name, params = self.target_problem(exc)
            raise UserError(key_name, **params) from None
        doc = {
            "author": turn.sender_key,
            "author_name": turn.sender_name,
            "targets": list(targets),
            "text": text,
            "lang": self.settings.language,
            "at": at.isoformat() if at else "",
            "cron": cron,
            "urgent": bool(match["urgent"]),
            "status": DRAFT,
            "created": now.isoformat(timespec="seconds"),
            "when": "cron" if cron else ("at" if match["at"] else "now"),
        }
        number = self.store.repo(BroadcastRecords).add(doc)
        return [self._preview(turn, number, doc, chats)]

    @staticmethod
    def _parse_when(
        at_text: str | None, cron: str | None, now: datetime
    ) -> tuple[datetime | None, str]:
        """(`at`, '') for now or a time to come; (None, expression) for a recurring one."""
        if cron:
            try:
                cron_occurrences(cron, now, 1)
            except CronError as exc:
                raise UserError("broadcast_bad_cron", error=str(exc)) from None
            return None, cron
        if not at_text:
            return now, ""
        try:
            at = parse_clock(at_text, now)
        except ValueError:
            raise UserError("broadcast_bad_time", text=at_text) from None
        if at <= now:
            raise UserError("broadcast_past", time=at.strftime("%m-%d %H:%M"))
        return at, ""

    def _preview(
        self, turn: Turn, number: int, doc: dict[str, Any], chats: list[Address]
    ) -> Outgoing:
        titles = self.store.groups.titles()
        names = [titles.get(str(chat)) or chat.chat_id for chat in chats[:8]]
        text = self.t(
            turn.lang,
            "broadcast_preview",
            id=number,
            when=self._when(turn.lang, Plan.of_record(number, doc)),
            count=len(chats),
            chats=self.t(turn.lang, "list_separator").join(names) + ("…" if len(chats) > 8 else ""),
            urgent=self.t(turn.lang, "broadcast_urgent") if doc["urgent"] else "",
            text=doc["text"],
        )
        buttons = (
            Button(self.t(turn.lang, "broadcast_confirm"), f"bc:confirm:{number}"),
            Button(self.t(turn.lang, "broadcast_drop"), f"bc:drop:{number}"),
        )
        return turn.reply(text, buttons)

    def target_problem(self, exc: TargetError) -> tuple[str, dict[str, str]]:
        """The locale key and parameters that explain a target the bot cannot resolve."""
        if exc.target == "all" and not self.known_groups():
            return "broadcast_no_groups", {}
        return "broadcast_unknown_target", {"target": exc.target}

    def _when(self, lang: str, plan: Plan) -> str:
        if plan.cron:
            upcoming = cron_occurrences(plan.cron, self.clock(), 1)
            first = upcoming[0].strftime("%m-%d %H:%M") if upcoming else "-"
            return self.t(lang, "broadcast_when_cron", cron=plan.cron, next=first)
        if plan.at is None or plan.immediate:
            return self.t(lang, "broadcast_when_now")
        return plan.at.strftime("%m-%d %H:%M")

    async def _cmd_list(self, turn: Turn, args: str) -> list[Outgoing]:
        lines = [self.t(turn.lang, "broadcasts_header")]
        for d in self.book.broadcasts:
            lines.append(
                self.t(
                    turn.lang,
                    "broadcasts_line_file",
                    id=d.id,
                    when=self._when(turn.lang, Plan.of_definition(d)),
                    targets=",".join(d.targets),
                )
            )
        for number, doc in self.store.repo(BroadcastRecords).where("status", SCHEDULED):
            plan = Plan.of_record(number, doc)
            lines.append(
                self.t(
                    turn.lang,
                    "broadcasts_line",
                    id=number,
                    when=self._when(turn.lang, plan),
                    targets=",".join(plan.targets),
                    text=doc["text"][:30],
                )
            )
        if len(lines) == 1:
            lines.append(self.t(turn.lang, "broadcasts_empty"))
        return [turn.reply("\n".join(lines))]

    def cancel(self, turn: Turn, args: str) -> list[Outgoing]:
        """/cancel N (admins): stop an ad-hoc broadcast that has not gone out yet."""
        number = parse_number(args)
        doc = self.store.repo(BroadcastRecords).get(number)
        if doc is None or doc["status"] not in (DRAFT, SCHEDULED):
            raise UserError("broadcast_not_found", id=number)
        doc["status"] = CANCELLED
        self.store.repo(BroadcastRecords).save(number, doc)
        return [turn.reply(self.t(turn.lang, "broadcast_cancelled", id=number))]

    def on_action(self, turn: Turn, verb: str, arg: str) -> list[Outgoing]:
        if not turn.role.allows(Role.ADMIN):
            raise UserError("error_permission_button", role=Localized("role_admin"))
        if verb == "late":
            return self._send_late(turn, f"broadcast:{arg}")
        number = parse_number(arg)
        doc = self.store.repo(BroadcastRecords).get(number)
        if doc is None or doc["status"] != DRAFT:
            raise UserError("broadcast_not_found", id=number)
        if verb == "drop":
            return self.cancel(turn, str(number))
        if verb != "confirm":
            raise UserError("error_unknown_action")
        now = self.clock()
        if doc.get("when") == "now":
            doc["at"] = now.isoformat()  # confirmed a little after it was written
        elif doc["at"] and datetime.fromisoformat(doc["at"]) <= now:
            at = datetime.fromisoformat(doc["at"])
            raise UserError("broadcast_past", time=at.strftime("%m-%d %H:%M"))
        doc["status"] = SCHEDULED
        self.store.repo(BroadcastRecords).save(number, doc)
        plan = Plan.of_record(number, doc)
        return [
            turn.reply(
                self.t(
                    turn.lang, "broadcast_scheduled", id=number, when=self._when(turn.lang, plan)
                )
            )
        ]

    def _send_late(self, turn: Turn, key: str) -> list[Outgoing]:
        """'Send now' under a missed-broadcast report: an ad-hoc copy, sent at once, once."""
        if self.store.repo(BroadcastRecords).where("late_of", key):
            raise UserError("broadcast_already_sent")
        plan = self.plan(key.split(":")[1], live=False)
        if plan is None:
            raise UserError("error_unknown_action")
        now = self.clock()
        number = self.store.repo(BroadcastRecords).add(
            {
                "author": turn.sender_key,
                "author_name": turn.sender_name,
                "targets": list(plan.targets),
                "text": plan.text_for(self.settings.language, self.settings.language),
                "lang": self.settings.language,
                "at": now.isoformat(),
                "cron": "",
                "urgent": plan.urgent,
                "status": SCHEDULED,
                "created": now.isoformat(timespec="seconds"),
                "late_of": key,
                "when": "now",
            }
        )
        return [
            turn.reply(
                self.t(
                    turn.lang,
                    "broadcast_scheduled",
                    id=number,
                    when=self.t(turn.lang, "broadcast_when_now"),
                )
            )
        ]

    def plan(self, broadcast_id: str, *, live: bool = True) -> Plan | None:
        """The plan of a schedules/ id or a record number (only a scheduled one if `live`)."""
        if broadcast_id.isdigit():
            doc = self.store.repo(BroadcastRecords).get(int(broadcast_id))
            if doc is None or (live and doc["status"] != SCHEDULED):
                return None
            return Plan.of_record(int(broadcast_id), doc)
        definition = self.book.broadcast(broadcast_id)
        return Plan.of_definition(definition) if definition is not None else None

    def report_to(self, plan: Plan) -> list[Address]:
        return [Address.parse(plan.report_to)] if plan.report_to else self.admins()

    def report(self, lang: str, broadcast_id: str, deliveries: list[Delivery]) -> str:
        """Sent / held for the morning / failed (with the reason) per chat."""
        sent = [d for d in deliveries if d.status == "sent"]
        failed = [d for d in deliveries if d.status != "sent" and d.error]
        held = [d for d in deliveries if d.status == "pending" and not d.error]
        lines = [
            self.t(
                lang,
                "broadcast_report",
                id=broadcast_id,
                sent=len(sent),
                failed=len(failed),
                held=len(held),
            )
        ]
        lines += [
            self.t(
                lang,
                "broadcast_report_failed",
                chat=str(d.to),
                error=d.error[:80],
                retry=self.t(lang, "broadcast_retrying") if d.status == "pending" else "",
            )
            for d in failed[:20]
        ]
        if held:
            lines.append(self.t(lang, "broadcast_report_held", time=held[0].next_try[11:16]))
        return "\n".join(lines)


class BroadcastJobs:
    """Jobs of records "broadcast:{id}": one per occurrence, "broadcast:{id}:{time}"."""

    prefix = "broadcast"

    def __init__(self, broadcasts: Broadcasts, dispatch: Dispatch) -> None:
        self.broadcasts = broadcasts
        self.store = broadcasts.store
        self.dispatch = dispatch
        self.lang = broadcasts.settings.language

    def all_jobs(self, now: datetime) -> Iterator[Job]:
        ids = [d.id for d in self.broadcasts.book.broadcasts]
        ids += [str(n) for n, _ in self.store.repo(BroadcastRecords).where("status", SCHEDULED)]
        for broadcast_id in ids:
            yield from self.jobs_for(f"{self.prefix}:{broadcast_id}", now)

    def changed_records(self) -> list[str]:
        return [
            f"{self.prefix}:{n}" for n in sorted(self.store.repo(BroadcastRecords).take_changed())
        ]

    def jobs_for(self, record: str, now: datetime) -> list[Job]:
        plan = self.broadcasts.plan(record.partition(":")[2])
        if plan is None:
            return []
        due: datetime | None
        if plan.cron is not None:
            since = self.store.repo(JobLog).since(record, now).astimezone(now.tzinfo)
            due = next_due(_cron_times(plan.cron, since), now)
        elif self.store.repo(JobLog).last_due(record) is not None:
            due = None  # a one-off that ran
        else:
            due = plan.at
            first_seen = self.store.repo(JobLog).first_seen(record, now)
            if (
                due is not None
                and not plan.id.isdigit()
                and due < first_seen - self.broadcasts.grace
            ):
                log.info("broadcast %s: its time had passed when it was added; skipped", plan.id)
                due = None
        return [self._job(record, plan, due)] if due is not None else []

    def preview(self, now: datetime, count: int) -> list[Job]:
        jobs = []
        for job in self.all_jobs(now):
            plan = self.broadcasts.plan(job.record.partition(":")[2])
            if plan is not None and plan.cron is not None:
                times = islice(_cron_times(plan.cron, now), count)
                jobs += [self._job(job.record, plan, due) for due in times]
            else:
                jobs.append(job)
        return jobs

    def _job(self, record: str, plan: Plan, due: datetime) -> Job:
        key = f"{self.prefix}:{plan.id}:{due.strftime('%Y-%m-%dT%H:%M')}"
        label = f"broadcast {plan.id} to {','.join(plan.targets)}"
        return Job(key, record, due, partial(self._fire, plan.id, key, due), label)

    async def _fire(self, broadcast_id: str, key: str, due: datetime, now: datetime) -> Outcome:
        plan = self.broadcasts.plan(broadcast_id)  # as it is now: it may have been cancelled
        if plan is None:
            return "skipped"
        started = bool(self.store.outbox.with_prefix(f"{key}|"))  # a crash mid-broadcast
        if now - due > self.broadcasts.grace and not started:
            await self._missed(plan, key, due)
            outcome = "missed"
        else:
            outcome = await self._send(plan, key)
        self._finish(plan)
        return outcome

    async def _missed(self, plan: Plan, key: str, due: datetime) -> None:
        log.warning("broadcast %s due %s missed", plan.id, due)
        text = self.broadcasts.t(
            self.lang,
            "broadcast_missed",
            id=plan.id,
            due=due.strftime("%m-%d %H:%M"),
            text=plan.text_for(self.lang, self.lang)[:60],
        )
        # the occurrence without the "broadcast:" prefix: Telegram buttons carry 64 bytes
        occurrence = key.removeprefix(f"{self.prefix}:")
        button = Button(self.broadcasts.t(self.lang, "broadcast_send_now"), f"bc:late:{occurrence}")
        admins = self.broadcasts.report_to(plan)
        await self.dispatch(f"{key}:missed", [Outgoing(a, text, (button,)) for a in admins])

    async def _send(self, plan: Plan, key: str) -> Outcome:
        admins = self.broadcasts.report_to(plan)
        try:
            chats = self.broadcasts.resolve(plan.targets)
        except TargetError as exc:
            key_name, params = self.broadcasts.target_problem(exc)
            text = self.broadcasts.t(self.lang, key_name, **params)
            await self.dispatch(f"{key}:report", [Outgoing(a, text) for a in admins])
            return "failed"
        text = plan.text_for(self.lang, self.lang)
        deliveries = await self.dispatch(
            key, [Outgoing(chat, text) for chat in chats], urgent=plan.urgent
        )
        report = self.broadcasts.report(self.lang, plan.id, deliveries)
        await self.dispatch(f"{key}:report", [Outgoing(a, report) for a in admins])
        return "sent"

    def _finish(self, plan: Plan) -> None:
        """An admin's one-off broadcast is done once it ran (a cancelled one stays cancelled)."""
        if plan.id.isdigit() and plan.cron is None:
            doc = self.store.repo(BroadcastRecords).get(int(plan.id))
            if doc is not None and doc["status"] == SCHEDULED:
                doc["status"] = DONE
                self.store.repo(BroadcastRecords).save(int(plan.id), doc)


def _cron_times(expr: str, since: datetime) -> Iterator[datetime]:
    after = since
    while True:
        batch = cron_occurrences(expr, after, 50)
        if not batch:
            return
        yield from batch
        after = batch[-1]
