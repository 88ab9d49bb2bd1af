"""Tickets through the real core: residents on one fake network, staff on another."""

from __future__ import annotations

from collections.abc import Callable

from bot.config import Settings
from bot.desk.repo import TicketRepo
from bot.faq.feedback import FaqSuggestions
from bot.faq.meaning import ModelStatus
from bot.faq.text import TextAnalyzer
from tests.fakes import FakeClock
from tests.harness import Bot, start_bot

STAFF_ROOM = "other:g:staffroom"


async def test_street_light_story_across_networks(bot: Bot, clock: FakeClock) -> None:
    resident_group = bot.chat("zhang", group="丰仓小区群")
    (ack, details) = await resident_group.say("/report 3号楼后头的路灯黑了好几天了")
    assert (
        ack.text == "已收到，编号 #1001。想补充情况或收到工作人员的回复，请私信我（先发 /start）。"
    )
    assert str(ack.to) == "fake:g:丰仓小区群"
    assert str(details.to) == "fake:zhang" and "#1001" in details.text  # private, not group
    (card,) = bot.sent_to(STAFF_ROOM)
    assert "#1001" in card.text and "路灯照明" in card.text and "丰仓小区" in card.text
    assert [b.action for b in card.buttons] == ["t:claim:1001", "t:reply:1001", "t:resolve:1001"]

    resident = bot.chat("zhang")
    (added,) = await resident.say("就在3号楼东边第二根灯杆")
    assert "已补充到 #1001" in added.text
    (done,) = await resident.say("完成")
    assert "#1001" in done.text

    staff = bot.chat("zhu", group="staffroom", network="other")
    clock.advance(minutes=20)
    (claimed,) = await staff.say(action="t:claim:1001")
    assert claimed.text == "你已认领 #1001。"
    assert bot.channel.sent[-1].text == "您反映的问题 #1001 已有工作人员接手处理。"
    assert str(bot.channel.sent[-1].to) == "fake:zhang"

    # A platform reply to the card relays the text to the resident's private chat.
    card_id = next(iter(bot.other.sent_ids(card)))
    (relayed_ack,) = await staff.say("明天上午电工过去换灯泡", reply_to=card_id)
    assert "已记下对 #1001 的回复" in relayed_ack.text
    assert bot.channel.sent[-1].text == "工作人员回复 #1001：明天上午电工过去换灯泡"

    (resolved,) = await staff.say("/resolve 1001 已更换灯泡")
    assert "已标记为已解决" in resolved.text
    assert bot.channel.sent[-1].text == "您反映的问题 #1001 已处理完毕：已更换灯泡"

    (status,) = await resident.say("/status 1001")
    assert "已解决" in status.text and "已更换灯泡" in status.text

    (detail,) = await staff.say("/ticket 1001")
    assert "东边第二根灯杆" in detail.text and "zhu 解决" in detail.text
    ticket = bot.app.core.store.repo(TicketRepo).get(1001)
    assert ticket is not None
    assert [(e.action, e.via) for e in ticket.history] == [
        ("open", "fake"),
        ("detail", "fake"),
        ("claim", "other"),
        ("reply", "other"),
        ("resolve", "other"),
    ]


async def test_private_report_dialogue_resumes_after_restart(
    make_settings: Callable[..., Settings],
    analyzer: TextAnalyzer,
    sentence_model: ModelStatus,
    clock: FakeClock,
) -> None:
    bot = await start_bot(make_settings(), clock, analyzer, sentence_model)
    li = bot.chat("li")
    (categories,) = await li.say("/report")
    assert categories.text == "请选择问题类别："
    drains = next(b for b in categories.buttons if b.label == "排水/雨污分流")
    (ask_text,) = await li.say(action=drains.action)
    assert "描述问题" in ask_text.text
    bot = await bot.restart()  # in the middle of the dialogue
    li = bot.chat("li")
    (ask_compound,) = await li.say("院里下水道堵了，污水往外冒")
    assert [b.label for b in ask_compound.buttons] == ["丰仓小区", "粮库宿舍"]
    (ask_photo,) = await li.press(ask_compound, "粮库宿舍")
    assert "照片" in ask_photo.text
    (confirm,) = await li.say("", attachments=("photo-file-1",))
    assert "照片：已附上" in confirm.text and "粮库宿舍" in confirm.text
    (created,) = await li.press(confirm, "submit")
    assert created.text.startswith("已登记，编号 #1001")
    (card,) = bot.other.sent
    assert card.attachments == ("photo-file-1",) and "排水/雨污分流" in card.text
    bot.close()


