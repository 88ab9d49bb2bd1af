"""The admins' Monday summary: last week's Report charts as one PNG, sent once, through the
real core, the real scheduler and the outbox."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from bot.models import Outgoing
from bot.schedule.joblog import JobLog
from tests.harness import Bot
from tests.scheduled import ADMIN, when


def _images(bot: Bot) -> list[Outgoing]:
    return [o for o in bot.sent_to(ADMIN) if o.files]


async def _a_week_of_work(bot: Bot) -> None:
    resident = bot.chat("zhang", group="丰仓小区群")
    await resident.say("/report 3号楼路灯不亮")
    await resident.say("/report 东门下水道堵了")
    staff = bot.chat("zhu", group="staffroom", network="other")
    await bot.at(when(1, 10))
    await staff.say("/claim 1001")
    await bot.at(when(2, 11))
    await staff.say("/resolve 1001 换了灯泡")
    await bot.chat("li").say("电动车在哪里充电？")


async def test_monday_morning_the_admins_get_last_week_as_one_image(sched: Bot) -> None:
    await _a_week_of_work(sched)
    await sched.at(when(7, 8, 44))  # Monday, Asia/Shanghai
    assert _images(sched) == []
    await sched.at(when(7, 8, 50))
    (summary,) = _images(sched)
    assert "\n" not in summary.text and "上周小结 11-30–12-06" in summary.text
    assert "新工单 2 张" in summary.text and "解决 1 张" in summary.text
    (path,) = summary.files
    data = Path(path).read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and 20_000 < len(data) < 10 * 1024 * 1024
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG" and image.width == 1440 and 2000 < image.height < 2400
    assert Path(path).parent == sched.app.core.store.folder / "summaries"
    print(f"weekly summary image: {path}")  # to look at
    assert sched.app.core.store.repo(JobLog).done("summary:2026-12-07")

    # a restart the same morning does not send it again
    bot = await sched.restart()
    try:
        await bot.app.scheduler.settle()
        await bot.at(when(7, 10))
        assert _images(bot) == []  # the new bot's channels: nothing more sent
        await bot.at(when(14, 9))  # the next Monday has its own (last week was quiet: none)
        assert bot.app.core.store.repo(JobLog).done("summary:2026-12-14")
    finally:
        bot.close()


async def test_a_quiet_week_sends_no_image(sched: Bot) -> None:
    await sched.at(when(7, 9))
    assert _images(sched) == []
    assert sched.app.core.store.repo(JobLog).done("summary:2026-12-07")
