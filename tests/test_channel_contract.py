"""The channel contract: every adapter passes the same checks through its real transport.

The fake network the conversation tests use, the console, Telegram (the real
python-telegram-bot against the Bot API stand-in) and Matrix (matrix-nio against a real
Synapse) each get a `Peer`: a person using that network. The checks are one story:
the person writes, the bot answers with buttons as a reply, the person presses one, a long
message arrives whole, a picture arrives, a send to a chat that cannot be reached fails
with a final `ChannelError`, and stopping twice is harmless.
"""

from __future__ import annotations

import asyncio
import html
import re
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pytest

from bot.models import Address, Button, ChatKind, Incoming, Outgoing, Person
from channels.base import Channel, ChannelError, SentRef
from channels.console import ConsoleChannel, Persona
from channels.telegram import TelegramChannel, TelegramSettings
from tests.fakes import FakeChannel
from tests.synapse import User, register, server, unique
from tests.tg_standin import TOKEN, StandIn

LONG_TEXT = "\n".join(f"第{i:03d}行" + "办" * 50 for i in range(200))  # 11,000 characters
PICTURE = b"\x89PNG\r\n\x1a\n contract picture"

pytestmark = pytest.mark.filterwarnings(
    "ignore:Deprecated since version v22.2:telegram.warnings.PTBDeprecationWarning"
)


@dataclass(frozen=True)
class Seen:
    """One message as the person sees it on their network."""

    text: str
    buttons: tuple[str, ...] = ()
    reply_to: str | None = None
    image: bool = False


class Peer(Protocol):
    """A person on one network, talking to the bot privately through the real transport."""

    @property
    def channel(self) -> Channel: ...

    @property
    def has_replies(self) -> bool:
        """The network shows which message a message answers."""
        ...

    @property
    def max_text(self) -> int | None:
        """The longest text one message may carry on this network (None: no limit)."""
        ...

    async def say(self, text: str) -> None: ...

    async def press(self, ref: SentRef, number: int) -> None: ...

    async def seen(self) -> list[Seen]:
        """Every message the bot sent to this person so far, oldest first."""
        ...

    async def unreachable(self) -> Address:
        """A chat a send to which fails for good."""
        ...


