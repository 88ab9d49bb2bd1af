"""A consistent copy of the data folder, made while the bot runs (no lock needed).

The copy is the generation the manifest names: its snapshot as it is and its journal up to
the last whole commit, then its manifest (written last, so an interrupted copy is noticed
as one). The copy is itself a data folder: restoring is copying it back with the bot
stopped, and `yishiting tickets list --data COPY` reads it as it is.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from bot.errors import ConfigError
from bot.store import files
from bot.store.files import MANIFEST, Manifest

UPGRADES = "upgrades"  # backups taken before a schema upgrade, inside the data folder
SKIPPED = {".lock", UPGRADES}


@dataclass(frozen=True)
class BackupResult:
    destination: Path
    generation: int
    commits: int  # the last commit the copy holds
    documents: int  # in its snapshot (the journal's commits come on top)
    bytes: int
    seconds: float


def backup(folder: Path, dest: Path) -> BackupResult:
    """Copy the data folder `folder` to the new folder `dest`, consistently."""
    started = time.perf_counter()
    if not folder.is_dir():
        raise ConfigError(str(folder), "no such data folder")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ConfigError(str(dest), "already exists and is not empty; name a new folder")
    if dest.resolve().is_relative_to(folder.resolve()) and not _under_upgrades(folder, dest):
        raise ConfigError(str(dest), "is inside the data folder; name a folder outside it")
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise files.cannot(dest, exc, "create") from None
    try:
        manifest, last, copied = _copy_generation(folder, dest)
        copied += _copy_other_files(folder, dest)
    except OSError as exc:
        raise files.cannot(Path(exc.filename or dest), exc, "copy") from None
    if manifest is None:
        return BackupResult(dest, 0, 0, 0, copied, time.perf_counter() - started)
    return BackupResult(
        dest,
        manifest.generation,
        last,
        manifest.documents,
        copied,
        time.perf_counter() - started,
    )


def _under_upgrades(folder: Path, dest: Path) -> bool:
    return dest.resolve().is_relative_to((folder / UPGRADES).resolve())


def _copy_generation(folder: Path, dest: Path) -> tuple[Manifest | None, int, int]:
    """(the manifest copied, the last commit copied, bytes copied)."""
    for _ in range(20):
        manifest = files.read_manifest(folder)
        if manifest is None:
            return None, 0, _copy_legacy(folder, dest)
        snapshot = files.snapshot_path(folder, manifest.generation)
        journal = files.journal_path(folder, manifest.generation)
        try:
            snap_fh, journal_fh = snapshot.open("rb"), journal.open("rb")
        except FileNotFoundError as exc:
            if files.read_manifest(folder) != manifest:
                continue  # the bot switched generations meanwhile
            raise ConfigError(str(exc.filename), f"is missing; {files.RESTORE_HINT}") from None
        with snap_fh, journal_fh:
            if files.read_manifest(folder) != manifest:
                continue
            size = _copy_snapshot(snap_fh, snapshot, dest / snapshot.name, manifest)
            raw = journal_fh.read()
        whole = raw[: raw.rfind(b"\n") + 1]  # an append in progress is not part of the copy
        replayed = files.replay_journal(whole, journal, manifest, lambda _record: None)
        _write_synced(dest / journal.name, whole)
        files.write_manifest(dest, manifest)  # last: a copy without it is unfinished
        return manifest, replayed.commits, size + len(whole)
    raise ConfigError(str(folder / MANIFEST), "changes too fast to copy; try again")


def _copy_snapshot(fh: IO[bytes], path: Path, target: Path, manifest: Manifest) -> int:
    """Copy the snapshot and check it is whole: its size and its end line."""
    with target.open("wb") as out:
        shutil.copyfileobj(fh, out, 1 << 20)
        out.flush()
        os.fsync(out.fileno())
        size = out.tell()
    if size != manifest.snapshot_bytes:
        raise ConfigError(
            str(path),
            f"has {size} bytes, {MANIFEST} says {manifest.snapshot_bytes}; {files.RESTORE_HINT}",
        )
    with target.open("rb") as back:
        back.seek(max(0, size - 64))
        tail = back.read().rstrip(b"\n").rpartition(b"\n")[2]
    if tail != files.pack({"end": manifest.documents}):
        raise ConfigError(str(path), f"has no end line; {files.RESTORE_HINT}")
    return size


def _copy_legacy(folder: Path, dest: Path) -> int:
    """A folder from before manifests (no bot of this version has opened it yet)."""
    copied = 0
    for path in files.legacy_files(folder):
        raw = path.read_bytes()
        if path.name == files.LEGACY_JOURNAL:
            raw = raw[: raw.rfind(b"\n") + 1]
        _write_synced(dest / path.name, raw)
        copied += len(raw)
    files.fsync_dir(dest)
    return copied


def _copy_other_files(folder: Path, dest: Path) -> int:
    """Small files the channels keep in the folder (the Matrix sync position)."""
    copied = 0
    for path in sorted(folder.iterdir()):
        name = path.name
        if (
            name in SKIPPED
            or name == MANIFEST
            or name.endswith(".tmp")
            or files.GENERATION_FILE.fullmatch(name)
            or name in (files.LEGACY_SNAPSHOT, files.LEGACY_JOURNAL)
            or not path.is_file()
        ):
            continue
        raw = path.read_bytes()
        _write_synced(dest / name, raw)
        copied += len(raw)
    return copied


def _write_synced(path: Path, content: bytes) -> None:
    with path.open("wb") as out:
        out.write(content)
        out.flush()
        os.fsync(out.fileno())
