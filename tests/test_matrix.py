"""The Matrix adapter against a real Synapse (`.ci/synapse.sh`), with the real core behind it."""

from __future__ import annotations

import asyncio
import io
import logging
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from bot.config import RolesConfig, Settings, StaffRoom
from bot.faq.feedback import Ratings
from bot.faq.meaning import ModelStatus
from bot.faq.text import TextAnalyzer
from bot.models import Address, Button, Incoming, Outgoing
from channels.base import ChannelError
from channels.matrix.channel import ENCRYPTED_NOTICE, MatrixChannel
from channels.matrix.content import split_text
from channels.matrix.options import OPTIONS_KEY
from channels.matrix.settings import (
    FileTokenStore,
    MatrixSettings,
    MemoryTokenStore,
    settings_from_env,
)
from tests.conftest import REPO
from tests.fakes import FakeClock
from tests.harness import Bot, start_bot
from tests.synapse import Server, User, register, server, unique


@pytest.fixture
def srv() -> Server:
    return server()


@dataclass
class World:
    """A bot account and its people on one Synapse; `start` runs the bot (tests/harness.py)
    with a Matrix channel for that account."""

    srv: Server
    bot_id: str
    bot_password: str
    tokens: FileTokenStore
    clock: FakeClock
    analyzer: TextAnalyzer
    model: ModelStatus
    users: list[User] = field(default_factory=list)
    channels: list[MatrixChannel] = field(default_factory=list)
    bots: list[Bot] = field(default_factory=list)

    async def user(self, name: str) -> User:
        user = await User.create(self.srv, name)
        self.users.append(user)
        return user

    def channel(self, **overrides: Any) -> MatrixChannel:
        fields: dict[str, Any] = {
            "homeserver": self.srv.url,
            "user_id": self.bot_id,
            "password": self.bot_password,
            "display_name": "议事厅",
            "sync_timeout_ms": 1000,
            "request_timeout": 5,
            "reconnect_min": 0.1,
            "reconnect_max": 0.5,
        }
        fields.update(overrides)
        channel = MatrixChannel(MatrixSettings.model_validate(fields), self.tokens)
        self.channels.append(channel)
        return channel

    async def start(self, settings: Settings, **overrides: Any) -> Bot:
        """The bot on `settings` with a Matrix channel (adapter settings `overrides`)."""
        bot = await start_bot(
            settings, self.clock, self.analyzer, self.model, channels=[self.channel(**overrides)]
        )
        self.bots.append(bot)
        return bot

    async def restart(self, bot: Bot, **overrides: Any) -> Bot:
        """The same bot on the same data folder and sync token, with a fresh channel."""
        fresh = await bot.restart(channels=[self.channel(**overrides)])
        self.bots.append(fresh)
        return fresh


@pytest.fixture
async def world(
    srv: Server,
    tmp_path: Path,
    clock: FakeClock,
    analyzer: TextAnalyzer,
    sentence_model: ModelStatus,
) -> AsyncIterator[World]:
    password = "bot-password-secret"
    bot_id = await register(srv, unique("yishiting"), password)
    tokens = FileTokenStore(tmp_path / "matrix.token")
    w = World(srv, bot_id, password, tokens, clock, analyzer, sentence_model)
    try:
        yield w
    finally:
        for channel in w.channels:
            await channel.stop()
        for bot in w.bots:
            bot.close()
        for user in w.users:
            await user.close()


def settings_for(
    make_settings: Callable[..., Settings],
    staff: tuple[str, ...] = (),
    staff_room: str | None = None,
) -> Settings:
    return make_settings(
        roles=RolesConfig(staff=tuple(f"matrix:{s}" for s in staff), trusted_role_channels=()),
        staff_rooms=(StaffRoom(chat=f"matrix:{staff_room or '!none:localhost'}"),),
    )


async def direct_room(world: World, user: User) -> str:
    room = await user.create_room(invite=(world.bot_id,))
    await user.wait_members(room, world.bot_id)
    return room


def replied_to(event: Any) -> str | None:
    relates = event.content.get("m.relates_to") or {}
    return (relates.get("m.in_reply_to") or {}).get("event_id")


