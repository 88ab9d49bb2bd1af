"""The numbered options of the bot's messages: remembered, looked up, answered by a typed number.

Matrix has no buttons: they are rendered as numbered options under the text ("1. 👍 有用"). A
message that is just the number, a Matrix reply with the number to that message, or a keycap
reaction (1️⃣ …) on it answers them. The platform is the store: the actions travel in the event
itself (``content["org.yishiting.options"] = [action, ...]``, ignored by clients), so they
survive a restart. In memory they are only a cache, per room (the latest message with options, in
timeline order) and per event. A miss is looked up on the server: the event a reply or reaction
names (``/rooms/{room}/event/{id}``), or, for a bare number, the bot's latest messages before it
(``/messages`` backwards from the batch's ``prev_batch``). Only events sent by the bot's own user
id count; a failed lookup is logged and the number stays plain text.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from nio import (  # type: ignore[import-untyped]
    MessageDirection,
    RoomGetEventResponse,
    RoomMessagesResponse,
)

from channels.base import ChannelError
from channels.matrix.errors import ApiCall

log = logging.getLogger(__name__)

OPTIONS_MEMORY = 10_000  # events whose numbered options (or their absence) are remembered
OPTIONS_KEY = "org.yishiting.options"  # the actions of a message's numbered options, in order
MAX_OPTIONS = 99  # what `parse_number` can address
LOOKBACK = 30  # the bot's own messages searched for options before a bare number
KEYCAPS = {f"{d}\ufe0f\u20e3": d for d in range(10)} | {"🔟": 10}
KEYCAPS |= {f"{d}\u20e3": d for d in range(10)}  # without the variation selector


def parse_number(text: str) -> int | None:
    """'1', '１', ' 2 ', '2.' or a keycap emoji -> the option number."""
    stripped = text.strip()
    if stripped in KEYCAPS:
        return KEYCAPS[stripped]
    normal = unicodedata.normalize("NFKC", stripped).rstrip(".。")
    return int(normal) if re.fullmatch(r"\d{1,2}", normal) else None


class NumberedOptions:
    """The options of the bot's messages in a cache, looked up on the homeserver on a miss."""

    def __init__(
        self,
        user_id: str,
        *,
        client: Callable[[], Any],  # the nio client; None when not started
        call: ApiCall,
        sent: OrderedDict[str, None],  # the bot's own event ids (a lookup adds to them)
        search_from: Callable[[str], str | None],  # where a room's search for options starts
    ) -> None:
        self.user_id = user_id
        self._client = client
        self._call = call
        self._sent = sent
        self._search_from = search_from
        self.latest: dict[str, tuple[str, tuple[str, ...]]] = {}  # room -> (event, actions)
        self.by_event: OrderedDict[str, tuple[str, ...]] = OrderedDict()
        self.without: OrderedDict[str, None] = OrderedDict()  # looked up: none to be had
        self.looked_back: set[str] = set()  # rooms searched for options, none found

    async def answered_by(
        self, room_id: str, reply_id: str | None
    ) -> tuple[str, tuple[str, ...]] | None:
        """(event, actions) a typed number answers: the replied-to event's, or the room's latest."""
        if reply_id is not None:
            actions = await self.of_event(room_id, reply_id)
            return (reply_id, actions) if actions else None
        return await self.latest_in(room_id)

    def actions_in(self, source: dict[str, Any]) -> tuple[str, ...] | None:
        """The options carried by an event, when the bot sent it (anyone can write the key)."""
        if source.get("sender") != self.user_id or source.get("type") != "m.room.message":
            return None
        actions = (source.get("content") or {}).get(OPTIONS_KEY)
        if (
            not isinstance(actions, list)
            or not 1 <= len(actions) <= MAX_OPTIONS
            or not all(isinstance(a, str) and a for a in actions)
        ):
            return None
        return tuple(actions)

    def remember(self, room_id: str, event_id: str, actions: tuple[str, ...], latest: bool) -> None:
        """Cache an event's options; `latest`: also the ones a bare number in the room answers."""
        if not event_id:
            return
        if latest:
            self.latest[room_id] = (event_id, actions)
            self.looked_back.discard(room_id)
        self.by_event[event_id] = actions
        self.by_event.move_to_end(event_id)
        self.without.pop(event_id, None)
        while len(self.by_event) > OPTIONS_MEMORY:
            self.by_event.popitem(last=False)

    def forget(self, event_id: str) -> None:
        """Note that an event carries no options (so it is not looked up again)."""
        self.without[event_id] = None
        while len(self.without) > OPTIONS_MEMORY:
            self.without.popitem(last=False)

    async def of_event(self, room_id: str, event_id: str) -> tuple[str, ...] | None:
        """The options of the event a reply or reaction names: cached, else fetched."""
        known = self.by_event.get(event_id)
        client = self._client()
        if known is not None or event_id in self.without or client is None:
            return known
        try:
            resp = await self._call("get event", client.room_get_event, room_id, event_id)
        except ChannelError as exc:
            log.warning("matrix: cannot look up the options of %s: %s", event_id, exc)
            if not exc.retryable:  # M_NOT_FOUND, M_FORBIDDEN: asking again will not help
                self.forget(event_id)
            return None
        except Exception:
            log.exception("matrix: cannot look up the options of %s", event_id)
            return None
        event = getattr(resp, "event", None) if isinstance(resp, RoomGetEventResponse) else None
        source = getattr(event, "source", None)
        if not isinstance(source, dict):
            return None
        if source.get("sender") == self.user_id:
            self._sent[event_id] = None
        actions = self.actions_in(source)
        if actions:
            self.remember(room_id, event_id, actions, latest=False)
        else:
            self.forget(event_id)
        return actions

    async def latest_in(self, room_id: str) -> tuple[str, tuple[str, ...]] | None:
        """The options a bare number answers: cached, else the bot's latest messages before it.

        The search goes backwards from the start of the batch being handled; what came later in
        the batch was seen by the sync loop already (the bot's own messages are cached there).
        """
        known = self.latest.get(room_id)
        client = self._client()
        if known is not None or room_id in self.looked_back or client is None:
            return known
        start = self._search_from(room_id)
        try:
            resp = await self._call(
                "messages",
                client.room_messages,
                room_id,
                start=start,
                direction=MessageDirection.back,
                limit=LOOKBACK,
                message_filter={"types": ["m.room.message"], "senders": [self.user_id]},
            )
        except ChannelError as exc:
            log.warning("matrix: cannot look for options in %s: %s", room_id, exc)
            return None
        except Exception:
            log.exception("matrix: cannot look for options in %s", room_id)
            return None
        if not isinstance(resp, RoomMessagesResponse):
            return None
        for event in resp.chunk:  # newest first
            source = getattr(event, "source", None)
            if not isinstance(source, dict):
                continue
            actions = self.actions_in(source)
            event_id = source.get("event_id")
            if actions and isinstance(event_id, str) and event_id:
                log.info("matrix: recovered the options of %s in %s", event_id, room_id)
                self.remember(room_id, event_id, actions, latest=True)
                return self.latest[room_id]
        self.looked_back.add(room_id)
        return None


__all__ = ["KEYCAPS", "LOOKBACK", "OPTIONS_KEY", "NumberedOptions", "parse_number"]
