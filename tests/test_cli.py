"""The `yishiting` command line as a user runs it: real subprocesses, real files."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli_helpers import yishiting
from tests.conftest import REPO, SHARED_DEV

EVAL_KEYS = {
    "cases",
    "positive",
    "null",
    "answered_correct",
    "answered_wrong",
    "suggested_correct",
    "missed",
    "null_silent",
    "null_suggested",
    "null_answered",
    "answer_rate",
    "top3_rate",
    "wrong_answer_rate",
    "null_silent_rate",
}


def test_faq_check_summarises_the_bundled_faq() -> None:
    result = yishiting("faq", "check")
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout and "entries" in result.stdout


def test_faq_check_bad_file_is_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "faq.yaml"
    bad.write_text(
        "version: 1\nentries:\n  - id: street-light\n    category: 路灯\n"
        "    questions: []\n    answer: 报修\n",
        encoding="utf-8",
    )
    result = yishiting("faq", "check", "--faq", str(bad))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"yishiting: {bad}, entry 'street-light', field 'questions': "
        "must be a non-empty list of text"
    ]


def test_faq_match_prints_one_json_object_per_line() -> None:
    result = yishiting("faq", "match", stdin="路灯不亮了找谁修\n医保\n今天天气真好\n")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["q"] for r in rows] == ["路灯不亮了找谁修", "医保", "今天天气真好"]
    for row in rows:
        assert set(row) == {"q", "decision", "id", "score", "suggestions"}
        assert row["decision"] in {"answer", "suggest", "none"}
        assert (row["id"] is not None) == (row["decision"] == "answer")
        assert len(row["suggestions"]) <= 3
    assert rows[0]["decision"] == "answer" and rows[0]["id"] == "street-lights-broken"
    assert rows[2]["decision"] == "none"


def test_faq_eval_json_contract() -> None:
    if not SHARED_DEV.is_dir():
        pytest.fail(f"the shared dev set is missing at {SHARED_DEV}")
    result = yishiting(
        "faq",
        "eval",
        "--faq",
        str(SHARED_DEV / "faq.yaml"),
        "--cases",
        str(SHARED_DEV / "cases.yaml"),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) == EVAL_KEYS
    assert report["cases"] == report["positive"] + report["null"] == 220
    assert (
        report["answered_correct"]
        + report["answered_wrong"]
        + report["suggested_correct"]
        + report["missed"]
    ) == report["positive"]


def test_chat_script_prints_blocks_per_recipient(tmp_path: Path) -> None:
    script = (
        "\n".join(
            [
                "小区路灯不亮了找谁修？",
                ":in 丰仓小区群",
                "大家早上好",
                ":as admin 朱书记",
                ":dm",
                "/help",
                ":press 1",
            ]
        )
        + "\n"
    )
    result = yishiting("chat", "--data", str(tmp_path / "data"), stdin=script)
    assert result.returncode == 0, result.stderr
    blocks = [b for b in result.stdout.split("\n\n") if b.strip()]
    assert blocks[0].startswith("── 私聊 居民 ──\n📌")
    assert blocks[1].startswith("── 私聊 朱书记 ──\n可用命令：") and "/reload" in blocks[1]
    assert "no button 1 here" in blocks[2]
    assert len(blocks) == 3  # the group greeting got no reply


def test_a_second_bot_on_the_same_data_folder_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "chat", "--data", str(data)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        deadline = time.monotonic() + 30
        while not (data / ".lock").exists() or "pid" not in (data / ".lock").read_text():
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.05)
        second = yishiting("chat", "--data", str(data), stdin="你好\n")
        assert second.returncode == 2
        assert f"pid {first.pid}" in second.stderr and "in use" in second.stderr
    finally:
        first.communicate("", timeout=30)
    assert first.returncode == 0


def test_run_without_channels_or_terminal_explains_itself(tmp_path: Path) -> None:
    result = yishiting("run", "--data", str(tmp_path / "data"))
    assert result.returncode == 2
    assert "no channel is configured" in result.stderr


def test_bad_config_names_the_key(tmp_path: Path) -> None:
    config = tmp_path / "yishiting.yaml"
    config.write_text("match:\n  answer_treshold: 0.5\n", encoding="utf-8")
    result = yishiting("--config", str(config), "faq", "check")
    assert result.returncode == 2
    assert "field 'match'" in result.stderr and "answer_treshold" in result.stderr


def test_schedules_list_loads_no_faq_and_no_segmenter(tmp_path: Path) -> None:
    """Listing what is coming needs the schedules and the data folder, not the matcher."""
    probe = (
        "import sys\n"
        "from bot.cli.main import main\n"
        f"code = main(['schedules', 'list', '--count', '2', '--data', {str(tmp_path)!r}])\n"
        "print('loaded:', sorted(m for m in sys.modules if m in ('jieba', 'bot.faq.matcher')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert "loaded: []" in result.stdout
