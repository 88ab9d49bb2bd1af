"""What the FAQ promises happens: keyword actions, and answers that quote the schedule."""

from __future__ import annotations

from pathlib import Path

from tests.cli_helpers import yishiting
from tests.conftest import REPO
from tests.harness import Bot


async def test_sending_the_keyword_an_answer_names_reaches_a_person(bot: Bot) -> None:
    resident = bot.chat("lin")
    (answer,) = await resident.say("社区妇女维权站能帮什么忙？")
    assert "维权站" in answer.text
    assert answer.buttons[0].label == "请工作人员联系我"  # the answer's own action, one tap
    (created,) = await resident.say("“维权站”")
    assert created.text.startswith("已转给工作人员（编号 #1001）")
    (card,) = bot.sent_to("other:g:staffroom")
    assert "妇女维权" in card.text and "维权站" in card.text
    (tapped,) = await resident.press(answer, "请工作人员联系我")
    assert "#1002" in tapped.text


async def test_the_booking_answer_quotes_the_schedule_and_its_keyword_books(bot: Bot) -> None:
    (answer,) = await bot.chat("wu").say("延时服务怎么预约")
    # schedules/evening-service.yaml: Monday to Thursday, slots 18:00/18:30/19:00, 7 days ahead
    assert "每周一、周二、周三、周四晚上 18:00–19:30" in answer.text
    assert "18:00、18:30、19:00" in answer.text and "最多可提前 7 天" in answer.text
    assert "{" not in answer.text
    (dates,) = await bot.chat("wu").say("预约")
    assert any(b.action.startswith("b:date:") for b in dates.buttons)


def test_faq_check_names_unknown_placeholders_and_promises_nothing_delivers(tmp_path: Path) -> None:
    bad = tmp_path / "faq.yaml"
    bad.write_text(
        "version: 1\nentries:\n  - id: hours\n    category: 社区服务\n"
        "    questions: [几点上班]\n"
        "    answer: 上班时间 {office_hour}。有事在本机器人发“办事”。\n",
        encoding="utf-8",
    )
    result = yishiting("faq", "check", "--faq", str(bad))
    assert result.returncode == 2
    assert "unknown placeholder {office_hour}" in result.stdout
    assert "send “办事”, which is no command" in result.stdout
    bundled = yishiting("faq", "check", "--faq", str(REPO / "faq.yaml"))
    assert bundled.returncode == 0 and "warning" not in bundled.stdout
