"""The data folder: a journaled TinyDB database, its lock and schema, and its repositories."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, TypeVar, cast

from bot.errors import ConfigError
from bot.store import migrations
from bot.store.files import LEGACY_SNAPSHOT, MANIFEST, cannot
from bot.store.journal import SCHEMA_VERSION, JournalDB
from bot.store.outbox import OutboxRepo
from bot.store.repos import DialogueRepo, GroupDirectory, PeopleRepo

R = TypeVar("R")

__all__ = ["LOCK_FILE", "SCHEMA_VERSION", "DataFolderLock", "Store"]

LOCK_FILE = ".lock"


class DataFolderLock:
    """An exclusive lock on the data folder so two bots never write one database."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_FILE
        self._fh: IO[str] | None = None

    def acquire(self) -> None:
        try:
            fh = self.path.open("a+", encoding="utf-8")
        except OSError as exc:
            raise cannot(self.path, exc, "write") from None
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise ConfigError(
                str(self.path.parent), f"data folder is in use by {holder}; stop it first"
            ) from None
        with contextlib.suppress(OSError):  # who holds it is a courtesy; a full disk may refuse
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

    The bot opens it for writing and holds the folder lock; an older schema is upgraded step
    by step (a backup is taken first). Command-line readers may open it read-only while the
    bot runs: they read the generation the manifest names, and cannot write.
    """

    def __init__(self, folder: Path, *, read_only: bool = False) -> None:
        self.folder = folder
        self._lock = DataFolderLock(folder)
        if read_only:
            if not folder.is_dir():
                raise ConfigError(str(folder), "no such data folder")
        else:
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise cannot(folder, exc, "create") from None
            if not folder.is_dir():
                raise ConfigError(str(folder), "is not a folder")
            self._lock.acquire()
        try:
            self.db = JournalDB(folder, read_only=read_only)
            self._check_schema(read_only)
        except Exception:
            self._lock.release()
            raise
        self.db.journal.on_rollback.append(self._reload_repos)
        self.people = PeopleRepo(self.db)
        self.dialogues = DialogueRepo(self.db)
        self.outbox = OutboxRepo(self.db)
        self.groups = GroupDirectory(self.db)
        self._repos: dict[type[Any], Any] = {}

    def _check_schema(self, read_only: bool) -> None:
        version = self.db.journal.schema
        where = str(self.folder / (LEGACY_SNAPSHOT if self.db.journal.legacy else MANIFEST))
        if version > SCHEMA_VERSION:
            raise ConfigError(
                where,
                f"written by a newer Yishiting (schema {version} > {SCHEMA_VERSION}); upgrade first",
                field="schema",
            )
        if version < SCHEMA_VERSION:
            if read_only:
                raise ConfigError(
                    where,
                    f"written by an older Yishiting (schema {version}); start the bot once "
                    "to upgrade the data folder",
                    field="schema",
                )
            migrations.upgrade(self.folder, self.db, version, SCHEMA_VERSION)

    def repo(self, kind: type[R]) -> R:
        """The one repository of `kind` on this store, built on first use.

        Capabilities keep their own repositories (tickets, FAQ feedback, the job log …);
        each keeps in-memory indexes of its table, so every user must share one instance.
        After a batch is undone (a write that failed) each one with a `reload(tables)`
        method rebuilds those indexes.
        """
        found = self._repos.get(kind)
        if found is None:
            found = self._repos[kind] = kind(self.db)  # type: ignore[call-arg]
        return cast(R, found)

    def _reload_repos(self, tables: set[str]) -> None:
        for repo in [self.people, self.dialogues, self.outbox, self.groups, *self._repos.values()]:
            reload = getattr(repo, "reload", None)
            if reload is not None:
                reload(tables)

    # ---- committing ----------------------------------------------------------------------

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Every write inside lands in one journal commit, or none does (see JournalStorage)."""
        with self.db.journal.batch():
            yield

    def flush(self) -> None:
        """Commit what the current batch gathered so far (before anything is sent)."""
        self.db.journal.flush()

    @property
    def version(self) -> int:
        """The number of the last commit: it changes with every write (what caches key on)."""
        return self.db.journal.commits

    @contextlib.contextmanager
    def outside_batch(self) -> Iterator[None]:
        with self.db.journal.outside_batch():
            yield

    @property
    def problem(self) -> str | None:
        """Why the data folder cannot be written now; None while it can."""
        return self.db.journal.problem

    def probe(self) -> bool:
        """While writes fail: does the folder take one again now?"""
        return self.db.journal.probe()

    def close(self) -> None:
        self.db.close()
        self._lock.release()
