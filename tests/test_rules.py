"""The same rules everywhere: quiet hours, honest broadcast times, language, commands (issue 12)."""

from __future__ import annotations

from collections.abc import Callable

from bot.compounds import Compounds
from bot.config import Settings
from bot.faq.meaning import ModelStatus
from bot.faq.text import TextAnalyzer
from bot.i18n import language_of_text
from tests.fakes import FakeClock
from tests.harness import Bot, start_bot
from tests.scheduled import STAFF_ROOM, when


async def test_a_late_answer_reaches_a_resident_who_is_talking_but_not_one_who_sleeps(
    sched: Bot,
) -> None:
    staff = sched.chat("zhu", group="staffroom", network="other")
    await sched.chat("zhang", group="丰仓小区群").say("/report 楼道灯坏了")
    await sched.chat("li", group="丰仓小区群").say("/report 单元门关不上了")
    await sched.chat("zhang").say("完成")
    await sched.at(when(1, 21, 40))
    await sched.chat("li").say("完成")  # 李 is typing to the bot right now
    await staff.say("/reply 1002 明早去修门")
    await staff.say("/reply 1001 明早去换灯")
    assert "明早去修门" in sched.texts("fake:li")[-1]  # a live conversation: at once
    assert not any("明早去换灯" in t for t in sched.texts("fake:zhang"))  # 张 sleeps
    await sched.at(when(2, 8, 0))
    assert "明早去换灯" in sched.texts("fake:zhang")[-1]
    assert sched.texts(STAFF_ROOM)  # staff rooms are never held


async def test_a_night_broadcast_preview_says_when_it_really_goes_out(sched: Bot) -> None:
    await sched.at(when(1, 23, 0))
    admin = sched.chat("admin")
    (preview,) = await admin.say("/broadcast now to all: 明天上午停水，请提前储水")
    assert "立即（夜间免打扰：居民群将在 12-02 08:00 收到" in preview.text
    (urgent,) = await admin.say("/broadcast now urgent to all: 燃气泄漏，请立即撤离")
    assert "免打扰" not in urgent.text


async def test_one_latin_word_does_not_switch_a_chinese_user_to_english(bot: Bot) -> None:
    chat = bot.chat("zhang", language="zh-hans")
    (reply,) = await chat.say("foo")
    assert language_of_text(reply.text) == "zh-CN", reply.text
    (english,) = await chat.say("What are the office hours of the service centre?")
    assert "8:30" in english.text


async def test_full_width_commands_and_a_long_command_in_a_group(bot: Bot) -> None:
    (helped,) = await bot.chat("zhang").say("／help")
    assert "/report" in helped.text
    group = bot.chat("zhang", group="丰仓小区群")
    (too_long,) = await group.say("/报修 " + "路灯" * 600)
    assert "太长" in too_long.text
    assert await group.say("路灯" * 600) == []  # chatter in a group stays unanswered


def test_compound_names_as_residents_type_them() -> None:
    compounds = Compounds(("康乐小区", "丰仓小区"), {"丰仓小区": ("老粮站",)})
    assert compounds.normalize("康樂小區3號樓") == ("康乐小区", "3号楼")
    assert compounds.normalize("康乐小区 3号楼东边") == ("康乐小区", "3号楼东边")
    assert compounds.normalize("老粮站5栋") == ("丰仓小区", "5栋")
    assert compounds.normalize("丰仓小区群") == ("丰仓小区", "")
    assert compounds.normalize("东关里12号院") == ("东关里", "12号院")  # not configured


async def test_a_typed_compound_is_stored_normalised_with_its_location(
    make_settings: Callable[..., Settings],
    analyzer: TextAnalyzer,
    sentence_model: ModelStatus,
    clock: FakeClock,
) -> None:
    settings = make_settings(compounds=("康乐小区", "丰仓小区"))
    bot = await start_bot(settings, clock, analyzer, sentence_model)
    try:
        resident = bot.chat("zhang")
        (ask_compound,) = await resident.say("/report 楼道灯坏了")
        assert "小区" in ask_compound.text
        (ask_photo,) = await resident.say("康樂小區3號樓")
        (confirm,) = await resident.press(ask_photo, "skip")
        assert "康乐小区 3号楼" in confirm.text
        await resident.press(confirm, "submit")
        ticket = bot.tickets.get(1001)
        assert ticket is not None and (ticket.compound, ticket.location) == ("康乐小区", "3号楼")
        (card,) = bot.sent_to("other:g:staffroom")
        assert "康乐小区 3号楼" in card.text
    finally:
        bot.close()