async def test_me_too_joins_the_open_report(bot: Bot) -> None:
    await bot.chat("zhang", group="丰仓小区群").say("/report 5号楼门口路灯不亮了")
    neighbour = bot.chat("wang", group="丰仓小区群")
    (offer,) = await neighbour.say("/report 5号楼门口的路灯不亮")
    assert "#1001" in offer.text
    (joined,) = await neighbour.press(offer, "metoo")
    assert "已为 #1001 记上您一份" in joined.text
    staff = bot.chat("zhu", group="staffroom", network="other")
    await staff.say("/resolve 1001")
    told = {str(o.to) for o in bot.channel.sent if "#1001 已处理完毕" in o.text}
    assert told == {"fake:zhang", "fake:wang"}


async def test_residents_see_only_their_own_tickets(bot: Bot) -> None:
    await bot.chat("zhang").say("/report 楼道灯坏了")
    owner = bot.chat("zhang")
    (confirm_or_compound,) = await owner.say("丰仓小区")
    (confirm,) = await owner.press(confirm_or_compound, "skip")
    await owner.press(confirm, "submit")
    (mine,) = await owner.say("/mytickets")
    assert "#1001" in mine.text
    (other_view,) = await bot.chat("wang").say("/status 1001")
    (missing,) = await bot.chat("wang").say("/status 9999")
    assert other_view.text == "没有找到编号 #1001 的问题。"
    assert missing.text == "没有找到编号 #9999 的问题。"


async def test_staff_commands_refuse_residents_and_bad_input(bot: Bot) -> None:
    await bot.chat("zhang", group="丰仓小区群").say("/report 垃圾桶满了没人清")
    resident = bot.chat("zhang")
    for command in ("/claim 1001", "/resolve 1001", "/reply 1001 好的", "/tickets"):
        (refused,) = await resident.say(command)
        assert "只有工作人员可以使用" in refused.text, command
    (press,) = await resident.say(action="t:claim:1001")
    assert "只有工作人员" in press.text

    staff = bot.chat("zhu", group="staffroom", network="other")
    (unknown,) = await staff.say("/claim 4242")
    assert unknown.text == "没有找到编号 #4242 的问题。"
    (bad,) = await staff.say("/claim abc")
    assert "不是有效的问题编号" in bad.text
    (empty,) = await staff.say("/reply 1001")
    assert "内容不能为空" in empty.text
    (usage,) = await staff.say("/claim")
    assert "/claim <编号>" in usage.text
    await staff.say("/resolve 1001")
    (wrong_state,) = await staff.say("/claim 1001")
    assert wrong_state.text == "#1001 现在是“已解决”状态，不能执行“认领”。"
    (self_merge,) = await staff.say("/merge 1001 1001")
    assert "不能把问题合并到它自己" in self_merge.text


async def test_notes_stay_internal_and_merge_moves_reporters(bot: Bot) -> None:
    await bot.chat("zhang", group="丰仓小区群").say("/report 东门积水很深")
    await bot.chat("wang", group="粮库宿舍群").say("/report 下水道返味")
    staff = bot.chat("zhu", group="staffroom", network="other")
    await staff.say("/note 1001 已联系市政排水所")
    (merged,) = await staff.say("/merge 1002 1001")
    assert "#1002 已合并到 #1001" in merged.text
    assert any("合并" in o.text and str(o.to) == "fake:wang" for o in bot.channel.sent)
    (status,) = await bot.chat("zhang").say("/status 1001")
    assert "市政排水所" not in status.text
    (internal,) = await staff.say("/ticket 1001")
    assert "市政排水所" in internal.text and "wang" in internal.text


async def test_question_ticket_answered_with_faq_entry(bot: Bot) -> None:
    (reply,) = await bot.chat("sun").say("双色球昨晚开的啥号？")
    assert "#1001" in reply.text
    staff = bot.chat("zhu", group="staffroom", network="other")
    (unknown_faq,) = await staff.say("/answer 1001 no-such-entry")
    assert "没有“no-such-entry”" in unknown_faq.text
    (answered,) = await staff.say("/answer 1001 anti-fraud")
    assert "anti-fraud" in answered.text
    told = bot.channel.sent[-1]
    assert str(told.to) == "fake:sun" and "工作人员给您找到了答案" in told.text
    suggestions = bot.app.core.store.repo(FaqSuggestions).pending()
    assert [(s.entry, s.text) for s in suggestions] == [("anti-fraud", "双色球昨晚开的啥号？")]


