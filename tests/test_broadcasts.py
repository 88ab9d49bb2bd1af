"""Broadcasts: admins' ad-hoc ones, declarative ones, targets, reports, faults and restarts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.broadcast.plan import BroadcastRecords
from bot.config import Settings
from bot.errors import ConfigError
from bot.faq.meaning import ModelStatus
from bot.faq.text import TextAnalyzer
from bot.models import Outgoing, Role
from channels.base import ChannelError
from tests.fakes import FakeClock
from tests.harness import Bot, start_bot
from tests.scheduled import ADMIN, button, when

GROUP_A, GROUP_B = "fake:g:丰仓小区群", "other:g:粮库宿舍群"


async def confirm(bot: Bot, command: str) -> list[Outgoing]:
    """An admin sends `command` in private and taps "确认发送" under the preview."""
    admin = bot.chat("admin")
    (preview,) = await admin.say(command)
    assert "预览" in preview.text, preview.text
    replies = await admin.say(action=button(preview, "确认"))
    await bot.app.scheduler.settle()  # a broadcast due now goes out before the next step
    return replies


def got(bot: Bot, address: str, text: str) -> int:
    return sum(text in t for t in bot.texts(address))


async def test_now_to_all_reaches_every_group_on_both_networks(sched: Bot) -> None:
    admin = sched.chat("admin")
    (preview,) = await admin.say("/broadcast now to all: 明天上午停水，请提前储水")
    assert "发到 2 个群" in preview.text and "明天上午停水" in preview.text
    assert got(sched, GROUP_A, "停水") == 0  # nothing before the confirmation
    await admin.say(action=button(preview, "确认"))
    await sched.app.scheduler.settle()
    assert got(sched, GROUP_A, "停水") == 1 and got(sched, GROUP_B, "停水") == 1
    report = sched.texts(ADMIN)[-1]
    assert "发送结果：成功 2，失败 0" in report
    (again,) = await admin.say(action=button(preview, "确认"))  # a second tap: no second send
    assert "没有待发的广播" in again.text
    await sched.app.scheduler.settle()
    assert got(sched, GROUP_A, "停水") == 1


async def test_residents_and_staff_may_not_broadcast(sched: Bot) -> None:
    for chat in (sched.chat("zhang"), sched.chat("staff", role=Role.STAFF)):
        (refused,) = await chat.say("/broadcast now to all: 测试")
        assert "只有管理员可以使用" in refused.text
    (refused,) = await sched.chat("zhang").say(action="bc:confirm:1")
    assert "管理员" in refused.text


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/broadcast now to 不存在小区: 测试", "不认识的目标“不存在小区”"),
        ('/broadcast cron "0 25 * * *" to all: 测试', "周期表达式不对"),
        ("/broadcast at 2026-11-30 09:00 to all: 测试", "已经过去了"),
        ("/broadcast at 明天早上 to all: 测试", "看不懂时间"),
        ("/broadcast to all 测试", "用法"),
        ("/broadcast now to all:", "用法"),
    ],
)
async def test_bad_broadcasts_are_explained(sched: Bot, command: str, expected: str) -> None:
    (reply,) = await sched.chat("admin").say(command)
    assert expected in reply.text


async def test_targets_by_compound_tag_and_explicit_chat(
    make_settings: Callable[..., Settings],
    sched_settings: Settings,
    clock: FakeClock,
    analyzer: TextAnalyzer,
    sentence_model: ModelStatus,
) -> None:
    settings = sched_settings.model_copy(update={"compound_tags": {"老旧小区": ("粮库宿舍",)}})
    bot = await start_bot(settings, clock, analyzer, sentence_model, scheduler=True)
    try:
        await confirm(bot, "/broadcast now to 老旧小区: 改造说明会")
        await confirm(bot, "/broadcast now to 丰仓小区, fake:zhang: 丰仓通知")
        await bot.app.scheduler.settle()
        assert got(bot, GROUP_B, "改造说明会") == 1 and got(bot, GROUP_A, "改造说明会") == 0
        assert got(bot, GROUP_A, "丰仓通知") == 1 and got(bot, "fake:zhang", "丰仓通知") == 1
    finally:
        bot.close()


async def test_a_scheduled_broadcast_can_be_listed_and_cancelled(sched: Bot) -> None:
    (scheduled,) = await confirm(sched, "/broadcast at 12-01 18:00 to all: 今晚放电影")
    assert "已安排广播 1" in scheduled.text and "12-01 18:00" in scheduled.text
    (listing,) = await sched.chat("admin").say("/broadcasts")
    assert "今晚放电影" in listing.text
    (cancelled,) = await sched.chat("admin").say("/cancel 1")
    assert "已撤销" in cancelled.text
    await sched.at(when(1, 18, 30))
    assert got(sched, GROUP_A, "放电影") == 0
    (gone,) = await sched.chat("admin").say("/cancel 1")
    assert "没有待发的广播 1" in gone.text


async def test_a_recurring_broadcast_fires_each_time_once(sched: Bot) -> None:
    await confirm(sched, '/broadcast cron "0 10 * * 3" to all: 周三例会')  # Wednesdays 10:00
    await sched.at(when(2, 10, 1))
    assert got(sched, GROUP_A, "周三例会") == 1
    await sched.at(when(9, 10, 1))
    assert got(sched, GROUP_A, "周三例会") == 2 and got(sched, GROUP_B, "周三例会") == 2


async def test_quiet_hours_hold_a_broadcast_unless_urgent(sched: Bot) -> None:
    await sched.at(when(1, 22))
    await confirm(sched, "/broadcast now to all: 明天社区义诊")
    await confirm(sched, "/broadcast now urgent to all: 紧急：3号楼燃气泄漏，请勿开火")
    await sched.app.scheduler.settle()
    assert got(sched, GROUP_A, "燃气泄漏") == 1  # urgent: sent at once
    assert got(sched, GROUP_A, "义诊") == 0
    assert any("待早上发出 2" in t for t in sched.texts(ADMIN))
    await sched.at(when(2, 8, 1))
    assert got(sched, GROUP_A, "义诊") == 1 and got(sched, GROUP_B, "义诊") == 1


async def test_a_failing_network_does_not_stop_the_others(sched: Bot) -> None:
    sched.other.failures.append(ChannelError("429 Too Many Requests", retryable=True))
    await confirm(sched, "/broadcast now to all: 停电通知")
    await sched.app.scheduler.settle()
    assert got(sched, GROUP_A, "停电通知") == 1 and got(sched, GROUP_B, "停电通知") == 0
    report = sched.texts(ADMIN)[-1]
    assert "成功 1，失败 1" in report and "429" in report and "会自动重试" in report
    await sched.at(when(1, 9, 1))  # the retry pause (30 s) is over
    assert got(sched, GROUP_B, "停电通知") == 1


async def test_a_broadcast_missed_while_down_is_reported_not_sent(
    sched_settings: Settings, clock: FakeClock, analyzer: TextAnalyzer, sentence_model: ModelStatus
) -> None:
    bot = await start_bot(sched_settings, clock, analyzer, sentence_model, scheduler=True)
    await confirm(bot, "/broadcast at 12-01 10:00 to all: 十点开会")
    await confirm(bot, "/broadcast at 12-01 11:50 to all: 十二点领口罩")
    bot.close()
    clock.now = when(1, 12, 10)  # down until 2 h 10 min after the first, 20 min after the second
    bot = await start_bot(sched_settings, clock, analyzer, sentence_model, scheduler=True)
    await bot.app.scheduler.settle()
    try:
        assert got(bot, GROUP_A, "十点开会") == 0  # later than the grace (30 min): not sent
        assert got(bot, GROUP_A, "十二点领口罩") == 1  # within the grace: sent late
        (missed,) = [o for o in bot.sent_to(ADMIN) if "错过了时间" in o.text]
        assert "十点开会" in missed.text
        await bot.chat("admin").say(action=button(missed, "现在补发"))
        await bot.app.scheduler.settle()
        assert got(bot, GROUP_A, "十点开会") == 1 and got(bot, GROUP_B, "十点开会") == 1
        (again,) = await bot.chat("admin").say(action=button(missed, "现在补发"))
        assert "已经补发过" in again.text
    finally:
        bot.close()
    bot = await start_bot(
        sched_settings, clock, analyzer, sentence_model, scheduler=True
    )  # and nothing again after a restart
    await bot.app.scheduler.settle()
    try:
        assert bot.channel.sent == [] and bot.other.sent == []
    finally:
        bot.close()


async def test_declarative_broadcasts_from_schedules(
    sched_settings: Settings,
    clock: FakeClock,
    analyzer: TextAnalyzer,
    sentence_model: ModelStatus,
    tmp_path: Path,
) -> None:
    assert sched_settings.schedules_dir is not None
    (sched_settings.schedules_dir / "weekly.yaml").write_text(
        "version: 1\n"
        "broadcasts:\n"
        "  - id: garbage-sorting\n"
        '    cron: "0 9 * * sat"\n'
        "    targets: [粮库宿舍]\n"
        "    text: {zh-CN: 周六垃圾分类宣传, en: Garbage sorting Saturday}\n",
        encoding="utf-8",
    )
    bot = await start_bot(sched_settings, clock, analyzer, sentence_model, scheduler=True)
    try:
        await bot.at(when(5, 9, 1))
        assert got(bot, GROUP_B, "周六垃圾分类宣传") == 1 and got(bot, GROUP_A, "垃圾") == 0
        (listing,) = await bot.chat("admin").say("/broadcasts")
        assert "garbage-sorting" in listing.text
    finally:
        bot.close()


def test_a_schedules_typo_names_file_entry_and_field(
    sched_settings: Settings, clock: FakeClock, analyzer: TextAnalyzer, sentence_model: ModelStatus
) -> None:
    from bot.wiring import build_core

    assert sched_settings.schedules_dir is not None
    bad = sched_settings.schedules_dir / "bad.yaml"
    bad.write_text(
        "version: 1\nbroadcasts:\n  - id: x\n    cron: '0 9 * *'\n    targets: [all]\n"
        "    text: {zh-CN: hi}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        build_core(sched_settings, clock=clock, analyzer=analyzer, model=sentence_model)
    assert "bad.yaml" in str(caught.value) and "'x'" in str(caught.value)
    assert "cron" in str(caught.value)


async def test_explicit_matrix_rooms_and_a_space_before_the_colon(
    sched_settings: Settings, clock: FakeClock, analyzer: TextAnalyzer, sentence_model: ModelStatus
) -> None:
    from bot.broadcast.broadcasts import split_targets

    networks = {"telegram", "matrix", "fake"}
    assert split_targets("matrix:!abc:example.org: 停水", networks) == (
        ("matrix:!abc:example.org",),
        "停水",
    )
    assert split_targets("all : 停水", networks) == (("all",), "停水")
    assert split_targets("all:停水", networks) == (("all",), "停水")
    assert split_targets("telegram:-1001, 丰仓小区：停水", networks) == (
        ("telegram:-1001", "丰仓小区"),
        "停水",
    )


async def test_a_cancelled_broadcast_is_not_sent_even_if_its_job_was_planned(
    sched: Bot,
) -> None:
    await confirm(sched, "/broadcast at 12-01 10:00 to all: 十点停水")
    doc = sched.app.core.store.repo(BroadcastRecords).get(1)
    assert doc is not None
    doc["status"] = "cancelled"  # cancelled, and the scheduler not told (a race)
    sched.app.core.store.repo(BroadcastRecords).save(1, doc)
    sched.app.core.store.repo(BroadcastRecords).take_changed()
    await sched.at(when(1, 10, 1))
    assert got(sched, GROUP_A, "十点停水") == 0
    assert sched.app.core.store.repo(BroadcastRecords).get(1)["status"] == "cancelled"  # type: ignore[index]


async def test_a_draft_for_a_time_that_passed_is_not_sent_on_confirm(sched: Bot) -> None:
    admin = sched.chat("admin")
    (preview,) = await admin.say("/broadcast at 12-01 10:00 to all: 十点开会")
    await sched.at(when(1, 11))
    (refused,) = await admin.say(action=button(preview, "确认"))
    assert "已经过去了" in refused.text
    await sched.app.scheduler.settle()
    assert got(sched, GROUP_A, "十点开会") == 0


async def test_all_means_the_configured_groups_when_there_are_some(sched: Bot) -> None:
    await sched.chat("stranger", group="别的群").say("大家好")  # a group not in groups:
    await confirm(sched, "/broadcast now to all: 通知")
    await sched.app.scheduler.settle()
    assert got(sched, "fake:g:别的群", "通知") == 0 and got(sched, GROUP_A, "通知") == 1
