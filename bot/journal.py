"""A durable, fast TinyDB storage: an fsynced journal of changed documents plus atomic snapshots."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import IO, Any

from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Table

from bot.errors import ConfigError

log = logging.getLogger(__name__)

SNAPSHOT = "snapshot.json"
JOURNAL = "journal.jsonl"
Tables = dict[str, dict[str, Any]]


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class JournalStorage(Storage):
    """Keeps the database in memory; every commit appends one fsynced JSON line.

    A journal line holds the full new state of each changed document (or its deletion), so
    replaying a line twice is harmless. Every `snapshot_every` commits the whole database is
    written to a temporary file, fsynced and renamed over the snapshot, then the journal is
    emptied. On open: snapshot, then journal; a torn last line (a crash mid-append) is dropped.
    """

    def __init__(
        self,
        folder: Path,
        snapshot_every: int = 20_000,
        durable: bool = True,
        read_only: bool = False,
    ) -> None:
        self.folder = folder
        self.snapshot_every = snapshot_every
        self.durable = durable
        self.read_only = read_only
        self._data: Tables = self._load_snapshot()
        self._commits = self._replay_journal()
        self._journal: IO[bytes] | None = None if read_only else (folder / JOURNAL).open("ab")

    # ---- opening -------------------------------------------------------------------------

    def _load_snapshot(self) -> Tables:
        path = self.folder / SNAPSHOT
        if not path.exists():
            return {}
        try:
            data = json.loads(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise ConfigError(str(path), f"snapshot is unreadable: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(str(path), "snapshot is not a JSON object")
        return data

    def _replay_journal(self) -> int:
        path = self.folder / JOURNAL
        if not path.exists():
            return 0
        raw = path.read_bytes()
        lines = raw.split(b"\n")
        good_bytes = 0
        count = 0
        for number, line in enumerate(lines, start=1):
            is_last = number == len(lines)
            if not line:
                good_bytes += 1 if not is_last else 0
                continue
            try:
                record = json.loads(line)
            except ValueError:
                if is_last or all(not rest for rest in lines[number:]):
                    log.warning(
                        "dropping a torn last journal line in %s (%d bytes)", path, len(line)
                    )
                    break
                raise ConfigError(str(path), "corrupt journal line", line=number) from None
            if is_last:  # complete JSON but no newline yet: the append was cut before "\n"
                log.warning("dropping an unterminated last journal line in %s", path)
                break
            self._apply(record)
            good_bytes += len(line) + 1
            count += 1
        if good_bytes < len(raw) and not self.read_only:
            with path.open("r+b") as fh:
                fh.truncate(good_bytes)
                fh.flush()
                os.fsync(fh.fileno())
        return count

    def _apply(self, record: Mapping[str, Any]) -> None:
        for name, changes in record.get("set", {}).items():
            self._data.setdefault(name, {}).update(changes)
        for name, keys in record.get("del", {}).items():
            table = self._data.get(name, {})
            for key in keys:
                table.pop(key, None)
        for name in record.get("drop", []):
            self._data.pop(name, None)

    # ---- the TinyDB storage interface ----------------------------------------------------

    def read(self) -> Tables:
        return self._data

    def write(self, data: Tables) -> None:
        """Whole-database writes (drop_table, drop_tables) become a 'drop' record."""
        dropped = [name for name in self._data if name not in data]
        self._data = data
        self._append({"drop": dropped} if dropped else {})

    def commit(self, table: str, touched: set[str]) -> None:
        """Journal the current state of the touched documents of one table."""
        current = self._data.setdefault(table, {})
        changed = {k: current[k] for k in touched if k in current}
        deleted = sorted(k for k in touched if k not in current)
        record: dict[str, Any] = {}
        if changed:
            record["set"] = {table: changed}
        if deleted:
            record["del"] = {table: deleted}
        if record:
            self._append(record)

    def _append(self, record: dict[str, Any]) -> None:
        if not record:
            return
        if self._journal is None:
            raise ConfigError(str(self.folder), "opened read-only; stop the bot to change data")
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        self._journal.write(line)
        self._journal.flush()
        if self.durable:
            os.fsync(self._journal.fileno())
        self._commits += 1
        if self._commits >= self.snapshot_every:
            self.snapshot()

    def snapshot(self) -> None:
        """Write the whole database atomically, then start an empty journal."""
        path = self.folder / SNAPSHOT
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as fh:
            fh.write(json.dumps(self._data, ensure_ascii=False, separators=(",", ":")).encode())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_dir(self.folder)
        if self._journal is not None:
            self._journal.close()
        self._journal = (self.folder / JOURNAL).open("wb")  # replaying it twice is harmless
        os.fsync(self._journal.fileno())
        self._commits = 0

    def close(self) -> None:
        if self._journal is not None and not self._journal.closed:
            if self._commits:
                self.snapshot()
            self._journal.close()


class _TrackedTable(MutableMapping[int, Any]):
    """TinyDB's int-keyed view of a str-keyed table that remembers which documents it handed out."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.touched: set[str] = set()

    def __getitem__(self, doc_id: int) -> Any:
        key = str(doc_id)
        value = self.raw[key]
        self.touched.add(key)  # TinyDB updates documents in place after fetching them
        return value

    def __setitem__(self, doc_id: int, doc: Any) -> None:
        key = str(doc_id)
        self.raw[key] = doc
        self.touched.add(key)

    def __delitem__(self, doc_id: int) -> None:
        key = str(doc_id)
        del self.raw[key]
        self.touched.add(key)

    def __iter__(self) -> Iterator[int]:
        return (int(k) for k in list(self.raw))

    def __len__(self) -> int:
        return len(self.raw)


class JournalTable(Table):
    """A TinyDB table whose writes touch only the changed documents, not the whole database."""

    # TinyDB hands updaters a fresh int-keyed dict copy of the whole table (O(n) per write);
    # a tracking view over the live table keeps a write O(changed documents).
    def _update_table(self, updater: Callable[[dict[int, Mapping[Any, Any]]], None]) -> None:
        storage = self._storage
        assert isinstance(storage, JournalStorage)
        tables = storage.read()
        view = _TrackedTable(tables.setdefault(self.name, {}))
        updater(view)  # type: ignore[arg-type]
        storage.commit(self.name, view.touched)
        self.clear_cache()


class JournalDB(TinyDB):
    """TinyDB on a JournalStorage in `folder`."""

    table_class = JournalTable

    def __init__(self, folder: Path, **kwargs: Any) -> None:
        super().__init__(folder, storage=JournalStorage, **kwargs)

    @property
    def journal(self) -> JournalStorage:
        storage = self.storage
        assert isinstance(storage, JournalStorage)
        return storage
