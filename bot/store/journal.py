"""A durable, compact TinyDB storage: an fsynced journal of changed documents plus snapshots.

Nothing is acknowledged that is not on disk, and nothing that failed comes back:

- every commit is one line appended with explicit `os.write` calls on a file descriptor
  (no buffer that could re-send leftover bytes later), each write checked, then fsynced;
- when an append fails (a full disk, an I/O error) the file is cut back to the last good
  offset and the change is not applied in memory; the storage then refuses writes while the
  disk has no room and takes them again as soon as one succeeds (`problem` says why);
- a `batch()` gathers the writes of one handled message or one scheduled job into one
  line: they land together or not at all (a failed batch is undone in memory too).

The files (manifest, snapshots, journals, one generation at a time) are `bot.store.files`.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Table

from bot.errors import ConfigError
from bot.failpoints import disk_full
from bot.store import files
from bot.store.files import MANIFEST, Manifest, Packed, pack

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1  # the store's schema; bot.store.migrations steps older folders up to it
RESERVE_BYTES = 64 * 1024  # while failing: no write is tried with less room than this left

__all__ = ["SCHEMA_VERSION", "JournalDB", "JournalStorage", "StorageError", "pack"]


class StorageError(Exception):
    """The data folder cannot be written now (disk full, I/O error); nothing was changed."""


@dataclass
class _Batch:
    """Writes gathered for one commit line, and how to undo them in memory."""

    depth: int = 0
    sets: dict[str, set[str]] = field(default_factory=dict)  # written at flush as they are then
    dels: dict[str, set[str]] = field(default_factory=dict)
    drops: list[str] = field(default_factory=list)
    undo: dict[tuple[str, str], bytes | None] = field(default_factory=dict)
    undo_tables: dict[str, dict[str, bytes] | None] = field(default_factory=dict)

    def empty(self) -> bool:
        return not (any(self.sets.values()) or any(self.dels.values()) or self.drops)

    def forget(self) -> None:
        """Written or undone: nothing gathered any more."""
        self.sets.clear()
        self.dels.clear()
        self.drops.clear()
        self.undo.clear()
        self.undo_tables.clear()

    def line(self, number: int, data: Packed) -> bytes:
        """The commit line: each set document as memory holds it now (never a stale copy)."""
        sets: dict[str, dict[str, bytes]] = {}
        dels = {table: set(keys) for table, keys in self.dels.items()}
        for table, keys in self.sets.items():
            current = data.get(table, {})
            for key in keys:
                raw = current.get(key)
                if raw is None:
                    dels.setdefault(table, set()).add(key)
                else:
                    sets.setdefault(table, {})[key] = raw
        return commit_line(number, self.drops, sets, dels)


def commit_line(
    number: int,
    drops: Iterable[str] = (),
    sets: Mapping[str, Mapping[str, bytes]] | None = None,
    dels: Mapping[str, Iterable[str]] | None = None,
) -> bytes:
    """One numbered commit as a journal line, built around the documents' packed bytes."""
    parts = [b'{"n":' + str(number).encode()]
    dropped = list(drops)
    if dropped:
        parts.append(b'"drop":' + pack(dropped))
    tables = [
        pack(table) + b":{" + b",".join(pack(key) + b":" + raw for key, raw in docs.items()) + b"}"
        for table, docs in (sets or {}).items()
        if docs
    ]
    if tables:
        parts.append(b'"set":{' + b",".join(tables) + b"}")
    gone = {table: sorted(keys) for table, keys in (dels or {}).items() if keys}
    if gone:
        parts.append(b'"del":' + pack(gone))
    return b",".join(parts) + b"}\n"


_batch: ContextVar[_Batch | None] = ContextVar("journal_batch", default=None)


