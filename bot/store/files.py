"""The data folder's files: the manifest and each generation's snapshot and journal.

A generation G is `snapshot.G.jsonl` (every document as of commit N) and `journal.G.jsonl`
(the commits after N, one line each, numbered N+1, N+2, …). `manifest.json` names the
current generation, N, the schema version and the snapshot's size; it is replaced atomically
only once the generation's files are on disk, so whoever opens the generation the manifest
names sees a consistent store, and a missing, truncated or foreign file is noticed and named
instead of being read as an empty store.

Folders written before the manifest (`snapshot.jsonl` + `journal.jsonl`, no commit numbers)
are read as they are and rewritten as a generation when the bot opens them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from bot.errors import ConfigError

MANIFEST = "manifest.json"
LEGACY_SNAPSHOT = "snapshot.jsonl"
LEGACY_JOURNAL = "journal.jsonl"
LEGACY_SNAPSHOT_HEADER = b'{"yishiting-snapshot":1}'
MANIFEST_FORMAT = "yishiting-data"
GENERATION_FILE = re.compile(r"(snapshot|journal)\.(\d+)\.jsonl(\.tmp)?")
RESTORE_HINT = "restore the data folder from a backup (README: Backup)"

Packed = dict[str, dict[str, bytes]]  # table -> document id -> the document as UTF-8 JSON


def pack(doc: Any) -> bytes:
    """One document as compact UTF-8 JSON: deterministic, so raw substring filters work."""
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def snapshot_path(folder: Path, generation: int) -> Path:
    return folder / f"snapshot.{generation}.jsonl"


def journal_path(folder: Path, generation: int) -> Path:
    return folder / f"journal.{generation}.jsonl"


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def cannot(path: Path, exc: OSError, doing: str = "read") -> ConfigError:
    """An operating-system error on a data file as one line naming the file."""
    reason = exc.strerror or str(exc)
    if isinstance(exc, IsADirectoryError):
        reason = "is a folder, not a file"
    return ConfigError(str(path), f"cannot {doing}: {reason}")


def write_atomically(path: Path, content: bytes) -> None:
    """Write to a temporary file, fsync it, rename it over `path`, fsync the folder."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with tmp.open("wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    fsync_dir(path.parent)


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


# ---- the manifest --------------------------------------------------------------------------


@dataclass(frozen=True)
class Manifest:
    """What the data folder holds: its generation, commits, schema and snapshot."""

    generation: int
    commits: int  # the number of the last commit inside the generation's snapshot
    schema: int
    documents: int  # documents in the snapshot
    snapshot_bytes: int

    def to_bytes(self) -> bytes:
        doc = {"format": MANIFEST_FORMAT, **asdict(self)}
        return json.dumps(doc, indent=1).encode() + b"\n"


def read_manifest(folder: Path) -> Manifest | None:
    """The manifest, None when the folder has none; a damaged one is a ConfigError."""
    path = folder / MANIFEST
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise cannot(path, exc) from None
    try:
        doc = json.loads(raw)
    except ValueError:
        raise ConfigError(str(path), f"damaged (not JSON); {RESTORE_HINT}") from None
    if not isinstance(doc, dict) or doc.get("format") != MANIFEST_FORMAT:
        raise ConfigError(str(path), "not a Yishiting data manifest")
    values: dict[str, int] = {}
    for name in ("generation", "commits", "schema", "documents", "snapshot_bytes"):
        value = doc.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigError(
                str(path), f"must be a whole number, not {value!r}; {RESTORE_HINT}", field=name
            )
        values[name] = value
    return Manifest(**values)


def write_manifest(folder: Path, manifest: Manifest) -> None:
    write_atomically(folder / MANIFEST, manifest.to_bytes())


def generation_files(folder: Path) -> list[Path]:
    """Every snapshot.G / journal.G file (and their temporaries) in the folder."""
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    return [folder / n for n in names if GENERATION_FILE.fullmatch(n)]


def legacy_files(folder: Path) -> list[Path]:
    return [p for p in (folder / LEGACY_SNAPSHOT, folder / LEGACY_JOURNAL) if p.exists()]