class Inbox:
    """What the adapter hands to the core, in order."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Incoming] = asyncio.Queue()

    async def deliver(self, incoming: Incoming) -> None:
        await self.queue.put(incoming)

    async def next(self, timeout: float = 15) -> Incoming:
        return await asyncio.wait_for(self.queue.get(), timeout)


async def until_seen(peer: Peer, condition: Callable[[list[Seen]], bool]) -> list[Seen]:
    async with asyncio.timeout(15):
        while not condition(seen := await peer.seen()):
            await asyncio.sleep(0.05)
    return seen


async def contract(peer: Peer, tmp_path: Path) -> None:
    inbox = Inbox()
    await peer.channel.start(inbox.deliver)

    await peer.say("你好，医保 <b>怎么</b> 交？")
    asked = await inbox.next()
    assert asked.text == "你好，医保 <b>怎么</b> 交？"
    assert asked.chat_kind is ChatKind.PRIVATE and asked.message_id

    buttons = (Button("甲 <1>", "contract:a"), Button("乙 & 2", "contract:b"))
    ref = await peer.channel.send(Outgoing(asked.chat, "请选 <一个>", buttons, asked.message_id))
    (answer,) = await until_seen(peer, lambda s: len(s) >= 1)
    assert answer.text.startswith("请选 <一个>")  # shown literally, not as markup
    assert answer.buttons == ("甲 <1>", "乙 & 2")
    assert answer.reply_to == (asked.message_id if peer.has_replies else None)

    await peer.press(ref, 2)
    pressed = await inbox.next()
    assert pressed.action == "contract:b" and pressed.chat == asked.chat

    await peer.channel.send(Outgoing(asked.chat, LONG_TEXT))
    parts = await until_seen(peer, lambda s: "\n".join(m.text for m in s[1:]) == LONG_TEXT)
    limit = peer.max_text
    assert len(parts) == 2 if limit is None else all(len(p.text) <= limit for p in parts[1:])

    picture = tmp_path / "steps.png"
    picture.write_bytes(PICTURE)
    before = len(parts)
    await peer.channel.send(Outgoing(asked.chat, "缴费步骤", files=(str(picture),)))
    shown = await until_seen(peer, lambda s: len(s) > before and s[-1].text.endswith("缴费步骤"))
    assert any(m.image for m in shown[before:])

    with pytest.raises(ChannelError) as failed:
        await peer.channel.send(Outgoing(await peer.unreachable(), "没人收得到"))
    assert not failed.value.retryable

    await peer.channel.stop()
    await peer.channel.stop()


# ---- the fake network ----------------------------------------------------------------------


@dataclass
class FakePeer:
    channel: FakeChannel = field(default_factory=FakeChannel)
    has_replies: bool = True
    max_text: int | None = None
    person: Person = field(default_factory=lambda: Person("fake", "zhang", "张"))

    async def say(self, text: str) -> None:
        await self._deliver(text=text)

    async def press(self, ref: SentRef, number: int) -> None:
        (out,) = [o for o in self.channel.sent if ref.message_id in self.channel.sent_ids(o)]
        await self._deliver(action=out.buttons[number - 1].action)

    async def _deliver(self, text: str = "", action: str | None = None) -> None:
        assert self.channel.deliver is not None
        chat = Address("fake", self.person.user_id)
        kind = ChatKind.PRIVATE
        await self.channel.deliver(
            Incoming(chat, self.person, kind, text, uuid.uuid4().hex, action=action)
        )

    async def seen(self) -> list[Seen]:
        return [
            Seen(
                o.text,
                tuple(b.label for b in o.buttons),
                o.reply_to_message_id,
                bool(o.files or o.attachments),
            )
            for o in self.channel.sent
        ]

    async def unreachable(self) -> Address:
        self.channel.failures.append(ChannelError("chat not found", retryable=False))
        return Address("fake", "nobody")


async def test_the_fake_network_keeps_the_contract(tmp_path: Path) -> None:
    await contract(FakePeer(), tmp_path)


# ---- the console ---------------------------------------------------------------------------


class ConsolePeer:
    """Lines typed at the console; the blocks it prints, read back."""

    has_replies = False
    max_text = None

    def __init__(self) -> None:
        self.lines: asyncio.Queue[str] = asyncio.Queue()
        self.printed: list[str] = []
        self.broken = False
        self.channel = ConsoleChannel(
            persona=Persona(name="张"), write=self._write, lines=self._read
        )

    def _write(self, block: str) -> None:
        if self.broken:
            raise BrokenPipeError(32, "Broken pipe")
        self.printed.append(block)

    async def _read(self, prompt: Callable[[], str]) -> AsyncIterator[str]:
        while True:
            yield await self.lines.get()

    async def say(self, text: str) -> None:
        await self.lines.put(text)

    async def press(self, ref: SentRef, number: int) -> None:
        await self.lines.put(str(number))

    async def seen(self) -> list[Seen]:
        found = []
        for block in self.printed:
            _header, _, body = block.rstrip("\n").partition("\n")
            lines = body.split("\n")
            buttons: tuple[str, ...] = ()
            if lines and (labels := re.findall(r"\[\d+\] (.+?)(?=  \[\d+\]|$)", lines[-1])):
                buttons = tuple(labels)
                lines = lines[:-1]
            image = bool(lines) and lines[-1].startswith("(附件 ")
            text = "\n".join(lines[:-1] if image else lines)
            found.append(Seen(text, buttons, None, image))
        return found

    async def unreachable(self) -> Address:
        self.broken = True  # the terminal went away
        return Address("console", "张")


async def test_the_console_keeps_the_contract(tmp_path: Path) -> None:
    await contract(ConsolePeer(), tmp_path)


# ---- Telegram ------------------------------------------------------------------------------


class TelegramPeer:
    """A Telegram user whose updates and the bot's calls go through the Bot API stand-in."""

    has_replies = True
    max_text = 4096
    user = 4242

    def __init__(self, standin: StandIn) -> None:
        self.tg = standin
        self.channel = TelegramChannel(
            TelegramSettings.model_validate(
                {
                    "token": TOKEN,
                    "base_url": standin.base_url,
                    "base_file_url": standin.base_file_url,
                    "poll_timeout": 1,
                }
            )
        )

    async def say(self, text: str) -> None:
        self.tg.push_message(self.user, self.user, text)

    async def press(self, ref: SentRef, number: int) -> None:
        (call,) = [
            c
            for c in self.tg.calls("sendMessage")
            if c.result and str(c.result["message_id"]) == ref.message_id
        ]
        data = call.params["reply_markup"]["inline_keyboard"][number - 1][0]["callback_data"]
        self.tg.push_callback(data, int(ref.message_id), self.user, self.user)

    async def seen(self) -> list[Seen]:
        found = []
        for call in self.tg.sent:
            if call.method not in {"sendMessage", "sendPhoto"} or call.result is None:
                continue
            if str(call.params["chat_id"]) != str(self.user):
                continue
            keyboard = (call.params.get("reply_markup") or {}).get("inline_keyboard", [])
            reply = (call.params.get("reply_parameters") or {}).get("message_id")
            text = html.unescape(str(call.params.get("text", call.params.get("caption") or "")))
            found.append(
                Seen(
                    text,
                    tuple(row[0]["text"] for row in keyboard),
                    str(reply) if reply is not None else None,
                    call.method == "sendPhoto",
                )
            )
        return found

    async def unreachable(self) -> Address:
        self.tg.missing_chats.add("-100999")
        return Address("telegram", "-100999")


