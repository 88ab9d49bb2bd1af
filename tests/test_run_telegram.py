"""`yishiting run` with a Telegram token: a real bot process against the Bot API stand-in."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.tg_standin import TOKEN, StandIn

pytestmark = pytest.mark.filterwarnings(
    "ignore:Deprecated since version v22.2:telegram.warnings.PTBDeprecationWarning"
)


def run_argv(config: Path, tmp_path: Path) -> list[str]:
    """`yishiting --config CONFIG run --data TMP/data` as a process argv."""
    data = str(tmp_path / "data")
    return [sys.executable, "-m", "bot.cli", "--config", str(config), "run", "--data", data]


async def test_run_serves_telegram_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    standin = StandIn()
    await standin.start()
    config = tmp_path / "yishiting.yaml"
    config.write_text(
        f"telegram:\n  base_url: {standin.base_url}\n  base_file_url: {standin.base_file_url}\n"
        "  poll_timeout: 1\n",
        encoding="utf-8",
    )
    env = {**os.environ, "YISHITING_TELEGRAM_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"}
    bot = await asyncio.create_subprocess_exec(
        *run_argv(config, tmp_path),
        cwd=REPO,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await standin.wait_for("deleteWebhook", timeout=30)  # polling starts right after
        standin.push_message(1001, 1001, "小区路灯不亮了找谁修？")
        (answer,) = await standin.wait_for("sendMessage", timeout=15)
        menus = standin.calls("setMyCommands")  # per language, default scope + none staff chats
        assert {str(c.params.get("language_code")) for c in menus} == {"None", "en"}
        zh_menu = next(c for c in menus if c.params.get("language_code") is None)
        assert "report" in str(zh_menu.params["commands"]) and "claim" not in str(
            zh_menu.params["commands"]
        )
        assert str(answer.params["chat_id"]) == "1001" and "路灯" in str(answer.params["text"])
        bot.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(bot.communicate(), timeout=30)
    finally:
        if bot.returncode is None:
            bot.kill()
        await standin.close()
    assert bot.returncode == 0
    log = stderr.decode()
    assert "channel telegram started" in log
    assert TOKEN not in log and TOKEN.split(":")[1] not in log  # the secret never reaches logs


def run_once(tmp_path: Path, config_text: str) -> subprocess.CompletedProcess[str]:
    """`yishiting run` with a Telegram token and this config, to its exit."""
    config = tmp_path / "yishiting.yaml"
    config.write_text(config_text, encoding="utf-8")
    return subprocess.run(
        run_argv(config, tmp_path),
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        env={**os.environ, "YISHITING_TELEGRAM_TOKEN": TOKEN},
        check=False,
    )


def test_bad_telegram_setting_names_the_key(tmp_path: Path) -> None:
    result = run_once(tmp_path, "telegram:\n  poll_timeout: -1\n")
    assert result.returncode == 2
    assert "field 'telegram.poll_timeout'" in result.stderr


async def test_doctor_reaches_telegram(tmp_path: Path) -> None:
    standin = StandIn()
    await standin.start()
    config = tmp_path / "yishiting.yaml"
    config.write_text(f"telegram:\n  base_url: {standin.base_url}\n", encoding="utf-8")
    env = {**os.environ, "YISHITING_TELEGRAM_TOKEN": TOKEN}
    try:
        doctor = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "--config",
            str(config),
            "doctor",
            cwd=REPO,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, _ = await asyncio.wait_for(doctor.communicate(), timeout=60)
    finally:
        await standin.close()
    lines = out.decode().splitlines()
    assert doctor.returncode == 0, lines
    assert any(ln.startswith("telegram  OK      @yishiting_test_bot") for ln in lines), lines
    assert any(ln.startswith("faq       OK") for ln in lines)


def test_unreachable_network_at_start_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    result = run_once(tmp_path, "telegram:\n  base_url: http://127.0.0.1:9/bot\n")
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("yishiting: telegram: cannot start")
