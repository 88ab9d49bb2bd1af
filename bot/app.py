"""Wires settings, store, FAQ, core and channels together; owns start/stop order and routing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config import Settings
from bot.core import Clock, Conversation
from bot.errors import ConfigError
from bot.faq_source import FaqSource
from bot.i18n import Translator
from bot.models import Incoming, Outgoing
from bot.roles import Roles
from bot.store import Store
from bot.text import TextAnalyzer
from channels.base import Channel, ChannelError

log = logging.getLogger(__name__)


def system_clock(settings: Settings) -> Clock:
    try:
        zone = ZoneInfo(settings.timezone)
    except ZoneInfoNotFoundError as exc:
        raise ConfigError(
            "settings", f"unknown timezone {settings.timezone!r}", field="timezone"
        ) from exc
    return lambda: datetime.now(zone)


@dataclass
class Core:
    """The channel-independent half of the bot: the conversation and what it owns."""

    conversation: Conversation
    faq: FaqSource
    store: Store

    def close(self) -> None:
        self.store.close()


def build_core(
    settings: Settings, clock: Clock | None = None, analyzer: TextAnalyzer | None = None
) -> Core:
    """Load the FAQ first (cheap to fail), then take the data folder."""
    clock = clock or system_clock(settings)
    faq = FaqSource(settings.faq_path, analyzer or TextAnalyzer(), settings.match_settings)
    store = Store(settings.data_dir)
    conversation = Conversation(
        settings=settings,
        faq=faq,
        store=store,
        roles=Roles(settings.roles),
        translate=Translator(),
        clock=clock,
    )
    return Core(conversation, faq, store)


class App:
    """Feeds every channel's Incoming to the one core and routes each Outgoing by address."""

    def __init__(self, core: Core, channels: Sequence[Channel], settings: Settings) -> None:
        self.core = core
        self.settings = settings
        self.channels = {c.name: c for c in channels}
        self._stop = asyncio.Event()

    async def deliver(self, incoming: Incoming) -> None:
        for out in await self.core.conversation.handle(incoming):
            await self.route(out)

    async def route(self, out: Outgoing) -> None:
        channel = self.channels.get(out.to.channel)
        if channel is None:
            log.warning("no channel %r running for a message to %s", out.to.channel, out.to)
            return
        try:
            ref = await channel.send(out)
        except ChannelError as exc:
            log.error("send to %s failed (retryable=%s): %s", out.to, exc.retryable, exc)
            return
        if out.tag is not None:
            self.core.conversation.sent(out, ref.channel, ref.chat_id, ref.message_id)

    async def watch_faq(self) -> None:
        while True:
            await asyncio.sleep(self.settings.faq_reload_seconds)
            result = self.core.faq.check_for_change()
            if result is not None:
                for out in self.core.conversation.reload_notice(result):
                    await self.route(out)

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self, *extra_stop: asyncio.Event) -> None:
        """Start channels, serve until a signal or any `extra_stop` event, then stop in reverse."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.request_stop)
        started: list[Channel] = []
        watcher = asyncio.create_task(self.watch_faq(), name="faq-watch")
        try:
            for channel in self.channels.values():
                await channel.start(self.deliver)
                started.append(channel)
                log.info("channel %s started", channel.name)
            waits = [asyncio.create_task(e.wait()) for e in (self._stop, *extra_stop)]
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for task in waits:
                task.cancel()
        finally:
            watcher.cancel()
            for channel in reversed(started):
                await channel.stop()
            self.core.close()
