"""Running it for a year: the service unit, logs, secrets kept out of them, roles from the
settings at every start, and `:clock` kept off the real data folder."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cli.logs import configure
from bot.config import RolesConfig, Settings
from bot.faq.meaning import ModelStatus
from bot.faq.text import TextAnalyzer
from tests.cli_helpers import yishiting
from tests.conftest import REPO
from tests.fakes import FakeClock
from tests.harness import start_bot
from tests.tg_standin import TOKEN, StandIn

UNIT = REPO / "deploy" / "yishiting.service"


# ---- the systemd unit ------------------------------------------------------------------------


def test_the_service_unit_restarts_on_failure_and_keeps_its_data_as_state() -> None:
    unit = UNIT.read_text(encoding="utf-8")
    assert "Restart=on-failure" in unit and "RestartPreventExitStatus=2" in unit
    assert "StateDirectory=yishiting" in unit
    assert "run --data /var/lib/yishiting" in unit  # the state directory is the data folder
    assert "EnvironmentFile=" in unit and "TOKEN" not in unit.replace("_TOKEN=…", "")


def test_the_service_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed on this machine (no systemd)")
    # The unit names the installed command; here it is this checkout's.
    command = Path(sys.executable).parent / "yishiting"
    assert command.exists(), "pip install -e . makes the yishiting command"
    unit = tmp_path / "yishiting.service"
    unit.write_text(
        UNIT.read_text(encoding="utf-8").replace(
            "/opt/yishiting/.venv/bin/yishiting", str(command)
        ),
        encoding="utf-8",
    )
    done = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr  # warnings too


# ---- logs, -v anywhere, :clock on the real folder ----------------------------------------------


def test_v_is_accepted_before_or_after_the_subcommand(tmp_path: Path) -> None:
    made = yishiting("chat", "--data", str(tmp_path / "data"), stdin="/help\n")
    assert made.returncode == 0, made.stderr
    for args in (
        ("-v", "tickets", "list", "--data", str(tmp_path / "data")),
        ("tickets", "list", "-v", "--data", str(tmp_path / "data")),
        ("tickets", "-v", "list", "--data", str(tmp_path / "data")),
    ):
        done = yishiting(*args)
        assert done.returncode == 0, (args, done.stderr)
        assert "(no tickets)" in done.stdout


async def test_run_logs_json_in_the_bot_time_zone_without_the_token_and_clock_keeps_off(
    tmp_path: Path,
) -> None:
    standin = StandIn()
    await standin.start()
    config = tmp_path / "yishiting.yaml"
    config.write_text(
        f"telegram:\n  base_url: {standin.base_url}\n  base_file_url: {standin.base_file_url}\n"
        "  poll_timeout: 1\n",
        encoding="utf-8",
    )
    data = tmp_path / "data"
    argv = [sys.executable, "-m", "bot.cli", "--config", str(config), "run"]
    argv += ["--data", str(data), "-v", "--log-json"]  # options after the subcommand
    env = {**os.environ, "YISHITING_TELEGRAM_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"}
    bot = await asyncio.create_subprocess_exec(
        *argv, cwd=REPO, env=env, stdin=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    try:
        await standin.wait_for("deleteWebhook", timeout=30)
        standin.push_message(1001, 1001, "小区路灯不亮了找谁修？")
        await standin.wait_for("sendMessage", timeout=15)
        bot.terminate()
        _, stderr = await asyncio.wait_for(bot.communicate(), timeout=30)
    finally:
        if bot.returncode is None:
            bot.kill()
        await standin.close()
    assert bot.returncode == 0
    log = stderr.decode()
    lines = [json.loads(line) for line in log.splitlines() if line.strip()]
    assert any(r["logger"].startswith("telegram") for r in lines)  # PTB's debug lines too
    assert any("channel telegram started" in r["message"] for r in lines)
    assert all(r["time"].endswith("+08:00") for r in lines), lines[0]
    assert TOKEN not in log and TOKEN.split(":")[1] not in log  # debug URLs carry the token

    refused = yishiting("chat", "--data", str(data), stdin=":clock +1d\n")
    assert refused.returncode == 0
    assert "yishiting run" in refused.stdout and "⏰" not in refused.stdout
    throwaway = yishiting("chat", "--data", str(tmp_path / "try"), stdin=":clock +1d\n")
    assert "⏰" in throwaway.stdout


def test_one_filter_on_the_root_handler_keeps_secrets_out_of_child_loggers_and_tracebacks() -> None:
    from channels.telegram import TelegramChannel, TelegramSettings

    out = io.StringIO()
    handler = configure(level=logging.DEBUG, tz=ZoneInfo("Asia/Shanghai"), stream=out)
    try:
        TelegramChannel(TelegramSettings.model_validate({"token": TOKEN}))  # registers it
        logging.getLogger("telegram.ext.some.new.child").debug("GET https://x/bot%s/getMe", TOKEN)
        logging.getLogger("a.library.nobody.listed").info("token=%s", TOKEN.split(":")[1])
        try:
            raise RuntimeError(f"connection to https://api/bot{TOKEN}/send failed")
        except RuntimeError:
            logging.getLogger("bot.app").exception("relay failed")
    finally:
        logging.getLogger().removeHandler(handler)
    text = out.getvalue()
    assert TOKEN not in text and TOKEN.split(":")[1] not in text, text
    assert "<token>" in text and "Traceback" in text


def test_a_token_in_the_settings_file_is_an_error_not_ignored(tmp_path: Path) -> None:
    config = tmp_path / "yishiting.yaml"
    for section, key in (("telegram", "token"), ("matrix", "password"), ("matrix", "access_token")):
        config.write_text(json.dumps({section: {key: "123456:secret-value"}}), encoding="utf-8")
        done = yishiting("--config", str(config), "doctor")
        assert done.returncode == 2, done.stdout
        (line,) = done.stderr.strip().splitlines()
        assert f"field '{section}.{key}'" in line and "environment" in line
        assert "secret-value" not in line


# ---- roles come from the settings at every start ----------------------------------------------


async def test_a_removed_admin_stops_getting_admin_notices(
    tmp_path: Path, analyzer: TextAnalyzer, sentence_model: ModelStatus
) -> None:
    faq = tmp_path / "faq.yaml"
    shutil.copy(REPO / "faq.yaml", faq)

    def settings(*admins: str) -> Settings:
        return Settings(
            data_dir=tmp_path / "data",
            faq=faq,
            roles=RolesConfig(admins=admins, trusted_role_channels=("console",)),
        )

    clock = FakeClock()
    bot = await start_bot(settings("fake:admin", "fake:boss"), clock, analyzer, sentence_model)
    await bot.chat("boss").say("/help")  # remembered as an admin
    await bot.chat("sue", role=None).say("/help")
    bot.close()

    bot = await start_bot(
        settings("fake:admin"), clock, analyzer, sentence_model
    )  # boss was removed
    try:
        assert [str(a) for a in bot.core.roles.admin_addresses()] == ["fake:admin"]
        faq.write_text("version: 1\nentries:\n  - id: Bad Id\n", encoding="utf-8")
        stat = faq.stat()
        os.utime(faq, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        await bot.app._watch_once(flush=True)  # a notice for the admins
        assert len(bot.texts("fake:admin")) == 1
        assert bot.texts("fake:boss") == []
        assert bot.core.store.people.with_role("admin") == []  # the table was settled too
    finally:
        bot.close()
