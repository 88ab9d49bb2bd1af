"""One dialogue engine for every multi-step flow: stories of booking, reporting, adding
details and confirming a broadcast, with typed answers, timeouts, drafts and restarts."""

from __future__ import annotations

from datetime import timedelta

from bot.desk.tickets import Status
from bot.evening.booking import Bookings
from tests.harness import Bot
from tests.scheduled import GROUPS, button

EXPIRED = "这个操作已过期"


def bookings(bot: Bot) -> list[dict[str, object]]:
    return [doc for _, doc in bot.core.store.repo(Bookings).where("status", "booked")]


async def test_an_elderly_resident_books_in_words_across_a_restart(sched: Bot) -> None:
    """老吴 types what he sees; the bot restarts between two of his answers."""
    wu = sched.chat("laowu")
    (dates,) = await wu.say("/预约")
    assert "请选择日期" in dates.text
    (sunday,) = await wu.say("周日")  # no service on Sundays: told so, the days asked again
    assert sunday.text.startswith("那天不能预约") and sunday.buttons == dates.buttons
    (slots,) = await wu.say("明天")  # Tuesday 12-01 → Wednesday 12-02
    assert "12-02" in slots.text and "18:30" in slots.buttons[1].label

    sched = await sched.restart()  # mid-dialogue: the step is in the store
    wu = sched.chat("laowu")
    (needs,) = await wu.say("２")  # the second slot, typed full width
    assert "需要办什么" in needs.text
    (again,) = await wu.say("确认")  # a bare yes is no need: asked again, clearly
    assert again.text.startswith("请点下面的按钮") and "需要办什么" in again.text
    (booked,) = await wu.say("医保")  # part of the label 医保缴费
    assert "预约成功" in booked.text and "18:30" in booked.text and "医保缴费" in booked.text
    (calm,) = await wu.say("确认")  # confirmed twice: answered, nothing booked again
    assert "已经办好了" in calm.text
    assert len(bookings(sched)) == 1


async def test_a_timed_out_booking_s_buttons_do_nothing(sched: Bot) -> None:
    zhao = sched.chat("zhao")
    (dates,) = await zhao.say("/book")
    await sched.at(sched.clock.now + timedelta(minutes=31))  # every dialogue times out
    (stale,) = await zhao.say(action=button(dates, "12-02"))
    assert EXPIRED in stale.text
    (dates,) = await zhao.say("/book")  # a fresh start works, and finishes
    (slots,) = await zhao.press(dates, "12-02")
    (needs,) = await zhao.press(slots, "18:00")
    (done,) = await zhao.press(needs, "医保")
    assert "预约成功" in done.text
    for old in (slots, needs):  # buttons of the finished dialogue: nothing happens
        (finished,) = await zhao.say(action=old.buttons[0].action)
        assert EXPIRED in finished.text
    assert len(bookings(sched)) == 1


async def test_a_report_cut_by_a_restart_is_resumed_from_its_draft(sched: Bot) -> None:
    li = sched.chat("li")
    (compounds,) = await li.say("/report 3号楼后头的路灯黑了好几天了")
    assert "哪个小区" in compounds.text
    sched = await sched.restart()
    await sched.at(sched.clock.now + timedelta(minutes=45))
    li = sched.chat("li")
    *_, offer = await li.say("你好")  # the greeting is answered, then the draft is offered
    assert "3号楼后头的路灯" in offer.text
    (stale,) = await li.say(action=compounds.buttons[0].action)  # the old prompt's button
    assert EXPIRED in stale.text
    (resumed,) = await li.say("接着填")  # the offer's button, typed
    assert "哪个小区" in resumed.text
    (photo,) = await li.say("1")
    assert "照片" in photo.text
    (confirm,) = await li.say("跳过")
    assert "3号楼后头的路灯黑了好几天了" in confirm.text
    (created,) = await li.say("好的")
    assert created.text.startswith("已登记，编号 #1001")
    (calm,) = await li.say("确认")  # the final word again: no second ticket
    assert "已经办好了" in calm.text and sched.tickets.get(1002) is None


async def test_a_report_s_wrong_answer_is_asked_again_in_the_user_s_language(bot: Bot) -> None:
    bob = bot.chat("bob", language="en")
    await bot.chat("bob").say("/lang en")
    (categories,) = await bob.say("/report")
    (unclear,) = await bob.say("hmm")  # no category named: asked again, in English
    assert unclear.text.startswith("Please tap a button") and unclear.buttons == categories.buttons
    (ask_text,) = await bob.say("1")
    assert ask_text.text == bot.core.conversation.t("en", "report_ask_text")
    (compound,) = await bob.say("The street light by building 3 is out")
    assert compound.buttons[0].label == "丰仓小区"
    (photo,) = await bob.say("1")
    assert not photo.text.startswith("Please tap")
    (confirm,) = await bob.say("skip")
    assert "Submit" in " ".join(b.label for b in confirm.buttons)
    (again,) = await bob.say("what?")
    assert again.text.startswith("Please tap a button") and "Submit" in again.buttons[0].label
    (created,) = await bob.say("yes")
    assert "#1001" in created.text


