"""Admins' broadcasts in chat: /broadcast with a preview, /broadcasts, /cancel N, reports."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot.broadcast.confirm import CONFIRM, BroadcastConfirmFlow
from bot.broadcast.plan import CANCELLED, DRAFT, SCHEDULED, BroadcastRecords, Plan
from bot.clock import parse_clock
from bot.commands import Action, Command, Handler, parse_number
from bot.compounds import Compounds
from bot.config import Settings
from bot.dialogue.engine import DialogueEngine
from bot.errors import Localized, UserError
from bot.i18n import Translator
from bot.models import Address, Button, Outgoing, Role
from bot.schedule.book import ScheduleBook
from bot.schedule.jobs import (
    MIN_REPEAT,
    CronError,
    cron_occurrences,
    firings_per_day,
    shortest_gap,
)
from bot.schedule.targets import TargetError, resolve_targets
from bot.schedule.worktime import WorkTime
from bot.store.folder import Store
from bot.store.outbox import Delivery
from bot.turn import Turn

log = logging.getLogger(__name__)

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
        worktime: WorkTime,
        compounds: Compounds,
        engine: DialogueEngine,
    ) -> None:
        self.settings = settings
        self.compounds = compounds
        self.store = store
        self.worktime = worktime
        self.book = book
        self.t = translate
        self.clock = clock
        self.admins = admins
        self.grace = timedelta(minutes=settings.broadcast_grace_minutes)
        self.confirmation = BroadcastConfirmFlow(engine=engine, store=store, decide=self.decide)

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
            chat: self.compounds.name_of(title)
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
        gap = shortest_gap(cron, now) if cron else None
        if gap is not None and gap < MIN_REPEAT:  # confirmed only with its own button
            doc["often"] = {
                "minutes": gap.total_seconds() / 60,
                "per_day": firings_per_day(cron, now),
            }
        number = self.store.repo(BroadcastRecords).add(doc)
        return self.confirmation.ask(turn, number, self._preview(turn, number, doc, chats))

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
        confirm = Button(self.t(turn.lang, "broadcast_confirm"), f"bc:confirm:{number}")
        often = doc.get("often")
        if often:
            minutes = f"{often['minutes']:g}"
            text += "\n" + self.t(
                turn.lang, "broadcast_too_often", minutes=minutes, per_day=often["per_day"]
            )
            confirm = Button(
                self.t(turn.lang, "broadcast_confirm_often", minutes=minutes), f"bc:often:{number}"
            )
        buttons = (confirm, Button(self.t(turn.lang, "broadcast_drop"), f"bc:drop:{number}"))
        return turn.reply(text, buttons)

    def target_problem(self, exc: TargetError) -> tuple[str, dict[str, str]]:
        """The locale key and parameters that explain a target the bot cannot resolve."""
        if exc.target == "all" and not self.known_groups():
            return "broadcast_no_groups", {}
        return "broadcast_unknown_target", {"target": exc.target}

    def _when(self, lang: str, plan: Plan) -> str:
        """When it goes out, as the groups will see it: a time in quiet hours is held until
        they end (unless urgent), and the admin is told so."""
        now = self.clock()
        if plan.cron:
            upcoming = cron_occurrences(plan.cron, now, 1)
            first = upcoming[0].strftime("%m-%d %H:%M") if upcoming else "-"
            text = self.t(lang, "broadcast_when_cron", cron=plan.cron, next=first)
            due = upcoming[0] if upcoming else None
        elif plan.at is None or plan.immediate:
            text, due = self.t(lang, "broadcast_when_now"), now
        else:
            text, due = plan.at.strftime("%m-%d %H:%M"), plan.at
        if due is not None and not plan.urgent and self.worktime.is_quiet(due):
            held = self.worktime.after_quiet(due).strftime("%m-%d %H:%M")
            text += self.t(lang, "broadcast_held", time=held)
        return text

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

    def actions(self) -> list[tuple[Action, Handler]]:
        return [(Action("bc", Role.ADMIN), self._on_button)]

    async def _on_button(self, turn: Turn, rest: str) -> list[Outgoing]:
        verb, _, arg = rest.partition(":")
        return self.on_action(turn, verb, arg)

    def on_action(self, turn: Turn, verb: str, arg: str) -> list[Outgoing]:
        """bc:late under a missed-broadcast report; the preview's buttons belong to its
        confirmation dialogue (bot/broadcast/confirm.py)."""
        if verb == "late":
            return self._send_late(turn, f"broadcast:{arg}")
        return self.confirmation.engine.press(turn, CONFIRM, f"bc:{verb}:{arg}")

    def decide(self, turn: Turn, verb: str, number: int) -> list[Outgoing]:
        """The admin's answer to a preview: confirm (bc:confirm, bc:often) or drop."""
        doc = self.store.repo(BroadcastRecords).get(number)
        if doc is None or doc["status"] != DRAFT:
            raise UserError("broadcast_not_found", id=number)
        if verb == "drop":
            return self.cancel(turn, str(number))
        if verb not in ("confirm", "often"):
            raise UserError("error_unknown_action")
        if bool(doc.get("often")) != (verb == "often"):  # a repeat this often needs its own yes
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