async def test_ask_staff_button_opens_a_question(bot: Bot) -> None:
    resident = bot.chat("sun")
    (suggestion,) = await resident.say("医保")
    (reply,) = await resident.press(suggestion, "askstaff")
    assert "#1001" in reply.text
    (card,) = bot.sent_to(STAFF_ROOM)
    assert "医保" in card.text
    (someone_else,) = await bot.chat("li").say(action=suggestion.buttons[-1].action)
    assert "失效" in someone_else.text


async def test_add_details_dialogue_expires(bot: Bot, clock: FakeClock) -> None:
    await bot.chat("zhang", group="丰仓小区群").say("/report 单元门坏了关不上")
    resident = bot.chat("zhang")
    (added,) = await resident.say("是2单元")
    assert "已补充到 #1001" in added.text
    clock.advance(minutes=31)
    (answer,) = await resident.say("电动车能在楼道里充电吗")
    assert answer.text.startswith("📌")


async def test_group_chatter_after_an_offer_is_not_taken_as_an_answer(bot: Bot) -> None:
    await bot.chat("zhang", group="丰仓小区群").say("/report 5号楼门口路灯不亮了")
    neighbour = bot.chat("wang", group="丰仓小区群")
    (offer,) = await neighbour.say("/report 5号楼门口的路灯不亮")
    assert "#1001" in offer.text
    assert await neighbour.say("大家晚上好，今天降温了") == []
    (joined,) = await neighbour.press(offer, "metoo")
    assert "#1001" in joined.text


async def test_internal_views_stay_out_of_resident_groups(bot: Bot) -> None:
    await bot.chat("zhang", group="丰仓小区群").say("/report 单元门坏了")
    staff_in_group = bot.chat("staff", group="丰仓小区群")
    (refused,) = await staff_in_group.say("/ticket 1001")
    assert "工作人员群或私聊" in refused.text
    (mine,) = await bot.chat("zhang", group="丰仓小区群").say("/mytickets")
    assert "私信" in mine.text


async def test_the_main_road_light_reported_from_two_compounds_is_offered_as_the_same(
    bot: Bot,
) -> None:
    """Both compounds' groups see the light on the main road: the second report is offered
    as a "me too" although it comes from another chat, because its meaning is very close;
    another light in that compound is not. The other group never sees the first
    reporter's words: the offer names the ticket and its compound."""
    await bot.chat("zhang", group="丰仓小区群").say("/report 丰仓路主路上的路灯坏了，晚上一片黑")
    li = bot.chat("li", group="粮库宿舍群")
    (offer,) = await li.say("/report 丰仓路上路灯坏了好几天了")
    assert "#1001" in offer.text and "丰仓小区" in offer.text
    assert "一片黑" not in offer.text
    (joined,) = await li.press(offer, "metoo")
    assert "已为 #1001 记上您一份" in joined.text
    other_light = await bot.chat("zhao", group="粮库宿舍群").say("/report 小区东门的路灯不亮")
    assert any("#1002" in o.text for o in other_light)


async def test_the_same_chat_offers_a_report_in_other_words(bot: Bot) -> None:
    await bot.chat("zhang", group="丰仓小区群").say("/report 5号楼下水道堵了，污水冒出来")
    (offer,) = await bot.chat("wang", group="丰仓小区群").say(
        "/report 5号楼下水管堵了 一直往外冒水"
    )
    assert "#1001" in offer.text and "是同一个问题吗" in offer.text
    assert "污水冒出来" in offer.text  # in the chat it was written in, its words are shown


async def test_without_the_model_another_chats_report_is_never_offered(
    make_settings: Callable[..., Settings],
    analyzer: TextAnalyzer,
    sentence_model: ModelStatus,
    clock: FakeClock,
) -> None:
    settings = make_settings(match={"sentence_model": 0})
    bot = await start_bot(settings, clock, analyzer, sentence_model)
    try:
        await bot.chat("zhang", group="丰仓小区群").say(
            "/report 丰仓路主路上的路灯坏了，晚上一片黑"
        )
        replies = await bot.chat("li", group="粮库宿舍群").say("/report 丰仓路上路灯坏了好几天了")
        assert any("#1002" in o.text for o in replies)
    finally:
        bot.close()


async def test_a_question_for_the_staff_is_filed_where_both_signals_agree(bot: Bot) -> None:
    """社区能帮忙办结婚证吗 shares 帮忙 with the volunteers' entry and nothing of its meaning:
    handed to the staff, it is not filed under 志愿活动."""
    resident = bot.chat("zhang")
    (suggestion,) = await resident.say("社区能帮忙办结婚证吗")
    await resident.press(suggestion, "askstaff")
    (ticket,) = bot.tickets.active()
    assert ticket.kind == "question" and ticket.category != "志愿活动"
