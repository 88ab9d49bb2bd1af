"""Wires settings, store, FAQ, core and channels together; owns start/stop order and routing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config import Settings
from bot.core import Clock, Conversation
from bot.errors import ConfigError
from bot.faq_source import FaqSource
from bot.i18n import LANGUAGES, Translator
from bot.models import Incoming, Outgoing
from bot.outbox import Outbox
from bot.roles import Roles
from bot.store import Store
from bot.text import TextAnalyzer
from channels.base import Channel, ChannelError, SentRef

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
    outbox: Outbox

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
    return Core(conversation, faq, store, Outbox(store.outbox, clock))


class App:
    """Feeds every channel's Incoming to the one core and routes each Outgoing by address."""

    def __init__(self, core: Core, channels: Sequence[Channel], settings: Settings) -> None:
        self.core = core
        self.settings = settings
        self.channels = {c.name: c for c in channels}
        self._stop = asyncio.Event()
        self._inflight: set[str] = set()

    async def deliver(self, incoming: Incoming) -> None:
        """Handle one message; replies go straight back, anything for another chat is relayed.

        Relayed messages are all recorded in the outbox before the first reply is sent, so a
        resident or staff member who saw an acknowledgement can rely on the relay happening.
        """
        base = f"msg|{incoming.chat}|{incoming.message_id or uuid.uuid4().hex}|{incoming.action}"
        if incoming.message_id is not None and self.core.outbox.seen(base):
            log.info("%s was handled before (delivered again after a restart): skipped", base)
            return
        outs = await self.core.conversation.handle(incoming)
        if incoming.message_id is not None:
            self.core.outbox.mark_seen(base)
        keys: dict[int, str | None] = {}
        for i, out in enumerate(outs):
            if out.to != incoming.chat:
                key = f"{base}|{i}"
                keys[i] = key if self.core.outbox.enqueue(key, out) else None
        for i, out in enumerate(outs):
            if i not in keys:
                await self.route(out)
            elif (recorded := keys[i]) is not None:  # None: a duplicate, already handled
                await self.relay(recorded, out)

    async def notify(self, key_base: str, outs: list[Outgoing]) -> None:
        """Send messages nobody asked for (admin notices) through the outbox."""
        for i, out in enumerate(outs):
            key = f"{key_base}|{i}"
            if self.core.outbox.enqueue(key, out):
                await self.relay(key, out)

    async def route(self, out: Outgoing) -> None:
        """A direct reply: sent once, failures logged (the user sees no answer and can retry)."""
        try:
            ref = await self._send(out)
        except ChannelError as exc:
            log.error("reply to %s failed (retryable=%s): %s", out.to, exc.retryable, exc)
            return
        self._after_send(out, ref)

    async def relay(self, key: str, out: Outgoing) -> None:
        """Send a recorded message and record the outcome; retryable failures stay pending."""
        if key in self._inflight:  # a slow first send and a retry round must not both go out
            return
        self._inflight.add(key)
        try:
            ref = await self._send(out)
        except ChannelError as exc:
            log.warning("relay %s to %s failed (retryable=%s): %s", key, out.to, exc.retryable, exc)
            self.core.outbox.failed(key, str(exc), retryable=exc.retryable)
            return
        finally:
            self._inflight.discard(key)
        self.core.outbox.sent(key, ref.message_id)
        self._after_send(out, ref)

    async def _send(self, out: Outgoing) -> SentRef:
        channel = self.channels.get(out.to.channel)
        if channel is None:
            raise ChannelError(f"no channel {out.to.channel!r} is running", retryable=True)
        return await channel.send(out)

    def _after_send(self, out: Outgoing, ref: SentRef) -> None:
        if out.tag is not None:
            self.core.conversation.sent(out, ref.channel, ref.chat_id, ref.message_id)

    async def flush_outbox(self) -> None:
        """Send what is still pending: after a crash, or after a network came back."""
        for key, out in self.core.outbox.pending():
            await self.relay(key, out)

    async def watch(self) -> None:
        """Background duties: faq.yaml changes and outbox retries."""
        next_flush = 0.0
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.settings.faq_reload_seconds)
            try:
                await self._watch_once(loop.time() >= next_flush)
            except Exception:  # a background duty must never die silently
                log.exception("background duty failed; trying again later")
            if loop.time() >= next_flush:
                next_flush = loop.time() + self.settings.outbox_retry_seconds

    async def _watch_once(self, flush: bool) -> None:
        result = self.core.faq.check_for_change()
        if result is not None:
            stamp = self.core.conversation.clock().isoformat()
            await self.notify(f"faq-reload|{stamp}", self.core.conversation.reload_notice(result))
        if flush:
            await self.flush_outbox()

    async def _publish_commands(self, channel: Channel) -> None:
        """Networks with a command menu (Telegram) get one per language; failure is not fatal."""
        publish = getattr(channel, "set_commands", None)
        if publish is None:
            return
        for lang in LANGUAGES:
            resident, staff = self.core.conversation.command_menu(lang)
            code = None if lang == self.settings.language else lang.split("-")[0]
            try:
                await publish(resident, staff, code)
            except ChannelError as exc:
                log.warning(
                    "could not publish the %s command menu on %s: %s", lang, channel.name, exc
                )

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self, *extra_stop: asyncio.Event) -> None:
        """Start channels, serve until a signal or any `extra_stop` event, then stop in reverse."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.request_stop)
        started: list[Channel] = []
        watcher: asyncio.Task[None] | None = None
        try:
            for channel in self.channels.values():
                await channel.start(self.deliver)
                started.append(channel)
                log.info("channel %s started", channel.name)
                await self._publish_commands(channel)
            watcher = asyncio.create_task(self.watch(), name="watch")  # flushes the outbox first
            waits = [asyncio.create_task(e.wait()) for e in (self._stop, *extra_stop)]
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for task in waits:
                task.cancel()
        finally:
            if watcher is not None:
                watcher.cancel()
            for channel in reversed(started):
                await channel.stop()
            self.core.close()
