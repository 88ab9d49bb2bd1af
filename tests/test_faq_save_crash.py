"""A kill -9 while faq.yaml is being saved from the web leaves the old or the new file, whole.

The whole bot (`yishiting run`, web console only) is killed by a failpoint just before and
just after the step that replaces faq.yaml with an admin's edit; started again, it answers
from the file it finds. And a child process saves one entry again and again exactly as the web console does
(`edit_entry`: round-trip YAML, validated, atomic replace); it is killed with SIGKILL at
moments spread over its saves, and each time the file must load as a valid FAQ whose entry
holds one of the answers written, never a torn mixture.
"""

from __future__ import annotations

import html
import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from bot.faq.entries import load_faq
from tests.cli_helpers import yishiting
from tests.conftest import REPO
from tests.test_web_cli import free_port, get, post, served_bot

ENTRY = "medical-insurance-online-payment"
QUESTION = "城乡居民医保怎么在网上缴费？"
SAVER = r"""
import sys
from pathlib import Path
from bot.faq.entries import load_faq
from bot.faq.writer import EntryEdit, edit_entry, entry_version

path, entry_id = Path(sys.argv[1]), sys.argv[2]
n = 0
while True:
    entry = load_faq(path).get(entry_id)
    answer = f"第{n}版答案\n" + "每年 9 月到 12 月缴费。\n" * (n % 7 + 1)
    edit = EntryEdit(entry.category, entry.questions, answer, entry.keywords, entry.attachments)
    edit_entry(path, entry_id, edit, entry_version(entry))
    print(n, flush=True)
    n += 1
"""


def test_a_save_killed_at_any_moment_leaves_a_whole_faq(tmp_path: Path) -> None:
    faq = tmp_path / "faq.yaml"
    shutil.copy(REPO / "faq.yaml", faq)
    original = load_faq(faq).get(ENTRY)
    assert original is not None
    for delay in (n * 0.0037 for n in range(40)):  # spread over a save (about 0.15 s)
        saver = subprocess.Popen(
            [sys.executable, "-c", SAVER, str(faq), ENTRY],
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        assert saver.stdout is not None
        assert saver.stdout.readline().strip().isdigit()  # at least one save went through
        time.sleep(delay)  # a moment somewhere inside a later save (a process, not the bot)
        os.kill(saver.pid, signal.SIGKILL)
        saver.wait(timeout=30)
        assert saver.returncode == -signal.SIGKILL
        entry = load_faq(faq).get(ENTRY)  # valid, or this raises naming the file
        assert entry is not None and entry.questions == original.questions
        lines = entry.answer.splitlines()
        assert lines[0].startswith("第") and lines[0].endswith("版答案")
        assert set(lines[1:]) == {"每年 9 月到 12 月缴费。"}  # one whole version of it


# ---- the whole bot killed -9 in the middle of a save from the web ------------------------

NEW_ANSWER = "新版答案：打开“河北人社”APP，点“城乡居民医保缴费”。"


def logged_in(port: int, link_query: str) -> str:
    """The session cookie of an admin who opened the link."""
    login = post(port, "/login", link_query)
    assert login.status == 303
    return (login.getheader("Set-Cookie") or "").split(";")[0]


def save_an_edit(port: int, link_query: str) -> None:
    """Log in with the link and save a new answer for ENTRY, as an admin's browser does."""
    cookie = logged_in(port, link_query)
    page = get(port, f"/faq/{ENTRY}", cookie).read().decode()
    form = {
        "csrf": re.findall(r'name="csrf" value="([^"]+)"', page)[0],
        "version": re.findall(r'name="version" value="([^"]+)"', page)[0],
        "category": "医保社保",
        "questions": html.unescape(re.findall(r'id="f-questions"[^>]*>([^<]*)<', page)[0]),
        "answer": NEW_ANSWER,
        "keywords": html.unescape(re.findall(r'id="f-keywords"[^>]*>([^<]*)<', page)[0]),
    }
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
    try:
        connection.request("POST", f"/faq/{ENTRY}", body=urlencode(form), headers=headers)
        connection.getresponse()
    except (ConnectionError, http.client.HTTPException):
        pass  # the bot died under the request: what matters is the file


def history_after_restart(config: Path, data: Path, port: int) -> str:
    """The entry's editor in the bot started again with its web console: its history."""
    made = yishiting("--config", str(config), "web", "link", "telegram:42", "--data", str(data))
    bot = served_bot(config, data, port, None)
    try:
        cookie = logged_in(port, urlsplit(made.stdout.strip()).query)
        page = get(port, f"/faq/{ENTRY}", cookie).read().decode()
    finally:
        bot.terminate()
        bot.communicate(timeout=30)
    return page.partition("网页修改记录")[2]


def asked_after_restart(config: Path, data: Path) -> str:
    """The bot started again on the same folder and faq.yaml, asked ENTRY's question."""
    again = yishiting("--config", str(config), "chat", "--data", str(data), stdin=f"{QUESTION}\n")
    assert again.returncode == 0, again.stderr
    return again.stdout


@pytest.mark.parametrize(
    ("failpoint", "file_kept"), [("faq_before_replace", "old"), ("faq_after_replace", "new")]
)
def test_the_bot_killed_9_while_saving_from_the_web_leaves_a_whole_faq(
    tmp_path: Path, failpoint: str, file_kept: str
) -> None:
    faq, data, port = tmp_path / "faq" / "faq.yaml", tmp_path / "data", free_port()
    faq.parent.mkdir()
    shutil.copy(REPO / "faq.yaml", faq)
    before = faq.read_bytes()
    config = tmp_path / "yishiting.yaml"
    config.write_text(
        f"faq: '{faq}'\nroles:\n  admins: ['telegram:42']\nweb:\n  listen: '127.0.0.1:{port}'\n",
        encoding="utf-8",
    )
    made = yishiting("--config", str(config), "web", "link", "telegram:42", "--data", str(data))
    assert made.returncode == 0, made.stderr
    bot = served_bot(config, data, port, failpoint)
    try:
        save_an_edit(port, urlsplit(made.stdout.strip()).query)
        bot.wait(timeout=60)
    finally:
        if bot.poll() is None:
            bot.kill()
        _out, err = bot.communicate(timeout=30)
    assert bot.returncode == -signal.SIGKILL, err
    assert f"failpoint {failpoint} reached" in err

    entry = load_faq(faq).get(ENTRY)  # valid, or this raises naming the file
    assert entry is not None
    if file_kept == "old":
        assert faq.read_bytes() == before  # the old file, byte for byte
        answered = entry.answer.splitlines()[0]
    else:
        assert entry.answer.strip() == NEW_ANSWER and "# 丰仓社区党群服务中心" in faq.read_text()
        answered = NEW_ANSWER
    assert answered in asked_after_restart(config, data)
    # the history tells the edit that is in the file, and only that one
    history = history_after_restart(config, data, port)
    assert ("经 web" in history) == (file_kept == "new"), history