class Inbox:
    """A `Deliver` that keeps what the adapter hands to the core, in order."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Incoming] = asyncio.Queue()

    async def deliver(self, incoming: Incoming) -> None:
        await self.queue.put(incoming)

    async def next(self, timeout: float = 10) -> Incoming:
        return await asyncio.wait_for(self.queue.get(), timeout)


async def start_recording(world: World) -> tuple[MatrixChannel, Inbox, set[str]]:
    """A channel delivering into an Inbox; the set collects the event ids its sync handled."""
    channel, inbox, handled = world.channel(), Inbox(), set[str]()
    original = channel._handle_event

    async def spy(room_id: str, room: Any, source: dict[str, Any]) -> None:
        await original(room_id, room, source)
        handled.add(str(source.get("event_id")))

    channel._handle_event = spy  # type: ignore[method-assign]
    await channel.start(inbox.deliver)
    return channel, inbox, handled


async def until(condition: Callable[[], bool], timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


async def restart(world: World, old: MatrixChannel, handled: set[str], *events: str) -> Any:
    """Stop `old` once its sync is past `events` (saved token), start a fresh instance."""
    await until(lambda: all(e in handled for e in events))
    await old.stop()
    new = await start_recording(world)
    assert not new[0]._options.latest and not new[0]._options.by_event  # nothing learned from sync
    return new


def in_thread(root: str, text: str, latest: str) -> dict[str, Any]:
    """A message in the thread on `root`, as Element sends it: the in-reply-to (to the
    thread's latest event) is only the fallback for clients without threads."""
    relates = {
        "rel_type": "m.thread",
        "event_id": root,
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": latest},
    }
    return {"msgtype": "m.text", "body": text, "m.relates_to": relates}


async def fake_options(user: User, room: str, body: str, actions: list[str]) -> str:
    """A user's own message carrying the options key: must not be taken for the bot's."""
    content = {"msgtype": "m.text", "body": body, OPTIONS_KEY: actions}
    return await user._send(room, "m.room.message", content)


async def test_private_question_gets_the_answer_and_a_number_rates_it(
    world: World,
    make_settings: Callable[..., Settings],
    analyzer: TextAnalyzer,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = settings_for(make_settings)
    bot = await world.start(settings)
    channel = world.channels[-1]
    assert await channel.whoami() == (world.bot_id, channel.device_id)
    resident = await world.user("resident")
    room = await direct_room(world, resident)  # invited by a user of its own server: joined

    asked = await resident.send(room, "医保怎么在网上交费")
    answer = await resident.wait_message(world.bot_id, room)
    assert answer.content["msgtype"] == "m.text"  # a private answer: an ordinary message
    assert replied_to(answer) == asked
    assert "\n1. " in answer.body and "\n2. " in answer.body  # the rating buttons, numbered
    assert "<br>" in answer.content["formatted_body"]

    await resident.send(room, "1")
    thanks = await resident.wait_message(world.bot_id, room, after=1)
    assert "谢谢" in thanks.body
    assert bot.core.store.repo(Ratings).summary()[0][:2] == ("medical-insurance-online-payment", 1)

    # A keycap reaction on the answer is the same as typing its number: 2 = 👎.
    await resident.react(room, answer.event_id, "2\ufe0f\u20e3")
    await resident.wait_message(world.bot_id, room, after=2)
    assert bot.core.store.repo(Ratings).summary()[0][1:] == (0, 1)  # the rating was changed to 👎
    assert caplog.records and world.bot_password not in caplog.text


async def test_group_report_card_claim_and_reply_reach_the_resident(
    world: World,
    make_settings: Callable[..., Settings],
    analyzer: TextAnalyzer,
    clock: FakeClock,
) -> None:
    resident, neighbour = await world.user("resident"), await world.user("neighbour")
    staff, staff2 = await world.user("staff"), await world.user("staff2")
    group = await resident.create_room("丰仓小区群", invite=(world.bot_id, neighbour.user_id))
    await neighbour.join(group)
    staff_room = await staff.create_room("工作人员群", invite=(world.bot_id, staff2.user_id))
    await staff2.join(staff_room)
    settings = settings_for(make_settings, staff=(staff.user_id,), staff_room=staff_room)
    bot = await world.start(settings)  # the pending invitations are accepted at start
    await resident.wait_members(group, world.bot_id)
    await staff.wait_members(staff_room, world.bot_id)

    await resident.send(group, "大家早上好")  # chit-chat in a group: silence
    await resident.send(group, "!report 3号楼后头的路灯黑了好几天了")
    ack = await resident.wait_message(world.bot_id, group)
    assert "#1001" in ack.body
    assert len(resident.messages(world.bot_id, group)) == 1
    details = await resident.wait_message(world.bot_id, contains="#1001", after=1)
    assert details.room_id != group  # the bot opened a private chat and the resident joined
    dm = details.room_id
    card = await staff.wait_message(world.bot_id, staff_room, contains="#1001")
    assert "路灯照明" in card.body and "\n1. " in card.body

    await staff.send(staff_room, "1", reply_to=card.event_id)  # 认领, as a reply to the card
    claimed = await staff.wait_message(world.bot_id, staff_room, after=1)
    assert "#1001" in claimed.body
    ticket = bot.tickets.get(1001)
    assert ticket is not None and ticket.assignee == f"matrix:{staff.user_id}"

    before = len(resident.messages(world.bot_id, dm))
    await staff.send(staff_room, "明天上午电工过去换灯泡", reply_to=card.event_id)
    relayed = await resident.wait_message(world.bot_id, dm, after=before, contains="工作人员回复")
    assert relayed.body == "工作人员回复 #1001：明天上午电工过去换灯泡"


async def test_restart_neither_repeats_nor_misses_messages(
    world: World,
    make_settings: Callable[..., Settings],
    analyzer: TextAnalyzer,
    clock: FakeClock,
) -> None:
    resident = await world.user("resident")
    history = await resident.create_room(invite=(world.bot_id,))
    settings = settings_for(make_settings)
    await resident.send(history, "医保怎么在网上交费")  # before the bot ever ran: not answered
    bot = await world.start(settings)
    channel = world.channels[-1]
    await resident.wait_members(history, world.bot_id)
    room = await direct_room(world, resident)
    first = await resident.send(room, "医保怎么在网上交费")
    await resident.wait_message(world.bot_id, room)

    await channel.stop()
    await channel.stop()  # idempotent
    second = await resident.send(room, "小区路灯不亮了找谁修？")  # while the bot is down
    bot = await world.restart(bot)
    answer = await resident.wait_message(world.bot_id, room, after=1)
    assert replied_to(answer) == second
    third = await resident.send(room, "医保怎么在网上交费")
    await resident.wait_message(world.bot_id, room, after=2)
    answers = [replied_to(e) for e in resident.messages(world.bot_id, room)]
    assert answers == [first, second, third]  # each once, in order
    assert resident.messages(world.bot_id, history) == []  # older than the first start


async def test_bot_survives_a_homeserver_restart(
    world: World,
    make_settings: Callable[..., Settings],
    analyzer: TextAnalyzer,
    clock: FakeClock,
) -> None:
    if world.srv.directory is None:
        if os.environ.get("CI"):
            pytest.fail("SYNAPSE_DIR is not set under CI: source the env of .ci/synapse.sh")
        pytest.skip("SYNAPSE_DIR is not set: cannot restart the homeserver")
    await world.start(settings_for(make_settings))
    resident = await world.user("resident")
    room = await direct_room(world, resident)
    script = str(REPO / ".ci" / "synapse.sh")
    for action in ("stop", "start"):
        proc = await asyncio.create_subprocess_exec(
            "bash", script, action, world.srv.directory, stderr=asyncio.subprocess.DEVNULL
        )
        assert await asyncio.wait_for(proc.wait(), 60) == 0
    asked = await resident.send(room, "医保怎么在网上交费")
    answer = await resident.wait_message(world.bot_id, room, timeout=15)
    assert replied_to(answer) == asked


async def test_encrypted_rooms_are_told_and_strangers_invitations_declined(
    world: World,
    make_settings: Callable[..., Settings],
    analyzer: TextAnalyzer,
    clock: FakeClock,
) -> None:
    staff, stranger = await world.user("staff"), await world.user("stranger")
    await world.start(settings_for(make_settings), allowed_inviters=(staff.user_id,))

    secret = await staff.create_room("加密群", invite=(world.bot_id,), encrypted=True)
    notice = await staff.wait_message(world.bot_id, secret)
    assert notice.body == ENCRYPTED_NOTICE and notice.content["msgtype"] == "m.notice"

    refused = await stranger.create_room(invite=(world.bot_id,))
    async with asyncio.timeout(10):
        while True:
            state = await stranger.client.room_get_state_event(
                refused, "m.room.member", world.bot_id
            )
            if getattr(state, "content", {}).get("membership") == "leave":
                break
            await asyncio.sleep(0.05)
    assert world.bot_id not in await stranger.members(refused)


async def test_outgoing_images_direct_chats_and_errors(
    world: World,
    make_settings: Callable[..., Settings],
    analyzer: TextAnalyzer,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    await world.start(settings_for(make_settings))
    channel = world.channels[-1]
    resident = await world.user("resident")

    # A user id as the address: a direct room is created once and reused.
    to = Address("matrix", resident.user_id)
    picture = tmp_path / "steps.png"
    picture.write_bytes(b"\x89PNG fake image")
    ref = await channel.send(Outgoing(to, "<b>3 < 5</b>", files=(str(picture),)))
    again = await channel.send(Outgoing(to, "再来", (Button("是", "yes"), Button("否", "no"))))
    assert ref.chat_id == again.chat_id
    image = await resident.wait_message(world.bot_id, ref.chat_id, timeout=10)
    assert image.content["msgtype"] == "m.image" and image.content["url"].startswith("mxc://")
    text = await resident.wait_message(world.bot_id, ref.chat_id, after=1)
    assert text.body == "<b>3 < 5</b>"
    assert text.content["formatted_body"] == "&lt;b&gt;3 &lt; 5&lt;/b&gt;"
    options = await resident.wait_message(world.bot_id, ref.chat_id, after=2)
    assert options.body == "再来\n\n1. 是\n2. 否" and options.event_id == again.message_id

    with pytest.raises(ChannelError) as missing:
        await channel.send(Outgoing(Address("matrix", "!nowhere:localhost"), "x"))
    assert not missing.value.retryable
    with pytest.raises(ChannelError) as unreadable:
        await channel.send(Outgoing(to, "", files=(str(tmp_path / "none.png"),)))
    assert not unreadable.value.retryable
    with pytest.raises(ChannelError, match="not a regular file") as device:
        await channel.send(Outgoing(to, "", files=("/dev/zero",)))
    assert not device.value.retryable


async def test_rate_limit_is_waited_out_once_then_retryable() -> None:
    from nio import RoomSendError, RoomSendResponse  # type: ignore[import-untyped]

    channel = MatrixChannel(
        MatrixSettings(
            homeserver="http://127.0.0.1:9",
            user_id="@bot:localhost",
            access_token="t0ken",  # type: ignore[arg-type]
            max_retry_after=0.05,
        ),
        MemoryTokenStore(),
    )
    replies: list[Any] = [
        RoomSendError("slow down", "M_LIMIT_EXCEEDED", retry_after_ms=10),
        RoomSendResponse("$ok", "!r:localhost"),
        RoomSendError("slow down", "M_LIMIT_EXCEEDED", retry_after_ms=60_000),
        RoomSendError("no", "M_FORBIDDEN"),
        RoomSendError("unknown error"),
    ]

    async def fake_send(*args: Any, **kwargs: Any) -> Any:
        return replies.pop(0)

    assert (await channel._call("send", fake_send)).event_id == "$ok"
    with pytest.raises(ChannelError) as long_wait:
        await channel._call("send", fake_send)
    assert long_wait.value.retryable
    with pytest.raises(ChannelError) as forbidden:
        await channel._call("send", fake_send)
    assert not forbidden.value.retryable
    with pytest.raises(ChannelError) as unknown:
        await channel._call("send", fake_send)
    assert unknown.value.retryable

    async def refused(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionRefusedError("down")

    with pytest.raises(ChannelError) as down:
        await channel._call("send", refused)
    assert down.value.retryable


def test_settings_hide_secrets_and_name_the_problem(tmp_path: Path) -> None:
    base = {"homeserver": "https://matrix.example.org", "user_id": "@bot:example.org"}
    settings = settings_from_env(base, {"YISHITING_MATRIX_PASSWORD": "hunter2"})
    assert "hunter2" not in repr(settings) and settings.server == "example.org"
    with pytest.raises(ValueError, match="exactly one"):
        settings_from_env(base, {})
    with pytest.raises(ValueError, match="environment only"):
        settings_from_env({**base, "password": "x"}, {})
    with pytest.raises(ValueError, match="user_id"):
        MatrixSettings.model_validate({**base, "user_id": "bot", "access_token": "t"})
    store = FileTokenStore(tmp_path / "t" / "token")
    assert store.load() is None
    store.save("s1_2")
    assert FileTokenStore(tmp_path / "t" / "token").load() == "s1_2"
    assert split_text("a\n" * 3, limit=4) == ["a\na", "a"]


async def test_events_translate_mentions_replies_images_and_numbers() -> None:
    channel = MatrixChannel(
        MatrixSettings(
            homeserver="http://127.0.0.1:9",
            user_id="@bot:localhost",
            access_token="t0ken",  # type: ignore[arg-type]
            display_name="议事厅",
        ),
        MemoryTokenStore(),
    )
    channel._sent["$card"] = None
    channel._options.by_event["$card"] = ("t:claim:1", "t:reply:1")

    async def incoming(content: dict[str, Any]) -> Any:
        source = {"type": "m.room.message", "sender": "@a:localhost", "event_id": "$e"}
        return await channel._inbound.message("!r:localhost", None, source, content)

    pill = '<a href="https://matrix.to/#/@bot:localhost">议事厅</a>: 路灯找谁'
    mentioned = await incoming(
        {"msgtype": "m.text", "body": "议事厅: 路灯找谁", "formatted_body": pill}
    )
    assert mentioned.mentions_bot and mentioned.text == "路灯找谁"
    named = await incoming({"msgtype": "m.text", "body": "议事厅很好用"})
    assert named.mentions_bot and named.text == "议事厅很好用"  # named, nothing stripped
    assert not (await incoming({"msgtype": "m.text", "body": "路灯找谁"})).mentions_bot
    reply = await incoming(
        {
            "msgtype": "m.text",
            "body": "> <@bot:localhost> 卡片\n\n明天去修",
            "m.relates_to": {"m.in_reply_to": {"event_id": "$card"}},
        }
    )
    assert reply.reply_to_bot and reply.reply_to_message_id == "$card" and reply.text == "明天去修"
    number = await incoming(
        {
            "msgtype": "m.text",
            "body": "２",
            "m.relates_to": {"m.in_reply_to": {"event_id": "$card"}},
        }
    )
    assert number.action == "t:reply:1"
    assert (await incoming({"msgtype": "m.text", "body": "7"})).text == "7"  # no options here
    image = await incoming({"msgtype": "m.image", "body": "a.jpg", "url": "mxc://localhost/x"})
    assert image.attachments == ("mxc://localhost/x",) and image.text == ""
    captioned = {
        "msgtype": "m.image",
        "body": "3号楼东边那根",
        "filename": "IMG_1.jpg",
        "url": "mxc://localhost/y",
    }
    assert (await incoming(captioned)).text == "3号楼东边那根"  # Element's caption is kept
    voice = {
        "msgtype": "m.audio",
        "body": "Voice message",
        "url": "mxc://localhost/v",
        "org.matrix.msc3245.voice": {},
    }
    heard = await incoming(voice)
    assert heard.attachments == ("voice:mxc://localhost/v",) and heard.text == ""
    place = {"msgtype": "m.location", "body": "here", "geo_uri": "geo:38.87,115.46;u=35"}
    assert (await incoming(place)).attachments == ("geo:38.870000,115.460000",)
    pdf = {"msgtype": "m.file", "body": "a.pdf", "filename": "a.pdf", "url": "mxc://localhost/f"}
    assert (await incoming(pdf)).attachments == ("file:mxc://localhost/f",)
    huge = {**pdf, "info": {"size": 21 * 1024 * 1024}}
    assert (await incoming(huge)).unsupported == "too_big"
    elsewhere = {**pdf, "url": "https://example.org/a.pdf"}
    assert await incoming(elsewhere) is None  # only the homeserver's own media
    for url in ("/proc/self/environ", "file:///etc/passwd", "mxc://localhost/../x", "/dev/zero"):
        local = {"msgtype": "m.image", "body": "environ", "url": url}
        assert await incoming(local) is None, url  # never a path the bot would read
    assert await incoming({"msgtype": "m.notice", "body": "another bot"}) is None
    edit = {"msgtype": "m.text", "body": "* x", "m.relates_to": {"rel_type": "m.replace"}}
    assert await incoming(edit) is None


async def test_options_are_recovered_from_the_event_after_a_restart(world: World) -> None:
    channel, inbox, handled = await start_recording(world)
    resident = await world.user("resident")
    room = await direct_room(world, resident)
    buttons = (Button("解决了", "followup:solved:1001"), Button("没有", "followup:open:1001"))
    ref = await channel.send(Outgoing(Address("matrix", room), "问题解决了吗？", buttons))
    asked = await resident.wait_message(world.bot_id, room)
    assert asked.event_id == ref.message_id
    assert asked.body == "问题解决了吗？\n\n1. 解决了\n2. 没有"
    assert asked.content[OPTIONS_KEY] == ["followup:solved:1001", "followup:open:1001"]

    # (a) a reply "2" to the message: the event is fetched by id
    channel, inbox, handled = await restart(world, channel, handled, ref.message_id)
    answer = await resident.send(room, "2", reply_to=ref.message_id)
    got = await inbox.next()
    assert (got.action, got.reply_to_message_id, got.message_id) == (
        "followup:open:1001",
        ref.message_id,
        answer,
    )

    # (b) a bare "1" (full-width): the bot's latest messages in the room are searched
    channel, inbox, handled = await restart(world, channel, handled, answer)
    answer = await resident.send(room, "１")
    got = await inbox.next()
    assert (got.action, got.reply_to_message_id) == ("followup:solved:1001", ref.message_id)
    assert channel._options.latest[room] == (ref.message_id, tuple(b.action for b in buttons))

    # (c) a keycap reaction on the message: fetched by id as well
    channel, inbox, handled = await restart(world, channel, handled, answer)
    await resident.react(room, ref.message_id, "2\ufe0f\u20e3")
    got = await inbox.next()
    assert (got.action, got.reply_to_message_id) == ("followup:open:1001", ref.message_id)
    assert got.sender.user_id == resident.user_id


async def test_a_rating_after_a_restart_reaches_the_core(
    world: World,
    make_settings: Callable[..., Settings],
    analyzer: TextAnalyzer,
    clock: FakeClock,
) -> None:
    bot = await world.start(settings_for(make_settings))
    resident = await world.user("resident")
    room = await direct_room(world, resident)
    await resident.send(room, "医保怎么在网上交费")
    answer = await resident.wait_message(world.bot_id, room)
    assert len(answer.content[OPTIONS_KEY]) == len(answer.body.split("\n1. ")[1].split("\n"))
    bot = await world.restart(bot)  # fresh memory, same token store
    await resident.send(room, "1")
    thanks = await resident.wait_message(world.bot_id, room, after=1)
    assert "谢谢" in thanks.body
    assert bot.core.store.repo(Ratings).summary()[0][:2] == ("medical-insurance-online-payment", 1)


async def test_numbers_without_the_bots_options_stay_text(world: World) -> None:
    channel, inbox, handled = await start_recording(world)
    resident, neighbour = await world.user("resident"), await world.user("neighbour")
    room = await direct_room(world, resident)
    ref = await channel.send(Outgoing(Address("matrix", room), "您好，有事请说。"))  # no buttons
    assert OPTIONS_KEY not in (await resident.wait_message(world.bot_id, room)).content
    group = await resident.create_room("楼栋群", invite=(world.bot_id, neighbour.user_id))
    await neighbour.join(group)
    await resident.wait_members(group, world.bot_id)
    # Users writing the key into their own messages: ignored, here and in the group.
    fake = await fake_options(resident, room, "1. 取消预约", ["appointment:cancel:all"])
    poll = await fake_options(neighbour, group, "周六几点开会？1. 上午 2. 下午", ["admin:x"])
    channel, inbox, handled = await restart(world, channel, handled, ref.message_id, fake, poll)

    await resident.send(room, "1")
    got = await inbox.next()
    assert (got.text, got.action) == ("1", None)
    await resident.send(room, "2", reply_to=fake)
    got = await inbox.next()
    assert (got.text, got.action, got.reply_to_message_id) == ("2", None, fake)
    assert not got.reply_to_bot
    await resident.send(room, "1", reply_to=ref.message_id)  # the bot's, without options
    got = await inbox.next()
    assert (got.text, got.action, got.reply_to_bot) == ("1", None, True)
    await resident.react(room, fake, "1\ufe0f\u20e3")  # keycaps on non-options: no Incoming
    await resident.react(room, ref.message_id, "1\ufe0f\u20e3")
    await resident.react(group, poll, "2\ufe0f\u20e3")
    await resident.send(group, "2")
    got = await inbox.next()
    assert (got.chat.chat_id, got.text, got.action) == (group, "2", None)

    # Lookups that fail (an unknown event) are logged; the number is text, the loop goes on.
    missing = "$doesnotexist:localhost"
    await resident.send(room, "1", reply_to=missing)
    got = await inbox.next()
    assert (got.text, got.action, got.reply_to_message_id) == ("1", None, missing)
    await resident.send(room, "还在吗")
    assert (await inbox.next()).text == "还在吗"
    assert inbox.queue.empty()


async def test_options_sent_after_the_saved_token_are_learned_from_the_sync(world: World) -> None:
    channel, inbox, _ = await start_recording(world)
    resident = await world.user("resident")
    room = await direct_room(world, resident)
    await until(lambda: room in channel._prev_batch)  # the bot's join was synced …
    await channel.stop()
    token = world.tokens.load()  # … and saved: nothing of the room after this but what follows
    assert token is not None
    channel, inbox, _ = await start_recording(world)
    buttons = (Button("重新预约", "appointment:rebook:7"), Button("不用了", "appointment:drop:7"))
    ref = await channel.send(Outgoing(Address("matrix", room), "要重新预约吗？", buttons))
    await channel.stop()
    world.tokens.save(token)  # the bot went down before its sync saw its own message

    channel, inbox, _ = await start_recording(world)
    await until(lambda: room in channel._options.latest)  # from its own event in the catch-up sync
    assert channel._options.latest[room] == (ref.message_id, tuple(b.action for b in buttons))
    await resident.send(room, "2")
    got = await inbox.next()
    assert (got.action, got.reply_to_message_id) == ("appointment:drop:7", ref.message_id)
    assert not channel._options.looked_back


async def test_options_ride_on_the_last_part_and_failed_lookups_leave_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from types import SimpleNamespace

    from aiohttp import ClientConnectionError
    from nio import RoomMessagesError, RoomSendResponse

    channel = MatrixChannel(
        MatrixSettings(
            homeserver="http://127.0.0.1:9",
            user_id="@bot:localhost",
            access_token="t0ken",  # type: ignore[arg-type]
        ),
        MemoryTokenStore(),
    )
    sent: list[tuple[dict[str, Any], str]] = []

    async def room_send(room_id: str, kind: str, content: dict[str, Any], tx_id: str) -> Any:
        sent.append((content, tx_id))
        return RoomSendResponse(f"$e{len(sent)}", room_id)

    async def room_get_event(room_id: str, event_id: str) -> Any:
        raise ClientConnectionError("connection reset")

    async def room_messages(room_id: str, **kwargs: Any) -> Any:
        return RoomMessagesError("not allowed", "M_FORBIDDEN")

    channel._client = SimpleNamespace(
        room_send=room_send, room_get_event=room_get_event, room_messages=room_messages
    )
    channel._stopped = False
    room = "!r:localhost"
    long_text = "长" * 3000 + "\n" + "文" * 3000
    ref = await channel.send(
        Outgoing(Address("matrix", room), long_text, (Button("好", "ok"), Button("不", "no")))
    )
    assert [content.get(OPTIONS_KEY) for content, _ in sent] == [None, ["ok", "no"]]
    assert sent[1][0]["body"].endswith("\n\n1. 好\n2. 不") and ref.message_id == "$e2"
    assert len({tx for _, tx in sent}) == 2
    assert channel._options.latest[room] == ("$e2", ("ok", "no"))

    channel._options.latest.clear()  # a restart, as far as memory goes
    channel._options.by_event.clear()

    direct = SimpleNamespace(joined_count=2, name="", user_name=lambda user_id: None)

    async def incoming(content: dict[str, Any]) -> Any:
        source = {"type": "m.room.message", "sender": "@a:localhost", "event_id": "$in"}
        return await channel._inbound.message(room, direct, source, content)

    bare = await incoming({"msgtype": "m.text", "body": "1"})
    assert (bare.text, bare.action) == ("1", None)
    assert room not in channel._options.looked_back  # a failed search is tried again next time
    relates = {"m.in_reply_to": {"event_id": "$e2"}}
    reply = await incoming({"msgtype": "m.text", "body": "1", "m.relates_to": relates})
    assert (reply.text, reply.action, reply.reply_to_message_id) == ("1", None, "$e2")
    assert "$e2" not in channel._options.without  # a network error: not remembered as "no options"
    reaction = {"m.relates_to": {"rel_type": "m.annotation", "event_id": "$e2", "key": "1️⃣"}}
    source = {"type": "m.reaction", "sender": "@a:localhost", "event_id": "$r"}
    assert await channel._inbound.reaction(room, None, source, reaction) is None
    assert "cannot look for options" in caplog.text and "cannot look up the options" in caplog.text
    # A user's message carrying the key is not the bot's: no options in it.
    fake = {"type": "m.room.message", "sender": "@a:localhost", "content": {OPTIONS_KEY: ["x"]}}
    assert channel._options.actions_in(fake) is None
    assert channel._options.actions_in({**fake, "sender": "@bot:localhost"}) == ("x",)


async def test_an_image_url_that_is_a_local_path_never_reaches_the_staff_card(
    world: World,
    make_settings: Callable[..., Settings],
    analyzer: TextAnalyzer,
    clock: FakeClock,
) -> None:
    """Security: an m.image whose url is a path of the bot's machine is refused at the door."""
    resident, staff = await world.user("resident"), await world.user("staff")
    staff_room = await staff.create_room("工作人员群", invite=(world.bot_id,))
    settings = settings_for(make_settings, staff=(staff.user_id,), staff_room=staff_room)
    bot = await world.start(settings)
    await staff.wait_members(staff_room, world.bot_id)
    room = await direct_room(world, resident)

    await resident.send(room, "!report 3号楼后头的路灯黑了好几天了")
    await resident.wait_message(world.bot_id, room, contains="小区")
    await resident.send(room, "1")  # the first compound
    await resident.wait_message(world.bot_id, room, contains="照片", after=1)
    evil = {"msgtype": "m.image", "body": "environ", "url": "/proc/self/environ"}
    await resident._send(room, "m.room.message", evil)
    upload = await resident.client.upload(
        io.BytesIO(b"\x89PNG lamp"), content_type="image/png", filename="lamp.png", filesize=9
    )
    mxc = str(upload[0].content_uri)
    await resident._send(
        room, "m.room.message", {"msgtype": "m.image", "body": "lamp.png", "url": mxc}
    )
    confirm = await resident.wait_message(world.bot_id, room, contains="提交", after=2)
    await resident.send(room, "1", reply_to=confirm.event_id)
    await staff.wait_message(world.bot_id, staff_room, contains="#1001")

    ticket = bot.tickets.get(1001)
    assert ticket is not None and ticket.attachments == [mxc]
    images = [
        e for e in staff.messages(world.bot_id, staff_room) if e.content["msgtype"] == "m.image"
    ]
    assert [e.content["url"] for e in images] == [mxc]  # passed on, nothing uploaded


async def test_phones_ring_for_what_needs_a_person_and_not_for_group_answers(
    world: World, make_settings: Callable[..., Settings]
) -> None:
    """Against Synapse's default push rules: cards ring staff, relays ring the resident,
    the bot's answers in a group ring nobody; a neighbour's bare "2" is not an option."""
    resident, neighbour = await world.user("resident"), await world.user("neighbour")
    staff = await world.user("staff")
    group = await resident.create_room("丰仓小区群", invite=(world.bot_id, neighbour.user_id))
    await neighbour.join(group)
    staff_room = await staff.create_room("工作人员群", invite=(world.bot_id,))
    settings = settings_for(make_settings, staff=(staff.user_id,), staff_room=staff_room)
    bot = await world.start(settings)
    await resident.wait_members(group, world.bot_id)
    await staff.wait_members(staff_room, world.bot_id)

    await resident.send(group, "议事厅 医保怎么在网上交费")
    answer = await resident.wait_message(world.bot_id, group)
    assert answer.content["msgtype"] == "m.notice"  # quiet in the group
    await neighbour.send(group, "2")  # answering someone else, not the bot's options
    await resident.send(group, "!report 3号楼后头的路灯黑了好几天了")
    card = await staff.wait_message(world.bot_id, staff_room, contains="#1001")
    assert card.content["msgtype"] == "m.text"
    await staff.send(staff_room, "明天上午电工过去换灯泡", reply_to=card.event_id)
    relayed = await resident.wait_message(world.bot_id, contains="工作人员回复")
    assert relayed.content["m.mentions"] == {"user_ids": [resident.user_id]}

    async def notified(user: User, event_id: str) -> bool:
        return any(n["event"]["event_id"] == event_id for n in await user.notifications())

    assert await notified(staff, card.event_id)
    assert await notified(resident, relayed.event_id)
    assert not await notified(neighbour, answer.event_id)
    assert bot.core.store.repo(Ratings).summary() == []  # the neighbour's "2" rated nothing
    assert len(resident.messages(world.bot_id, group)) == 2  # the answer and the report ack


async def test_a_thumbs_up_rates_an_answer(
    world: World, make_settings: Callable[..., Settings]
) -> None:
    bot = await world.start(settings_for(make_settings))
    resident = await world.user("resident")
    room = await direct_room(world, resident)
    await resident.send(room, "医保怎么在网上交费")
    answer = await resident.wait_message(world.bot_id, room)
    reaction = await resident.react(room, answer.event_id, "👍🏻")
    thanks = await resident.wait_message(world.bot_id, room, after=1)
    assert "谢谢" in thanks.body
    assert replied_to(thanks) == answer.event_id  # the reply points at the answer, not the 👍
    assert reaction != answer.event_id
    assert bot.core.store.repo(Ratings).summary()[0][:2] == ("medical-insurance-online-payment", 1)


async def test_staff_speak_to_a_ticket_in_the_cards_thread_and_by_replying_to_the_bot(
    world: World, make_settings: Callable[..., Settings]
) -> None:
    """Every message in the card's thread, and a reply to the bot's acknowledgement, reach
    the resident (Element sends thread messages with a falling-back in-reply-to)."""
    resident, staff = await world.user("resident"), await world.user("staff")
    staff_room = await staff.create_room("工作人员群", invite=(world.bot_id,))
    await world.start(settings_for(make_settings, staff=(staff.user_id,), staff_room=staff_room))
    await staff.wait_members(staff_room, world.bot_id)
    room = await direct_room(world, resident)
    await resident.send(room, "双色球昨晚开的啥号？")  # the FAQ cannot answer: a question ticket
    card = await staff.wait_message(world.bot_id, staff_room, contains="#1001")

    first = await staff._send(
        staff_room, "m.room.message", in_thread(card.event_id, "这个我们答不了", card.event_id)
    )
    await staff._send(
        staff_room, "m.room.message", in_thread(card.event_id, "建议看彩票站公告", first)
    )
    ack = await staff.wait_message(world.bot_id, staff_room, contains="已记下对", after=1)
    await staff.send(staff_room, "公告贴在彩票站门口", reply_to=ack.event_id)
    for words in ("这个我们答不了", "建议看彩票站公告", "公告贴在彩票站门口"):
        relayed = await resident.wait_message(world.bot_id, room, contains=words)
        assert relayed.body == f"工作人员回复 #1001：{words}"


async def test_a_staff_edit_of_a_relayed_reply_reaches_the_resident_as_a_correction(
    world: World, make_settings: Callable[..., Settings]
) -> None:
    """Issue 16, finding 4: an edit (m.replace, as Element sends it) of a relayed reply."""
    resident, staff = await world.user("resident"), await world.user("staff")
    staff_room = await staff.create_room("工作人员群", invite=(world.bot_id,))
    await world.start(settings_for(make_settings, staff=(staff.user_id,), staff_room=staff_room))
    await staff.wait_members(staff_room, world.bot_id)
    room = await direct_room(world, resident)
    await resident.send(room, "双色球昨晚开的啥号？")
    card = await staff.wait_message(world.bot_id, staff_room, contains="#1001")
    reply = await staff.send(staff_room, "周三开奖", reply_to=card.event_id)
    await resident.wait_message(world.bot_id, room, contains="周三开奖")
    edit = {
        "msgtype": "m.text",
        "body": "* 周二、周四、周日开奖",
        "m.new_content": {"msgtype": "m.text", "body": "周二、周四、周日开奖"},
        "m.relates_to": {"rel_type": "m.replace", "event_id": reply},
    }
    await staff._send(staff_room, "m.room.message", edit)
    corrected = await resident.wait_message(world.bot_id, room, contains="更正")
    assert corrected.body == "工作人员更正 #1001 的回复：周二、周四、周日开奖"


async def test_answers_stay_in_the_thread_they_were_asked_in(
    world: World, make_settings: Callable[..., Settings]
) -> None:
    """Issue 16, finding 5: addressed inside a thread, the bot answers in it, and a "1" in
    the thread picks an option of its answer there."""
    resident, neighbour = await world.user("resident"), await world.user("neighbour")
    group = await resident.create_room("丰仓小区群", invite=(world.bot_id, neighbour.user_id))
    await neighbour.join(group)  # three members: a group, not a direct chat
    bot = await world.start(settings_for(make_settings))
    await resident.wait_members(group, world.bot_id)
    root = await resident.send(group, "大家说说这周的事")

    await resident._send(
        group, "m.room.message", in_thread(root, "议事厅 医保怎么在网上交费", root)
    )
    answer = await resident.wait_message(world.bot_id, group)
    relates = answer.content["m.relates_to"]
    assert relates["rel_type"] == "m.thread" and relates["event_id"] == root
    await resident._send(group, "m.room.message", in_thread(root, "1", answer.event_id))
    thanks = await resident.wait_message(world.bot_id, group, after=1)
    assert "谢谢" in thanks.body and thanks.content["m.relates_to"]["event_id"] == root
    assert bot.core.store.repo(Ratings).summary()[0][:2] == ("medical-insurance-online-payment", 1)
    assert list(bot.core.store.groups.titles()) == [f"matrix:{group}"]  # one group, no thread


async def test_a_retried_message_is_posted_once(
    world: World, make_settings: Callable[..., Settings]
) -> None:
    """A relay retried after a timeout (it may have arrived) reuses its transaction ids, so
    Synapse posts it once; direct replies get fresh ones."""
    await world.start(settings_for(make_settings))
    channel = world.channels[-1]
    resident = await world.user("resident")
    to = Address("matrix", resident.user_id)
    relay = Outgoing(to, "工作人员回复 #1001：明天上午去修", dedupe="msg|matrix:!s|$e|None|1")
    first = await channel.send(relay)
    again = await channel.send(relay)  # the outbox's retry of the same record
    assert again.message_id == first.message_id
    other = await channel.send(replace(relay, dedupe="msg|matrix:!s|$f|None|1"))
    assert other.message_id != first.message_id
    direct = Outgoing(to, "好的")
    assert (await channel.send(direct)).message_id != (await channel.send(direct)).message_id


async def test_voice_and_locations_reach_the_staff_as_element_sends_them(
    world: World, make_settings: Callable[..., Settings]
) -> None:
    """Issue 16, finding 3: a voice message in private (as Element X sends it) is a question
    for the staff with the audio passed on; a location in a report is mapped on its card."""
    resident, staff = await world.user("resident"), await world.user("staff")
    staff_room = await staff.create_room("工作人员群", invite=(world.bot_id,))
    settings = settings_for(make_settings, staff=(staff.user_id,), staff_room=staff_room)
    bot = await world.start(settings)
    await staff.wait_members(staff_room, world.bot_id)
    room = await direct_room(world, resident)

    upload = await resident.client.upload(
        io.BytesIO(b"OggS voice"), content_type="audio/ogg", filename="voice.ogg", filesize=10
    )
    mxc = str(upload[0].content_uri)
    voice = {
        "msgtype": "m.audio",
        "body": "Voice message.ogg",
        "filename": "Voice message.ogg",
        "url": mxc,
        "info": {"mimetype": "audio/ogg", "size": 10, "duration": 3000},
        "org.matrix.msc1767.audio": {"duration": 3000, "waveform": [0, 512, 1024]},
        "org.matrix.msc3245.voice": {},
    }
    await resident._send(room, "m.room.message", voice)
    told = await resident.wait_message(world.bot_id, room, contains="语音已转给工作人员")
    assert "#1001" in told.body
    await staff.wait_message(world.bot_id, staff_room, contains="#1001")
    audio = [
        e for e in staff.messages(world.bot_id, staff_room) if e.content["msgtype"] == "m.audio"
    ]
    assert [e.content["url"] for e in audio] == [mxc]  # passed on, never downloaded
    assert "org.matrix.msc3245.voice" in audio[0].content

    await resident.send(room, "!report 3号楼后头的路灯黑了好几天了")
    await resident.wait_message(world.bot_id, room, contains="小区", after=1)
    await resident.send(room, "1")  # the first compound
    await resident.wait_message(world.bot_id, room, contains="照片", after=2)
    place = {
        "msgtype": "m.location",
        "body": "Location geo:38.87,115.46;u=10",
        "geo_uri": "geo:38.87,115.46;u=10",
        "org.matrix.msc3488.location": {"uri": "geo:38.87,115.46;u=10"},
        "org.matrix.msc3488.asset": {"type": "m.self"},
    }
    await resident._send(room, "m.room.message", place)
    confirm = await resident.wait_message(world.bot_id, room, contains="提交", after=3)
    await resident.send(room, "1", reply_to=confirm.event_id)
    card = await staff.wait_message(world.bot_id, staff_room, contains="#1002")
    assert "openstreetmap.org/?mlat=38.870000&mlon=115.460000" in card.body
    ticket = bot.tickets.get(1002)
    assert ticket is not None and ticket.attachments == ["geo:38.870000,115.460000"]
