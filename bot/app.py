"""The running bot: channels in, the core, the router and outbox out; start and stop order."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from bot.config import Settings
from bot.failpoints import Failpoints
from bot.i18n import LANGUAGES, normalize_language
from bot.models import Address, ChatKind, Incoming, Outgoing
from bot.pacing import Pacer
from bot.schedule.joblog import JobLog
from bot.schedule.runtime import Scheduler
from bot.store.journal import StorageError
from bot.store.outbox import Delivery
from bot.web.chat_first import ChatFirst
from bot.wiring import Core
from channels.base import Channel, ChannelError, SentRef

log = logging.getLogger(__name__)

# A resident who wrote to the bot this recently is in a conversation: relays to them are not
# held for quiet hours (a staff reply at 21:10 to a question asked at 21:05 goes at once).
LIVE_CONVERSATION = timedelta(minutes=30)


class App:
    """Feeds every channel's Incoming to the one core and routes each Outgoing by address."""

    def __init__(
        self,
        core: Core,
        channels: Sequence[Channel],
        settings: Settings,
        failpoints: Failpoints | None = None,
    ) -> None:
        self.core = core
        self.failpoints = failpoints or Failpoints()
        self.settings = settings
        self.channels = {c.name: c for c in channels}
        # Networks where a bot cannot write to a person first (the adapter says so).
        core.conversation.chats.needs_start(
            c.name for c in channels if getattr(c, "private_needs_start", False)
        )
        self._stop = asyncio.Event()
        self._inflight: set[str] = set()
        # When each person last wrote privately: a staff answer to them is not held at night.
        self._heard: dict[str, datetime] = {}
        self._unmarked: dict[str, str] = {}  # sent, but the disk refused to record it yet
        self._alarmed = False  # admins were told the data folder cannot be written
        self.pacer = Pacer(settings.send_rates)
        self.chat_first = ChatFirst()
        self.scheduler = Scheduler(
            core.job_sources(self.dispatch),
            core.store.repo(JobLog),
            core.conversation.clock,
            core.worktime.tz,
            batch=core.store.batch,
        )
        self._settle_roles()

    def _settle_roles(self) -> None:
        """Roles come from the settings at every start: a removed admin or staff member
        keeps no role remembered from before (trusted channels keep what was declared)."""
        try:
            with self.core.store.batch():
                changed = self.core.store.people.settle_roles(self.core.roles.settled_role)
        except StorageError as exc:
            log.warning("could not update remembered roles: %s", exc)
            return
        for key in changed:
            log.info("roles: %s no longer has the role remembered for them", key)

    async def deliver(self, incoming: Incoming) -> None:
        """Handle one message; replies go straight back, anything for another chat is relayed.
        Web pages wait meanwhile (bot/web/chat_first.py)."""
        with self.chat_first.answering():
            await self._handle(incoming, self.route)

    async def answer(self, incoming: Incoming) -> list[Outgoing]:
        """Handle one message as `deliver` does, but return the replies to its own chat
        instead of sending them: the web console acts through this."""
        replies: list[Outgoing] = []

        async def keep(out: Outgoing) -> None:
            replies.append(out)

        await self._handle(incoming, keep)
        return replies

    async def _handle(
        self, incoming: Incoming, reply: Callable[[Outgoing], Awaitable[None]]
    ) -> None:
        """Handle one message: `reply` gets the answers for its chat, the rest is relayed.

        What handling it changed, its "seen" mark and every relayed message are committed in
        one journal line before anything is sent, so whoever saw an acknowledgement can rely
        on the relay happening, and a crash cannot keep the mark but lose a relay. When the
        data folder cannot be written, nothing is sent but "cannot save, try again later".
        """
        base = f"msg|{incoming.chat}|{incoming.message_id or uuid.uuid4().hex}|{incoming.action}"
        if incoming.message_id is not None and self.core.outbox.seen(base):
            log.info("%s was handled before (delivered again after a restart): skipped", base)
            return
        if incoming.text and incoming.action is None:
            # The sentence model takes 10-30 ms a message: in a worker thread, so other
            # chats and timers are served meanwhile; the core then finds the vector ready.
            await asyncio.to_thread(self.core.read_ahead, incoming.text)
        now = self.core.conversation.clock()
        if incoming.chat_kind is ChatKind.PRIVATE:
            self._heard[incoming.sender.key] = now
        store = self.core.store
        outs: list[Outgoing] = []
        keys: dict[int, str | None] = {}
        held: dict[int, datetime | None] = {}
        try:
            with store.batch():
                outs = await self.core.conversation.handle(incoming)
                self.scheduler.sync()  # records it changed (a cancelled broadcast) re-planned
                if incoming.message_id is not None:
                    self.core.outbox.mark_seen(base)
                for i, out in enumerate(outs):
                    if out.to != incoming.chat:
                        key = f"{base}|{i}"
                        held[i] = self._quiet_until(out, now, live=True)
                        added = self.core.outbox.enqueue(
                            key, out, not_before=held[i], quiet=not self._staff(out)
                        )
                        keys[i] = key if added else None
        except StorageError as exc:
            log.warning("a message in %s could not be saved: %s", incoming.chat, exc)
            if incoming.chat_kind is ChatKind.PRIVATE or any(o.to == incoming.chat for o in outs):
                await reply(Outgoing(incoming.chat, self._cannot_save_text(incoming)))
            await self.check_storage()
            return
        for i, out in enumerate(outs):
            if i not in keys:
                await reply(out)
            elif (recorded := keys[i]) is not None and held[i] is None:  # None: a duplicate
                await self.relay(recorded, out)
        if self._alarmed:
            await self.check_storage()

    def _cannot_save_text(self, incoming: Incoming) -> str:
        conversation = self.core.conversation
        lang = (
            conversation.people.language(incoming.sender.key)
            or normalize_language(incoming.sender.language)
            or self.settings.language
        )
        return conversation.t(lang, "error_storage")

    async def check_storage(self) -> None:
        """Tell the admins once when the data folder stops taking writes, and once when it
        takes them again; sent directly (the outbox cannot record anything meanwhile)."""
        store = self.core.store
        if store.problem is not None:
            store.probe()
        if store.problem is not None and not self._alarmed:
            self._alarmed = True
            await self._tell_admins("storage_failed_admin", problem=store.problem)
        elif store.problem is None and self._alarmed:
            self._alarmed = False
            log.warning("the data folder takes writes again; the bot carries on")
            await self._tell_admins("storage_recovered_admin")
            await self._record_unmarked()

    async def _tell_admins(self, key: str, **params: str) -> None:
        conversation = self.core.conversation
        for address in self.core.roles.admin_addresses():
            lang = conversation.people.language(str(address)) or self.settings.language
            text = conversation.t(lang, key, **params)
            try:
                await self._send(Outgoing(address, text))
            except ChannelError as exc:
                log.error("could not alert the admin at %s: %s", address, exc)

    def _quiet_until(self, out: Outgoing, now: datetime, *, live: bool) -> datetime | None:
        """When a message for residents must wait because it is night: staff chats never
        wait, nor (`live`) a resident who wrote to the bot in the last LIVE_CONVERSATION —
        the answer to what they just said is expected now."""
        worktime = self.core.worktime
        if self._staff(out) or not worktime.is_quiet(now):
            return None
        heard = self._heard.get(f"{out.to.channel}:{out.to.chat_id}")
        if live and heard is not None and now - heard <= LIVE_CONVERSATION:
            return None
        return worktime.after_quiet(now)

    async def dispatch(
        self, key: str, outs: Sequence[Outgoing], *, urgent: bool = False
    ) -> list[Delivery]:
        """Scheduled messages: recorded under `{key}|{chat}`, sent in order, paced per network.

        A message for residents in quiet hours waits in the outbox until they end, unless
        `urgent`; staff rooms and staff members' chats are never held.
        """
        now = self.core.conversation.clock()
        store = self.core.store
        now_due: list[tuple[str, Outgoing]] = []
        with store.batch():  # a job's own writes so far and these records: one commit
            for out in outs:
                considerate = not urgent and not self._staff(out)  # keeps quiet hours
                held = self._quiet_until(out, now, live=False) if considerate else None
                record = f"{key}|{out.to}"
                added = self.core.outbox.enqueue(record, out, not_before=held, quiet=considerate)
                if added and held is None:
                    now_due.append((record, out))
            store.flush()  # on disk before the first is sent
        for record, out in now_due:
            await self.relay(record, out)
        return self.core.outbox.deliveries(f"{key}|")

    def _staff(self, out: Outgoing) -> bool:
        return self.core.roles.is_staff_chat(out.to)

    async def clock_moved(self) -> None:
        """The bot's clock jumped: what is due now fires (late, by each job's policy)."""
        self.scheduler.clock_moved()
        await self.scheduler.settle()
        await self.flush_outbox()

    async def advance_clock(self, target: datetime, set_clock: Callable[[datetime], None]) -> None:
        """Time passes while the bot runs (console `:clock`, tests): the clock stops at each
        job's time so every job fires on time and in order, then at `target`."""
        clock = self.core.conversation.clock
        for _ in range(100_000):  # a guard: each round runs at least one job
            due = self.scheduler.next_time()
            if due is None or due > target:
                break
            set_clock(max(due, clock()))
            await self.clock_moved()
        set_clock(target)
        await self.clock_moved()

    async def route(self, out: Outgoing) -> None:
        """A direct reply: sent once, failures logged (the user sees no answer and can retry)."""
        try:
            ref = await self._send(out)
        except ChannelError as exc:
            log.error("reply to %s failed (retryable=%s): %s", out.to, exc.retryable, exc)
            return
        self._after_send(out, ref)

    async def relay(self, key: str, out: Outgoing) -> None:
        """Send a recorded message and record the outcome; retryable failures stay pending.

        Its outcome is committed at once, never gathered into a caller's batch. When the
        disk refuses to record that it was sent, this process remembers it (and records it
        as soon as it can), so it does not go out again meanwhile.
        """
        if key in self._inflight or key in self._unmarked:  # a slow send and a retry round
            return
        self._inflight.add(key)
        try:
            await self.pacer.wait(out.to.channel)
            ref = await self._send(replace(out, dedupe=key))
        except ChannelError as exc:
            log.warning("relay %s to %s failed (retryable=%s): %s", key, out.to, exc.retryable, exc)
            try:
                with self.core.store.outside_batch():
                    self.core.outbox.failed(key, str(exc), retryable=exc.retryable)
            except StorageError:
                return  # it stays pending: tried again in the next round
            if not exc.retryable:
                await self._undelivered(key, out, str(exc))
            return
        finally:
            self._inflight.discard(key)
        self.failpoints.hit("after_send")
        try:
            with self.core.store.outside_batch():
                self.core.outbox.sent(key, ref.message_id)
        except StorageError:
            self._unmarked[key] = ref.message_id
        self._after_send(out, ref)

    async def _record_unmarked(self) -> None:
        for key, message_id in list(self._unmarked.items()):
            try:
                with self.core.store.outside_batch():
                    self.core.outbox.sent(key, message_id)
            except StorageError:
                return
            del self._unmarked[key]

    async def _undelivered(self, key: str, out: Outgoing, reason: str) -> None:
        """A message that can never reach its chat: whoever relies on it is told (a staff
        reply a resident will not get: the ticket's staff rooms, with what to do instead)."""
        notices = self.core.conversation.undelivered(out, reason)
        if notices:
            await self.dispatch(f"{key}|undelivered", notices)

    async def _send(self, out: Outgoing) -> SentRef:
        """One send; a chat known to be unreachable fails at once, without asking the
        network, and what the network says about the chat (blocked, moved) is recorded."""
        channel = self.channels.get(out.to.channel)
        if channel is None:
            raise ChannelError(f"no channel {out.to.channel!r} is running", retryable=True)
        chats = self.core.conversation.chats
        reason = chats.states.unreachable_reason(out.to)
        if reason is not None:
            raise ChannelError(f"unreachable: {reason}", retryable=False, unreachable=reason)
        try:  # a send that hangs must not stall every job and retry behind it
            ref = await asyncio.wait_for(channel.send(out), self.settings.send_timeout_seconds)
        except TimeoutError:
            raise ChannelError("the network did not answer in time", retryable=True) from None
        except ChannelError as exc:
            why = exc.unreachable
            if why is not None:
                self._learn(lambda: chats.learnt(out.to, why))
            raise
        if ref.moved_from is not None:
            old, new = Address(ref.channel, ref.moved_from), Address(ref.channel, ref.chat_id)
            self._learn(lambda: chats.migrate(old, new))
        return ref

    def _learn(self, record: Callable[[], object]) -> None:
        try:
            with self.core.store.outside_batch():
                record()
        except StorageError as exc:  # learnt again at the next send
            log.warning("could not record what the network said about a chat: %s", exc)

    def _after_send(self, out: Outgoing, ref: SentRef) -> None:
        if out.tag is None:
            return
        try:
            with self.core.store.outside_batch():
                self.core.conversation.sent(out, ref.channel, ref.chat_id, ref.message_id)
        except StorageError as exc:  # a card's message id: replies to it are not matched
            log.warning("could not record the message id of %s: %s", out.tag, exc)

    async def flush_outbox(self, *, at_start: bool = False) -> None:
        """Send what is due: after a crash, a network coming back, or quiet hours ending.

        At start every pending message is tried at once, whatever its retry pause; but a
        scheduled message for residents found pending at night waits for the morning.
        """
        now, worktime = self.core.conversation.clock(), self.core.worktime
        await self._record_unmarked()
        if worktime.is_quiet(now):
            try:
                self.core.outbox.hold_quiet(until=worktime.after_quiet(now))
            except StorageError as exc:  # sent later, rather than at night unrecorded
                log.warning("could not hold messages for the morning: %s", exc)
                return
        for key, out in self.core.outbox.pending(now_or_never=at_start):
            if self.core.outbox.is_due(key):  # a concurrent round may have sent it meanwhile
                await self.relay(key, out)

    async def watch(self) -> None:
        """Background duties: faq.yaml changes, outbox retries, tickets' texts embedded."""
        next_flush = 0.0
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.settings.faq_reload_seconds)
            try:
                await self._watch_once(loop.time() >= next_flush)
            except StorageError as exc:
                log.warning("background duty could not save (%s); trying again later", exc)
                await self.check_storage()
            except Exception:  # a background duty must never die silently
                log.exception("background duty failed; trying again later")
            if loop.time() >= next_flush:
                next_flush = loop.time() + self.settings.outbox_retry_seconds

    async def _watch_once(self, flush: bool) -> None:
        await self.check_storage()
        await self.faq_changed()
        if self.core.reports.waiting:
            await asyncio.to_thread(self.core.embed_waiting)
        if flush:
            await self.flush_outbox()

    async def faq_changed(self) -> None:
        """faq.yaml may have changed (the watcher's look, a save on the web console): reload
        it and tell the admins, as for an edit on the server."""
        # a changed faq.yaml is indexed (and its new questions embedded) off the event loop
        result = await asyncio.to_thread(self.core.faq.check_for_change)
        if result is not None:
            stamp = self.core.conversation.clock().isoformat()
            await self.dispatch(f"faq-reload|{stamp}", self.core.conversation.reload_notice(result))

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
            await self.flush_outbox(at_start=True)  # what a crash or a restart left pending
            log.info("scheduler: %d jobs pending", self.scheduler.start())
            gc.freeze()  # what start-up built lives as long as the bot: no collector walks it
            watcher = asyncio.create_task(self.watch(), name="watch")
            waits = [asyncio.create_task(e.wait()) for e in (self._stop, *extra_stop)]
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for task in waits:
                task.cancel()
        finally:
            self.scheduler.shutdown()
            if watcher is not None:
                watcher.cancel()
            for channel in reversed(started):
                await channel.stop()
            self.core.close()
