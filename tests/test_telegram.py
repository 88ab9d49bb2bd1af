"""The Telegram adapter: real python-telegram-bot over HTTP to a Bot API stand-in, real core."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.app import App
from bot.config import RolesConfig, Settings, StaffRoom
from bot.desk.repo import TicketRepo
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
    return [row[0]["callback_data"] for row in keyboard["inline_keyboard"]]


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
    details = await harness.reply_to(RESIDENT, 0)
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
    assert tg.calls("answerCallbackQuery")


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
    await harness.reply_to(RESIDENT, 0)
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
        assert len(tg.calls("sendMessage")) == before
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


async def test_voice_location_and_stickers_in_private_get_a_polite_line(harness: Harness) -> None:
    """Issue 16, finding 13 (in part): never silence in private; never noise in a group."""
    tg = harness.tg
    voice = {"voice": {"file_id": "v1", "file_unique_id": "uv1", "duration": 3}}
    where = {"location": {"latitude": 38.87, "longitude": 115.46}}
    tg.push_message(RESIDENT, RESIDENT, extra=voice)
    tg.push_message(GROUP, NEIGHBOUR, chat_type="group", extra=where)  # silence in a group
    tg.push_message(RESIDENT, RESIDENT, extra=where)
    await tg.wait_for("sendMessage", 2)
    first, second = tg.texts_to(RESIDENT)[-2:]
    assert first.startswith("收到您的语音") and second.startswith("收到您的位置")
    assert tg.texts_to(GROUP) == []
