"""Evening service (延时服务): slots and capacity, residents' bookings, rosters and reminders."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from bot.commands import Action, Command, Handler, parse_number
from bot.config import Settings
from bot.dialogue.engine import DialogueEngine
from bot.errors import Localized, UserError
from bot.evening.booking_flow import BOOK, BookingFlow
from bot.i18n import Translator
from bot.models import Address, Button, Outgoing, Role
from bot.schedule.book import EveningService, Slot
from bot.schedule.worktime import WorkTime
from bot.store.folder import Store
from bot.store.repos import RecordRepo
from bot.turn import Turn

log = logging.getLogger(__name__)

BOOKED, CANCELLED, ATTENDED, NOSHOW = "booked", "cancelled", "attended", "noshow"


@dataclass
class Booking:
    """One resident's place in one evening-service slot."""

    id: int
    person: str
    name: str
    channel: str
    chat: str  # the resident's private chat on their network
    lang: str
    date: str  # YYYY-MM-DD
    slot: str
    service: str
    status: str
    created: str

    @property
    def address(self) -> Address:
        return Address(self.channel, self.chat)

    def to_doc(self) -> dict[str, Any]:
        doc = asdict(self)
        del doc["id"]
        return doc

    @classmethod
    def from_doc(cls, record_id: int, doc: Mapping[str, Any]) -> Booking:
        return cls(id=record_id, **dict(doc))


class Bookings(RecordRepo):
    """Evening-service bookings, one numbered record each."""

    table = "bookings"


