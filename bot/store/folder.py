"""The data folder: a journaled TinyDB database, its lock and schema, and its repositories."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO, Any, TypeVar, cast

from bot.errors import ConfigError
from bot.store.journal import SNAPSHOT, JournalDB
from bot.store.outbox import OutboxRepo
from bot.store.repos import DialogueRepo, GroupDirectory, PeopleRepo

R = TypeVar("R")

SCHEMA_VERSION = 1
LOCK_FILE = ".lock"


class DataFolderLock:
    """An exclusive lock on the data folder so two bots never write one database."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_FILE
        self._fh: IO[str] | None = None

    def acquire(self) -> None:
        fh = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise ConfigError(
                str(self.path.parent), f"data folder is in use by {holder}; stop it first"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


class Store:
    """Opens the data folder, checks its schema version, hands out repositories.

    The bot opens it for writing and holds the folder lock; command-line readers may open it
    read-only while the bot runs (they replay the same snapshot and journal, and cannot write).
    """

    def __init__(self, folder: Path, *, read_only: bool = False) -> None:
        self.folder = folder
        self._lock = DataFolderLock(folder)
        if read_only:
            if not folder.is_dir():
                raise ConfigError(str(folder), "no such data folder")
        else:
            folder.mkdir(parents=True, exist_ok=True)
            self._lock.acquire()
        try:
            self.db = JournalDB(folder, read_only=read_only)
            self._check_schema(read_only)
        except Exception:
            self._lock.release()
            raise
        self.people = PeopleRepo(self.db)
        self.dialogues = DialogueRepo(self.db)
        self.outbox = OutboxRepo(self.db)
        self.groups = GroupDirectory(self.db)
        self._repos: dict[type[Any], Any] = {}

    def _check_schema(self, read_only: bool) -> None:
        meta = self.db.table("meta")
        row = meta.get(doc_id=1)
        if row is None:
            if not read_only:
                meta.insert({"schema": SCHEMA_VERSION})
            return
        assert isinstance(row, dict)
        version = int(row.get("schema", 0))
        if version > SCHEMA_VERSION:
            raise ConfigError(
                str(self.folder / SNAPSHOT),
                f"written by a newer Yishiting (schema {version} > {SCHEMA_VERSION}); upgrade first",
                field="schema",
            )

    def repo(self, kind: type[R]) -> R:
        """The one repository of `kind` on this store, built on first use.

        Capabilities keep their own repositories (tickets, FAQ feedback, the job log …);
        each keeps in-memory indexes of its table, so every user must share one instance.
        """
        found = self._repos.get(kind)
        if found is None:
            found = self._repos[kind] = kind(self.db)  # type: ignore[call-arg]
        return cast(R, found)

    def close(self) -> None:
        self.db.close()
        self._lock.release()
