"""A durable, compact TinyDB storage: an fsynced journal of changed documents plus snapshots."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import IO, Any

from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Table

from bot.errors import ConfigError

log = logging.getLogger(__name__)

SNAPSHOT = "snapshot.jsonl"
JOURNAL = "journal.jsonl"
SNAPSHOT_HEADER = b'{"yishiting-snapshot":1}'
Packed = dict[str, dict[str, bytes]]  # table -> document id -> the document as UTF-8 JSON


def pack(doc: Mapping[str, Any]) -> bytes:
    """One document as compact UTF-8 JSON: deterministic, so raw substring filters work."""
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_snapshot(folder: Path, data: Packed) -> None:
    """Write all documents to a temporary file, fsync it, rename it over the snapshot."""
    path = folder / SNAPSHOT
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        fh.write(SNAPSHOT_HEADER + b"\n")
        for table, docs in data.items():
            for key, raw in docs.items():
                fh.write(json.dumps([table, key]).encode() + b"\t" + raw + b"\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(folder)


class JournalStorage(Storage):
    """Keeps every document packed in memory; every commit appends one fsynced JSON line.

    Documents live in memory as compact JSON bytes (about a third of the memory of Python
    dicts) and are decoded only when read. A journal line holds the full new state of each
    changed document (or its deletion), so replaying a line twice is harmless. Every
    `snapshot_every` commits, and at close, all documents are written to a temporary file,
    fsynced and renamed over the snapshot (one document per line), then the journal is
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
        self._data: Packed = self._load_snapshot()
        self._commits = self._replay_journal()
        self._journal: IO[bytes] | None = None if read_only else (folder / JOURNAL).open("ab")

    # ---- opening -------------------------------------------------------------------------

    def _load_snapshot(self) -> Packed:
        path = self.folder / SNAPSHOT
        data: Packed = {}
        if not path.exists():
            return data
        with path.open("rb") as fh:
            if fh.readline().rstrip(b"\n") != SNAPSHOT_HEADER:
                raise ConfigError(str(path), "not a Yishiting snapshot", line=1)
            for number, line in enumerate(fh, start=2):
                head, tab, raw = line.rstrip(b"\n").partition(b"\t")
                try:
                    table, key = json.loads(head)
                except ValueError:
                    raise ConfigError(str(path), "corrupt snapshot line", line=number) from None
                if not tab or not raw:
                    raise ConfigError(str(path), "corrupt snapshot line", line=number)
                data.setdefault(table, {})[key] = raw
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
                good_bytes += 0 if is_last else 1
                continue
            try:
                record = json.loads(line)
            except ValueError:
                if is_last or not any(lines[number:]):
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
            table = self._data.setdefault(name, {})
            for key, doc in changes.items():
                table[key] = pack(doc)
        for name, keys in record.get("del", {}).items():
            table = self._data.get(name, {})
            for key in keys:
                table.pop(key, None)
        for name in record.get("drop", []):
            self._data.pop(name, None)

    # ---- the TinyDB storage interface ----------------------------------------------------

    def read(self) -> Packed:
        return self._data

    def write(self, data: Packed) -> None:
        """Whole-database writes (drop_table, drop_tables) become a 'drop' record."""
        dropped = [name for name in self._data if name not in data]
        self._data = data
        self._append({"drop": dropped} if dropped else {})

    def commit(
        self, table: str, changed: dict[str, Mapping[str, Any]], deleted: Iterable[str]
    ) -> None:
        """Journal the real changes of one table in one line, then apply them in memory.

        Disk first: if the append fails, memory still holds what is on disk.
        """
        packed = self._data.setdefault(table, {})
        gone = sorted(k for k in deleted if k in packed)
        really: dict[str, Mapping[str, Any]] = {}
        raws: dict[str, bytes] = {}
        for key, doc in changed.items():
            raw = pack(doc)
            if packed.get(key) != raw:  # a fetched-but-untouched document costs nothing
                really[key], raws[key] = doc, raw
        record: dict[str, Any] = {}
        if really:
            record["set"] = {table: really}
        if gone:
            record["del"] = {table: gone}
        self._append(record)
        packed.update(raws)
        for key in gone:
            del packed[key]

    def _append(self, record: dict[str, Any]) -> None:
        if not record:
            return
        if self._journal is None:
            raise ConfigError(str(self.folder), "opened read-only; stop the bot to change data")
        journal = self._journal
        start = journal.tell()
        try:
            journal.write(pack(record) + b"\n")
            journal.flush()
            if self.durable:
                os.fsync(journal.fileno())
        except OSError:
            # Disk full or an I/O error: cut the partial line so later appends stay readable.
            with contextlib.suppress(OSError):
                journal.truncate(start)
            raise
        self._commits += 1
        if self._commits >= self.snapshot_every:
            self.snapshot()

    def snapshot(self) -> None:
        """Write every document atomically, then start an empty journal."""
        write_snapshot(self.folder, self._data)
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