async def test_cancel_leaves_every_flow(sched: Bot) -> None:
    resident = sched.chat("sun")
    (categories,) = await resident.say("/report")
    (cancelled,) = await resident.say("/cancel")
    assert "已取消" in cancelled.text
    (stale,) = await resident.press(categories, "路灯")
    assert EXPIRED in stale.text

    (dates,) = await resident.say("/book")
    (slots,) = await resident.press(dates, "12-02")
    (cancelled,) = await resident.say("/取消")
    assert "已取消" in cancelled.text
    (stale,) = await resident.press(slots, "18:00")
    assert EXPIRED in stale.text
    (nothing,) = await resident.say("/cancel")
    assert "没有正在填写" in nothing.text

    admin = sched.chat("admin")
    (preview,) = await admin.say("/broadcast now to all: 明早停水")
    (cancelled,) = await admin.say("/cancel")
    assert "已取消" in cancelled.text
    (stale,) = await admin.press(preview, "确认")  # the draft was withdrawn with the dialogue
    assert "没有待发的广播" in stale.text
    await sched.app.scheduler.settle()
    assert not any("停水" in t for group in GROUPS for t in sched.texts(group))


async def test_details_end_with_done_said_twice(sched: Bot) -> None:
    """A report from a group goes on in private; "完成" twice ends it once."""
    neighbour = sched.chat("zhou", group="丰仓小区群")
    await neighbour.say("/报修 小区东门的路灯不亮了")
    ticket = sched.tickets.get(1001)
    assert ticket is not None
    zhou = sched.chat("zhou")
    (added,) = await zhou.say("就在东门第二根灯杆")
    assert "已补充到 #1001" in added.text
    (done,) = await zhou.say("完成")
    assert "#1001 的信息已交给工作人员" in done.text
    (calm,) = await zhou.say("完成")
    assert "已经办好了" in calm.text
    ticket = sched.tickets.get(1001)
    assert ticket is not None and ticket.status is Status.OPEN
    assert sched.tickets.get(1002) is None
    assert not any("完成" in entry.text for entry in ticket.history)


async def test_details_can_be_cancelled_and_time_out(sched: Bot) -> None:
    await sched.chat("qian", group="丰仓小区群").say("/报修 3号楼楼道灯坏了")
    qian = sched.chat("qian")
    (cancelled,) = await qian.say("/cancel")
    assert "已取消" in cancelled.text
    await sched.chat("wang", group="丰仓小区群").say("/报修 5号楼门口积水很深")
    await sched.at(sched.clock.now + timedelta(minutes=31))
    replies = await sched.chat("wang").say("谢谢")  # no longer a detail of the ticket
    assert not any("已补充" in r.text for r in replies)


async def test_an_admin_confirms_a_broadcast_by_typing(sched: Bot) -> None:
    admin = sched.chat("admin")
    (preview,) = await admin.say("/broadcast now to all: 今晚七点开居民会")
    (unclear,) = await admin.say("嗯？什么意思")
    assert unclear.text.startswith("请点下面的按钮") and "预览" in unclear.text
    scheduled = await admin.say("确认")
    assert "已安排广播" in scheduled[0].text
    await sched.app.scheduler.settle()
    assert any("今晚七点开居民会" in t for t in sched.texts("fake:g:丰仓小区群"))
    (again,) = await admin.press(preview, "确认")  # the preview's button after it went out
    assert "没有待发的广播" in again.text
    (old,) = await admin.say("/broadcast at 12-04 10:00 to all: 周五开会")
    await admin.say("/broadcast at 12-05 10:00 to all: 周六开会")  # a newer preview replaces it
    (replaced,) = await admin.press(old, "确认")
    assert EXPIRED in replaced.text


async def test_a_draft_declined_in_words_and_the_cancel_button(sched: Bot) -> None:
    li = sched.chat("li")
    (categories,) = await li.say("/report")
    (cancelled,) = await li.press(categories, "取消")  # the engine's own button
    assert "已取消" in cancelled.text
    (stale,) = await li.press(categories, "取消")
    assert EXPIRED in stale.text
    await li.say("/report 垃圾站三天没人清了")
    await sched.at(sched.clock.now + timedelta(minutes=31))
    *_, offer = await li.say("在吗")
    assert "垃圾站三天没人清了" in offer.text
    (declined,) = await li.say("不用了")  # the offer's second button, typed
    assert "已取消" in declined.text
    replies = await li.say("在吗")  # offered once, declined: never again
    assert not any("垃圾站" in r.text for r in replies)
    (gone,) = await li.press(offer, "接着填")
    assert EXPIRED in gone.text
