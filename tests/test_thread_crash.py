"""kill -9 between a resident's words and the staff's update: after a restart, sent once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

FIRST = """\
:in 丰仓小区群
/report 3号楼后头的路灯黑了好几天了
:dm
完成
:as staff 朱书记
:in 工作人员群
/reply 1001 明天上午9点电工来修
:as resident 居民
:dm
行，明天上午我在家，几点来？
"""


def _chat(data: Path) -> list[str]:
    return [sys.executable, "-m", "bot.cli", "chat", "--data", str(data)]


def test_kill_9_right_after_the_residents_words_the_update_goes_out_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    bot = subprocess.Popen(
        _chat(data),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert bot.stdin is not None and bot.stdout is not None
    bot.stdin.write(FIRST)
    bot.stdin.flush()
    before: list[str] = []
    for line in bot.stdout:  # killed the moment the resident is told "已转给…"
        before.append(line)
        if "已转给处理 #1001" in line:
            os.kill(bot.pid, signal.SIGKILL)
            break
    bot.wait(timeout=30)
    assert bot.returncode == -signal.SIGKILL

    after = subprocess.run(
        _chat(data),
        input=":clock +3m\n",
        text=True,
        capture_output=True,
        cwd=REPO,
        timeout=120,
        check=True,
    ).stdout
    updates = "".join(before).count("💬 #1001") + after.count("💬 #1001")
    assert updates == 1, (before, after)
    assert "几点来" in after or "几点来" in "".join(before)
