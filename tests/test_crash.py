"""kill -9 during a burst of ticket writes: every acknowledged ticket survives, intact."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

from bot.desk.repo import TicketRepo
from bot.store.folder import Store
from tests.conftest import REPO

ACK = re.compile(r"passed it to the staff as #(\d+)")


def test_kill_9_during_ticket_burst_loses_no_acknowledged_ticket(tmp_path: Path) -> None:
    data = tmp_path / "data"
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "chat", "--data", str(data), "--name", "li"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    stdin, stdout = bot.stdin, bot.stdout
    assert stdin is not None and stdout is not None

    def feed() -> None:
        try:
            for n in range(2000):
                stdin.write(f"qzx{n} vbn{n} wrt{n}?\n")  # unanswerable: a question ticket
                stdin.flush()
            stdin.close()
        except (BrokenPipeError, ValueError, OSError):
            pass

    threading.Thread(target=feed, daemon=True).start()
    acked: list[int] = []
    for line in stdout:
        found = ACK.search(line)
        if found:
            acked.append(int(found.group(1)))
        if len(acked) >= 150:
            os.kill(bot.pid, signal.SIGKILL)
            break
    bot.wait(timeout=30)
    assert bot.returncode == -signal.SIGKILL

    store = Store(data)  # opens without repair, torn journal tail or not
    try:
        for number in acked:
            ticket = store.repo(TicketRepo).get(number)
            assert ticket is not None, number
            n = number - 1001
            assert ticket.text == f"qzx{n} vbn{n} wrt{n}?"
            assert [e.action for e in ticket.history] == ["open"]
            assert ticket.reporters[0].key == "console:li"
        assert acked == list(range(1001, 1001 + len(acked)))
        survivors = store.repo(TicketRepo).count()
        assert survivors >= len(acked)
    finally:
        store.close()

    # The bot starts again on the same folder and carries on numbering.
    again = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat", "--data", str(data), "--name", "li"],
        input="zzqq kkww?\n",
        text=True,
        capture_output=True,
        cwd=REPO,
        timeout=60,
        check=True,
    )
    assert f"as #{1001 + survivors}" in again.stdout
    assert f"#{1001 + survivors} · 咨询" in again.stdout  # its card reached the staff room too