async def test_telegram_keeps_the_contract(tmp_path: Path) -> None:
    standin = StandIn()
    await standin.start()
    try:
        await contract(TelegramPeer(standin), tmp_path)
    finally:
        await standin.close()


# ---- Matrix --------------------------------------------------------------------------------


class MatrixPeer:
    """A Matrix user (matrix-nio) in a direct room with the bot, on a real Synapse."""

    has_replies = True
    max_text = 4000

    def __init__(self, user: User, room: str, bot_id: str, channel: Channel) -> None:
        self.user = user
        self.room = room
        self.bot_id = bot_id
        self.channel = channel

    async def say(self, text: str) -> None:
        # The bot joins when it starts; what was said in the room before is history to it.
        await self.user.wait_members(self.room, self.bot_id, timeout=15)
        await self.user.send(self.room, text)

    async def press(self, ref: SentRef, number: int) -> None:
        await self.user.send(self.room, str(number), reply_to=ref.message_id)

    async def seen(self) -> list[Seen]:
        found = []
        for event in self.user.messages(self.bot_id, self.room):
            body = event.body
            buttons: tuple[str, ...] = ()
            if "org.yishiting.options" in event.content:
                body, _, options = body.rpartition("\n\n")
                buttons = tuple(re.sub(r"^\d+\. ", "", line) for line in options.split("\n"))
            relates = event.content.get("m.relates_to") or {}
            reply = (relates.get("m.in_reply_to") or {}).get("event_id")
            image = event.content.get("msgtype") == "m.image"
            found.append(Seen("" if image else body, buttons, reply, image))
        return _fold_images(found)

    async def unreachable(self) -> Address:
        return Address("matrix", "!nowhere:localhost")


def _fold_images(found: list[Seen]) -> list[Seen]:
    """A picture with text is two events on Matrix (image, then text): one message here."""
    folded: list[Seen] = []
    for seen in found:
        if folded and folded[-1].image and not folded[-1].text and not seen.image:
            folded[-1] = Seen(seen.text, seen.buttons, seen.reply_to, True)
        else:
            folded.append(seen)
    return folded


async def test_matrix_keeps_the_contract(tmp_path: Path) -> None:
    from channels.matrix.channel import MatrixChannel
    from channels.matrix.settings import FileTokenStore, MatrixSettings

    srv = server()
    password = uuid.uuid4().hex
    bot_id = await register(srv, unique("yishiting"), password)
    channel = MatrixChannel(
        MatrixSettings.model_validate(
            {
                "homeserver": srv.url,
                "user_id": bot_id,
                "password": password,
                "sync_timeout_ms": 1000,
                "request_timeout": 5,
            }
        ),
        FileTokenStore(tmp_path / "matrix.token"),
    )
    user = await User.create(srv, "contract")
    try:
        room = await user.create_room(invite=(bot_id,))
        await contract(MatrixPeer(user, room, bot_id, channel), tmp_path)
    finally:
        await channel.stop()
        await user.close()
