"""The real core through a fake channel: answers, suggestions, etiquette, roles, bad input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bot.config import Settings
from bot.faq.meaning import ModelStatus
from bot.faq.text import TextAnalyzer
from tests.fakes import FakeClock
from tests.harness import Bot, start_bot


async def test_colloquial_question_gets_the_answer_with_rating_buttons(bot: Bot) -> None:
    replies = await bot.chat("zhang").say("群主你好，俺想问下城乡居民医报咋在手机上交？")
    assert len(replies) == 1
    assert "河北税务" in replies[0].text
    actions = [b.action for b in replies[0].buttons]
    assert actions[:2] == [
        "rate:up:medical-insurance-online-payment",
        "rate:down:medical-insurance-online-payment",
    ]
    assert actions[2].startswith("askstaff:")  # in private: hand it to a person instead


async def test_traditional_characters_are_understood(bot: Bot) -> None:
    replies = await bot.chat("li").say("路燈不亮了找誰修")
    assert replies and "路灯" in replies[0].text


async def test_vague_question_in_private_gets_did_you_mean_buttons(bot: Bot) -> None:
    replies = await bot.chat("wang").say("医保")
    assert len(replies) == 1
    assert replies[0].text == "您是不是想问："
    *suggestions, ask_staff = replies[0].buttons
    assert 1 <= len(suggestions) <= 3
    assert all(b.action.startswith("faq:") for b in suggestions)
    assert ask_staff.action.startswith("askstaff:")


async def test_pressing_a_suggestion_answers_it(bot: Bot) -> None:
    chat = bot.chat("wang")
    (suggestion,) = await chat.say("医保")
    replies = await chat.say(action=suggestion.buttons[0].action)
    entry_id = suggestion.buttons[0].action.removeprefix("faq:")
    assert replies[0].buttons[0].action == f"rate:up:{entry_id}"


async def test_rating_is_stored_and_thanked(bot: Bot) -> None:
    chat = bot.chat("zhao")
    (answer,) = await chat.say("电动车能在楼道里充电吗")
    (thanks,) = await chat.press(answer, "rate:down")
    assert "抱歉" in thanks.text
    staff = bot.chat("staff")
    (report,) = await staff.say("/ratings")
    assert "ebike" in report.text and "👎 1" in report.text


async def test_group_chit_chat_and_thanks_get_silence(bot: Bot) -> None:
    group = bot.chat("neighbour", group="丰仓小区群")
    for text in (
        "谢谢群主🙏",
        "大家早上好",
        "今天中午吃的饺子 韭菜馅的 香",
        "收到收到",
        "[抱拳][抱拳]",
    ):
        assert await group.say(text) == [], text


async def test_group_question_with_a_confident_answer_is_answered(bot: Bot) -> None:
    replies = await bot.chat("neighbour", group="丰仓小区群").say("小区路灯不亮了找谁修？")
    assert len(replies) == 1 and "/report" in replies[0].text


async def test_group_suggestions_only_when_addressed(bot: Bot) -> None:
    group = bot.chat("neighbour", group="丰仓小区群")
    assert await group.say("医保") == []
    replies = await group.say("医保", mention=True)
    assert replies and replies[0].buttons


async def test_unanswerable_private_question_becomes_a_question_ticket(bot: Bot) -> None:
    (reply,) = await bot.chat("sun").say("双色球昨晚开的啥号？")
    assert "已转给工作人员，编号 #1001" in reply.text
    (card,) = bot.sent_to("other:g:staffroom")
    assert "#1001" in card.text and "双色球" in card.text
    (listing,) = await bot.chat("staff").say("/unanswered")
    assert "双色球" in listing.text


async def test_private_greeting_is_friendly_and_not_logged(bot: Bot) -> None:
    (reply,) = await bot.chat("sun").say("你好")
    assert "有什么可以帮您" in reply.text
    (listing,) = await bot.chat("staff").say("/unanswered")
    assert "最近没有" in listing.text


async def test_help_differs_by_role(bot: Bot) -> None:
    (resident,) = await bot.chat("res").say("/help")
    (staff,) = await bot.chat("staff").say("!help")
    (admin,) = await bot.chat("admin").say("  ！help")
    assert "/unanswered" not in resident.text and "/reload" not in resident.text
    assert "/unanswered" in staff.text and "/reload" not in staff.text
    assert "/unanswered" in admin.text and "/reload" in admin.text


async def test_non_admin_is_refused_politely(bot: Bot) -> None:
    (reply,) = await bot.chat("res").say("/reload")
    assert reply.text == "抱歉，“/reload”只有管理员可以使用。"
    (staff_reply,) = await bot.chat("staff").say("/reload")
    assert "只有管理员" in staff_reply.text


async def test_staff_only_listing_stays_out_of_groups(bot: Bot) -> None:
    (reply,) = await bot.chat("staff", group="丰仓小区群").say("/unanswered")
    assert "私信" in reply.text


async def test_language_follows_setting_and_script(bot: Bot) -> None:
    chat = bot.chat("alice")
    (english,) = await chat.say("asdf qwerty zxcv?")
    assert "passed it to the staff" in english.text
    (chinese,) = await chat.say("/reload")
    assert "只有管理员" in chinese.text
    await chat.say("/lang en")
    (after,) = await chat.say("/reload")
    assert after.text.startswith("Sorry")


async def test_english_question_is_answered(bot: Bot) -> None:
    (reply,) = await bot.chat("bob").say("What are the office hours of the service centre?")
    assert "8:30" in reply.text


async def test_bad_input_gets_clear_answers(bot: Bot) -> None:
    chat = bot.chat("res")
    (too_long,) = await chat.say("医保" * 600)
    assert "太长" in too_long.text and "1000" in too_long.text
    (photo,) = await chat.say("", attachments=("file-id-1",))
    assert "文字" in photo.text
    (unknown,) = await chat.say("/frobnicate")
    assert "/help" in unknown.text
    (usage,) = await bot.chat("staff").say("/unanswered lots")
    assert "/unanswered [1-50]" in usage.text
    (stale,) = await chat.say(action="faq:no-such-entry")
    assert "失效" in stale.text
    (lang,) = await chat.say("/lang klingon")
    assert "/lang zh" in lang.text


async def test_unknown_command_in_a_group_is_ignored(bot: Bot) -> None:
    assert await bot.chat("res", group="丰仓小区群").say("/otherbot_command") == []


async def test_only_the_faqs_own_pictures_are_sent_as_files(
    tmp_path: Path,
    make_settings: Callable[..., Settings],
    analyzer: TextAnalyzer,
    sentence_model: ModelStatus,
) -> None:
    """Files the adapters read come from the FAQ's folder; residents' media stay references."""
    (tmp_path / "steps.png").write_bytes(b"\x89PNG")
    (tmp_path / "faq.yaml").write_text(
        "version: 1\nentries:\n  - id: wheelchair-lending\n    category: 社区服务\n"
        "    questions: [社区能借轮椅吗]\n    answer: 可以，到一楼大厅登记。\n"
        "    attachments: [steps.png]\n",
        encoding="utf-8",
    )
    bot = await start_bot(
        make_settings(faq=tmp_path / "faq.yaml"), FakeClock(), analyzer, sentence_model
    )
    try:
        (answer,) = await bot.chat("res").say("社区能借轮椅吗")
        assert answer.files == (str(tmp_path / "steps.png"),) and answer.attachments == ()
        group = bot.chat("res", group="丰仓小区群")
        await group.say("/report 3号楼路灯不亮", attachments=("/proc/self/environ",))
        (card,) = bot.sent_to("other:g:staffroom")
        assert card.attachments == ("/proc/self/environ",) and card.files == ()
    finally:
        bot.close()


async def test_small_talk_in_private_is_never_a_ticket(bot: Bot) -> None:
    """哈哈, 收到, ok … get a friendly line; nothing reaches the staff room."""
    chat = bot.chat("sun")
    for text in ("哈哈", "收到", "好嘞", "ok", "完成", "Good morning everyone", "👍👍", "谢谢！"):
        (reply,) = await chat.say(text)
        assert "#10" not in reply.text, text
    assert bot.sent_to("other:g:staffroom") == []
    statement = await chat.say("我家阳台的月季今年开得特别好")  # not a question: they decide
    assert [b.label for b in statement[0].buttons] == ["问工作人员"]
    assert bot.sent_to("other:g:staffroom") == []
    (created,) = await chat.press(statement[0], "问工作人员")
    assert "#1001" in created.text


async def test_unanswered_questions_come_grouped_by_meaning_and_are_answered_at_once(
    bot: Bot,
) -> None:
    """Staff see '3 人问过' once instead of three lines, and answer the group in one go."""
    for who, text in (
        ("a", "社区能帮忙办结婚证吗"),
        ("b", "结婚证在社区能办吗"),
        ("c", "社区可以办结婚证吗"),
        ("d", "双色球昨晚开的啥号？"),
    ):
        await bot.chat(who).say(text)
    staff = bot.chat("staff")
    (listing,) = await staff.say("/unanswered")
    first = listing.text.split("\n")[1]
    assert first.startswith("1. 3 人问过：") and "结婚证" in first
    assert "双色球" in listing.text
    (done,) = await staff.say("/answer g1 certificates-issuable")
    assert "已把 3 个问法记为 certificates-issuable 的候选说法" in done.text
    (wrong,) = await staff.say("/answer g9 certificates-issuable")
    assert "没有第 9 组" in wrong.text