class Appointments:
    """The booking dialogue (/book), /mybookings, and staff's roster with attended/no-show."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: Store,
        service: EveningService | None,
        worktime: WorkTime,
        translate: Translator,
        clock: Callable[[], datetime],
        engine: DialogueEngine,
    ) -> None:
        self.settings = settings
        self.store = store
        self.service = service
        self.worktime = worktime
        self.t = translate
        self.clock = clock
        self.flow = BookingFlow(engine=engine, appointments=self, translate=translate)

    def commands(self) -> list[tuple[Command, Handler]]:
        return [
            (Command("book", "cmd_book", aliases=("预约",)), self._cmd_book),
            (
                Command("mybookings", "cmd_mybookings", aliases=("我的预约",), group_ok=False),
                self._cmd_mybookings,
            ),
            (Command("roster", "cmd_roster", Role.STAFF, aliases=("名单",)), self._cmd_roster),
        ]

    # ---- slots ----------------------------------------------------------------------------

    def service_or_refuse(self) -> EveningService:
        if self.service is None:
            raise UserError("book_no_service")
        return self.service

    def runs_on(self, day: date) -> bool:
        return self.service_or_refuse().runs_on(day, self.worktime.is_workday)

    def starts_at(self, day: date, slot: Slot) -> datetime:
        return datetime.combine(day, slot.start, tzinfo=self.worktime.tz)

    def bookings_on(self, day: date, *statuses: str) -> list[Booking]:
        wanted = statuses or (BOOKED, ATTENDED, NOSHOW)
        return [
            Booking.from_doc(i, doc)
            for i, doc in self.store.repo(Bookings).where("date", day.isoformat())
            if doc["status"] in wanted
        ]

    def free_places(self, day: date, slot: Slot) -> int:
        """Places left: a booking keeps its place once staff marked it attended or no-show."""
        taken = sum(1 for b in self.bookings_on(day) if b.slot == slot.id)
        return max(slot.capacity - taken, 0)

    def open_slots(self, day: date) -> list[tuple[Slot, int]]:
        """Slots of `day` that have not started and still have room."""
        now = self.clock()
        return [
            (slot, free)
            for slot in self.service_or_refuse().slots
            if self.starts_at(day, slot) > now and (free := self.free_places(day, slot)) > 0
        ]

    def bookable_days(self) -> list[date]:
        today = self.clock().date()
        days = (
            today + timedelta(days=i)
            for i in range(self.service_or_refuse().booking_days_ahead + 1)
        )
        return [d for d in days if self.runs_on(d) and self.open_slots(d)]

    def count_on(self, day: date) -> int:
        return len(self.bookings_on(day, BOOKED)) if self.service is not None else 0

    # ---- booking ----------------------------------------------------------------------------

    async def _cmd_book(self, turn: Turn, args: str) -> list[Outgoing]:
        return self.start_booking(turn)

    def start_booking(self, turn: Turn, replaces: int | None = None) -> list[Outgoing]:
        """The /book dialogue from its first step (in private; from a group it moves there)."""
        return self.flow.start(turn, replaces)

    def day_label(self, lang: str, day: date) -> str:
        today = self.clock().date()
        if day == today:
            return self.t(lang, "book_tonight")
        return f"{day:%m-%d} {self.t(lang, f'weekday_{day.weekday()}')}"

    def actions(self) -> list[tuple[Action, Handler]]:
        return [
            (Action("b:came", Role.STAFF), self._came),
            (Action("b:noshow", Role.STAFF), self._noshow),
            (Action("b"), self._on_button),
        ]

    async def _came(self, turn: Turn, arg: str) -> list[Outgoing]:
        return self._mark(turn, "came", arg)

    async def _noshow(self, turn: Turn, arg: str) -> list[Outgoing]:
        return self._mark(turn, "noshow", arg)

    async def _on_button(self, turn: Turn, rest: str) -> list[Outgoing]:
        """b:date / b:slot / b:need belong to the booking dialogue (bot/evening/booking_flow.py);
        b:cancel / b:move / b:rebook act on a resident's bookings (b:came / b:noshow for
        staff are registered apart)."""
        verb, _, arg = rest.partition(":")
        if verb in ("cancel", "move", "rebook"):
            return self._own_booking_action(turn, verb, arg)
        if verb == "done":  # "不用了" under the no-show question
            return [turn.reply(self.t(turn.lang, "book_no_thanks_ack"))]
        return self.flow.engine.press(turn, BOOK, f"b:{rest}")

    def book(
        self, turn: Turn, day: date, slot_id: str, need: str, replaces: object
    ) -> list[Outgoing] | None:
        """The resident's booking of `slot_id` on `day` (replacing booking `replaces`, when
        moved); None when the slot filled up or started meanwhile."""
        slot = self.service_or_refuse().slot(slot_id)
        if (
            slot is None
            or self.free_places(day, slot) < 1
            or self.starts_at(day, slot) <= self.clock()
        ):
            return None
        if any(
            b.date == day.isoformat() and b.slot == slot.id and b.id != replaces
            for b in self.upcoming_of(turn.sender_key)
        ):
            return [turn.reply(self.t(turn.lang, "book_already", start=hm(slot.start)))]
        sender = turn.msg.sender
        booking = Booking(
            id=0,
            person=sender.key,
            name=turn.sender_name,
            channel=sender.channel,
            chat=turn.private_address.chat_id,
            lang=turn.lang,
            date=day.isoformat(),
            slot=slot.id,
            service=need,
            status=BOOKED,
            created=self.clock().isoformat(timespec="seconds"),
        )
        booking.id = self.store.repo(Bookings).add(booking.to_doc())
        moved = ""
        if isinstance(replaces, int):
            old = self.booking(replaces)
            if old is not None and old.person == sender.key and old.status == BOOKED:
                old.status = CANCELLED
                self.store.repo(Bookings).save(old.id, old.to_doc())
                moved = self.t(turn.lang, "book_moved_from", id=old.id)
        log.info("booking %d: %s on %s %s (%s)", booking.id, sender.key, day, slot.id, need)
        return [turn.reply(self._confirmation(turn.lang, booking, slot) + moved)]

    def _confirmation(self, lang: str, booking: Booking, slot: Slot) -> str:
        day = date.fromisoformat(booking.date)
        return self.t(
            lang,
            "book_done",
            id=booking.id,
            day=self.day_label(lang, day),
            start=hm(slot.start),
            end=hm(slot.end),
            place=self.service_or_refuse().place,
            need=booking.service,
            before=self._duration(lang, self.service_or_refuse().reminders.resident_before),
        )

    def _duration(self, lang: str, delta: timedelta) -> str:
        hours, minutes = divmod(int(delta.total_seconds() // 60), 60)
        parts = [self.t(lang, "duration_hours", n=hours)] if hours else []
        if minutes or not hours:
            parts.append(self.t(lang, "duration_minutes", n=minutes))
        return "".join(parts) if lang.startswith("zh") else " ".join(parts)

    # ---- residents' bookings ----------------------------------------------------------------

    def booking(self, booking_id: int) -> Booking | None:
        doc = self.store.repo(Bookings).get(booking_id)
        return Booking.from_doc(booking_id, doc) if doc is not None else None

    def upcoming_of(self, person: str) -> list[Booking]:
        today = self.clock().date().isoformat()
        return [
            b
            for i, doc in self.store.repo(Bookings).where("person", person)
            if (b := Booking.from_doc(i, doc)).status == BOOKED and b.date >= today
        ]

    async def _cmd_mybookings(self, turn: Turn, args: str) -> list[Outgoing]:
        mine = self.upcoming_of(turn.sender_key)
        if not mine:
            return [turn.reply(self.t(turn.lang, "mybookings_empty"))]
        out = [turn.reply(self.t(turn.lang, "mybookings_header"))]
        service = self.service_or_refuse()
        for booking in mine:
            slot = service.slot(booking.slot)
            start = hm(slot.start) if slot else booking.slot
            text = self.t(
                turn.lang,
                "mybookings_line",
                id=booking.id,
                day=self.day_label(turn.lang, date.fromisoformat(booking.date)),
                start=start,
                need=booking.service,
            )
            buttons = (
                Button(self.t(turn.lang, "mybookings_cancel"), f"b:cancel:{booking.id}"),
                Button(self.t(turn.lang, "mybookings_move"), f"b:move:{booking.id}"),
            )
            out.append(turn.reply(text, buttons))
        return out

    def _own_booking_action(self, turn: Turn, verb: str, arg: str) -> list[Outgoing]:
        booking = self.booking(parse_number(arg))
        if booking is None or booking.person != turn.sender_key:
            raise UserError("error_unknown_action")
        if verb == "rebook":
            return self.start_booking(turn)
        if booking.status != BOOKED:
            raise UserError("book_not_active", id=booking.id)
        if verb == "move":
            return self.start_booking(turn, replaces=booking.id)
        booking.status = CANCELLED
        self.store.repo(Bookings).save(booking.id, booking.to_doc())
        return [turn.reply(self.t(turn.lang, "book_cancelled", id=booking.id))]

    # ---- staff ------------------------------------------------------------------------------

    async def _cmd_roster(self, turn: Turn, args: str) -> list[Outgoing]:
        day = _parse_day(args.strip()) if args.strip() else self.clock().date()
        if day is None:
            raise UserError("error_usage", usage=Localized("usage_roster"))
        text, buttons = self.roster(turn.lang, day)
        return [turn.reply(text, buttons)]

    def roster(self, lang: str, day: date) -> tuple[str, tuple[Button, ...]]:
        """The evening's bookings by slot, with attended / no-show buttons per booking."""
        service = self.service_or_refuse()
        bookings = sorted(self.bookings_on(day), key=lambda b: (b.slot, b.id))
        head = self.t(
            lang,
            "roster_header",
            day=f"{day:%m-%d} {self.t(lang, f'weekday_{day.weekday()}')}",
            place=service.place,
            count=len(bookings),
        )
        if not bookings:
            return head + "\n" + self.t(lang, "roster_empty"), ()
        lines, buttons = [head], []
        for booking in bookings:
            slot = service.slot(booking.slot)
            lines.append(
                self.t(
                    lang,
                    "roster_line",
                    id=booking.id,
                    start=hm(slot.start) if slot else booking.slot,
                    name=booking.name,
                    need=booking.service,
                    status=self.t(lang, f"booking_{booking.status}"),
                )
            )
            if booking.status == BOOKED:
                buttons += [
                    Button(self.t(lang, "roster_came", id=booking.id), f"b:came:{booking.id}"),
                    Button(self.t(lang, "roster_noshow", id=booking.id), f"b:noshow:{booking.id}"),
                ]
        return "\n".join(lines), tuple(buttons)

    def _mark(self, turn: Turn, verb: str, arg: str) -> list[Outgoing]:
        booking = self.booking(parse_number(arg))
        if booking is None:
            raise UserError("book_not_found", id=arg)
        if booking.status != BOOKED:
            raise UserError("book_not_active", id=booking.id)
        booking.status = ATTENDED if verb == "came" else NOSHOW
        self.store.repo(Bookings).save(booking.id, booking.to_doc())
        out = [turn.reply(self.t(turn.lang, f"roster_marked_{booking.status}", id=booking.id))]
        if booking.status == NOSHOW:
            out.append(
                Outgoing(
                    booking.address,
                    self.t(booking.lang, "book_noshow_ask", id=booking.id),
                    (
                        Button(self.t(booking.lang, "book_rebook"), f"b:rebook:{booking.id}"),
                        Button(self.t(booking.lang, "book_no_thanks"), "b:done:0"),
                    ),
                )
            )
        return out


def hm(moment: time) -> str:
    """18:30, as slots are shown."""
    return moment.strftime("%H:%M")


def _parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
