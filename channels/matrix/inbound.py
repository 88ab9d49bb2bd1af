"""Inbound Matrix events as `Incoming`: messages, images and reactions of other users.

Who is addressed (mentions, pills), what a reply quotes (the fallback older clients put before the
text is dropped), whether the replied-to message is the bot's, the sender's name, the room's kind
and title, and a typed number or keycap turned into the action of the bot's numbered options.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from nio import RoomGetEventResponse  # type: ignore[import-untyped]

from bot.models import MAX_MEDIA_BYTES, Address, ChatKind, Incoming, Person, geo_ref
from channels.base import ChannelError
from channels.matrix.errors import ApiCall
from channels.matrix.options import KEYCAPS, NumberedOptions, parse_number
from channels.matrix.settings import NAME
from channels.media import is_mxc

log = logging.getLogger(__name__)


RATINGS = {"👍": "rate:up:", "👎": "rate:down:"}
UNSUPPORTED = frozenset({"m.video"})
MEDIA = {"m.audio": "voice", "m.file": "file"}  # msgtype -> the kind of reference
_GEO = re.compile(r"geo:(-?\d{1,2}(?:\.\d+)?),(-?\d{1,3}(?:\.\d+)?)")


def _event(room_id: str, room: Any, source: dict[str, Any], **fields: Any) -> Incoming:
    """An Incoming for an event of the room's main timeline, with `fields`."""
    return Incoming(
        chat=Address(NAME, room_id),
        sender=_person(room, str(source.get("sender", ""))),
        chat_kind=_kind(room),
        message_id=str(source.get("event_id", "")),
        chat_title=_title(room),
        **fields,
    )


def _media(content: dict[str, Any], msgtype: str) -> tuple[str, ...] | None:
    """A voice message, file or map location as references (see bot.models.media_kind); ()
    for one the bot cannot use (not the homeserver's own media), None when over the cap."""
    if msgtype == "m.location":
        match = _GEO.match(str(content.get("geo_uri", "")))
        return (geo_ref(float(match.group(1)), float(match.group(2))),) if match else ()
    url = content.get("url")
    if not isinstance(url, str) or not is_mxc(url):
        return ()  # only the homeserver's media; never a path or a web address
    info = content.get("info") if isinstance(content.get("info"), dict) else {}
    size = info.get("size") if isinstance(info, dict) else None
    if isinstance(size, int) and size > MAX_MEDIA_BYTES:
        return None
    return (f"{MEDIA[msgtype]}:{url}",)


def _media_kind(content: dict[str, Any]) -> str:
    """voice (an m.audio marked as a voice message), audio, file, location or video."""
    msgtype = str(content.get("msgtype", ""))
    if msgtype == "m.audio" and "org.matrix.msc3245.voice" in content:
        return "voice"
    return msgtype.removeprefix("m.").replace("audio", "voice")


def _plain_emoji(key: str) -> str:
    """👍🏻 … 👍🏿 and 👍️ as 👍: skin tones and variation selectors do not change a vote."""
    return "".join(c for c in key if not ("\U0001f3fb" <= c <= "\U0001f3ff" or c == "\ufe0f"))


def _strip_reply_fallback(body: str) -> str:
    """Drop the '> <@user> quoted' lines older clients put before the text of a reply."""
    lines = body.split("\n")
    if not lines or not lines[0].startswith(">"):
        return body
    i = 0
    while i < len(lines) and lines[i].startswith(">"):
        i += 1
    if i < len(lines) and not lines[i].strip():
        i += 1
    return "\n".join(lines[i:])


def _person(room: Any, user_id: str) -> Person:
    name = room.user_name(user_id) if room is not None else None
    return Person(NAME, user_id, name or user_id)


def _kind(room: Any) -> ChatKind:
    return ChatKind.PRIVATE if room is not None and room.joined_count == 2 else ChatKind.GROUP


def _title(room: Any) -> str:
    return str(room.name or "") if room is not None else ""


