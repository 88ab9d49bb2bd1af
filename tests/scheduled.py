"""A bot with its scheduler running and a clock the test moves (fixtures in conftest)."""

from __future__ import annotations

from datetime import datetime

from bot.app import App
from bot.config import Settings
from bot.faq.text import TextAnalyzer
from bot.models import Outgoing
from bot.wiring import build_core
from tests.conftest import Bot
from tests.fakes import SHANGHAI, FakeChannel, FakeClock

GROUPS = {"fake:g:丰仓小区群": "丰仓小区", "other:g:粮库宿舍群": "粮库宿舍"}
STAFF_ROOM = "other:g:staffroom"
ADMIN = "fake:admin"


class Scheduled(Bot):
    """A bot whose scheduler runs, with a clock the test moves."""

    def __init__(self, app: App, channel: FakeChannel, other: FakeChannel, clock: FakeClock):
        super().__init__(app, channel, other)
        self.clock = clock

    async def at(self, when: datetime) -> None:
        """Time passes to `when` with the bot running: jobs fire at their times, in order."""
        assert when >= self.clock.now
        await self.app.advance_clock(when, self._set)

    def _set(self, when: datetime) -> None:
        self.clock.now = when

    def texts(self, address: str) -> list[str]:
        return [o.text for o in self.sent_to(address)]

    def cards(self, number: int) -> list[str]:
        """Cards of ticket `number` in the staff room (not digests or rosters)."""
        return [t for t in self.texts(STAFF_ROOM) if f"#{number} ·" in t]


def when(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI)


async def start(settings: Settings, clock: FakeClock, analyzer: TextAnalyzer) -> Scheduled:
    core = build_core(settings, clock=clock, analyzer=analyzer)
    channel, other = FakeChannel("fake"), FakeChannel("other")
    app = App(core, [channel, other], settings)
    await channel.start(app.deliver)
    await other.start(app.deliver)
    await app.flush_outbox(at_start=True)
    app.scheduler.start()
    return Scheduled(app, channel, other, clock)


def stop(bot: Scheduled) -> None:
    bot.app.scheduler.shutdown()
    bot.app.core.close()


def button(out: Outgoing, label: str) -> str:
    return next(b.action for b in out.buttons if label in b.label)
