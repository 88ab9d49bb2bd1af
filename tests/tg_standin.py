"""A small Telegram Bot API stand-in (aiohttp, 127.0.0.1) for driving the real PTB client."""

# ruff: noqa: N802 - handler names mirror the Bot API methods (_api_sendMessage)

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import re
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "123456:TEST-standin-token_abc"
BOT_ID = 123456
BOT_USERNAME = "yishiting_test_bot"
JSON_FIELDS = {"reply_markup", "reply_parameters", "allowed_updates", "commands", "scope"}
MAX_TEXT = 4096
ALLOWED_TAGS = re.compile(r"</?(b|strong|i|em|u|ins|s|strike|del|a|code|pre|tg-spoiler)\b")


@dataclass
class Call:
    """One Bot API request the stand-in received."""

    method: str
    params: dict[str, Any]
    result: Any = None  # the "result" answered, or None for an error


@dataclass
class Fault:
    status: int
    retry_after: int | None
    description: str


@dataclass
class StandIn:
    """The server plus helpers: queue updates, read what the bot sent, inject faults."""

    token: str = TOKEN
    sent: list[Call] = field(default_factory=list)
    missing_chats: set[str] = field(default_factory=set)  # sendMessage -> 400 chat not found
    blocked: set[str] = field(default_factory=set)  # people who blocked the bot -> 403
    never_started: set[str] = field(default_factory=set)  # never pressed Start -> 403
    migrated: dict[str, int] = field(default_factory=dict)  # group -> its supergroup: 400
    port: int = 0
    _updates: list[dict[str, Any]] = field(default_factory=list)
    webhook: dict[str, Any] | None = None  # the last setWebhook parameters
    allowed_updates: list[str] | None = None  # what the last getUpdates asked for
    _messages: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    _faults: dict[str, list[Fault]] = field(default_factory=dict)
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(100))
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _closing: bool = False
    _runner: web.AppRunner | None = None

    # ---- server ----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.*}", self._file)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1, access_log=None)
        await self._runner.setup()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def close(self) -> None:
        self._closing = True
        await self._notify()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # ---- test helpers ----------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        times: int = 1,
        *,
        status: int = 429,
        retry_after: int | None = 1,
        description: str | None = None,
    ) -> None:
        """Answer the next `times` calls of `method` with an error (429 flood control or 5xx)."""
        text = description or {429: f"Too Many Requests: retry after {retry_after}"}.get(
            status, "Bad Gateway" if status >= 500 else "Bad Request: injected"
        )
        faults = self._faults.setdefault(method, [])
        faults += [Fault(status, retry_after if status == 429 else None, text)] * times

    def _user(self, user_id: int, name: str, language: str = "zh-hans") -> dict[str, Any]:
        return {
            "id": user_id,
            "is_bot": False,
            "first_name": name,
            "last_name": "Test",
            "language_code": language,
        }

    def _chat(self, chat_id: int, chat_type: str, title: str, user_id: int) -> dict[str, Any]:
        if chat_type == "private":
            return {"id": chat_id, "type": "private", "first_name": f"u{user_id}"}
        return {"id": chat_id, "type": chat_type, "title": title}

    def push_message(
        self,
        chat_id: int,
        user_id: int,
        text: str = "",
        *,
        chat_type: str = "private",
        reply_to: int | None = None,
        photo: str | None = None,
        title: str = "丰仓小区群",
        name: str = "张",
        is_bot: bool = False,
        edited: bool = False,
        sender_chat: dict[str, Any] | None = None,
        automatic_forward: bool = False,
        topic: int | None = None,
        edit_of: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> int:
        """Queue a message update; returns its message_id. `photo` is a file_id prefix;
        `sender_chat` is who posts for an anonymous admin (the group) or as a channel."""
        chat_type = "supergroup" if chat_type == "group" else chat_type
        if chat_type == "private":  # writing to the bot is starting it (and unblocking it)
            self.never_started.discard(str(chat_id))
            self.blocked.discard(str(chat_id))
        message_id = edit_of if edit_of is not None else next(self._message_ids)
        sender = self._user(user_id, name)
        sender["is_bot"] = is_bot
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self._chat(chat_id, chat_type, title, user_id),
            "from": sender,
        }
        body_key, entities_key = ("caption", "caption_entities") if photo else ("text", "entities")
        if text:
            message[body_key] = text
            message[entities_key] = _entities(text)
        if photo:
            message["photo"] = [
                {
                    "file_id": f"{photo}-{w}",
                    "file_unique_id": f"u{photo}{w}",
                    "width": w,
                    "height": w,
                }
                for w in (90, 800, 320)
            ]
        if topic is not None:  # in a forum topic (Telegram: a reply to the topic's start)
            message["message_thread_id"] = topic
            message["is_topic_message"] = True
            message["chat"]["is_forum"] = True
        if reply_to is not None:
            message["reply_to_message"] = self._messages[(str(chat_id), reply_to)]
        if sender_chat is not None:  # what Telegram sends: `from` is a placeholder bot
            message["sender_chat"] = sender_chat
            message["from"] = {"id": 1087968824, "is_bot": True, "first_name": "Group"}
        if automatic_forward:
            message["is_automatic_forward"] = True
            message["from"] = {"id": 777000, "is_bot": False, "first_name": "Telegram"}
        self._messages[(str(chat_id), message_id)] = message
        if edited:
            message["edit_date"] = int(time.time())
        message.update(extra or {})  # voice, location, sticker … as the Bot API shapes them
        self._push({"edited_message" if edited else "message": message})
        return message_id

    def push_callback(
        self, data: str, message_id: int, chat_id: int, user_id: int, *, name: str = "张"
    ) -> str:
        """Queue a button press on the bot's message `message_id` in `chat_id`."""
        query_id = f"q{next(self._update_ids)}"
        self._push(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self._user(user_id, name),
                    "message": self._messages[(str(chat_id), message_id)],
                    "chat_instance": f"ci{chat_id}",
                    "data": data,
                }
            }
        )
        return query_id

    def push_member(
        self, chat_id: int, user_id: int, status: str, *, old: str = "member", title: str = "群"
    ) -> None:
        """Queue a my_chat_member update: the bot's status in `chat_id` changed to `status`
        ("kicked" in a private chat: the person blocked the bot; "member": started it
        again; "left"/"kicked" in a group: the bot is out of it)."""
        chat_type = "private" if chat_id > 0 else "supergroup"
        bot = {"id": BOT_ID, "is_bot": True, "first_name": "议事厅", "username": BOT_USERNAME}

        def member(state: str) -> dict[str, Any]:
            found: dict[str, Any] = {"status": state, "user": bot}
            if state == "kicked":
                found["until_date"] = 0
            return found

        self._push(
            {
                "my_chat_member": {
                    "chat": self._chat(chat_id, chat_type, title, user_id),
                    "from": self._user(user_id, "张"),
                    "date": int(time.time()),
                    "old_chat_member": member(old),
                    "new_chat_member": member(status),
                }
            }
        )
        if chat_type == "private" and status == "kicked":
            self.blocked.add(str(chat_id))
        elif chat_type == "private":
            self.blocked.discard(str(chat_id))

    def push_migration(
        self, old: int, new: int, user_id: int, *, title: str = "丰仓小区群"
    ) -> None:
        """A group became a supergroup, as Telegram tells it: a service message in the old
        group (migrate_to_chat_id) and one in the new (migrate_from_chat_id)."""
        self.migrated[str(old)] = new
        for chat_id, chat_type, key, other in (
            (old, "group", "migrate_to_chat_id", new),
            (new, "supergroup", "migrate_from_chat_id", old),
        ):
            message = {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": chat_type, "title": title},
                "from": self._user(user_id, "张"),
                key: other,
            }
            self._push({"message": message})

    def push_reaction(
        self, chat_id: int, message_id: int, user_id: int, emoji: str, *, old: str = ""
    ) -> None:
        """Queue a message_reaction update: `user_id` put `emoji` on message `message_id`."""
        chat_type = "private" if chat_id > 0 else "supergroup"
        self._push(
            {
                "message_reaction": {
                    "chat": self._chat(chat_id, chat_type, "群", user_id),
                    "message_id": message_id,
                    "user": self._user(user_id, "张"),
                    "date": int(time.time()),
                    "old_reaction": [{"type": "emoji", "emoji": old}] if old else [],
                    "new_reaction": [{"type": "emoji", "emoji": emoji}],
                }
            }
        )

    def _push(self, update: dict[str, Any]) -> None:
        update["update_id"] = next(self._update_ids)
        self._updates.append(update)
        asyncio.get_running_loop().create_task(self._notify())

    def calls(self, method: str) -> list[Call]:
        return [c for c in self.sent if c.method == method]

    def texts_to(self, chat_id: int) -> list[str]:
        """Plain (HTML-unescaped) texts and captions the bot sent to `chat_id`, in order."""
        return [
            html.unescape(str(c.params.get("text", c.params.get("caption", ""))))
            for c in self.sent
            if c.method in {"sendMessage", "sendPhoto", "sendVoice", "sendDocument"}
            and str(c.params["chat_id"]) == str(chat_id)
        ]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until `method` has been called at least `count` times in total."""
        async with asyncio.timeout(timeout):
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.calls(method)) >= count)
        return self.calls(method)

    async def wait_consumed(self, timeout: float = 5.0) -> None:
        """Wait until the client has confirmed (by offset) every queued update."""
        async with asyncio.timeout(timeout):
            async with self._changed:
                await self._changed.wait_for(lambda: not self._updates)

    # ---- Bot API ---------------------------------------------------------------------------

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            data: dict[str, Any] = await request.json()
            return data
        params: dict[str, Any] = {}
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                params[key] = {"filename": value.filename, "size": len(value.file.read())}
            elif isinstance(value, str) and key in JSON_FIELDS:
                params[key] = json.loads(value)
            else:
                params[key] = value if isinstance(value, str) else bytes(value).decode()
        # PTB sends an attached file as 'attach://<name>' plus a multipart part of that name.
        for key, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                params[key] = params.pop(value.removeprefix("attach://"), value)
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params = await self._params(request)
        response = await self._answer(method, params)
        if method != "getUpdates":
            result = None if isinstance(response, web.Response) else response
            self.sent.append(Call(method, params, result))
            await self._notify()
        if isinstance(response, web.Response):
            return response
        return web.json_response({"ok": True, "result": response})

    async def _answer(self, method: str, params: dict[str, Any]) -> Any:
        faults = self._faults.get(method)
        if faults:
            fault = faults.pop(0)
            extra = {"retry_after": fault.retry_after} if fault.retry_after is not None else None
            return _error(fault.status, fault.description, extra)
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        return await handler(params)

    async def _file(self, request: web.Request) -> web.Response:
        return web.Response(body=b"\x89PNG fake")

    async def _api_getMe(self, params: dict[str, Any]) -> Any:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "议事厅",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = None
        return True

    async def _api_setWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = dict(params)
        return True

    def take_update(self) -> dict[str, Any]:
        """Remove the last queued update and return it: for delivering it by webhook instead."""
        return self._updates.pop()

    async def _api_setMyCommands(self, params: dict[str, Any]) -> Any:
        return True

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        return True

    async def _api_getFile(self, params: dict[str, Any]) -> Any:
        file_id = str(params["file_id"])
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_path": f"photos/{file_id}.jpg",
        }

    async def _api_getUpdates(self, params: dict[str, Any]) -> Any:
        offset = int(params.get("offset") or 0)
        if "allowed_updates" in params:
            self.allowed_updates = list(params["allowed_updates"])
        timeout = float(params.get("timeout") or 0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        await self._notify()
        if not self._updates and timeout > 0 and not self._closing:
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await self._changed.wait_for(lambda: bool(self._updates) or self._closing)
        limit = int(params.get("limit") or 100)
        return self._updates[:limit]

    def _bot_message(self, params: dict[str, Any], **content: Any) -> dict[str, Any] | web.Response:
        chat_id = str(params["chat_id"])
        if chat_id in self.missing_chats:
            return _error(400, "Bad Request: chat not found")
        if chat_id in self.blocked:
            return _error(403, "Forbidden: bot was blocked by the user")
        if chat_id in self.never_started:
            return _error(403, "Forbidden: bot can't initiate conversation with a user")
        if chat_id in self.migrated:
            return _error(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self.migrated[chat_id]},
            )
        reply = params.get("reply_parameters")
        message_id = next(self._message_ids)
        chat_type = "private" if not chat_id.startswith("-") else "supergroup"
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": int(chat_id), "type": chat_type, "title": "群"}
            if chat_type != "private"
            else {"id": int(chat_id), "type": "private", "first_name": "u"},
            "from": {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "议事厅",
                "username": BOT_USERNAME,
            },
            **content,
        }
        if reply:
            original = self._messages.get((chat_id, int(reply["message_id"])))
            if original is None and not reply.get("allow_sending_without_reply"):
                return _error(400, "Bad Request: message to be replied not found")
            if original is not None:
                message["reply_to_message"] = original
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        if params.get("message_thread_id"):  # a forum topic: the message stays in it
            message["message_thread_id"] = int(params["message_thread_id"])
            message["is_topic_message"] = True
            message["chat"]["is_forum"] = True
        self._messages[(chat_id, message_id)] = message
        return message

    def _check_html(self, text: str, params: dict[str, Any]) -> str | web.Response:
        if params.get("parse_mode") == "HTML":
            if re.search(r"<(?!/?\w)", text) or re.search(r"<", ALLOWED_TAGS.sub("", text)):
                return _error(400, "Bad Request: can't parse entities: unsupported start tag")
            return html.unescape(text)
        return text

    async def _api_sendMessage(self, params: dict[str, Any]) -> Any:
        plain = self._check_html(str(params.get("text", "")), params)
        if isinstance(plain, web.Response):
            return plain
        if not plain.strip():
            return _error(400, "Bad Request: message text is empty")
        if len(plain.encode("utf-16-le")) // 2 > MAX_TEXT:
            return _error(400, "Bad Request: message is too long")
        return self._bot_message(params, text=plain)

    async def _api_sendPhoto(self, params: dict[str, Any]) -> Any:
        photo = params.get("photo")
        file_id = f"sent-{next(self._message_ids)}" if isinstance(photo, dict) else str(photo)
        content: dict[str, Any] = {
            "photo": [
                {"file_id": file_id, "file_unique_id": f"u{file_id}", "width": 1, "height": 1}
            ]
        }
        return self._captioned(params, content)

    async def _api_sendVoice(self, params: dict[str, Any]) -> Any:
        return self._media_message(params, "voice", {"duration": 1})

    async def _api_sendDocument(self, params: dict[str, Any]) -> Any:
        return self._media_message(params, "document", {})

    def _media_message(self, params: dict[str, Any], key: str, extra: dict[str, Any]) -> Any:
        """A voice message or document sent by file id (what the bot forwards)."""
        media = params.get(key)
        file_id = f"sent-{next(self._message_ids)}" if isinstance(media, dict) else str(media)
        content: dict[str, Any] = {key: {"file_id": file_id, "file_unique_id": f"u{file_id}"}}
        content[key].update(extra)
        return self._captioned(params, content)

    def _captioned(self, params: dict[str, Any], content: dict[str, Any]) -> Any:
        if params.get("caption"):
            caption = self._check_html(str(params["caption"]), params)
            if isinstance(caption, web.Response):
                return caption
            content["caption"] = caption
        return self._bot_message(params, **content)

    async def _api_editMessageText(self, params: dict[str, Any]) -> Any:
        key = (str(params["chat_id"]), int(params["message_id"]))
        if key not in self._messages:
            return _error(400, "Bad Request: message to edit not found")
        plain = self._check_html(str(params.get("text", "")), params)
        if isinstance(plain, web.Response):
            return plain
        self._messages[key] = {**self._messages[key], "text": plain, "edit_date": int(time.time())}
        return self._messages[key]


def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


def _entities(text: str) -> list[dict[str, Any]]:
    """bot_command and mention entities with UTF-16 offsets, as Telegram computes them."""

    def units(s: str) -> int:
        return len(s.encode("utf-16-le")) // 2

    found = []
    for match in re.finditer(r"(?<!\S)/\w+(?:@\w+)?|@\w{5,32}", text):
        kind = "bot_command" if match.group().startswith("/") else "mention"
        if kind == "bot_command" and match.start() != 0:
            continue
        found.append(
            {
                "type": kind,
                "offset": units(text[: match.start()]),
                "length": units(match.group()),
            }
        )
    return found
