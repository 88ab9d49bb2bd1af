"""A fake network for driving the real core: push a message, read the replies."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.app import App
from bot.models import Address, ChatKind, Incoming, Outgoing, Person, Role
from channels.base import ChannelError, Deliver, SentRef

SHANGHAI = ZoneInfo("Asia/Shanghai")


class FakeChannel:
    """A Channel that records what the bot sends; tests inject what users say."""

    def __init__(self, name: str = "fake") -> None:
        self.name = name
        self.sent: list[Outgoing] = []
        self.deliver: Deliver | None = None
        self._ids = itertools.count(1000)
        self._refs: list[tuple[Outgoing, str]] = []
        self.failures: list[ChannelError] = []  # raised by the next sends, in order

    def sent_ids(self, out: Outgoing) -> list[str]:
        """The platform message ids this channel gave to `out`."""
        return [ref for o, ref in self._refs if o is out]

    async def start(self, deliver: Deliver) -> None:
        self.deliver = deliver

    async def send(self, out: Outgoing) -> SentRef:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(out)
        ref = str(next(self._ids))
        self._refs.append((out, ref))
        return SentRef(self.name, out.to.chat_id, ref)

    async def stop(self) -> None:
        self.deliver = None


@dataclass
class FakeClock:
    """A clock tests move by hand."""

    now: datetime = field(default_factory=lambda: datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


class Chat:
    """One user in one chat on the fake network: `say` returns the bot's replies."""

    def __init__(
        self,
        app: App,
        channel: FakeChannel,
        user: str,
        *,
        group: str | None = None,
        role: Role | None = None,
        language: str | None = None,
    ) -> None:
        self.app = app
        self.channel = channel
        self.person = Person(channel.name, user, user, language)
        self.group = group
        self.role = role

    @property
    def address(self) -> Address:
        return Address(self.channel.name, f"g:{self.group}" if self.group else self.person.user_id)

    async def say(
        self,
        text: str = "",
        *,
        mention: bool = False,
        action: str | None = None,
        attachments: tuple[str, ...] = (),
        reply_to: str | None = None,
    ) -> list[Outgoing]:
        before = len(self.channel.sent)
        await self.app.deliver(
            Incoming(
                chat=self.address,
                sender=self.person,
                chat_kind=ChatKind.GROUP if self.group else ChatKind.PRIVATE,
                text=text,
                message_id=uuid.uuid4().hex,  # unique across restarts, as a network's are
                chat_title=self.group or "",
                mentions_bot=mention,
                action=action,
                attachments=attachments,
                reply_to_message_id=reply_to,
                claimed_role=self.role,
            )
        )
        return self.channel.sent[before:]

    async def press(self, reply: Outgoing, label_part: str) -> list[Outgoing]:
        button = next(b for b in reply.buttons if label_part in b.label or label_part in b.action)
        return await self.say(action=button.action)
