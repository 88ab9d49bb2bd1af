"""The Telegram channel: Bot API long polling in, sendMessage/sendPhoto with inline keyboards out.

Translation only: a Telegram `Update` becomes an `Incoming`, an `Outgoing` becomes one or more
Bot API calls. Flood control (RetryAfter), splitting at Telegram's 4,096-character limit and
the 64-byte limit of callback data are handled here; everything else is the core's business.

Long button actions: Telegram accepts at most 64 bytes of `callback_data`. A longer
`Button.action` is replaced by a short token (``~`` + 16 hex digits of its hash) and the
token -> action map is kept **in memory only** (bounded, most recent 10,000). After a restart a
button with such a token on an old message delivers the token itself as the action, which the
core treats as an unknown action. Keep actions under 64 bytes where that matters.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import html
import importlib.util
import json
import logging
import os
import re
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from telegram import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    CallbackQuery,
    ChatMember,
    ChatMemberUpdated,
    Document,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    MessageReactionUpdated,
    PhotoSize,
    ReactionTypeEmoji,
    ReplyParameters,
    Update,
    User,
    Voice,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes, TypeHandler
from telegram.warnings import PTBDeprecationWarning

from bot.models import (
    MAX_MEDIA_BYTES,
    Address,
    Button,
    ChatKind,
    Incoming,
    Outgoing,
    Person,
    geo_ref,
    media_kind,
)
from channels.base import ChannelError, Deliver, SentRef
from channels.media import read_local_file
from channels.redaction import redact
from channels.splitting import split_lines

log = logging.getLogger(__name__)

_ADDRESSED = re.compile(r"^(\s*[/!！]\S+?)@(\w+)")

NAME = "telegram"
SERVICE_USER_ID = 777000  # Telegram's own account: forwards from a group's linked channel
ANONYMOUS_ADMIN = "群管理员"  # how a group's anonymous admin is named (Telegram hides who)
MAX_TEXT = 4096  # sendMessage: characters after entity parsing (counted here in UTF-16 units)
MAX_CAPTION = 1024
MAX_CALLBACK_BYTES = 64
TOKEN_MAP_SIZE = 10_000
RATED_MEMORY = 10_000  # the bot's messages with 👍/👎 buttons a reaction can rate
RATINGS = {"👍": "rate:up:", "👎": "rate:down:"}
SEND_MEDIA = {  # media kind -> (Bot method, its parameter)
    "photo": ("send_photo", "photo"),
    "voice": ("send_voice", "voice"),
    "file": ("send_document", "document"),
}
ALLOWED_UPDATES = [
    "message",
    "edited_message",
    "callback_query",
    "my_chat_member",  # the bot blocked, unblocked, added to or removed from a chat
    "message_reaction",  # 👍/👎 on the bot's answers (groups: only where the bot is admin)
]
# What a 403 says about the chat: the bot cannot write there until the chat writes first.
UNREACHABLE = (
    ("blocked by the user", "blocked"),
    ("user is deactivated", "blocked"),
    ("can't initiate conversation", "never_started"),
    ("kicked from the", "left"),
    ("not a member", "left"),
    ("chat not found", "not_found"),  # a wrong id, or a person who never started the bot
)
# PTB 22.2+ warns whenever RetryAfter.retry_after is read as an int (even inside PTB's own
# constructor); `_seconds` accepts both the int of PTB 22 and the timedelta of PTB 23.
warnings.filterwarnings(
    "ignore", message=".*`retry_after` will be of type", category=PTBDeprecationWarning
)

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


class TelegramSettings(BaseModel):
    """The adapter's own settings; the token comes from the environment, never from a file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    token: SecretStr
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    poll_timeout: float = Field(default=30, ge=0)  # getUpdates long-poll seconds
    drop_pending_updates: bool = False
    max_retry_after: float = Field(default=5, ge=0)  # honour a RetryAfter this short once
    rate_limit: bool = True  # use PTB's AIORateLimiter when its extra (aiolimiter) is installed
    staff_chats: tuple[str, ...] = ()  # chat ids that get the staff command menu
    mode: Literal["polling", "webhook"] = "polling"
    listen: str = "127.0.0.1"
    port: int = Field(default=8443, ge=1, le=65535)
    url_path: str = ""
    webhook_url: str | None = None
    secret_token: SecretStr | None = None

    @model_validator(mode="after")
    def _check(self) -> TelegramSettings:
        if not re.fullmatch(r"\d+:[A-Za-z0-9_-]+", self.token.get_secret_value()):
            raise ValueError("token does not look like a bot token ('123456:ABC-...')")
        if self.mode == "webhook":
            if not self.webhook_url or not self.webhook_url.startswith("https://"):
                raise ValueError("webhook mode needs webhook_url starting with https://")
            secret = self.secret_token.get_secret_value() if self.secret_token else ""
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
                raise ValueError("webhook mode needs secret_token of 1-256 of A-Z a-z 0-9 _ -")
        return self