class JournalStorage(Storage):
    """Keeps every document packed in memory; every commit appends one fsynced JSON line.

    Documents live in memory as compact JSON bytes (about a third of the memory of Python
    dicts) and are decoded only when read. A journal line holds the full new state of each
    changed document (or its deletion) and the commit's number. Every `snapshot_every`
    commits, and at close, a new generation is written (snapshot, empty journal, manifest).
    On open: the manifest's snapshot, then its journal; a torn last line (a crash
    mid-append) is dropped. Read-only openers (the command line, `backup`) may open the
    folder while the bot writes: they read the generation the manifest names.
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
        self.problem: str | None = None  # why writing fails now; None while it works
        self.on_rollback: list[Callable[[set[str]], None]] = []
        self._data: Packed = {}
        self._fd: int | None = None
        self._good = 0  # bytes of the journal known to be whole commits
        self._must_cut = False  # a failed append could not be cut back yet
        self._since_snapshot = 0
        self._snapshot_retry = 0  # commits to wait before trying a failed snapshot again
        self._open_batches: set[int] = set()  # ids of batches holding undone changes
        self.generation = 0
        self.commits = 0
        self.schema = SCHEMA_VERSION
        self.legacy = False  # opened a folder from before manifests (converted on write)
        if read_only:
            self._open_reader()
            return
        try:
            self._open_writer()
        except OSError as exc:
            raise files.cannot(Path(exc.filename or folder), exc, "write") from None

    # ---- opening -------------------------------------------------------------------------

    def _open_reader(self) -> None:
        """The generation the manifest names, even while the bot switches to the next one."""
        for _ in range(20):
            manifest = files.read_manifest(self.folder)
            if manifest is None:
                self._load_without_manifest()
                return
            try:
                snapshot = self._open_file(files.snapshot_path(self.folder, manifest.generation))
                journal = self._open_file(files.journal_path(self.folder, manifest.generation))
            except FileNotFoundError as exc:
                if files.read_manifest(self.folder) != manifest:
                    continue  # the bot started a new generation meanwhile: read that one
                raise ConfigError(
                    str(exc.filename), f"is missing ({MANIFEST} names it); {files.RESTORE_HINT}"
                ) from None
            with snapshot, journal:
                if files.read_manifest(self.folder) != manifest:
                    continue
                self._load(manifest, snapshot, journal.read())
            return
        raise ConfigError(str(self.folder / MANIFEST), "changes too fast to read; try again")

    def _open_file(self, path: Path) -> IO[bytes]:
        try:
            return path.open("rb")
        except FileNotFoundError:
            if self.read_only:
                raise
            raise ConfigError(
                str(path), f"is missing ({MANIFEST} names it); {files.RESTORE_HINT}"
            ) from None
        except OSError as exc:
            raise files.cannot(path, exc) from None

    def _open_writer(self) -> None:
        manifest = files.read_manifest(self.folder)
        if manifest is None:
            self._load_without_manifest()
            # Everything (legacy files or nothing at all) becomes generation 1.
            self._start_generation(max(self.generation + 1, 1))
            for path in files.legacy_files(self.folder):
                path.unlink()
            self.legacy = False
            return
        snapshot_file = files.snapshot_path(self.folder, manifest.generation)
        journal_file = files.journal_path(self.folder, manifest.generation)
        with self._open_file(snapshot_file) as snapshot, self._open_file(journal_file) as jf:
            raw = jf.read()
            replayed = self._load(manifest, snapshot, raw)
        try:
            self._fd = os.open(journal_file, os.O_WRONLY | os.O_APPEND)
            if replayed.good_bytes < len(raw):
                log.warning(
                    "dropping a torn last journal line in %s (%d bytes)",
                    journal_file,
                    replayed.torn,
                )
                os.ftruncate(self._fd, replayed.good_bytes)
                os.fsync(self._fd)
        except OSError as exc:
            raise files.cannot(journal_file, exc, "write") from None
        self._good = replayed.good_bytes
        self._since_snapshot = replayed.lines
        self._remove_stale_files()

    def _load(self, manifest: Manifest, snapshot: IO[bytes], raw: bytes) -> files.Replayed:
        path = files.snapshot_path(self.folder, manifest.generation)
        self._data = files.read_snapshot(snapshot, path, manifest)
        self.generation = manifest.generation
        self.schema = manifest.schema
        journal_file = files.journal_path(self.folder, manifest.generation)
        replayed = files.replay_journal(raw, journal_file, manifest, self._apply)
        self.commits = replayed.commits
        return replayed

    def _load_without_manifest(self) -> None:
        """A folder from before manifests (read as it is), a new folder, or a lost manifest."""
        legacy = files.legacy_files(self.folder)
        if not legacy:
            stray = [p.name for p in files.generation_files(self.folder)]
            if stray:
                raise ConfigError(
                    str(self.folder / MANIFEST),
                    f"is missing, yet the folder holds {', '.join(stray[:3])}; "
                    f"{files.RESTORE_HINT}",
                )
            return  # a new, empty data folder
        self.legacy = True
        snapshot = self.folder / files.LEGACY_SNAPSHOT
        if snapshot.exists():
            with self._open_file(snapshot) as fh:
                self._data = files.read_snapshot(fh, snapshot, None)
        journal = self.folder / files.LEGACY_JOURNAL
        if journal.exists():
            try:
                raw = journal.read_bytes()
            except OSError as exc:
                raise files.cannot(journal, exc) from None
            replayed = files.replay_journal(raw, journal, None, self._apply)
            if replayed.torn:
                log.warning("dropping a torn last journal line in %s", journal)
        self.schema = self._legacy_schema()

    def _legacy_schema(self) -> int:
        row = self._data.get("meta", {}).get("1")
        value = json.loads(row).get("schema", 1) if row else 1
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(
                str(self.folder / files.LEGACY_SNAPSHOT),
                f"the schema version must be a whole number, not {value!r}",
                field="schema",
            )
        return value

    def _apply(self, record: Mapping[str, Any]) -> None:
        for name in record.get("drop", []):
            self._data.pop(name, None)
        for name, changes in record.get("set", {}).items():
            table = self._data.setdefault(name, {})
            for key, doc in changes.items():
                table[key] = pack(doc)
        for name, keys in record.get("del", {}).items():
            table = self._data.get(name, {})
            for key in keys:
                table.pop(key, None)

    def _remove_stale_files(self) -> None:
        """Files of other generations: a crash between writing a snapshot and the switch."""
        keep = {
            files.snapshot_path(self.folder, self.generation).name,
            files.journal_path(self.folder, self.generation).name,
        }
        for path in [*files.generation_files(self.folder), *files.legacy_files(self.folder)]:
            if path.name not in keep:
                with contextlib.suppress(OSError):
                    path.unlink()

    # ---- the TinyDB storage interface ----------------------------------------------------

    def read(self) -> Packed:
        return self._data

    def write(self, data: Packed) -> None:
        """Whole-database writes (drop_table, drop_tables) become a 'drop' record."""
        dropped = [name for name in self._data if name not in data]
        if not dropped:
            return
        batch = _batch.get()
        if batch is None:
            self._write_line(lambda n: commit_line(n, drops=dropped))
            for name in dropped:
                self._data.pop(name, None)
            self._maybe_snapshot()
            return
        for name in dropped:
            if name not in batch.undo_tables:
                batch.undo_tables[name] = self._data.get(name)
            batch.drops.append(name)
            batch.sets.pop(name, None)
            batch.dels.pop(name, None)
            self._data.pop(name, None)
        self._open_batches.add(id(batch))

    def commit(
        self, table: str, changed: dict[str, Mapping[str, Any]], deleted: Iterable[str]
    ) -> None:
        """The real changes of one table: one journal line now, or part of the open batch.

        Outside a batch: disk first; if the append fails, memory still holds what is on disk.
        """
        packed = self._data.setdefault(table, {})
        gone = sorted(k for k in deleted if k in packed)
        raws: dict[str, bytes] = {}
        for key, doc in changed.items():
            raw = pack(doc)
            if packed.get(key) != raw:  # a fetched-but-untouched document costs nothing
                raws[key] = raw
        if not raws and not gone:
            return
        batch = _batch.get()
        if batch is None:
            self._write_line(lambda n: commit_line(n, (), {table: raws}, {table: gone}))
        else:
            self._gather(batch, table, packed, raws, gone)
        packed.update(raws)
        for key in gone:
            del packed[key]
        if batch is None:
            self._maybe_snapshot()  # after memory has the commit: the snapshot must hold it

    def _gather(
        self,
        batch: _Batch,
        table: str,
        packed: dict[str, bytes],
        raws: dict[str, bytes],
        gone: list[str],
    ) -> None:
        for key in [*raws, *gone]:
            batch.undo.setdefault((table, key), packed.get(key))
        sets = batch.sets.setdefault(table, set())
        dels = batch.dels.setdefault(table, set())
        for key in raws:
            sets.add(key)
            dels.discard(key)
        for key in gone:
            sets.discard(key)
            dels.add(key)
        self._open_batches.add(id(batch))

    # ---- batches ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Gather every write inside into one journal line, written when the outermost batch
        ends (or at `flush`); an exception inside, or a failed write, undoes them all.

        The batch belongs to the running task (a context variable): other tasks' writes are
        not gathered into it. While a batch holds unwritten changes its task must not wait
        on the network: flush first (the app does, before it sends anything).
        """
        batch = _batch.get()
        if batch is not None:
            batch.depth += 1
            try:
                yield
            finally:
                batch.depth -= 1
            return
        batch = _Batch(depth=1)
        token = _batch.set(batch)
        try:
            yield
            self._flush(batch)
        except BaseException:
            self._undo(batch)
            raise
        finally:
            _batch.reset(token)

    def flush(self) -> None:
        """Write what the current task's batch gathered so far as one line (or nothing)."""
        batch = _batch.get()
        if batch is not None:
            self._flush(batch)

    @contextlib.contextmanager
    def outside_batch(self) -> Iterator[None]:
        """Writes inside are committed at once, even within a batch (marking a send done)."""
        token = _batch.set(None)
        try:
            yield
        finally:
            _batch.reset(token)

    def _flush(self, batch: _Batch) -> None:
        if batch.empty():
            batch.forget()
            self._open_batches.discard(id(batch))
            return
        try:
            self._write_line(lambda n: batch.line(n, self._data))
        except BaseException:
            self._undo(batch)
            raise
        batch.forget()
        self._open_batches.discard(id(batch))
        self._maybe_snapshot()

    def _undo(self, batch: _Batch) -> None:
        """Put memory back as it was before the batch; repositories rebuild their indexes."""
        if batch.empty() and not batch.undo and not batch.undo_tables:
            self._open_batches.discard(id(batch))
            return
        tables = set(batch.undo_tables) | {t for t, _ in batch.undo}
        for name, old in batch.undo_tables.items():
            if old is None:
                self._data.pop(name, None)
            else:
                self._data[name] = old
        for (name, key), raw in batch.undo.items():
            if name in batch.undo_tables:
                continue
            table = self._data.setdefault(name, {})
            if raw is None:
                table.pop(key, None)
            else:
                table[key] = raw
        batch.forget()
        self._open_batches.discard(id(batch))
        log.warning("undid unsaved changes to %s", ", ".join(sorted(tables)))
        for listener in self.on_rollback:
            listener(tables)

    # ---- appending -------------------------------------------------------------------------

    def _write_line(self, line_for: Callable[[int], bytes]) -> None:
        """Append one numbered commit: written completely and fsynced, or not at all."""
        if self._fd is None:
            raise ConfigError(str(self.folder), "opened read-only; stop the bot to change data")
        line = line_for(self.commits + 1)
        fd = self._fd
        try:
            if self._must_cut:
                os.ftruncate(fd, self._good)
                self._must_cut = False
            if self.problem is not None:
                self._check_room(fd, len(line))
            if disk_full():  # fault tests: a partial append, as a full disk leaves one
                os.write(fd, line[: len(line) // 2])
                raise OSError(errno.ENOSPC, "No space left on device (injected)")
            view = memoryview(line)
            written = 0
            while written < len(line):
                n = os.write(fd, view[written:])
                if n <= 0:
                    raise OSError(errno.EIO, "the journal took no bytes")
                written += n
            if self.durable:
                os.fsync(fd)
        except OSError as exc:
            self._failed(fd, exc)
            raise StorageError(self.problem) from exc
        self._good += len(line)
        self.commits += 1
        self._since_snapshot += 1
        if self.problem is not None:
            log.warning("the data folder takes writes again (%s)", self.folder)
            self.problem = None

    def _check_room(self, fd: int, size: int) -> None:
        stat = os.fstatvfs(fd)
        if stat.f_bavail * stat.f_frsize < size + RESERVE_BYTES:
            raise OSError(errno.ENOSPC, "No space left on device")

    def _failed(self, fd: int, exc: OSError) -> None:
        """Cut the file back to the last whole commit; writes are refused until one works."""
        try:
            os.ftruncate(fd, self._good)
            with contextlib.suppress(OSError):
                os.fsync(fd)
        except OSError:
            self._must_cut = True  # the next append cuts first, or fails again
        reason = exc.strerror or str(exc)
        first = self.problem is None
        self.problem = f"{files.journal_path(self.folder, self.generation)}: {reason}"
        if first:
            log.error("cannot save to the data folder: %s", self.problem)

    def probe(self) -> bool:
        """While writes fail: try an empty commit; True when the folder takes writes again."""
        if self.problem is None:
            return True
        with contextlib.suppress(StorageError):
            self._write_line(commit_line)
        return self.problem is None

    # ---- snapshots -------------------------------------------------------------------------

    def _maybe_snapshot(self) -> None:
        if self._since_snapshot < self.snapshot_every + self._snapshot_retry:
            return
        if self._open_batches:  # unwritten changes in memory must not reach a snapshot
            return
        try:
            self.snapshot()
        except OSError as exc:
            self._snapshot_retry += max(100, self.snapshot_every // 10)
            log.warning("snapshot failed (the journal keeps everything): %s", exc)

    def snapshot(self, schema: int | None = None) -> None:
        """Write a new generation: every document, an empty journal, then the manifest."""
        if self._fd is None:
            raise ConfigError(str(self.folder), "opened read-only; stop the bot to change data")
        if self._open_batches:
            raise RuntimeError("a snapshot while a batch holds unwritten changes")
        old = self.generation
        self._start_generation(old + 1, schema)
        for path in (files.snapshot_path(self.folder, old), files.journal_path(self.folder, old)):
            with contextlib.suppress(OSError):
                path.unlink()

    def rewrite(self, change: Callable[[], None], schema: int) -> None:
        """Run `change` and write the result as a new generation of schema `schema` (no
        journal line): after a crash either the old generation or the new one is there."""
        if self._fd is None:
            raise ConfigError(str(self.folder), "opened read-only; stop the bot to change data")
        batch = _Batch(depth=1)
        token = _batch.set(batch)
        try:
            change()
            self._open_batches.discard(id(batch))
            self.snapshot(schema=schema)
        except BaseException:
            self._undo(batch)
            raise
        finally:
            _batch.reset(token)

    def _start_generation(self, generation: int, schema: int | None = None) -> None:
        """Snapshot and empty journal of `generation` on disk, then the manifest names them."""
        new_schema = self.schema if schema is None else schema
        if disk_full():
            raise OSError(errno.ENOSPC, "No space left on device (injected)")
        files.write_generation(self.folder, generation, self.commits, new_schema, self._data)
        journal_file = files.journal_path(self.folder, generation)
        fd = os.open(journal_file, os.O_WRONLY | os.O_APPEND)
        if self._fd is not None:
            os.close(self._fd)
        self._fd = fd
        self._good = os.fstat(fd).st_size
        self._must_cut = False
        self.generation = generation
        self.schema = new_schema
        self._since_snapshot = 0
        self._snapshot_retry = 0

    def close(self) -> None:
        if self._fd is None:
            return
        if self._since_snapshot and not self._open_batches:
            try:
                self.snapshot()
            except OSError as exc:
                log.warning("no snapshot at close (the journal keeps everything): %s", exc)
        os.close(self._fd)
        self._fd = None


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
    """A TinyDB table over packed documents whose writes touch only the changed documents.

    It overrides TinyDB's `_read_table` and `_update_table` (private in TinyDB 4), which is
    why pyproject.toml keeps tinydb below 5.
    """

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
        try:
            self._journal().commit(self.name, view.changed, view.deleted)
        finally:
            self.clear_cache()

    def forget_ids(self) -> None:
        """After an undo: the next id is looked up again, cached queries are dropped."""
        self._next_id = None
        self.clear_cache()

    def documents_containing(self, fragments: Iterable[bytes]) -> Iterator[tuple[int, Any]]:
        """Decode only documents whose packed JSON holds one of `fragments` (a fast prefilter)."""
        wanted = tuple(fragments)
        for key, raw in list(self._packed().items()):
            if any(f in raw for f in wanted):
                yield int(key), json.loads(raw)

    def raw_documents(self) -> Iterator[tuple[int, bytes]]:
        """Every document as packed JSON bytes, undecoded (indexes built from raw fields)."""
        for key, raw in list(self._packed().items()):
            yield int(key), raw

    def raw_document(self, doc_id: int) -> bytes | None:
        """One document as packed JSON bytes, undecoded."""
        return self._packed().get(str(doc_id))

    def max_id(self) -> int:
        return max((int(k) for k in self._packed()), default=0)


class JournalDB(TinyDB):
    """TinyDB on a JournalStorage in `folder`."""

    table_class = JournalTable

    def __init__(self, folder: Path, **kwargs: Any) -> None:
        super().__init__(folder, storage=JournalStorage, **kwargs)
        self.journal.on_rollback.append(self._forget_ids)

    @property
    def journal(self) -> JournalStorage:
        storage = self.storage
        assert isinstance(storage, JournalStorage)
        return storage

    def _forget_ids(self, tables: set[str]) -> None:
        for name, table in self._tables.items():
            if name in tables and isinstance(table, JournalTable):
                table.forget_ids()
