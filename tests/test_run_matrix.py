"""`yishiting run` and `doctor` with Matrix credentials: a real bot process on a real Synapse."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from pathlib import Path

from bot.cli import serve as cli
from channels.matrix import settings as matrix
from tests.conftest import REPO
from tests.synapse import User, register, server, unique


def test_cli_and_adapter_agree_on_the_secret_variables() -> None:
    assert cli.MATRIX_PASSWORD_ENV == matrix.PASSWORD_ENV
    assert cli.MATRIX_ACCESS_TOKEN_ENV == matrix.ACCESS_TOKEN_ENV


async def _run(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        *args,
        cwd=REPO,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_run_answers_on_matrix_and_doctor_logs_in(tmp_path: Path) -> None:
    srv = server()
    password = uuid.uuid4().hex
    bot_id = await register(srv, unique("yishiting"), password)
    config = tmp_path / "yishiting.yaml"
    config.write_text(
        f"matrix:\n  homeserver: {srv.url}\n  user_id: '{bot_id}'\n", encoding="utf-8"
    )
    env = {**os.environ, "YISHITING_MATRIX_PASSWORD": password, "PYTHONUNBUFFERED": "1"}
    env.pop("YISHITING_TELEGRAM_TOKEN", None)

    doctor = await _run("--config", str(config), "doctor", env=env)
    out, _ = await asyncio.wait_for(doctor.communicate(), timeout=60)
    assert doctor.returncode == 0, out.decode()
    assert f"matrix    OK      {bot_id}" in out.decode()

    bot = await _run("--config", str(config), "run", "--data", str(tmp_path / "data"), env=env)
    resident = await User.create(srv, "resident")
    try:
        room = await resident.create_room(invite=(bot_id,))
        await resident.wait_members(room, bot_id, timeout=30)
        await resident.send(room, "小区路灯不亮了找谁修？")
        answer = await resident.wait_message(bot_id, room, contains="路灯", timeout=30)
        assert "1. 👍" in answer.body
        bot.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(bot.communicate(), timeout=30)
    finally:
        if bot.returncode is None:
            bot.kill()
        await resident.close()
    assert bot.returncode == 0
    log = stderr.decode()
    assert "channel matrix started" in log and password not in log
    assert (tmp_path / "data" / "matrix.next_batch").exists()  # restarts resume from here
