"""A kill -9 while faq.yaml is being saved from the web leaves the old or the new file, whole.

A child process saves one entry again and again exactly as the web console does
(`edit_entry`: round-trip YAML, validated, atomic replace); it is killed with SIGKILL at
moments spread over its saves, and each time the file must load as a valid FAQ whose entry
holds one of the answers written, never a torn mixture.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from bot.faq.entries import load_faq
from tests.conftest import REPO

ENTRY = "medical-insurance-online-payment"
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