# ---- snapshots ----------------------------------------------------------------------------


def _snapshot_header(generation: int, commits: int) -> bytes:
    return pack({"yishiting-snapshot": 2, "generation": generation, "commits": commits})


def write_snapshot(folder: Path, generation: int, commits: int, data: Packed) -> tuple[int, int]:
    """Every document to `snapshot.G.jsonl` (temporary file, fsync, rename), ending with a
    line that counts them, so a truncated copy is noticed. Returns (bytes, documents)."""
    path = snapshot_path(folder, generation)
    tmp = path.with_name(path.name + ".tmp")
    documents = 0
    try:
        with tmp.open("wb") as fh:
            fh.write(_snapshot_header(generation, commits) + b"\n")
            for table, docs in data.items():
                prefix = b"[" + json.dumps(table).encode() + b',"'
                for key, raw in docs.items():
                    fh.write(prefix + key.encode() + b'"]\t' + raw + b"\n")
                documents += len(docs)
            fh.write(pack({"end": documents}) + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
            size = fh.tell()
        os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    return size, documents


def read_snapshot(fh: IO[bytes], path: Path, manifest: Manifest | None) -> Packed:
    """A snapshot's documents; `manifest` None reads the format written before manifests."""
    data: Packed = {}
    _check_snapshot_header(fh.readline(), path, manifest)
    documents = 0
    ended: int | None = None
    number = 1
    for line in fh:
        number += 1
        if ended is not None:
            raise ConfigError(
                str(path), f"damaged: a line after the end line; {RESTORE_HINT}", line=number
            )
        if not line.endswith(b"\n") and manifest is not None:
            break  # cut short: no end line follows
        head, tab, raw = line.rstrip(b"\n").partition(b"\t")
        if not tab and manifest is not None and head.startswith(b'{"end":'):
            end = _json_or_none(head)
            ended = end.get("end") if isinstance(end, dict) else None
            if isinstance(ended, int):
                continue
            break
        try:
            table, key = json.loads(head)
        except ValueError:
            raise ConfigError(
                str(path), f"damaged snapshot line; {RESTORE_HINT}", line=number
            ) from None
        if not tab or not raw:
            raise ConfigError(str(path), f"damaged snapshot line; {RESTORE_HINT}", line=number)
        data.setdefault(str(table), {})[str(key)] = raw
        documents += 1
    if manifest is None:
        return data
    size = fh.tell()
    if ended is None or ended != documents or documents != manifest.documents:
        raise ConfigError(
            str(path),
            f"truncated or damaged: {documents} of {manifest.documents} documents, no end "
            f"line ({size} of {manifest.snapshot_bytes} bytes); {RESTORE_HINT}",
            line=number,
        )
    if size != manifest.snapshot_bytes:
        raise ConfigError(
            str(path),
            f"has {size} bytes, {MANIFEST} says {manifest.snapshot_bytes}; {RESTORE_HINT}",
        )
    return data


def _check_snapshot_header(header: bytes, path: Path, manifest: Manifest | None) -> None:
    if manifest is None:
        if header.rstrip(b"\n") != LEGACY_SNAPSHOT_HEADER:
            raise ConfigError(str(path), "not a Yishiting snapshot", line=1)
        return
    if header.rstrip(b"\n") == _snapshot_header(manifest.generation, manifest.commits):
        return
    found = _json_or_none(header)
    if isinstance(found, dict) and "generation" in found:
        raise ConfigError(
            str(path),
            f"belongs to generation {found.get('generation')} (commit {found.get('commits')}), "
            f"but {MANIFEST} names generation {manifest.generation} (commit "
            f"{manifest.commits}); {RESTORE_HINT}",
            line=1,
        )
    raise ConfigError(str(path), f"not a Yishiting snapshot; {RESTORE_HINT}", line=1)


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


# ---- journals -----------------------------------------------------------------------------


def journal_header(generation: int) -> bytes:
    return pack({"yishiting-journal": 1, "generation": generation}) + b"\n"


def create_journal(folder: Path, generation: int) -> None:
    """An empty journal for `generation`, complete on disk before any manifest names it."""
    write_atomically(journal_path(folder, generation), journal_header(generation))


def write_generation(
    folder: Path, generation: int, commits: int, schema: int, data: Packed
) -> Manifest:
    """Snapshot and empty journal of `generation` on disk, then the manifest naming them.

    Until the manifest is replaced the folder is the previous generation; a failure
    removes the new files again.
    """
    try:
        size, documents = write_snapshot(folder, generation, commits, data)
        create_journal(folder, generation)
        manifest = Manifest(generation, commits, schema, documents, size)
        write_manifest(folder, manifest)
    except BaseException:
        _unlink_quietly(snapshot_path(folder, generation))
        _unlink_quietly(journal_path(folder, generation))
        raise
    return manifest


@dataclass
class Replayed:
    """What reading a journal found: the last commit number and the bytes that are good."""

    commits: int
    good_bytes: int
    lines: int
    torn: int  # bytes of a torn last line (a crash during an append), 0 if none


def replay_journal(
    raw: bytes,
    path: Path,
    manifest: Manifest | None,
    apply: Callable[[Mapping[str, Any]], None],
) -> Replayed:
    """Apply each commit line of a journal in order; a torn last line is left out.

    A damaged line before the last, a commit out of sequence or a journal of another
    generation is a ConfigError naming the file and the line.
    """
    lines = raw.split(b"\n")
    good = 0
    expected = 0 if manifest is None else manifest.commits + 1
    start = 1
    if manifest is not None:
        header = _json_or_none(lines[0]) if len(lines) > 1 else None
        if not isinstance(header, dict) or "yishiting-journal" not in header:
            raise ConfigError(str(path), f"not a Yishiting journal; {RESTORE_HINT}", line=1)
        if header.get("generation") != manifest.generation:
            raise ConfigError(
                str(path),
                f"belongs to generation {header.get('generation')}, but {MANIFEST} names "
                f"generation {manifest.generation}; {RESTORE_HINT}",
                line=1,
            )
        good = len(lines[0]) + 1
        start = 2
    count = 0
    torn = 0
    for number in range(start, len(lines) + 1):
        line = lines[number - 1]
        is_last = number == len(lines)
        if not line:
            good += 0 if is_last else 1
            continue
        record = _json_or_none(line)
        if record is None and not any(lines[number:]):
            torn = len(line) + (0 if is_last else 1)  # cut mid-append: never acknowledged
            break
        if is_last:  # complete JSON but no newline yet: the append was cut before "\n"
            torn = len(line)
            break
        problem = _record_problem(record, expected if manifest is not None else None)
        if problem:
            raise ConfigError(str(path), f"{problem}; {RESTORE_HINT}", line=number)
        apply(record)
        good += len(line) + 1
        count += 1
        expected += 1
    commits = expected - 1 if manifest is not None else count
    return Replayed(commits=commits, good_bytes=good, lines=count, torn=torn)


def _record_problem(record: Any, expected: int | None) -> str:
    """Why a journal line is not the commit record it should be ('' when it is)."""
    if not isinstance(record, dict):
        kind = type(record).__name__ if record is not None else "not JSON"
        return f"damaged journal line ({kind}, not a commit record)"
    if expected is not None:
        number = record.get("n")
        if number != expected or isinstance(number, bool):
            return f"damaged journal: commit {expected} expected, found {number!r}"
    sets, dels, drops = record.get("set", {}), record.get("del", {}), record.get("drop", [])
    if not isinstance(sets, dict) or not all(
        isinstance(docs, dict) and all(isinstance(d, dict) for d in docs.values())
        for docs in sets.values()
    ):
        return "damaged journal line (its 'set' is not documents by table)"
    if not isinstance(dels, dict) or not all(
        isinstance(keys, list) and all(isinstance(k, str) for k in keys) for keys in dels.values()
    ):
        return "damaged journal line (its 'del' is not document ids by table)"
    if not isinstance(drops, list) or not all(isinstance(t, str) for t in drops):
        return "damaged journal line (its 'drop' is not a list of tables)"
    return ""
