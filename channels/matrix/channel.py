"""The Matrix channel: a matrix-nio client syncing from a saved token in, m.notice messages out.

Translation only: timeline events of joined rooms become `Incoming`, an `Outgoing` becomes one or
more `m.room.message` events. What Matrix lacks, the adapter makes up for here:

- Buttons are rendered as numbered options under the text; a number answering them is
  delivered as `Incoming(action=...)`. The actions travel in the event itself, so they survive a
  restart (`options.py`).
- A private address is a user id (``@user:server``): it goes to the direct room the bot shares
  with that user, created when there is none (`rooms.py`).
- The sync position (``next_batch``) is kept in a `TokenStore`. Without a token the first sync
  only learns the rooms and ignores their timeline (no replay of history); afterwards every sync
  continues from the saved token, so a restart neither answers a message twice nor misses one
  sent while the bot was down. The token is saved after the batch was handled.
- End-to-end encrypted rooms are not supported: the room is told so in plain text (m.notice in
  Chinese and English) instead of the bot staying silent.
- Rate limits (M_LIMIT_EXCEEDED) are not retried by nio; a short ``retry_after`` is honoured once,
  a long one becomes a retryable `ChannelError` (`errors.py`). Lost connections are retried by
  the sync loop with exponential backoff, from the saved token.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import itertools
import logging
import mimetypes
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nio import (  # type: ignore[import-untyped]
    AsyncClient,
    AsyncClientConfig,
    ErrorResponse,
    JoinedMembersResponse,
    LoginResponse,
    ProfileGetDisplayNameResponse,
    RoomSendResponse,
    SyncResponse,
    UploadResponse,
    WhoamiResponse,
)

from bot.models import Incoming, Outgoing, media_kind
from channels.base import ChannelError, Deliver, SentRef
from channels.matrix.content import (
    image_content,
    media_content,
    render_options,
    split_text,
    text_content,
)
from channels.matrix.errors import TRANSPORT_ERRORS, ApiCall, channel_error
from channels.matrix.inbound import Inbound
from channels.matrix.invites import Invitations
from channels.matrix.options import OPTIONS_KEY, NumberedOptions
from channels.matrix.rooms import Rooms
from channels.matrix.settings import NAME, MatrixSettings, TokenStore
from channels.media import is_mxc, read_local_file
from channels.redaction import redact

log = logging.getLogger(__name__)

SENT_MEMORY = 10_000  # event ids sent by the bot (reply_to_bot without a lookup)
ENCRYPTED_NOTICE = (
    "本聊天室启用了端到端加密，议事厅机器人暂时还不支持加密聊天室，看不到这里的消息。"
    "请在未加密的聊天室里与我对话，或直接私聊我（创建私聊时请关闭加密）。\n"
    "This room is end-to-end encrypted. The Yishiting bot does not support encrypted rooms yet "
    "and cannot read messages here. Please talk to me in an unencrypted room, or start a direct "
    "chat with encryption turned off."
)
# What the bot does not need from /sync (presence is off on most servers anyway).
SYNC_FILTER: dict[str, Any] = {
    "presence": {"types": []},
    "account_data": {"types": []},
    "room": {
        "ephemeral": {"types": []},
        "account_data": {"types": []},
        "state": {"lazy_load_members": False},
        "timeline": {"limit": 50},
    },
}
FIRST_SYNC_FILTER: dict[str, Any] = {
    **SYNC_FILTER,
    "room": {**SYNC_FILTER["room"], "timeline": {"limit": 1}},
}
# Where a secret could be logged: the client library and the adapter's modules that log.


class MatrixChannel:
    """A Channel over the Matrix client-server API (matrix-nio, unencrypted rooms)."""

    name = NAME

    def __init__(self, settings: MatrixSettings, tokens: TokenStore) -> None:
        self.settings = settings
        self.tokens = tokens
        self.user_id = settings.user_id
        self.device_id: str | None = settings.device_id
        self.display_name = settings.display_name or ""
        self._client: Any = None  # nio.AsyncClient
        self._deliver: Deliver | None = None
        self._since: str | None = None
        self._first: SyncResponse | None = None  # the catch-up sync made by start()
        self._task: asyncio.Task[None] | None = None
        self._poll: asyncio.Task[Any] | None = None
        self._stopped = True
        self._connected = asyncio.Event()
        self._prev_batch: dict[str, str] = {}  # room -> the timeline start of the batch at hand
        self._sent: OrderedDict[str, None] = OrderedDict()
        self._call = ApiCall(settings.max_retry_after)
        self._options = NumberedOptions(
            self.user_id,
            client=lambda: self._client,
            call=self._call,
            sent=self._sent,
            search_from=lambda room_id: self._prev_batch.get(room_id) or self._since,
        )
        self._rooms = Rooms(self.user_id, client=lambda: self._client, call=self._call)
        self._invites = Invitations(
            self.user_id,
            allowed=settings.allowed_inviters,
            server=settings.server,
            client=lambda: self._client,
            call=self._call,
        )
        self._inbound = Inbound(
            self.user_id,
            display_name=lambda: self.display_name,
            options=self._options,
            client=lambda: self._client,
            call=self._call,
            sent=self._sent,
        )
        self._warned: set[str] = set()  # rooms told that encryption is not supported
        for secret in (settings.password, settings.access_token):
            if secret is not None:
                redact(secret.get_secret_value())

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self, deliver: Deliver) -> None:
        s = self.settings
        config = AsyncClientConfig(
            max_limit_exceeded=0,  # a 429 comes back to us at once (see `_call`)
            max_timeouts=0,  # a lost connection too: the sync loop has its own backoff
            request_timeout=s.request_timeout,
            encryption_enabled=False,
            store_sync_tokens=False,
        )
        client = AsyncClient(s.homeserver, s.user_id, device_id=s.device_id or "", config=config)
        self._client = client
        self._deliver = deliver
        self._stopped = False
        try:
            await self._login(client)
            if s.display_name:
                await self._ensure_display_name(client, s.display_name)
            elif not self.display_name:
                self.display_name = await self._profile_name(client)
            token = self.tokens.load()
            if token is None:
                await self._first_sync(client)
            else:
                first = await self._call(
                    "sync",
                    client.sync,
                    timeout=0,
                    since=token,
                    full_state=True,  # learn every room's members again after a restart
                    sync_filter=SYNC_FILTER,
                )
                self._since = token
                self._first = first
        except ChannelError:
            await self.stop()
            raise
        self._connected.set()
        self._task = asyncio.create_task(self._run(), name="matrix-sync")
        log.info("matrix: %s (device %s) is syncing", self.user_id, self.device_id)

    async def _login(self, client: Any) -> None:
        s = self.settings
        if s.access_token is not None:
            client.access_token = s.access_token.get_secret_value()
            who = await self._call("whoami", client.whoami)
            assert isinstance(who, WhoamiResponse)
            if who.user_id != s.user_id:
                raise ChannelError(
                    f"matrix: the access token belongs to {who.user_id}, not {s.user_id}",
                    retryable=False,
                )
            self.device_id = who.device_id or s.device_id
            if self.device_id:
                client.device_id = self.device_id
            return
        assert s.password is not None
        resp = await self._call(
            "login", client.login, password=s.password.get_secret_value(), device_name=s.device_name
        )
        assert isinstance(resp, LoginResponse)
        redact(resp.access_token)
        if self.device_id != resp.device_id:
            log.info(
                "matrix: logged in with new device %s (set matrix.device_id to reuse it)",
                resp.device_id,
            )
        self.device_id = resp.device_id

    async def _ensure_display_name(self, client: Any, wanted: str) -> None:
        if await self._profile_name(client) != wanted:
            await self._call("set display name", client.set_displayname, wanted)
        self.display_name = wanted

    async def _profile_name(self, client: Any) -> str:
        with contextlib.suppress(ChannelError):
            resp = await self._call("profile", client.get_displayname, self.user_id)
            if isinstance(resp, ProfileGetDisplayNameResponse) and resp.displayname:
                return str(resp.displayname)
        return ""

    async def _first_sync(self, client: Any) -> None:
        """No saved position: learn rooms and invitations, skip their history."""
        resp = await self._call(
            "sync", client.sync, timeout=0, full_state=True, sync_filter=FIRST_SYNC_FILTER
        )
        assert isinstance(resp, SyncResponse)
        await self._invites.handle(resp)
        self._since = resp.next_batch
        self.tokens.save(resp.next_batch)
        log.info("matrix: first start, history before now is not answered")

    async def stop(self) -> None:
        """Idempotent. A message being handled is finished (and its batch saved) first."""
        if self._stopped:
            return
        self._stopped = True
        self._connected.clear()
        if self._poll is not None and not self._poll.done():
            self._poll.cancel()  # a long poll has nothing to lose
        task = self._task
        if task is not None and not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=10)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            except Exception:  # pragma: no cover - logged by the loop already
                pass
        self._task = None
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.close()
        self._deliver = None

    async def check(self) -> str:
        """Log in once and ask whoami, for `yishiting doctor`.

        A password login is logged out again so no device is left behind; an access token is
        left as it is.
        """
        s = self.settings
        client = AsyncClient(
            s.homeserver,
            s.user_id,
            device_id=s.device_id or "",
            config=AsyncClientConfig(
                max_limit_exceeded=0, max_timeouts=0, request_timeout=s.request_timeout
            ),
        )
        try:
            await self._login(client)
            who = await self._call("whoami", client.whoami)
            assert isinstance(who, WhoamiResponse)
            if s.access_token is None:
                with contextlib.suppress(Exception):
                    await client.logout()
            return f"{who.user_id} on {s.homeserver}"
        finally:
            with contextlib.suppress(Exception):
                await client.close()

    async def whoami(self) -> tuple[str, str | None]:
        """(user id, device id) as the homeserver sees this login, for `yishiting doctor`."""
        resp = await self._call("whoami", self._require_client().whoami)
        assert isinstance(resp, WhoamiResponse)
        return str(resp.user_id), resp.device_id

    # ---- the sync loop ---------------------------------------------------------------------

    async def _run(self) -> None:
        client = self._client
        delay = self.settings.reconnect_min
        first, self._first = self._first, None
        while not self._stopped:
            if first is not None:
                resp, first = first, None
            else:
                self._poll = asyncio.create_task(
                    client.sync(
                        timeout=self.settings.sync_timeout_ms,
                        since=self._since,
                        sync_filter=SYNC_FILTER,
                    )
                )
                try:
                    resp = await self._poll
                except asyncio.CancelledError:
                    if self._stopped:
                        return
                    raise
                except Exception as exc:  # transport errors, and anything nio trips over
                    log.warning(
                        "matrix: sync failed (%s: %s), retrying in %.1f s",
                        type(exc).__name__,
                        exc,
                        delay,
                        exc_info=not isinstance(exc, TRANSPORT_ERRORS),
                    )
                    self._connected.clear()
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.settings.reconnect_max)
                    continue
                finally:
                    self._poll = None
            if isinstance(resp, ErrorResponse):
                log.warning("matrix: sync refused: %s; retrying in %.1f s", resp, delay)
                self._connected.clear()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.settings.reconnect_max)
                continue
            if not self._connected.is_set():
                log.info("matrix: sync is back")
                self._connected.set()
            delay = self.settings.reconnect_min
            await self._handle_sync(resp)
            self._since = resp.next_batch
            try:
                self.tokens.save(resp.next_batch)
            except OSError as exc:  # a full disk: events may come again after a restart
                log.warning("matrix: cannot save the sync position (kept in memory): %s", exc)
            except Exception:
                log.exception("matrix: cannot save the sync position (kept in memory)")

    async def _handle_sync(self, resp: SyncResponse) -> None:
        await self._invites.handle(resp)
        for room_id, info in resp.rooms.join.items():
            events = [e.source for e in info.timeline.events if isinstance(e.source, dict)]
            # A room joined in this batch: what was said before the bot came in is history.
            for i in range(len(events) - 1, -1, -1):
                if self._is_my_join(events[i]):
                    events = events[i:]
                    break
            if info.timeline.prev_batch:
                self._prev_batch[room_id] = info.timeline.prev_batch
            else:
                self._prev_batch.pop(room_id, None)
            room = self._client.rooms.get(room_id)
            for source in events:
                try:
                    await self._handle_event(room_id, room, source)
                except Exception:
                    log.exception("matrix: handling event %s failed", source.get("event_id"))

    def _is_my_join(self, source: dict[str, Any]) -> bool:
        return (
            source.get("type") == "m.room.member"
            and source.get("state_key") == self.user_id
            and (source.get("content") or {}).get("membership") == "join"
        )

    async def _handle_event(self, room_id: str, room: Any, source: dict[str, Any]) -> None:
        kind = source.get("type")
        sender = str(source.get("sender", ""))
        content = source.get("content") or {}
        if kind == "m.room.encryption" or (
            kind == "m.room.member" and self._is_my_join(source) and room and room.encrypted
        ):
            await self._warn_encrypted(room_id)
            return
        if sender == self.user_id:
            if kind == "m.room.message":  # sent before a restart, or by send(): in timeline order
                actions = self._options.actions_in(source)
                if actions:
                    self._options.remember(
                        room_id, str(source.get("event_id", "")), actions, latest=True
                    )
            return
        if kind == "m.room.encrypted":
            await self._warn_encrypted(room_id)
            return
        incoming: Incoming | None = None
        if kind == "m.room.message":
            incoming = await self._inbound.message(room_id, room, source, content)
        elif kind == "m.reaction":
            incoming = await self._inbound.reaction(room_id, room, source, content)
        if incoming is not None and self._deliver is not None:
            await self._deliver(incoming)

    async def _warn_encrypted(self, room_id: str) -> None:
        if room_id in self._warned:
            return
        self._warned.add(room_id)
        log.info("matrix: %s is encrypted; telling the room it is not supported", room_id)
        try:
            await self._send_event(room_id, text_content(ENCRYPTED_NOTICE, None))
        except ChannelError as exc:
            log.warning("matrix: cannot tell %s about encryption: %s", room_id, exc)

    # ---- out -------------------------------------------------------------------------------

    def _require_client(self) -> Any:
        if self._client is None or self._stopped:
            raise ChannelError("matrix channel is not running", retryable=True)
        return self._client

    async def send(self, out: Outgoing) -> SentRef:
        self._require_client()
        room_id = await self._rooms.room_for(out.to)
        txns = _transaction_ids(out.dedupe)
        text = out.text
        if out.buttons:
            options = render_options(out.buttons)
            text = f"{text}\n\n{options}" if text else options
        actions = tuple(b.action for b in out.buttons)
        reply = out.reply_to_message_id
        last: str | None = None
        for ref in out.attachments:
            kind, raw = media_kind(ref)
            if kind == "geo":
                continue  # the core puts a map link in the text
            if not is_mxc(raw):
                log.warning("not sending %r to %s: not Matrix media", ref[:40], room_id)
                continue
            content = media_content(kind, raw, reply)
            last = await self._send_event(room_id, content, next(txns))
            reply = None
        for path in out.files:
            content = await self._upload_content(path, reply)
            last = await self._send_event(room_id, content, next(txns))
            reply = None
        if text or last is None:
            chunks = split_text(text) if text else ["…"]
            for i, chunk in enumerate(chunks, 1):
                mention = out.to.chat_id if out.to.chat_id.startswith("@") else None
                content = text_content(
                    chunk, reply, notice=out.notice, mention=mention, thread=out.to.thread
                )
                if actions and i == len(chunks):  # the part that ends with the options
                    content[OPTIONS_KEY] = list(actions)
                last = await self._send_event(room_id, content, next(txns))
                reply = None
        assert last is not None
        if actions:
            self._options.remember(room_id, last, actions, latest=True)
        return SentRef(NAME, room_id, last)

    async def _upload_content(self, path_text: str, reply_to: str | None) -> dict[str, Any]:
        """Upload a local file the core chose (read with a size cap) as an image event."""
        path = Path(path_text)
        try:
            data = read_local_file(path_text)
        except ChannelError as exc:
            raise ChannelError(f"matrix: {exc}", retryable=False) from exc
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        uploaded = await self._call(
            "upload",
            self._client.upload,
            io.BytesIO(data),
            content_type=mime,
            filename=path.name,
            filesize=len(data),
        )
        resp = uploaded[0] if isinstance(uploaded, tuple) else uploaded
        if isinstance(resp, ErrorResponse):
            raise channel_error("upload", resp)
        assert isinstance(resp, UploadResponse)
        content = image_content(resp.content_uri, reply_to)
        content.update(body=path.name, info={"mimetype": mime, "size": len(data)})
        return content

    async def _send_event(
        self, room_id: str, content: dict[str, Any], tx_id: str | None = None
    ) -> str:
        """Send one event; the same transaction id on a retry makes the server post it once."""
        client = self._require_client()
        tx_id = tx_id or uuid.uuid4().hex
        resp = await self._call(
            "send", client.room_send, room_id, "m.room.message", content, tx_id=tx_id
        )
        assert isinstance(resp, RoomSendResponse)
        event_id = str(resp.event_id)
        self._sent[event_id] = None
        while len(self._sent) > SENT_MEMORY:
            self._sent.popitem(last=False)
        return event_id

    async def joined_members(self, room_id: str) -> list[str]:
        resp = await self._call("members", self._require_client().joined_members, room_id)
        assert isinstance(resp, JoinedMembersResponse)
        return [str(m.user_id) for m in resp.members]


def _transaction_ids(dedupe: str) -> Iterator[str]:
    """The transaction ids of one message's events: derived from its outbox key, so a retry
    of the message (after a timeout that hid whether it arrived) reuses them and the
    homeserver posts each event once; random for a direct reply."""
    if not dedupe:
        while True:
            yield uuid.uuid4().hex
    stem = hashlib.sha256(dedupe.encode()).hexdigest()[:32]
    for part in itertools.count():
        yield f"ys{stem}.{part}"


__all__ = ["MatrixChannel"]
