"""The data folder: one writer, schema version checked, records survive a reopen."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.errors import ConfigError
from bot.store import DB_FILE, SCHEMA_VERSION, Store


def test_records_survive_reopen(tmp_path: Path) -> None:
    at = datetime(2026, 12, 1, 9, tzinfo=ZoneInfo("Asia/Shanghai"))
    store = Store(tmp_path)
    store.people.set_language("telegram:1", "en")
    store.questions.record(
        at, "telegram:1", name="Alice", chat="telegram:1", text="Where is the hall?", outcome="none"
    )
    store.ratings.rate(at, "telegram:1", "office-hours", helpful=False)
    store.ratings.rate(at, "telegram:1", "office-hours", helpful=True)
    store.close()

    store = Store(tmp_path)
    try:
        assert store.people.language("telegram:1") == "en"
        assert store.questions.recent(5)[0].text == "Where is the hall?"
        assert store.ratings.summary() == [("office-hours", 1, 0)]
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
    (tmp_path / DB_FILE).write_text(
        json.dumps({"meta": {"1": {"schema": SCHEMA_VERSION + 1}}}), encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="newer Yishiting"):
        Store(tmp_path)
    (tmp_path / DB_FILE).unlink()
    Store(tmp_path).close()
