"""The data folder: one writer, a manifest that names its files, damage named, never guessed.

Damaged folders are tested here in-process (the ConfigError names file and line) and
through the command line in tests/test_store_faults.py (one line, no traceback).
"""

from __future__ import annotations

import json
import threading
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.desk.repo import TicketRepo
from bot.desk.tickets import Reporter, Ticket
from bot.errors import ConfigError
from bot.failpoints import DISK_FULL_ENV
from bot.faq.feedback import QuestionLog, Ratings
from bot.store import files, migrations
from bot.store.backup import backup
from bot.store.files import MANIFEST, journal_path, read_manifest, snapshot_path
from bot.store.folder import SCHEMA_VERSION, Store
from bot.store.journal import JournalDB, StorageError

AT = datetime(2026, 12, 1, 9, tzinfo=ZoneInfo("Asia/Shanghai"))


def ticket(n: int) -> Ticket:
    t = Ticket(
        number=0,
        kind="report",
        category="路灯照明",
        compound="丰仓小区",
        text=f"{n}号楼路灯不亮",
        origin="fake:g",
        reporters=[Reporter(f"fake:{n}", f"居民{n}", "fake", str(n), "zh-CN")],
        created=AT.isoformat(),
    )
    t.apply("open", at=AT, who=f"fake:{n}", name=f"居民{n}", via="fake", text=t.text)
    return t


def generation(folder: Path) -> int:
    manifest = read_manifest(folder)
    assert manifest is not None
    return manifest.generation


def journal_lines(folder: Path) -> list[bytes]:
    return journal_path(folder, generation(folder)).read_bytes().splitlines()[1:]