class LongCallbacks:
    """Button actions longer than Telegram's 64 bytes of callback data, behind short tokens.

    Kept in memory (the latest TOKEN_MAP_SIZE) and, given a file, appended to it (one
    `token<TAB>action` line each, fsynced before the button is sent) so that a button pressed
    after a restart still works; the file is rewritten without old entries now and then.
    """

    def __init__(self, path: Path | None, limit: int = TOKEN_MAP_SIZE) -> None:
        self.path = path
        self.limit = limit
        self._map: OrderedDict[str, str] = OrderedDict()
        self._lines = 0
        if path is not None:
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return
        except (OSError, UnicodeDecodeError) as exc:
            log.warning(
                "telegram: cannot read %s (%s); older long buttons will not work", path, exc
            )
            return
        for line in lines:
            token, _, raw = line.partition("\t")
            try:
                action = json.loads(raw)
            except ValueError:
                continue  # a line torn by a crash: its button was never sent
            if isinstance(action, str):
                self._remember(token, action)
        self._lines = len(lines)

    def get(self, token: str) -> str | None:
        return self._map.get(token)

    def token_for(self, action: str) -> str:
        token = "~" + hashlib.sha256(action.encode()).hexdigest()[:16]
        known = token in self._map
        self._remember(token, action)
        if not known and self.path is not None:
            self._append(token, action)
        return token

    def _remember(self, token: str, action: str) -> None:
        self._map[token] = action
        self._map.move_to_end(token)
        while len(self._map) > self.limit:
            self._map.popitem(last=False)

    def _append(self, token: str, action: str) -> None:
        assert self.path is not None
        try:
            if self._lines >= 2 * self.limit:
                self._rewrite(self.path)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(f"{token}\t{json.dumps(action, ensure_ascii=False)}\n")
                fh.flush()
                os.fsync(fh.fileno())
            self._lines += 1
        except OSError as exc:  # a full disk: the button works until the bot restarts
            log.warning("telegram: could not keep a long button in %s: %s", self.path, exc)

    def _rewrite(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            for token, action in self._map.items():
                fh.write(f"{token}\t{json.dumps(action, ensure_ascii=False)}\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        self._lines = len(self._map)


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split at line boundaries into chunks of at most `limit` UTF-16 units (hard-cut long lines)."""
    return split_lines(text, limit, _utf16_len)


def _seconds(value: int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _chat_id(address: Address) -> int | str:
    raw = address.chat_id
    return int(raw) if re.fullmatch(r"-?\d+", raw) else raw


class TelegramChannel:
    """A Channel over the Telegram Bot API (python-telegram-bot 22, long polling)."""

    name = NAME
    private_needs_start = True  # a bot cannot write to someone who never started it

    def __init__(self, settings: TelegramSettings, callbacks: Path | None = None) -> None:
        self.settings = settings
        self._app: AnyApplication | None = None
        self._deliver: Deliver | None = None
        self._bot_id: int | None = None
        self.username: str = ""  # from getMe at start
        self._tokens = LongCallbacks(callbacks)  # in the data folder: buttons survive restarts
        # Button presses being handled: (chat, message) -> query id, answered (a toast, or
        # nothing) once the core has answered the press.
        self._queries: dict[tuple[str, str], str] = {}
        # The rating actions of the bot's recent answers, for 👍/👎 reactions on them
        # (in memory: after a restart a reaction on an older answer is not counted).
        self._rated: OrderedDict[tuple[str, str], tuple[str, ...]] = OrderedDict()
        self._stopped = True
        token = settings.token.get_secret_value()
        redact(token, "<token>")  # PTB and httpx log API URLs
        redact(token.partition(":")[2], "<token>")  # its secret half alone, too
        if settings.secret_token is not None:
            redact(settings.secret_token.get_secret_value())

    # ---- lifecycle -------------------------------------------------------------------------

    def _build(self) -> AnyApplication:
        s = self.settings
        builder = (
            ApplicationBuilder()
            .token(s.token.get_secret_value())
            .base_url(s.base_url)
            .base_file_url(s.base_file_url)
        )
        if s.rate_limit and importlib.util.find_spec("aiolimiter") is not None:
            # Throttles to Telegram's published limits; RetryAfter is handled in `send`.
            cast(Any, builder).rate_limiter(AIORateLimiter(max_retries=0))
        app: AnyApplication = builder.build()
        app.add_handler(TypeHandler(Update, self._on_update))
        app.add_error_handler(self._on_error)
        return app

    async def check(self) -> str:
        """Reach the Bot API once (getMe) for `yishiting doctor`; names the bot or raises."""
        app = self._build()
        try:
            await app.bot.initialize()
            return f"@{app.bot.username} (id {app.bot.id})"
        except TelegramError as exc:
            raise self._error(exc) from exc
        finally:
            with contextlib.suppress(TelegramError):
                await app.bot.shutdown()

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver
        app = self._build()
        self._app = app
        self._stopped = False
        try:
            await app.initialize()  # getMe
            self._bot_id = app.bot.id
            self.username = app.bot.username or ""
            await app.start()
            updater = app.updater
            assert updater is not None
            allowed = ALLOWED_UPDATES
            if self.settings.mode == "webhook":
                secret = self.settings.secret_token
                await updater.start_webhook(
                    listen=self.settings.listen,
                    port=self.settings.port,
                    url_path=self.settings.url_path,
                    webhook_url=self.settings.webhook_url,
                    secret_token=secret.get_secret_value() if secret else None,
                    allowed_updates=allowed,
                    drop_pending_updates=self.settings.drop_pending_updates,
                )
            else:
                await updater.start_polling(
                    timeout=timedelta(seconds=self.settings.poll_timeout),
                    allowed_updates=allowed,
                    drop_pending_updates=self.settings.drop_pending_updates,
                    error_callback=self._on_poll_error,
                )
        except TelegramError as exc:
            await self.stop()
            raise ChannelError(f"telegram: cannot start: {exc}", retryable=True) from exc
        log.info("telegram: @%s is %s", self.username, self.settings.mode)

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        app = self._app
        if app is None:
            return
        with contextlib.suppress(Exception):
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
        with contextlib.suppress(Exception):
            if app.running:
                await app.stop()
        with contextlib.suppress(Exception):
            await app.shutdown()
        self._deliver = None

    def _on_poll_error(self, exc: TelegramError) -> None:
        log.warning("telegram: getUpdates failed: %s", exc)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram: handling an update failed", exc_info=context.error)

    async def set_commands(
        self,
        resident: Sequence[tuple[str, str]],
        staff: Sequence[tuple[str, str]] = (),
        language: str | None = None,
    ) -> None:
        """The command menu: resident commands everywhere, plus staff ones in `staff_chats`.

        `language` is a two-letter code for users whose client is in that language (None: the
        menu everybody else sees). Telegram command names are 1-32 of a-z 0-9 _; other names
        (Chinese aliases) are skipped.
        """
        bot = self._require_app().bot

        def valid(items: Sequence[tuple[str, str]]) -> list[BotCommand]:
            return [
                BotCommand(name, desc[:256] or name)
                for name, desc in items
                if re.fullmatch(r"[a-z0-9_]{1,32}", name)
            ]

        try:
            await bot.set_my_commands(
                valid(resident), scope=BotCommandScopeDefault(), language_code=language
            )
            for chat in self.settings.staff_chats:
                scope = BotCommandScopeChat(_chat_id(Address(NAME, chat)))
                await bot.set_my_commands(
                    valid([*resident, *staff]), scope=scope, language_code=language
                )
        except TelegramError as exc:
            raise self._error(exc) from exc

    # ---- in --------------------------------------------------------------------------------

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        deliver = self._deliver
        if deliver is None:
            return
        if update.callback_query is not None:
            await self._on_callback(update.callback_query, deliver)
            return
        if update.my_chat_member is not None:
            incoming = self._from_member(update.my_chat_member, update.update_id)
        elif update.message_reaction is not None:
            incoming = self._from_reaction(update.message_reaction)
        elif update.edited_message is not None:
            incoming = self._from_message(update.edited_message, edited=True)
        else:
            incoming = self._from_message(update.message)
        if incoming is not None:
            await deliver(incoming)

    async def _on_callback(self, query: CallbackQuery, deliver: Deliver) -> None:
        """A press is answered once: by the core's toast if it gives one, else plainly."""
        incoming = self._from_callback(query)
        key = (str(query.message.chat.id), str(query.message.message_id)) if query.message else None
        if key is not None:
            self._queries[key] = query.id
        try:
            if incoming is not None:
                await deliver(incoming)
        finally:
            if key is not None and self._queries.pop(key, None) is not None:
                with contextlib.suppress(TelegramError):
                    await query.answer()

    def _from_member(self, change: ChatMemberUpdated, update_id: int) -> Incoming | None:
        """The bot's own membership changed: blocked/unblocked in private, out of or into a
        group. Reaches the core as news about the chat."""
        status = change.new_chat_member.status
        private = change.chat.type == ChatType.PRIVATE
        if status in (ChatMember.BANNED, ChatMember.LEFT):
            event = "blocked" if private else "left"
        elif status in (ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER):
            event = "started" if private else "joined"
        else:
            return None  # restricted: it may still write, or not; the next send tells
        return Incoming(
            chat=Address(NAME, str(change.chat.id)),
            sender=self._person(change.from_user),
            chat_kind=ChatKind.PRIVATE if private else ChatKind.GROUP,
            message_id=f"member{update_id}",
            chat_title=change.chat.title or "",
            chat_event=event,
        )

    def _from_reaction(self, reaction: MessageReactionUpdated) -> Incoming | None:
        """👍/👎 put on one of the bot's answers rates it, like its buttons."""
        user = reaction.user
        actions = self._rated.get((str(reaction.chat.id), str(reaction.message_id)))
        if user is None or user.is_bot or actions is None:
            return None
        old = {r.emoji for r in reaction.old_reaction if isinstance(r, ReactionTypeEmoji)}
        added = [
            r.emoji
            for r in reaction.new_reaction
            if isinstance(r, ReactionTypeEmoji) and r.emoji not in old and r.emoji in RATINGS
        ]
        if not added:
            return None
        prefix = RATINGS[added[-1]]
        action = next((a for a in actions if a.startswith(prefix)), None)
        if action is None:
            return None
        chat = reaction.chat
        return Incoming(
            chat=Address(NAME, str(chat.id)),
            sender=self._person(user),
            chat_kind=ChatKind.PRIVATE if chat.type == ChatType.PRIVATE else ChatKind.GROUP,
            message_id=f"react{reaction.message_id}.{user.id}.{prefix}",
            chat_title=chat.title or "",
            reply_to_message_id=str(reaction.message_id),
            action=action,
        )

    def _person(self, user: User) -> Person:
        return Person(NAME, str(user.id), user.full_name, user.language_code)

    def _sender(self, message: Message) -> Person | None:
        """Who speaks: a person; a group's anonymous admin (`sender_chat` is the group itself,
        as the person `telegram:<group id>`, named 群管理员: list that key under roles to let
        a staff room's anonymous admins act as staff); a channel a member posts as; no bot."""
        chat = message.sender_chat
        if chat is not None and chat.id == message.chat.id:
            return Person(NAME, str(chat.id), ANONYMOUS_ADMIN)
        if chat is not None:
            return Person(NAME, str(chat.id), chat.title or chat.username or str(chat.id))
        user = message.from_user
        if user is None or user.is_bot:
            return None
        return self._person(user)

    def _address(self, message: Message) -> Address:
        thread = (
            str(message.message_thread_id)
            if message.is_topic_message and message.message_thread_id
            else None
        )
        return Address(NAME, str(message.chat.id), thread)

    @staticmethod
    def _kind(message: Message) -> ChatKind:
        return ChatKind.PRIVATE if message.chat.type == ChatType.PRIVATE else ChatKind.GROUP

    def _moved(self, message: Message) -> Incoming | None:
        """A group that became a supergroup: news of its new id (in the old chat and the new)."""
        if message.migrate_to_chat_id:
            old, new = message.chat.id, message.migrate_to_chat_id
        elif message.migrate_from_chat_id:
            old, new = message.migrate_from_chat_id, message.chat.id
        else:
            return None
        return Incoming(
            chat=Address(NAME, str(old)),
            sender=Person(NAME, str(old)),
            chat_kind=ChatKind.GROUP,
            message_id=f"moved{old}",
            chat_event="moved",
            moved_to=str(new),
        )

    def _from_message(self, message: Message | None, *, edited: bool = False) -> Incoming | None:
        if message is not None and (moved := self._moved(message)) is not None:
            return moved
        if message is None or message.from_user is None:
            return None
        if message.is_automatic_forward or message.from_user.id == SERVICE_USER_ID:
            return None  # a linked channel's post copied into the group: a notice, not a question
        sender = self._sender(message)
        if sender is None:
            return None
        text = message.text or message.caption or ""
        photos = _media(message)
        kind = "too_big" if photos is None else _unsupported(message)
        if photos is None or (not text and not photos and kind is not None):
            return Incoming(
                chat=self._address(message),
                sender=sender,
                chat_kind=self._kind(message),
                message_id=str(message.message_id),
                chat_title=message.chat.title or "",
                unsupported=kind,
            )
        if not text and not photos:
            return None  # joins, stickers, service messages …
        if self._addressed_elsewhere(text):
            return None
        text = self._without_my_name(text)
        reply = message.reply_to_message
        return Incoming(
            chat=self._address(message),
            sender=sender,
            chat_kind=self._kind(message),
            text=text,
            # An edit keeps the message's id: its own id says which edit (each is handled once).
            message_id=(
                f"{message.message_id}.edit{message.edit_date.timestamp():.0f}"
                if edited and message.edit_date is not None
                else str(message.message_id)
            ),
            edit_of=str(message.message_id) if edited else None,
            chat_title=message.chat.title or "",
            mentions_bot=self._mentions_me(message, text),
            reply_to_bot=bool(reply and reply.from_user and reply.from_user.id == self._bot_id),
            reply_to_message_id=str(reply.message_id) if reply else None,
            attachments=photos,
        )

    def _addressed_elsewhere(self, text: str) -> bool:
        """`/cmd@otherbot`, `!cmd@otherbot`, ` /cmd@otherbot`: for another bot in the group."""
        match = _ADDRESSED.match(text)
        return bool(match and self.username and match.group(2).lower() != self.username.lower())

    def _without_my_name(self, text: str) -> str:
        """`/help@thisbot args` reaches the core as `/help args` (any other @name is not ours)."""
        match = _ADDRESSED.match(text)
        if match and self.username and match.group(2).lower() == self.username.lower():
            return match.group(1) + text[match.end() :]
        return text

    def _mentions_me(self, message: Message, text: str) -> bool:
        me = f"@{self.username}".lower()
        # The whole username: @yishiting_bot_fans is another account, not this bot.
        if self.username and re.search(rf"{re.escape(me)}(?!\w)", text.lower()):
            return True
        entities = message.parse_entities() if message.text else message.parse_caption_entities()
        for entity, value in entities.items():
            if entity.type == MessageEntity.MENTION and value.lower() == me:
                return True
            if (
                entity.type == MessageEntity.TEXT_MENTION
                and entity.user is not None
                and entity.user.id == self._bot_id
            ):
                return True
        return False

    def _from_callback(self, query: CallbackQuery) -> Incoming | None:
        message = query.message
        if query.data is None or query.from_user.is_bot or not isinstance(message, Message):
            return None
        action = self._tokens.get(query.data) or query.data
        return Incoming(
            chat=self._address(message),
            sender=self._person(query.from_user),
            chat_kind=self._kind(message),
            message_id=f"cb{query.id}",  # each press is its own event
            chat_title=message.chat.title or "",
            reply_to_message_id=str(message.message_id),
            action=action,
        )

    # ---- out -------------------------------------------------------------------------------

    def _callback_data(self, action: str) -> str:
        if len(action.encode()) <= MAX_CALLBACK_BYTES and not action.startswith("~"):
            return action
        return self._tokens.token_for(action)

    def _keyboard(self, out: Outgoing) -> InlineKeyboardMarkup | None:
        if not out.buttons:
            return None
        return InlineKeyboardMarkup([[self._button(b)] for b in out.buttons])

    def _button(self, button: Button) -> InlineKeyboardButton:
        if button.link:  # opens the private chat with the bot: /start <action>
            url = f"https://t.me/{self.username}?start={button.action}"
            return InlineKeyboardButton(button.label, url=url)
        return InlineKeyboardButton(button.label, callback_data=self._callback_data(button.action))

    async def _toast(self, out: Outgoing) -> SentRef | None:
        """The answer to a press shown to the presser alone; in a group never posted."""
        key = (out.to.chat_id, out.reply_to_message_id or "")
        query = self._queries.pop(key, None)
        if query is not None:
            try:
                await self._require_app().bot.answer_callback_query(query, text=out.text[:200])
            except TelegramError as exc:
                raise self._error(exc) from exc
            return SentRef(NAME, out.to.chat_id, "")
        if not out.to.chat_id.startswith("-"):
            return None  # a private chat: an ordinary message (a reaction was rated)
        return SentRef(NAME, out.to.chat_id, "")  # a reaction in a group: no answer at all

    def _remember_rating(self, out: Outgoing, sent: Message) -> None:
        actions = tuple(b.action for b in out.buttons if b.action.startswith(("rate:",)))
        if actions:
            self._rated[(str(sent.chat_id), str(sent.message_id))] = actions
            while len(self._rated) > RATED_MEMORY:
                self._rated.popitem(last=False)

    def _require_app(self) -> AnyApplication:
        if self._app is None or self._stopped:
            raise ChannelError("telegram channel is not running", retryable=True)
        return self._app

    async def send(self, out: Outgoing) -> SentRef:
        if out.toast and (toasted := await self._toast(out)) is not None:
            return toasted
        app = self._require_app()
        bot = app.bot
        chat: int | str = _chat_id(out.to)
        common: dict[str, Any] = {}
        if out.notice:  # the bot's answers in a group: the neighbours' phones stay silent
            common["disable_notification"] = True
        if out.to.thread is not None and out.to.thread.isdigit():
            common["message_thread_id"] = int(out.to.thread)
        reply = (
            ReplyParameters(int(out.reply_to_message_id), allow_sending_without_reply=True)
            if out.reply_to_message_id and out.reply_to_message_id.isdigit()
            else None
        )
        keyboard = self._keyboard(out)
        last: Message | None = None
        text = out.text
        photos: list[tuple[str, bytes | PhotoSize | Voice | Document | str]] = [
            ("photo", read_local_file(path)) for path in out.files
        ]
        photos += [_outgoing_media(ref) for ref in out.attachments if "://" not in ref]
        photos = [(kind, media) for kind, media in photos if kind != "geo"]  # in the text
        caption_fits = len(photos) == 1 and _utf16_len(text) <= MAX_CAPTION
        for i, (kind, photo) in enumerate(photos):
            with_caption = caption_fits and i == 0
            method, field = SEND_MEDIA[kind]
            last = await self._call(
                getattr(bot, method),
                chat_id=chat,
                caption=html.escape(text, quote=False) if with_caption and text else None,
                parse_mode=ParseMode.HTML if with_caption and text else None,
                reply_markup=keyboard if with_caption else None,
                reply_parameters=reply if i == 0 else None,
                **{field: photo},
                **common,
            )
            chat = last.chat_id
        if not caption_fits and (text or not photos or keyboard is not None):
            chunks = split_text(text) if text else [""]
            for i, chunk in enumerate(chunks):
                last = await self._call(
                    bot.send_message,
                    chat_id=chat,
                    text=html.escape(chunk, quote=False) or "…",
                    parse_mode=ParseMode.HTML,
                    reply_markup=keyboard if i == len(chunks) - 1 else None,
                    reply_parameters=reply if i == 0 and not photos else None,
                    **common,
                )
                chat = last.chat_id
        assert last is not None
        self._remember_rating(out, last)
        moved = str(out.to.chat_id) if str(last.chat_id) != str(_chat_id(out.to)) else None
        return SentRef(NAME, str(last.chat_id), str(last.message_id), moved_from=moved)

    async def _call(self, method: Any, **kwargs: Any) -> Message:
        """One Bot API call: a short RetryAfter is waited out once; errors become ChannelError."""
        for attempt in (1, 2):
            try:
                result: Message = await method(**kwargs)
                return result
            except RetryAfter as exc:
                wait = _seconds(exc.retry_after)
                if attempt == 1 and wait <= self.settings.max_retry_after:
                    log.info("telegram: flood control, waiting %.1f s", wait)
                    await asyncio.sleep(wait)
                    continue
                raise self._error(exc) from exc
            except ChatMigrated as exc:
                if attempt == 1:  # a group became a supergroup: follow it once
                    kwargs["chat_id"] = exc.new_chat_id
                    continue
                raise self._error(exc) from exc
            except TelegramError as exc:
                raise self._error(exc) from exc
        raise AssertionError("unreachable")

    @staticmethod
    def _error(exc: TelegramError) -> ChannelError:
        if isinstance(exc, Forbidden | BadRequest):
            said = exc.message.lower()
            reason = next((r for text, r in UNREACHABLE if text in said), None)
            if reason is not None:
                return ChannelError(f"telegram: {exc.message}", retryable=False, unreachable=reason)
        if isinstance(exc, BadRequest | Forbidden | InvalidToken):  # BadRequest is a NetworkError
            return ChannelError(f"telegram: {exc.message}", retryable=False)
        if isinstance(exc, RetryAfter | TimedOut | NetworkError):
            return ChannelError(f"telegram: {exc.message}", retryable=True)
        return ChannelError(f"telegram: {exc.message}", retryable=False)


def _file_id(ref: str) -> PhotoSize:
    """A Telegram file id as PTB's media object: PTB would open a plain string that happens to
    name a local file and upload it, so a resident's reference is never passed as text."""
    return PhotoSize(file_id=ref, file_unique_id=ref, width=0, height=0)


def _outgoing_media(ref: str) -> tuple[str, PhotoSize | Voice | Document | str]:
    """A resident's media reference as what PTB sends by file id (never a path it opens)."""
    kind, raw = media_kind(ref)
    if kind == "voice":
        return kind, Voice(file_id=raw, file_unique_id=raw, duration=0)
    if kind == "file":
        return kind, Document(file_id=raw, file_unique_id=raw)
    if kind == "geo":
        return kind, raw
    return kind, _file_id(raw)


def _media(message: Message) -> tuple[str, ...] | None:
    """The photo, voice message, file or map location of a message as references (see
    bot.models.media_kind); None when a voice message or file is over MAX_MEDIA_BYTES."""
    if message.photo:
        return (max(message.photo, key=lambda p: p.width * p.height).file_id,)
    audio = message.voice or message.audio
    if audio is not None:
        return None if (audio.file_size or 0) > MAX_MEDIA_BYTES else (f"voice:{audio.file_id}",)
    if message.document is not None:  # an image sent as a file, a PDF …
        document = message.document
        return (
            None if (document.file_size or 0) > MAX_MEDIA_BYTES else (f"file:{document.file_id}",)
        )
    place = message.location or (message.venue.location if message.venue else None)
    if place is not None:
        return (geo_ref(place.latitude, place.longitude),)
    return ()


def _unsupported(message: Message) -> str | None:
    """What a message holds that the bot cannot take, or None."""
    if message.sticker:
        return "sticker"
    if message.video or message.video_note:
        return "video"
    if message.contact:
        return "contact"
    return None