class Inbound:
    """Translates the room events of other users into `Incoming` for the core."""

    def __init__(
        self,
        user_id: str,
        *,
        display_name: Callable[[], str],  # the bot's name as people write it (known at start)
        options: NumberedOptions,
        client: Callable[[], Any],  # the nio client; None when not started
        call: ApiCall,
        sent: OrderedDict[str, None],  # the bot's own event ids
    ) -> None:
        self.user_id = user_id
        self._display_name = display_name
        self.options = options
        self._client = client
        self._call = call
        self._sent = sent

    async def message(
        self, room_id: str, room: Any, source: dict[str, Any], content: dict[str, Any]
    ) -> Incoming | None:
        """An m.text, m.emote or m.image as `Incoming`; None for what the bot does not answer."""
        relates = content.get("m.relates_to") or {}
        edit_of: str | None = None
        if relates.get("rel_type") == "m.replace":
            new = content.get("m.new_content")
            if not isinstance(new, dict) or not isinstance(relates.get("event_id"), str):
                return None
            edit_of, content, relates = relates["event_id"], new, {}  # the edited text as sent
        body = content.get("body")
        if not isinstance(body, str):
            return None
        reply_id = (relates.get("m.in_reply_to") or {}).get("event_id")
        # In a thread (on a ticket's card, say) a message answers the thread's root;
        # m.in_reply_to is only the fallback for clients without threads.
        in_thread = relates.get("rel_type") == "m.thread" and isinstance(
            relates.get("event_id"), str
        )
        fallback = reply_id if isinstance(reply_id, str) else None  # the thread's latest event
        thread: str | None = relates["event_id"] if in_thread else None
        if in_thread and (reply_id is None or relates.get("is_falling_back")):
            reply_id = thread
        reply_id = reply_id if isinstance(reply_id, str) else None
        parsed = self._parsed(room_id, room, source, content, reply_id)
        if not isinstance(parsed, tuple):
            return parsed
        text, attachments = parsed
        event_id = str(source.get("event_id", ""))
        sender = str(source.get("sender", ""))
        common: dict[str, Any] = {
            "chat": Address(NAME, room_id, thread),  # answers go into the thread asked in
            "sender": _person(room, sender),
            "chat_kind": _kind(room),
            "message_id": event_id,
            "chat_title": _title(room),
        }
        number = parse_number(text) if text and edit_of is None else None
        # In a group a bare "2" is usually an answer to a neighbour ("您家住几单元？"): it picks
        # an option only as a reply to the bot's message; in a private chat it always does.
        if number and (reply_id is not None or common["chat_kind"] is ChatKind.PRIVATE):
            # In a thread, "1" answers the bot's message it follows (the fallback), if any.
            asked = fallback if thread is not None and fallback not in (None, thread) else reply_id
            options = await self.options.answered_by(room_id, asked)
            if options is not None and 1 <= number <= len(options[1]):
                return Incoming(
                    **common,
                    reply_to_message_id=options[0],
                    action=options[1][number - 1],
                )
        mentions, text = self.mentions(content, text)
        return Incoming(
            **common,
            edit_of=edit_of,
            text=text,
            mentions_bot=mentions,
            reply_to_bot=reply_id is not None and await self.sent_by_me(room_id, reply_id),
            reply_to_message_id=reply_id,
            attachments=attachments,
        )

    def _parsed(
        self,
        room_id: str,
        room: Any,
        source: dict[str, Any],
        content: dict[str, Any],
        reply_id: str | None,
    ) -> tuple[str, tuple[str, ...]] | Incoming | None:
        """(text, attachments) of a message; an Incoming for what the bot cannot take; None
        for what it ignores."""
        msgtype, body = content.get("msgtype"), str(content.get("body"))
        if msgtype in {"m.text", "m.emote"}:
            return (_strip_reply_fallback(body) if reply_id else body), ()
        elif msgtype == "m.image" and isinstance(content.get("url"), str):
            if not is_mxc(content["url"]):
                # Only the homeserver's own media: a local path here would make the bot read
                # (and upload to staff) a file of its own machine.
                log.warning(
                    "refused an image from %s whose url is not mxc://", source.get("sender")
                )
                return None
            # A caption (MSC2530): when the event names its file apart, the body is the caption.
            filename = content.get("filename")
            caption = body if isinstance(filename, str) and body != filename else ""
            return caption, (content["url"],)
        elif msgtype in MEDIA or msgtype == "m.location":
            found = _media(content, msgtype)
            if found is None:
                return self._unsupported(room_id, room, source, "too_big")
            if not found:
                return None
            filename = content.get("filename")
            caption = body if isinstance(filename, str) and body != filename else ""
            return caption, found
        elif msgtype in UNSUPPORTED:
            return self._unsupported(room_id, room, source, _media_kind(content))
        return None  # m.notice (other bots) …

    @staticmethod
    def _unsupported(room_id: str, room: Any, source: dict[str, Any], kind: str) -> Incoming:
        """What the bot cannot take (a video, a file over the cap): a polite line in private."""
        return _event(room_id, room, source, unsupported=kind)

    async def reaction(
        self, room_id: str, room: Any, source: dict[str, Any], content: dict[str, Any]
    ) -> Incoming | None:
        """A keycap reaction on a message with numbered options, as the action it picks."""
        relates = content.get("m.relates_to") or {}
        target, key = relates.get("event_id"), relates.get("key")
        if relates.get("rel_type") != "m.annotation" or not isinstance(target, str):
            return None
        number = KEYCAPS.get(key) if isinstance(key, str) else None
        rating = RATINGS.get(_plain_emoji(key)) if isinstance(key, str) else None
        if not number and rating is None:
            return None
        actions = await self.options.of_event(room_id, target)
        if not actions:
            return None
        if rating is not None:  # 👍 / 👎 on an answer rate it, like its buttons
            number = next((i for i, a in enumerate(actions, 1) if a.startswith(rating)), 0)
        if not number or not 1 <= number <= len(actions):
            return None
        return _event(room_id, room, source, reply_to_message_id=target, action=actions[number - 1])

    def mentions(self, content: dict[str, Any], text: str) -> tuple[bool, str]:
        """Whether the bot is addressed, and the text without a leading 'Name: ' pill."""
        me = self.user_id
        names = [n for n in (self._display_name(), me, me.partition(":")[0].lstrip("@")) if n]
        found = False
        explicit = content.get("m.mentions") or {}
        if isinstance(explicit, dict) and me in (explicit.get("user_ids") or []):
            found = True
        formatted = content.get("formatted_body")
        if isinstance(formatted, str) and (
            f"matrix.to/#/{me}" in formatted or f"matrix.to/#/{me.replace('@', '%40')}" in formatted
        ):
            found = True
        lowered = text.lower()
        if any(n.lower() in lowered for n in names[:2]):
            found = True
        for name in names:
            match = re.match(rf"\s*@?{re.escape(name)}(?:\s*[:,：，]\s*|\s+)", text, re.IGNORECASE)
            if match and match.end() < len(text):
                return True, text[match.end() :]
        return found, text

    async def sent_by_me(self, room_id: str, event_id: str) -> bool:
        """Whether the bot sent this event: remembered, else asked of the homeserver."""
        if event_id in self._sent:
            return True
        try:
            resp = await self._call("get event", self._client().room_get_event, room_id, event_id)
        except ChannelError:
            return False
        return isinstance(resp, RoomGetEventResponse) and resp.event.sender == self.user_id


__all__ = ["Inbound"]
