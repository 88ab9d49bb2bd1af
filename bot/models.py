"""Channel-neutral messages: who speaks, where, and what goes back out."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

# What residents send besides text, as references in `attachments`: a photo is the platform's
# reference as it is (a Telegram file id, an mxc:// URI); other media carry their kind in front
# ("voice:<ref>", "file:<ref>"); a map location is "geo:<latitude>,<longitude>". Adapters
# forward references, never fetch them (bot/models.py is the one vocabulary of both sides).
MEDIA_KINDS = ("voice", "file", "geo")
MAX_MEDIA_BYTES = 20 * 1024 * 1024  # larger voice messages and files are refused politely


def media_kind(ref: str) -> tuple[str, str]:
    """('photo' | 'voice' | 'file' | 'geo', the reference without its kind)."""
    kind, colon, rest = ref.partition(":")
    if colon and kind in MEDIA_KINDS and not rest.startswith("//"):
        return kind, rest
    return "photo", ref


def geo_ref(latitude: float, longitude: float) -> str:
    return f"geo:{latitude:.6f},{longitude:.6f}"


class ChatKind(StrEnum):
    PRIVATE = "private"
    GROUP = "group"


class Role(StrEnum):
    RESIDENT = "resident"
    STAFF = "staff"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return {Role.RESIDENT: 0, Role.STAFF: 1, Role.ADMIN: 2}[self]

    def allows(self, required: Role) -> bool:
        return self.rank >= required.rank


@dataclass(frozen=True)
class Address:
    """A chat on one network; `thread` is an optional topic/thread inside it."""

    channel: str
    chat_id: str
    thread: str | None = None

    def __str__(self) -> str:
        base = f"{self.channel}:{self.chat_id}"
        return base if self.thread is None else f"{base}#{self.thread}"

    @property
    def room(self) -> Address:
        """The chat itself, whatever thread or forum topic inside it: a group's identity
        (its settings, compound and broadcasts) is the room's, not the thread's."""
        return self if self.thread is None else Address(self.channel, self.chat_id)

    @classmethod
    def parse(cls, key: str) -> Address:
        """'telegram:-1001234' or 'matrix:!room:server' as an Address (the key of settings)."""
        channel, _, chat_id = key.partition(":")
        return cls(channel, chat_id)


@dataclass(frozen=True)
class Person:
    """A user as one network knows them."""

    channel: str
    user_id: str
    display_name: str = ""
    language: str | None = None  # the client's language hint, if the network gives one

    @property
    def key(self) -> str:
        return f"{self.channel}:{self.user_id}"


@dataclass(frozen=True)
class Button:
    """A one-tap action: `action` is opaque text the core understands when pressed."""

    label: str
    action: str
    # A link that opens the bot's private chat with `action` as its start parameter (Telegram
    # deep link `t.me/<bot>?start=<action>`): only offered on networks where a bot cannot
    # write to someone first.
    link: bool = False


@dataclass(frozen=True)
class Incoming:
    """One message or button press arriving from a channel."""

    chat: Address
    sender: Person
    chat_kind: ChatKind
    text: str = ""
    message_id: str | None = None
    chat_title: str = ""
    mentions_bot: bool = False
    reply_to_bot: bool = False
    reply_to_message_id: str | None = None
    action: str | None = None  # set when a Button was pressed
    attachments: tuple[str, ...] = ()  # platform media references (see media_kind)
    claimed_role: Role | None = None  # only honoured for channels trusted in config (console)
    edit_of: str | None = None  # set when this is an edit: the platform id of the edited message
    # What the bot cannot take ("sticker", "contact", "video", "too_big"): answered politely
    # in private instead of silence.
    unsupported: str | None = None
    # Not a message but news about the chat itself: "blocked", "left" (the bot cannot write
    # there), "joined" (it can again), "moved" (a group became `moved_to`, a new chat id).
    chat_event: str | None = None
    moved_to: str | None = None


@dataclass(frozen=True)
class Outgoing:
    """One message for one chat, with optional buttons, media and files.

    `attachments` are platform media references that arrived from users (`mxc://…`, Telegram
    file ids): adapters pass them on as references and never read them from disk. `files`
    are local files the core itself chose to send (an FAQ entry's pictures, checked to lie
    under the FAQ's folder): the only paths an adapter reads.
    """

    to: Address
    text: str
    buttons: tuple[Button, ...] = ()
    reply_to_message_id: str | None = None
    attachments: tuple[str, ...] = field(default=())  # platform media references
    tag: str | None = None  # e.g. "card:1024": the core wants to know the sent message's id
    files: tuple[str, ...] = field(default=())  # local files chosen by the core
    # A quiet message: no phone rings for it (the bot's answers in a group). Everything else
    # (relays, cards, reminders, broadcasts, private replies) notifies its recipients.
    notice: bool = False
    # The answer to a button press, for the presser alone where the network can show it so
    # (a Telegram toast); in a group it is never posted for everyone.
    toast: bool = False
    # The outbox key of a recorded message, set as it is sent: networks that take an
    # idempotency key (Matrix transaction ids) derive it from this, so that a retry after a
    # timeout cannot post the message twice. Empty for a direct reply.
    dedupe: str = ""
