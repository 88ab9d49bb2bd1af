"""Every dialogue forgives an elderly user: typed labels, synonyms, dates in words, drafts."""

from __future__ import annotations

from datetime import date, timedelta

from bot.dialogue.typed import typed_choice
from tests.harness import Bot
from tests.scheduled import when


def test_typed_answers_name_buttons() -> None:
    buttons = [("路灯照明", "flow:cat:0"), ("排水/雨污分流", "flow:cat:1"), ("取消", "flow:cancel")]
    today = date(2026, 12, 1)  # a Tuesday
    assert typed_choice("２", buttons, today) == "flow:cat:1"  # full width
    assert typed_choice("路灯照明。", buttons, today) == "flow:cat:0"
    assert typed_choice("排水", buttons, today) == "flow:cat:1"  # part of one label only
    assert typed_choice("算了", buttons, today) == "flow:cancel"
    assert typed_choice("路灯坏了三天了", buttons, today) is None  # a description, not a choice
    days = [("今晚", "b:date:2026-12-01"), ("12-03 周四", "b:date:2026-12-03")]
    assert typed_choice("周四", days, today) == "b:date:2026-12-03"
    assert typed_choice("今天", days, today) == "b:date:2026-12-01"
    assert typed_choice("后天", days, today) == "b:date:2026-12-03"
    assert typed_choice("周三", days, today) is None  # no service then: no button
    assert typed_choice("9", days, today) is None


async def test_a_report_typed_word_by_word(bot: Bot) -> None:
    li = bot.chat("li")
    (categories,) = await li.say("/report")
    assert categories.buttons[0].label == "路灯照明"
    (ask_text,) = await li.say("路灯照明")  # the label, typed
    assert "描述" in ask_text.text
    (ask_compound,) = await li.say("路灯不亮好几天了")
    assert ask_compound.buttons[0].label == "丰仓小区"
    (ask_photo,) = await li.say("１")  # the first compound, full width
    assert "照片" in ask_photo.text
    (confirm,) = await li.say("跳过")
    assert "提交" in confirm.buttons[0].label
    (created,) = await li.say("确认")
    assert created.text.startswith("已登记，编号 #1001")
    (again,) = await li.say("完成")  # a repeated final word is small talk, not a ticket
    assert "#1002" not in again.text
    ticket = bot.tickets.get(1001)
    assert ticket is not None and ticket.category == "路灯照明"


async def test_booking_tomorrow_in_words(sched: Bot) -> None:
    resident = sched.chat("wu")
    (dates,) = await resident.say("/book")
    assert "12-02" in " ".join(b.label for b in dates.buttons)
    (slots,) = await resident.say("明天")  # Tuesday 12-01 → Wednesday 12-02
    assert "12-02" in slots.text
    (needs,) = await resident.say("1")
    assert "医保缴费" in [b.label for b in needs.buttons]
    (booked,) = await resident.say("医保")  # part of 医保缴费
    assert "预约成功" in booked.text and "医保缴费" in booked.text


async def test_a_timed_out_report_is_kept_as_a_draft(sched: Bot) -> None:
    li = sched.chat("li")
    await li.say("/report 3号楼后头的路灯黑了好几天了")
    await sched.at(sched.clock.now + timedelta(minutes=40))  # the dialogue times out
    replies = await li.say("你好")
    offer = replies[-1]
    assert "3号楼后头的路灯" in offer.text and "接着填" in [b.label for b in offer.buttons]
    (resumed,) = await li.press(offer, "接着填")
    assert "小区" in resumed.text  # back at the step it stopped at
    assert when(1, 9, 40) <= sched.clock.now
