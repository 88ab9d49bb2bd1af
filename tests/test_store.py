"""The data folder: one writer, schema version checked, records survive a reopen."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.errors import ConfigError
from bot.faq.feedback import QuestionLog, Ratings
from bot.store.folder import SCHEMA_VERSION, Store
from bot.store.journal import JOURNAL, SNAPSHOT


def test_records_survive_reopen(tmp_path: Path) -> None:
    at = datetime(2026, 12, 1, 9, tzinfo=ZoneInfo("Asia/Shanghai"))
    store = Store(tmp_path)
    store.people.set_language("telegram:1", "en")
    store.repo(QuestionLog).record(
        at, "telegram:1", name="Alice", chat="telegram:1", text="Where is the hall?", outcome="none"
    )
    store.repo(Ratings).rate(at, "telegram:1", "office-hours", helpful=False)
    store.repo(Ratings).rate(at, "telegram:1", "office-hours", helpful=True)
    store.close()

    store = Store(tmp_path)
    try:
        assert store.people.language("telegram:1") == "en"
        assert store.repo(QuestionLog).recent(5)[0].text == "Where is the hall?"
        assert store.repo(Ratings).summary() == [("office-hours", 1, 0)]
    finally:
        store.close()


def test_second_store_on_the_folder_is_refused(tmp_path: Path) -> None:
    store = Store(tmp_path)
    try:
        with pytest.raises(ConfigError, match="in use"):
            Store(tmp_path)
    finally:
        store.close()
    Store(tmp_path).close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.db.table("meta").update({"schema": SCHEMA_VERSION + 1}, doc_ids=[1])
    store.close()
    with pytest.raises(ConfigError, match="newer Yishiting"):
        Store(tmp_path)
    with pytest.raises(ConfigError, match="newer Yishiting"):
        Store(tmp_path, read_only=True)


def test_torn_journal_tail_is_dropped_and_the_rest_kept(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.people.set_language("telegram:1", "en")
    store.db.journal.durable = True
    journal = tmp_path / JOURNAL
    before = journal.read_bytes()
    store.people.set_language("telegram:2", "zh-CN")
    whole = journal.read_bytes()
    store._lock.release()  # simulate the process dying here: no snapshot at close
    journal.write_bytes(whole[: len(before) + (len(whole) - len(before)) // 2])  # torn append

    store = Store(tmp_path)
    try:
        assert store.people.language("telegram:1") == "en"
        assert store.people.language("telegram:2") is None  # never acknowledged
        assert journal.read_bytes() == before  # the torn tail was cut off
        store.people.set_language("telegram:3", "en")
    finally:
        store.close()
    assert Store(tmp_path, read_only=True).people.language("telegram:3") == "en"


def test_corrupt_snapshot_is_named(tmp_path: Path) -> None:
    (tmp_path / SNAPSHOT).write_text("not a snapshot\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not a Yishiting snapshot"):
        Store(tmp_path)
