"""The Telegram adapter: real python-telegram-bot over HTTP to a Bot API stand-in, real core."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import App
from bot.config import RolesConfig, Settings, StaffRoom
from bot.desk.repo import TicketRepo
from bot.desk.updates import StaffUpdates
from bot.faq.meaning import ModelStatus
from bot.faq.text import TextAnalyzer
from bot.models import Address, Button, Outgoing
from channels.base import ChannelError
from channels.telegram import TelegramChannel, TelegramSettings, split_text
from tests.fakes import FakeClock
from tests.harness import start_bot
from tests.tg_standin import BOT_USERNAME, TOKEN, Call, StandIn

RESIDENT = 1001  # a private chat's id is the user's id
NEIGHBOUR = 1002
STAFF = 777
GROUP = -100500
STAFF_ROOM = -1009

# PTB 22.2+ warns inside RetryAfter's own constructor; the adapter handles int and timedelta.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Deprecated since version v22.2:telegram.warnings.PTBDeprecationWarning"
)


@pytest.fixture
async def standin() -> AsyncIterator[StandIn]:
    server = StandIn()
    await server.start()
    yield server
    await server.close()


def channel_for(standin: StandIn, **overrides: object) -> TelegramChannel:
    fields: dict[str, object] = {
        "token": TOKEN,
        "base_url": standin.base_url,
        "base_file_url": standin.base_file_url,
        "poll_timeout": 1,
        "max_retry_after": 2,
        "staff_chats": (str(STAFF_ROOM),),
    }
    fields.update(overrides)
    return TelegramChannel(TelegramSettings.model_validate(fields))


@dataclass
class Harness:
    app: App
    channel: TelegramChannel
    tg: StandIn

    async def reply_to(self, chat_id: int, after: int) -> Call:
        """The first sendMessage/sendPhoto to `chat_id` after the first `after` calls."""
        async with asyncio.timeout(5):
            while True:
                for call in self.tg.sent[after:]:
                    if call.method in {"sendMessage", "sendPhoto"} and str(
                        call.params["chat_id"]
                    ) == str(chat_id):
                        return call
                await self.tg.wait_for("sendMessage", len(self.tg.calls("sendMessage")) + 1)


@pytest.fixture
async def harness(
    standin: StandIn,
    make_settings: Callable[..., Settings],
    analyzer: TextAnalyzer,
    sentence_model: ModelStatus,
    clock: FakeClock,
) -> AsyncIterator[Harness]:
    settings = make_settings(
        roles=RolesConfig(staff=(f"telegram:{STAFF}",), trusted_role_channels=()),
        staff_rooms=(StaffRoom(chat=f"telegram:{STAFF_ROOM}"),),
    )
    channel = channel_for(standin)
    bot = await start_bot(settings, clock, analyzer, sentence_model, channels=[channel])
    try:
        yield Harness(bot.app, channel, standin)
    finally:
        await bot.stop()
        await channel.stop()  # idempotent


def markup(call: Call) -> list[str]:
    keyboard = call.params.get("reply_markup") or {"inline_keyboard": []}
    return [row[0].get("callback_data") or row[0]["url"] for row in keyboard["inline_keyboard"]]


async def test_private_question_gets_the_answer_with_rating_buttons(harness: Harness) -> None:
    tg = harness.tg
    assert harness.channel.username == BOT_USERNAME
    asked = tg.push_message(RESIDENT, RESIDENT, "医保怎么在网上交费")
    answer = await harness.reply_to(RESIDENT, 0)
    assert answer.params["parse_mode"] == "HTML"
    assert answer.params["reply_parameters"]["message_id"] == asked
    assert markup(answer)[:2] == [
        "rate:up:medical-insurance-online-payment",
        "rate:down:medical-insurance-online-payment",
    ]

    before = len(tg.sent)
    query = tg.push_callback(markup(answer)[0], answer.result["message_id"], RESIDENT, RESIDENT)
    (answered, *_) = await tg.wait_for("answerCallbackQuery")
    assert answered.params["callback_query_id"] == query
    ack = await harness.reply_to(RESIDENT, before)
    assert ack.params["text"]  # the core's thanks for the rating


async def test_group_etiquette_and_commands_addressed_to_the_bot(harness: Harness) -> None:
    tg = harness.tg
    tg.push_message(GROUP, RESIDENT, "大家早上好", chat_type="group")
    tg.push_message(GROUP, RESIDENT, "/help@some_other_bot", chat_type="group")
    tg.push_message(GROUP, RESIDENT, "!report@some_other_bot 西边墙倒了", chat_type="group")
    tg.push_message(GROUP, RESIDENT, " /report@some_other_bot 西边墙倒了", chat_type="group")
    tg.push_message(GROUP, RESIDENT, f"/help@{BOT_USERNAME}", chat_type="group")
    help_reply = await harness.reply_to(GROUP, 0)
    # Updates are handled in order: the chit-chat and the other bot's commands came first.
    assert len([c for c in tg.calls("sendMessage") if c.params["chat_id"] == str(GROUP)]) == 1
    assert "/report" in help_reply.params["text"]

    # An unsure match: silence when not addressed, suggestions when the bot is @mentioned.
    before = len(tg.sent)
    tg.push_message(GROUP, NEIGHBOUR, "明天社区有什么活动安排吗", chat_type="group")
    tg.push_message(
        GROUP, NEIGHBOUR, f"@{BOT_USERNAME} 明天社区有什么活动安排吗", chat_type="group"
    )
    suggestions = await harness.reply_to(GROUP, before)
    assert markup(suggestions)  # the suggestion buttons
    group_calls = [c for c in tg.sent[before:] if c.params.get("chat_id") == str(GROUP)]
    assert group_calls == [suggestions]


async def test_group_report_reaches_staff_and_staff_reply_reaches_resident(
    harness: Harness,
) -> None:
    tg = harness.tg
    tg.push_message(GROUP, RESIDENT, "/report 3号楼后头的路灯黑了好几天了", chat_type="group")
    ack = await harness.reply_to(GROUP, 0)
    assert "#1001" in ack.params["text"]
    # Never started privately: the private chat is offered, not promised (issue 16, finding 8).
    assert markup(ack) == [f"https://t.me/{BOT_USERNAME}?start=t1001"]
    await tg.wait_consumed()
    before = len(tg.sent)
    tg.push_message(RESIDENT, RESIDENT, "/start t1001")
    details = await harness.reply_to(RESIDENT, before)
    assert "#1001" in details.params["text"]
    card = await harness.reply_to(STAFF_ROOM, 0)
    assert "#1001" in card.params["text"] and "路灯照明" in card.params["text"]
    assert markup(card) == ["t:claim:1001", "t:reply:1001", "t:resolve:1001"]

    # The card's id was recorded: a staff member's reply-to on it goes to the resident.
    await harness.tg.wait_consumed()
    before = len(tg.sent)
    tg.push_message(
        STAFF_ROOM,
        STAFF,
        "明天上午电工过去换灯泡",
        chat_type="group",
        reply_to=card.result["message_id"],
        title="工作人员群",
        name="朱",
    )
    relayed = await harness.reply_to(RESIDENT, before)
    assert relayed.params["text"] == "工作人员回复 #1001：明天上午电工过去换灯泡"
    ticket = harness.app.core.store.repo(TicketRepo).get(1001)
    assert ticket is not None and [e.via for e in ticket.history][-1] == "telegram"

    # A staff button press on the card is answered and acts on the ticket.
    before = len(tg.sent)
    tg.push_callback("t:claim:1001", card.result["message_id"], STAFF_ROOM, STAFF, name="朱")
    claimed = await harness.reply_to(STAFF_ROOM, before)
    assert "#1001" in claimed.params["text"]
    await tg.wait_for("answerCallbackQuery")  # answered once the core has answered the press


async def test_photos_in_and_bots_and_edits_ignored(harness: Harness) -> None:
    tg = harness.tg
    seen: list[tuple[str, tuple[str, ...]]] = []

    async def record(incoming: object) -> None:
        from bot.models import Incoming

        assert isinstance(incoming, Incoming)
        if incoming.edit_of is None:  # edits are the core's to judge (staff corrections)
            seen.append((incoming.text, incoming.attachments))

    harness.channel._deliver = record
    tg.push_message(RESIDENT, RESIDENT, "机器人", is_bot=True)
    tg.push_message(RESIDENT, RESIDENT, "改过的", edited=True)  # reaches the core as an edit
    tg.push_message(RESIDENT, RESIDENT, "井盖坏了", photo="pic")
    await tg.wait_consumed()
    async with asyncio.timeout(2):
        while not seen:
            await asyncio.sleep(0.01)
    assert seen[-1] == ("井盖坏了", ("pic-800",))


async def test_outgoing_is_escaped_split_and_sent_with_photos(
    harness: Harness, tmp_path: Path
) -> None:
    tg, channel = harness.tg, harness.channel
    to = Address("telegram", str(RESIDENT))
    await channel.send(Outgoing(to, "<b>3 < 5 & 路灯</b>"))
    (plain,) = tg.texts_to(RESIDENT)
    assert plain == "<b>3 < 5 & 路灯</b>"  # shown literally, not as markup
    assert tg.calls("sendMessage")[-1].params["text"] == "&lt;b&gt;3 &lt; 5 &amp; 路灯&lt;/b&gt;"

    long_text = "\n".join(f"第{i:03d}行" + "办" * 44 for i in range(100))  # 5,000 chars
    assert len(long_text) >= 4999
    buttons = (Button("👍", "rate:up:x"), Button("长", "x" * 100))
    ref = await channel.send(Outgoing(to, long_text, buttons))
    first, second = tg.calls("sendMessage")[-2:]
    assert "reply_markup" not in first.params and len(markup(second)) == 2
    assert first.params["text"] + "\n" + second.params["text"] == long_text
    assert ref.message_id == str(second.result["message_id"])
    token = markup(second)[1]
    assert len(token.encode()) <= 64 and token != "x" * 100
    assert split_text("a\n" * 3, limit=4) == ["a\na", "a"]

    picture = tmp_path / "steps.png"
    picture.write_bytes(b"\x89PNG fake image")
    await channel.send(Outgoing(to, "缴费步骤", files=(str(picture),)))
    await channel.send(Outgoing(to, "", attachments=("file-id-1",)))
    # A resident's media reference is never a path the adapter reads, whatever it looks like.
    await channel.send(Outgoing(to, "", attachments=("/proc/self/environ",)))
    local, by_id, not_read = tg.calls("sendPhoto")
    assert local.params["photo"]["size"] == len(b"\x89PNG fake image")
    assert local.params["caption"] == "缴费步骤"
    assert by_id.params["photo"] == "file-id-1"
    assert not_read.params["photo"] == "/proc/self/environ"
    with pytest.raises(ChannelError, match="not a regular file") as device:
        await channel.send(Outgoing(to, "", files=("/dev/zero",)))
    assert not device.value.retryable
    big = tmp_path / "big.png"
    big.write_bytes(b"\0" * (10 * 1024 * 1024 + 1))
    with pytest.raises(ChannelError, match="more than"):
        await channel.send(Outgoing(to, "", files=(str(big),)))


async def test_reply_to_a_vanished_message_is_still_sent(harness: Harness) -> None:
    out = Outgoing(Address("telegram", str(RESIDENT)), "你好", reply_to_message_id="99999")
    await harness.channel.send(out)
    assert harness.tg.calls("sendMessage")[-1].params["reply_parameters"] == {
        "message_id": 99999,
        "allow_sending_without_reply": True,
    }


async def test_flood_control_is_honoured_and_the_answer_arrives(harness: Harness) -> None:
    tg = harness.tg
    tg.fail_next("sendMessage", status=429, retry_after=1)
    started = time.monotonic()
    tg.push_message(RESIDENT, RESIDENT, "医保怎么在网上交费")
    (refused, delivered) = await tg.wait_for("sendMessage", 2)
    assert refused.result is None and delivered.result is not None
    assert time.monotonic() - started >= 1.0


async def test_errors_map_to_channel_errors(harness: Harness) -> None:
    tg, channel = harness.tg, harness.channel
    to = Address("telegram", str(RESIDENT))
    tg.fail_next("sendMessage", status=502)
    with pytest.raises(ChannelError) as network:
        await channel.send(Outgoing(to, "x"))
    assert network.value.retryable
    tg.fail_next("sendMessage", status=429, retry_after=60)  # too long to wait for now
    with pytest.raises(ChannelError) as flood:
        await channel.send(Outgoing(to, "x"))
    assert flood.value.retryable
    tg.fail_next("sendMessage", status=403, description="Forbidden: bot was blocked by the user")
    with pytest.raises(ChannelError) as blocked:
        await channel.send(Outgoing(to, "x"))
    assert not blocked.value.retryable


async def test_permanent_400_leaves_the_relay_failed(harness: Harness) -> None:
    tg = harness.tg
    tg.missing_chats.add(str(STAFF_ROOM))
    tg.push_message(GROUP, RESIDENT, "/report 单元门坏了", chat_type="group")
    await harness.reply_to(GROUP, 0)
    outbox = harness.app.core.outbox
    async with asyncio.timeout(5):  # the 400 is recorded right after the stand-in answers it
        while not outbox.repo.with_status("failed"):
            await asyncio.sleep(0.01)
    assert outbox.pending() == []
    (refused,) = [c for c in tg.sent if c.params.get("chat_id") == str(STAFF_ROOM)]
    assert refused.result is None and "#1001" in refused.params["text"]


async def test_commands_menu_and_token_never_logged(
    standin: StandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    channel = channel_for(standin)
    received: list[object] = []

    async def deliver(incoming: object) -> None:
        received.append(incoming)

    await channel.start(deliver)
    try:
        await channel.set_commands(
            [("help", "帮助"), ("report", "报修"), ("帮助", "skipped")], [("claim", "认领")]
        )
        await channel.send(Outgoing(Address("telegram", str(RESIDENT)), "hi"))
    finally:
        await channel.stop()
    default, staff = standin.calls("setMyCommands")
    assert [c["command"] for c in default.params["commands"]] == ["help", "report"]
    assert staff.params["scope"] == {"type": "chat", "chat_id": STAFF_ROOM}
    assert [c["command"] for c in staff.params["commands"]] == ["help", "report", "claim"]
    assert caplog.records and TOKEN not in caplog.text


async def test_runs_under_the_app(
    standin: StandIn,
    make_settings: Callable[..., Settings],
    analyzer: TextAnalyzer,
    sentence_model: ModelStatus,
    clock: FakeClock,
) -> None:
    settings = make_settings(staff_rooms=(StaffRoom(chat=f"telegram:{STAFF_ROOM}"),))
    channels = [channel_for(standin)]
    bot = await start_bot(
        settings, clock, analyzer, sentence_model, channels=channels, start_channels=False
    )
    stop = asyncio.Event()
    task = asyncio.create_task(bot.app.run(stop))  # starts the channels itself
    standin.push_message(RESIDENT, RESIDENT, "小区路灯不亮了找谁修？")
    (answer,) = await standin.wait_for("sendMessage")
    assert "/report" in answer.params["text"]
    stop.set()
    await asyncio.wait_for(task, 5)


def test_settings_validate_webhook_and_hide_the_token() -> None:
    settings = TelegramSettings(token=TOKEN)  # type: ignore[arg-type]
    assert TOKEN not in repr(settings)
    with pytest.raises(ValueError, match="webhook_url"):
        TelegramSettings.model_validate({"token": TOKEN, "mode": "webhook"})
    with pytest.raises(ValueError, match="bot token"):
        TelegramSettings.model_validate({"token": "nope"})


async def test_webhook_mode_accepts_only_the_secret(
    standin: StandIn,
    make_settings: Callable[..., Settings],
    analyzer: TextAnalyzer,
    sentence_model: ModelStatus,
    clock: FakeClock,
) -> None:
    import json
    import socket
    import urllib.error
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    channel = channel_for(
        standin,
        mode="webhook",
        listen="127.0.0.1",
        port=port,
        url_path="tg-hook",
        webhook_url="https://bot.example.org/tg-hook",
        secret_token="s3cret-Token",
    )
    bot = await start_bot(make_settings(), clock, analyzer, sentence_model, channels=[channel])
    try:
        assert standin.webhook is not None
        assert standin.webhook["url"] == "https://bot.example.org/tg-hook"
        assert standin.webhook["secret_token"] == "s3cret-Token"
        standin.push_message(RESIDENT, RESIDENT, "小区路灯不亮了找谁修？")
        update = standin.take_update()

        def post(secret: str) -> int:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/tg-hook",
                data=json.dumps(update).encode(),
                headers={
                    "Content-Type": "application/json",
                    "X-Telegram-Bot-Api-Secret-Token": secret,
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    return int(response.status)
            except urllib.error.HTTPError as exc:
                return int(exc.code)

        assert await asyncio.to_thread(post, "wrong") == 403
        assert await asyncio.to_thread(post, "s3cret-Token") == 200
        (answer,) = await standin.wait_for("sendMessage")
        assert "路灯" in str(answer.params["text"])
    finally:
        await bot.stop()


async def test_anonymous_admins_channels_and_linked_channel_posts(
    standin: StandIn,
    make_settings: Callable[..., Settings],
    analyzer: TextAnalyzer,
    sentence_model: ModelStatus,
    clock: FakeClock,
) -> None:
    """Issue 16, findings 12 and 14: a staff room's anonymous admin works tickets, a member
    posting as a channel is heard, a linked channel's auto-forward is no question, and
    @yishiting_test_bot_fans is not this bot."""
    settings = make_settings(
        roles=RolesConfig(staff=(f"telegram:{STAFF_ROOM}",), trusted_role_channels=()),
        staff_rooms=(StaffRoom(chat=f"telegram:{STAFF_ROOM}"),),
    )
    bot = await start_bot(
        settings, clock, analyzer, sentence_model, channels=[channel_for(standin)]
    )
    tg = standin
    try:
        as_channel = {"id": -100777, "type": "channel", "title": "丰仓业主之声"}
        tg.push_message(
            GROUP, RESIDENT, "/report 西门路灯不亮", chat_type="group", sender_chat=as_channel
        )
        async with asyncio.timeout(5):  # the staff card names who reported: the channel
            while not [t for t in tg.texts_to(STAFF_ROOM) if "丰仓业主之声" in t]:
                await tg.wait_for("sendMessage", len(tg.calls("sendMessage")) + 1)
        anonymous = {"id": STAFF_ROOM, "type": "supergroup", "title": "工作人员群"}
        tg.push_message(
            STAFF_ROOM,
            STAFF,
            "/claim 1001",
            chat_type="group",
            title="工作人员群",
            sender_chat=anonymous,
        )
        await tg.wait_consumed()
        async with asyncio.timeout(5):
            while (ticket := bot.tickets.get(1001)) is None or not ticket.assignee:
                await asyncio.sleep(0.02)
        assert ticket.assignee_name == "群管理员"
        async with asyncio.timeout(5):  # the reporter (the channel) hears of the claim
            while not [t for t in tg.texts_to(-100777) if "接手" in t]:
                await tg.wait_for("sendMessage", len(tg.calls("sendMessage")) + 1)

        before = len(tg.calls("sendMessage"))
        tg.push_message(
            GROUP, RESIDENT, "小区路灯不亮了找谁修？", chat_type="group", automatic_forward=True
        )
        tg.push_message(GROUP, NEIGHBOUR, "@yishiting_test_bot_fans 医保", chat_type="group")
        await tg.wait_consumed()
        await asyncio.sleep(0.2)  # nothing is due: make sure nothing comes late either
        assert len(tg.calls("sendMessage")) == before, [
            c.params for c in tg.calls("sendMessage")[before:]
        ]
    finally:
        await bot.stop()


async def test_a_staff_edit_of_a_relayed_reply_reaches_the_resident(harness: Harness) -> None:
    """Issue 16, finding 4, on Telegram: the correction goes to the resident as one."""
    tg = harness.tg
    tg.push_message(GROUP, RESIDENT, "/report 西门路灯不亮", chat_type="group")
    async with asyncio.timeout(5):
        while not tg.texts_to(STAFF_ROOM):
            await tg.wait_for("sendMessage", len(tg.calls("sendMessage")) + 1)
    card = next(c for c in tg.calls("sendMessage") if str(c.params["chat_id"]) == str(STAFF_ROOM))
    reply = tg.push_message(
        STAFF_ROOM,
        STAFF,
        "明天上午去修",
        chat_type="group",
        title="工作人员群",
        reply_to=int(card.result["message_id"]),
    )
    tg.push_message(
        STAFF_ROOM,
        STAFF,
        "明天下午去修",
        chat_type="group",
        title="工作人员群",
        edited=True,
        edit_of=reply,
    )
    async with asyncio.timeout(5):
        while not [t for t in tg.texts_to(RESIDENT) if "更正" in t]:
            await tg.wait_for("sendMessage", len(tg.calls("sendMessage")) + 1)
    assert "工作人员更正 #1001 的回复：明天下午去修" in tg.texts_to(RESIDENT)


async def until_text(tg: StandIn, chat_id: int, needle: str) -> str:
    """Wait until the bot has sent `chat_id` a text containing `needle`; return it."""
    async with asyncio.timeout(5):
        while True:
            found = [t for t in tg.texts_to(chat_id) if needle in t]
            if found:
                return found[-1]
            await tg.wait_for("sendMessage", len(tg.calls("sendMessage")) + 1)


def staff_says(tg: StandIn, text: str, topic: int | None = None) -> int:
    return tg.push_message(
        STAFF_ROOM, STAFF, text, chat_type="group", title="工作人员群", name="朱", topic=topic
    )


def asked(tg: StandIn, chat_id: int) -> int:
    """How many sends to `chat_id` the bot asked of Telegram (accepted or refused)."""
    return len([c for c in tg.sent if str(c.params.get("chat_id")) == str(chat_id)])


async def test_a_bare_group_report_continues_behind_the_private_button(harness: Harness) -> None:
    """Issue 16, finding 8: /report without words from someone who never started the bot:
    the group answer offers the private chat, and pressing it brings what the bot had to
    say there (the report's first step)."""
    tg = harness.tg
    go = f"https://t.me/{BOT_USERNAME}?start=go"
    newcomer = 1004
    tg.push_message(GROUP, newcomer, "/report", chat_type="group")
    await tg.wait_consumed()
    async with asyncio.timeout(5):
        while not (offers := [c for c in tg.calls("sendMessage") if markup(c) == [go]]):
            await tg.wait_for("sendMessage", len(tg.calls("sendMessage")) + 1)
    assert str(offers[0].params["chat_id"]) == str(GROUP) and asked(tg, newcomer) == 0
    tg.push_message(newcomer, newcomer, "/start go")
    await until_text(tg, newcomer, "类别")
    (prompt,) = [c for c in tg.calls("sendMessage") if str(c.params["chat_id"]) == str(newcomer)]
    assert "flow:cat:0" in markup(prompt)
    # Someone who types /start instead of tapping gets the greeting and then the same.
    typist = 1005
    tg.push_message(GROUP, typist, "/report", chat_type="group")
    await tg.wait_consumed()
    tg.push_message(typist, typist, "/start")
    await until_text(tg, typist, "类别")
    assert tg.texts_to(typist)[0].startswith("您好")


async def test_delivery_is_honest_about_who_cannot_be_reached(harness: Harness) -> None:
    """Issue 16, findings 8 and 9: the group ack offers the private chat instead of promising
    it; only the reporter's /start opens the ticket; a block is learnt (from my_chat_member or
    from a 403) and later relays fail at once with the staff told, until the resident is back."""
    tg, app = harness.tg, harness.app
    chats = app.core.conversation.chats.states
    me = Address("telegram", str(RESIDENT))
    tg.never_started.add(str(RESIDENT))
    tg.push_message(GROUP, RESIDENT, "/report 3号楼楼道灯坏了", chat_type="group")
    ack = await harness.reply_to(GROUP, 0)
    assert markup(ack) == [f"https://t.me/{BOT_USERNAME}?start=t1001"]
    assert "私信" in ack.params["text"]
    await until_text(tg, STAFF_ROOM, "#1001")
    assert asked(tg, RESIDENT) == 0  # no private message that Telegram would refuse

    # A neighbour presses the first button: the ticket is not theirs.
    tg.push_message(NEIGHBOUR, NEIGHBOUR, "/start t1001")
    assert "报告人" in await until_text(tg, NEIGHBOUR, "#1001")
    # The reporter presses it: the private chat opens on the ticket, and now it is reachable.
    tg.push_message(RESIDENT, RESIDENT, "/start t1001")
    await until_text(tg, RESIDENT, "#1001 的私聊")
    tg.push_message(RESIDENT, RESIDENT, "在东边楼梯口")
    await until_text(tg, RESIDENT, "已补充到 #1001")
    assert chats.state(me) == "reachable"
    staff_says(tg, "/reply 1001 今天下午去换")
    await until_text(tg, RESIDENT, "今天下午去换")

    # The resident blocks the bot: Telegram says so (my_chat_member), the store keeps it.
    tg.push_member(RESIDENT, RESIDENT, "kicked")
    await tg.wait_consumed()
    async with asyncio.timeout(5):
        while chats.unreachable_reason(me) != "blocked":
            await asyncio.sleep(0.01)
    before = asked(tg, RESIDENT)
    staff_says(tg, "/reply 1001 明天上午再去")
    notice = await until_text(tg, STAFF_ROOM, "没能送到")
    assert "#1001" in notice and "电话" in notice  # what to do instead
    assert asked(tg, RESIDENT) == before  # failed at once: Telegram was not even asked
    failed = app.core.outbox.repo.with_status("failed")
    assert [d["error"] for d in failed] == ["unreachable: blocked"]
    # A new report of theirs shows the staff on the card that private contact is impossible.
    tg.push_message(GROUP, RESIDENT, "/report 4号楼门口积水", chat_type="group")
    card = await until_text(tg, STAFF_ROOM, "#1002")
    assert "无法私信" in card and "已屏蔽机器人" in card

    # Unblocked (they pressed Start again): relays go out again.
    tg.push_member(RESIDENT, RESIDENT, "member", old="kicked")
    staff_says(tg, "/reply 1001 已经修好了")
    await until_text(tg, RESIDENT, "已经修好了")

    # A block whose update was missed is learnt from Telegram's 403, once.
    tg.blocked.add(str(RESIDENT))
    before = asked(tg, RESIDENT)
    staff_says(tg, "/resolve 1001")
    await until_text(tg, STAFF_ROOM, "没能送到")
    staff_says(tg, "/reply 1002 收到")
    async with asyncio.timeout(5):
        while len(app.core.outbox.repo.with_status("failed")) < 3:
            await asyncio.sleep(0.01)
    assert asked(tg, RESIDENT) == before + 1  # the 403; the next relay was not tried
    assert chats.unreachable_reason(me) == "blocked"


ADMIN = 778
OLD_GROUP, NEW_GROUP = -100500, -1001500
GONE_GROUP = -100600  # the bot was removed from it
SILENT_GROUP, SILENT_NEW = -100700, -1001700  # migrated; the bot learns it from a 400


async def test_a_group_that_becomes_a_supergroup_is_followed_once(
    standin: StandIn,
    sched_settings: Settings,
    analyzer: TextAnalyzer,
    sentence_model: ModelStatus,
    clock: FakeClock,
) -> None:
    """Issue 16, finding 11: migrate_to/migrate_from (both arrive) and a 400 with
    migrate_to_chat_id each move the group everywhere in the store, once; a broadcast then
    reaches it once, at its new id; a group the bot was removed from is reported, not tried."""
    settings = sched_settings.model_copy(
        update={
            "roles": RolesConfig(
                admins=(f"telegram:{ADMIN}",),
                staff=(f"telegram:{STAFF}",),
                trusted_role_channels=(),
            ),
            "staff_rooms": (StaffRoom(chat=f"telegram:{STAFF_ROOM}"),),
            "groups": {
                f"telegram:{OLD_GROUP}": "丰仓小区",
                f"telegram:{GONE_GROUP}": "粮库宿舍",
            },
        }
    )
    bot = await start_bot(
        settings, clock, analyzer, sentence_model, channels=[channel_for(standin)], scheduler=True
    )
    tg = standin
    core = bot.app.core
    try:
        tg.push_message(RESIDENT, RESIDENT, "你好")  # reachable privately
        tg.push_message(OLD_GROUP, RESIDENT, "/report 西门路灯不亮", chat_type="group")
        await until_text(tg, STAFF_ROOM, "#1001")
        tg.push_member(GONE_GROUP, ADMIN, "left")
        morning = clock.now + timedelta(hours=20)  # a notice held for the morning, pending
        with core.store.batch():
            held = Outgoing(Address("telegram", str(OLD_GROUP)), "早上好")
            core.outbox.enqueue("held-notice", held, not_before=morning, quiet=True)
        tg.push_migration(OLD_GROUP, NEW_GROUP, RESIDENT)
        await tg.wait_consumed()
        moved = f"telegram:{NEW_GROUP}"
        async with asyncio.timeout(5):
            while (ticket := bot.tickets.get(1001)) is None or ticket.origin != moved:
                await asyncio.sleep(0.01)
        assert core.conversation.chats.states.moved(f"telegram:{OLD_GROUP}") == moved
        assert f"telegram:{OLD_GROUP}" not in core.store.groups.titles()
        readdressed = core.outbox.repo.get("held-notice") or {}
        assert readdressed["out"]["to"]["chat_id"] == str(NEW_GROUP)
        # The settings still name the old id: a report in the new chat keeps its compound.
        tg.push_message(NEW_GROUP, NEIGHBOUR, "/report 东门积水", chat_type="group")
        await until_text(tg, STAFF_ROOM, "#1002")
        new_ticket = bot.tickets.get(1002)
        assert new_ticket is not None and new_ticket.compound == "丰仓小区"

        old_before = asked(tg, OLD_GROUP)  # the answer to the report, before the move
        report = await admin_broadcast(tg, "/broadcast now to all: 明天停水")
        assert [c for c in tg.texts_to(NEW_GROUP) if "停水" in c] == ["明天停水"]
        assert asked(tg, OLD_GROUP) == old_before and asked(tg, GONE_GROUP) == 0
        assert "成功 1，失败 1" in report and f"telegram:{GONE_GROUP}" in report
        assert "unreachable: left" in report

        # No service message seen: Telegram's 400 names the new id; the adapter follows it
        # and the bot remembers, so the old id is asked only once.
        tg.migrated[str(SILENT_GROUP)] = SILENT_NEW
        await admin_broadcast(tg, f"/broadcast now to telegram:{SILENT_GROUP}: 周五消防演练")
        await admin_broadcast(tg, f"/broadcast now to telegram:{SILENT_GROUP}: 周六消防演练")
        assert asked(tg, SILENT_GROUP) == 1
        assert [t for t in tg.texts_to(SILENT_NEW) if "演练" in t] == [
            "周五消防演练",
            "周六消防演练",
        ]
    finally:
        await bot.stop()


async def admin_broadcast(tg: StandIn, command: str) -> str:
    """An admin broadcasts privately and confirms; the report that comes back."""
    before = len(tg.calls("sendMessage"))
    tg.push_message(ADMIN, ADMIN, command)
    preview = await harness_reply(tg, ADMIN, before)
    assert markup(preview), preview.params
    reports = len([t for t in tg.texts_to(ADMIN) if "发送结果" in t])
    tg.push_callback(markup(preview)[0], preview.result["message_id"], ADMIN, ADMIN)
    async with asyncio.timeout(5):
        while len(found := [t for t in tg.texts_to(ADMIN) if "发送结果" in t]) == reports:
            await tg.wait_for("sendMessage", len(tg.calls("sendMessage")) + 1)
    return found[-1]


async def harness_reply(tg: StandIn, chat_id: int, after: int) -> Call:
    """The first message the bot sent to `chat_id` after the first `after` sendMessages."""
    async with asyncio.timeout(5):
        while True:
            mine = [
                c
                for c in tg.calls("sendMessage")[after:]
                if str(c.params["chat_id"]) == str(chat_id)
            ]
            if mine:
                return mine[0]
            await tg.wait_for("sendMessage", len(tg.calls("sendMessage")) + 1)


async def test_ratings_in_a_group_are_a_toast_and_reactions_rate(harness: Harness) -> None:
    """Issue 16, finding 14: a 👍 tap in a group is thanked in a toast for the presser alone;
    👍/👎 reactions on the bot's answers rate them (thanked privately, silently in a group)."""
    from bot.faq.feedback import Ratings

    tg = harness.tg
    ratings = harness.app.core.store.repo(Ratings)
    tg.push_message(GROUP, NEIGHBOUR, f"@{BOT_USERNAME} 医保怎么在网上交费", chat_type="group")
    answer = await harness.reply_to(GROUP, 0)
    up = markup(answer)[0]
    assert up.startswith("rate:up:")
    await tg.wait_consumed()
    sent_to_group = asked(tg, GROUP)
    query = tg.push_callback(up, answer.result["message_id"], GROUP, NEIGHBOUR)
    async with asyncio.timeout(5):
        while not [c for c in tg.calls("answerCallbackQuery") if c.params.get("text")]:
            await tg.wait_for("answerCallbackQuery", len(tg.calls("answerCallbackQuery")) + 1)
    (toast,) = tg.calls("answerCallbackQuery")
    assert toast.params == {"callback_query_id": query, "text": "谢谢您的反馈！"}
    assert asked(tg, GROUP) == sent_to_group  # nothing posted for the whole group

    # A 👎 reaction on the same answer in the group: rated, no message at all.
    tg.push_reaction(GROUP, answer.result["message_id"], 1003, "👎")
    # 👍 on a private answer: rated and thanked there.
    tg.push_message(RESIDENT, RESIDENT, "医保怎么在网上交费")
    private = await harness.reply_to(RESIDENT, 0)
    await tg.wait_consumed()
    tg.push_reaction(RESIDENT, private.result["message_id"], RESIDENT, "👍")
    await until_text(tg, RESIDENT, "谢谢您的反馈")
    tg.push_reaction(RESIDENT, private.result["message_id"], RESIDENT, "❤")  # not a rating
    await tg.wait_consumed()
    assert asked(tg, GROUP) == sent_to_group
    ((entry, helpful, unhelpful),) = ratings.summary()
    assert entry == up.removeprefix("rate:up:") and (helpful, unhelpful) == (2, 1)
    assert {"my_chat_member", "message_reaction"} <= set(tg.allowed_updates or ())


async def test_forum_topics_are_threads_of_one_group(
    standin: StandIn,
    make_settings: Callable[..., Settings],
    analyzer: TextAnalyzer,
    sentence_model: ModelStatus,
    clock: FakeClock,
) -> None:
    """Issue 16, finding 10: a report in a topic keeps the group's settings (compound) and is
    answered in the topic; staff work the ticket from a topic of a forum staff room, their
    answers stay in it; the group is listed once for broadcasts."""
    settings = make_settings(
        roles=RolesConfig(staff=(f"telegram:{STAFF}",), trusted_role_channels=()),
        staff_rooms=(StaffRoom(chat=f"telegram:{STAFF_ROOM}"),),
        groups={f"telegram:{GROUP}": "粮库宿舍"},  # not the title's 丰仓小区
    )
    bot = await start_bot(
        settings, clock, analyzer, sentence_model, channels=[channel_for(standin)]
    )
    tg = standin
    try:
        tg.push_message(RESIDENT, RESIDENT, "你好")
        tg.push_message(GROUP, NEIGHBOUR, "大家好", chat_type="group")
        tg.push_message(GROUP, RESIDENT, "/report 2号楼水管漏水", chat_type="group", topic=5)
        await until_text(tg, STAFF_ROOM, "#1001")
        ack = next(c for c in tg.calls("sendMessage") if str(c.params["chat_id"]) == str(GROUP))
        assert int(ack.params["message_thread_id"]) == 5
        ticket = bot.tickets.get(1001)
        assert ticket is not None and ticket.compound == "粮库宿舍"
        assert ticket.origin == f"telegram:{GROUP}#5"
        assert list(bot.core.store.groups.titles()) == [f"telegram:{GROUP}"]
        broadcasts = bot.core.conversation.broadcasts
        assert broadcasts.resolve(("all",)) == [Address("telegram", str(GROUP))]

        before = len(tg.calls("sendMessage"))
        staff_says(tg, "/claim 1001", topic=23)
        staff_says(tg, "/reply 1001 下午来修", topic=23)
        await until_text(tg, RESIDENT, "下午来修")
        await until_text(tg, STAFF_ROOM, "已记下对 #1001 的回复")
        in_room = [
            c
            for c in tg.calls("sendMessage")[before:]
            if str(c.params["chat_id"]) == str(STAFF_ROOM)
        ]
        assert len(in_room) == 2  # the claim and the reply acknowledged, in the topic
        assert {int(c.params["message_thread_id"]) for c in in_room} == {23}
        claimed = bot.tickets.get(1001)
        assert claimed is not None and claimed.assignee == f"telegram:{STAFF}"
    finally:
        await bot.stop()


async def press(tg: StandIn, chat_id: int, action: str) -> None:
    """The person in private chat `chat_id` taps the button `action` of the bot's latest
    message that has it."""
    for call in reversed(tg.calls("sendMessage")):
        if str(call.params["chat_id"]) == str(chat_id) and action in markup(call):
            tg.push_callback(action, call.result["message_id"], chat_id, chat_id)
            return
    raise AssertionError(f"no button {action} in {chat_id}")


async def test_voice_files_and_locations_join_tickets(harness: Harness) -> None:
    """Issue 16, findings 3 and 13: a voice message outside any ticket is a question with its
    audio; files and locations while adding details are attached; what the bot cannot take
    gets a polite line, in private only."""
    tg, tickets = harness.tg, harness.app.core.store.repo(TicketRepo)
    voice = {"voice": {"file_id": "v1", "file_unique_id": "uv1", "duration": 3}}
    where = {"location": {"latitude": 38.87, "longitude": 115.46}}
    picture = {"document": {"file_id": "doc1", "file_unique_id": "ud1", "mime_type": "image/jpeg"}}
    huge = {"document": {"file_id": "big", "file_unique_id": "ub", "file_size": 30 * 2**20}}
    sticker = {
        "sticker": {
            "file_id": "s",
            "file_unique_id": "us",
            "type": "regular",
            "width": 1,
            "height": 1,
            "is_animated": False,
            "is_video": False,
        }
    }
    tg.push_message(RESIDENT, RESIDENT, extra=voice)
    assert "语音已转给工作人员，编号 #1001" in await until_text(tg, RESIDENT, "语音")
    await tg.wait_for("sendVoice")
    (forwarded,) = tg.calls("sendVoice")
    assert forwarded.params["voice"] == "v1" and str(forwarded.params["chat_id"]) == str(STAFF_ROOM)
    tg.push_message(GROUP, NEIGHBOUR, chat_type="group", extra=where)  # silence in a group
    tg.push_message(RESIDENT, RESIDENT, extra=where)
    assert "/report" in await until_text(tg, RESIDENT, "收到您的位置")
    tg.push_message(RESIDENT, RESIDENT, extra=sticker)
    await until_text(tg, RESIDENT, "收到您的表情")
    tg.push_message(RESIDENT, RESIDENT, extra=huge)
    await until_text(tg, RESIDENT, "超过 20MB")

    # Details after a group report: an image sent as a file and a location are attached.
    tg.push_message(GROUP, RESIDENT, "/report 5号楼门禁坏了", chat_type="group")
    await until_text(tg, RESIDENT, "#1002")
    tg.push_message(RESIDENT, RESIDENT, extra=picture)
    tg.push_message(RESIDENT, RESIDENT, extra=where)
    async with asyncio.timeout(5):
        while len([t for t in tg.texts_to(RESIDENT) if "已补充到 #1002" in t]) < 2:
            await tg.wait_for("sendMessage", len(tg.calls("sendMessage")) + 1)
    ticket = tickets.get(1002)
    assert ticket is not None
    assert ticket.attachments == ["file:doc1", "geo:38.870000,115.460000"]
    s = harness.app.core.scheduling  # what the staff are told next (the scheduler sends it)
    (update,) = StaffUpdates(settings=s.settings, cards=s.cards, translate=s.translate).messages(
        ticket
    )
    assert "［文件 1 个］" in update.text and "openstreetmap.org/?mlat=38.870000" in update.text
    await harness.channel.send(update)
    (document,) = tg.calls("sendDocument")
    assert document.params["document"] == "doc1" and "#1002" in document.params["caption"]
    assert tg.texts_to(GROUP)[-1].startswith("已收到")  # the group heard nothing of the rest


async def test_a_report_said_not_typed_keeps_its_voice_and_its_place(harness: Harness) -> None:
    """Issue 16, findings 3 and 13: in the report dialogue a voice message is the description
    (an elderly resident says it), a location answers the photo step, and the card is the
    voice's caption with the map link."""
    tg = harness.tg
    said = {"voice": {"file_id": "v2", "file_unique_id": "uv2", "duration": 9}}
    where = {"location": {"latitude": 38.87, "longitude": 115.46}}
    tg.push_message(RESIDENT, RESIDENT, "/report")
    await until_text(tg, RESIDENT, "类别")
    await press(tg, RESIDENT, "flow:cat:0")
    await until_text(tg, RESIDENT, "描述")
    tg.push_message(RESIDENT, RESIDENT, extra=said)
    await until_text(tg, RESIDENT, "小区")
    await press(tg, RESIDENT, "flow:compound:0")
    await until_text(tg, RESIDENT, "照片")
    tg.push_message(RESIDENT, RESIDENT, extra=where)
    await until_text(tg, RESIDENT, "确认")
    await press(tg, RESIDENT, "flow:submit")
    (card_voice,) = await tg.wait_for("sendVoice")  # the card is the voice's caption
    card = next(t for t in tg.texts_to(STAFF_ROOM) if "#1001" in t)
    assert "语音留言" in card and card_voice.params["voice"] == "v2"
    assert "https://www.openstreetmap.org/?mlat=38.870000&mlon=115.460000" in card