def test_records_survive_reopen(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.people.set_language("telegram:1", "en")
    store.repo(QuestionLog).record(
        AT, "telegram:1", name="Alice", chat="telegram:1", text="Where is the hall?", outcome="none"
    )
    store.repo(Ratings).rate(AT, "telegram:1", "office-hours", helpful=False)
    store.repo(Ratings).rate(AT, "telegram:1", "office-hours", helpful=True)
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


def test_the_manifest_names_generation_commits_and_schema(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.people.set_language("fake:1", "en")
    store.people.set_language("fake:2", "en")
    store.close()
    manifest = read_manifest(tmp_path)
    assert manifest is not None
    assert manifest.schema == SCHEMA_VERSION and manifest.commits == 2
    assert manifest.documents == 2
    assert manifest.snapshot_bytes == snapshot_path(tmp_path, manifest.generation).stat().st_size
    names = sorted(p.name for p in tmp_path.iterdir())
    g = manifest.generation
    assert names == [".lock", f"journal.{g}.jsonl", MANIFEST, f"snapshot.{g}.jsonl"]


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    Store(tmp_path).close()
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    manifest["schema"] = SCHEMA_VERSION + 1
    (tmp_path / MANIFEST).write_text(json.dumps(manifest))
    for read_only in (False, True):
        with pytest.raises(ConfigError, match="newer Yishiting"):
            Store(tmp_path, read_only=read_only)


def test_a_schema_that_is_not_a_number_is_named(tmp_path: Path) -> None:
    Store(tmp_path).close()
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    manifest["schema"] = "v2"
    (tmp_path / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ConfigError) as caught:
        Store(tmp_path, read_only=True)
    assert str(caught.value).startswith(f"{tmp_path / MANIFEST}, field 'schema': ")
    assert "'v2'" in str(caught.value)


def test_torn_journal_tail_is_dropped_and_the_rest_kept(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.people.set_language("telegram:1", "en")
    journal = journal_path(tmp_path, generation(tmp_path))
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


def _stopped_folder(tmp_path: Path, people: int = 3) -> Path:
    store = Store(tmp_path)
    for n in range(people):
        store.people.set_language(f"fake:{n}", "en")
    store.close()
    return tmp_path


@pytest.mark.parametrize("read_only", [False, True], ids=["bot", "reader"])
def test_a_deleted_snapshot_is_named_not_read_as_an_empty_store(
    tmp_path: Path, read_only: bool
) -> None:
    folder = _stopped_folder(tmp_path)
    snapshot = snapshot_path(folder, generation(folder))
    snapshot.unlink()
    with pytest.raises(ConfigError, match="is missing") as caught:
        Store(folder, read_only=read_only)
    assert str(caught.value).startswith(str(snapshot))


def test_a_truncated_snapshot_is_named(tmp_path: Path) -> None:
    folder = _stopped_folder(tmp_path)
    snapshot = snapshot_path(folder, generation(folder))
    raw = snapshot.read_bytes()
    for cut in (len(raw) - 1, len(raw) - 12, len(raw) // 2):
        snapshot.write_bytes(raw[:cut])
        with pytest.raises(ConfigError, match=r"truncated|bytes") as caught:
            Store(folder, read_only=True)
        assert str(caught.value).startswith(str(snapshot))


def test_a_corrupt_snapshot_is_named(tmp_path: Path) -> None:
    folder = _stopped_folder(tmp_path)
    snapshot = snapshot_path(folder, generation(folder))
    snapshot.write_text("not a snapshot\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not a Yishiting snapshot"):
        Store(folder)


def test_a_journal_of_another_generation_is_named(tmp_path: Path) -> None:
    folder = _stopped_folder(tmp_path)
    g = generation(folder)
    journal_path(folder, g).write_bytes(files.journal_header(g + 7))
    with pytest.raises(ConfigError, match=f"belongs to generation {g + 7}") as caught:
        Store(folder, read_only=True)
    assert str(caught.value).startswith(f"{journal_path(folder, g)}:1:")


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b"5", "int, not a commit record"),
        (b"[1, 2]", "list, not a commit record"),
        (b'{"n": @, "set": 3}', "'set' is not documents"),
        (b"{{{ not json", "not JSON"),
        (b'{"n": 9}', "commit @ expected, found 9"),
    ],
)
def test_a_damaged_journal_line_is_named_with_its_number(
    tmp_path: Path, line: bytes, problem: str
) -> None:
    folder = _stopped_folder(tmp_path)
    journal = journal_path(folder, generation(folder))
    manifest = read_manifest(folder)
    assert manifest is not None
    n = str(manifest.commits + 1)
    good = b'{"n":%d,"set":{"people":{"9":{"key":"fake:9","language":"en"}}}}' % (int(n) + 1)
    line = line.replace(b"@", n.encode())
    journal.write_bytes(journal.read_bytes() + line + b"\n" + good + b"\n")
    for read_only in (True, False):
        with pytest.raises(ConfigError, match=problem.replace("@", n)) as caught:
            Store(folder, read_only=read_only)
        assert str(caught.value).startswith(f"{journal}:2: ")


def test_a_journal_that_is_a_folder_is_named(tmp_path: Path) -> None:
    folder = _stopped_folder(tmp_path)
    journal = journal_path(folder, generation(folder))
    journal.unlink()
    journal.mkdir()
    for read_only in (True, False):
        with pytest.raises(ConfigError, match="is a folder") as caught:
            Store(folder, read_only=read_only)
        assert str(caught.value).startswith(str(journal))


def test_a_lost_manifest_is_named(tmp_path: Path) -> None:
    folder = _stopped_folder(tmp_path)
    (folder / MANIFEST).unlink()
    with pytest.raises(ConfigError, match="is missing, yet the folder holds") as caught:
        Store(folder)
    assert str(caught.value).startswith(str(folder / MANIFEST))


def test_a_folder_from_before_manifests_is_read_and_converted(tmp_path: Path) -> None:
    snapshot = b'{"yishiting-snapshot":1}\n["meta", "1"]\t{"schema":1}\n'
    snapshot += b'["people", "1"]\t{"key":"fake:1","language":"en"}\n'
    journal = b'{"set":{"people":{"2":{"key":"fake:2","language":"en"}}}}\n{"set":{"peo'
    (tmp_path / "snapshot.jsonl").write_bytes(snapshot)
    (tmp_path / "journal.jsonl").write_bytes(journal)
    reader = Store(tmp_path, read_only=True)
    assert reader.people.language("fake:2") == "en"
    reader.close()
    store = Store(tmp_path)
    try:
        assert store.people.language("fake:1") == store.people.language("fake:2") == "en"
        assert not (tmp_path / "snapshot.jsonl").exists()
        assert read_manifest(tmp_path) is not None
    finally:
        store.close()
    (tmp_path / MANIFEST).unlink()
    (tmp_path / "snapshot.jsonl").write_bytes(
        b'{"yishiting-snapshot":1}\n["meta", "1"]\t{"schema":"v2"}\n'
    )
    for path in files.generation_files(tmp_path):
        path.unlink()
    with pytest.raises(ConfigError, match="must be a whole number, not 'v2'"):
        Store(tmp_path, read_only=True)


# ---- batches and failed writes ------------------------------------------------------------


def test_a_batch_is_one_journal_line(tmp_path: Path) -> None:
    store = Store(tmp_path)
    try:
        before = len(journal_lines(tmp_path))
        with store.batch():
            store.repo(TicketRepo).create(ticket(1))
            store.people.set_language("fake:1", "en")
            store.outbox.add("k|seen", {}, AT.isoformat(), status="seen")
            with store.batch():  # nested: part of the same commit
                store.groups.seen("fake:g", "丰仓小区群")
        lines = journal_lines(tmp_path)
        assert len(lines) == before + 1
        record = json.loads(lines[-1])
        assert set(record["set"]) == {"tickets", "people", "outbox", "groups"}
    finally:
        store.close()


def test_an_exception_inside_a_batch_undoes_it(tmp_path: Path) -> None:
    store = Store(tmp_path)
    try:
        store.people.set_language("fake:1", "en")
        with pytest.raises(RuntimeError), store.batch():
            store.repo(TicketRepo).create(ticket(1))
            store.people.set_language("fake:1", "zh-CN")
            raise RuntimeError("boom")
        assert store.repo(TicketRepo).count() == 0
        assert store.people.language("fake:1") == "en"
        assert store.repo(TicketRepo).create(ticket(2)).number == 1001  # the number is free
    finally:
        store.close()


def test_a_failed_write_is_cut_off_undone_and_never_comes_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    switch = tmp_path / "full"
    monkeypatch.setenv(DISK_FULL_ENV, str(switch))
    data = tmp_path / "data"
    store = Store(data)
    try:
        store.repo(TicketRepo).create(ticket(0))  # 1001, acknowledged
        journal = journal_path(data, generation(data))
        size = journal.stat().st_size
        switch.touch()  # the disk is full
        with pytest.raises(StorageError, match="No space left"), store.batch():
            store.repo(TicketRepo).create(ticket(1))
            store.outbox.add("m|seen", {}, AT.isoformat(), status="seen")
        with pytest.raises(StorageError):
            store.people.set_language("fake:1", "en")  # refused while the disk is full
        assert store.problem is not None and "No space left" in store.problem
        assert journal.stat().st_size == size  # the half-written lines were cut off
        assert store.repo(TicketRepo).count() == 1 and store.repo(TicketRepo).get(1002) is None
        assert not store.outbox.has("m|seen") and store.people.language("fake:1") is None
        assert not store.probe()

        switch.unlink()  # the disk frees
        assert store.probe() and store.problem is None
        assert store.repo(TicketRepo).create(ticket(2)).number == 1002
        store.people.set_language("fake:2", "en")
    finally:
        store.close()
    reopened = Store(data, read_only=True)
    tickets = reopened.repo(TicketRepo)
    assert [t.text for t in tickets.all()] == ["0号楼路灯不亮", "2号楼路灯不亮"]
    assert not reopened.outbox.has("m|seen")
    assert reopened.people.language("fake:1") is None
    assert reopened.people.language("fake:2") == "en"


def test_a_snapshot_that_fails_keeps_the_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    switch = tmp_path / "full"
    monkeypatch.setenv(DISK_FULL_ENV, str(switch))
    data = tmp_path / "data"
    store = Store(data)
    store.people.set_language("fake:1", "en")
    switch.touch()
    store.close()  # the snapshot at close fails: the journal keeps everything
    switch.unlink()
    reopened = Store(data, read_only=True)
    assert reopened.people.language("fake:1") == "en"


# ---- readers while the bot snapshots ------------------------------------------------------


def test_readers_always_see_a_whole_generation_while_the_bot_snapshots(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.db.journal.snapshot_every = 7
    store.db.journal.durable = False
    tickets = store.repo(TicketRepo)
    stop = threading.Event()
    seen: list[tuple[int, int]] = []  # (tickets acknowledged before the read, tickets read)
    problems: list[BaseException] = []

    def read() -> None:
        while not stop.is_set():
            acknowledged = tickets.count()
            try:
                reader = Store(tmp_path, read_only=True)
                seen.append((acknowledged, reader.repo(TicketRepo).count()))
            except BaseException as exc:  # every read must succeed
                problems.append(exc)
                return

    threads = [threading.Thread(target=read) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        for n in range(300):
            tickets.create(ticket(n))
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        store.close()
    assert not problems, problems
    assert len(seen) > 10
    assert all(read >= acknowledged for acknowledged, read in seen), [
        s for s in seen if s[1] < s[0]
    ]


# ---- backup and migrations ----------------------------------------------------------------


def test_backup_while_writing_is_a_consistent_folder_that_restores(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = Store(data)
    store.db.journal.snapshot_every = 5
    tickets = store.repo(TicketRepo)
    for n in range(23):
        tickets.create(ticket(n))
    copy = backup(data, tmp_path / "copy")
    assert copy.commits == 23
    tickets.create(ticket(99))  # after the copy: not in it
    store.close()
    restored = Store(tmp_path / "copy")
    try:
        assert restored.repo(TicketRepo).count() == 23
        assert restored.repo(TicketRepo).create(ticket(24)).number == 1024
    finally:
        restored.close()
    with pytest.raises(ConfigError, match="not empty"):
        backup(data, tmp_path / "copy")


def test_migrations_step_forward_one_version_at_a_time_after_a_backup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path)
    store.people.set_language("fake:1", "en")
    store.close()
    order: list[int] = []

    def one_to_two(db: JournalDB) -> None:
        order.append(1)
        db.table("people").update({"language": "zh-CN"})

    def two_to_three(db: JournalDB) -> None:
        order.append(2)
        db.table("people").update({"greeted": True})

    monkeypatch.setattr(migrations, "LADDER", {1: one_to_two, 2: two_to_three})
    monkeypatch.setattr("bot.store.folder.SCHEMA_VERSION", 3)
    with pytest.raises(ConfigError, match="older Yishiting"):
        Store(tmp_path, read_only=True)
    store = Store(tmp_path)
    try:
        assert order == [1, 2]
        assert store.people.language("fake:1") == "zh-CN"
        assert store.db.journal.schema == 3
    finally:
        store.close()
    manifest = read_manifest(tmp_path)
    assert manifest is not None and manifest.schema == 3
    (saved,) = (tmp_path / "upgrades").iterdir()
    assert saved.name.startswith("before-schema-3-")
    monkeypatch.setattr("bot.store.folder.SCHEMA_VERSION", 1)
    before = Store(saved, read_only=True)  # the backup is the folder as it was
    assert before.people.language("fake:1") == "en" and before.db.journal.schema == 1


def test_a_missing_migration_step_is_refused_and_the_folder_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Store(tmp_path).close()
    before = read_manifest(tmp_path)
    monkeypatch.setattr(migrations, "LADDER", {})
    monkeypatch.setattr("bot.store.folder.SCHEMA_VERSION", 2)
    with pytest.raises(ConfigError, match="no upgrade from schema 1 to 2"):
        Store(tmp_path)
    assert read_manifest(tmp_path) == before
