"""Scheduled work across clean stops, restarts and kill -9, through the real command line.

Every test runs `yishiting chat` as subprocesses on its own data folder and reads the blocks
the console prints (`── 群 X ──` / `── 私聊 Y ──`, the text, a blank line). `:clock` lets time
pass job by job, so a job fires on time while the bot runs; a process always starts at the
real time, so a job is late only when real time passed while the bot was down.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.broadcast.plan import BroadcastRecords
from bot.config import WorkTimeConfig
from bot.desk.repo import TicketRepo
from bot.failpoints import FAILPOINTS_ENV
from bot.schedule.worktime import WorkTime
from bot.store.folder import Store
from tests.conftest import REPO

TZ = ZoneInfo("Asia/Shanghai")
ADMIN = "朱书记"
TO_ADMIN = f"私聊 {ADMIN}"
TO_RESIDENT = "私聊 居民"
STAFF_ROOM = "群 工作人员群"
CLOCK_LINE = re.compile(r"^⏰ \d{4}-\d\d-\d\d \d\d:\d\d \(\w+\)$", re.MULTILINE)
SECRETS = (  # a network configured in the environment must not start under a test
    "YISHITING_CONFIG",
    "YISHITING_TELEGRAM_TOKEN",
    "YISHITING_MATRIX_PASSWORD",
    "YISHITING_MATRIX_ACCESS_TOKEN",
    FAILPOINTS_ENV,
)


# ---- helpers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """One message as the console printed it."""

    to: str  # the header without its rules: "群 工作人员群", "私聊 朱书记"
    text: str  # the lines after the header (buttons included), up to the blank line


def blocks(stdout: str) -> list[Block]:
    found: list[Block] = []
    to: str | None = None
    lines: list[str] = []
    for line in [*stdout.splitlines(), ""]:
        if to is None:
            if line.startswith("── ") and line.endswith(" ──"):
                to = line.strip("─ ")
        elif line:
            lines.append(line)
        else:
            found.append(Block(to, "\n".join(lines)))
            to, lines = None, []
    return found


def count(found: Sequence[Block], to: str, needle: str) -> int:
    return sum(1 for b in found if b.to == to and needle in b.text)


def index(found: Sequence[Block], to: str, needle: str) -> int:
    """Where the first such message is (the order things were sent in)."""
    return next(i for i, b in enumerate(found) if b.to == to and needle in b.text)


def steps(stdout: str) -> list[list[Block]]:
    """The messages before the first `:clock` line, then those after each `:clock` line."""
    return [blocks(part) for part in CLOCK_LINE.split(stdout)]


def write_config(folder: Path, **settings: Any) -> Path:
    """朱书记 is the admin: escalations and missed-broadcast notices go to that private chat.

    The shipped schedules, with this year's and next year's holidays acknowledged as they are,
    so that no calendar notice to the admin (bot/schedule/holidays.py) joins the counted sends.
    """
    path = folder / "yishiting.yaml"  # JSON is YAML
    schedules = folder / "schedules"
    if not schedules.exists():
        shutil.copytree(REPO / "schedules", schedules)
        year = datetime.now(TZ).year
        (schedules / "holidays.yaml").write_text(
            f"version: 1\nholidays: [{{year: {year}, complete: true}},"
            f" {{year: {year + 1}, complete: true}}]\n",
            encoding="utf-8",
        )
    base: dict[str, Any] = {
        "roles": {"admins": [f"console:{ADMIN}"]},
        "schedules_dir": str(schedules),
    }
    path.write_text(json.dumps({**base, **settings}, ensure_ascii=False), encoding="utf-8")
    return path


# Quiet hours off: tests that run at the real time of day must not depend on the hour.
ANY_HOUR: dict[str, Any] = {"work": {"quiet_hours": ""}}


def bot_env(failpoints: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    env["PYTHONUNBUFFERED"] = "1"
    if failpoints is not None:
        env[FAILPOINTS_ENV] = failpoints
    return env


def command(data: Path, config: Path) -> list[str]:
    return [sys.executable, "-m", "bot.cli", "--config", str(config), "chat", "--data", str(data)]


def chat(
    data: Path, config: Path, script: Sequence[str], *, failpoints: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(data, config),
        input="\n".join(script) + "\n",
        text=True,
        capture_output=True,
        cwd=REPO,
        env=bot_env(failpoints),
        timeout=60,
        check=False,
    )


def service_day() -> date:
    """A Monday–Thursday working day at least a week ahead: the evening service runs then."""
    worktime = WorkTime(WorkTimeConfig(), TZ)
    day = datetime.now(TZ).date() + timedelta(days=8)
    while day.weekday() > 3 or not worktime.is_workday(day):
        day += timedelta(days=1)
    return day


def speak_in_groups(*groups: str) -> list[str]:
    """A resident says hello in each group, so that 'all' means these groups."""
    return [line for g in groups for line in (f":in {g}", "大家好")]


# ---- 1. a clean stop with everything pending ----------------------------------------------

WATER = "周一上午九点到十二点停水检修，请提前储水"


def test_everything_pending_at_a_clean_stop_happens_once_after_the_restart(
    tmp_path: Path,
) -> None:
    data, config = tmp_path / "data", write_config(tmp_path)
    day = f"{service_day():%Y-%m-%d}"
    groups = ("丰仓小区群", "粮库宿舍群")
    first = chat(
        data,
        config,
        [
            f":clock {day} 08:00",  # the office opens at 08:30
            *speak_in_groups(*groups),
            ":in 丰仓小区群",
            "/report 3号楼路灯不亮",  # #1001: due again 10:30, escalated 14:30
            ":dm",
            "/book",
            "1",  # tonight
            "1",  # 18:00: reminded at 16:00, on the staff roster at 16:30
            "1",  # 医保缴费
            f":as admin {ADMIN}",
            f"/broadcast at {day} 11:00 to all: {WATER}",
            "1",  # 确认发送
            ":quit",
        ],
    )
    assert first.returncode == 0, first.stderr
    made = blocks(first.stdout)
    assert count(made, STAFF_ROOM, "🆕 #1001") == 1
    (booked,) = [b for b in made if b.to == TO_RESIDENT and "✅ 预约成功" in b.text]
    assert "今晚 18:00-18:30" in booked.text
    assert count(made, TO_ADMIN, "发到 2 个群") == 1
    assert count(made, TO_ADMIN, f"已安排广播 1：{day[5:]} 11:00") == 1

    expected = {  # what must happen once, and the `:clock` step of the restart it happens in
        "unclaimed re-post": (STAFF_ROOM, "⏰ #1001 已超过", 2),
        "broadcast to 丰仓小区群": ("群 丰仓小区群", WATER, 2),
        "broadcast to 粮库宿舍群": ("群 粮库宿舍群", WATER, 2),
        "delivery report": (TO_ADMIN, "📣 广播 1 发送结果：成功 2，失败 0", 2),
        "escalation": (TO_ADMIN, "⚠️ #1001 已超过 4 个工作小时", 3),
        "booking reminder": (TO_RESIDENT, "⏰ 提醒：您预约了今晚 18:00", 4),
        "staff roster": (STAFF_ROOM, f"延时服务名单 {day[5:]}", 4),
    }
    for what, (to, needle, _) in expected.items():
        assert count(made, to, needle) == 0, f"{what} happened before the stop"

    second = chat(
        data,
        config,
        [f":clock {day} {hm}" for hm in ("10:00", "12:00", "15:00", "17:00", "20:00")],
    )
    assert second.returncode == 0, second.stderr
    after = steps(second.stdout)
    assert len(after) == 6, second.stdout
    for what, (to, needle, step) in expected.items():
        assert count(blocks(second.stdout), to, needle) == 1, f"{what}:\n{second.stdout}"
        assert count(after[step], to, needle) == 1, f"{what} came at the wrong time"
    evening = after[4]
    assert index(evening, TO_RESIDENT, "⏰ 提醒") < index(evening, STAFF_ROOM, "延时服务名单")

    third = chat(data, config, [":clock +2d"])
    assert third.returncode == 0, third.stderr
    again = blocks(third.stdout)
    for what, (to, needle, _) in expected.items():
        assert count(again, to, needle) == 0, f"{what} happened again:\n{third.stdout}"


# ---- 2. a broadcast later than its grace ---------------------------------------------------

OUTAGE = "今晚八点到十点小区停电检修"
GRACE_MINUTES = 0.01  # 0.6 s: the bot is down for about a second between the two runs


def test_a_broadcast_missed_while_the_bot_was_down_is_reported_and_sent_late_once(
    tmp_path: Path,
) -> None:
    # `:clock` lets time pass while the bot runs, so a job is late only when real time passed
    # while it was down. With the default grace (30 min) that cannot happen in a test; a grace
    # of 0.6 s and a broadcast due 0.3 s after the first run ends make it so.
    config = write_config(tmp_path, **ANY_HOUR, broadcast_grace_minutes=GRACE_MINUTES)
    data = tmp_path / "data"
    groups = ("丰仓小区群", "粮库宿舍群")
    first = chat(
        data,
        config,
        [
            *speak_in_groups(*groups),
            f":as admin {ADMIN}",
            ":dm",
            f"/broadcast at +0.005m to all: {OUTAGE}",
            "1",  # 确认发送
            ":quit",  # at once: the broadcast falls due while the bot is down
        ],
    )
    assert first.returncode == 0, first.stderr
    assert count(blocks(first.stdout), TO_ADMIN, "已安排广播 1") == 1
    in_groups = "".join(b.text for b in blocks(first.stdout) if b.to.startswith("群 "))
    assert OUTAGE not in in_groups, "the first run was still running when the broadcast fell due"
    store = Store(data, read_only=True)
    try:
        doc = store.repo(BroadcastRecords).get(1)
    finally:
        store.close()
    assert doc is not None and doc["status"] == "scheduled"
    late = datetime.fromisoformat(doc["at"]) + timedelta(minutes=GRACE_MINUTES, seconds=0.1)
    pause = (late - datetime.now(TZ)).total_seconds()
    time.sleep(max(pause, 0))  # usually well under a second: the bot's start takes longer

    second = chat(
        data,
        config,
        [
            f":as admin {ADMIN}",
            ":dm",
            ":clock +1m",  # the missed broadcast was handled at the start
            "1",  # 现在补发
            ":clock +1m",
            "1",  # again
            ":clock +1m",
        ],
    )
    assert second.returncode == 0, second.stderr
    sent = blocks(second.stdout)
    (missed,) = [b for b in sent if b.to == TO_ADMIN and "错过了时间" in b.text]
    assert "广播 1" in missed.text and OUTAGE in missed.text
    assert missed.text.splitlines()[-1] == "[1] 现在补发"
    pressed = index(sent, TO_ADMIN, "已安排广播 2")
    assert sent.index(missed) < pressed
    for group in groups:
        assert count(sent, f"群 {group}", OUTAGE) == 1, second.stdout
        assert index(sent, f"群 {group}", OUTAGE) > pressed  # not before the press
    assert count(sent, TO_ADMIN, "📣 广播 2 发送结果：成功 2") == 1
    assert count(sent, TO_ADMIN, "这条广播已经补发过了") == 1
    assert index(sent, TO_ADMIN, "这条广播已经补发过了") > index(sent, "群 粮库宿舍群", OUTAGE)

    third = chat(data, config, [":clock +1h"])
    assert third.returncode == 0, third.stderr
    assert OUTAGE not in third.stdout and "错过了时间" not in third.stdout


# ---- 3. kill -9 right after a send, before it is marked ------------------------------------

CUT = "明天上午八点到十二点停水"


def test_kill_9_between_a_send_and_its_mark_repeats_only_that_message(tmp_path: Path) -> None:
    data, config = tmp_path / "data", write_config(tmp_path, **ANY_HOUR)
    groups = ("丰仓小区群", "粮库宿舍群", "棉纺厂宿舍群")
    # Sends through the outbox, in order: the report's private follow-up to the reporter (1)
    # and its card to the staff room (2), then the broadcast to each group (3, 4, 5) and its
    # delivery report (6). Replies to the one speaking are not counted. All three broadcast
    # messages are recorded (one commit) before the first is sent. Kill at the 4th send: the
    # second group has the broadcast, the outbox does not know yet, the third has nothing.
    first = chat(
        data,
        config,
        [
            *speak_in_groups(*groups),
            ":in 丰仓小区群",
            "/report 3号楼路灯不亮",
            f":as admin {ADMIN}",
            ":dm",
            f"/broadcast now to all: {CUT}",
            "1",  # 确认发送
            ":clock +1m",  # the broadcast goes out now
        ],
        failpoints="after_send:4",
    )
    assert first.returncode == -signal.SIGKILL, (first.returncode, first.stdout, first.stderr)
    before = blocks(first.stdout)
    crash = before[-1]  # printed, then killed before the outbox marked it sent
    assert crash.text == CUT and crash.to.startswith("群 "), first.stdout
    assert sum(1 for b in before if b.text == CUT) == 2
    assert count(before, TO_ADMIN, "发送结果") == 0

    store = Store(data)  # the folder opens cleanly after the kill: no repair, lock taken over
    try:
        ticket = store.repo(TicketRepo).get(1001)
        assert ticket is not None and ticket.text == "3号楼路灯不亮"
        pending = [str(doc["key"]) for doc in store.outbox.with_status("pending")]
        sent_groups = {b.to.removeprefix("群 ") for b in before if b.text == CUT} - {
            crash.to.removeprefix("群 ")
        }
        assert len(pending) == 2 and all(p.startswith("broadcast:1:") for p in pending), pending
        waiting = {p.rpartition("|console:group:")[2] for p in pending}
        assert waiting == set(groups) - sent_groups, (waiting, sent_groups)
    finally:
        store.close()

    second = chat(data, config, [":clock +1m"])
    assert second.returncode == 0, second.stderr
    after = blocks(second.stdout)
    both = before + after
    for group in groups:
        times = count(both, f"群 {group}", CUT)
        # At least once everywhere; twice only where the kill fell between the platform taking
        # the message and the outbox marking it: that one moment cannot be made exactly-once.
        assert times == 1 or (times == 2 and f"群 {group}" == crash.to), (group, times)
    (report,) = [b for b in both if b.to == TO_ADMIN and "发送结果" in b.text]
    assert "📣 广播 1 发送结果：成功 3，失败 0" in report.text
    assert count(both, STAFF_ROOM, "🆕 #1001") == 1  # the ticket card was not sent again
    assert count(both, TO_RESIDENT, "已登记为 #1001") == 1


# ---- 4. kill -9 at any moment during a burst of follow-ups ---------------------------------

TICKETS = 40


def followups(found: Sequence[Block]) -> Counter[str]:
    """Unclaimed re-posts and escalations by ticket, e.g. 'unclaimed #1003'."""
    seen: Counter[str] = Counter()
    for b in found:
        first = b.text.partition("\n")[0]
        if b.to == STAFF_ROOM and (m := re.match(r"⏰ #(\d+) 已超过", first)):
            seen[f"unclaimed #{m[1]}"] += 1
        elif b.to == TO_ADMIN and (m := re.match(r"⚠️ #(\d+) 已超过", first)):
            seen[f"escalated #{m[1]}"] += 1
    return seen


@pytest.mark.parametrize("delay", [0.0, 0.003, 0.01], ids=["at-once", "3ms", "10ms"])
def test_kill_9_during_a_burst_of_follow_ups_loses_none_and_repeats_at_most_one(
    tmp_path: Path, delay: float
) -> None:
    """Killed `delay` after the 5th follow-up was printed: wherever the kill lands (before a
    message is recorded, between recording and sending, between sending and marking, before
    the job is logged as done) the restart sends every follow-up, and repeats at most one."""
    data, config = tmp_path / "data", write_config(tmp_path, **ANY_HOUR)
    # A fortnight: enough working hours for every follow-up, even over a long holiday.
    target = f"{datetime.now(TZ) + timedelta(days=15):%Y-%m-%d %H:%M}"
    script = [f"qzx{n} vbn{n} wrt{n}?" for n in range(TICKETS)]  # unanswerable: tickets
    bot = subprocess.Popen(
        command(data, config),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
        env=bot_env(),
    )
    stdin, stdout = bot.stdin, bot.stdout
    assert stdin is not None and stdout is not None
    watchdog = threading.Timer(60, bot.kill)  # the bot waits for more input: never hang here
    watchdog.start()
    try:
        stdin.write("\n".join([*script, f":clock {target}"]) + "\n")
        stdin.flush()  # left open: the bot does not stop by itself
        printed: list[str] = []
        fired = 0
        for line in stdout:
            printed.append(line)
            fired += bool(re.match(r"(⏰|⚠️) #\d+ 已超过", line))
            if fired == 5:
                time.sleep(delay)
                os.kill(bot.pid, signal.SIGKILL)
                break
        printed.append(stdout.read())  # what was printed before the kill landed
        bot.wait(timeout=30)
    finally:
        watchdog.cancel()
        with contextlib.suppress(BrokenPipeError):
            stdin.close()
        stdout.close()
    assert bot.returncode == -signal.SIGKILL
    before = blocks("".join(printed))
    assert fired == 5, "the follow-ups never came"
    first_run = followups(before)
    assert sum(first_run.values()) < 2 * TICKETS, "killed too late: every follow-up was sent"

    second = chat(data, config, [f":clock {target}"])
    assert second.returncode == 0, second.stderr
    after = blocks(second.stdout)
    total = followups(before + after)
    numbers = range(1001, 1001 + TICKETS)
    wanted = {f"{kind} #{n}" for n in numbers for kind in ("unclaimed", "escalated")}
    assert set(total) == wanted  # none lost
    twice = [k for k, times in total.items() if times > 1]
    assert all(total[k] == 2 for k in twice) and len(twice) <= 1, twice
    if twice:  # only the message at the kill: the last one printed, not yet marked sent
        assert followups(before[-1:]) == Counter(twice), (twice, before[-1])
    for n in numbers:  # the first cards were sent before the burst: never again
        assert count(before + after, STAFF_ROOM, f"🆕 #{n} ·") == 1 + total[f"unclaimed #{n}"]
