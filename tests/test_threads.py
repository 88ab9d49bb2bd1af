"""A resident and the staff talk a ticket through, each on their own network (issue 12).

Residents are on "fake", the staff room and its staff on "other"; the scheduler runs, so
the batched updates to the staff room go out as they would in production.
"""

from __future__ import annotations

from datetime import timedelta

from bot.models import Outgoing
from channels.base import ChannelError
from tests.harness import Bot
from tests.scheduled import STAFF_ROOM, button

RESIDENT = "fake:zhang"


async def settle(bot: Bot, minutes: float = 0) -> None:
    """Let `minutes` pass with the bot running: due jobs (staff updates) fire."""
    await bot.at(bot.clock.now + timedelta(minutes=minutes))


def updates(bot: Bot) -> list[Outgoing]:
    return [o for o in bot.sent_to(STAFF_ROOM) if o.text.startswith("💬")]


async def report_and_reply(bot: Bot) -> None:
    """張 reports in the group; staff claim and reply; 張 has been told."""
    group = bot.chat("zhang", group="丰仓小区群")
    await group.say("/report 3号楼后头的路灯黑了好几天了")
    await bot.chat("zhang").say("完成")  # no details to add in private
    staff = bot.chat("zhu", group="staffroom", network="other")
    await staff.say("/claim 1001")
    await staff.say("/reply 1001 明天上午9点电工来修，麻烦在楼下等一下")
    await settle(bot)
    assert bot.texts(RESIDENT)[-1] == "工作人员回复 #1001：明天上午9点电工来修，麻烦在楼下等一下"


async def test_a_resident_answers_the_staff_and_the_staff_answer_back(sched: Bot) -> None:
    await report_and_reply(sched)
    resident = sched.chat("zhang")
    (ack,) = await resident.say("行，明天上午我在家，几点来？")
    assert ack.text.startswith("已转给处理 #1001 的工作人员")  # not an FAQ answer
    await settle(sched)
    (update,) = updates(sched)
    assert "#1001" in update.text and "行，明天上午我在家，几点来？" in update.text

    # Two more lines at once: the staff get one update, after the batch window.
    await resident.say("我电话13512345678，到了给我打电话")
    await resident.say("单元门密码是1234")
    await settle(sched, 1)
    assert len(updates(sched)) == 1
    await settle(sched, 1.5)
    (_, burst) = updates(sched)
    assert "13512345678" in burst.text and "单元门密码" in burst.text

    # The staff answer by replying to the update, as to a card.
    staff = sched.chat("zhu", group="staffroom", network="other")
    (update_id,) = sched.other.sent_ids(burst)
    (done,) = await staff.say("好的，电工到了给您打电话", reply_to=update_id)
    assert "#1001" in done.text
    await settle(sched)
    assert sched.texts(RESIDENT)[-1] == "工作人员回复 #1001：好的，电工到了给您打电话"

    # A thank-you is answered kindly and not passed on.
    (thanks,) = await resident.say("好的，谢谢")
    assert "#1001" not in thanks.text
    await settle(sched, 5)
    assert len(updates(sched)) == 2

    # The whole conversation is one thread in /ticket.
    (history,) = await staff.say("/ticket 1001")
    lines = history.text
    assert lines.index("明天上午9点电工来修") < lines.index("几点来") < lines.index("电工到了")
    ticket = sched.tickets.get(1001)
    assert ticket is not None and [e.action for e in ticket.history].count("message") == 3


async def test_a_new_question_in_the_thread_goes_to_the_faq(sched: Bot) -> None:
    await report_and_reply(sched)
    (ack,) = await sched.chat("zhang").say("医保怎么在网上交费")
    (answer,) = await sched.chat("zhang").say(action=button(ack, "这是新问题"))
    assert "河北税务" in answer.text
    ticket = sched.tickets.get(1001)
    assert ticket is not None and ticket.history[-1].action == "moved"
    (history,) = await sched.chat("zhu", group="staffroom", network="other").say("/ticket 1001")
    assert "转为新问题" in history.text


async def test_a_reply_to_the_staffs_message_finds_its_ticket_among_several(sched: Bot) -> None:
    await report_and_reply(sched)
    group = sched.chat("zhang", group="丰仓小区群")
    await group.say("/report 5号楼下水道堵了，污水往外冒")
    await sched.chat("zhang").say("完成")
    staff = sched.chat("zhu", group="staffroom", network="other")
    await staff.say("/reply 1002 下午去疏通")
    await settle(sched)
    resident = sched.chat("zhang")
    (which,) = await resident.say("好的，谢谢，我下午在家")
    assert which.text == "您说的是哪一件事？"
    assert [b.label for b in which.buttons] == [
        "#1001 3号楼后头的路灯黑了好…",
        "#1002 5号楼下水道堵了，污水…",
        "这是新问题",
    ]
    (ack,) = await resident.press(which, "#1002")
    assert "#1002" in ack.text

    relay = next(o for o in sched.sent_to(RESIDENT) if "下午去疏通" in o.text)
    (relay_id,) = sched.channel.sent_ids(relay)
    (direct,) = await resident.say("门口有人等", reply_to=relay_id)
    assert "#1002" in direct.text
    ticket = sched.tickets.get(1002)
    assert ticket is not None and ticket.history[-1].text == "门口有人等"


