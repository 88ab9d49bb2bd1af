"""The one way tests start the bot: the real wiring and app, fake or real channels, a clock
the test moves and a temporary data folder.

    bot = await start_bot(settings, clock, analyzer, sentence_model)  # two fake networks
    (reply,) = await bot.chat("zhang").say("医保怎么交")          # a resident, privately
    await bot.at(when(2, 9))                                     # time passes, jobs fire
    bot = await bot.restart()                                    # same data folder
    bot.close()

`channels` replaces the two fake networks ("fake" for residents, "other" for the staff
room) with any channels, real adapters included; they are started with `App.deliver` as
`yishiting run` would, and `scheduler=True` runs the scheduler too. Tests that need the
bot as a whole process use the command line instead (tests/cli_helpers.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.app import App
from bot.config import Settings
from bot.desk.repo import TicketRepo
from bot.faq.meaning import ModelStatus
from bot.faq.text import TextAnalyzer
from bot.models import Outgoing, Role
from bot.wiring import Core, build_core
from channels.base import Channel
from tests.fakes import Chat, FakeChannel, FakeClock


@dataclass
class Bot:
    """The real bot as a test drives it; `channel` and `other` are the fake networks."""

    app: App
    settings: Settings
    clock: FakeClock
    analyzer: TextAnalyzer
    model: ModelStatus
    channels: Sequence[Channel]
    scheduler: bool = False
    closed: bool = field(default=False, init=False)

    @property
    def core(self) -> Core:
        return self.app.core

    @property
    def tickets(self) -> TicketRepo:
        return self.core.store.repo(TicketRepo)

    @property
    def channel(self) -> FakeChannel:
        return self._fake("fake")

    @property
    def other(self) -> FakeChannel:
        return self._fake("other")

    def _fake(self, name: str) -> FakeChannel:
        found = next(c for c in self.channels if c.name == name)
        assert isinstance(found, FakeChannel)
        return found

    def chat(
        self,
        user: str,
        *,
        group: str | None = None,
        role: Role | None = None,
        language: str | None = None,
        network: str = "fake",
    ) -> Chat:
        """`user` speaking in `group` (or privately) on one of the fake networks."""
        channel = self._fake(network)
        return Chat(self.app, channel, user, group=group, role=role, language=language)

    def sent_to(self, address: str) -> list[Outgoing]:
        """Everything the fake networks carried to `address` ('fake:zhang', 'other:g:…')."""
        fakes = [c for c in self.channels if isinstance(c, FakeChannel)]
        return [o for c in fakes for o in c.sent if str(o.to) == address]

    def texts(self, address: str) -> list[str]:
        return [o.text for o in self.sent_to(address)]

    async def at(self, when: datetime) -> None:
        """Time passes to `when` with the bot running: jobs fire at their times, in order."""
        assert when >= self.clock.now
        await self.app.advance_clock(when, self._set)

    def _set(self, when: datetime) -> None:
        self.clock.now = when

    async def restart(self, channels: Sequence[Channel] | None = None) -> Bot:
        """Stop and start again on the same data folder (and clock), as after a crash."""
        await self.stop()
        fresh = channels if channels is not None else [FakeChannel(c.name) for c in self.channels]
        return await start_bot(
            self.settings,
            self.clock,
            self.analyzer,
            self.model,
            channels=fresh,
            scheduler=self.scheduler,
        )

    async def stop(self) -> None:
        for channel in self.channels:
            await channel.stop()
        self.close()

    def close(self) -> None:
        """Stop the scheduler and close the data folder (idempotent)."""
        if self.closed:
            return
        self.closed = True
        self.app.scheduler.shutdown()
        self.core.close()


async def start_bot(
    settings: Settings,
    clock: FakeClock,
    analyzer: TextAnalyzer,
    model: ModelStatus,
    *,
    channels: Sequence[Channel] | None = None,
    scheduler: bool = False,
    start_channels: bool = True,
) -> Bot:
    """Build the bot as `yishiting run` does and start its channels (and scheduler).

    `analyzer` and `model` are loaded once per test session (tests/conftest.py) and shared.

    With `start_channels=False` the channels are not started: a test that drives the core
    through `Chat` alone (a network that is down) or starts them itself.
    """
    core = build_core(settings, clock=clock, analyzer=analyzer, model=model)
    chosen = list(channels) if channels is not None else [FakeChannel("fake"), FakeChannel("other")]
    app = App(core, chosen, settings)
    bot = Bot(app, settings, clock, analyzer, model, chosen, scheduler)
    try:
        if start_channels:
            for channel in chosen:
                await channel.start(app.deliver)
        if scheduler:
            await app.flush_outbox(at_start=True)
            app.scheduler.start()
    except BaseException:
        bot.close()
        raise
    return bot
