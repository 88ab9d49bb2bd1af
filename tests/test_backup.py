"""`yishiting backup` while the bot runs, and restoring by copying the folder back."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.cli_helpers import LiveBot, yishiting
from tests.test_scheduling_faults import ANY_HOUR, bot_env, command, write_config


def test_backup_while_the_bot_runs_then_restore_by_copying_back(tmp_path: Path) -> None:
    data, config = tmp_path / "data", write_config(tmp_path, **ANY_HOUR)
    bot = LiveBot(command(data, config), bot_env())
    try:
        for n, group in enumerate(("丰仓小区群", "粮库宿舍群", "棉纺厂宿舍群")):
            bot.say(f":in {group}", f"/report {n + 3}号楼路灯不亮")
            bot.wait_for(f"已收到，编号 #{1001 + n}")
        copy = tmp_path / "backup"
        done = yishiting("backup", "--data", str(data), str(copy))  # the bot holds the lock
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"backed up {data}/ to {copy}/")
        bot.say(":in 粮库宿舍群", "/report 东门积水")  # after the copy: not in it
        bot.wait_for("已收到，编号 #1004")
    finally:
        assert bot.quit() == 0, bot.err
    listing = yishiting("tickets", "list", "--data", str(copy))
    assert listing.returncode == 0, listing.stderr
    assert [line.split()[0] for line in listing.stdout.splitlines()] == ["#1001", "#1002", "#1003"]

    shutil.rmtree(data)  # the disk died: restore is copying the backup back
    shutil.copytree(copy, data)
    again = yishiting("chat", "--data", str(data), stdin=":in 丰仓小区群\n/report 西门积水\n")
    assert again.returncode == 0, again.stderr
    assert "已收到，编号 #1004" in again.stdout

    refused = yishiting("backup", "--data", str(data), str(copy))
    assert refused.returncode == 2 and "not empty" in refused.stderr
    inside = yishiting("backup", "--data", str(data), str(data / "b"))
    assert inside.returncode == 2 and "inside the data folder" in inside.stderr