async def test_nobody_reaches_another_residents_ticket(sched: Bot) -> None:
    await report_and_reply(sched)
    relay = next(o for o in sched.sent_to(RESIDENT) if "电工来修" in o.text)
    (relay_id,) = sched.channel.sent_ids(relay)
    stranger = sched.chat("wang")
    (reply,) = await stranger.say("我也想问问几点来", reply_to=relay_id)
    assert "#1001" not in reply.text  # the FAQ (and a ticket of their own), not 張's thread
    ticket = sched.tickets.get(1001)
    assert ticket is not None and all(e.who != "fake:wang" for e in ticket.history)
    forged = await stranger.say(action="thread:new:1001:4")
    assert "失效" in forged[0].text


async def test_a_restart_between_the_words_and_the_update_sends_it_once(sched: Bot) -> None:
    await report_and_reply(sched)
    await sched.chat("zhang").say("我电话13512345678")
    bot = await sched.restart()  # before the update job ran
    try:
        await settle(bot, 3)
        assert len([o for o in updates(bot) if "13512345678" in o.text]) == 1
        bot = await bot.restart()
        await settle(bot, 10)
        assert updates(bot) == []  # the fresh channels saw nothing more
    finally:
        bot.close()


async def test_staff_hear_details_photos_and_me_too(sched: Bot) -> None:
    group = sched.chat("zhang", group="丰仓小区群")
    await group.say("/report 5号楼门口路灯不亮了")
    await sched.chat("zhang").say("就在3号楼东边第二根灯杆")
    await sched.chat("zhang").say("", attachments=("photo-file-1",))
    neighbour = sched.chat("wang", group="丰仓小区群")
    (offer,) = await neighbour.say("/report 5号楼门口的路灯不亮")
    await neighbour.press(offer, "metoo")
    await settle(sched)
    await settle(sched, 3)
    words = "\n".join(o.text for o in updates(sched))
    assert "就在3号楼东边第二根灯杆" in words and "照片 1 张" in words
    assert "也反映了这个问题（共 2 人）" in words
    assert any(o.attachments == ("photo-file-1",) for o in updates(sched))


async def test_the_assignee_hears_it_privately(sched: Bot) -> None:
    await sched.chat("zhang", group="丰仓小区群").say("/report 楼道灯坏了")
    await sched.chat("staff").say("/help")  # the bot learns the staff member's name
    staff = sched.chat("zhu", group="staffroom", network="other")
    (done,) = await staff.say("/assign 1001 staff")
    assert "#1001" in done.text
    (told,) = sched.sent_to("fake:staff")[-1:]
    assert "把 #1001 指派给您" in told.text and "楼道灯坏了" in told.text


async def test_two_residents_one_staff_room_and_an_english_resident(sched: Bot) -> None:
    """Each resident's words reach their own ticket; replies never cross; English stays English."""
    await sched.chat("zhang", group="丰仓小区群").say("/report 3号楼路灯不亮")
    await sched.chat("zhang").say("完成")
    bob = sched.chat("bob", language="en")
    await bob.say("/lang en")
    await sched.chat("bob", group="丰仓小区群").say(
        "/report The drain outside building 5 is blocked"
    )
    await bob.say("done")
    staff = sched.chat("zhu", group="staffroom", network="other")
    tickets = {t.reporters[0].key: t.number for t in sched.tickets.active()}
    await staff.say(f"/reply {tickets['fake:zhang']} 今晚去修")
    await staff.say(f"/reply {tickets['fake:bob']} We will clear it tomorrow")
    await settle(sched)
    (mine,) = await sched.chat("zhang").say("好，我在家等")
    assert f"#{tickets['fake:zhang']}" in mine.text
    (his,) = await bob.say("Thanks, I will be home after 6 pm")
    assert his.text.startswith(f"Passed on to the staff handling #{tickets['fake:bob']}")
    await settle(sched)
    words = {o.text.split("\n")[0]: o.text for o in updates(sched)}
    assert any("我在家等" in t and f"#{tickets['fake:zhang']}" in t for t in words.values())
    assert any("after 6 pm" in t and f"#{tickets['fake:bob']}" in t for t in words.values())
    assert not any("after 6 pm" in t for t in sched.texts(RESIDENT))  # never crosses


async def test_staff_hear_when_a_reply_cannot_reach_the_resident(sched: Bot) -> None:
    """Issue 16, finding 9: no '已转给居民' that is not true; the staff room is told."""
    await sched.chat("zhang", group="丰仓小区群").say("/report 楼道灯坏了")
    await sched.chat("zhang").say("完成")
    staff = sched.chat("zhu", group="staffroom", network="other")
    sched.channel.failures.append(
        ChannelError("Forbidden: bot was blocked by the user", retryable=False)
    )
    ack, *_ = await staff.say("/reply 1001 明天去修")
    assert "送不到会在这里告诉你" in ack.text
    await settle(sched)
    (notice,) = [t for t in sched.texts(STAFF_ROOM) if t.startswith("⚠️ #1001")]
    assert "没能送到" in notice and "blocked" in notice
