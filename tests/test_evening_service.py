"""Evening service (延时服务): booking, capacity, reminders, roster, no-shows."""

from __future__ import annotations

from bot.config import Settings
from bot.faq.meaning import ModelStatus
from bot.faq.text import TextAnalyzer
from bot.models import Outgoing
from bot.schedule.joblog import JobLog
from tests.fakes import FakeClock
from tests.harness import Bot, start_bot
from tests.scheduled import STAFF_ROOM, button, when

# The shipped schedules/evening-service.yaml: Mon–Thu, 18:00 (3), 18:30 (3), 19:00 (2),
# the resident reminded 2 h before, the roster at 16:30, the group notice at 09:00.


async def book(bot: Bot, user: str, day: str, slot: str, need: str) -> list[Outgoing]:
    chat = bot.chat(user)
    (dates,) = await chat.say("/book")
    (slots,) = await chat.say(action=button(dates, day))
    (needs,) = await chat.say(action=button(slots, slot))
    return await chat.say(action=button(needs, need))


async def test_a_resident_books_tonight_and_is_reminded(sched: Bot) -> None:
    (done,) = await book(sched, "laowang", "今晚", "18:30", "手机操作")
    assert "预约成功" in done.text and "18:30" in done.text and "手机操作" in done.text
    await sched.at(when(1, 16, 29))
    assert not any("⏰" in t for t in sched.texts("fake:laowang"))
    await sched.at(when(1, 16, 31))  # 2 h before 18:30; the roster goes out at 16:30 too
    reminder = sched.texts("fake:laowang")[-1]
    assert "⏰" in reminder and "18:30" in reminder
    roster = next(o for o in sched.sent_to(STAFF_ROOM) if "延时服务名单" in o.text)
    assert "laowang" in roster.text and "手机操作" in roster.text and "共 1 人" in roster.text
    assert any("没来" in b.label for b in roster.buttons)


async def test_typed_needs_and_the_group_notice(sched: Bot) -> None:
    chat = sched.chat("zhang")
    (dates,) = await chat.say("/预约")
    (slots,) = await chat.say(action=button(dates, "12-02"))
    await chat.say(action=button(slots, "18:00"))
    (done,) = await chat.say("教我在手机上交医保")
    assert "教我在手机上交医保" in done.text
    await sched.at(when(2, 9, 1))  # the notice on a service day, to the groups on both networks
    for group in ("fake:g:丰仓小区群", "other:g:粮库宿舍群"):
        (notice,) = [t for t in sched.texts(group) if "延时服务" in t]
        assert "18:00（余2）" in notice  # one place taken


async def test_a_full_slot_is_not_offered(sched: Bot) -> None:
    for user in ("a", "b"):
        (done,) = await book(sched, user, "今晚", "19:00", "医保缴费")
        assert "预约成功" in done.text
    (dates,) = await sched.chat("c").say("/book")
    (slots,) = await sched.chat("c").say(action=button(dates, "今晚"))
    labels = [b.label for b in slots.buttons]
    assert any("18:00" in label for label in labels)
    assert not any("19:00" in label for label in labels)


async def test_a_group_booking_continues_in_private(sched: Bot) -> None:
    replies = await sched.chat("zhang", group="丰仓小区群").say("/book")
    assert [o.to.chat_id for o in replies] == ["g:丰仓小区群", "zhang"]
    assert "私信" in replies[0].text and replies[1].buttons


async def test_cancel_and_move_from_mybookings(sched: Bot) -> None:
    await book(sched, "laowang", "今晚", "18:00", "医保缴费")
    chat = sched.chat("laowang")
    (_header, line) = await chat.say("/mybookings")
    (dates,) = await chat.say(action=button(line, "改约"))
    (slots,) = await chat.say(action=button(dates, "12-02"))
    (needs,) = await chat.say(action=button(slots, "19:00"))
    (moved,) = await chat.say(action=button(needs, "养老认证"))
    assert "预约成功" in moved.text and "原预约 1 已取消" in moved.text
    (_header, line) = await chat.say("/mybookings")
    assert "12-02" in line.text and "19:00" in line.text
    (cancelled,) = await chat.say(action=button(line, "取消"))
    assert "已取消" in cancelled.text
    (empty,) = await chat.say("/mybookings")
    assert "没有待办的预约" in empty.text
    await sched.at(when(2, 18))  # no reminder for a cancelled or moved booking
    assert not any("⏰" in t for t in sched.texts("fake:laowang"))


