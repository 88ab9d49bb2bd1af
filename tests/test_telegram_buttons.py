"""Telegram buttons whose action is longer than 64 bytes keep working after a restart."""

from __future__ import annotations

from pathlib import Path

from channels.telegram import LongCallbacks, TelegramChannel, TelegramSettings
from tests.tg_standin import TOKEN

LONG = "bc:late:" + "丰仓小区粮库宿舍棉纺厂宿舍" * 3  # far over 64 bytes of UTF-8


def channel(path: Path) -> TelegramChannel:
    return TelegramChannel(TelegramSettings.model_validate({"token": TOKEN}), path)


def test_a_long_action_survives_a_restart_of_the_channel(tmp_path: Path) -> None:
    path = tmp_path / "telegram.callbacks"
    first = channel(path)
    token = first._callback_data(LONG)
    assert token.startswith("~") and len(token.encode()) <= 64
    assert first._callback_data("t:claim:1024") == "t:claim:1024"  # short ones travel as they are
    again = channel(path)  # the bot restarted
    assert again._tokens.get(token) == LONG
    assert again._callback_data(LONG) == token
    assert len(path.read_text(encoding="utf-8").splitlines()) == 1  # known: not written twice


def test_a_torn_line_is_skipped_and_the_file_is_compacted(tmp_path: Path) -> None:
    path = tmp_path / "telegram.callbacks"
    memory = LongCallbacks(path, limit=3)
    tokens = [memory.token_for(f"{LONG}{n}") for n in range(8)]
    with path.open("a", encoding="utf-8") as fh:
        fh.write('~deadbeef\t"cut short')  # a crash during an append
    reloaded = LongCallbacks(path, limit=3)
    assert [reloaded.get(t) for t in tokens[-3:]] == [f"{LONG}{n}" for n in range(5, 8)]
    assert reloaded.get(tokens[0]) is None  # the oldest are forgotten
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 2 * 3 + 1


def test_without_a_file_long_actions_live_in_memory(tmp_path: Path) -> None:
    memory = LongCallbacks(None)
    token = memory.token_for(LONG)
    assert memory.get(token) == LONG
    assert list(tmp_path.iterdir()) == []
