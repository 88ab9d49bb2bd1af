"""A full disk during reports, staff replies and a broadcast, then freed: through real processes.

Each test runs `yishiting chat` as one long-lived subprocess and speaks to it line by line.
The disk fills either by an injected ENOSPC at the journal's write call ($YISHITING_DISK_FULL
names a switch file: while it exists every append writes half its line and fails) or, where
this machine lets the test mount one, on a real tmpfs filled to the last byte. Afterwards:
every acknowledged record is readable, no failed write is present, the users were told
"系统暂时无法保存，请稍后再试", the admin was alerted, and the bot carried on.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.desk.repo import TicketRepo
from bot.failpoints import DISK_FULL_ENV
from bot.store.folder import Store
from tests.cli_helpers import LiveBot
from tests.conftest import REPO
from tests.test_scheduling_faults import (
    ADMIN,
    ANY_HOUR,
    STAFF_ROOM,
    TO_ADMIN,
    TO_RESIDENT,
    blocks,
    bot_env,
    command,
    count,
    write_config,
)

CANNOT_SAVE = "系统暂时无法保存，请稍后再试"
ALERT = "⚠️ 数据无法保存"
RECOVERED = "✅ 数据又能保存了"
ACK = re.compile(r"已收到，编号 #(\d+)")
WATER = "明天上午停水检修，请提前储水"


def report(bot: LiveBot, text: str, group: str = "丰仓小区群") -> str:
    """A resident reports in a group; returns what the bot printed for it."""
    start = len(bot.out)
    bot.say(":as resident 居民", f":in {group}", f"/report {text}")
    bot.settle()
    return bot.out[start:]


def staff_reply(bot: LiveBot, number: int, text: str) -> str:
    start = len(bot.out)
    bot.say(":as staff 小王", ":in 工作人员群", f"/reply {number} {text}")
    bot.settle()
    return bot.out[start:]


def check_folder(data: Path, acked: dict[int, str], refused: list[str], replies: int) -> None:
    """Every acknowledged ticket is there as acknowledged; nothing refused came back."""
    store = Store(data, read_only=True)
    try:
        tickets = {t.number: t for t in store.repo(TicketRepo).all()}
        for number, text in acked.items():
            assert number in tickets and tickets[number].text == text, (number, text)
        texts = {t.text for t in tickets.values()}
        for text in refused:
            assert text not in texts, f"a refused report came back: {text}"
        assert set(tickets) == set(acked), (sorted(tickets), sorted(acked))
        replied = [e for e in tickets[1001].history if e.action == "reply"]
        assert len(replied) == replies, replied
    finally:
        store.close()


# ---- an injected ENOSPC at the write call ---------------------------------------------------


def test_a_full_disk_refuses_reports_replies_and_a_broadcast_then_carries_on(
    tmp_path: Path,
) -> None:
    data, config = tmp_path / "data", write_config(tmp_path, **ANY_HOUR)
    switch = tmp_path / "disk-is-full"
    bot = LiveBot(command(data, config), {**bot_env(), DISK_FULL_ENV: str(switch)})
    acked: dict[int, str] = {}
    refused: list[str] = []
    try:
        bot.say(":in 丰仓小区群", "大家好", ":in 粮库宿舍群", "大家好")
        said = report(bot, "3号楼路灯不亮")
        assert "已收到，编号 #1001" in said
        acked[1001] = "3号楼路灯不亮"
        bot.say(f":as admin {ADMIN}", ":dm", f"/broadcast at +2m to all: {WATER}", "1")
        bot.wait_for("已安排广播 1")
        bot.settle()

        switch.touch()  # the disk is full
        said = report(bot, "5号楼门口漏水")
        refused.append("5号楼门口漏水")
        found = blocks(said)
        assert count(found, "群 丰仓小区群", CANNOT_SAVE) == 1, said
        assert not ACK.search(said) and "🆕" not in said  # no acknowledgement, no card
        assert count(found, TO_ADMIN, ALERT) == 1, said  # the admin is alerted at once
        said = staff_reply(bot, 1001, "明天就修")
        assert count(blocks(said), STAFF_ROOM, CANNOT_SAVE) == 1, said
        assert "工作人员回复" not in said  # the resident got nothing that was not saved
        start = len(bot.out)
        bot.say(":clock +3m")  # the broadcast falls due while the disk is full
        during = bot.settle()
        assert WATER not in bot.out[start:], during
        assert CANNOT_SAVE in report(bot, "7号楼电梯坏了")  # still refused, no second alert
        refused.append("7号楼电梯坏了")
        assert bot.out.count(ALERT) == 1

        switch.unlink()  # the disk frees
        bot.say(":clock +10m")  # the broadcast's retry runs now
        bot.settle()
        said = report(bot, "小区垃圾桶满了没人清")
        assert "已收到，编号 #1002" in said, said  # the refused reports took no number
        acked[1002] = "小区垃圾桶满了没人清"
        said = staff_reply(bot, 1001, "明天一早就修")
        assert count(blocks(said), TO_RESIDENT, "工作人员回复 #1001：明天一早就修") == 1, said
    finally:
        code = bot.quit()
    assert code == 0, bot.err
    assert "Traceback" not in bot.err, bot.err
    check_after_the_full_disk(bot, data, acked, refused)


def check_after_the_full_disk(
    bot: LiveBot, data: Path, acked: dict[int, str], refused: list[str]
) -> None:
    everything = blocks(bot.out)
    assert count(everything, TO_ADMIN, RECOVERED) == 1, bot.out
    for group in ("丰仓小区群", "粮库宿舍群"):
        assert count(everything, f"群 {group}", WATER) == 1, bot.out
    assert count(everything, TO_ADMIN, "📣 广播 1 发送结果：成功 2，失败 0") == 1
    assert "明天就修" not in "".join(b.text for b in everything if b.to == TO_RESIDENT)
    check_folder(data, acked, refused, replies=1)
    listing = subprocess.run(
        [sys.executable, "-m", "bot.cli", "tickets", "list", "--data", str(data)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=bot_env(),
        check=False,
    )
    assert listing.returncode == 0 and len(listing.stdout.splitlines()) == 2, listing


# ---- a real full disk: a small tmpfs ----------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MB tmpfs, when this machine lets the test mount one (as root, outside CI too)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root; the injected ENOSPC test covers the logic")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}); injected ENOSPC covers it")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Take every free byte of the disk with one file; removing it frees the disk."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for size in (65536, 4096, 512, 1):
            try:
                while os.write(fd, b"x" * size):
                    pass
            except OSError:
                continue
    finally:
        os.close(fd)
    return filler


def test_a_real_full_tmpfs_loses_no_acknowledged_report_and_keeps_no_refused_one(
    tmp_path: Path, small_disk: Path
) -> None:
    data, config = small_disk / "data", write_config(tmp_path, **ANY_HOUR)
    bot = LiveBot(command(data, config), bot_env())
    acked: dict[int, str] = {}
    refused: list[str] = []
    try:
        said = report(bot, "3号楼路灯不亮")
        assert "已收到，编号 #1001" in said, said
        acked[1001] = "3号楼路灯不亮"
        filler = fill(small_disk)
        long = "，".join(["楼道里的灯一直不亮晚上看不见路"] * 40)  # about 700 characters
        for n in range(12):  # pages fill: sooner or later every append is refused
            text = f"{n}号{long}"
            said = report(bot, text, group=f"第{n}小区群")  # never "me too"
            if (m := ACK.search(said)) is not None:
                acked[int(m.group(1))] = text
            else:
                assert CANNOT_SAVE in said, said
                refused.append(text)
        assert refused, "the full disk refused nothing"
        assert ALERT in bot.out
        said = staff_reply(bot, 1001, "明天就修")
        replies = 0 if CANNOT_SAVE in said else 1

        filler.unlink()  # the disk frees
        said = report(bot, "小区垃圾桶满了没人清")
        m = ACK.search(said)
        assert m is not None, said
        acked[int(m.group(1))] = "小区垃圾桶满了没人清"
        said = staff_reply(bot, 1001, "明天一早就修")
        assert "工作人员回复 #1001：明天一早就修" in said, said
        replies += 1
    finally:
        code = bot.quit()
    assert code == 0, bot.err
    assert "Traceback" not in bot.err, bot.err
    assert RECOVERED in bot.out
    check_folder(data, acked, refused, replies=replies)