async def test_staff_mark_a_no_show_and_the_resident_may_rebook(sched: Bot) -> None:
    await book(sched, "laowang", "今晚", "18:00", "医保缴费")
    staff = sched.chat("zhu", group="staffroom", network="other")
    (roster,) = await staff.say("/roster")
    (marked,) = await staff.say(action=button(roster, "没来"))
    assert "未到" in marked.text
    ask = sched.sent_to("fake:laowang")[-1]
    assert "要重新预约吗" in ask.text
    (dates,) = await sched.chat("laowang").say(action=button(ask, "重新预约"))
    assert "请选择日期" in dates.text
    (again,) = await staff.say(action=button(roster, "没来"))  # a second tap changes nothing
    assert "不是待办" in again.text


async def test_residents_cannot_mark_attendance_or_touch_others_bookings(
    sched: Bot,
) -> None:
    await book(sched, "laowang", "今晚", "18:00", "医保缴费")
    (refused,) = await sched.chat("zhang").say(action="b:came:1")
    assert "工作人员" in refused.text
    (refused,) = await sched.chat("zhang").say(action="b:cancel:1")
    assert "失效" in refused.text
    (roster,) = await sched.chat("zhang").say("/roster")
    assert "工作人员" in roster.text


async def test_a_reminder_after_the_appointment_began_is_dropped(
    sched_settings: Settings, clock: FakeClock, analyzer: TextAnalyzer, sentence_model: ModelStatus
) -> None:
    bot = await start_bot(sched_settings, clock, analyzer, sentence_model, scheduler=True)
    await book(bot, "laowang", "今晚", "18:00", "医保缴费")
    bot.close()
    clock.now = when(1, 18, 5)  # down from 09:00 until after the slot began
    bot = await start_bot(sched_settings, clock, analyzer, sentence_model, scheduler=True)
    await bot.app.scheduler.settle()
    try:
        assert bot.texts("fake:laowang") == []
        assert bot.app.core.store.repo(JobLog).outcomes("reminder:1:")[0]["outcome"] == "dropped"
    finally:
        bot.close()


async def test_no_thanks_one_booking_per_slot_and_attended_keep_their_place(
    sched: Bot,
) -> None:
    for user in ("a", "b"):
        await book(sched, user, "今晚", "19:00", "医保缴费")
    (again,) = await book(sched, "a", "今晚", "18:00", "医保缴费")
    assert "预约成功" in again.text  # another slot is fine …
    chat = sched.chat("a")
    (dates,) = await chat.say("/book")
    (slots,) = await chat.say(action=button(dates, "今晚"))
    (needs,) = await chat.say(action=button(slots, "18:00"))
    (twice,) = await chat.say(action=button(needs, "医保缴费"))
    assert "已经约了这个时段" in twice.text  # … the same slot twice is not
    staff = sched.chat("zhu", group="staffroom", network="other")
    (roster,) = await staff.say("/roster")
    await staff.say(action=next(b.action for b in roster.buttons if b.label == "✅1 到了"))
    (dates,) = await sched.chat("c").say("/book")
    (slots,) = await sched.chat("c").say(action=button(dates, "今晚"))
    assert not any("19:00" in b.label for b in slots.buttons)  # attended still holds its place
    await staff.say(action=next(b.action for b in roster.buttons if b.label == "❌2 没来"))
    ask = sched.sent_to("fake:b")[-1]
    (ok,) = await sched.chat("b").say(action=button(ask, "不用了"))
    assert "随时预约" in ok.text


async def test_a_booking_inside_the_reminder_lead_gets_no_reminder(sched: Bot) -> None:
    await sched.at(when(1, 17))
    (done,) = await book(sched, "laowang", "今晚", "18:00", "医保缴费")
    assert "预约成功" in done.text
    await sched.at(when(1, 17, 59))
    assert not any("⏰" in t for t in sched.texts("fake:laowang"))
