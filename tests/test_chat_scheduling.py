"""The scheduling story in `yishiting chat`, scripted: book, be reminded, roster, broadcast."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.config import WorkTimeConfig
from bot.schedule.worktime import WorkTime
from tests.cli_helpers import yishiting

TZ = ZoneInfo("Asia/Shanghai")


def a_monday_ahead() -> str:
    """A working Monday at least a week from now (evening service: Monday to Thursday, not
    on public holidays)."""
    workday = WorkTime(WorkTimeConfig(), TZ).is_workday
    day = datetime.now(TZ).date() + timedelta(days=7)
    while day.weekday() != 0 or not workday(day):
        day += timedelta(days=1)
    return day.isoformat()


def blocks(stdout: str) -> list[tuple[str, str]]:
    """(header, body) of each printed message."""
    found: list[tuple[str, str]] = []
    for chunk in stdout.split("── ")[1:]:
        header, _, body = chunk.partition(" ──\n")
        found.append((header, body.split("\n\n")[0]))  # a blank line ends a message
    return found


def test_book_tonight_reminder_roster_and_a_cancelled_broadcast(tmp_path: Path) -> None:
    script = "\n".join(
        [
            f":clock {a_monday_ahead()} 09:00",
            ":in 丰仓小区群",
            "大家晚上好",  # the bot now knows this group (chit-chat: no answer)
            ":dm",
            "/book",
            "1",  # 今晚
            "2",  # 18:30
            "3",  # 手机操作
            ":clock 16:31",
            ":as staff 小王",
            ":in 工作人员群",
            "/roster",
            ":as admin 朱书记",
            ":dm",
            "/broadcast at 20:00 to all: 今晚八点停电检修",
            "1",  # 确认发送
            "/broadcasts",
            "/cancel 1",
            ":clock 20:30",
        ]
    )
    result = yishiting("chat", "--data", str(tmp_path / "data"), stdin=script + "\n")
    assert result.returncode == 0, result.stderr
    printed = blocks(result.stdout)
    to_resident = [body for header, body in printed if header == "私聊 居民"]
    assert any("预约成功" in b and "18:30" in b for b in to_resident)
    (reminder,) = [b for b in to_resident if "⏰" in b]
    assert "18:30" in reminder
    rosters = [b for h, b in printed if h == "群 工作人员群" and "延时服务名单" in b]
    assert len(rosters) >= 2  # the 16:30 roster and the one asked for
    assert all("居民" in r and "手机操作" in r for r in rosters[-2:])
    to_admin = [body for header, body in printed if header == "私聊 朱书记"]
    assert any("发到 1 个群" in b for b in to_admin)  # the group spoken in
    assert any("已安排广播 1" in b for b in to_admin)
    assert any("今晚八点停电检修" in b for b in to_admin if "广播" in b)  # listed
    assert any("广播 1 已撤销" in b for b in to_admin)
    assert not any("停电检修" in b for h, b in printed if h == "群 丰仓小区群")


def test_an_admin_who_spoke_in_the_console_gets_escalations(tmp_path: Path) -> None:
    script = "\n".join(
        [
            f":clock {a_monday_ahead()} 09:00",
            ":as admin 朱书记",
            ":dm",
            "/broadcast now to all: 测试",  # no group known yet: said plainly
            ":as resident 张大爷",
            ":in 丰仓小区群",
            "/report 3号楼路灯不亮",
            ":clock +1d",
        ]
    )
    result = yishiting("chat", "--data", str(tmp_path / "data"), stdin=script + "\n")
    assert result.returncode == 0, result.stderr
    to_admin = [body for header, body in blocks(result.stdout) if header == "私聊 朱书记"]
    assert any("还没有可发的小区群" in b for b in to_admin)
    assert any("⚠️ #1001" in b for b in to_admin)
