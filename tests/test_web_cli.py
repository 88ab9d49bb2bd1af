"""The web console as an operator runs it: `yishiting run` with only a `web:` section, and
`yishiting web link` printing a login link on the server while the bot runs."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from bot.failpoints import FAILPOINTS_ENV
from tests.cli_helpers import yishiting
from tests.conftest import REPO


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def write_config(tmp_path: Path, port: int) -> Path:
    config = tmp_path / "yishiting.yaml"
    config.write_text(
        "roles:\n  admins: ['telegram:42']\n  staff: ['matrix:@wang:example.org']\n"
        f"web:\n  listen: '127.0.0.1:{port}'\n  base_url: 'https://bot.example.org/'\n",
        encoding="utf-8",
    )
    return config


def get(port: int, path: str, cookie: str = "") -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    return connection.getresponse()


def post(port: int, path: str, body: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    connection.request("POST", path, body=body, headers=headers)
    return connection.getresponse()


def served_bot(config: Path, data: Path, port: int, failpoint: str | None) -> subprocess.Popen[str]:
    """`yishiting run` with only the web console, once it listens; with a `failpoint`, set
    to kill itself there."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if failpoint is not None:
        env[FAILPOINTS_ENV] = f"{failpoint}:1"
    for name in ("YISHITING_CONFIG", "YISHITING_TELEGRAM_TOKEN", "YISHITING_MATRIX_PASSWORD"):
        env.pop(name, None)
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "--config", str(config), "run", "--data", str(data)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=env,
    )
    deadline = time.monotonic() + 60
    while True:  # until it listens (a process starting, not the bot's clock)
        assert bot.poll() is None and time.monotonic() < deadline
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return bot
        except OSError:
            time.sleep(0.1)


def test_run_serves_the_console_alone_and_the_server_makes_links(tmp_path: Path) -> None:
    port, data = free_port(), tmp_path / "data"
    config = write_config(tmp_path, port)
    refused = yishiting("--config", str(config), "web", "link", "telegram:7", "--data", str(data))
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.strip().splitlines() == [
        "yishiting: telegram:7 is not in roles.admins or roles.staff: "
        "only staff and admins can log in to the web console"
    ]
    made = yishiting("--config", str(config), "web", "link", "telegram:42", "--data", str(data))
    assert made.returncode == 0, made.stderr
    link = urlsplit(made.stdout.strip())
    assert (link.scheme, link.netloc, link.path) == ("https", "bot.example.org", "/login")
    assert (data / "web.key").stat().st_mode & 0o777 == 0o600

    bot = served_bot(config, data, port, None)
    try:
        assert get(port, "/").getheader("Location") == "/login"
        assert get(port, f"/login?{link.query}").status == 200  # a button: nothing used yet
        login = post(port, "/login", link.query)
        assert login.status == 303
        cookie = (login.getheader("Set-Cookie") or "").split(";")[0]
        assert "Secure" in (login.getheader("Set-Cookie") or "")  # base_url is https
        today = get(port, "/", cookie)
        assert today.status == 200 and "今日概况" in today.read().decode()
        assert get(port, f"/login?{link.query}").status == 403  # used once
    finally:
        bot.send_signal(signal.SIGTERM)
        _out, err = bot.communicate(timeout=30)
    assert bot.returncode == 0, err
    assert "web console on http://127.0.0.1" in err