class _DecodedTable(Mapping[str, Any]):
    """A read view of a packed table: documents are decoded when looked at, not kept."""

    def __init__(self, raw: dict[str, bytes]) -> None:
        self.raw = raw

    def __getitem__(self, key: str) -> Any:
        return json.loads(self.raw[key])

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.raw))

    def __len__(self) -> int:
        return len(self.raw)


class _TrackedTable(MutableMapping[int, Any]):
    """TinyDB's int-keyed, writable view of a packed table that remembers what it changed."""

    def __init__(self, raw: dict[str, bytes]) -> None:
        self.raw = raw
        self.changed: dict[str, Any] = {}
        self.deleted: set[str] = set()

    def __getitem__(self, doc_id: int) -> Any:
        key = str(doc_id)
        if key not in self.changed:
            if key in self.deleted or key not in self.raw:
                raise KeyError(doc_id)
            # TinyDB updates documents in place after fetching them: treat a fetch as a change.
            self.changed[key] = json.loads(self.raw[key])
        return self.changed[key]

    def __setitem__(self, doc_id: int, doc: Any) -> None:
        key = str(doc_id)
        self.changed[key] = doc
        self.deleted.discard(key)

    def __delitem__(self, doc_id: int) -> None:
        key = str(doc_id)
        if key not in self.raw and key not in self.changed:
            raise KeyError(doc_id)
        self.changed.pop(key, None)
        self.deleted.add(key)

    def __iter__(self) -> Iterator[int]:
        keys = (set(self.raw) | set(self.changed)) - self.deleted
        return iter(sorted(int(k) for k in keys))

    def __len__(self) -> int:
        return len((set(self.raw) | set(self.changed)) - self.deleted)


class JournalTable(Table):
    """A TinyDB table over packed documents whose writes touch only the changed documents."""

    def _read_table(self) -> dict[str, Mapping[Any, Any]]:
        return _DecodedTable(self._packed())  # type: ignore[return-value]

    def _packed(self) -> dict[str, bytes]:
        return self._journal().read().setdefault(self.name, {})

    def _journal(self) -> JournalStorage:
        storage = self._storage
        assert isinstance(storage, JournalStorage)
        return storage

    # TinyDB hands updaters a fresh int-keyed dict copy of the whole table (O(n) per write);
    # a tracking view over the live table keeps a write O(changed documents).
    def _update_table(self, updater: Callable[[dict[int, Mapping[Any, Any]]], None]) -> None:
        view = _TrackedTable(self._packed())
        updater(view)  # type: ignore[arg-type]
        self._journal().commit(self.name, view.changed, view.deleted)
        self.clear_cache()

    def documents_containing(self, fragments: Iterable[bytes]) -> Iterator[tuple[int, Any]]:
        """Decode only documents whose packed JSON holds one of `fragments` (a fast prefilter)."""
        wanted = tuple(fragments)
        for key, raw in list(self._packed().items()):
            if any(f in raw for f in wanted):
                yield int(key), json.loads(raw)

    def max_id(self) -> int:
        return max((int(k) for k in self._packed()), default=0)


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
