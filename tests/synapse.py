"""Helpers for tests against a real Synapse started by `.ci/synapse.sh` (users, rooms, waiting)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import os
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from nio import (  # type: ignore[import-untyped]
    AsyncClient,
    AsyncClientConfig,
    JoinResponse,
    LoginResponse,
    RoomCreateResponse,
    RoomSendResponse,
    SyncResponse,
)

START_HINT = "start Synapse with: bash .ci/synapse.sh start /tmp/synapse && source /tmp/synapse/env"


@dataclass(frozen=True)
class Server:
    url: str
    shared_secret: str
    directory: str | None  # SYNAPSE_DIR: where .ci/synapse.sh keeps it (for stop/start)


def server() -> Server:
    """The running Synapse; skips the test (fails it under CI) when none is configured."""
    url = os.environ.get("SYNAPSE_URL")
    secret = os.environ.get("SYNAPSE_SHARED_SECRET")
    if not url or not secret:
        if os.environ.get("CI"):
            pytest.fail(f"SYNAPSE_URL/SYNAPSE_SHARED_SECRET are not set under CI; {START_HINT}")
        pytest.skip(f"NO SYNAPSE: Matrix tests skipped; {START_HINT}")
    return Server(url.rstrip("/"), secret, os.environ.get("SYNAPSE_DIR"))


def unique(name: str) -> str:
    """A fresh user name: the server's database outlives a test run."""
    return f"{name}-{uuid.uuid4().hex[:8]}"


async def register(srv: Server, user: str, password: str, admin: bool = False) -> str:
    """Create a user with the shared-secret admin API; returns the full user id."""
    url = f"{srv.url}/_synapse/admin/v1/register"
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as resp:
            resp.raise_for_status()
            nonce = (await resp.json())["nonce"]
        mac = hmac.new(srv.shared_secret.encode(), digestmod=hashlib.sha1)
        mac.update(b"\x00".join([nonce.encode(), user.encode(), password.encode()]))
        mac.update(b"\x00admin" if admin else b"\x00notadmin")
        body = {
            "nonce": nonce,
            "username": user,
            "password": password,
            "admin": admin,
            "mac": mac.hexdigest(),
        }
        async with http.post(url, json=body) as resp:
            data = await resp.json()
            if resp.status != 200:
                raise RuntimeError(f"register {user}: {resp.status} {data}")
            return str(data["user_id"])


@dataclass
class Event:
    room_id: str
    event_id: str
    sender: str
    type: str
    content: dict[str, Any]

    @property
    def body(self) -> str:
        return str(self.content.get("body", ""))


@dataclass
class User:
    """A resident or staff member: a nio client that syncs in the background and records events."""

    srv: Server
    user_id: str
    client: Any
    events: list[Event] = field(default_factory=list)
    invites: set[str] = field(default_factory=set)
    auto_join: bool = True
    _task: asyncio.Task[None] | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    async def create(cls, srv: Server, name: str) -> User:
        localpart = unique(name)
        password = uuid.uuid4().hex
        user_id = await register(srv, localpart, password)
        config = AsyncClientConfig(request_timeout=10, max_timeout_retry_wait_time=1)
        client = AsyncClient(srv.url, user_id, config=config)
        resp = await client.login(password)
        assert isinstance(resp, LoginResponse), resp
        user = cls(srv, user_id, client)
        first = await client.sync(timeout=0)
        assert isinstance(first, SyncResponse), first
        user._task = asyncio.create_task(user._sync_loop())
        return user

    async def _sync_loop(self) -> None:
        while True:
            try:
                resp = await self.client.sync(timeout=500)
            except Exception:  # the server is restarting: try again shortly
                await asyncio.sleep(0.2)
                continue
            if not isinstance(resp, SyncResponse):
                await asyncio.sleep(0.2)
                continue
            for room_id, info in resp.rooms.join.items():
                for ev in info.timeline.events:
                    src = ev.source
                    self.events.append(
                        Event(
                            room_id,
                            str(src.get("event_id", "")),
                            str(src.get("sender", "")),
                            str(src.get("type", "")),
                            dict(src.get("content") or {}),
                        )
                    )
            for room_id in resp.rooms.invite:
                if room_id not in self.invites:
                    self.invites.add(room_id)
                    if self.auto_join:  # the bot opened a private chat: accept it
                        with contextlib.suppress(Exception):
                            await self.client.join(room_id)
            self._changed.set()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.client.close()

    async def create_room(
        self, name: str | None = None, invite: tuple[str, ...] = (), encrypted: bool = False
    ) -> str:
        state = (
            [
                {
                    "type": "m.room.encryption",
                    "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                }
            ]
            if encrypted
            else []
        )
        resp = await self.client.room_create(
            name=name, invite=list(invite), initial_state=state, is_direct=name is None
        )
        assert isinstance(resp, RoomCreateResponse), resp
        return str(resp.room_id)

    async def invite(self, room_id: str, user_id: str) -> None:
        resp = await self.client.room_invite(room_id, user_id)
        assert not hasattr(resp, "status_code") or resp.status_code is None, resp

    async def join(self, room_id: str) -> None:
        resp = await self.client.join(room_id)
        assert isinstance(resp, JoinResponse), resp

    async def send(self, room_id: str, text: str, reply_to: str | None = None) -> str:
        content: dict[str, Any] = {"msgtype": "m.text", "body": text}
        if reply_to is not None:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        return await self._send(room_id, "m.room.message", content)

    async def react(self, room_id: str, event_id: str, key: str) -> str:
        relates = {"rel_type": "m.annotation", "event_id": event_id, "key": key}
        return await self._send(room_id, "m.reaction", {"m.relates_to": relates})

    async def _send(self, room_id: str, kind: str, content: dict[str, Any]) -> str:
        resp = await self.client.room_send(room_id, kind, content)
        assert isinstance(resp, RoomSendResponse), resp
        return str(resp.event_id)

    async def notifications(self) -> list[dict[str, Any]]:
        """What the homeserver's push rules notified this user of (GET /notifications)."""
        url = f"{self.srv.url}/_matrix/client/v3/notifications"
        headers = {"Authorization": f"Bearer {self.client.access_token}"}
        async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as resp:
            resp.raise_for_status()
            return list((await resp.json())["notifications"])

    async def members(self, room_id: str) -> set[str]:
        resp = await self.client.joined_members(room_id)
        return {m.user_id for m in getattr(resp, "members", [])}

    async def wait_members(self, room_id: str, user_id: str, timeout: float = 10) -> None:
        async with asyncio.timeout(timeout):
            while user_id not in await self.members(room_id):
                await asyncio.sleep(0.05)

    def messages(self, sender: str, room_id: str | None = None) -> list[Event]:
        return [
            e
            for e in self.events
            if e.type == "m.room.message"
            and e.sender == sender
            and (room_id is None or e.room_id == room_id)
        ]

    async def wait_message(
        self,
        sender: str,
        room_id: str | None = None,
        after: int = 0,
        contains: str = "",
        timeout: float = 10,
    ) -> Event:
        """The first message from `sender` (in `room_id`) after the first `after` ones."""
        async with asyncio.timeout(timeout):
            while True:
                for event in self.messages(sender, room_id)[after:]:
                    if contains in event.body:
                        return event
                self._changed.clear()
                await self._changed.wait()

    async def wait_invite(self, timeout: float = 10) -> str:
        async with asyncio.timeout(timeout):
            while not self.invites:
                self._changed.clear()
                await self._changed.wait()
        return next(iter(self.invites))
