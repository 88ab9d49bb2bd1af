"""One ticket, two real networks: the resident on Matrix (Synapse), staff on Telegram (stand-in)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.config import RolesConfig, Settings, StaffRoom
from bot.faq.meaning import ModelStatus
from bot.faq.text import TextAnalyzer
from channels.matrix.channel import MatrixChannel
from channels.matrix.settings import FileTokenStore, MatrixSettings
from channels.telegram import TelegramChannel, TelegramSettings
from tests.fakes import FakeClock
from tests.harness import start_bot
from tests.synapse import User, register, server, unique
from tests.tg_standin import TOKEN, StandIn

STAFF_USER = 777
STAFF_ROOM = -1009

pytestmark = pytest.mark.filterwarnings(
    "ignore:Deprecated since version v22.2:telegram.warnings.PTBDeprecationWarning"
)


async def test_resident_on_matrix_staff_on_telegram(
    tmp_path: Path,
    make_settings: Callable[..., Settings],
    analyzer: TextAnalyzer,
    sentence_model: ModelStatus,
    clock: FakeClock,
) -> None:
    srv = server()
    password = uuid.uuid4().hex
    bot_id = await register(srv, unique("yishiting"), password)
    standin = StandIn()
    await standin.start()
    settings = make_settings(
        roles=RolesConfig(staff=(f"telegram:{STAFF_USER}",), trusted_role_channels=()),
        staff_rooms=(StaffRoom(chat=f"telegram:{STAFF_ROOM}"),),
    )
    matrix = MatrixChannel(
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
    telegram = TelegramChannel(
        TelegramSettings.model_validate(
            {
                "token": TOKEN,
                "base_url": standin.base_url,
                "base_file_url": standin.base_file_url,
                "poll_timeout": 1,
            }
        )
    )
    bot = await start_bot(settings, clock, analyzer, sentence_model, channels=[matrix, telegram])
    resident = await User.create(srv, "resident")
    try:
        room = await resident.create_room(invite=(bot_id,))
        await resident.wait_members(room, bot_id, timeout=15)

        await resident.send(room, "双色球昨晚开的啥号？")
        ack = await resident.wait_message(bot_id, room, contains="#1001", timeout=15)
        assert "已转给工作人员" in ack.body
        (card,) = await standin.wait_for("sendMessage", timeout=10)
        assert str(card.params["chat_id"]) == str(STAFF_ROOM)
        assert "#1001" in str(card.params["text"]) and "双色球" in str(card.params["text"])

        card_id = int(card.result["message_id"])
        standin.push_message(
            STAFF_ROOM,
            STAFF_USER,
            "这个我们答不了，建议看彩票站公告",
            chat_type="group",
            reply_to=card_id,
            title="工作人员群",
        )
        relay = await resident.wait_message(bot_id, room, contains="工作人员回复", timeout=15)
        assert relay.body == "工作人员回复 #1001：这个我们答不了，建议看彩票站公告"
        ticket = bot.tickets.get(1001)
        assert ticket is not None
        assert [(e.action, e.via) for e in ticket.history] == [
            ("open", "matrix"),
            ("reply", "telegram"),
        ]
    finally:
        await bot.stop()
        await resident.close()
        await standin.close()
